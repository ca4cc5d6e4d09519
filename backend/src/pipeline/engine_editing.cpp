// The public editing entry points (ditstudio/editing.h): each hands the engine's loaded model to the
// editing feature, which works on a LoadedModel and never sees the engine.
#include "ditstudio/editing.h"
#include "ditstudio/video.h"

#include "common/errors.h"
#include "editing/editor_internal.h"
#include "pipeline/engine_internals.h"

namespace ditstudio {

namespace {

editing::PromptParser promptParserOf(Engine &engine)
{
    return [&engine](const std::string &prompt) { return engine.parsePrompt(prompt); };
}

Result<LoadedModel> loadedModelOf(Engine &engine, const std::string &context)
{
    return guarded(context, [&] { return EngineInternals::of(engine); });
}

} // namespace

Result<EditCanvas> editCanvas(Engine &engine)
{
    auto model = loadedModelOf(engine, "edit");
    if (!model.ok())
        return model.error();
    return editing::editCanvas(*model);
}

Result<EditResult> editImage(Engine &engine, const EditRequest &request, const GenerateObserver &observer,
                             const CancelToken &cancel)
{
    auto model = loadedModelOf(engine, std::string("edit ") + editModeName(request.mode));
    if (!model.ok())
        return model.error();
    return editing::editImage(*model, promptParserOf(engine), request, observer, cancel);
}

Result<VideoEditResult> editVideo(Engine &engine, const VideoEditRequest &request,
                                  const std::function<void(const VideoEditProgress &)> &onFrame,
                                  const CancelToken &cancel)
{
    auto model = loadedModelOf(engine, "video edit " + request.inputPath);
    if (!model.ok())
        return model.error();
    return editing::editVideo(*model, promptParserOf(engine), request, onFrame, cancel);
}

} // namespace ditstudio

// Engine's EngineSession members for editing and video: the free functions on this engine.
namespace ditstudio {

Result<EditResult> Engine::editImage(const EditRequest &request, const GenerateObserver &observer,
                                     const CancelToken &cancel)
{
    return ditstudio::editImage(*this, request, observer, cancel);
}

Result<VideoEditResult> Engine::editVideo(const VideoEditRequest &request,
                                          const std::function<void(const VideoEditProgress &)> &onFrame,
                                          const CancelToken &cancel)
{
    return ditstudio::editVideo(*this, request, onFrame, cancel);
}

Result<FilmResult> Engine::renderDenoisingFilm(const GenerateRequest &request, const FilmOptions &options,
                                               const std::string &path, const VideoProgress &progress,
                                               const CancelToken &cancel)
{
    return ditstudio::renderDenoisingFilm(*this, request, options, path, progress, cancel);
}

Result<WalkResult> Engine::renderLatentWalk(const GenerateRequest &request, const WalkOptions &options,
                                            const std::string &path, const VideoProgress &progress,
                                            const CancelToken &cancel)
{
    return ditstudio::renderLatentWalk(*this, request, options, path, progress, cancel);
}

} // namespace ditstudio
