#pragma once
// The Gaussian diffusion process of DiT (IDDPM code): linear betas, respacing, posterior terms.
// Ref: Nichol & Dhariwal 2021 (improved DDPM), openai/improved-diffusion gaussian_diffusion.py and
// respace.py as vendored by facebookresearch/DiT. All schedule arrays are float64; coefficients are
// cast to float32 at use, exactly as _extract_into_tensor does.

#include <torch/torch.h>

#include <string>
#include <vector>

namespace ditstudio {

/// linspace(1e-4, 0.02, 1000) in float64 (the "linear" schedule scaled to 1000 steps).
std::vector<double> linearBetas(int numSteps = 1000);

/// Original timestep indices kept when respacing numSteps to the section string ("250", "ddim50",
/// "10,15,20"). Throws DitException(InvalidArgument) on an impossible request.
std::vector<int> spaceTimesteps(int numSteps, const std::string &sections);

enum class VarianceType { LearnedRange, FixedLarge, FixedSmall };

class GaussianDiffusion {
public:
    /// Full process from betas. timestepMap[j] is the original index of step j.
    GaussianDiffusion(std::vector<double> betas, std::vector<int> timestepMap, VarianceType varType);
    /// The official 1000-step linear process respaced to `sections` (e.g. "250" or "ddim50").
    static GaussianDiffusion respaced(const std::string &sections, VarianceType varType, int numSteps = 1000);

    int numSteps() const { return static_cast<int>(m_betas.size()); }
    const std::vector<double> &betas() const { return m_betas; }
    const std::vector<int> &timestepMap() const { return m_timestepMap; }
    const std::vector<double> &alphasCumprod() const { return m_alphasCumprod; }
    const std::vector<double> &alphasCumprodPrev() const { return m_alphasCumprodPrev; }
    const std::vector<double> &alphasCumprodNext() const { return m_alphasCumprodNext; }
    VarianceType varianceType() const { return m_varType; }

    /// Model output split: eps [N, C, ...] and (learned) variance values.
    struct MeanVariance {
        torch::Tensor mean, variance, logVariance, predXstart, eps;
    };
    /// p_mean_variance for step j (same j for the whole batch). output: [N, C or 2C, H, W].
    MeanVariance pMeanVariance(const torch::Tensor &output, const torch::Tensor &x, int j) const;
    /// p_mean_variance with per-sample steps j: [N] int64 (training).
    MeanVariance pMeanVariance(const torch::Tensor &output, const torch::Tensor &x,
                               const torch::Tensor &j) const;

    /// q_sample: sqrt(abar) x0 + sqrt(1 - abar) noise, t: [N] int64 step indices
    torch::Tensor qSample(const torch::Tensor &x0, const torch::Tensor &t, const torch::Tensor &noise) const;
    /// Posterior mean/variance of q(x_{t-1} | x_t, x_0).
    void qPosterior(const torch::Tensor &x0, const torch::Tensor &xt, const torch::Tensor &t,
                    torch::Tensor &mean, torch::Tensor &logVarClipped) const;

    torch::Tensor predictXstartFromEps(const torch::Tensor &x, const torch::Tensor &t,
                                       const torch::Tensor &eps) const;
    torch::Tensor predictEpsFromXstart(const torch::Tensor &x, const torch::Tensor &t,
                                       const torch::Tensor &x0) const;

    /// arr[t] as float32 on x's device, broadcast to x's rank: [N, 1, 1, 1].
    torch::Tensor extract(const std::vector<double> &arr, const torch::Tensor &t,
                          const torch::Tensor &like) const;

    // Derived arrays (float64), public for samplers and losses.
    std::vector<double> m_sqrtAlphasCumprod, m_sqrtOneMinusAlphasCumprod, m_sqrtRecipAlphasCumprod,
        m_sqrtRecipm1AlphasCumprod, m_posteriorVariance, m_posteriorLogVarianceClipped, m_posteriorMeanCoef1,
        m_posteriorMeanCoef2, m_logBetas;

private:
    std::vector<double> m_betas;
    std::vector<int> m_timestepMap;
    std::vector<double> m_alphasCumprod, m_alphasCumprodPrev, m_alphasCumprodNext;
    VarianceType m_varType;
};

/// Noise levels sigma = sqrt((1 - abar) / abar) of the full 1000-step process, ascending in t.
std::vector<double> sigmasOfProcess(const std::vector<double> &alphasCumprod);

} // namespace ditstudio
