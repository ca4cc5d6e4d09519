#pragma once
// Classifier-free guidance as the official DiT forward_with_cfg batches it.
// Ref: Ho & Salimans 2022; facebookresearch/DiT models.py DiT.forward_with_cfg.

#include "ditstudio/engine.h"
#include "model/dit.h"

#include <torch/torch.h>

namespace ditstudio {

struct GuidanceOptions {
    double scale = 4.0; ///< <= 1 disables guidance
    GuidedChannels channels = GuidedChannels::First3;
    double from = 0.0, to = 1.0; ///< guide only where t / 1000 is in [from, to]
    bool enabled() const { return scale != 1.0; }
};

/// x: [2B, C, H, W] = [cond rows; uncond rows] (only the first half is fed to the network, twice),
/// t: [2B], cond: [2B] labels or weights with the null class in the second half.
/// Returns [2B, outC, H, W] with guided eps in the channels selected, the rest from each half.
/// trace (optional) instruments the network call (probes, interventions); with guidanceMap the
/// map eps_cond - eps_uncond [B, C, H, W] over all eps channels, before scaling, is stored there
/// (left undefined where t lies outside the guidance interval and only the conditional half runs).
torch::Tensor guidedForward(DiTImpl &model, const torch::Tensor &x, const torch::Tensor &t,
                            const ClassCondition &cond, const GuidanceOptions &options,
                            DiTTrace *trace = nullptr, torch::Tensor *guidanceMap = nullptr);

} // namespace ditstudio
