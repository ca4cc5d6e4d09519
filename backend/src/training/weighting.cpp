#include "training/weighting.h"

#include <cmath>

namespace ditstudio {

const char *lossWeightingName(LossWeighting w)
{
    switch (w) {
    case LossWeighting::MinSnr:
        return "min-snr";
    case LossWeighting::Edm2Uncertainty:
        return "edm2";
    default:
        return "uniform";
    }
}

Result<LossWeighting> parseLossWeighting(const std::string &text)
{
    if (text == "uniform")
        return LossWeighting::Uniform;
    if (text == "min-snr" || text == "minsnr")
        return LossWeighting::MinSnr;
    if (text == "edm2" || text == "uncertainty")
        return LossWeighting::Edm2Uncertainty;
    return Error {ErrorCode::InvalidArgument,
                  "loss weighting '" + text + "': expected uniform, min-snr or edm2"};
}

UncertaintyNetImpl::UncertaintyNetImpl(int channels, uint64_t seed)
{
    auto gen = at::detail::createCPUGenerator(seed + 0x5eed);
    freqs = register_buffer("freqs", at::randn({channels}, gen, torch::kFloat32));
    phases = register_buffer("phases", at::rand({channels}, gen, torch::kFloat32));
    linear = register_module("linear", torch::nn::Linear(torch::nn::LinearOptions(channels, 1).bias(false)));
    torch::NoGradGuard ng;
    linear->weight.zero_();
}

torch::Tensor UncertaintyNetImpl::forward(const torch::Tensor &sigma)
{
    const auto cNoise = sigma.to(torch::kFloat32).log().div(4.0).unsqueeze(1); // [N, 1]
    const auto features = std::sqrt(2.0) * torch::cos(2.0 * M_PI * (cNoise * freqs + phases)); // [N, C]
    // EDM2's MPConv normalises by sqrt(fan_in) so the output scale is independent of C.
    return linear(features / std::sqrt(static_cast<double>(freqs.size(0)))).squeeze(1); // [N]
}

torch::Tensor noiseLevel(const GaussianDiffusion &diffusion, const torch::Tensor &t)
{
    const auto &ab = diffusion.alphasCumprod();
    const auto abar = torch::tensor(ab, torch::kDouble).index_select(0, t.to(torch::kLong).cpu());
    return ((1.0 - abar) / abar).sqrt().to(torch::kFloat32).to(t.device());
}

torch::Tensor minSnrWeights(const GaussianDiffusion &diffusion, const torch::Tensor &t, double gamma)
{
    const auto &ab = diffusion.alphasCumprod();
    const auto abar = torch::tensor(ab, torch::kDouble).index_select(0, t.to(torch::kLong).cpu());
    const auto snr = abar / (1.0 - abar);
    return (snr.clamp_max(gamma) / snr).to(torch::kFloat32).to(t.device());
}

torch::Tensor weightedLoss(LossWeighting weighting, const GaussianDiffusion &diffusion,
                           const torch::Tensor &t, const torch::Tensor &mse, const torch::Tensor &vb,
                           double minSnrGamma, const torch::Tensor &uncertainty)
{
    switch (weighting) {
    case LossWeighting::MinSnr:
        return (minSnrWeights(diffusion, t, minSnrGamma) * mse + vb).mean();
    case LossWeighting::Edm2Uncertainty:
        return (mse / uncertainty.exp() + uncertainty + vb).mean();
    default:
        return (mse + vb).mean();
    }
}

} // namespace ditstudio
