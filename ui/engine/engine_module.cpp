// Loading the engine module off the GUI thread (QLibrary: dlopen / LoadLibrary), once per process.
#include "engine/engine_module.h"

#include "ditstudio/runtime.h"

#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QLibrary>
#include <QStringList>

#include <condition_variable>
#include <mutex>
#include <thread>

namespace EngineModule {

namespace {

struct LoadState {
    ditstudio::EngineModuleInterface *api = nullptr;
    QString path;
    QString error;
    double seconds = 0;
};

std::mutex g_mutex;
std::condition_variable g_loaded;
bool g_held = false; // holdLoading(): wait for an explicit startLoading()
bool g_started = false; // the loading thread was started
bool g_done = false; // g_state is final
LoadState g_state;

// Where the module may be: $DITSTUDIO_ENGINE_MODULE alone when set; else next to the executable
// (build tree, Windows and portable installs), the install tree's lib/ditstudio, and the build
// folder it was built in (tests run from their own folders).
QStringList candidates()
{
#ifdef DITSTUDIO_ENGINE_FILE_NAME
    const QString name = QStringLiteral(DITSTUDIO_ENGINE_FILE_NAME); // e.g. libditstudio_engine.so
#else
    const QString name = QString::fromLatin1(ditstudio::kEngineModuleName); // QLibrary adds the affixes
#endif
    if (const QString env = qEnvironmentVariable("DITSTUDIO_ENGINE_MODULE"); !env.isEmpty())
        return {env};
    QStringList out;
    if (QCoreApplication::instance()) {
        const QDir appDir(QCoreApplication::applicationDirPath());
        out << appDir.filePath(name);
#ifdef DITSTUDIO_ENGINE_INSTALL_DIR
        out << QDir::cleanPath(appDir.filePath(
            QStringLiteral("../") + QStringLiteral(DITSTUDIO_ENGINE_INSTALL_DIR) + QLatin1Char('/') + name));
#endif
#ifdef Q_OS_MACOS
        out << QDir::cleanPath(appDir.filePath(QStringLiteral("../Frameworks/") + name));
#endif
    }
#ifdef DITSTUDIO_ENGINE_BUILD_DIR
    out << QDir(QStringLiteral(DITSTUDIO_ENGINE_BUILD_DIR)).filePath(name);
#endif
    out.removeDuplicates();
    return out;
}

LoadState load(const QStringList &paths)
{
    QElapsedTimer timer;
    timer.start();
    LoadState state;
    QStringList problems;
    for (const QString &path : paths) {
        // A full file name that is not there: say so (QLibrary's own message names a variant it tried).
        if (const QFileInfo file(path); file.isAbsolute() && !file.suffix().isEmpty() && !file.isFile()) {
            problems << QStringLiteral("no file %1").arg(QDir::toNativeSeparators(path));
            continue;
        }
        QLibrary library(path);
        // The module stays for the life of the process: engines and their threads live in it.
        library.setLoadHints(QLibrary::PreventUnloadHint);
        if (!library.load()) {
            problems << library.errorString();
            continue;
        }
        const auto entry
            = reinterpret_cast<ditstudio::EngineModuleEntry>(library.resolve(ditstudio::kEngineModuleEntry));
        if (!entry) {
            problems << QStringLiteral("%1: no %2 entry point")
                            .arg(library.fileName(), QLatin1String(ditstudio::kEngineModuleEntry));
            continue;
        }
        std::uint32_t moduleAbi = 0;
        ditstudio::EngineModuleInterface *api = entry(ditstudio::kEngineModuleAbi, &moduleAbi);
        if (!api) {
            problems << QStringLiteral("%1: built for another version (module ABI %2; expected %3)")
                            .arg(library.fileName())
                            .arg(moduleAbi)
                            .arg(ditstudio::kEngineModuleAbi);
            continue;
        }
        state.api = api;
        state.path = library.fileName();
        // The app computes on all cores; Debian's LibTorch starts with one intra-op thread.
        api->setComputeThreads(0);
        break;
    }
    if (!state.api)
        state.error = paths.isEmpty() ? QStringLiteral("no place to look for it")
                                      : problems.join(QStringLiteral("; "));
    state.seconds = timer.nsecsElapsed() / 1e9;
    if (state.api)
        ditstudio::logInfo("engine module " + state.path.toStdString() + " loaded in "
                           + std::to_string(int(state.seconds * 1000)) + " ms");
    else
        ditstudio::logError("the engine module could not be loaded: " + state.error.toStdString());
    return state;
}

const LoadState &state()
{
    std::unique_lock<std::mutex> lock(g_mutex);
    if (!g_started && !g_held) {
        lock.unlock();
        startLoading();
        lock.lock();
    }
    g_loaded.wait(lock, [] { return g_done; });
    return g_state; // final once g_done: read without the lock from here on
}

} // namespace

void holdLoading()
{
    std::lock_guard<std::mutex> lock(g_mutex);
    g_held = true;
}

void startLoading()
{
    std::lock_guard<std::mutex> lock(g_mutex);
    if (g_started)
        return;
    g_started = true;
    // Detached: nothing to join; callers wait on g_loaded (main() does before returning, so the
    // process never exits in the middle of the load).
    std::thread([paths = candidates()] {
        LoadState state = load(paths);
        std::lock_guard<std::mutex> done(g_mutex);
        g_state = std::move(state);
        g_done = true;
        g_loaded.notify_all();
    }).detach();
}

bool isFinished()
{
    std::lock_guard<std::mutex> lock(g_mutex);
    return g_done;
}

ditstudio::EngineModuleInterface *api()
{
    return state().api;
}

std::unique_ptr<ditstudio::EngineSession> createSession()
{
    auto *m = api();
    return m ? m->createSession() : nullptr;
}

QString errorText()
{
    return state().error;
}

QString path()
{
    return state().path;
}

double loadSeconds()
{
    return state().seconds;
}

ditstudio::Error unavailableError()
{
    return ditstudio::Error {ditstudio::ErrorCode::NotFound,
                             "the engine module (" + std::string(ditstudio::kEngineModuleName)
                                 + ") could not be loaded: " + errorText().toStdString()
                                 + ". Reinstall DiT Studio, or point DITSTUDIO_ENGINE_MODULE at the file."};
}

ditstudio::Result<void> writePng(const std::string &path, const ditstudio::Image &image,
                                 const std::vector<std::pair<std::string, std::string>> &textChunks,
                                 bool overwrite)
{
    if (auto *m = api())
        return m->writePng(path, image, textChunks, overwrite);
    return unavailableError();
}

ditstudio::Result<std::vector<std::pair<std::string, std::string>>> readPngText(const std::string &path)
{
    if (auto *m = api())
        return m->readPngText(path);
    return unavailableError();
}

ditstudio::Result<std::string> identifyModelFile(const std::string &path, ditstudio::ModelKind kind)
{
    if (auto *m = api())
        return m->identifyModelFile(path, kind);
    return unavailableError();
}

ditstudio::Result<ditstudio::DeviceSpec> parseDevice(const std::string &text)
{
    if (auto *m = api())
        return m->parseDevice(text);
    return unavailableError();
}

int cudaDeviceCount()
{
    auto *m = api();
    return m && m->cudaAvailable() ? m->cudaDeviceCount() : 0;
}

bool cudaAvailable()
{
    auto *m = api();
    return m && m->cudaAvailable();
}

int setComputeThreads(int threads)
{
    auto *m = api();
    return m ? m->setComputeThreads(threads) : 0;
}

std::string runtimeInfoText(const std::vector<std::string> &extraLines)
{
    if (auto *m = api())
        return m->runtimeInfoText(extraLines);
    std::string text
        = "DiT Studio " + std::string(ditstudio::appVersion()) + "\n" + unavailableError().message + "\n";
    for (const auto &line : extraLines)
        text += line + "\n";
    return text;
}

} // namespace EngineModule
