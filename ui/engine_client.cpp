// EngineClient: every member forwards to the engine module's table (ditstudio/engine_module.h).
#include "engine_client.h"

#include "engine_module.h"

using namespace ditstudio;

EngineClient::~EngineClient()
{
    if (m_engine)
        m_api->destroyEngine(m_engine);
}

bool EngineClient::ensureEngine()
{
    if (m_engine)
        return true;
    m_api = EngineModule::api();
    if (!m_api)
        return false;
    m_engine = m_api->createEngine();
    return m_engine != nullptr;
}

Result<CheckpointInfo> EngineClient::loadModel(const std::string &path, const LoadOptions &options)
{
    if (!ensureEngine())
        return EngineModule::unavailableError();
    return m_api->loadModel(*m_engine, path, options);
}

Result<CheckpointInfo> EngineClient::loadDefaultModel(const LoadOptions &options)
{
    if (!ensureEngine())
        return EngineModule::unavailableError();
    return m_api->loadDefaultModel(*m_engine, options);
}

bool EngineClient::hasModel() const
{
    return m_engine && m_api->hasModel(*m_engine);
}

std::vector<std::string> EngineClient::classNames() const
{
    return m_engine ? m_api->classNames(*m_engine) : std::vector<std::string>{};
}

Result<PromptMatch> EngineClient::parsePrompt(const std::string &prompt) const
{
    if (!m_engine)
        return Error{ErrorCode::InvalidArgument, "no model loaded"};
    return m_api->parsePrompt(*m_engine, prompt);
}

Result<GenerateResult> EngineClient::generate(const GenerateRequest &request, const GenerateObserver &observer,
                                              const CancelToken &cancel)
{
    if (!ensureEngine())
        return EngineModule::unavailableError();
    return m_api->generate(*m_engine, request, observer, cancel);
}

Result<EditResult> EngineClient::editImage(const EditRequest &request, const GenerateObserver &observer,
                                           const CancelToken &cancel)
{
    if (!ensureEngine())
        return EngineModule::unavailableError();
    return m_api->editImage(*m_engine, request, observer, cancel);
}

Result<VideoEditResult> EngineClient::editVideo(const VideoEditRequest &request,
                                                const std::function<void(const VideoEditProgress &)> &onFrame,
                                                const CancelToken &cancel)
{
    if (!ensureEngine())
        return EngineModule::unavailableError();
    return m_api->editVideo(*m_engine, request, onFrame, cancel);
}

Result<FilmResult> EngineClient::renderDenoisingFilm(const GenerateRequest &request, const FilmOptions &options,
                                                     const std::string &path, const VideoProgress &progress,
                                                     const CancelToken &cancel)
{
    if (!ensureEngine())
        return EngineModule::unavailableError();
    return m_api->renderDenoisingFilm(*m_engine, request, options, path, progress, cancel);
}

Result<WalkResult> EngineClient::renderLatentWalk(const GenerateRequest &request, const WalkOptions &options,
                                                  const std::string &path, const VideoProgress &progress,
                                                  const CancelToken &cancel)
{
    if (!ensureEngine())
        return EngineModule::unavailableError();
    return m_api->renderLatentWalk(*m_engine, request, options, path, progress, cancel);
}
