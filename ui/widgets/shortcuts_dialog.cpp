#include "widgets/shortcuts_dialog.h"

#include <QAction>
#include <QHeaderView>
#include <QKeySequence>
#include <QMenu>
#include <QMenuBar>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

ShortcutsDialog::ShortcutsDialog(const QMenuBar *menus, QWidget *parent) : QDialog(parent)
{
    setObjectName(QStringLiteral("shortcutsDialog"));
    setWindowTitle(tr("Keyboard shortcuts"));
    auto *table = new QTableWidget(0, 2, this);
    table->setObjectName(QStringLiteral("shortcutsTable"));
    table->setHorizontalHeaderLabels({tr("Action"), tr("Keys")});
    table->verticalHeader()->hide();
    table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table->setSelectionBehavior(QAbstractItemView::SelectRows);
    auto add = [table](const QString &what, const QString &keys) {
        const int row = table->rowCount();
        table->insertRow(row);
        table->setItem(row, 0, new QTableWidgetItem(what));
        table->setItem(row, 1, new QTableWidgetItem(keys));
    };
    for (QAction *menuAction : menus->actions()) {
        QMenu *menu = menuAction->menu();
        if (!menu)
            continue;
        const QString menuName = menuAction->text().remove(QLatin1Char('&'));
        for (QAction *a : menu->actions()) {
            if (a->isSeparator() || a->shortcuts().isEmpty())
                continue;
            QStringList keys;
            for (const QKeySequence &k : a->shortcuts())
                keys << k.toString(QKeySequence::NativeText);
            add(menuName + QStringLiteral(" → ") + a->text().remove(QLatin1Char('&')),
                keys.join(QStringLiteral(", ")));
        }
    }
    add(tr("Image view: zoom in / out"), tr("Mouse wheel, + / -"));
    add(tr("Image view: pan"), tr("Drag"));
    add(tr("Image view: fit / 100% / pixel-exact"), tr("Double click or 0, 1, P"));
    add(tr("History: copy the selected image"),
        QKeySequence(QKeySequence::Copy).toString(QKeySequence::NativeText));
    add(tr("History: select two or more"), tr("Ctrl+click, Shift+click"));
    add(tr("Inside: move the probed patch"), tr("Arrow keys"));
    table->resizeColumnsToContents();
    table->horizontalHeader()->setStretchLastSection(true);
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(table);
    auto *close = new QPushButton(tr("Close"), this);
    connect(close, &QPushButton::clicked, this, &QDialog::accept);
    layout->addWidget(close, 0, Qt::AlignRight);
    resize(560, 520);
}
