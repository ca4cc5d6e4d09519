#pragma once
/// \file engine.h
/// The DiT generation engine: load a checkpoint, turn prompts into class conditioning, sample.
///
/// Threads: every call blocks until done and may be made from any thread, but one Engine instance
/// is NOT thread-safe: use it from one thread at a time (the GUI owns it on its worker thread).
/// Progress and cancellation travel per request (GenerateObserver, CancelToken), never globals.
/// Errors come back as Result values; cancellation is reported in GenerateResult::status.
///
/// Example:
///     ditstudio::Engine engine;
///     if (auto info = engine.loadModel("DiT-XL-2-256x256.pt"); !info.ok())
///         return info.error().toString();
///     ditstudio::GenerateRequest request;
///     request.prompt = "golden retriever";
///     request.steps = 50;
///     ditstudio::GenerateObserver observer;
///     observer.onStep = [](const ditstudio::StepUpdate &u) { /* u.step, u.previewX0 */ };
///     auto result = engine.generate(request, observer);   // result->images

#include "ditstudio/cancel_token.h"
#include "ditstudio/model_info.h"
#include "ditstudio/probes.h"
#include "ditstudio/result.h"
#include "ditstudio/types.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ditstudio {

enum class SamplerKind { Ddpm, Ddim, DpmPP2M, Euler, EulerAncestral, Heun };
const char *samplerName(SamplerKind kind); ///< "ddpm", "ddim", "dpmpp-2m", ...
Result<SamplerKind> parseSampler(const std::string &text); ///< inverse of samplerName
std::vector<std::string> samplerNames();

/// Which output channels classifier-free guidance mixes.
enum class GuidedChannels {
    First3, ///< the official DiT forward_with_cfg: eps channels 0..2 only
    All ///< diffusers: every eps channel
};

/// Options for loading a model.
struct LoadOptions {
    std::string device = "auto"; ///< "cpu", "cuda", "cuda:N" or "auto"
    DType dtype = DType::Float32;
    /// Optional Stable Diffusion VAE (AutoencoderKL, any layout/container) for latent models: final
    /// images are decoded through it and step previews use a projection fitted to it. Loaded on the
    /// same device/dtype as the model. A pixel-space model with a VAE is an error.
    std::string vaePath;
    /// Folder for derived data (the VAE's fitted preview projection); empty: $DITSTUDIO_CACHE_DIR,
    /// else <user data dir>/cache.
    std::string cacheDir;
    std::string labelsPath; ///< optional class-name list (one class per line; tsv "id\tnames" ok)
    /// bf16/fp16 only. false (default): the residual stream, norms, adaLN modulation and gates stay in
    /// fp32 and only the matrix products and attention run in bf16/fp16 (much closer to fp32 at little
    /// cost); true: the whole forward in bf16/fp16, as a plain model.to(bf16) would.
    bool lowPrecisionResidual = false;
};

/// One class with a weight in a conditioning mix.
struct ClassWeight {
    int classId = 0;
    double weight = 1.0;
};

/// Conditioning of one image: a single class, or a weighted mix of label embeddings.
struct Conditioning {
    std::vector<ClassWeight> classes;
    std::string describe(const std::vector<std::string> &classNames) const;
};

/// Result of matching a prompt against the model's class names.
struct PromptMatch {
    Conditioning conditioning;
    std::vector<std::string> warnings; ///< e.g. "'retriver' read as 'golden retriever'"
};

/// Per-request generation parameters; defaults reproduce the official sample.py.
struct GenerateRequest {
    std::string prompt; ///< class name(s), e.g. "golden retriever" or "0.7 cat + 0.3 dog"
    std::optional<Conditioning> conditioning; ///< used instead of prompt when set (e.g. --class N)
    /// One conditioning per batch item (size == batch); when set it replaces prompt and conditioning.
    std::vector<Conditioning> itemConditioning;
    int steps = 50;
    SamplerKind sampler = SamplerKind::Ddpm;
    double eta = 0.0; ///< DDIM stochasticity
    double cfgScale = 4.0; ///< 1 disables guidance
    GuidedChannels guidedChannels = GuidedChannels::First3;
    double guidanceFrom = 0.0; ///< guide only where t/1000 lies in [guidanceFrom, guidanceTo]
    double guidanceTo = 1.0;
    bool karrasSigmas = false; ///< sigma-space samplers: Karras et al. 2022 spacing
    std::uint64_t seed = 0;
    int batch = 1;
    /// Starting noise [batch, C, H, W]; when set it replaces the seeded draw for the start.
    std::optional<HostTensor> initNoise;
    bool wantStepTensors = false; ///< hand x_t / x0 tensors to the observer every step
    bool wantPreviews = true; ///< hand RGB previews of x_t / x0 to the observer every step
    /// With a VAE loaded: also decode x0 fully every N steps (and at the last step) into
    /// StepUpdate::decodedX0. A full decode costs seconds on a CPU; 0 turns it off.
    int vaePreviewEvery = 0;
    /// Fast mode: step caching (FORA, Selvaraju et al. 2024). The transformer blocks run in full on
    /// every cacheInterval-th model call and their attention and MLP outputs are reused in between
    /// (re-gated by the current step's adaLN modulation and forecast linearly from the last two full
    /// calls), so a model call costs about 1/cacheInterval of the block FLOPs. Calls at the last noise
    /// levels (t < 80 of 1000), which form the fine details, always run in full.
    /// 1 = off (exact). 1..8; not together with probes or interventions.
    int cacheInterval = 1;
    /// Adaptive step caching instead (> 0; cacheInterval must then be 1), after TeaCache (Liu et al.
    /// 2024): the blocks run in full when the relative change of the first block's modulated input,
    /// summed since the last full call, reaches this threshold; 0 = off. 0..10.
    double cacheThreshold = 0.0;
    /// What to record inside the transformer each step (probes.h); all off by default.
    ProbeOptions probes;
    /// Changes to the forward pass (switched-off heads, skipped blocks, zeroed gates).
    Interventions interventions;
};

/// What the observer receives after each sampling step.
struct StepUpdate {
    int step = 0; ///< 0-based index of the finished step
    int totalSteps = 0;
    double timestep = 0; ///< original (1000-step) timestep the model was called with
    double sigma = 0; ///< noise level sqrt((1 - abar) / abar) at that timestep
    double elapsedSeconds = 0;
    std::vector<Image> previewXt; ///< one per batch item (when wantPreviews)
    std::vector<Image> previewX0;
    /// Full-resolution VAE decodes of x0, one per batch item, on steps chosen by vaePreviewEvery; else empty.
    std::vector<Image> decodedX0;
    HostTensor xt; ///< [B, C, H, W] (when wantStepTensors)
    HostTensor x0;
    StepProbes probes; ///< what GenerateRequest::probes asked for (empty when all off)
};

/// Observer callbacks run on the calling (worker) thread; keep them short.
struct GenerateObserver {
    std::function<void(const StepUpdate &)> onStep;
};

enum class JobStatus { Completed, Cancelled };

struct GenerateResult {
    JobStatus status = JobStatus::Completed;
    /// One per batch item; RGB (or gray for 1-channel pixel models). Latent models: decoded by the VAE
    /// when one is loaded (a cancelled run gets the projection preview instead of a decode), else a
    /// latent-resolution preview (the linear projection).
    std::vector<Image> images;
    HostTensor latent; ///< final sample before any VAE decode [B, C, H, W]
    std::vector<Conditioning> conditioning;
    std::vector<std::uint64_t> seeds; ///< the seed of each batch item (seed + index)
    double seconds = 0;
    int stepsDone = 0;
    int modelCalls = 0; ///< network calls of the sampler (Heun: two per step)
    int fullModelCalls
        = 0; ///< of those, calls that ran the transformer blocks (fewer with cacheInterval > 1)
};

// Defined in editing.h and video.h (which include this header).
struct EditRequest;
struct EditResult;
struct VideoEditRequest;
struct VideoEditResult;
struct VideoEditProgress;
struct FilmOptions;
struct FilmResult;
struct WalkOptions;
struct WalkResult;
/// Film/walk progress: frames done, frames in all, and the stage ("sampling", "encoding").
using VideoProgress = std::function<void(int framesDone, int framesTotal, const std::string &stage)>;

/// The engine as an interface (qBittorrent's Session / SessionImpl): one per loaded model. A program
/// that loads the engine module (module_api.h) gets one from EngineModuleInterface::createSession()
/// and never sees the implementation, Engine. A new engine call is two edits: a pure virtual here
/// and its implementation in Engine. Threads, errors and cancellation: as for Engine (above).
class EngineSession {
public:
    virtual ~EngineSession() = default;

    /// Load a checkpoint file or diffusers folder. Replaces any loaded model.
    virtual Result<CheckpointInfo> loadModel(const std::string &path, const LoadOptions &options = {}) = 0;
    /// Load the embedded default model (Fashion-MNIST pixel DiT shipped in resources/models).
    virtual Result<CheckpointInfo> loadDefaultModel(const LoadOptions &options = {}) = 0;
    virtual bool hasModel() const = 0;
    virtual std::vector<std::string> classNames() const = 0;
    /// Map a prompt to conditioning using the loaded model's class names.
    virtual Result<PromptMatch> parsePrompt(const std::string &prompt) const = 0;
    /// Sample images. Blocks; checks the token before every step.
    virtual Result<GenerateResult> generate(const GenerateRequest &request,
                                            const GenerateObserver &observer = {},
                                            const CancelToken &cancel = {})
        = 0;
    /// editImage(engine, ...) of editing.h on this engine.
    virtual Result<EditResult> editImage(const EditRequest &request, const GenerateObserver &observer = {},
                                         const CancelToken &cancel = {})
        = 0;
    /// editVideo(engine, ...) of editing.h on this engine.
    virtual Result<VideoEditResult> editVideo(const VideoEditRequest &request,
                                              const std::function<void(const VideoEditProgress &)> &onFrame
                                              = {},
                                              const CancelToken &cancel = {})
        = 0;
    /// renderDenoisingFilm(engine, ...) of video.h on this engine.
    virtual Result<FilmResult>
    renderDenoisingFilm(const GenerateRequest &request, const FilmOptions &options, const std::string &path,
                        const VideoProgress &progress = {}, const CancelToken &cancel = {})
        = 0;
    /// renderLatentWalk(engine, ...) of video.h on this engine.
    virtual Result<WalkResult> renderLatentWalk(const GenerateRequest &request, const WalkOptions &options,
                                                const std::string &path, const VideoProgress &progress = {},
                                                const CancelToken &cancel = {})
        = 0;
};

struct EngineInternals; // backend-internal view of the loaded model (editing, video)

/// The engine itself (the implementation of EngineSession, used directly by the CLI and tests).
class Engine final : public EngineSession {
public:
    Engine();
    ~Engine() override;
    Engine(const Engine &) = delete;
    Engine &operator=(const Engine &) = delete;

    Result<CheckpointInfo> loadModel(const std::string &path, const LoadOptions &options = {}) override;
    Result<CheckpointInfo> loadDefaultModel(const LoadOptions &options = {}) override;
    bool hasModel() const override;
    const CheckpointInfo &modelInfo() const; ///< valid only when hasModel()
    std::vector<std::string> classNames() const override;

    /// The VAE loaded with the model (LoadOptions::vaePath), when there is one.
    struct VaeSummary {
        std::string path;
        std::string layout; ///< "ldm", "diffusers" or "diffusers-legacy"
        std::string architecture; ///< e.g. "AutoencoderKL(ch 128,256,512,512; 2 layers; z 4)"
        int latentChannels = 0;
        int downsampleFactor = 0; ///< image pixels per latent pixel (8 for SD)
        double scalingFactor = 0;
        std::string previewKey; ///< cache key of the fitted preview projection
        double previewRmse = 0; ///< projection error on held-out latents (image units, range 2)
        double previewPsnr = 0; ///< dB
        bool previewFromCache = false;
    };
    std::optional<VaeSummary> vaeSummary() const;

    Result<PromptMatch> parsePrompt(const std::string &prompt) const override;
    Result<GenerateResult> generate(const GenerateRequest &request, const GenerateObserver &observer = {},
                                    const CancelToken &cancel = {}) override;
    Result<EditResult> editImage(const EditRequest &request, const GenerateObserver &observer = {},
                                 const CancelToken &cancel = {}) override;
    Result<VideoEditResult> editVideo(const VideoEditRequest &request,
                                      const std::function<void(const VideoEditProgress &)> &onFrame = {},
                                      const CancelToken &cancel = {}) override;
    Result<FilmResult> renderDenoisingFilm(const GenerateRequest &request, const FilmOptions &options,
                                           const std::string &path, const VideoProgress &progress = {},
                                           const CancelToken &cancel = {}) override;
    Result<WalkResult> renderLatentWalk(const GenerateRequest &request, const WalkOptions &options,
                                        const std::string &path, const VideoProgress &progress = {},
                                        const CancelToken &cancel = {}) override;

private:
    friend struct EngineInternals;
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

/// Path of the embedded default model, or empty when it is not found next to the executable,
/// in the source tree, or in the installed data directory.
std::string defaultModelPath();

/// Write an image as PNG atomically (temporary file then rename). Text chunks are embedded as
/// tEXt (key -> value). Refuses to overwrite an existing file unless overwrite is true.
Result<void> writePng(const std::string &path, const Image &image,
                      const std::vector<std::pair<std::string, std::string>> &textChunks = {},
                      bool overwrite = false);
/// Read a PNG/JPEG/... as 8-bit RGB (or RGBA when keepAlpha and present).
Result<Image> readImage(const std::string &path, bool keepAlpha = false);
/// Read the tEXt/iTXt chunks of a PNG.
Result<std::vector<std::pair<std::string, std::string>>> readPngText(const std::string &path);

} // namespace ditstudio
