#pragma once
/// \file runtime.h
/// Process-wide runtime setup: compute threads, device discovery, library versions, logging.
/// Call setComputeThreads() once at start-up (the CLI and the GUI do) before any engine work.
///
/// Example:
///     ditstudio::setComputeThreads(0);                 // all cores, once at start-up
///     ditstudio::initLogging("info", ditstudio::defaultUserDataDir() + "/logs");
///     std::cout << ditstudio::runtimeInfoText();       // versions, devices, threads

#include "ditstudio/result.h"

#include <string>
#include <vector>

namespace ditstudio {

/// Compute device kinds. CUDA exists only when the backend was built against a CUDA LibTorch; MPS
/// (Apple's Metal Performance Shaders) only with a macOS LibTorch built with it, on Apple silicon.
enum class DeviceKind { Cpu, Cuda, Mps };

/// Parsed device request: "cpu", "cuda", "cuda:1", "mps" or "auto" (CUDA when available, else MPS
/// when available, else CPU).
struct DeviceSpec {
    DeviceKind kind = DeviceKind::Cpu;
    int index = 0;
    std::string toString() const;
};

/// Parse a device string; "auto" resolves to what is available. Errors name the bad string.
Result<DeviceSpec> parseDevice(const std::string &text);

/// True when this build's LibTorch has CUDA and a CUDA device is present.
bool cudaAvailable();
int cudaDeviceCount();
/// True when this build's LibTorch has MPS and the machine supports it (never on Linux/Windows).
bool mpsAvailable();

/// Set LibTorch's intra-op thread count. threads <= 0 means all hardware cores.
/// Debian's LibTorch starts with ONE thread, so this is always called explicitly.
/// Returns the count in effect afterwards.
int setComputeThreads(int threads);
int computeThreads();

/// The application version ("1.2.3"); needs no engine (the GUI shows it before the engine loads).
const char *appVersion();

/// Versions and build facts for --version and the About dialog.
struct RuntimeInfo {
    std::string appVersion;
    std::string torchVersion;
    std::string openCvVersion;
    std::string ffmpegVersion; ///< libavcodec/libavformat versions
    std::string blas; ///< the BLAS library actually loaded (e.g. "OpenBLAS 0.3.21 (pthread)")
    bool cudaBuild = false;
    int cudaDevices = 0;
    bool mpsAvailable = false; ///< Apple's MPS device can be used ("mps")
    int threads = 0;
    int hardwareThreads = 0;
    std::string defaultDevice;
};
RuntimeInfo runtimeInfo();

/// Multi-line human-readable form of runtimeInfo() (extraLines are appended, e.g. the Qt version).
std::string runtimeInfoText(const std::vector<std::string> &extraLines = {});

/// Logging: console (stderr) + rotating file in the user data directory.
/// level: trace, debug, info, warn, error, off (case-insensitive); empty => $DITSTUDIO_LOG or "info".
/// logDir empty => no file sink. Safe to call again to change the level.
Result<void> initLogging(const std::string &level, const std::string &logDir);

/// Route log lines to a callback as well (used by the GUI log panel). Thread-safe; the callback
/// is called on the logging thread, with the level name and the formatted message.
using LogCallback = void (*)(void *userData, const char *level, const char *message);
void setLogCallback(LogCallback callback, void *userData);

/// Log at info/warn/error from code that does not include spdlog (e.g. the UI).
void logInfo(const std::string &message);
void logWarn(const std::string &message);
void logError(const std::string &message);

/// The per-user data directory used when the GUI gives none: $XDG_DATA_HOME/ditstudio,
/// %APPDATA%/ditstudio or ~/Library/Application Support/ditstudio.
std::string defaultUserDataDir();

} // namespace ditstudio
