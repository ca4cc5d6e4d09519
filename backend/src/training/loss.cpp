#include "training/loss.h"

#include <cmath>

namespace ditstudio {

namespace {

torch::Tensor meanFlat(const torch::Tensor &x)
{
    std::vector<int64_t> dims;
    for (int64_t d = 1; d < x.dim(); ++d)
        dims.push_back(d);
    return x.mean(dims);
}

torch::Tensor approxStandardNormalCdf(const torch::Tensor &x)
{
    return 0.5 * (1.0 + torch::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * torch::pow(x, 3))));
}

} // namespace

torch::Tensor normalKl(const torch::Tensor &mean1, const torch::Tensor &logvar1, const torch::Tensor &mean2,
                       const torch::Tensor &logvar2)
{
    return 0.5
        * (-1.0 + logvar2 - logvar1 + torch::exp(logvar1 - logvar2)
           + (mean1 - mean2).pow(2) * torch::exp(-logvar2));
}

torch::Tensor discretizedGaussianLogLikelihood(const torch::Tensor &x, const torch::Tensor &means,
                                               const torch::Tensor &logScales)
{
    const auto centered = x - means;
    const auto invStdv = torch::exp(-logScales);
    const auto cdfPlus = approxStandardNormalCdf(invStdv * (centered + 1.0 / 255.0));
    const auto cdfMin = approxStandardNormalCdf(invStdv * (centered - 1.0 / 255.0));
    const auto logCdfPlus = torch::log(cdfPlus.clamp_min(1e-12));
    const auto logOneMinusCdfMin = torch::log((1.0 - cdfMin).clamp_min(1e-12));
    const auto cdfDelta = cdfPlus - cdfMin;
    return torch::where(x < -0.999, logCdfPlus,
                        torch::where(x > 0.999, logOneMinusCdfMin, torch::log(cdfDelta.clamp_min(1e-12))));
}

LossTerms officialLoss(const GaussianDiffusion &diffusion, const torch::Tensor &modelOutput,
                       const torch::Tensor &x0, const torch::Tensor &xt, const torch::Tensor &t,
                       const torch::Tensor &noise)
{
    LossTerms terms;
    const auto c = xt.size(1);
    const auto eps = modelOutput.narrow(1, 0, c);
    terms.mse = meanFlat((noise - eps).pow(2));
    if (diffusion.varianceType() == VarianceType::LearnedRange) {
        // The vb term sees a detached eps: it trains only the variance channels.
        const auto frozen = torch::cat({eps.detach(), modelOutput.narrow(1, c, c)}, 1);
        torch::Tensor trueMean, trueLogVar;
        diffusion.qPosterior(x0, xt, t, trueMean, trueLogVar);
        const auto out = diffusion.pMeanVariance(frozen, xt, t);
        const auto kl = meanFlat(normalKl(trueMean, trueLogVar, out.mean, out.logVariance)) / std::log(2.0);
        const auto nll = meanFlat(-discretizedGaussianLogLikelihood(x0, out.mean, 0.5 * out.logVariance))
            / std::log(2.0);
        terms.vb = torch::where(t.to(kl.device()) == 0, nll, kl);
    } else {
        terms.vb = torch::zeros_like(terms.mse);
    }
    terms.loss = terms.mse + terms.vb;
    return terms;
}

} // namespace ditstudio
