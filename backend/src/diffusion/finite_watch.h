#pragma once
// Stops a sampling run whose model produced NaN or Inf, naming the first such step, instead of letting
// it finish on a black or garbage image. On the CPU the check reads the flag at once (free). On a GPU,
// reading a flag back every step would make the host wait for the device at every step, so the watch
// keeps the first bad step on the device and reads it only where the host syncs anyway (a step whose
// previews are copied out) and at the end of the run.

#include <torch/torch.h>

#include <string>
#include <vector>

namespace ditstudio {

class FiniteWatch {
public:
    /// readNow: check on the host at this step (CPU, or a step that syncs anyway).
    void observe(int step, int total, double timestep, const torch::Tensor &x0, const torch::Tensor &xt,
                 bool readNow);
    /// Throws DitException(NumericError) naming the first step with NaN or Inf, if any was seen and not
    /// yet reported. Reads the device flag (one sync).
    void check();

private:
    [[noreturn]] void report(int step) const;
    torch::Tensor m_firstBad; ///< [] int64 on the device: first bad step, or -1
    std::vector<double> m_timesteps; ///< per step index, for the message
    int m_total = 0;
};

} // namespace ditstudio
