#include "widgets/error_box.h"

#include "ditstudio/runtime.h"

#include <QMessageBox>

void showErrorBox(QWidget *parent, const QString &title, const QString &message)
{
    ditstudio::logError((title + QStringLiteral(": ") + message).toStdString());
    // Window-modal but not blocking: no nested event loop while worker signals keep arriving.
    // The title is repeated in the text: some window managers (and none at all) show no title.
    // One rich-text label (not informativeText, which wraps into a narrow column) keeps the box wide
    // enough for the backend's messages, which carry file paths.
    const QString html = QStringLiteral("<p><b>%1</b></p><p>%2</p>")
                             .arg(title.toHtmlEscaped(),
                                  message.toHtmlEscaped().replace(QLatin1Char('\n'), QStringLiteral("<br>")));
    auto *box = new QMessageBox(QMessageBox::Warning, title, html, QMessageBox::Ok, parent);
    box->setTextFormat(Qt::RichText);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->setObjectName(QStringLiteral("errorBox"));
    // Room for a path per line; only the text label (Qt names it qt_msgbox_label), not the icon.
    box->setStyleSheet(QStringLiteral("QLabel#qt_msgbox_label { min-width: 520px; }"));
    box->open();
}
