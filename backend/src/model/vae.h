#pragma once
// AutoencoderKL: the Stable Diffusion VAE (KL-regularized autoencoder with a 4-channel latent).
// Ref: Rombach et al., "High-Resolution Image Synthesis with Latent Diffusion Models", CVPR 2022;
//      CompVis/latent-diffusion ldm/modules/diffusionmodules/model.py (Encoder, Decoder, ResnetBlock,
//      AttnBlock, Downsample, Upsample) and ldm/models/autoencoder.py (AutoencoderKL,
//      DiagonalGaussianDistribution). Module names equal the ORIGINAL latent-diffusion state_dict keys
//      (encoder.down.0.block.0.conv1, encoder.mid.attn_1.q, quant_conv, decoder.up.3.upsample.conv, ...);
//      other layouts (diffusers) are mapped to them in model/vae_loader.h.
//
// Images are [N, 3, H, W] in [-1, 1]; latents are [N, latent, H/8, W/8] (for 4 levels).
// encode()/decode() are the raw autoencoder (no scaling factor); encodeLatents()/decodeLatents() apply
// the diffusion model's latent scaling (latents = (z - shiftFactor) * scalingFactor).
// Not thread-safe; call from one thread (the model's worker) at a time.

#include "ditstudio/vae.h"

#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ditstudio {

/// Architecture of an AutoencoderKL. Defaults are Stable Diffusion's (sd-vae-ft-ema/mse, kl-f8).
struct VaeConfig {
    std::vector<int> blockOutChannels {128, 256, 512, 512}; ///< per level (ldm: ch * ch_mult)
    int layersPerBlock = 2; ///< ResNet blocks per encoder level; the decoder has one more per level
    int latentChannels = 4; ///< z channels (the encoder's conv_out emits 2x: mean and logvar)
    int inChannels = 3;
    int outChannels = 3;
    int normNumGroups = 32;
    double normEps = 1e-6;
    bool useQuantConv = true; ///< quant_conv / post_quant_conv present (false for SD3/Flux VAEs)
    double scalingFactor = 0.18215; ///< SD 1.x/2.x; SDXL's VAE uses 0.13025
    double shiftFactor = 0.0; ///< latents = (z - shift) * scale; 0 for the SD VAEs

    int numLevels() const { return static_cast<int>(blockOutChannels.size()); }
    /// Spatial downsampling factor between image and latent: 2^(levels - 1) (8 for SD).
    int downsampleFactor() const { return 1 << (numLevels() - 1); }
    /// Every parameter in the original (ldm) layout, in registration order: key and shape.
    /// Lets callers validate a checkpoint and count parameters without allocating weights.
    std::vector<std::pair<std::string, std::vector<std::int64_t>>> parameterShapes() const;
    /// Number of values in all parameters (83,653,863 for the SD VAE).
    std::int64_t parameterCount() const;
    /// Empty when consistent, else a message naming the offending field.
    std::string validationError() const;
    /// "AutoencoderKL(ch 128,256,512,512; 2 layers; z 4)"
    std::string describe() const;
};

/// Posterior moments of the encoder: a diagonal Gaussian, [N, latent, h, w] each.
struct VaeMoments {
    torch::Tensor mean;
    torch::Tensor logvar; ///< clamped to [-30, 20] as the reference does
};

/// Tiled processing: the latent is cut into overlapping square tiles that are processed one by one
/// and blended with linear ramps across the overlaps, so that peak memory depends on the tile size,
/// not on the image size. Results differ slightly from untiled processing (GroupNorm statistics and
/// the mid-block attention see one tile instead of the whole image).
// VaeTiling is public (ditstudio/vae.h).

/// ResNet block without time embedding: x + conv2(silu(norm2(conv1(silu(norm1(x)))))), with a 1x1
/// nin_shortcut when the channel count changes.
struct VaeResnetBlockImpl : torch::nn::Module {
    VaeResnetBlockImpl(int inChannels, int outChannels, const VaeConfig &config);
    torch::Tensor forward(const torch::Tensor &x); // [N, Cin, H, W] -> [N, Cout, H, W]

    torch::nn::GroupNorm norm1 {nullptr}, norm2 {nullptr};
    torch::nn::Conv2d conv1 {nullptr}, conv2 {nullptr};
    torch::nn::Conv2d nin_shortcut {nullptr}; ///< only when inChannels != outChannels
};
TORCH_MODULE(VaeResnetBlock);

/// Single-head spatial self-attention with 1x1-conv projections (q, k, v, proj_out) and a residual.
struct VaeAttnBlockImpl : torch::nn::Module {
    VaeAttnBlockImpl(int channels, const VaeConfig &config);
    torch::Tensor forward(const torch::Tensor &x); // [N, C, H, W] -> [N, C, H, W]

    torch::nn::GroupNorm norm {nullptr};
    torch::nn::Conv2d q {nullptr}, k {nullptr}, v {nullptr}, proj_out {nullptr};
};
TORCH_MODULE(VaeAttnBlock);

/// Pad (0, 1, 0, 1) with zeros, then a stride-2 3x3 conv without padding: [N, C, H, W] -> [N, C, H/2, W/2].
struct VaeDownsampleImpl : torch::nn::Module {
    explicit VaeDownsampleImpl(int channels);
    torch::Tensor forward(const torch::Tensor &x);
    torch::nn::Conv2d conv {nullptr};
};
TORCH_MODULE(VaeDownsample);

/// Nearest-neighbour x2, then a 3x3 conv (padding 1): [N, C, H, W] -> [N, C, 2H, 2W].
struct VaeUpsampleImpl : torch::nn::Module {
    explicit VaeUpsampleImpl(int channels);
    torch::Tensor forward(const torch::Tensor &x);
    torch::nn::Conv2d conv {nullptr};
};
TORCH_MODULE(VaeUpsample);

/// One encoder level ("encoder.down.N"): ResNet blocks, then a downsample except on the last level.
struct VaeDownLevelImpl : torch::nn::Module {
    VaeDownLevelImpl(int inChannels, int outChannels, int numBlocks, bool downsample,
                     const VaeConfig &config);
    torch::Tensor forward(torch::Tensor x);
    torch::nn::ModuleList block {nullptr};
    std::vector<VaeResnetBlock> m_blocks; ///< the same modules as `block`, typed
    VaeDownsample downsample {nullptr};
};
TORCH_MODULE(VaeDownLevel);

/// One decoder level ("decoder.up.N"): ResNet blocks, then an upsample except on level 0.
struct VaeUpLevelImpl : torch::nn::Module {
    VaeUpLevelImpl(int inChannels, int outChannels, int numBlocks, bool upsample, const VaeConfig &config);
    torch::Tensor forward(torch::Tensor x);
    torch::nn::ModuleList block {nullptr};
    std::vector<VaeResnetBlock> m_blocks;
    VaeUpsample upsample {nullptr};
};
TORCH_MODULE(VaeUpLevel);

/// block_1, attn_1, block_2 at the lowest resolution.
struct VaeMidBlockImpl : torch::nn::Module {
    VaeMidBlockImpl(int channels, const VaeConfig &config);
    torch::Tensor forward(const torch::Tensor &x);
    VaeResnetBlock block_1 {nullptr};
    VaeAttnBlock attn_1 {nullptr};
    VaeResnetBlock block_2 {nullptr};
};
TORCH_MODULE(VaeMidBlock);

struct VaeEncoderImpl : torch::nn::Module {
    explicit VaeEncoderImpl(const VaeConfig &config);
    torch::Tensor forward(const torch::Tensor &x); // [N, 3, H, W] -> [N, 2 * latent, H/f, W/f]

    torch::nn::Conv2d conv_in {nullptr};
    torch::nn::ModuleList down {nullptr};
    std::vector<VaeDownLevel> m_levels;
    VaeMidBlock mid {nullptr};
    torch::nn::GroupNorm norm_out {nullptr};
    torch::nn::Conv2d conv_out {nullptr};
};
TORCH_MODULE(VaeEncoder);

struct VaeDecoderImpl : torch::nn::Module {
    explicit VaeDecoderImpl(const VaeConfig &config);
    torch::Tensor forward(const torch::Tensor &z); // [N, latent, h, w] -> [N, 3, h*f, w*f]

    torch::nn::Conv2d conv_in {nullptr};
    VaeMidBlock mid {nullptr};
    torch::nn::ModuleList up {nullptr}; ///< up.N has the channels of level N; run from the top level down
    std::vector<VaeUpLevel> m_levels;
    torch::nn::GroupNorm norm_out {nullptr};
    torch::nn::Conv2d conv_out {nullptr};
};
TORCH_MODULE(VaeDecoder);

struct AutoencoderKLImpl : torch::nn::Module {
    explicit AutoencoderKLImpl(const VaeConfig &config);

    /// x: [N, inC, H, W] in [-1, 1], H and W multiples of downsampleFactor() -> posterior moments
    /// after quant_conv, [N, latent, H/f, W/f] each. No scaling factor.
    VaeMoments encode(const torch::Tensor &x);
    /// z: [N, latent, h, w] -> image [N, outC, h*f, w*f] (post_quant_conv then decoder). No scaling factor.
    torch::Tensor decode(const torch::Tensor &z);

    /// A draw from the posterior: mean + exp(logvar / 2) * eps, eps from `generator` (default generator
    /// of the tensors' device when none).
    static torch::Tensor sample(const torch::Tensor &mean, const torch::Tensor &logvar,
                                std::optional<at::Generator> generator = std::nullopt);

    /// Image -> diffusion latents: (sample or mean - shiftFactor) * scalingFactor.
    /// sampled = false takes the posterior mean (deterministic).
    torch::Tensor encodeLatents(const torch::Tensor &x, bool sampled = true,
                                std::optional<at::Generator> generator = std::nullopt,
                                const std::optional<VaeTiling> &tiling = std::nullopt);
    /// Diffusion latents -> image: decode(latents / scalingFactor + shiftFactor).
    torch::Tensor decodeLatents(const torch::Tensor &latents,
                                const std::optional<VaeTiling> &tiling = std::nullopt);

    /// decode() tile by tile (see VaeTiling); identical to decode() when one tile covers z.
    torch::Tensor decodeTiled(const torch::Tensor &z, const VaeTiling &tiling);
    /// encode() tile by tile; the moments are blended in latent space. tileSize/overlap in latent pixels.
    VaeMoments encodeTiled(const torch::Tensor &x, const VaeTiling &tiling);

    const VaeConfig &config() const { return m_config; }

    VaeConfig m_config;
    VaeEncoder encoder {nullptr};
    VaeDecoder decoder {nullptr};
    torch::nn::Conv2d quant_conv {nullptr}; ///< 1x1, 2*latent -> 2*latent (when useQuantConv)
    torch::nn::Conv2d post_quant_conv {nullptr}; ///< 1x1, latent -> latent (when useQuantConv)
};
TORCH_MODULE(AutoencoderKL);

/// Rough peak bytes of activations for an untiled decode of [batch, latent, h, w] with elements of
/// elementSize bytes (weights not included): about four live tensors of the widest stage, plus one
/// chunk of attention scores. An estimate for choosing tiles, not a measurement.
std::int64_t vaeDecodeBytes(const VaeConfig &config, std::int64_t batch, std::int64_t h, std::int64_t w,
                            std::int64_t elementSize);
/// The same for an untiled encode of [batch, inC, height, width].
std::int64_t vaeEncodeBytes(const VaeConfig &config, std::int64_t batch, std::int64_t height,
                            std::int64_t width, std::int64_t elementSize);
/// The largest square tiling (overlap = tile / 4) whose estimate, plus the float32 accumulators of the
/// blended output, fits capBytes; nullopt when an untiled decode fits. When nothing fits, the
/// smallest tiling (16 latent pixels, overlap 4).
std::optional<VaeTiling> vaeTilingForDecode(const VaeConfig &config, std::int64_t batch, std::int64_t h,
                                            std::int64_t w, std::int64_t elementSize, std::int64_t capBytes);

/// Start offsets of tiles of `tile` covering [0, size) with at least `overlap` shared between
/// neighbours; the last tile is moved back to end at `size`. One tile when size <= tile.
std::vector<std::int64_t> vaeTileStarts(std::int64_t size, std::int64_t tile, std::int64_t overlap);

} // namespace ditstudio
