#pragma once
/// \file engine_client.h
/// A ditstudio::Engine living in the engine module (engine_module.h), with the members the UI uses.
/// Constructing one costs nothing and never waits: the engine itself is made on first use, on the
/// thread that uses it, after waiting for the module if it is still loading. Like Engine, one
/// instance is used from one thread at a time. Without the module every call returns
/// EngineModule::unavailableError().

#include "ditstudio/editing.h"
#include "ditstudio/engine.h"
#include "ditstudio/video.h"

#include <functional>
#include <string>
#include <vector>

namespace ditstudio {
struct EngineModuleApi;
}

class EngineClient
{
public:
    EngineClient() = default;
    ~EngineClient();
    EngineClient(const EngineClient &) = delete;
    EngineClient &operator=(const EngineClient &) = delete;

    ditstudio::Result<ditstudio::CheckpointInfo> loadModel(const std::string &path,
                                                           const ditstudio::LoadOptions &options = {});
    ditstudio::Result<ditstudio::CheckpointInfo> loadDefaultModel(const ditstudio::LoadOptions &options = {});
    /// False until a model was loaded (never waits for the module).
    bool hasModel() const;
    /// Empty until a model was loaded.
    std::vector<std::string> classNames() const;
    ditstudio::Result<ditstudio::PromptMatch> parsePrompt(const std::string &prompt) const;
    ditstudio::Result<ditstudio::GenerateResult> generate(const ditstudio::GenerateRequest &request,
                                                          const ditstudio::GenerateObserver &observer = {},
                                                          const ditstudio::CancelToken &cancel = {});
    ditstudio::Result<ditstudio::EditResult> editImage(const ditstudio::EditRequest &request,
                                                       const ditstudio::GenerateObserver &observer = {},
                                                       const ditstudio::CancelToken &cancel = {});
    ditstudio::Result<ditstudio::VideoEditResult>
    editVideo(const ditstudio::VideoEditRequest &request,
              const std::function<void(const ditstudio::VideoEditProgress &)> &onFrame = {},
              const ditstudio::CancelToken &cancel = {});
    ditstudio::Result<ditstudio::FilmResult> renderDenoisingFilm(const ditstudio::GenerateRequest &request,
                                                                 const ditstudio::FilmOptions &options,
                                                                 const std::string &path,
                                                                 const ditstudio::VideoProgress &progress = {},
                                                                 const ditstudio::CancelToken &cancel = {});
    ditstudio::Result<ditstudio::WalkResult> renderLatentWalk(const ditstudio::GenerateRequest &request,
                                                              const ditstudio::WalkOptions &options,
                                                              const std::string &path,
                                                              const ditstudio::VideoProgress &progress = {},
                                                              const ditstudio::CancelToken &cancel = {});

private:
    /// The module's table and this client's engine, made on first use; false without the module.
    bool ensureEngine();

    const ditstudio::EngineModuleApi *m_api = nullptr;
    ditstudio::Engine *m_engine = nullptr; ///< owned; destroyed through the module
};
