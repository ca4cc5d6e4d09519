// The Engine behind the public API: model loading, prompt matching, seeded sampling, previews.
#include "ditstudio/engine.h"

#include "common/errors.h"
#include "core/platform.h"
#include "core/tensor_image.h"
#include "core/torch_types.h"
#include "diffusion/finite_watch.h"
#include "diffusion/guidance.h"
#include "diffusion/preview_projection.h"
#include "diffusion/probe_recorder.h"
#include "diffusion/samplers.h"
#include "diffusion/seeded_noise.h"
#include "ditstudio/class_names.h"
#include "ditstudio/runtime.h"
#include "model/model_loader.h"
#include "model/vae.h"
#include "model/vae_loader.h"
#include "pipeline/engine_internals.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>

namespace ditstudio {

namespace fs = std::filesystem;

std::string defaultModelPath()
{
    const fs::path exeDir = platform::executableDir();
    std::vector<fs::path> candidates;
    if (const char *env = std::getenv("DITSTUDIO_DEFAULT_MODEL"); env && *env)
        candidates.emplace_back(env);
    const fs::path rel = fs::path("models") / "ditstudio-fmnist.safetensors";
    if (!exeDir.empty()) {
        candidates.push_back(exeDir / "resources" / rel);
        candidates.push_back(exeDir.parent_path() / "share" / "ditstudio" / rel);
        candidates.push_back(exeDir.parent_path() / "Resources" / rel); // macOS bundle
    }
#ifdef DITSTUDIO_DATA_INSTALL_DIR
    candidates.push_back(fs::path(DITSTUDIO_DATA_INSTALL_DIR) / rel);
#endif
#ifdef DITSTUDIO_SOURCE_DIR
    candidates.push_back(fs::path(DITSTUDIO_SOURCE_DIR) / "resources" / rel);
#endif
    std::error_code ec;
    for (const auto &c : candidates)
        if (fs::is_regular_file(c, ec))
            return c.string();
    return {};
}

struct Engine::Impl {
    std::optional<DiT> model;
    CheckpointInfo info;
    torch::Device device {torch::kCPU};
    torch::ScalarType dtype = torch::kFloat32;
    std::optional<AutoencoderKL> vae; ///< with LoadOptions::vaePath (latent models only)
    VaeCheckpointInfo vaeInfo;
    PreviewProjection preview; ///< fitted to `vae`; matrix undefined without a VAE

    /// RGB previews of model-space tensors [B, C, H, W]: pixel models show the tensor itself; latent
    /// models the linear projection (fitted to the VAE, else the fixed SD matrix in tensorToImages).
    std::vector<Image> previewImages(const torch::Tensor &x) const
    {
        if (info.latentSpace && preview.matrix.defined())
            return tensorToImages(latentToRgbPreview(x, preview.matrix));
        return tensorToImages(x);
    }

    /// Full VAE decode of diffusion latents [B, C, h, w], one item at a time, tiled when an untiled
    /// decode would exceed the memory cap (peak memory then depends on the tile, not the image).
    std::vector<Image> decodeImages(const torch::Tensor &latents) const
    {
        constexpr std::int64_t kDecodeCapBytes = 4LL << 30;
        AutoencoderKL v = *vae; // a holder copy shares the module (the holder's operator-> is const-correct)
        std::vector<Image> out;
        for (int64_t i = 0; i < latents.size(0); ++i) {
            const auto z = latents.narrow(0, i, 1).to(device, dtype);
            const auto tiling
                = vaeTilingForDecode(v->config(), 1, z.size(2), z.size(3),
                                     static_cast<std::int64_t>(c10::elementSize(dtype)), kDecodeCapBytes);
            auto images = tensorToImages(v->decodeLatents(z, tiling).to(torch::kFloat32));
            out.push_back(std::move(images.at(0)));
        }
        return out;
    }
};

Engine::Engine() : m_impl(std::make_unique<Impl>()) { }
Engine::~Engine() = default;

bool Engine::hasModel() const
{
    return m_impl->model.has_value();
}
const CheckpointInfo &Engine::modelInfo() const
{
    return m_impl->info;
}
std::vector<std::string> Engine::classNames() const
{
    return m_impl->info.classNames;
}

std::optional<Engine::VaeSummary> Engine::vaeSummary() const
{
    if (!m_impl->vae)
        return std::nullopt;
    const auto &i = m_impl->vaeInfo;
    VaeSummary s;
    s.path = i.path;
    s.layout = i.layout;
    s.architecture = i.config.describe();
    s.latentChannels = i.config.latentChannels;
    s.downsampleFactor = i.config.downsampleFactor();
    s.scalingFactor = i.config.scalingFactor;
    s.previewKey = m_impl->preview.key;
    s.previewRmse = m_impl->preview.heldOutRmse;
    s.previewPsnr = m_impl->preview.heldOutPsnr;
    s.previewFromCache = m_impl->preview.fromCache;
    return s;
}

Result<CheckpointInfo> Engine::loadModel(const std::string &path, const LoadOptions &options)
{
    return guarded("loading " + path, [&]() -> CheckpointInfo {
        const torch::Device device = toTorchDevice(options.device);
        const auto dtype = toTorchDType(options.dtype);
        if (dtype == torch::kFloat16 && device.is_cpu())
            fail(ErrorCode::Unsupported, "fp16 inference needs a CUDA device; use fp32 or bf16 on the CPU");
        const auto start = std::chrono::steady_clock::now();
        auto checkpoint = readDiTCheckpoint(path);
        if (!options.labelsPath.empty()) {
            std::ifstream in(options.labelsPath);
            if (!in)
                fail(ErrorCode::NotFound, options.labelsPath + ": cannot open the labels file");
            std::stringstream ss;
            ss << in.rdbuf();
            auto names = parseLabelsText(ss.str());
            if (static_cast<int>(names.size()) != checkpoint.info.config.numClasses)
                fail(ErrorCode::InvalidArgument,
                     options.labelsPath + ": " + std::to_string(names.size())
                         + " class names for a model with "
                         + std::to_string(checkpoint.info.config.numClasses) + " classes");
            checkpoint.info.classNames = names;
        }
        auto model = buildDiT(checkpoint, device, dtype);
        model->fp32Residual = !options.lowPrecisionResidual;
        // The VAE is loaded before anything is replaced, so a bad VAE leaves the engine as it was.
        std::optional<AutoencoderKL> vae;
        VaeCheckpointInfo vaeInfo;
        PreviewProjection preview;
        if (!options.vaePath.empty()) {
            const auto &cfg = checkpoint.info.config;
            if (!checkpoint.info.latentSpace)
                fail(ErrorCode::InvalidArgument,
                     "VAE " + options.vaePath + ": " + path + " is a pixel-space model ("
                         + std::to_string(cfg.inChannels)
                         + " image channels); it makes images directly and takes no VAE - load it without "
                           "one");
            LoadedVae loadedVae;
            try {
                loadedVae = readVaeCheckpoint(options.vaePath);
            } catch (const DitException &e) {
                fail(e.code(), std::string("VAE ") + e.what());
            }
            const int zc = loadedVae.info.config.latentChannels;
            if (zc != cfg.inChannels)
                fail(ErrorCode::ShapeMismatch,
                     "VAE " + options.vaePath + " has " + std::to_string(zc)
                         + " latent channels but the model " + path + " samples latents with "
                         + std::to_string(cfg.inChannels) + " channels (in_channels)");
            vae = buildVae(loadedVae, device, dtype);
            vaeInfo = loadedVae.info;
            const fs::path cacheDir
                = options.cacheDir.empty() ? defaultPreviewCacheDir() : fs::path(options.cacheDir);
            preview = loadOrFitPreviewProjection(*vae, cacheDir);
            spdlog::info("VAE {} ({}, {} layout, scaling factor {}); preview projection {}: {}", vaeInfo.path,
                         vaeInfo.config.describe(), vaeInfo.layout, vaeInfo.config.scalingFactor,
                         preview.fromCache ? "from the cache"
                                           : "fitted in " + std::to_string(preview.fitSeconds) + " s",
                         preview.summary());
        } else if (checkpoint.info.latentSpace) {
            spdlog::info("{} is a latent model loaded without a VAE: images are latent-resolution previews "
                         "(pass a VAE to decode them)",
                         path);
        }
        m_impl->vae = std::move(vae);
        m_impl->vaeInfo = std::move(vaeInfo);
        m_impl->preview = std::move(preview);
        m_impl->model = model;
        m_impl->info = checkpoint.info;
        m_impl->device = device;
        m_impl->dtype = dtype;
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        spdlog::info("loaded {} ({}, {} parameters, {}) on {} in {:.2f} s", path,
                     checkpoint.info.config.name(), checkpoint.info.parameterCount, checkpoint.info.format,
                     device.str(), secs);
        return checkpoint.info;
    });
}

Result<CheckpointInfo> Engine::loadDefaultModel(const LoadOptions &options)
{
    const std::string path = defaultModelPath();
    if (path.empty())
        return makeError(ErrorCode::NotFound,
                         "the embedded default model (resources/models/ditstudio-fmnist"
                         ".safetensors) was not found next to the program or in its data folder");
    return loadModel(path, options);
}

Result<PromptMatch> Engine::parsePrompt(const std::string &prompt) const
{
    if (!hasModel())
        return makeError(ErrorCode::InvalidArgument, "no model loaded");
    return matchPrompt(prompt, m_impl->info.classNames, m_impl->info.config.numClasses);
}

Result<GenerateResult> Engine::generate(const GenerateRequest &request, const GenerateObserver &observer,
                                        const CancelToken &cancel)
{
    return guarded("generate", [&]() -> GenerateResult {
        if (!hasModel())
            fail(ErrorCode::InvalidArgument, "no model loaded");
        {
            // Refuse a request that cannot fit before any allocation, with the estimate.
            const DiTConfig &c = m_impl->info.config;
            const std::int64_t rowsWanted
                = static_cast<std::int64_t>(std::max(1, request.batch)) * (request.cfgScale != 1.0 ? 2 : 1);
            const std::int64_t need
                = c.peakActivationBytes(rowsWanted, static_cast<int>(c10::elementSize(m_impl->dtype)));
            std::uint64_t available = platform::availableMemoryBytes();
            if (const char *cap = std::getenv("DITSTUDIO_MEMORY_LIMIT_BYTES"); cap && *cap)
                available = available ? std::min<std::uint64_t>(available, std::strtoull(cap, nullptr, 10))
                                      : std::strtoull(cap, nullptr, 10);
            auto gb = [](double bytes) {
                char buf[32];
                std::snprintf(buf, sizeof buf, "%.2f GB", bytes / 1e9);
                return std::string(buf);
            };
            if (available > 0 && need > 0 && static_cast<std::uint64_t>(need) > available)
                fail(ErrorCode::OutOfMemory,
                     "batch " + std::to_string(request.batch) + " of " + c.name() + " needs about " + gb(need)
                         + " of activations for one model call (" + std::to_string(rowsWanted)
                         + " rows with guidance), but " + gb(static_cast<double>(available))
                         + " of memory are available; lower the batch (or the image size)");
            if (request.batch < 1 || request.batch > 256)
                fail(ErrorCode::InvalidArgument,
                     "batch must be between 1 and 256, got " + std::to_string(request.batch) + " (about "
                         + gb(need) + " of activations per model call)");
        }
        if (request.cfgScale < 0 || request.cfgScale > 100)
            fail(ErrorCode::InvalidArgument, "guidance scale must be in [0, 100]");
        if (request.guidanceFrom < 0 || request.guidanceTo > 1 || request.guidanceFrom > request.guidanceTo)
            fail(ErrorCode::InvalidArgument, "guidance interval must satisfy 0 <= from <= to <= 1");
        if (request.cacheInterval < 1 || request.cacheInterval > 8)
            fail(ErrorCode::InvalidArgument,
                 "cacheInterval must be in 1..8 (1 = no step caching), got "
                     + std::to_string(request.cacheInterval));
        if (!(request.cacheThreshold >= 0 && request.cacheThreshold <= 10))
            fail(ErrorCode::InvalidArgument,
                 "cacheThreshold must be in [0, 10] (0 = off), got "
                     + std::to_string(request.cacheThreshold));
        if (request.cacheThreshold > 0 && request.cacheInterval > 1)
            fail(ErrorCode::InvalidArgument,
                 "choose one kind of step caching: cacheInterval (every N calls) or cacheThreshold "
                 "(adaptive)");
        if ((request.cacheInterval > 1 || request.cacheThreshold > 0)
            && (request.probes.any() || request.interventions.any()))
            fail(ErrorCode::InvalidArgument,
                 "step caching (cacheInterval > 1) cannot be combined with probes or interventions: "
                 "they look inside blocks that a cached call does not run");
        if (request.vaePreviewEvery < 0)
            fail(ErrorCode::InvalidArgument,
                 "vaePreviewEvery must be >= 0 (0 turns full-decode previews off)");
        torch::InferenceMode inferenceMode; // thread-local: created on the calling (worker) thread
        auto &model = *m_impl->model;
        const DiTConfig &cfg = m_impl->info.config;
        const int b = request.batch;
        const auto start = std::chrono::steady_clock::now();

        // Conditioning per image: itemConditioning, else one conditioning (explicit or from the prompt) for
        // all.
        std::vector<Conditioning> itemConds;
        if (!request.itemConditioning.empty()) {
            if (static_cast<int>(request.itemConditioning.size()) != b)
                fail(ErrorCode::InvalidArgument,
                     "itemConditioning has " + std::to_string(request.itemConditioning.size())
                         + " entries for a batch of " + std::to_string(b));
            itemConds = request.itemConditioning;
        } else if (request.conditioning) {
            itemConds.assign(b, *request.conditioning);
        } else {
            auto match = parsePrompt(request.prompt);
            if (!match.ok())
                throw DitException(match.error().code, match.error().message);
            for (const auto &w : match->warnings)
                spdlog::warn("{}", w);
            itemConds.assign(b, match->conditioning);
        }
        for (const auto &ic : itemConds) {
            if (ic.classes.empty())
                fail(ErrorCode::InvalidArgument, "conditioning has no class");
            for (const auto &c : ic.classes)
                if (c.classId < 0 || c.classId >= cfg.numClasses)
                    fail(ErrorCode::InvalidArgument,
                         "class " + std::to_string(c.classId) + " is out of range 0.."
                             + std::to_string(cfg.numClasses - 1));
        }
        const Conditioning &cond = itemConds.front();

        // Starting and step noise: one CPU generator per image, seeded seed + i (seeded_noise.h).
        const int64_t c = cfg.inChannels, h = cfg.inputSize, w = cfg.inputSize;
        SeededNoise seeded(request.seed, b, c, h);
        const auto cpuF = torch::TensorOptions().dtype(torch::kFloat32);
        torch::Tensor z;
        if (request.initNoise) {
            z = fromHost(*request.initNoise);
            if (z.dim() != 4 || z.size(0) != b || z.size(1) != c || z.size(2) != h || z.size(3) != w)
                fail(ErrorCode::ShapeMismatch,
                     "initial noise must have shape [" + std::to_string(b) + ", " + std::to_string(c) + ", "
                         + std::to_string(h) + ", " + std::to_string(w) + "]");
        } else {
            z = seeded.initial();
        }
        const bool cfgOn = request.cfgScale != 1.0;
        const int rows = cfgOn ? 2 * b : b;

        // Conditioning rows: labels when every image is one class, else mixing weights.
        ClassCondition cc;
        const bool single = std::all_of(itemConds.begin(), itemConds.end(),
                                        [](const Conditioning &ic) { return ic.classes.size() == 1; });
        const auto dev = m_impl->device;
        if (single) {
            std::vector<int64_t> labels;
            for (const auto &ic : itemConds)
                labels.push_back(ic.classes[0].classId);
            if (cfgOn)
                labels.insert(labels.end(), b, cfg.numClasses); // null class
            cc.labels = torch::tensor(labels, torch::kLong).to(dev);
        } else {
            auto wts = torch::zeros({rows, cfg.numClasses + 1}, cpuF);
            for (int i = 0; i < b; ++i)
                for (const auto &cw : itemConds[i].classes)
                    wts[i][cw.classId] += cw.weight;
            for (int i = b; i < rows; ++i)
                wts[i][cfg.numClasses] = 1.0;
            cc.weights = wts.to(dev);
        }
        GuidanceOptions go;
        go.scale = request.cfgScale;
        go.channels = request.guidedChannels;
        go.from = request.guidanceFrom;
        go.to = request.guidanceTo;

        const auto dtype = m_impl->dtype;
        // Probes and interventions (probes.h): the first model call of each step is probed.
        StepProbeRecorder recorder(request.probes, cfg, rows, observer.onStep != nullptr);
        std::optional<DiTInterventions> interventions;
        if (request.interventions.any())
            interventions = DiTInterventions::resolve(request.interventions, cfg);
        long long modelCalls = 0;
        ModelFn modelFn = [&](const torch::Tensor &x, const torch::Tensor &t) {
            ++modelCalls;
            DiTTrace *trace = recorder.traceForCall();
            DiTTrace interventionsOnly;
            if (interventions) {
                if (!trace) {
                    interventionsOnly.keepBlockOut = false;
                    trace = &interventionsOnly;
                }
                trace->interventions = &*interventions;
            }
            torch::Tensor out = cfgOn
                ? guidedForward(*model, x.to(dtype), t, cc, go, trace, recorder.guidanceSlot())
                : model->forward(x.to(dtype), t, cc, trace);
            return out.to(torch::kFloat32);
        };
        NoiseFn noiseFn = [&](int, const torch::Tensor &like) { return seeded.step(cfgOn, like.device()); };

        GenerateResult result;
        result.conditioning = itemConds;
        for (int i = 0; i < b; ++i)
            result.seeds.push_back(request.seed + static_cast<std::uint64_t>(i));

        // NaN or Inf stops the run naming the step; on a GPU without a sync per step (finite_watch.h).
        FiniteWatch finite;
        const bool stepsSync = observer.onStep
            && (request.wantPreviews || request.wantStepTensors || request.vaePreviewEvery > 0
                || request.probes.any());
        StepFn onStep = [&](const SamplerStep &s) {
            finite.observe(s.index, s.total, s.timestep, s.x0, s.xt, dev.is_cpu() || stepsSync);
            if (observer.onStep) {
                StepUpdate u;
                u.step = s.index;
                u.totalSteps = s.total;
                u.timestep = s.timestep;
                u.sigma = s.sigma;
                u.elapsedSeconds
                    = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
                const auto xt = s.xt.narrow(0, 0, b), x0 = s.x0.narrow(0, 0, b);
                if (request.wantPreviews) {
                    u.previewXt = m_impl->previewImages(xt);
                    u.previewX0 = m_impl->previewImages(x0);
                }
                const int every = request.vaePreviewEvery;
                if (every > 0 && m_impl->vae && ((s.index + 1) % every == 0 || s.index + 1 == s.total))
                    u.decodedX0 = m_impl->decodeImages(x0);
                if (request.wantStepTensors) {
                    u.xt = toHost(xt);
                    u.x0 = toHost(x0);
                }
                u.probes = recorder.takeStep(x0);
                observer.onStep(u);
            }
            return !cancel.isCancelled();
        };

        SamplerOptions so;
        so.kind = request.sampler;
        so.steps = request.steps;
        so.eta = request.eta;
        so.karras = request.karrasSigmas;
        so.varianceType = cfg.learnSigma ? VarianceType::LearnedRange : VarianceType::FixedLarge;
        torch::Tensor xT = (cfgOn ? torch::cat({z, z}, 0) : z).to(dev);
        // Fast mode: the model keeps block outputs for the length of this run only.
        StepCache stepCache;
        stepCache.interval = request.cacheInterval;
        stepCache.threshold = request.cacheThreshold;
        struct CacheScope {
            DiTImpl &m;
            ~CacheScope() { m.stepCache = nullptr; }
        } cacheScope {*model};
        if (stepCache.active())
            model->stepCache = &stepCache;
        const auto outcome = runSampler(so, modelFn, xT, noiseFn, onStep);
        model->stepCache = nullptr;
        finite.check();
        result.modelCalls = static_cast<int>(modelCalls);
        result.fullModelCalls = static_cast<int>(stepCache.active() ? stepCache.refreshes : modelCalls);
        if (stepCache.active())
            spdlog::info("step cache ({}): {} of {} model calls ran the blocks",
                         request.cacheThreshold > 0
                             ? "adaptive, threshold " + std::to_string(request.cacheThreshold)
                             : "every " + std::to_string(request.cacheInterval) + " calls",
                         stepCache.refreshes, stepCache.calls);
        result.stepsDone = outcome.stepsDone;
        result.status = outcome.cancelled ? JobStatus::Cancelled : JobStatus::Completed;
        const auto final = outcome.x.narrow(0, 0, b).to(torch::kCPU, torch::kFloat32);
        result.latent = toHost(final);
        result.images
            = m_impl->vae && !outcome.cancelled ? m_impl->decodeImages(final) : m_impl->previewImages(final);
        result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (outcome.cancelled)
            spdlog::info("cancelled '{}' after {} of {} steps ({:.2f} s, {}): no finished image",
                         cond.describe(m_impl->info.classNames), result.stepsDone, request.steps,
                         result.seconds, samplerName(request.sampler));
        else
            spdlog::info("generated {} image{} of '{}' in {:.2f} s ({} steps, {})", b, b == 1 ? "" : "s",
                         cond.describe(m_impl->info.classNames), result.seconds, result.stepsDone,
                         samplerName(request.sampler));
        return result;
    });
}

LoadedModel EngineInternals::of(Engine &engine)
{
    if (!engine.hasModel())
        fail(ErrorCode::InvalidArgument, "no model loaded");
    auto &impl = *engine.m_impl;
    LoadedModel v {*impl.model, impl.info, impl.device, impl.dtype, {}, {}, 1};
    if (impl.vae) {
        AutoencoderKL vae = *impl.vae;
        const auto dtype = impl.dtype;
        // Posterior mean: editing must be deterministic (strength 0 and inversion reproduce the input).
        v.encode = [vae, dtype](const torch::Tensor &x) mutable {
            return vae->encodeLatents(x.to(dtype), false).to(torch::kFloat32);
        };
        v.decode = [vae, dtype](const torch::Tensor &z) mutable {
            return vae->decodeLatents(z.to(dtype)).to(torch::kFloat32);
        };
        v.downsample = vae->config().downsampleFactor();
    }
    return v;
}

} // namespace ditstudio
