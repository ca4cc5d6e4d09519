#include "widgets/accessible_names.h"

#include <QLabel>
#include <QWidget>

void nameControlsForScreenReaders(QWidget *root)
{
    for (QLabel *label : root->findChildren<QLabel *>())
        if (QWidget *buddy = label->buddy(); buddy && buddy->accessibleName().isEmpty())
            buddy->setAccessibleName(label->text().remove(QLatin1Char('&')));
    for (QWidget *w : root->findChildren<QWidget *>())
        if (w->accessibleName().isEmpty() && !w->toolTip().isEmpty() && w->focusPolicy() != Qt::NoFocus)
            w->setAccessibleName(w->toolTip().section(QLatin1Char('('), 0, 0).trimmed());
}
