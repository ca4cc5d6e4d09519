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
    double sigma = 0; ///< sqrt((1 - abar) / abar) at that timestep
    torch::Tensor xt; ///< sample after this step, variance-preserving space
    torch::Tensor x0; ///< predicted clean sample at this step
};
/// Called after every step; return false to stop (cancellation).
using StepFn = std::function<bool(const SamplerStep &)>;

/// Replaces the state after step `step` (VP space, already at the noise level of the next step):
/// inpainting puts the forward-noised known region back here. Return the state to continue from.
using StateFn = std::function<torch::Tensor(int step, const torch::Tensor &x)>;

struct SamplerOptions {
    SamplerKind kind = SamplerKind::Ddpm;
    int steps = 50;
    double eta = 0.0;
    bool karras = false;
    VarianceType varianceType = VarianceType::LearnedRange;
    /// Skip the first startStep steps of the schedule: xT passed to runSampler is then the state at
    /// the noise level samplerAlphaBars(options)[startStep] (SDEdit img2img, Meng et al. 2021).
    /// Step indices given to the callbacks stay the schedule's own (startStep .. steps-1).
    int startStep = 0;
    StateFn afterStep; ///< optional; see StateFn
};

struct SampleOutcome {
    torch::Tensor x; ///< final sample (or the last state when cancelled)
    int stepsDone = 0;
    bool cancelled = false;
};

/// Run the sampler from xT (standard normal noise in VP space).
SampleOutcome runSampler(const SamplerOptions &options, const ModelFn &model, const torch::Tensor &xT,
                         const NoiseFn &noise, const StepFn &onStep);

/// abar (signal fraction) of the sampler state before each step: steps + 1 values, the last is the
/// level after the final step (1 = clean). runSampler's state before step k is
/// sqrt(abar[k]) x0 + sqrt(1 - abar[k]) eps in VP space, whatever the sampler kind.
std::vector<double> samplerAlphaBars(const SamplerOptions &options);

/// One DDPM or DDIM reverse step at respaced index j (state at level abar[j] -> abar[j - 1]).
/// z: fresh noise like x (used by DDPM and DDIM with eta > 0). Ref: gaussian_diffusion.py
/// p_sample and ddim_sample. Returns the new state and the predicted x0.
struct DiscreteStep {
    torch::Tensor x, x0;
};
DiscreteStep discreteStep(const GaussianDiffusion &diffusion, const SamplerOptions &options,
                          const ModelFn &model, const torch::Tensor &x, int j, const torch::Tensor &z);

/// The noise level schedule for the sigma-space samplers: steps+1 values, last is 0.
std::vector<double> samplerSigmas(int steps, bool karras);
/// Fractional original timestep for a sigma (log-sigma interpolation, k-diffusion sigma_to_t).
double sigmaToTimestep(double sigma);

/// Deterministic DDIM inversion (eta 0): runs the DDIM update forward with abar_next, from a clean
/// x0 to the starting noise. onStep as in runSampler. Ref: Song et al. 2021, sec. 4.3.
SampleOutcome ddimInvert(int steps, const ModelFn &model, const torch::Tensor &x0, const StepFn &onStep,
                         VarianceType varianceType = VarianceType::LearnedRange);

/// DDIM inversion aligned with runSampler's DDIM (eta 0): n transitions from the clean x0 through
/// the respaced levels abar[0] .. abar[n-1], each the exact inverse in noise level of one sampling
/// step, so runSampler(Ddim, steps) started from the result walks back along the same states.
/// The eps of the unknown next state is approximated by fixed-point iteration (fixedPointIters
/// extra model calls per step; 0 = the usual eps(x_t) approximation). Refs: Song et al. 2021,
/// sec. 4.3; Pan et al. 2023 (AIDI, fixed-point inversion); Garibi et al. 2024 (ReNoise).
SampleOutcome ddimInvertForSampler(int steps, const ModelFn &model, const torch::Tensor &x0,
                                   const StepFn &onStep, VarianceType varianceType, int fixedPointIters = 0);

} // namespace ditstudio
