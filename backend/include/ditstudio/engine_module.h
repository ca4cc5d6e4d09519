#pragma once
/// \file engine_module.h
/// The engine as a loadable module: ditstudio_engine (libditstudio_engine.so, ditstudio_engine.dll,
/// libditstudio_engine.dylib) is the backend plus LibTorch, OpenCV and FFmpeg behind one exported
/// function. Loading LibTorch and its ~290 shared libraries takes most of a second; a program that
/// loads this module on a background thread shows its window first (the GUI does, see
/// ui/engine_module.h). The torch-free part of the public API (names and parsers, Error::toString,
/// logging, prompt matching helpers, imagePsnr) lives in ditstudio_common, which such a program
/// links directly.
///
/// Every entry calls the function of the same name in engine.h, editing.h, video.h, models.h or runtime.h
/// (Engine members take the engine as their first argument); threads, ownership and errors are as
/// documented there. The module and its caller are built together with one compiler and standard
/// library (std::string etc. cross the boundary); abiVersion and structSize catch a stale module.

#include "ditstudio/editing.h"
#include "ditstudio/engine.h"
#include "ditstudio/models.h"
#include "ditstudio/runtime.h"
#include "ditstudio/video.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ditstudio {

/// Bumped whenever EngineModuleApi changes.
inline constexpr std::uint32_t kEngineModuleAbi = 2;
/// The name of the module's one exported function: `const EngineModuleApi *fn()`.
inline constexpr const char *kEngineModuleEntry = "ditstudio_engine_module";
/// The module's base name; the platform adds lib...so / .dll / lib...dylib.
inline constexpr const char *kEngineModuleName = "ditstudio_engine";

struct EngineModuleApi {
    std::uint32_t abiVersion = 0;
    std::uint32_t structSize = 0;
    const char *version = nullptr; ///< appVersion() of the module

    // Engine lifetime and members (engine.h). createEngine never returns null.
    Engine *(*createEngine)() = nullptr;
    void (*destroyEngine)(Engine *engine) = nullptr;
    Result<CheckpointInfo> (*loadModel)(Engine &engine, const std::string &path, const LoadOptions &options) = nullptr;
    Result<CheckpointInfo> (*loadDefaultModel)(Engine &engine, const LoadOptions &options) = nullptr;
    bool (*hasModel)(const Engine &engine) = nullptr;
    std::vector<std::string> (*classNames)(const Engine &engine) = nullptr;
    Result<PromptMatch> (*parsePrompt)(const Engine &engine, const std::string &prompt) = nullptr;
    Result<GenerateResult> (*generate)(Engine &engine, const GenerateRequest &request,
                                       const GenerateObserver &observer, const CancelToken &cancel) = nullptr;

    // Editing (editing.h).
    Result<EditResult> (*editImage)(Engine &engine, const EditRequest &request, const GenerateObserver &observer,
                                    const CancelToken &cancel) = nullptr;
    Result<VideoEditResult> (*editVideo)(Engine &engine, const VideoEditRequest &request,
                                         const std::function<void(const VideoEditProgress &)> &onFrame,
                                         const CancelToken &cancel) = nullptr;

    // Video (video.h).
    Result<FilmResult> (*renderDenoisingFilm)(Engine &engine, const GenerateRequest &request, const FilmOptions &options,
                                              const std::string &path, const VideoProgress &progress,
                                              const CancelToken &cancel) = nullptr;
    Result<WalkResult> (*renderLatentWalk)(Engine &engine, const GenerateRequest &request, const WalkOptions &options,
                                           const std::string &path, const VideoProgress &progress,
                                           const CancelToken &cancel) = nullptr;
    /// VideoReader::open on a fresh reader, then closed: the stream's facts.
    Result<VideoInfo> (*probeVideo)(const std::string &path) = nullptr;
    /// VideoReader::open, seekFrame(index), read(): one frame, or std::nullopt past the end.
    Result<std::optional<VideoFrame>> (*readVideoFrame)(const std::string &path, std::int64_t index) = nullptr;
    /// VideoWriter::open, write(frame) for every frame, finish(): a video of equally sized frames.
    Result<VideoInfo> (*writeVideo)(const std::string &path, const std::vector<Image> &frames,
                                    const VideoWriterOptions &options) = nullptr;

    // Images (engine.h).
    Result<void> (*writePng)(const std::string &path, const Image &image,
                             const std::vector<std::pair<std::string, std::string>> &textChunks,
                             bool overwrite) = nullptr;
    Result<Image> (*readImage)(const std::string &path, bool keepAlpha) = nullptr;
    Result<std::vector<std::pair<std::string, std::string>>> (*readPngText)(const std::string &path) = nullptr;
    std::string (*defaultModelPath)() = nullptr;

    // Models (models.h): what a downloaded file is, by the engine's checkpoint inspection.
    Result<std::string> (*identifyModelFile)(const std::string &path, ModelKind kind) = nullptr;

    // Runtime (runtime.h).
    bool (*cudaAvailable)() = nullptr;
    int (*cudaDeviceCount)() = nullptr;
    int (*setComputeThreads)(int threads) = nullptr;
    Result<DeviceSpec> (*parseDevice)(const std::string &text) = nullptr;
    RuntimeInfo (*runtimeInfo)() = nullptr;
    std::string (*runtimeInfoText)(const std::vector<std::string> &extraLines) = nullptr;
};

} // namespace ditstudio
