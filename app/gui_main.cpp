// ditstudio: the GUI. main() only wires things: application, logging, threads, the main window.
#include "main_window.h"

#include "ditstudio/runtime.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QStandardPaths>

#include <cstdio>

int main(int argc, char **argv)
{
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("ditstudio"));
    QApplication::setApplicationName(QStringLiteral("ditstudio"));
    QApplication::setApplicationDisplayName(QStringLiteral("DiT Studio"));
    QApplication::setApplicationVersion(QString::fromStdString(ditstudio::runtimeInfo().appVersion));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Desktop studio for Diffusion Transformers"));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption logLevel(QStringLiteral("log-level"),
                                      QStringLiteral("Log level: trace, debug, info, warn, error, off "
                                                     "(default: $DITSTUDIO_LOG or info)."),
                                      QStringLiteral("level"));
    parser.addOption(logLevel);
    parser.addPositionalArgument(QStringLiteral("model"),
                                 QStringLiteral("Checkpoint file or diffusers folder to open (default: the last "
                                                "one used, else the embedded default model)."),
                                 QStringLiteral("[model]"));
    parser.process(app);

    const QString logDir =
        QDir(QStandardPaths::writableLocation(QStandardPaths::AppLocalDataLocation)).filePath(QStringLiteral("logs"));
    if (auto logging = ditstudio::initLogging(parser.value(logLevel).toStdString(), logDir.toStdString());
        !logging.ok()) {
        std::fprintf(stderr, "ditstudio: %s\n", logging.error().message.c_str());
        return 2;
    }
    ditstudio::setComputeThreads(0); // all cores: Debian's LibTorch starts with one

    MainWindow window;
    window.show();
    if (const QStringList args = parser.positionalArguments(); !args.isEmpty())
        window.openModel(args.constFirst());
    else
        window.loadInitialModel();
    return QApplication::exec();
}
