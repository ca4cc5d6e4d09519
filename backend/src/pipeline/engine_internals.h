#pragma once
// Backend-internal view of an Engine's loaded model, for the operations that live outside
// engine.cpp (editing, video-to-video). Not part of the public API.

#include "ditstudio/engine.h"
#include "model/dit.h"

#include <torch/torch.h>

#include <functional>

namespace ditstudio {

struct EngineInternals {
    DiT model;
    CheckpointInfo info;
    torch::Device device{torch::kCPU};
    torch::ScalarType dtype = torch::kFloat32;
    /// Image [N, 3, H, W] in [-1, 1] -> diffusion latents (posterior mean, scaled). Empty when the
    /// engine has no VAE (pixel-space model, or a latent model loaded without one).
    std::function<torch::Tensor(const torch::Tensor &)> encode;
    /// Diffusion latents -> image [N, 3, H, W] in [-1, 1]. Empty when the engine has no VAE.
    std::function<torch::Tensor(const torch::Tensor &)> decode;
    int downsample = 1; ///< image pixels per latent pixel (the VAE's factor; 1 without VAE)

    /// Throws DitException(InvalidArgument) when no model is loaded.
    static EngineInternals of(Engine &engine);
};

} // namespace ditstudio
