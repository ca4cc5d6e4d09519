#pragma once
// The official DiT training loss: eps MSE plus the variational-bound term that trains the learned
// variance through a detached eps. Ref: Nichol & Dhariwal 2021 (L_hybrid without the lambda
// scaling, as DiT uses loss_type MSE); gaussian_diffusion.py training_losses / _vb_terms_bpd.

#include "diffusion/schedule.h"

#include <torch/torch.h>

namespace ditstudio {

struct LossTerms {
    torch::Tensor mse; ///< [N] mean over dims of (noise - eps)^2
    torch::Tensor vb; ///< [N] KL (or decoder NLL at t = 0) in bits per dim; zeros without learned sigma
    torch::Tensor loss; ///< [N] mse + vb
};

/// KL(N(mean1, exp(logvar1)) || N(mean2, exp(logvar2))), elementwise.
torch::Tensor normalKl(const torch::Tensor &mean1, const torch::Tensor &logvar1, const torch::Tensor &mean2,
                       const torch::Tensor &logvar2);
/// log-likelihood of x (in [-1, 1], 256 bins) under a discretized Gaussian, elementwise.
torch::Tensor discretizedGaussianLogLikelihood(const torch::Tensor &x, const torch::Tensor &means,
                                               const torch::Tensor &logScales);

/// Loss terms given the model's output for x_t = q_sample(x0, t, noise).
/// diffusion: the full (un-respaced) process; t: [N] int64 step indices.
LossTerms officialLoss(const GaussianDiffusion &diffusion, const torch::Tensor &modelOutput,
                       const torch::Tensor &x0, const torch::Tensor &xt, const torch::Tensor &t,
                       const torch::Tensor &noise);

} // namespace ditstudio
