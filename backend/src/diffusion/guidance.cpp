#include "diffusion/guidance.h"

namespace ditstudio {

torch::Tensor guidedForward(DiTImpl &model, const torch::Tensor &x, const torch::Tensor &t,
                            const ClassCondition &cond, const GuidanceOptions &options, DiTTrace *trace,
                            torch::Tensor *guidanceMap)
{
    const auto b = x.size(0) / 2;
    const auto half = x.narrow(0, 0, b);
    // Only a guidance interval needs the timestep on the host (a device sync per step on a GPU).
    const bool everywhere = options.from <= 0.0 && options.to >= 1.0;
    const double tFrac = everywhere ? 0.5 : t[0].item<double>() / 1000.0;
    if (tFrac < options.from || tFrac > options.to) {
        // Outside the guidance interval: the conditional prediction alone, computed once.
        ClassCondition c {cond.labels.defined() ? cond.labels.narrow(0, 0, b) : torch::Tensor(),
                          cond.weights.defined() ? cond.weights.narrow(0, 0, b) : torch::Tensor()};
        auto out = model.forward(half, t.narrow(0, 0, b), c, trace);
        return torch::cat({out, out}, 0);
    }
    const auto combined = torch::cat({half, half}, 0);
    const auto out = model.forward(combined, t, cond, trace); // [2B, outC, H, W]
    if (guidanceMap) {
        const int64_t c = out.size(1) == 2 * x.size(1) ? x.size(1) : out.size(1); // eps channels
        const auto eps = out.narrow(1, 0, c);
        *guidanceMap = (eps.narrow(0, 0, b) - eps.narrow(0, b, b)).detach();
    }
    const int64_t k
        = options.channels == GuidedChannels::First3 ? std::min<int64_t>(3, x.size(1)) : x.size(1);
    const auto eps = out.narrow(1, 0, k);
    const auto rest = out.narrow(1, k, out.size(1) - k);
    const auto condEps = eps.narrow(0, 0, b), uncondEps = eps.narrow(0, b, b);
    const auto halfEps = uncondEps + options.scale * (condEps - uncondEps);
    return torch::cat({torch::cat({halfEps, halfEps}, 0), rest}, 1);
}

} // namespace ditstudio
