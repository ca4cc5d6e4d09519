// The public VAE (ditstudio/vae.h): images <-> diffusion latents with a Stable Diffusion VAE, for the
// CLI's vae encode/decode and other callers that need no DiT.
#include "ditstudio/vae.h"

#include "common/errors.h"
#include "core/tensor_image.h"
#include "core/torch_types.h"
#include "ditstudio/runtime.h"
#include "model/vae.h"
#include "model/vae_loader.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

namespace ditstudio {

namespace {

class VaeImpl final : public Vae {
public:
    VaeImpl(AutoencoderKL vae, VaeInfo info, torch::Device device, torch::ScalarType dtype,
            std::optional<VaeTiling> tiling)
        : m_vae(std::move(vae)), m_info(std::move(info)), m_device(device), m_dtype(dtype), m_tiling(tiling)
    {
    }

    const VaeInfo &info() const override { return m_info; }

    Result<HostTensor> encode(const std::vector<Image> &images, bool mean, std::uint64_t seed) override
    {
        return guarded("VAE encode", [&] {
            if (images.empty())
                fail(ErrorCode::InvalidArgument, "VAE encode: no images");
            const int f = m_info.downsampleFactor;
            for (const auto &image : images) {
                if (image.width != images[0].width || image.height != images[0].height)
                    fail(ErrorCode::ShapeMismatch,
                         std::to_string(image.width) + "x" + std::to_string(image.height)
                             + " differs from the first image's " + std::to_string(images[0].width) + "x"
                             + std::to_string(images[0].height)
                             + "; encode images of different sizes separately");
                if (image.width % f || image.height % f)
                    fail(ErrorCode::InvalidArgument,
                         std::to_string(image.width) + "x" + std::to_string(image.height)
                             + " is not a multiple of " + std::to_string(f)
                             + " (the VAE's downsampling factor); crop or resize the image");
            }
            torch::InferenceMode guard;
            auto gen = at::detail::createCPUGenerator(seed);
            std::vector<torch::Tensor> latents;
            for (const auto &image : images) {
                const auto x = imageToTensor(image).to(m_device, m_dtype); // [1, 3, H, W] in [-1, 1]
                const VaeMoments m = m_tiling ? m_vae->encodeTiled(x, *m_tiling) : m_vae->encode(x);
                const auto mu = m.mean.to(torch::kCPU, torch::kFloat32);
                const auto logvar = m.logvar.to(torch::kCPU, torch::kFloat32);
                // Sampled on the CPU with one generator: the same seed gives the same latents everywhere.
                const auto z = mean ? mu : AutoencoderKLImpl::sample(mu, logvar, gen);
                latents.push_back((z - m_info.shiftFactor) * m_info.scalingFactor);
            }
            return toHost(torch::cat(latents, 0));
        });
    }

    Result<std::vector<Image>> decode(const HostTensor &latents) override
    {
        return guarded("VAE decode", [&] {
            auto z = fromHost(latents);
            if (z.dim() == 3)
                z = z.unsqueeze(0);
            if (z.dim() != 4 || z.size(1) != m_info.latentChannels)
                fail(ErrorCode::ShapeMismatch,
                     "latents of shape " + c10::str(z.sizes()) + "; the VAE expects [N, "
                         + std::to_string(m_info.latentChannels) + ", h, w]");
            torch::InferenceMode guard;
            std::vector<Image> images;
            for (int64_t i = 0; i < z.size(0); ++i) {
                const auto image = m_vae->decodeLatents(z.narrow(0, i, 1).to(m_device, m_dtype), m_tiling);
                images.push_back(tensorToImages(image.to(torch::kFloat32)).at(0));
            }
            return images;
        });
    }

private:
    AutoencoderKL m_vae;
    VaeInfo m_info;
    torch::Device m_device;
    torch::ScalarType m_dtype;
    std::optional<VaeTiling> m_tiling;
};

} // namespace

Result<std::unique_ptr<Vae>> openVae(const VaeOptions &options)
{
    return guarded({}, [&]() -> std::unique_ptr<Vae> {
        const torch::Device device = toTorchDevice(options.device);
        const auto dtype = toTorchDType(options.dtype);
        if (dtype == torch::kFloat16 && device.is_cpu())
            fail(ErrorCode::Unsupported, "fp16 needs a CUDA device; use fp32 or bf16 on the CPU");
        if (options.tiling
            && (options.tiling->tileSize < 4 || options.tiling->overlap < 0
                || options.tiling->overlap >= options.tiling->tileSize))
            fail(ErrorCode::InvalidArgument,
                 "VAE tiling: the tile size must be >= 4 and the overlap in [0, tile)");
        LoadedVae loaded;
        try {
            loaded = readVaeCheckpoint(options.path);
        } catch (const DitException &e) {
            fail(e.code(), std::string("VAE ") + e.what());
        }
        VaeInfo info;
        info.path = loaded.info.path;
        info.layout = loaded.info.layout;
        info.description = loaded.info.config.describe();
        info.latentChannels = loaded.info.config.latentChannels;
        info.downsampleFactor = loaded.info.config.downsampleFactor();
        info.scalingFactor = loaded.info.config.scalingFactor;
        info.shiftFactor = loaded.info.config.shiftFactor;
        auto vae = buildVae(loaded, device, dtype);
        spdlog::info("VAE {}: {} ({} layout, scaling factor {})", info.path, info.description, info.layout,
                     info.scalingFactor);
        return std::make_unique<VaeImpl>(std::move(vae), std::move(info), device, dtype, options.tiling);
    });
}

} // namespace ditstudio
