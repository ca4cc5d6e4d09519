// ditstudio_engine: the backend as a loadable module. Its one export fills the table of
// ditstudio/engine_module.h with the backend's own functions; everything else in the module (the
// static backend it links) stays hidden, so it cannot clash with the program that loads it.
#include "ditstudio/engine_module.h"
#include "module_guard.h"
#include "ditstudio/models.h"

#if defined(_WIN32)
#define DITSTUDIO_MODULE_EXPORT extern "C" __declspec(dllexport)
#else
#define DITSTUDIO_MODULE_EXPORT extern "C" __attribute__((visibility("default")))
#endif

namespace ditstudio {
namespace {

EngineModuleApi makeApi()
{
    EngineModuleApi api;
    api.abiVersion = kEngineModuleAbi;
    api.structSize = sizeof(EngineModuleApi);
    api.version = appVersion();

    api.createEngine = []() -> Engine * { return moduleCall("createEngine", [] { return new Engine(); }); };
    api.destroyEngine = [](Engine *engine) { moduleCall("destroyEngine", [engine] { delete engine; }); };
    api.loadModel = [](Engine &e, const std::string &path, const LoadOptions &o) {
        return moduleCall("loadModel", [&]() { return e.loadModel(path, o); });
    };
    api.loadDefaultModel = [](Engine &e, const LoadOptions &o) {
        return moduleCall("loadDefaultModel", [&]() { return e.loadDefaultModel(o); });
    };
    api.hasModel = [](const Engine &e) { return moduleCall("hasModel", [&]() { return e.hasModel(); }); };
    api.classNames
        = [](const Engine &e) { return moduleCall("classNames", [&]() { return e.classNames(); }); };
    api.parsePrompt = [](const Engine &e, const std::string &prompt) {
        return moduleCall("parsePrompt", [&]() { return e.parsePrompt(prompt); });
    };
    api.generate = [](Engine &e, const GenerateRequest &r, const GenerateObserver &o, const CancelToken &c) {
        return moduleCall("generate", [&]() { return e.generate(r, o, c); });
    };

    api.editImage = [](Engine &e, const EditRequest &r, const GenerateObserver &o, const CancelToken &c) {
        return moduleCall("editImage", [&]() { return ditstudio::editImage(e, r, o, c); });
    };
    api.editVideo = [](Engine &e, const VideoEditRequest &r,
                       const std::function<void(const VideoEditProgress &)> &f, const CancelToken &c) {
        return moduleCall("editVideo", [&]() { return ditstudio::editVideo(e, r, f, c); });
    };

    api.renderDenoisingFilm = [](Engine &e, const GenerateRequest &r, const FilmOptions &o,
                                 const std::string &path, const VideoProgress &p, const CancelToken &c) {
        return moduleCall("renderDenoisingFilm",
                          [&]() { return ditstudio::renderDenoisingFilm(e, r, o, path, p, c); });
    };
    api.renderLatentWalk = [](Engine &e, const GenerateRequest &r, const WalkOptions &o,
                              const std::string &path, const VideoProgress &p, const CancelToken &c) {
        return moduleCall("renderLatentWalk",
                          [&]() { return ditstudio::renderLatentWalk(e, r, o, path, p, c); });
    };
    api.probeVideo = [](const std::string &path) -> Result<VideoInfo> {
        return moduleCall("probeVideo", [&]() {
            VideoReader reader;
            return reader.open(path);
        });
    };
    api.readVideoFrame
        = [](const std::string &path, std::int64_t index) -> Result<std::optional<VideoFrame>> {
        return moduleCall("readVideoFrame", [&]() -> Result<std::optional<VideoFrame>> {
            VideoReader reader;
            if (auto opened = reader.open(path); !opened.ok())
                return opened.error();
            if (auto sought = reader.seekFrame(index); !sought.ok())
                return sought.error();
            return reader.read();
        });
    };

    api.writeVideo = [](const std::string &path, const std::vector<Image> &frames,
                        const VideoWriterOptions &options) -> Result<VideoInfo> {
        return moduleCall("writeVideo", [&]() -> Result<VideoInfo> {
            VideoWriter writer;
            if (auto opened = writer.open(path, options); !opened.ok())
                return opened.error();
            for (const auto &frame : frames)
                if (auto written = writer.write(frame); !written.ok())
                    return written.error();
            return writer.finish();
        });
    };
    api.writePng = [](const std::string &path, const Image &image,
                      const std::vector<std::pair<std::string, std::string>> &chunks, bool overwrite) {
        return moduleCall("writePng", [&]() { return ditstudio::writePng(path, image, chunks, overwrite); });
    };
    api.readImage = [](const std::string &path, bool keepAlpha) {
        return moduleCall("readImage", [&]() { return ditstudio::readImage(path, keepAlpha); });
    };
    api.readPngText = [](const std::string &path) {
        return moduleCall("readPngText", [&]() { return ditstudio::readPngText(path); });
    };
    api.defaultModelPath = [] { return moduleCall("defaultModelPath", [] { return ditstudio::defaultModelPath(); }); };
    api.identifyModelFile = [](const std::string &path, ModelKind kind) {
        return moduleCall("identifyModelFile", [&]() { return ditstudio::identifyModelFile(path, kind); });
    };

    api.cudaAvailable = [] { return moduleCall("cudaAvailable", [] { return ditstudio::cudaAvailable(); }); };
    api.cudaDeviceCount = [] { return moduleCall("cudaDeviceCount", [] { return ditstudio::cudaDeviceCount(); }); };
    api.setComputeThreads = [](int threads) {
        return moduleCall("setComputeThreads", [&]() { return ditstudio::setComputeThreads(threads); });
    };
    api.parseDevice = [](const std::string &text) {
        return moduleCall("parseDevice", [&]() { return ditstudio::parseDevice(text); });
    };
    api.runtimeInfo = [] { return moduleCall("runtimeInfo", [] { return ditstudio::runtimeInfo(); }); };
    api.runtimeInfoText = [](const std::vector<std::string> &extra) {
        return moduleCall("runtimeInfoText", [&]() { return ditstudio::runtimeInfoText(extra); });
    };
    return api;
}

} // namespace
} // namespace ditstudio

DITSTUDIO_MODULE_EXPORT const ditstudio::EngineModuleApi *ditstudio_engine_module()
{
    static const ditstudio::EngineModuleApi api = ditstudio::makeApi();
    return &api;
}
