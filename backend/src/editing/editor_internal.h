#pragma once
// Internals shared by image and video editing: the loaded model seen at pixel level (encode with
// the VAE or as pixels, decode, conditioning, the guided model function) and one edit run.

#include "diffusion/samplers.h"
#include "ditstudio/editing.h"
#include "model/loaded_model.h"

#include <torch/torch.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace ditstudio::editing {

/// Resolves a prompt against the model's classes (the engine's parsePrompt).
using PromptParser = std::function<Result<PromptMatch>(const std::string &prompt)>;

class EditContext {
public:
    /// Throws DitException when a latent model has no VAE.
    EditContext(LoadedModel model, PromptParser parsePrompt);

    int pixelSize() const { return m_pixelSize; } ///< model pixels per side (after the VAE)
    int pixelChannels() const { return m_pixelChannels; } ///< 1 or 3
    bool latentSpace() const;
    torch::Device device() const { return m_model.device; }
    const std::vector<std::string> &classNames() const { return m_model.info.classNames; }
    VarianceType varianceType() const;
    /// Shape of one sample in model space: [1, C, h, w].
    std::vector<int64_t> modelShape() const { return {1, m_latentChannels, m_latentSize, m_latentSize}; }

    /// Model-size image -> model space [1, C, h, w] float32 (VAE posterior mean for latent models).
    torch::Tensor encode(const Image &pixels) const;
    /// Model space [1, C, h, w] -> image (VAE decode for latent models).
    Image decode(const torch::Tensor &x) const;
    /// Cheap step previews (the tensor itself, or the linear latent projection).
    std::vector<Image> previews(const torch::Tensor &x) const;

    Conditioning conditioning(const std::optional<Conditioning> &given, const std::string &prompt,
                              const char *what) const;
    /// The denoiser for one image: [1 or 2 rows] with classifier-free guidance when guided and
    /// cfgScale != 1 (rows = [cond; uncond], as Engine::generate batches them).
    ModelFn modelFn(const Conditioning &cond, const GenerateRequest &g, bool guided) const;

private:
    LoadedModel m_model;
    PromptParser m_parsePrompt;
    int m_latentChannels = 0, m_latentSize = 0, m_pixelSize = 0, m_pixelChannels = 0;
};

/// One edit with a prepared context (validates the request). Throws DitException.
EditResult runEdit(EditContext &ctx, const EditRequest &request, const GenerateObserver &observer,
                   const CancelToken &cancel);

/// editImage on a loaded model (the public editImage(Engine &) hands it the engine's).
Result<EditResult> editImage(const LoadedModel &model, const PromptParser &parsePrompt,
                             const EditRequest &request, const GenerateObserver &observer,
                             const CancelToken &cancel);
/// The pixel canvas of a loaded model.
Result<EditCanvas> editCanvas(const LoadedModel &model);
/// Video-to-video on a loaded model (the public editVideo(Engine &) hands it the engine's).
Result<VideoEditResult> editVideo(const LoadedModel &model, const PromptParser &parsePrompt,
                                  const VideoEditRequest &request,
                                  const std::function<void(const VideoEditProgress &)> &onFrame,
                                  const CancelToken &cancel);

/// RePaint's state schedule (exposed for tests): top .. -1 with the jumps back.
std::vector<int> repaintScheduleForTest(int top, int jump, int resample);

} // namespace ditstudio::editing
