#pragma once
/// \file editing.h
/// Editing with a loaded Engine: img2img (SDEdit), inpainting / outpainting (with optional RePaint
/// resampling), DDIM inversion + regeneration (class swap), and video-to-video.
///
/// Size policy: an input image is center-cropped to the model's aspect ratio (square), then resized
/// to the model's pixel size (input_size x VAE factor; 28x28 for the default model) with area
/// averaging when shrinking and bicubic when enlarging; gray/RGB are converted to the model's
/// channels (luma for 1-channel models). Every result is at the model's pixel size; `before` holds
/// that preprocessed input, so results compare pixel for pixel with it.
///
/// Threads and errors as in engine.h: calls block, one Engine is used from one thread at a time,
/// errors come back as Result values naming the field or file, cancellation is a status.
///
/// Example:
///     ditstudio::Engine engine;
///     engine.loadDefaultModel();
///     ditstudio::EditRequest edit;
///     edit.mode = ditstudio::EditMode::Img2Img;
///     edit.image = *ditstudio::readImage("shoe.png");
///     edit.generate.prompt = "sneaker";
///     edit.strength = 0.6;
///     auto result = ditstudio::editImage(engine, edit);   // result->image at the model's size

#include "ditstudio/cancel_token.h"
#include "ditstudio/engine.h"
#include "ditstudio/result.h"
#include "ditstudio/types.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace ditstudio {

enum class EditMode {
    Img2Img, ///< SDEdit: noise the input to `strength`, denoise (Meng et al. 2021)
    Inpaint, ///< regenerate the masked region; the rest follows the input at every step
    Invert, ///< DDIM-invert to the starting noise, then regenerate (Song et al. 2021, sec. 4.3)
};
const char *editModeName(EditMode mode); ///< "img2img", "inpaint", "invert"
Result<EditMode> parseEditMode(const std::string &text); ///< inverse of editModeName

/// Canvas extension for outpainting, in input pixels; the new area is added to the mask.
struct Padding {
    int left = 0, top = 0, right = 0, bottom = 0;
    bool any() const { return left > 0 || top > 0 || right > 0 || bottom > 0; }
};

struct EditRequest {
    EditMode mode = EditMode::Img2Img;
    /// The input: 1, 3 or 4 channels (alpha is ignored except by maskFromAlpha), any size.
    Image image;
    /// Inpaint: the mask, same width and height as `image`, any channel count (the first channel is
    /// read): 255 = regenerate, 0 = keep; values in between are treated as regenerate when >= 128.
    /// When empty, the mask comes from the image's alpha (transparent = regenerate), or, with
    /// outpainting, from the padding alone.
    Image mask;
    Padding outpaint; ///< Inpaint: extend the canvas (the new pixels start mid-gray and are masked)
    /// Sampler, steps, eta, guidance, prompt / conditioning, seed. batch must be 1; initNoise, when
    /// set, replaces the seeded noise used to noise the input (video-to-video shares it).
    GenerateRequest generate;
    /// Img2Img and Inpaint: how far to noise the input, 0..1. The run starts at the respaced step
    /// closest to strength x steps and runs round(strength x steps) steps; 0 steps returns the
    /// preprocessed input unchanged (no model call).
    double strength = 0.75;
    /// Inpaint: width in output pixels of the blend inside the mask's edge (0 = hard edge). Blending
    /// only reaches into the masked region, so kept pixels equal the input exactly.
    double featherPixels = 1.5;
    /// Inpaint, RePaint resampling (Lugmayr et al. 2022): every repaintJump steps, go back
    /// repaintJump steps by forward noising and denoise again, repaintResample times in all
    /// (1 = off). ddpm and ddim samplers only.
    int repaintJump = 10;
    int repaintResample = 1;
    /// Invert: what the input shows, used for the inversion (a prompt or conditioning); when both
    /// are empty the regeneration's conditioning is used. Inversion never uses guidance.
    std::string sourcePrompt;
    std::optional<Conditioning> sourceConditioning;
    /// Invert: DDIM steps of inversion and regeneration (the regeneration always uses DDIM eta 0 so
    /// the noise maps back deterministically; generate.sampler is ignored).
    int inversionSteps = 50;
    /// Invert: fixed-point refinements of each inversion step (extra model calls per step), which
    /// make the inversion the exact inverse of the DDIM step it undoes; 0 = plain DDIM inversion.
    int inversionFixedPoint = 2;
};

struct EditResult {
    JobStatus status = JobStatus::Completed;
    Image image; ///< the edited image (gray for 1-channel models, else RGB)
    Image before; ///< the preprocessed input, same size and channels as image
    Image mask; ///< Inpaint: the blend weight used for compositing (255 = fully generated)
    HostTensor latent; ///< final model-space sample [1, C, h, w] (before compositing / VAE decode)
    HostTensor noise; ///< Invert: the inverted starting noise x_T [1, C, h, w]
    Conditioning conditioning;
    int stepsDone = 0; ///< sampler steps run (inversion steps included)
    int totalSteps = 0;
    double seconds = 0;
};

/// Run one edit. Progress: observer.onStep after every sampler step (inversion steps included;
/// StepUpdate::totalSteps counts both phases). Checks the token before every step.
Result<EditResult> editImage(Engine &engine, const EditRequest &request,
                             const GenerateObserver &observer = {}, const CancelToken &cancel = {});

/// The model's pixel size (width = height) and channels for editing, e.g. {28, 1} for the default
/// model, {64, 3} for an 8x8 latent model with a factor-8 VAE. Latent models need a VAE.
struct EditCanvas {
    int size = 0;
    int channels = 0;
};
Result<EditCanvas> editCanvas(Engine &engine);

/// Peak signal-to-noise ratio in dB of two images of the same size and channels (peak 255);
/// +infinity when identical. InvalidArgument when the sizes differ.
Result<double> imagePsnr(const Image &a, const Image &b);

/// Video-to-video: img2img on every frame with the same noise for every frame.
struct VideoEditRequest {
    std::string inputPath;
    std::string outputPath; ///< container and codec from the extension (.mp4 h264, .webm vp9, .gif)
    bool overwrite = false;
    /// The per-frame edit; mode must be Img2Img. Its seed draws the one noise all frames share.
    EditRequest edit;
    /// Temporal smoothing of the edited latents: out_i = (1 - a) * latent_i + a * out_{i-1},
    /// a in [0, 1); 0 = off.
    double temporalSmoothing = 0.0;
    int outputScale = 1; ///< enlarge the model-size frames by this factor (1..16) for the file
    int maxFrames = 0; ///< 0 = all frames
    bool copyAudio = true; ///< copy the input's first audio stream (packets, no re-encode)
    int crf = -1; ///< encoder quality (VideoWriterOptions::crf)
};

struct VideoEditProgress {
    int frame = 0; ///< 0-based index of the frame just written
    int totalFrames = 0; ///< estimate from the container (0 when unknown)
    double elapsedSeconds = 0;
    Image before, after; ///< this frame at model size, input and edited
};

struct VideoEditResult {
    JobStatus status = JobStatus::Completed;
    int frames = 0;
    double fps = 0;
    bool audioCopied = false;
    double seconds = 0;
    std::string outputPath;
};

/// Stream frames from inputPath, edit each, encode to outputPath at the input's fps (output is
/// written to a temporary file and renamed on success; a cancel or an error leaves nothing).
/// Memory is bounded: one frame is decoded, edited and encoded at a time.
Result<VideoEditResult> editVideo(Engine &engine, const VideoEditRequest &request,
                                  const std::function<void(const VideoEditProgress &)> &onFrame = {},
                                  const CancelToken &cancel = {});

} // namespace ditstudio
