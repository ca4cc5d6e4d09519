#pragma once
// Samplers over a noise-prediction model: DDPM ancestral (learned or fixed variance), DDIM (eta),
// and the sigma-space samplers Euler, Euler ancestral, Heun and DPM-Solver++(2M).
// Refs: Ho et al. 2020; Song et al. 2021 (DDIM); Karras et al. 2022 (EDM, sigma-space, Heun);
// Lu et al. 2022 (DPM-Solver++); k-diffusion sampling.py for the sigma-space update rules.

#include "diffusion/schedule.h"
#include "ditstudio/engine.h"

#include <torch/torch.h>

#include <functional>

namespace ditstudio {

/// The denoiser: x in variance-preserving space [M, C, H, W] and original timesteps t [M] (float,
/// possibly fractional) -> model output [M, C or 2C, H, W] (eps first), guidance already applied.
using ModelFn = std::function<torch::Tensor(const torch::Tensor &x, const torch::Tensor &t)>;
/// Gaussian noise like `like` for step index `step` (each sample from its own generator).
using NoiseFn = std::function<torch::Tensor(int step, const torch::Tensor &like)>;

struct SamplerStep {
    int index = 0;
    int total = 0;
    double timestep = 0; ///< original timestep of the model call
    double sigma = 0;    ///< sqrt((1 - abar) / abar) at that timestep
    torch::Tensor xt;    ///< sample after this step, variance-preserving space
    torch::Tensor x0;    ///< predicted clean sample at this step
};
/// Called after every step; return false to stop (cancellation).
using StepFn = std::function<bool(const SamplerStep &)>;

struct SamplerOptions {
    SamplerKind kind = SamplerKind::Ddpm;
    int steps = 50;
    double eta = 0.0;
    bool karras = false;
    VarianceType varianceType = VarianceType::LearnedRange;
};

struct SampleOutcome {
    torch::Tensor x;     ///< final sample (or the last state when cancelled)
    int stepsDone = 0;
    bool cancelled = false;
};

/// Run the sampler from xT (standard normal noise in VP space).
SampleOutcome runSampler(const SamplerOptions &options, const ModelFn &model, const torch::Tensor &xT,
                         const NoiseFn &noise, const StepFn &onStep);

/// The noise level schedule for the sigma-space samplers: steps+1 values, last is 0.
std::vector<double> samplerSigmas(int steps, bool karras);
/// Fractional original timestep for a sigma (log-sigma interpolation, k-diffusion sigma_to_t).
double sigmaToTimestep(double sigma);

/// Deterministic DDIM inversion (eta 0): runs the DDIM update forward with abar_next, from a clean
/// x0 to the starting noise. onStep as in runSampler. Ref: Song et al. 2021, sec. 4.3.
SampleOutcome ddimInvert(int steps, const ModelFn &model, const torch::Tensor &x0, const StepFn &onStep,
                         VarianceType varianceType = VarianceType::LearnedRange);

} // namespace ditstudio
