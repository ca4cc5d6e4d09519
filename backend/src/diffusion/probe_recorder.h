#pragma once
// Records the probes of probes.h during sampling: one DiTTrace for the first model call of each
// step, turned into host tensors (StepProbes) when the step ends.

#include "ditstudio/model_info.h"
#include "ditstudio/probes.h"
#include "model/dit.h"

#include <torch/torch.h>

#include <optional>

namespace ditstudio {

/// Bytes of float32 attention one step records for these options (rows = model batch rows).
std::int64_t attentionProbeBytes(const ProbeOptions &options, const DiTConfig &config, int rows);

class StepProbeRecorder {
public:
    /// Validates the options against the model (blocks, query tokens, the attention budget);
    /// throws DitException with a message naming the field. enabled = false records nothing.
    StepProbeRecorder(const ProbeOptions &options, const DiTConfig &config, int rows, bool enabled);

    /// The trace for the model call about to run: non-null only for the first call of a step.
    DiTTrace *traceForCall();
    /// Where guidedForward stores the guidance map of the probed call; null for other calls.
    torch::Tensor *guidanceSlot();
    /// The step ended: its probes as host tensors (empty when off). x0: the images' predicted clean
    /// sample [B, C, H, W], for the x0 change.
    StepProbes takeStep(const torch::Tensor &x0);

private:
    ProbeOptions m_options;
    DiTConfig m_config;
    bool m_enabled = false;
    std::vector<char> m_attentionBlocks;
    torch::Tensor m_queryIndex;
    std::optional<DiTTrace> m_trace;
    bool m_callIsProbed = false;
    torch::Tensor m_guidance;
    torch::Tensor m_previousX0;
};

} // namespace ditstudio
