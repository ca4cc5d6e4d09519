// editImage: img2img (SDEdit), inpainting with optional RePaint resampling, DDIM inversion.
// Refs: Meng et al. 2021 (SDEdit); Lugmayr et al. 2022 (RePaint, Alg. 1 and its jump schedule);
// Song et al. 2021 (DDIM, sec. 4.3 inversion by running the ODE forward).
#include "ditstudio/editing.h"

#include "common/errors.h"
#include "core/tensor_image.h"
#include "diffusion/guidance.h"
#include "diffusion/samplers.h"
#include "editing/editor_internal.h"
#include "editing/image_prep.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <map>

namespace ditstudio {

namespace editing {

namespace {

Conditioning checkedConditioning(const PromptParser &parsePrompt, const std::optional<Conditioning> &given,
                                 const std::string &prompt, int numClasses, const char *what)
{
    if (given) {
        if (given->classes.empty())
            fail(ErrorCode::InvalidArgument, std::string(what) + ": conditioning has no class");
        for (const auto &c : given->classes)
            if (c.classId < 0 || c.classId >= numClasses)
                fail(ErrorCode::InvalidArgument,
                     std::string(what) + ": class " + std::to_string(c.classId) + " is out of range 0.."
                         + std::to_string(numClasses - 1));
        return *given;
    }
    auto match = parsePrompt(prompt);
    if (!match.ok())
        throw DitException(match.error().code, std::string(what) + ": " + match.error().message);
    for (const auto &w : match->warnings)
        spdlog::warn("{}", w);
    return match->conditioning;
}

} // namespace

EditContext::EditContext(LoadedModel model, PromptParser parsePrompt)
    : m_model(std::move(model)), m_parsePrompt(std::move(parsePrompt))
{
    const auto &cfg = m_model.info.config;
    m_latentChannels = cfg.inChannels;
    m_latentSize = cfg.inputSize;
    if (m_model.info.latentSpace) {
        if (!m_model.encode)
            fail(ErrorCode::Unsupported,
                 "editing a latent-space model needs its VAE: load the model with a VAE "
                 "(LoadOptions::vaePath / --vae)");
        m_pixelSize = cfg.inputSize * m_model.downsample;
        m_pixelChannels = 3;
    } else {
        m_pixelSize = cfg.inputSize;
        m_pixelChannels = cfg.inChannels;
    }
}

bool EditContext::latentSpace() const
{
    return m_model.info.latentSpace;
}

VarianceType EditContext::varianceType() const
{
    return m_model.info.config.learnSigma ? VarianceType::LearnedRange : VarianceType::FixedLarge;
}

torch::Tensor EditContext::encode(const Image &pixels) const
{
    const auto x = imageToTensor(pixels).to(m_model.device); // [1, C, H, W] in [-1, 1]
    if (!latentSpace())
        return x.to(torch::kFloat32);
    return m_model.encode(x);
}

Image EditContext::decode(const torch::Tensor &x) const
{
    torch::Tensor img = latentSpace() ? m_model.decode(x) : x;
    return tensorToImages(img.to(torch::kCPU, torch::kFloat32)).at(0);
}

std::vector<Image> EditContext::previews(const torch::Tensor &x) const
{
    if (latentSpace())
        return tensorToImages(latentToRgbPreview(x.to(torch::kCPU, torch::kFloat32)));
    return tensorToImages(x.to(torch::kCPU, torch::kFloat32));
}

Conditioning EditContext::conditioning(const std::optional<Conditioning> &given, const std::string &prompt,
                                       const char *what) const
{
    return checkedConditioning(m_parsePrompt, given, prompt, m_model.info.config.numClasses, what);
}

ModelFn EditContext::modelFn(const Conditioning &cond, const GenerateRequest &g, bool guided) const
{
    const auto &cfg = m_model.info.config;
    const bool cfgOn = guided && g.cfgScale != 1.0;
    const int rows = cfgOn ? 2 : 1;
    ClassCondition cc;
    const auto dev = m_model.device;
    if (cond.classes.size() == 1) {
        std::vector<int64_t> labels {cond.classes[0].classId};
        if (cfgOn)
            labels.push_back(cfg.numClasses); // the null class
        cc.labels = torch::tensor(labels, torch::kLong).to(dev);
    } else {
        auto wts = torch::zeros({rows, cfg.numClasses + 1});
        for (const auto &cw : cond.classes)
            wts[0][cw.classId] += cw.weight;
        if (cfgOn)
            wts[1][cfg.numClasses] = 1.0;
        cc.weights = wts.to(dev);
    }
    GuidanceOptions go;
    go.scale = g.cfgScale;
    go.channels = g.guidedChannels;
    go.from = g.guidanceFrom;
    go.to = g.guidanceTo;
    DiT model = m_model.model;
    const auto dtype = m_model.dtype;
    return [model, cc, go, cfgOn, dtype](const torch::Tensor &x, const torch::Tensor &t) mutable {
        torch::Tensor out
            = cfgOn ? guidedForward(*model, x.to(dtype), t, cc, go) : model->forward(x.to(dtype), t, cc);
        return out.to(torch::kFloat32);
    };
}

namespace {

void validate(const EditRequest &r)
{
    const auto &g = r.generate;
    if (r.strength < 0 || r.strength > 1 || std::isnan(r.strength))
        fail(ErrorCode::InvalidArgument, "strength must be in [0, 1], got " + std::to_string(r.strength));
    if (g.batch != 1)
        fail(ErrorCode::InvalidArgument, "editing works on one image at a time (batch must be 1)");
    if (g.steps < 1 || g.steps > 1000)
        fail(ErrorCode::InvalidArgument, "steps must be between 1 and 1000, got " + std::to_string(g.steps));
    if (g.cfgScale < 0 || g.cfgScale > 100)
        fail(ErrorCode::InvalidArgument, "guidance scale must be in [0, 100]");
    if (g.guidanceFrom < 0 || g.guidanceTo > 1 || g.guidanceFrom > g.guidanceTo)
        fail(ErrorCode::InvalidArgument, "guidance interval must satisfy 0 <= from <= to <= 1");
    if (r.featherPixels < 0 || r.featherPixels > 100)
        fail(ErrorCode::InvalidArgument,
             "feather must be in [0, 100] pixels, got " + std::to_string(r.featherPixels));
    if (r.repaintResample < 1 || r.repaintResample > 100)
        fail(ErrorCode::InvalidArgument,
             "RePaint resample count must be in [1, 100], got " + std::to_string(r.repaintResample));
    if (r.repaintResample > 1 && (r.repaintJump < 1 || r.repaintJump > 1000))
        fail(ErrorCode::InvalidArgument,
             "RePaint jump length must be in [1, 1000], got " + std::to_string(r.repaintJump));
    if (r.repaintResample > 1 && g.sampler != SamplerKind::Ddpm && g.sampler != SamplerKind::Ddim)
        fail(ErrorCode::InvalidArgument,
             "RePaint resampling needs the ddpm or ddim sampler, not " + std::string(samplerName(g.sampler)));
    if (r.inversionFixedPoint < 0 || r.inversionFixedPoint > 20)
        fail(ErrorCode::InvalidArgument,
             "inversion fixed-point iterations must be in [0, 20], got "
                 + std::to_string(r.inversionFixedPoint));
    if (r.mode == EditMode::Invert && (r.inversionSteps < 1 || r.inversionSteps > 1000))
        fail(ErrorCode::InvalidArgument,
             "inversion steps must be between 1 and 1000, got " + std::to_string(r.inversionSteps));
    if (r.mode != EditMode::Inpaint && (!r.mask.empty() || r.outpaint.any()))
        fail(ErrorCode::InvalidArgument,
             "a mask or outpaint padding is only used by inpaint, not " + std::string(editModeName(r.mode)));
}

/// RePaint's time schedule over state indices (Lugmayr et al. 2022, get_schedule_jump): states
/// top .. -1 (-1 = clean); every jump-th state is revisited resample - 1 times by going back jump.
std::vector<int> repaintSchedule(int top, int jump, int resample)
{
    std::map<int, int> jumps;
    for (int t = 0; t < top + 1 - jump; t += jump)
        jumps[t] = resample - 1;
    std::vector<int> ts;
    int t = top + 1;
    while (t >= 1) {
        --t;
        ts.push_back(t);
        if (auto it = jumps.find(t); it != jumps.end() && it->second > 0) {
            --it->second;
            for (int k = 0; k < jump; ++k)
                ts.push_back(++t);
        }
    }
    ts.push_back(-1);
    return ts;
}

} // namespace

std::vector<int> repaintScheduleForTest(int top, int jump, int resample)
{
    return repaintSchedule(top, jump, resample);
}

EditResult runEdit(EditContext &ctx, const EditRequest &request, const GenerateObserver &observer,
                   const CancelToken &cancel)
{
    validate(request);
    torch::InferenceMode inferenceMode; // thread-local: on the calling (worker) thread
    const auto start = std::chrono::steady_clock::now();
    const auto &g = request.generate;
    const int size = ctx.pixelSize();
    const auto dev = ctx.device();

    // Input (and mask) to the model's size.
    Image source = request.image;
    Image fullMask;
    if (request.mode == EditMode::Inpaint) {
        fullMask = buildMask(source, request.mask, request.outpaint);
        source = padImage(source, request.outpaint);
    }
    EditResult result;
    result.before = fitToModel(source, size, ctx.pixelChannels());
    result.conditioning = ctx.conditioning(g.conditioning, g.prompt, "prompt");
    const torch::Tensor x0 = ctx.encode(result.before); // [1, C, h, w]
    const auto shape = x0.sizes().vec();

    auto gen = at::detail::createCPUGenerator(g.seed);
    auto randnLike = [&](const torch::Tensor &like) {
        return at::randn(like.sizes(), gen, torch::TensorOptions().dtype(torch::kFloat32)).to(like.device());
    };
    torch::Tensor noise;
    if (g.initNoise) {
        noise = fromHost(*g.initNoise);
        if (noise.sizes().vec() != shape)
            fail(ErrorCode::ShapeMismatch,
                 "initial noise must have the model's shape [1, " + std::to_string(shape[1]) + ", "
                     + std::to_string(shape[2]) + ", " + std::to_string(shape[3]) + "]");
        noise = noise.to(dev);
    } else {
        noise = randnLike(x0);
    }

    const bool cfgOn = g.cfgScale != 1.0;
    auto widen = [&](const torch::Tensor &x) { return cfgOn ? torch::cat({x, x}, 0) : x; };
    int phaseOffset = 0; // steps done in an earlier phase (inversion), for progress
    auto makeOnStep = [&](int firstIndex) {
        return [&, firstIndex](const SamplerStep &s) {
            if (observer.onStep) {
                StepUpdate u;
                u.step = phaseOffset + s.index - firstIndex;
                u.totalSteps = result.totalSteps;
                u.timestep = s.timestep;
                u.sigma = s.sigma;
                u.elapsedSeconds
                    = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
                const auto xt = s.xt.narrow(0, 0, 1), px0 = s.x0.narrow(0, 0, 1);
                if (g.wantPreviews) {
                    u.previewXt = ctx.previews(xt);
                    u.previewX0 = ctx.previews(px0);
                }
                if (g.wantStepTensors) {
                    u.xt = toHost(xt.to(torch::kCPU));
                    u.x0 = toHost(px0.to(torch::kCPU));
                }
                observer.onStep(u);
            }
            return !cancel.isCancelled();
        };
    };
    auto finish = [&](const torch::Tensor &x, bool cancelled) {
        const auto final = x.narrow(0, 0, 1).to(torch::kCPU, torch::kFloat32);
        result.latent = toHost(final);
        result.image = ctx.decode(final.to(dev));
        result.status = cancelled ? JobStatus::Cancelled : JobStatus::Completed;
        result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    };

    SamplerOptions so;
    so.kind = g.sampler;
    so.steps = g.steps;
    so.eta = g.eta;
    so.karras = g.karrasSigmas;
    so.varianceType = ctx.varianceType();

    if (request.mode == EditMode::Invert) {
        const Conditioning source = (request.sourceConditioning || !request.sourcePrompt.empty())
            ? ctx.conditioning(request.sourceConditioning, request.sourcePrompt, "source prompt")
            : result.conditioning;
        const int n = request.inversionSteps;
        result.totalSteps = 2 * n;
        // Inversion without guidance: the DDIM ODE of the conditional model, run forward.
        const auto inv = ddimInvertForSampler(n, ctx.modelFn(source, g, false), x0, makeOnStep(0),
                                              so.varianceType, request.inversionFixedPoint);
        result.stepsDone = inv.stepsDone;
        result.noise = toHost(inv.x.to(torch::kCPU));
        if (inv.cancelled) {
            finish(inv.x, true);
            return result;
        }
        phaseOffset = n;
        SamplerOptions regen = so;
        regen.kind = SamplerKind::Ddim;
        regen.eta = 0;
        regen.steps = n;
        const auto out = runSampler(
            regen, ctx.modelFn(result.conditioning, g, true), widen(inv.x),
            [&](int, const torch::Tensor &like) { return torch::zeros_like(like); }, makeOnStep(0));
        result.stepsDone += out.stepsDone;
        finish(out.x, out.cancelled);
        return result;
    }

    // img2img and inpaint: SDEdit start at the respaced step closest to strength x steps.
    const auto abars = samplerAlphaBars(so);
    const int run = static_cast<int>(std::lround(request.strength * g.steps));
    so.startStep = g.steps - run;
    result.totalSteps = run;
    if (run == 0) {
        // Nothing to denoise: the (preprocessed) input itself, bit for bit.
        result.image = result.before;
        result.latent = toHost(x0.to(torch::kCPU));
        if (request.mode == EditMode::Inpaint)
            result.mask = fitMaskToModel(fullMask, size);
        result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        return result;
    }
    const double a0 = abars[so.startStep];
    const torch::Tensor xStart = std::sqrt(a0) * x0 + std::sqrt(1 - a0) * noise;
    const ModelFn model = ctx.modelFn(result.conditioning, g, true);
    const NoiseFn stepNoise = [&](int, const torch::Tensor &like) { return randnLike(like); };

    if (request.mode == EditMode::Img2Img) {
        const auto out = runSampler(so, model, widen(xStart), stepNoise, makeOnStep(so.startStep));
        result.stepsDone = out.stepsDone - so.startStep;
        finish(out.x, out.cancelled);
        return result;
    }

    // Inpaint. The mask at model pixels, then at model resolution: a latent cell is regenerated when
    // any of its pixels is (max pooling), so the known latents never carry masked content.
    const Image pixMask = fitMaskToModel(fullMask, size);
    torch::Tensor m = imageToTensor(pixMask).add(1).div(2).to(dev); // [1, 1, H, W], 1 = regenerate
    if (ctx.latentSpace()) {
        const int f = size / static_cast<int>(shape[2]);
        m = torch::max_pool2d(m, {f, f}, {f, f});
    }
    m = (m > 0.5).to(torch::kFloat32);
    // Known region at the level of the state after a step: q_sample with fresh noise (RePaint eq. 8).
    auto known = [&](double abar, const torch::Tensor &like) {
        return std::sqrt(abar) * x0 + std::sqrt(1 - abar) * randnLike(like);
    };
    auto merge = [&](const torch::Tensor &x, double abar) { return m * x + (1 - m) * known(abar, x); };

    torch::Tensor finalX;
    bool cancelled = false;
    if (request.repaintResample <= 1) {
        so.afterStep = [&](int step, const torch::Tensor &x) { return merge(x, abars[step + 1]); };
        const auto out = runSampler(so, model, widen(merge(xStart, a0)), stepNoise, makeOnStep(so.startStep));
        result.stepsDone = out.stepsDone - so.startStep;
        finalX = out.x;
        cancelled = out.cancelled;
    } else {
        // RePaint: walk the jump schedule over state indices; a step down denoises, a step up
        // re-noises with q(x_{t+1} | x_t) (Lugmayr et al. 2022, Alg. 1).
        const auto diffusion = GaussianDiffusion::respaced(std::to_string(g.steps), so.varianceType);
        const int n = diffusion.numSteps();
        const auto &ac = diffusion.alphasCumprod();
        auto abarOf = [&](int state) { return state >= 0 ? ac[state] : 1.0; };
        const int top = n - 1 - so.startStep;
        const auto ts = repaintSchedule(top, request.repaintJump, request.repaintResample);
        int downs = 0;
        for (size_t i = 1; i < ts.size(); ++i)
            downs += ts[i] < ts[i - 1];
        result.totalSteps = downs;
        auto onStep = makeOnStep(0);
        torch::Tensor x = widen(merge(xStart, a0));
        int done = 0;
        for (size_t i = 1; i < ts.size() && !cancelled; ++i) {
            const int from = ts[i - 1], to = ts[i];
            if (to < from) {
                const auto st = discreteStep(diffusion, so, model, x, from, randnLike(x));
                x = merge(st.x, abarOf(to));
                const double a = ac[from];
                SamplerStep info {
                    done, downs, static_cast<double>(diffusion.timestepMap()[from]), std::sqrt((1 - a) / a),
                    x,    st.x0};
                ++done;
                cancelled = !onStep(info) && done < downs;
            } else {
                const double ratio = abarOf(to) / abarOf(from); // alpha of the jump step
                x = std::sqrt(ratio) * x + std::sqrt(1 - ratio) * randnLike(x);
            }
        }
        result.stepsDone = done;
        finalX = x;
    }
    finish(finalX, cancelled);
    // Composite in pixel space: kept pixels from the input, a feathered blend inside the mask.
    result.mask = featherWeights(pixMask, request.featherPixels);
    result.image = composite(result.before, result.image, result.mask);
    return result;
}

Result<EditCanvas> editCanvas(const LoadedModel &model)
{
    return guarded("edit", [&]() -> EditCanvas {
        EditContext ctx(model, {});
        return EditCanvas {ctx.pixelSize(), ctx.pixelChannels()};
    });
}

Result<EditResult> editImage(const LoadedModel &model, const PromptParser &parsePrompt,
                             const EditRequest &request, const GenerateObserver &observer,
                             const CancelToken &cancel)
{
    return guarded(std::string("edit ") + editModeName(request.mode), [&]() -> EditResult {
        EditContext ctx(model, parsePrompt);
        auto result = runEdit(ctx, request, observer, cancel);
        spdlog::info("{} of '{}' in {:.2f} s ({} steps){}", editModeName(request.mode),
                     result.conditioning.describe(ctx.classNames()), result.seconds, result.stepsDone,
                     result.status == JobStatus::Cancelled ? " - cancelled" : "");
        return result;
    });
}

} // namespace editing

} // namespace ditstudio
