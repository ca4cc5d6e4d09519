// ditstudio: the GUI. main() only wires things: application, logging, threads, the main window.
#include "engine/engine_module.h"
#include "history/history_store.h"
#include "main_window.h"

#include "ditstudio/runtime.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QElapsedTimer>
#include <QEvent>
#include <QStandardPaths>
#include <QTimer>

#include <cstdio>
#include <functional>

namespace {

// Calls back once, right after the watched window's first paint has been flushed to the screen.
class FirstPaintWatcher : public QObject {
public:
    explicit FirstPaintWatcher(std::function<void()> callback) : m_callback(std::move(callback)) { }

protected:
    bool eventFilter(QObject *watched, QEvent *event) override
    {
        if (event->type() == QEvent::Paint && m_callback) {
            // Queued: the paint in progress completes and reaches the screen first.
            QTimer::singleShot(0, this, [callback = std::move(m_callback)] { callback(); });
            m_callback = nullptr;
        }
        return QObject::eventFilter(watched, event);
    }

private:
    std::function<void()> m_callback;
};

} // namespace

int main(int argc, char **argv)
{
    // Launch time: main() (a few tens of ms after the process starts: the GUI does not link LibTorch)
    // to the window shown, and to the start-up model ready for a prompt.
    QElapsedTimer launch;
    launch.start();
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("ditstudio"));
    QApplication::setApplicationName(QStringLiteral("ditstudio"));
    QApplication::setApplicationDisplayName(QStringLiteral("DiT Studio"));
    QApplication::setApplicationVersion(QString::fromLatin1(ditstudio::appVersion()));

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
    QCommandLineOption exitWhenReady(
        QStringLiteral("exit-when-ready"),
        QStringLiteral("Quit once the start-up model has loaded (prints the launch time); "
                       "exit status 0 only when a model is loaded and Generate is available."));
    parser.addOption(exitWhenReady);
    parser.addPositionalArgument(
        QStringLiteral("model"),
        QStringLiteral("Checkpoint file or diffusers folder to open (default: the last "
                       "one used, else the embedded default model)."),
        QStringLiteral("[model]"));
    parser.process(app);

    // Beside the history and outputs: $DITSTUDIO_DATA_DIR when set, else the per-user data folder.
    const QString logDir = QDir(HistoryStore::dataDirectory()).filePath(QStringLiteral("logs"));
    if (auto logging = ditstudio::initLogging(parser.value(logLevel).toStdString(), logDir.toStdString());
        !logging.ok()) {
        std::fprintf(stderr, "ditstudio: %s\n", logging.error().message.c_str());
        return 2;
    }

    MainWindow window;
    QObject::connect(&window, &MainWindow::ready, &window, [&] {
        const std::string text
            = "ready for a prompt " + std::to_string(launch.elapsed()) + " ms after launch";
        ditstudio::logInfo(text);
        if (parser.isSet(exitWhenReady)) {
            // 0 only when a model is loaded and Generate can be pressed: a script can tell a usable launch.
            const bool usable = window.isUsable();
            std::printf("%s%s\n", text.c_str(), usable ? "" : " (not usable: no model loaded)");
            std::fflush(stdout);
            QTimer::singleShot(0, &window, [&window, usable] {
                window.close();
                QCoreApplication::exit(usable ? 0 : 3);
            });
        }
    });
    // The window first, then the engine: loading LibTorch and its ~290 libraries takes most of a
    // second and holds the dynamic loader's lock, which would also stall the plugins Qt loads to show
    // the window. So the engine module starts loading (on a background thread) once the window has
    // painted; until the start-up model is in, the window is usable but Generate waits.
    EngineModule::holdLoading();
    FirstPaintWatcher firstPaint([&] {
        ditstudio::logInfo("window shown " + std::to_string(launch.elapsed()) + " ms after launch");
        EngineModule::startLoading();
    });
    window.installEventFilter(&firstPaint);
    QTimer::singleShot(500, [] { EngineModule::startLoading(); }); // in case no paint comes (minimised)
    // Queued now, so the first frame already says "Loading…"; the worker waits for the module.
    if (const QStringList args = parser.positionalArguments(); !args.isEmpty())
        window.loadInitialModel(args.constFirst());
    else
        window.loadInitialModel();
    window.show();
    const int status = QApplication::exec();
    // Never exit in the middle of loading the engine module (a window closed at once).
    EngineModule::startLoading();
    EngineModule::api();
    return status;
}
