#pragma once
/// \file module_api.h
/// The engine as a loadable module: ditstudio_engine (libditstudio_engine.so, ditstudio_engine.dll,
/// libditstudio_engine.dylib) is the backend plus LibTorch, OpenCV and FFmpeg behind one exported
/// function. Loading LibTorch and its ~290 shared libraries takes most of a second; a program that
/// loads this module on a background thread shows its window first (the GUI does, see
/// ui/engine/engine_module.h). The torch-free part of the public API (names and parsers,
/// Error::toString, logging, prompt matching helpers, imagePsnr) lives in ditstudio_common, which
/// such a program links directly.
///
/// The module hands out interfaces (qBittorrent's Session / SessionImpl shape): EngineModuleInterface
/// is a factory for engines (EngineSession, engine.h) plus the engine's process-wide functions.
/// Each member calls the function of the same name in engine.h, editing.h, video.h, models.h or
/// runtime.h; threads, ownership and errors are as documented there. Nothing throws across the
/// boundary. The module and its caller are built together with one compiler and standard library
/// (std::string etc. cross the boundary); the ABI version catches a stale module.
///
/// Example:
///     // load the module (dlopen / LoadLibrary), then:
///     auto entry = reinterpret_cast<ditstudio::EngineModuleEntry>(symbol(ditstudio::kEngineModuleEntry));
///     std::uint32_t moduleAbi = 0;
///     ditstudio::EngineModuleInterface *module = entry(ditstudio::kEngineModuleAbi, &moduleAbi);
///     if (!module) { /* built for another version: moduleAbi says which */ }
///     std::unique_ptr<ditstudio::EngineSession> engine = module->createSession();
///     engine->loadDefaultModel();

#include "ditstudio/editing.h"
#include "ditstudio/engine.h"
#include "ditstudio/models.h"
#include "ditstudio/runtime.h"
#include "ditstudio/video.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ditstudio {

/// Bumped whenever EngineModuleInterface or EngineSession changes.
inline constexpr std::uint32_t kEngineModuleAbi = 3;
/// The name of the module's one exported function (EngineModuleEntry).
inline constexpr const char *kEngineModuleEntry = "ditstudio_engine_module";
/// The module's base name; the platform adds lib...so / .dll / lib...dylib.
inline constexpr const char *kEngineModuleName = "ditstudio_engine";

/// The module: makes engines and offers the engine's process-wide functions. Lives for the
/// process (never deleted); all members are thread-safe.
class EngineModuleInterface {
public:
    virtual const char *version() const = 0; ///< appVersion() of the module

    /// A new engine with no model (never null unless out of memory). Destroy it before unloading.
    virtual std::unique_ptr<EngineSession> createSession() = 0;

    // Video (video.h).
    /// VideoReader::open on a fresh reader, then closed: the stream's facts.
    virtual Result<VideoInfo> probeVideo(const std::string &path) = 0;
    /// VideoReader::open, seekFrame(index), read(): one frame, or std::nullopt past the end.
    virtual Result<std::optional<VideoFrame>> readVideoFrame(const std::string &path, std::int64_t index) = 0;
    /// VideoWriter::open, write(frame) for every frame, finish(): a video of equally sized frames.
    virtual Result<VideoInfo> writeVideo(const std::string &path, const std::vector<Image> &frames,
                                         const VideoWriterOptions &options)
        = 0;

    // Images (engine.h).
    virtual Result<void> writePng(const std::string &path, const Image &image,
                                  const std::vector<std::pair<std::string, std::string>> &textChunks = {},
                                  bool overwrite = false)
        = 0;
    virtual Result<Image> readImage(const std::string &path, bool keepAlpha = false) = 0;
    virtual Result<std::vector<std::pair<std::string, std::string>>> readPngText(const std::string &path) = 0;
    virtual std::string defaultModelPath() = 0;

    // Models (models.h): what a downloaded file is, by the engine's checkpoint inspection.
    virtual Result<std::string> identifyModelFile(const std::string &path, ModelKind kind) = 0;

    // Runtime (runtime.h).
    virtual bool cudaAvailable() = 0;
    virtual int cudaDeviceCount() = 0;
    virtual int setComputeThreads(int threads) = 0;
    virtual Result<DeviceSpec> parseDevice(const std::string &text) = 0;
    virtual RuntimeInfo runtimeInfo() = 0;
    virtual std::string runtimeInfoText(const std::vector<std::string> &extraLines = {}) = 0;

protected:
    ~EngineModuleInterface() = default; // the module owns it
};

/// The exported function: the module when callerAbi is the module's ABI, else null. *moduleAbi
/// (when given) receives the module's ABI version, for the error message.
using EngineModuleEntry = EngineModuleInterface *(*)(std::uint32_t callerAbi, std::uint32_t *moduleAbi);

} // namespace ditstudio
