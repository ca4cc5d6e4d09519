#include "about_box.h"

#include "engine/engine_module.h"

#include "ditstudio/runtime.h"

#include <QCoreApplication>
#include <QMessageBox>

#include <string>
#include <vector>

void showAboutBox(QWidget *parent, const QString &historyDatabase)
{
    const std::vector<std::string> extra
        = {std::string("Qt: ") + qVersion() + " (built with " QT_VERSION_STR ")",
           "History: " + historyDatabase.toStdString()};
    // In the first second after launch the engine may still be loading: say so rather than wait.
    std::string info;
    if (EngineModule::isFinished()) {
        info = EngineModule::runtimeInfoText(extra);
    } else {
        info = "DiT Studio " + std::string(ditstudio::appVersion())
            + "\nThe engine (LibTorch, OpenCV, FFmpeg) is still loading; its versions show here once it is "
              "in.\n";
        for (const auto &line : extra)
            info += line + "\n";
    }
    QMessageBox::about(parent, QCoreApplication::translate("AboutBox", "About DiT Studio"),
                       QCoreApplication::translate("AboutBox",
                                                   "<h3>DiT Studio</h3><p>A desktop studio for Diffusion "
                                                   "Transformers (Peebles &amp; Xie 2023).</p><pre>%1</pre>")
                           .arg(QString::fromStdString(info).toHtmlEscaped()));
}
