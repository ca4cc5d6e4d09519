#pragma once
/// \file vae.h
/// A Stable Diffusion VAE on its own: images to diffusion latents and back, for preparing latent
/// datasets, inspecting latents and decoding saved ones. The file may be a standalone VAE or a whole
/// SD checkpoint (.safetensors, .ckpt, .pt, .bin) or a diffusers folder.
///
/// Threads: one Vae object is not thread-safe; its calls block. Errors come back as values naming the
/// file and the shape or setting that is wrong.
///
/// Example:
///     ditstudio::VaeOptions options;
///     options.path = "sd-vae-ft-ema";
///     auto vae = ditstudio::openVae(options);
///     auto latents = (*vae)->encode({*ditstudio::readImage("cat.png")}, true, 0); // [1, 4, h/8, w/8]
///     auto images = (*vae)->decode(*latents);

#include "ditstudio/result.h"
#include "ditstudio/types.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ditstudio {

/// Tiled encode/decode for large images: tiles of tileSize latent pixels overlapping by overlap,
/// blended linearly.
struct VaeTiling {
    int tileSize = 64; ///< latent pixels (64 -> 512 image pixels for SD)
    int overlap = 16; ///< latent pixels, < tileSize
};

struct VaeOptions {
    std::string path;
    std::string device = "auto"; ///< cpu, cuda[:N], mps or auto
    DType dtype = DType::Float32; ///< fp16 needs CUDA
    std::optional<VaeTiling> tiling;
};

struct VaeInfo {
    std::string path;
    std::string layout; ///< "ldm", "diffusers" or "diffusers-legacy"
    std::string description; ///< the architecture in one line
    int latentChannels = 4;
    int downsampleFactor = 8; ///< image pixels per latent pixel
    double scalingFactor = 0.18215; ///< latents = (z - shiftFactor) * scalingFactor
    double shiftFactor = 0.0;
};

class Vae {
public:
    virtual ~Vae() = default;
    virtual const VaeInfo &info() const = 0;
    /// Images (same size, sides multiples of downsampleFactor) -> latents [N, C, H/f, W/f] in diffusion
    /// space. mean: the posterior mean; else a sample drawn on the CPU with `seed`, so the same seed
    /// gives the same latents on every device.
    virtual Result<HostTensor> encode(const std::vector<Image> &images, bool mean, std::uint64_t seed) = 0;
    /// Latents [N, C, h, w] (or [C, h, w]) in diffusion space -> N RGB images.
    virtual Result<std::vector<Image>> decode(const HostTensor &latents) = 0;
};

/// Load the VAE. Errors name the file: not found, not a VAE, shapes that disagree with its config.
Result<std::unique_ptr<Vae>> openVae(const VaeOptions &options);

} // namespace ditstudio
