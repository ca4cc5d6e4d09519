#include "diffusion/finite_watch.h"

#include "common/errors.h"

#include <cmath>

namespace ditstudio {

void FiniteWatch::observe(int step, int total, double timestep, const torch::Tensor &x0,
                          const torch::Tensor &xt, bool readNow)
{
    m_total = total;
    if (step >= static_cast<int>(m_timesteps.size()))
        m_timesteps.resize(step + 1, 0.0);
    m_timesteps[step] = timestep;
    const auto ok = torch::isfinite(x0).all().logical_and(torch::isfinite(xt).all());
    if (readNow) {
        check(); // an earlier deferred step comes first
        if (!ok.item<bool>())
            report(step);
        return;
    }
    if (!m_firstBad.defined())
        m_firstBad = torch::full({}, -1, torch::TensorOptions().dtype(torch::kLong).device(ok.device()));
    // first bad step = step where none was bad before and this one is: all on the device, no sync.
    const auto here = torch::full({}, step, m_firstBad.options());
    m_firstBad = torch::where(m_firstBad.lt(0).logical_and(ok.logical_not()), here, m_firstBad);
}

void FiniteWatch::check()
{
    if (!m_firstBad.defined())
        return;
    const auto first = m_firstBad.item<std::int64_t>();
    m_firstBad = torch::Tensor();
    if (first >= 0)
        report(static_cast<int>(first));
}

void FiniteWatch::report(int step) const
{
    const double t = step < static_cast<int>(m_timesteps.size()) ? m_timesteps[step] : 0.0;
    fail(ErrorCode::NumericError,
         "the model produced NaN or Inf at step " + std::to_string(step + 1) + " of "
             + std::to_string(m_total) + " (timestep " + std::to_string(static_cast<int>(std::lround(t)))
             + "); nothing was saved. Check the checkpoint, or use fp32");
}

} // namespace ditstudio
