#include "model/vae.h"

#include "common/errors.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace ditstudio {

namespace {

constexpr double kLogvarMin = -30.0; // Ref: ldm DiagonalGaussianDistribution: clamp(logvar, -30, 20)
constexpr double kLogvarMax = 20.0;
// Upper bound on the elements of one attention-score chunk (2^26 -> 256 MiB in float32). Chunking the
// queries is exact; it only bounds memory for large latents.
constexpr std::int64_t kAttentionChunkElements = std::int64_t(1) << 26;

torch::nn::GroupNorm groupNorm(int channels, const VaeConfig &c)
{
    return torch::nn::GroupNorm(
        torch::nn::GroupNormOptions(c.normNumGroups, channels).eps(c.normEps).affine(true));
}

torch::nn::Conv2d conv(int in, int out, int kernel, int stride = 1, int padding = 0)
{
    return torch::nn::Conv2d(
        torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding).bias(true));
}

c10::optional<at::Generator> toC10(const std::optional<at::Generator> &g)
{
    return g ? c10::optional<at::Generator>(*g) : c10::nullopt;
}

// Blend weights of tile `index` along one dimension, in output pixels (latent pixels * scale):
// linear ramps (j + 1) / (L + 1) across the overlap with each neighbour, so that the two neighbours'
// weights sum to 1 there, and 1 elsewhere. Ref: the linear blending of diffusers'
// AutoencoderKL.tiled_decode (blend_v / blend_h), normalized by the weight sum instead of cropping.
torch::Tensor rampWeights(const std::vector<std::int64_t> &starts, size_t index, std::int64_t tile,
                          std::int64_t size, std::int64_t scale)
{
    const std::int64_t len = std::min(tile, size) * scale;
    std::vector<float> w(static_cast<size_t>(len), 1.0F);
    auto ramp = [&](std::int64_t overlap, bool leading) {
        for (std::int64_t j = 0; j < overlap && j < len; ++j) {
            const float v = static_cast<float>(j + 1) / static_cast<float>(overlap + 1);
            auto &dst = w[static_cast<size_t>(leading ? j : len - 1 - j)];
            dst = std::min(dst, v);
        }
    };
    if (index > 0)
        ramp((starts[index - 1] + tile - starts[index]) * scale, true);
    if (index + 1 < starts.size())
        ramp((starts[index] + tile - starts[index + 1]) * scale, false);
    return torch::tensor(w, torch::kFloat32); // [len]
}

void requireImage(const torch::Tensor &x, const VaeConfig &c, const char *what)
{
    const int f = c.downsampleFactor();
    if (x.dim() != 4 || x.size(1) != c.inChannels || x.size(2) % f != 0 || x.size(3) % f != 0) {
        std::ostringstream s;
        s << "VAE " << what << ": expected an image [N, " << c.inChannels
          << ", H, W] with H and W multiples of " << f << ", got " << x.sizes();
        fail(ErrorCode::ShapeMismatch, s.str());
    }
}

void requireLatent(const torch::Tensor &z, const VaeConfig &c, const char *what)
{
    if (z.dim() != 4 || z.size(1) != c.latentChannels) {
        std::ostringstream s;
        s << "VAE " << what << ": expected latents [N, " << c.latentChannels << ", h, w], got " << z.sizes();
        fail(ErrorCode::ShapeMismatch, s.str());
    }
}

void checkTiling(const VaeTiling &t)
{
    if (t.tileSize < 1 || t.overlap < 0 || t.overlap >= t.tileSize)
        fail(ErrorCode::InvalidArgument,
             "VAE tiling: need tileSize >= 1 and 0 <= overlap < tileSize (got tile "
                 + std::to_string(t.tileSize) + ", overlap " + std::to_string(t.overlap) + ")");
}

} // namespace

// ---------------------------------------------------------------------------------------------
std::vector<std::pair<std::string, std::vector<std::int64_t>>> VaeConfig::parameterShapes() const
{
    std::vector<std::pair<std::string, std::vector<std::int64_t>>> out;
    auto convP = [&](const std::string &key, std::int64_t in, std::int64_t o, std::int64_t k) {
        out.push_back({key + ".weight", {o, in, k, k}});
        out.push_back({key + ".bias", {o}});
    };
    auto normP = [&](const std::string &key, std::int64_t c) {
        out.push_back({key + ".weight", {c}});
        out.push_back({key + ".bias", {c}});
    };
    auto resnet = [&](const std::string &key, std::int64_t in, std::int64_t o) {
        normP(key + ".norm1", in);
        convP(key + ".conv1", in, o, 3);
        normP(key + ".norm2", o);
        convP(key + ".conv2", o, o, 3);
        if (in != o)
            convP(key + ".nin_shortcut", in, o, 1);
    };
    auto mid = [&](const std::string &key, std::int64_t c) {
        resnet(key + ".block_1", c, c);
        normP(key + ".attn_1.norm", c);
        for (const char *p : {".attn_1.q", ".attn_1.k", ".attn_1.v", ".attn_1.proj_out"})
            convP(key + p, c, c, 1);
        resnet(key + ".block_2", c, c);
    };
    const int levels = numLevels();
    const auto &ch = blockOutChannels;
    // Encoder
    convP("encoder.conv_in", inChannels, ch[0], 3);
    for (int i = 0; i < levels; ++i) {
        const std::string l = "encoder.down." + std::to_string(i);
        std::int64_t in = i == 0 ? ch[0] : ch[i - 1];
        for (int j = 0; j < layersPerBlock; ++j) {
            resnet(l + ".block." + std::to_string(j), in, ch[i]);
            in = ch[i];
        }
        if (i != levels - 1)
            convP(l + ".downsample.conv", ch[i], ch[i], 3);
    }
    mid("encoder.mid", ch[levels - 1]);
    normP("encoder.norm_out", ch[levels - 1]);
    convP("encoder.conv_out", ch[levels - 1], 2 * latentChannels, 3);
    // Decoder
    convP("decoder.conv_in", latentChannels, ch[levels - 1], 3);
    mid("decoder.mid", ch[levels - 1]);
    for (int i = 0; i < levels; ++i) {
        const std::string l = "decoder.up." + std::to_string(i);
        std::int64_t in = i == levels - 1 ? ch[levels - 1] : ch[i + 1];
        for (int j = 0; j < layersPerBlock + 1; ++j) {
            resnet(l + ".block." + std::to_string(j), in, ch[i]);
            in = ch[i];
        }
        if (i != 0)
            convP(l + ".upsample.conv", ch[i], ch[i], 3);
    }
    normP("decoder.norm_out", ch[0]);
    convP("decoder.conv_out", ch[0], outChannels, 3);
    if (useQuantConv) {
        convP("quant_conv", 2 * latentChannels, 2 * latentChannels, 1);
        convP("post_quant_conv", latentChannels, latentChannels, 1);
    }
    return out;
}

std::int64_t VaeConfig::parameterCount() const
{
    std::int64_t n = 0;
    for (const auto &[key, shape] : parameterShapes()) {
        std::int64_t k = 1;
        for (auto d : shape)
            k *= d;
        n += k;
    }
    return n;
}

std::string VaeConfig::validationError() const
{
    if (blockOutChannels.empty())
        return "block_out_channels is empty";
    if (normNumGroups < 1)
        return "norm_num_groups must be positive (got " + std::to_string(normNumGroups) + ")";
    for (size_t i = 0; i < blockOutChannels.size(); ++i)
        if (blockOutChannels[i] < 1 || blockOutChannels[i] % normNumGroups != 0)
            return "block_out_channels[" + std::to_string(i) + "] = " + std::to_string(blockOutChannels[i])
                + " is not a positive multiple of norm_num_groups " + std::to_string(normNumGroups);
    if (blockOutChannels.size() > 8)
        return "too many levels (" + std::to_string(blockOutChannels.size()) + ")";
    if (layersPerBlock < 1)
        return "layers_per_block must be at least 1 (got " + std::to_string(layersPerBlock) + ")";
    if (latentChannels < 1 || inChannels < 1 || outChannels < 1)
        return "latent_channels, in_channels and out_channels must be positive";
    if (!(scalingFactor > 0))
        return "scaling_factor must be positive";
    if (!(normEps > 0))
        return "norm eps must be positive";
    return {};
}

std::string VaeConfig::describe() const
{
    std::ostringstream s;
    s << "AutoencoderKL(ch ";
    for (size_t i = 0; i < blockOutChannels.size(); ++i)
        s << (i ? "," : "") << blockOutChannels[i];
    s << "; " << layersPerBlock << " layers; z " << latentChannels << ")";
    return s.str();
}

// ---------------------------------------------------------------------------------------------
VaeResnetBlockImpl::VaeResnetBlockImpl(int inChannels, int outChannels, const VaeConfig &config)
{
    norm1 = register_module("norm1", groupNorm(inChannels, config));
    conv1 = register_module("conv1", conv(inChannels, outChannels, 3, 1, 1));
    norm2 = register_module("norm2", groupNorm(outChannels, config));
    conv2 = register_module("conv2", conv(outChannels, outChannels, 3, 1, 1));
    if (inChannels != outChannels)
        nin_shortcut = register_module("nin_shortcut", conv(inChannels, outChannels, 1));
}

torch::Tensor VaeResnetBlockImpl::forward(const torch::Tensor &x)
{
    // Ref: ldm model.py ResnetBlock (temb_channels = 0, dropout inactive in eval).
    auto h = conv1->forward(torch::silu(norm1->forward(x))); // [N, Cout, H, W]
    h = conv2->forward(torch::silu(norm2->forward(h)));
    return (nin_shortcut ? nin_shortcut->forward(x) : x) + h;
}

// ---------------------------------------------------------------------------------------------
VaeAttnBlockImpl::VaeAttnBlockImpl(int channels, const VaeConfig &config)
{
    norm = register_module("norm", groupNorm(channels, config));
    q = register_module("q", conv(channels, channels, 1));
    k = register_module("k", conv(channels, channels, 1));
    v = register_module("v", conv(channels, channels, 1));
    proj_out = register_module("proj_out", conv(channels, channels, 1));
}

torch::Tensor VaeAttnBlockImpl::forward(const torch::Tensor &x)
{
    // Ref: ldm model.py AttnBlock: one head over the H*W positions, scale C^-0.5.
    const auto n = x.size(0), c = x.size(1), hgt = x.size(2), wid = x.size(3);
    const auto t = hgt * wid;
    auto h = norm->forward(x);
    auto qf = q->forward(h).reshape({n, c, t}).transpose(1, 2); // [N, T, C]
    auto kf = k->forward(h).reshape({n, c, t}); // [N, C, T]
    auto vf = v->forward(h).reshape({n, c, t}).transpose(1, 2); // [N, T, C]
    const double scale = 1.0 / std::sqrt(static_cast<double>(c));
    const bool lowPrecision = x.scalar_type() == torch::kHalf || x.scalar_type() == torch::kBFloat16;
    const std::int64_t chunk
        = std::max<std::int64_t>(1, kAttentionChunkElements / std::max<std::int64_t>(1, n * t));
    std::vector<torch::Tensor> parts;
    for (std::int64_t s = 0; s < t; s += chunk) {
        const auto len = std::min(chunk, t - s);
        auto scores = torch::bmm(qf.narrow(1, s, len), kf) * scale; // [N, len, T]
        auto probs = lowPrecision ? torch::softmax(scores, -1, torch::kFloat32).to(x.scalar_type())
                                  : torch::softmax(scores, -1);
        parts.push_back(torch::bmm(probs, vf)); // [N, len, C]
    }
    auto out = (parts.size() == 1 ? parts.front() : torch::cat(parts, 1))
                   .transpose(1, 2)
                   .reshape({n, c, hgt, wid});
    return x + proj_out->forward(out);
}

// ---------------------------------------------------------------------------------------------
VaeDownsampleImpl::VaeDownsampleImpl(int channels)
{
    conv = register_module("conv", ditstudio::conv(channels, channels, 3, 2, 0));
}

torch::Tensor VaeDownsampleImpl::forward(const torch::Tensor &x)
{
    // Ref: ldm model.py Downsample(with_conv=True): asymmetric zero padding (right, bottom).
    return conv->forward(torch::constant_pad_nd(x, {0, 1, 0, 1}, 0)); // [N, C, H/2, W/2]
}

VaeUpsampleImpl::VaeUpsampleImpl(int channels)
{
    conv = register_module("conv", ditstudio::conv(channels, channels, 3, 1, 1));
}

torch::Tensor VaeUpsampleImpl::forward(const torch::Tensor &x)
{
    // Ref: ldm model.py Upsample(with_conv=True): F.interpolate(scale_factor=2.0, mode="nearest").
    auto up = torch::upsample_nearest2d(x, {x.size(2) * 2, x.size(3) * 2}); // [N, C, 2H, 2W]
    return conv->forward(up);
}

// ---------------------------------------------------------------------------------------------
VaeDownLevelImpl::VaeDownLevelImpl(int inChannels, int outChannels, int numBlocks, bool withDownsample,
                                   const VaeConfig &config)
{
    block = register_module("block", torch::nn::ModuleList());
    for (int j = 0; j < numBlocks; ++j) {
        m_blocks.emplace_back(j == 0 ? inChannels : outChannels, outChannels, config);
        block->push_back(m_blocks.back());
    }
    if (withDownsample)
        downsample = register_module("downsample", VaeDownsample(outChannels));
}

torch::Tensor VaeDownLevelImpl::forward(torch::Tensor x)
{
    for (auto &b : m_blocks)
        x = b->forward(x);
    return downsample ? downsample->forward(x) : x;
}

VaeUpLevelImpl::VaeUpLevelImpl(int inChannels, int outChannels, int numBlocks, bool withUpsample,
                               const VaeConfig &config)
{
    block = register_module("block", torch::nn::ModuleList());
    for (int j = 0; j < numBlocks; ++j) {
        m_blocks.emplace_back(j == 0 ? inChannels : outChannels, outChannels, config);
        block->push_back(m_blocks.back());
    }
    if (withUpsample)
        upsample = register_module("upsample", VaeUpsample(outChannels));
}

torch::Tensor VaeUpLevelImpl::forward(torch::Tensor x)
{
    for (auto &b : m_blocks)
        x = b->forward(x);
    return upsample ? upsample->forward(x) : x;
}

VaeMidBlockImpl::VaeMidBlockImpl(int channels, const VaeConfig &config)
{
    block_1 = register_module("block_1", VaeResnetBlock(channels, channels, config));
    attn_1 = register_module("attn_1", VaeAttnBlock(channels, config));
    block_2 = register_module("block_2", VaeResnetBlock(channels, channels, config));
}

torch::Tensor VaeMidBlockImpl::forward(const torch::Tensor &x)
{
    return block_2->forward(attn_1->forward(block_1->forward(x)));
}

// ---------------------------------------------------------------------------------------------
VaeEncoderImpl::VaeEncoderImpl(const VaeConfig &config)
{
    const auto &ch = config.blockOutChannels;
    const int levels = config.numLevels();
    conv_in = register_module("conv_in", conv(config.inChannels, ch[0], 3, 1, 1));
    down = register_module("down", torch::nn::ModuleList());
    for (int i = 0; i < levels; ++i) {
        m_levels.emplace_back(i == 0 ? ch[0] : ch[i - 1], ch[i], config.layersPerBlock, i != levels - 1,
                              config);
        down->push_back(m_levels.back());
    }
    mid = register_module("mid", VaeMidBlock(ch[levels - 1], config));
    norm_out = register_module("norm_out", groupNorm(ch[levels - 1], config));
    conv_out = register_module("conv_out", conv(ch[levels - 1], 2 * config.latentChannels, 3, 1, 1));
}

torch::Tensor VaeEncoderImpl::forward(const torch::Tensor &x)
{
    auto h = conv_in->forward(x); // [N, ch0, H, W]
    for (auto &level : m_levels)
        h = level->forward(h); // [N, ch_i, H / 2^i, W / 2^i] after level i's downsample
    h = mid->forward(h);
    return conv_out->forward(torch::silu(norm_out->forward(h))); // [N, 2 * latent, H/f, W/f]
}

VaeDecoderImpl::VaeDecoderImpl(const VaeConfig &config)
{
    const auto &ch = config.blockOutChannels;
    const int levels = config.numLevels();
    conv_in = register_module("conv_in", conv(config.latentChannels, ch[levels - 1], 3, 1, 1));
    mid = register_module("mid", VaeMidBlock(ch[levels - 1], config));
    // Registered as up.0 .. up.(L-1) like the reference (which inserts at the front while building from
    // the top level down); level i's first block takes the channels of level i + 1.
    up = register_module("up", torch::nn::ModuleList());
    for (int i = 0; i < levels; ++i) {
        m_levels.emplace_back(i == levels - 1 ? ch[levels - 1] : ch[i + 1], ch[i], config.layersPerBlock + 1,
                              i != 0, config);
        up->push_back(m_levels.back());
    }
    norm_out = register_module("norm_out", groupNorm(ch[0], config));
    conv_out = register_module("conv_out", conv(ch[0], config.outChannels, 3, 1, 1));
}

torch::Tensor VaeDecoderImpl::forward(const torch::Tensor &z)
{
    auto h = mid->forward(conv_in->forward(z)); // [N, ch_top, h, w]
    for (auto it = m_levels.rbegin(); it != m_levels.rend(); ++it)
        h = (*it)->forward(h); // doubles the resolution except on level 0
    return conv_out->forward(torch::silu(norm_out->forward(h))); // [N, outC, h*f, w*f]
}

// ---------------------------------------------------------------------------------------------
AutoencoderKLImpl::AutoencoderKLImpl(const VaeConfig &config) : m_config(config)
{
    if (const auto err = config.validationError(); !err.empty())
        fail(ErrorCode::InvalidArgument, "VAE config: " + err);
    encoder = register_module("encoder", VaeEncoder(config));
    decoder = register_module("decoder", VaeDecoder(config));
    if (config.useQuantConv) {
        quant_conv
            = register_module("quant_conv", conv(2 * config.latentChannels, 2 * config.latentChannels, 1));
        post_quant_conv
            = register_module("post_quant_conv", conv(config.latentChannels, config.latentChannels, 1));
    }
}

VaeMoments AutoencoderKLImpl::encode(const torch::Tensor &x)
{
    requireImage(x, m_config, "encode");
    auto moments = encoder->forward(x); // [N, 2 * latent, h, w]
    if (quant_conv)
        moments = quant_conv->forward(moments);
    auto parts = moments.chunk(2, 1);
    return {parts[0], parts[1].clamp(kLogvarMin, kLogvarMax)};
}

torch::Tensor AutoencoderKLImpl::decode(const torch::Tensor &z)
{
    requireLatent(z, m_config, "decode");
    return decoder->forward(post_quant_conv ? post_quant_conv->forward(z) : z);
}

torch::Tensor AutoencoderKLImpl::sample(const torch::Tensor &mean, const torch::Tensor &logvar,
                                        std::optional<at::Generator> generator)
{
    auto eps = torch::randn(mean.sizes(), toC10(generator), mean.options());
    return mean + torch::exp(0.5 * logvar) * eps;
}

torch::Tensor AutoencoderKLImpl::encodeLatents(const torch::Tensor &x, bool sampled,
                                               std::optional<at::Generator> generator,
                                               const std::optional<VaeTiling> &tiling)
{
    const auto m = tiling ? encodeTiled(x, *tiling) : encode(x);
    auto z = sampled ? sample(m.mean, m.logvar, generator) : m.mean;
    return (z - m_config.shiftFactor) * m_config.scalingFactor;
}

torch::Tensor AutoencoderKLImpl::decodeLatents(const torch::Tensor &latents,
                                               const std::optional<VaeTiling> &tiling)
{
    auto z = latents / m_config.scalingFactor + m_config.shiftFactor;
    return tiling ? decodeTiled(z, *tiling) : decode(z);
}

// ---------------------------------------------------------------------------------------------
std::vector<std::int64_t> vaeTileStarts(std::int64_t size, std::int64_t tile, std::int64_t overlap)
{
    std::vector<std::int64_t> starts {0};
    if (size <= tile)
        return starts;
    const std::int64_t stride = std::max<std::int64_t>(1, tile - overlap);
    std::int64_t s = 0;
    while (s + tile < size) {
        s = std::min(s + stride, size - tile);
        starts.push_back(s);
    }
    return starts;
}

torch::Tensor AutoencoderKLImpl::decodeTiled(const torch::Tensor &z, const VaeTiling &tiling)
{
    checkTiling(tiling);
    requireLatent(z, m_config, "decode");
    const std::int64_t h = z.size(2), w = z.size(3), t = tiling.tileSize, f = m_config.downsampleFactor();
    if (h <= t && w <= t)
        return decode(z);
    const auto rows = vaeTileStarts(h, t, tiling.overlap);
    const auto cols = vaeTileStarts(w, t, tiling.overlap);
    torch::Tensor out; // [N, outC, h*f, w*f], weighted sum of tiles
    torch::Tensor weight; // [1, 1, h*f, w*f], sum of weights
    for (size_t r = 0; r < rows.size(); ++r) {
        const auto wr = rampWeights(rows, r, t, h, f).to(z.device()); // [th*f]
        for (size_t c = 0; c < cols.size(); ++c) {
            const std::int64_t th = std::min(t, h), tw = std::min(t, w);
            auto img = decode(z.narrow(2, rows[r], th).narrow(3, cols[c], tw)); // [N, outC, th*f, tw*f]
            if (!out.defined()) {
                out = torch::zeros({z.size(0), img.size(1), h * f, w * f},
                                   img.options().dtype(torch::kFloat32));
                weight = torch::zeros({1, 1, h * f, w * f}, out.options());
            }
            const auto wc = rampWeights(cols, c, t, w, f).to(z.device());
            const auto wt = (wr.unsqueeze(1) * wc.unsqueeze(0)).view({1, 1, th * f, tw * f});
            out.narrow(2, rows[r] * f, th * f)
                .narrow(3, cols[c] * f, tw * f)
                .add_(img.to(torch::kFloat32) * wt);
            weight.narrow(2, rows[r] * f, th * f).narrow(3, cols[c] * f, tw * f).add_(wt);
        }
    }
    return (out / weight).to(z.scalar_type());
}

VaeMoments AutoencoderKLImpl::encodeTiled(const torch::Tensor &x, const VaeTiling &tiling)
{
    checkTiling(tiling);
    requireImage(x, m_config, "encode");
    const std::int64_t f = m_config.downsampleFactor();
    const std::int64_t h = x.size(2) / f, w = x.size(3) / f, t = tiling.tileSize;
    if (h <= t && w <= t)
        return encode(x);
    const auto rows = vaeTileStarts(h, t, tiling.overlap);
    const auto cols = vaeTileStarts(w, t, tiling.overlap);
    torch::Tensor out; // [N, 2 * latent, h, w]: mean and logvar, blended in latent space
    torch::Tensor weight; // [1, 1, h, w]
    for (size_t r = 0; r < rows.size(); ++r) {
        const auto wr = rampWeights(rows, r, t, h, 1).to(x.device());
        for (size_t c = 0; c < cols.size(); ++c) {
            const std::int64_t th = std::min(t, h), tw = std::min(t, w);
            const auto m = encode(x.narrow(2, rows[r] * f, th * f).narrow(3, cols[c] * f, tw * f));
            auto both = torch::cat({m.mean, m.logvar}, 1).to(torch::kFloat32); // [N, 2 * latent, th, tw]
            if (!out.defined()) {
                out = torch::zeros({x.size(0), both.size(1), h, w}, both.options());
                weight = torch::zeros({1, 1, h, w}, out.options());
            }
            const auto wc = rampWeights(cols, c, t, w, 1).to(x.device());
            const auto wt = (wr.unsqueeze(1) * wc.unsqueeze(0)).view({1, 1, th, tw});
            out.narrow(2, rows[r], th).narrow(3, cols[c], tw).add_(both * wt);
            weight.narrow(2, rows[r], th).narrow(3, cols[c], tw).add_(wt);
        }
    }
    auto parts = (out / weight).to(x.scalar_type()).chunk(2, 1);
    return {parts[0], parts[1].clamp(kLogvarMin, kLogvarMax)};
}

// ---------------------------------------------------------------------------------------------
std::int64_t vaeDecodeBytes(const VaeConfig &config, std::int64_t batch, std::int64_t h, std::int64_t w,
                            std::int64_t elementSize)
{
    // About four tensors of the widest stage are alive at once (input kept for the residual, norm,
    // activation, conv output); the mid-block attention adds one chunk of scores and probabilities.
    const auto &ch = config.blockOutChannels;
    const int levels = config.numLevels();
    const std::int64_t tokens = h * w;
    const std::int64_t scores
        = std::min(tokens * tokens, kAttentionChunkElements / std::max<std::int64_t>(1, batch));
    std::int64_t peak = 4 * ch[levels - 1] * tokens + 2 * scores;
    std::int64_t res = tokens;
    for (int i = levels - 1; i >= 0; --i) {
        const std::int64_t in = i == levels - 1 ? ch[levels - 1] : ch[i + 1];
        peak = std::max(peak, 4 * std::max<std::int64_t>(in, ch[i]) * res);
        if (i != 0) {
            res *= 4;
            peak = std::max(peak, ch[i] * (res / 4) + 2 * ch[i] * res); // input, interpolated, conv output
        }
    }
    peak = std::max(peak, 3 * ch[0] * res + config.outChannels * res);
    return batch * peak * elementSize;
}

std::int64_t vaeEncodeBytes(const VaeConfig &config, std::int64_t batch, std::int64_t height,
                            std::int64_t width, std::int64_t elementSize)
{
    const auto &ch = config.blockOutChannels;
    const int levels = config.numLevels();
    std::int64_t res = height * width;
    std::int64_t peak = (config.inChannels + 3 * ch[0]) * res;
    for (int i = 0; i < levels; ++i) {
        const std::int64_t in = i == 0 ? ch[0] : ch[i - 1];
        peak = std::max(peak, 4 * std::max<std::int64_t>(in, ch[i]) * res);
        if (i != levels - 1)
            res /= 4;
    }
    peak
        = std::max(peak,
                   4 * ch[levels - 1] * res
                       + 2 * std::min(res * res, kAttentionChunkElements / std::max<std::int64_t>(1, batch)));
    return batch * peak * elementSize;
}

std::optional<VaeTiling> vaeTilingForDecode(const VaeConfig &config, std::int64_t batch, std::int64_t h,
                                            std::int64_t w, std::int64_t elementSize, std::int64_t capBytes)
{
    if (vaeDecodeBytes(config, batch, h, w, elementSize) <= capBytes)
        return std::nullopt;
    // The float32 accumulators of the blended output stay alive across tiles.
    const std::int64_t f = config.downsampleFactor();
    const std::int64_t accumulators = (batch * config.outChannels + 1) * h * f * w * f * 4;
    const std::int64_t largest = std::max(h, w);
    VaeTiling best {16, 4};
    for (std::int64_t t = (largest / 8) * 8; t >= 16; t -= 8) {
        if (vaeDecodeBytes(config, batch, t, t, elementSize) + accumulators <= capBytes) {
            best = VaeTiling {static_cast<int>(t), static_cast<int>(t / 4)};
            break;
        }
    }
    return best;
}

} // namespace ditstudio
