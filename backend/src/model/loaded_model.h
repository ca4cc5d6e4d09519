#pragma once
// The loaded-model record: a built DiT with what was read about it, where it runs, and its VAE (as
// encode/decode functions). The engine owns the model; features (editing, video, training) take
// this record instead of the engine, so they never reach into it.

#include "ditstudio/model_info.h"
#include "model/dit.h"

#include <torch/torch.h>

#include <functional>

namespace ditstudio {

struct LoadedModel {
    DiT model;
    CheckpointInfo info;
    torch::Device device {torch::kCPU};
    torch::ScalarType dtype = torch::kFloat32;
    /// Image [N, 3, H, W] in [-1, 1] -> diffusion latents (posterior mean, scaled). Empty when there
    /// is no VAE (pixel-space model, or a latent model loaded without one).
    std::function<torch::Tensor(const torch::Tensor &)> encode;
    /// Diffusion latents -> image [N, 3, H, W] in [-1, 1]. Empty when there is no VAE.
    std::function<torch::Tensor(const torch::Tensor &)> decode;
    int downsample = 1; ///< image pixels per latent pixel (the VAE's factor; 1 without VAE)
};

} // namespace ditstudio
