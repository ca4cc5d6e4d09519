// ditstudio_engine: the backend as a loadable module. Its one export fills the table of
// ditstudio/engine_module.h with the backend's own functions; everything else in the module (the
// static backend it links) stays hidden, so it cannot clash with the program that loads it.
#include "ditstudio/engine_module.h"
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

    api.createEngine = []() -> Engine * { return new Engine(); };
    api.destroyEngine = [](Engine *engine) { delete engine; };
    api.loadModel = [](Engine &e, const std::string &path, const LoadOptions &o) { return e.loadModel(path, o); };
    api.loadDefaultModel = [](Engine &e, const LoadOptions &o) { return e.loadDefaultModel(o); };
    api.hasModel = [](const Engine &e) { return e.hasModel(); };
    api.classNames = [](const Engine &e) { return e.classNames(); };
    api.parsePrompt = [](const Engine &e, const std::string &prompt) { return e.parsePrompt(prompt); };
    api.generate = [](Engine &e, const GenerateRequest &r, const GenerateObserver &o, const CancelToken &c) {
        return e.generate(r, o, c);
    };

    api.editImage = [](Engine &e, const EditRequest &r, const GenerateObserver &o, const CancelToken &c) {
        return ditstudio::editImage(e, r, o, c);
    };
    api.editVideo = [](Engine &e, const VideoEditRequest &r, const std::function<void(const VideoEditProgress &)> &f,
                       const CancelToken &c) { return ditstudio::editVideo(e, r, f, c); };

    api.renderDenoisingFilm = [](Engine &e, const GenerateRequest &r, const FilmOptions &o, const std::string &path,
                                 const VideoProgress &p, const CancelToken &c) {
        return ditstudio::renderDenoisingFilm(e, r, o, path, p, c);
    };
    api.renderLatentWalk = [](Engine &e, const GenerateRequest &r, const WalkOptions &o, const std::string &path,
                              const VideoProgress &p, const CancelToken &c) {
        return ditstudio::renderLatentWalk(e, r, o, path, p, c);
    };
    api.probeVideo = [](const std::string &path) -> Result<VideoInfo> {
        VideoReader reader;
        return reader.open(path);
    };
    api.readVideoFrame = [](const std::string &path, std::int64_t index) -> Result<std::optional<VideoFrame>> {
        VideoReader reader;
        if (auto opened = reader.open(path); !opened.ok())
            return opened.error();
        if (auto sought = reader.seekFrame(index); !sought.ok())
            return sought.error();
        return reader.read();
    };

    api.writePng = [](const std::string &path, const Image &image,
                      const std::vector<std::pair<std::string, std::string>> &chunks,
                      bool overwrite) { return ditstudio::writePng(path, image, chunks, overwrite); };
    api.readImage = [](const std::string &path, bool keepAlpha) { return ditstudio::readImage(path, keepAlpha); };
    api.readPngText = [](const std::string &path) { return ditstudio::readPngText(path); };
    api.defaultModelPath = [] { return ditstudio::defaultModelPath(); };
    api.identifyModelFile = [](const std::string &path, ModelKind kind) {
        return ditstudio::identifyModelFile(path, kind);
    };

    api.cudaAvailable = [] { return ditstudio::cudaAvailable(); };
    api.cudaDeviceCount = [] { return ditstudio::cudaDeviceCount(); };
    api.setComputeThreads = [](int threads) { return ditstudio::setComputeThreads(threads); };
    api.parseDevice = [](const std::string &text) { return ditstudio::parseDevice(text); };
    api.runtimeInfo = [] { return ditstudio::runtimeInfo(); };
    api.runtimeInfoText = [](const std::vector<std::string> &extra) { return ditstudio::runtimeInfoText(extra); };
    return api;
}

} // namespace
} // namespace ditstudio

DITSTUDIO_MODULE_EXPORT const ditstudio::EngineModuleApi *ditstudio_engine_module()
{
    static const ditstudio::EngineModuleApi api = ditstudio::makeApi();
    return &api;
}
