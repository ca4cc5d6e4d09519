#pragma once
// Per-timestep adaptive loss weighting for diffusion training:
// - Uniform: the official DiT loss as is.
// - Min-SNR-gamma (Hang et al. 2023, "Efficient Diffusion Training via Min-SNR Weighting Strategy"):
//   for eps prediction the MSE of timestep t is scaled by min(SNR(t), gamma) / SNR(t),
//   SNR(t) = abar_t / (1 - abar_t).
// - EDM2 uncertainty (Karras et al. 2024, "Analyzing and Improving the Training Dynamics of
//   Diffusion Models", sec. 3 / appendix B.2): a small network of the noise level predicts a
//   log-variance u(sigma); the per-sample loss becomes loss / exp(u) + u, which learns to balance
//   the noise levels (u tracks the expected loss at each level).
// The weighting applies to the eps-MSE term; the variational-bound term that trains the learned
// variance is left as the official loss has it.

#include "diffusion/schedule.h"
#include "ditstudio/training.h"

#include <torch/torch.h>

#include <string>

namespace ditstudio {

// LossWeighting, lossWeightingName and parseLossWeighting are public (ditstudio/training.h).

/// u(sigma): magnitude-preserving Fourier features of c_noise = ln(sigma) / 4 (fixed random
/// frequencies and phases, as EDM2's MPFourier) followed by a zero-initialised linear layer, so
/// training starts from uniform weighting (u = 0).
struct UncertaintyNetImpl : torch::nn::Module {
    explicit UncertaintyNetImpl(int channels = 128, uint64_t seed = 0);
    torch::Tensor forward(const torch::Tensor &sigma); ///< [N] -> [N]
    torch::Tensor freqs, phases; ///< buffers [C]
    torch::nn::Linear linear {nullptr};
};
TORCH_MODULE(UncertaintyNet);

/// Noise level sigma_t = sqrt((1 - abar_t) / abar_t) of the (un-respaced) process for t [N] int64.
torch::Tensor noiseLevel(const GaussianDiffusion &diffusion, const torch::Tensor &t);
/// Min-SNR-gamma weights [N] for eps prediction.
torch::Tensor minSnrWeights(const GaussianDiffusion &diffusion, const torch::Tensor &t, double gamma);

/// Combine per-sample terms [N] into the scalar training loss.
/// uncertainty: u [N] (Edm2Uncertainty only; ignored otherwise).
torch::Tensor weightedLoss(LossWeighting weighting, const GaussianDiffusion &diffusion,
                           const torch::Tensor &t, const torch::Tensor &mse, const torch::Tensor &vb,
                           double minSnrGamma, const torch::Tensor &uncertainty = {});

} // namespace ditstudio
