#pragma once
// Class-conditional sampling from a model that is at hand (no engine): the trainer's sample grids.
// The conventions are the engine's, so the same settings give the same images: sample i draws its
// starting noise and every later noise from its own CPU generator seeded seed + i (the same image
// whatever the batch size), and classifier-free guidance runs with the null class.

#include "diffusion/samplers.h"
#include "ditstudio/engine.h"
#include "model/dit.h"

#include <cstdint>
#include <vector>

namespace ditstudio {

struct ClassSamplingOptions {
    SamplerKind sampler = SamplerKind::Ddpm;
    int steps = 50;
    double cfgScale = 4.0; ///< 1 disables guidance
    GuidedChannels guidedChannels = GuidedChannels::First3;
    std::uint64_t seed = 0; ///< sample i uses seed + i
};

/// One sample per label with the model as it is (its device and dtype). Returns the final samples
/// x0 [N, C, H, W], float32 on the CPU, in the model's space (pixels in [-1, 1] or diffusion latents).
torch::Tensor sampleClasses(DiTImpl &model, const std::vector<std::int64_t> &labels,
                            const ClassSamplingOptions &options);

} // namespace ditstudio
