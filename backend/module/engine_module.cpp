// ditstudio_engine: the backend as a loadable module. Its one export hands out the module interface
// of ditstudio/module_api.h; engines are ditstudio::Engine itself (it implements EngineSession), so
// nothing here forwards engine calls. Everything else in the module (the static backend it links)
// stays hidden, so it cannot clash with the program that loads it.
#include "ditstudio/models.h"
#include "ditstudio/module_api.h"
#include "module_guard.h"

#if defined(_WIN32)
#define DITSTUDIO_MODULE_EXPORT extern "C" __declspec(dllexport)
#else
#define DITSTUDIO_MODULE_EXPORT extern "C" __attribute__((visibility("default")))
#endif

namespace ditstudio {
namespace {

// The process-wide functions; every body runs under moduleCall (nothing throws across the boundary).
class ModuleImpl final : public EngineModuleInterface {
public:
    const char *version() const override { return appVersion(); }

    std::unique_ptr<EngineSession> createSession() override
    {
        return moduleCall("createSession", [] { return std::unique_ptr<EngineSession>(new Engine()); });
    }

    Result<VideoInfo> probeVideo(const std::string &path) override
    {
        return moduleCall("probeVideo", [&]() {
            VideoReader reader;
            return reader.open(path);
        });
    }

    Result<std::optional<VideoFrame>> readVideoFrame(const std::string &path, std::int64_t index) override
    {
        return moduleCall("readVideoFrame", [&]() -> Result<std::optional<VideoFrame>> {
            VideoReader reader;
            if (auto opened = reader.open(path); !opened.ok())
                return opened.error();
            if (auto sought = reader.seekFrame(index); !sought.ok())
                return sought.error();
            return reader.read();
        });
    }

    Result<VideoInfo> writeVideo(const std::string &path, const std::vector<Image> &frames,
                                 const VideoWriterOptions &options) override
    {
        return moduleCall("writeVideo", [&]() -> Result<VideoInfo> {
            VideoWriter writer;
            if (auto opened = writer.open(path, options); !opened.ok())
                return opened.error();
            for (const auto &frame : frames)
                if (auto written = writer.write(frame); !written.ok())
                    return written.error();
            return writer.finish();
        });
    }

    Result<void> writePng(const std::string &path, const Image &image,
                          const std::vector<std::pair<std::string, std::string>> &chunks,
                          bool overwrite) override
    {
        return moduleCall("writePng", [&]() { return ditstudio::writePng(path, image, chunks, overwrite); });
    }

    Result<Image> readImage(const std::string &path, bool keepAlpha) override
    {
        return moduleCall("readImage", [&]() { return ditstudio::readImage(path, keepAlpha); });
    }

    Result<std::vector<std::pair<std::string, std::string>>> readPngText(const std::string &path) override
    {
        return moduleCall("readPngText", [&]() { return ditstudio::readPngText(path); });
    }

    std::string defaultModelPath() override
    {
        return moduleCall("defaultModelPath", [] { return ditstudio::defaultModelPath(); });
    }

    Result<std::string> identifyModelFile(const std::string &path, ModelKind kind) override
    {
        return moduleCall("identifyModelFile", [&]() { return ditstudio::identifyModelFile(path, kind); });
    }

    bool cudaAvailable() override
    {
        return moduleCall("cudaAvailable", [] { return ditstudio::cudaAvailable(); });
    }

    int cudaDeviceCount() override
    {
        return moduleCall("cudaDeviceCount", [] { return ditstudio::cudaDeviceCount(); });
    }

    int setComputeThreads(int threads) override
    {
        return moduleCall("setComputeThreads", [&]() { return ditstudio::setComputeThreads(threads); });
    }

    Result<DeviceSpec> parseDevice(const std::string &text) override
    {
        return moduleCall("parseDevice", [&]() { return ditstudio::parseDevice(text); });
    }

    RuntimeInfo runtimeInfo() override
    {
        return moduleCall("runtimeInfo", [] { return ditstudio::runtimeInfo(); });
    }

    std::string runtimeInfoText(const std::vector<std::string> &extra) override
    {
        return moduleCall("runtimeInfoText", [&]() { return ditstudio::runtimeInfoText(extra); });
    }
};

} // namespace
} // namespace ditstudio

DITSTUDIO_MODULE_EXPORT ditstudio::EngineModuleInterface *ditstudio_engine_module(std::uint32_t callerAbi,
                                                                                  std::uint32_t *moduleAbi)
{
    if (moduleAbi)
        *moduleAbi = ditstudio::kEngineModuleAbi;
    if (callerAbi != ditstudio::kEngineModuleAbi)
        return nullptr;
    static ditstudio::ModuleImpl module;
    return &module;
}
