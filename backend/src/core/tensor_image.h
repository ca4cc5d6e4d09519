#pragma once
// Conversions between tensors and 8-bit images, and the cheap per-step preview projection.

#include "ditstudio/types.h"

#include <torch/torch.h>

#include <vector>

namespace ditstudio {

/// [N, C, H, W] in [-1, 1] -> N images (C = 1 gray, 3 RGB; other C: first 3 or a projection).
/// Rounds like torchvision save_image: x * 255 + 0.5, clamped.
std::vector<Image> tensorToImages(const torch::Tensor &batch);
/// An 8-bit image -> [1, C, H, W] float in [-1, 1].
torch::Tensor imageToTensor(const Image &image);

/// HostTensor <-> torch (copies).
HostTensor toHost(const torch::Tensor &t);
torch::Tensor fromHost(const HostTensor &h);

/// Approximate RGB of Stable Diffusion VAE latents [N, 4, H, W] -> [N, 3, H, W] in [-1, 1], using a
/// linear map; `matrix` is [4 + 1, 3] (weights then bias). Empty matrix: a default fit for the SD VAE.
torch::Tensor latentToRgbPreview(const torch::Tensor &latents, const torch::Tensor &matrix = {});

} // namespace ditstudio
