// ditstudio: the GUI. main() only wires things: application, logging, threads, the main window.
#include "main_window.h"

#include "ditstudio/runtime.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QElapsedTimer>
#include <QStandardPaths>
#include <QTimer>

#include <cstdio>

int main(int argc, char **argv)
{
    QElapsedTimer launch; // launch time: process start (near enough) to a model ready for a prompt
    launch.start();
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
    // For measuring start-up (scripts, CI): quit as soon as the window is ready for a prompt.
    QCommandLineOption exitWhenReady(QStringLiteral("exit-when-ready"),
                                     QStringLiteral("Quit once the start-up model has loaded (prints the launch time)."));
    exitWhenReady.setFlags(QCommandLineOption::HiddenFromHelp);
    parser.addOption(exitWhenReady);
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
    QObject::connect(&window, &MainWindow::ready, &window, [&] {
        const std::string text = "ready for a prompt " + std::to_string(launch.elapsed()) + " ms after launch";
        ditstudio::logInfo(text);
        if (parser.isSet(exitWhenReady)) {
            std::printf("%s\n", text.c_str());
            std::fflush(stdout);
            QTimer::singleShot(0, &window, &QWidget::close);
        }
    });
    window.show();
    if (const QStringList args = parser.positionalArguments(); !args.isEmpty())
        window.loadInitialModel(args.constFirst());
    else
        window.loadInitialModel();
    return QApplication::exec();
}
