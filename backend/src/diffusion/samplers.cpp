#include "diffusion/samplers.h"

#include "common/errors.h"

#include <algorithm>
#include <cmath>

namespace ditstudio {

namespace {

const std::vector<double> &processSigmas()
{
    static const std::vector<double> sigmas = [] {
        const auto betas = linearBetas(1000);
        std::vector<double> ac(betas.size());
        double acc = 1.0;
        for (size_t i = 0; i < betas.size(); ++i) {
            acc *= 1.0 - betas[i];
            ac[i] = acc;
        }
        return sigmasOfProcess(ac);
    }();
    return sigmas;
}

torch::Tensor stepTensor(const torch::Tensor &x, double value)
{
    return torch::full({x.size(0)}, value, torch::TensorOptions().dtype(torch::kFloat32).device(x.device()));
}

// DDPM (p_sample_loop) and DDIM (ddim_sample_loop) over the respaced process.
SampleOutcome runDiscrete(const SamplerOptions &o, const ModelFn &model, const torch::Tensor &xT,
                          const NoiseFn &noise, const StepFn &onStep)
{
    const auto diffusion = GaussianDiffusion::respaced(std::to_string(o.steps), o.varianceType);
    const int n = diffusion.numSteps();
    const auto &map = diffusion.timestepMap();
    SampleOutcome out;
    out.stepsDone = o.startStep;
    torch::Tensor x = xT;
    for (int step = o.startStep; step < n; ++step) {
        const int j = n - 1 - step; // indices run T-1 .. 0
        const auto z = noise(step, x);
        auto st = discreteStep(diffusion, o, model, x, j, z);
        x = st.x;
        if (o.afterStep)
            x = o.afterStep(step, x);
        out.stepsDone = step + 1;
        const double ac = diffusion.alphasCumprod()[j];
        SamplerStep info {step, n, static_cast<double>(map[j]), std::sqrt((1 - ac) / ac), x, st.x0};
        if (onStep && !onStep(info)) {
            out.cancelled = step + 1 < n;
            break;
        }
    }
    out.x = x;
    return out;
}

// Sigma-space samplers. x here is the "variance-exploding" state x_t / sqrt(abar); the model is
// fed x / sqrt(1 + sigma^2) and its eps gives denoised = x - sigma * eps.
SampleOutcome runSigmaSpace(const SamplerOptions &o, const ModelFn &model, const torch::Tensor &xT,
                            const NoiseFn &noise, const StepFn &onStep)
{
    const auto sigmas = samplerSigmas(o.steps, o.karras);
    const int c = static_cast<int>(xT.size(1));
    auto denoise = [&](const torch::Tensor &x, double sigma) {
        const double t = sigmaToTimestep(sigma);
        const auto out = model(x / std::sqrt(1 + sigma * sigma), stepTensor(x, t));
        return x - sigma * out.narrow(1, 0, c);
    };
    SampleOutcome out;
    // Start so that the model's first input equals the VP state exactly.
    const int first = o.startStep;
    torch::Tensor x = xT * std::sqrt(1 + sigmas[first] * sigmas[first]);
    torch::Tensor oldDenoised;
    const int n = o.steps;
    out.stepsDone = first;
    for (int i = first; i < n; ++i) {
        const double s = sigmas[i], sNext = sigmas[i + 1];
        const auto denoised = denoise(x, s);
        if (o.kind == SamplerKind::Euler) {
            const auto d = (x - denoised) / s;
            x = x + d * (sNext - s);
        } else if (o.kind == SamplerKind::EulerAncestral) {
            // get_ancestral_step with eta = 1 (o.eta when given > 0)
            const double eta = o.eta > 0 ? o.eta : 1.0;
            const double sUp
                = std::min(sNext, eta * std::sqrt(sNext * sNext * (s * s - sNext * sNext) / (s * s)));
            const double sDown = std::sqrt(sNext * sNext - sUp * sUp);
            const auto d = (x - denoised) / s;
            x = x + d * (sDown - s);
            const auto z = noise(i, x);
            if (sNext > 0)
                x = x + z * sUp;
        } else if (o.kind == SamplerKind::Heun) {
            const auto d = (x - denoised) / s;
            const double dt = sNext - s;
            if (sNext == 0) {
                x = x + d * dt;
            } else {
                const auto x2 = x + d * dt;
                const auto denoised2 = denoise(x2, sNext);
                const auto d2 = (x2 - denoised2) / sNext;
                x = x + (d + d2) / 2 * dt;
            }
        } else { // DPM-Solver++(2M)
            auto tFn = [](double sg) { return -std::log(sg); };
            const double t = tFn(s);
            if (sNext == 0) {
                x = denoised;
            } else {
                const double tNext = tFn(sNext);
                const double h = tNext - t;
                torch::Tensor d = denoised;
                if (oldDenoised.defined()) {
                    const double hLast = t - tFn(sigmas[i - 1]);
                    const double r = hLast / h;
                    d = (1 + 1 / (2 * r)) * denoised - (1 / (2 * r)) * oldDenoised;
                }
                x = (sNext / s) * x - std::expm1(-h) * d;
            }
            oldDenoised = denoised;
        }
        if (o.afterStep) {
            const double scale = std::sqrt(1 + sNext * sNext);
            x = o.afterStep(i, x / scale) * scale;
        }
        out.stepsDone = i + 1;
        SamplerStep info {i, n, sigmaToTimestep(s), s, x / std::sqrt(1 + sNext * sNext), denoised};
        if (onStep && !onStep(info)) {
            out.cancelled = i + 1 < n;
            break;
        }
    }
    out.x = x / std::sqrt(1 + sigmas[out.stepsDone] * sigmas[out.stepsDone]);
    return out;
}

} // namespace

DiscreteStep discreteStep(const GaussianDiffusion &diffusion, const SamplerOptions &o, const ModelFn &model,
                          const torch::Tensor &x, int j, const torch::Tensor &z)
{
    const auto &map = diffusion.timestepMap();
    const auto jt = torch::full({x.size(0)}, j, torch::TensorOptions().dtype(torch::kLong));
    // _WrappedModel: the network sees the ORIGINAL timestep index.
    const auto output = model(x, stepTensor(x, map[j]));
    const auto mv = diffusion.pMeanVariance(output, x, jt);
    const double nonzero = j != 0 ? 1.0 : 0.0;
    if (o.kind == SamplerKind::Ddpm) {
        // Ref: gaussian_diffusion.py p_sample.
        return {mv.mean + nonzero * torch::exp(0.5 * mv.logVariance) * z, mv.predXstart};
    }
    // Ref: gaussian_diffusion.py ddim_sample (float32 arithmetic, as _extract casts).
    const auto eps = diffusion.predictEpsFromXstart(x, jt, mv.predXstart);
    const auto abar = diffusion.extract(diffusion.alphasCumprod(), jt, x);
    const auto abarPrev = diffusion.extract(diffusion.alphasCumprodPrev(), jt, x);
    const auto sigma = o.eta * torch::sqrt((1 - abarPrev) / (1 - abar)) * torch::sqrt(1 - abar / abarPrev);
    const auto meanPred
        = mv.predXstart * torch::sqrt(abarPrev) + torch::sqrt(1 - abarPrev - sigma * sigma) * eps;
    return {meanPred + nonzero * sigma * z, mv.predXstart};
}

std::vector<double> samplerAlphaBars(const SamplerOptions &o)
{
    std::vector<double> out;
    if (o.kind == SamplerKind::Ddpm || o.kind == SamplerKind::Ddim) {
        const auto diffusion = GaussianDiffusion::respaced(std::to_string(o.steps), o.varianceType);
        const int n = diffusion.numSteps();
        for (int k = 0; k < n; ++k)
            out.push_back(diffusion.alphasCumprod()[n - 1 - k]);
        out.push_back(1.0); // alphas_cumprod_prev[0]
    } else {
        for (double s : samplerSigmas(o.steps, o.karras))
            out.push_back(1.0 / (1.0 + s * s));
    }
    return out;
}

double sigmaToTimestep(double sigma)
{
    // Ref: k-diffusion DiscreteSchedule.sigma_to_t (interpolate log sigma).
    const auto &sig = processSigmas();
    const double ls = std::log(std::max(sigma, 1e-10));
    const int n = static_cast<int>(sig.size());
    int low = 0;
    for (int i = 0; i < n; ++i)
        if (ls - std::log(sig[i]) >= 0)
            low = i;
    low = std::min(low, n - 2);
    const double lo = std::log(sig[low]), hi = std::log(sig[low + 1]);
    double w = (lo - ls) / (lo - hi);
    w = std::clamp(w, 0.0, 1.0);
    return (1 - w) * low + w * (low + 1);
}

std::vector<double> samplerSigmas(int steps, bool karras)
{
    const auto &sig = processSigmas();
    std::vector<double> out;
    if (steps < 1)
        fail(ErrorCode::InvalidArgument, "steps must be at least 1");
    if (karras) {
        // Ref: Karras et al. 2022 eq. 5, rho = 7.
        const double rho = 7.0, sMin = sig.front(), sMax = sig.back();
        const double minInv = std::pow(sMin, 1 / rho), maxInv = std::pow(sMax, 1 / rho);
        for (int i = 0; i < steps; ++i) {
            const double r = steps > 1 ? static_cast<double>(i) / (steps - 1) : 0.0;
            out.push_back(std::pow(maxInv + r * (minInv - maxInv), rho));
        }
    } else {
        // k-diffusion get_sigmas: t = linspace(T-1, 0, steps), sigma(t) by log-linear interpolation.
        const int n = static_cast<int>(sig.size());
        for (int i = 0; i < steps; ++i) {
            const double t = steps > 1 ? (n - 1) * (1.0 - static_cast<double>(i) / (steps - 1)) : n - 1;
            const int lo = static_cast<int>(std::floor(t));
            const int hi = std::min(lo + 1, n - 1);
            const double w = t - lo;
            out.push_back(std::exp((1 - w) * std::log(sig[lo]) + w * std::log(sig[hi])));
        }
    }
    out.push_back(0.0);
    return out;
}

SampleOutcome runSampler(const SamplerOptions &options, const ModelFn &model, const torch::Tensor &xT,
                         const NoiseFn &noise, const StepFn &onStep)
{
    if (options.steps < 1 || options.steps > 1000)
        fail(ErrorCode::InvalidArgument,
             "steps must be between 1 and 1000, got " + std::to_string(options.steps));
    if (options.eta < 0 || options.eta > 1)
        fail(ErrorCode::InvalidArgument, "eta must be in [0, 1], got " + std::to_string(options.eta));
    if (options.startStep < 0 || options.startStep > options.steps)
        fail(ErrorCode::InvalidArgument,
             "start step must be in [0, " + std::to_string(options.steps) + "], got "
                 + std::to_string(options.startStep));
    if (options.startStep == options.steps) {
        SampleOutcome done;
        done.x = xT;
        done.stepsDone = options.steps;
        return done;
    }
    switch (options.kind) {
    case SamplerKind::Ddpm:
    case SamplerKind::Ddim:
        return runDiscrete(options, model, xT, noise, onStep);
    default:
        return runSigmaSpace(options, model, xT, noise, onStep);
    }
}

SampleOutcome ddimInvert(int steps, const ModelFn &model, const torch::Tensor &x0, const StepFn &onStep,
                         VarianceType varianceType)
{
    // Ref: gaussian_diffusion.py ddim_reverse_sample, iterated over j = 0 .. T-1.
    const auto diffusion = GaussianDiffusion::respaced(std::to_string(steps), varianceType);
    const int n = diffusion.numSteps();
    const auto &map = diffusion.timestepMap();
    SampleOutcome out;
    torch::Tensor x = x0;
    for (int j = 0; j < n; ++j) {
        const auto jt = torch::full({x.size(0)}, j, torch::TensorOptions().dtype(torch::kLong));
        const auto output = model(x, stepTensor(x, map[j]));
        const auto mv = diffusion.pMeanVariance(output, x, jt);
        const auto eps = diffusion.predictEpsFromXstart(x, jt, mv.predXstart);
        const auto abarNext = diffusion.extract(diffusion.alphasCumprodNext(), jt, x);
        x = mv.predXstart * torch::sqrt(abarNext) + torch::sqrt(1 - abarNext) * eps;
        out.stepsDone = j + 1;
        const double ac = diffusion.alphasCumprod()[j];
        SamplerStep info {j, n, static_cast<double>(map[j]), std::sqrt((1 - ac) / ac), x, mv.predXstart};
        if (onStep && !onStep(info)) {
            out.cancelled = j + 1 < n;
            break;
        }
    }
    out.x = x;
    return out;
}

SampleOutcome ddimInvertForSampler(int steps, const ModelFn &model, const torch::Tensor &x0,
                                   const StepFn &onStep, VarianceType varianceType, int fixedPointIters)
{
    if (steps < 1 || steps > 1000)
        fail(ErrorCode::InvalidArgument,
             "inversion steps must be between 1 and 1000, got " + std::to_string(steps));
    if (fixedPointIters < 0 || fixedPointIters > 100)
        fail(ErrorCode::InvalidArgument, "fixed-point iterations must be in [0, 100]");
    const auto diffusion = GaussianDiffusion::respaced(std::to_string(steps), varianceType);
    const int n = diffusion.numSteps();
    const auto &map = diffusion.timestepMap();
    const auto &ac = diffusion.alphasCumprod();
    const int c = static_cast<int>(x0.size(1));
    SampleOutcome out;
    torch::Tensor x = x0;
    for (int j = 0; j < n; ++j) {
        // The sampling step at index j maps level abar[j] to abar[j - 1] (1 for j = 0) with
        // eps(x_j, t_j); invert it: x_j = sqrt(abar[j]) x0_hat + sqrt(1 - abar[j]) eps.
        const double aPrev = j > 0 ? ac[j - 1] : 1.0, a = ac[j];
        const auto t = stepTensor(x, map[j]);
        auto advance = [&](const torch::Tensor &eps) {
            const auto x0Hat = (x - std::sqrt(1 - aPrev) * eps) / std::sqrt(aPrev);
            return std::make_pair(std::sqrt(a) * x0Hat + std::sqrt(1 - a) * eps, x0Hat);
        };
        torch::Tensor eps = model(x, t).narrow(1, 0, c);
        auto [next, x0Hat] = advance(eps);
        for (int k = 0; k < fixedPointIters; ++k) {
            eps = model(next, t).narrow(1, 0, c);
            std::tie(next, x0Hat) = advance(eps);
        }
        x = next;
        out.stepsDone = j + 1;
        SamplerStep info {j, n, static_cast<double>(map[j]), std::sqrt((1 - a) / a), x, x0Hat};
        if (onStep && !onStep(info)) {
            out.cancelled = j + 1 < n;
            break;
        }
    }
    out.x = x;
    return out;
}

} // namespace ditstudio
