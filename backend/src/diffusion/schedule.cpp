#include "diffusion/schedule.h"

#include "common/errors.h"

#include <cmath>
#include <set>
#include <sstream>

namespace ditstudio {

std::vector<double> linearBetas(int numSteps)
{
    // Ref: get_named_beta_schedule("linear"): scale = 1000 / T; linspace(scale*1e-4, scale*0.02, T).
    const double scale = 1000.0 / numSteps;
    const double start = scale * 0.0001, end = scale * 0.02;
    std::vector<double> betas(numSteps);
    // numpy linspace: start + i * step, with the last value exactly `end`.
    const double step = numSteps > 1 ? (end - start) / (numSteps - 1) : 0.0;
    for (int i = 0; i < numSteps; ++i)
        betas[i] = start + i * step;
    if (numSteps > 1)
        betas[numSteps - 1] = end;
    return betas;
}

std::vector<int> spaceTimesteps(int numSteps, const std::string &sectionsIn)
{
    // Ref: respace.py space_timesteps.
    std::string sections = sectionsIn;
    if (sections.rfind("ddim", 0) == 0) {
        const int desired = std::stoi(sections.substr(4));
        for (int i = 1; i < numSteps; ++i) {
            if ((numSteps + i - 1) / i == desired) {
                std::vector<int> out;
                for (int k = 0; k < numSteps; k += i)
                    out.push_back(k);
                return out;
            }
        }
        fail(ErrorCode::InvalidArgument,
             "cannot create exactly " + std::to_string(desired)
                 + " steps with an integer stride (ddim respacing)");
    }
    std::vector<int> counts;
    std::stringstream ss(sections);
    std::string item;
    while (std::getline(ss, item, ','))
        counts.push_back(std::stoi(item));
    if (counts.empty())
        fail(ErrorCode::InvalidArgument, "respacing '" + sectionsIn + "': no step count");
    const int nSections = static_cast<int>(counts.size());
    const int sizePer = numSteps / nSections;
    const int extra = numSteps % nSections;
    int startIdx = 0;
    std::set<int> all;
    for (int i = 0; i < nSections; ++i) {
        const int size = sizePer + (i < extra ? 1 : 0);
        const int count = counts[i];
        if (count <= 0 || size < count)
            fail(ErrorCode::InvalidArgument,
                 "cannot divide a section of " + std::to_string(size) + " steps into "
                     + std::to_string(count));
        const double fracStride = count <= 1 ? 1.0 : static_cast<double>(size - 1) / (count - 1);
        double cur = 0.0;
        for (int k = 0; k < count; ++k) {
            // Python's round(): half to even. std::nearbyint uses the current rounding mode (to even).
            all.insert(startIdx + static_cast<int>(std::nearbyint(cur)));
            cur += fracStride;
        }
        startIdx += size;
    }
    return {all.begin(), all.end()};
}

GaussianDiffusion::GaussianDiffusion(std::vector<double> betas, std::vector<int> timestepMap,
                                     VarianceType varType)
    : m_betas(std::move(betas)), m_timestepMap(std::move(timestepMap)), m_varType(varType)
{
    const size_t n = m_betas.size();
    m_alphasCumprod.resize(n);
    double acc = 1.0;
    for (size_t i = 0; i < n; ++i) {
        acc *= 1.0 - m_betas[i];
        m_alphasCumprod[i] = acc;
    }
    m_alphasCumprodPrev.assign(n, 1.0);
    m_alphasCumprodNext.assign(n, 0.0);
    for (size_t i = 0; i < n; ++i) {
        if (i > 0)
            m_alphasCumprodPrev[i] = m_alphasCumprod[i - 1];
        if (i + 1 < n)
            m_alphasCumprodNext[i] = m_alphasCumprod[i + 1];
    }
    auto resize = [n](std::vector<double> &v) { v.resize(n); };
    for (auto *v : {&m_sqrtAlphasCumprod, &m_sqrtOneMinusAlphasCumprod, &m_sqrtRecipAlphasCumprod,
                    &m_sqrtRecipm1AlphasCumprod, &m_posteriorVariance, &m_posteriorLogVarianceClipped,
                    &m_posteriorMeanCoef1, &m_posteriorMeanCoef2, &m_logBetas})
        resize(*v);
    for (size_t i = 0; i < n; ++i) {
        const double ac = m_alphasCumprod[i], acp = m_alphasCumprodPrev[i], b = m_betas[i];
        m_sqrtAlphasCumprod[i] = std::sqrt(ac);
        m_sqrtOneMinusAlphasCumprod[i] = std::sqrt(1.0 - ac);
        m_sqrtRecipAlphasCumprod[i] = std::sqrt(1.0 / ac);
        m_sqrtRecipm1AlphasCumprod[i] = std::sqrt(1.0 / ac - 1.0);
        m_posteriorVariance[i] = b * (1.0 - acp) / (1.0 - ac);
        m_posteriorMeanCoef1[i] = b * std::sqrt(acp) / (1.0 - ac);
        m_posteriorMeanCoef2[i] = (1.0 - acp) * std::sqrt(1.0 - b) / (1.0 - ac);
        m_logBetas[i] = std::log(b);
    }
    // "clipped": the t=0 entry (variance 0) is replaced by the t=1 value.
    for (size_t i = 0; i < n; ++i)
        m_posteriorLogVarianceClipped[i]
            = std::log(n > 1 && i == 0 ? m_posteriorVariance[1] : m_posteriorVariance[i]);
}

GaussianDiffusion GaussianDiffusion::respaced(const std::string &sections, VarianceType varType, int numSteps)
{
    const std::vector<double> base = linearBetas(numSteps);
    std::vector<double> ac(numSteps);
    double acc = 1.0;
    for (int i = 0; i < numSteps; ++i) {
        acc *= 1.0 - base[i];
        ac[i] = acc;
    }
    const std::vector<int> keep = spaceTimesteps(numSteps, sections);
    // Ref: respace.py SpacedDiffusion.__init__.
    std::vector<double> betas;
    double last = 1.0;
    for (int i : keep) {
        betas.push_back(1.0 - ac[i] / last);
        last = ac[i];
    }
    return GaussianDiffusion(std::move(betas), keep, varType);
}

torch::Tensor GaussianDiffusion::extract(const std::vector<double> &arr, const torch::Tensor &t,
                                         const torch::Tensor &like) const
{
    auto table = torch::from_blob(const_cast<double *>(arr.data()), {static_cast<int64_t>(arr.size())},
                                  torch::TensorOptions().dtype(torch::kFloat64));
    auto v = table.index_select(0, t.to(torch::kCPU, torch::kLong)).to(torch::kFloat32).to(like.device());
    std::vector<int64_t> shape(like.dim(), 1);
    shape[0] = v.size(0);
    return v.view(shape);
}

torch::Tensor GaussianDiffusion::predictXstartFromEps(const torch::Tensor &x, const torch::Tensor &t,
                                                      const torch::Tensor &eps) const
{
    return extract(m_sqrtRecipAlphasCumprod, t, x) * x - extract(m_sqrtRecipm1AlphasCumprod, t, x) * eps;
}

torch::Tensor GaussianDiffusion::predictEpsFromXstart(const torch::Tensor &x, const torch::Tensor &t,
                                                      const torch::Tensor &x0) const
{
    return (extract(m_sqrtRecipAlphasCumprod, t, x) * x - x0) / extract(m_sqrtRecipm1AlphasCumprod, t, x);
}

torch::Tensor GaussianDiffusion::qSample(const torch::Tensor &x0, const torch::Tensor &t,
                                         const torch::Tensor &noise) const
{
    return extract(m_sqrtAlphasCumprod, t, x0) * x0 + extract(m_sqrtOneMinusAlphasCumprod, t, x0) * noise;
}

void GaussianDiffusion::qPosterior(const torch::Tensor &x0, const torch::Tensor &xt, const torch::Tensor &t,
                                   torch::Tensor &mean, torch::Tensor &logVarClipped) const
{
    mean = extract(m_posteriorMeanCoef1, t, xt) * x0 + extract(m_posteriorMeanCoef2, t, xt) * xt;
    logVarClipped = extract(m_posteriorLogVarianceClipped, t, xt);
}

GaussianDiffusion::MeanVariance GaussianDiffusion::pMeanVariance(const torch::Tensor &output,
                                                                 const torch::Tensor &x, int j) const
{
    return pMeanVariance(output, x, torch::full({x.size(0)}, j, torch::TensorOptions().dtype(torch::kLong)));
}

GaussianDiffusion::MeanVariance GaussianDiffusion::pMeanVariance(const torch::Tensor &output,
                                                                 const torch::Tensor &x,
                                                                 const torch::Tensor &t) const
{
    // Ref: gaussian_diffusion.py p_mean_variance (clip_denoised=False as in DiT sampling).
    MeanVariance r;
    const auto c = x.size(1);
    if (m_varType == VarianceType::LearnedRange) {
        if (output.size(1) != 2 * c)
            fail(ErrorCode::ShapeMismatch,
                 "learned-range variance needs " + std::to_string(2 * c) + " output channels, model gave "
                     + std::to_string(output.size(1)));
        auto parts = output.split(c, 1);
        r.eps = parts[0];
        const auto minLog = extract(m_posteriorLogVarianceClipped, t, x);
        const auto maxLog = extract(m_logBetas, t, x);
        const auto frac = (parts[1] + 1) / 2;
        r.logVariance = frac * maxLog + (1 - frac) * minLog;
        r.variance = torch::exp(r.logVariance);
    } else {
        r.eps = output.size(1) == c ? output : output.narrow(1, 0, c);
        std::vector<double> var, logVar;
        if (m_varType == VarianceType::FixedLarge) {
            var = m_betas;
            if (var.size() > 1)
                var[0] = m_posteriorVariance[1];
            for (double v : var)
                logVar.push_back(std::log(v));
        } else {
            var = m_posteriorVariance;
            logVar = m_posteriorLogVarianceClipped;
        }
        r.variance = extract(var, t, x) * torch::ones_like(x);
        r.logVariance = extract(logVar, t, x) * torch::ones_like(x);
    }
    r.predXstart = predictXstartFromEps(x, t, r.eps);
    torch::Tensor unused;
    qPosterior(r.predXstart, x, t, r.mean, unused);
    return r;
}

std::vector<double> sigmasOfProcess(const std::vector<double> &alphasCumprod)
{
    std::vector<double> s(alphasCumprod.size());
    for (size_t i = 0; i < s.size(); ++i)
        s[i] = std::sqrt((1.0 - alphasCumprod[i]) / alphasCumprod[i]);
    return s;
}

} // namespace ditstudio
