#include "model/vae_loader.h"

#include "common/errors.h"
#include "io/safetensors.h"
#include "io/torch_checkpoint.h"
#include "model/model_loader.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

namespace ditstudio {

namespace fs = std::filesystem;

namespace {

const std::string kConvInKey = "encoder.conv_in.weight";

std::vector<std::string> split(const std::string &s)
{
    std::vector<std::string> out;
    std::string cur;
    std::istringstream in(s);
    while (std::getline(in, cur, '.'))
        out.push_back(cur);
    return out;
}

// parts[from..] joined with '.', with a leading '.' when not empty.
std::string tail(const std::vector<std::string> &parts, size_t from)
{
    std::string out;
    for (size_t i = from; i < parts.size(); ++i)
        out += "." + parts[i];
    return out;
}

bool startsWith(const std::string &s, const std::string &prefix)
{
    return s.rfind(prefix, 0) == 0;
}

// A non-negative decimal index, or -1.
int parseIndex(const std::string &s)
{
    if (s.empty() || s.size() > 6
        || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return -1;
    return std::stoi(s);
}

std::string shapeText(const std::vector<std::int64_t> &s)
{
    std::ostringstream o;
    o << '[';
    for (size_t i = 0; i < s.size(); ++i)
        o << (i ? ", " : "") << s[i];
    o << ']';
    return o.str();
}

bool isAttentionWeight(const std::string &ldmKey)
{
    for (const char *p :
         {".attn_1.q.weight", ".attn_1.k.weight", ".attn_1.v.weight", ".attn_1.proj_out.weight"}) {
        const std::string suffix = p;
        if (ldmKey.size() > suffix.size()
            && ldmKey.compare(ldmKey.size() - suffix.size(), suffix.size(), suffix) == 0)
            return true;
    }
    return false;
}

std::string resnetParamToLdm(const std::string &name)
{
    return name == "conv_shortcut" ? "nin_shortcut" : name;
}

std::string resnetParamFromLdm(const std::string &name)
{
    return name == "nin_shortcut" ? "conv_shortcut" : name;
}

std::string dtypeName(torch::ScalarType t)
{
    switch (t) {
    case torch::kFloat:
        return "F32";
    case torch::kHalf:
        return "F16";
    case torch::kBFloat16:
        return "BF16";
    case torch::kDouble:
        return "F64";
    default:
        return c10::toString(t);
    }
}

std::string lower(std::string s)
{
    for (auto &c : s)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// Where the VAE's keys start: the prefix of the (unique) "...encoder.conv_in.weight" key.
Result<std::string> findPrefix(const std::vector<TensorSpec> &tensors)
{
    std::vector<std::string> candidates;
    for (const auto &t : tensors) {
        if (t.key.size() < kConvInKey.size()
            || t.key.compare(t.key.size() - kConvInKey.size(), kConvInKey.size(), kConvInKey) != 0)
            continue;
        const std::string p = t.key.substr(0, t.key.size() - kConvInKey.size());
        if (p.empty() || p.back() == '.')
            candidates.push_back(p);
    }
    if (candidates.empty())
        return makeError(
            ErrorCode::FormatError,
            "not an AutoencoderKL (VAE) checkpoint: no 'encoder.conv_in.weight' key (also looked for "
            "it under a prefix such as 'first_stage_model.')");
    if (candidates.size() == 1)
        return candidates.front();
    for (const char *preferred : {"", "first_stage_model."})
        for (const auto &c : candidates)
            if (c == preferred)
                return c;
    for (const auto &c : candidates)
        if (c.size() >= 18 && c.compare(c.size() - 18, 18, "first_stage_model.") == 0)
            return c;
    std::string list;
    for (const auto &c : candidates)
        list += (list.empty() ? "'" : ", '") + c + "'";
    return makeError(ErrorCode::FormatError,
                     "several VAEs in one checkpoint (prefixes " + list + "); cannot choose");
}

struct MappedSpec {
    std::string fileKey; ///< the key as stored (prefix included)
    std::vector<std::int64_t> shape; ///< as stored
    std::vector<std::int64_t> ldmShape; ///< attention linears as 1x1 convs
};

} // namespace

// ---------------------------------------------------------------------------------------------
std::string vaeKeyToLdm(const std::string &key, const std::string &layout, int numLevels)
{
    if (startsWith(key, "quant_conv.") || startsWith(key, "post_quant_conv."))
        return key;
    if (!startsWith(key, "encoder.") && !startsWith(key, "decoder."))
        return {}; // not the VAE (e.g. the training loss' discriminator and LPIPS weights)
    if (layout == "ldm")
        return key;
    const auto p = split(key);
    if (p.size() < 3)
        return key;
    const std::string &side = p[0];
    if (p[1] == "conv_norm_out")
        return side + ".norm_out" + tail(p, 2);
    if (side == "encoder" && p[1] == "down_blocks" && p.size() >= 6 && parseIndex(p[2]) >= 0) {
        if (p[3] == "resnets" && parseIndex(p[4]) >= 0)
            return "encoder.down." + p[2] + ".block." + p[4] + "." + resnetParamToLdm(p[5]) + tail(p, 6);
        if (p[3] == "downsamplers" && p[4] == "0")
            return "encoder.down." + p[2] + ".downsample" + tail(p, 5);
    }
    if (side == "decoder" && p[1] == "up_blocks" && p.size() >= 6) {
        const int i = parseIndex(p[2]);
        if (i >= 0 && i < numLevels) {
            // diffusers numbers the decoder's levels in the order they run (top level first).
            const std::string level = std::to_string(numLevels - 1 - i);
            if (p[3] == "resnets" && parseIndex(p[4]) >= 0)
                return "decoder.up." + level + ".block." + p[4] + "." + resnetParamToLdm(p[5]) + tail(p, 6);
            if (p[3] == "upsamplers" && p[4] == "0")
                return "decoder.up." + level + ".upsample" + tail(p, 5);
        }
    }
    if (p[1] == "mid_block" && p.size() >= 5) {
        if (p[2] == "resnets" && (p[3] == "0" || p[3] == "1"))
            return side + ".mid.block_" + (p[3] == "0" ? "1" : "2") + "." + resnetParamToLdm(p[4])
                + tail(p, 5);
        if (p[2] == "attentions" && p[3] == "0") {
            static const std::map<std::string, std::string> kNames
                = {{"group_norm", "norm"}, {"to_q", "q"}, {"to_k", "k"},  {"to_v", "v"},
                   {"query", "q"},         {"key", "k"},  {"value", "v"}, {"proj_attn", "proj_out"}};
            if (p[4] == "to_out" && p.size() >= 6 && p[5] == "0")
                return side + ".mid.attn_1.proj_out" + tail(p, 6);
            if (auto it = kNames.find(p[4]); it != kNames.end())
                return side + ".mid.attn_1." + it->second + tail(p, 5);
        }
    }
    return key; // conv_in, conv_out, or unknown (reported as unexpected by the validation)
}

std::string vaeKeyFromLdm(const std::string &ldmKey, const std::string &layout, int numLevels)
{
    if (layout == "ldm" || startsWith(ldmKey, "quant_conv.") || startsWith(ldmKey, "post_quant_conv."))
        return ldmKey;
    const bool legacy = layout == "diffusers-legacy";
    const auto p = split(ldmKey);
    if (p.size() < 3)
        return ldmKey;
    const std::string &side = p[0];
    if (p[1] == "norm_out")
        return side + ".conv_norm_out" + tail(p, 2);
    if (side == "encoder" && p[1] == "down" && p.size() >= 5) {
        if (p[3] == "block" && p.size() >= 6)
            return "encoder.down_blocks." + p[2] + ".resnets." + p[4] + "." + resnetParamFromLdm(p[5])
                + tail(p, 6);
        if (p[3] == "downsample")
            return "encoder.down_blocks." + p[2] + ".downsamplers.0" + tail(p, 4);
    }
    if (side == "decoder" && p[1] == "up" && p.size() >= 5 && parseIndex(p[2]) >= 0) {
        const std::string block = std::to_string(numLevels - 1 - parseIndex(p[2]));
        if (p[3] == "block" && p.size() >= 6)
            return "decoder.up_blocks." + block + ".resnets." + p[4] + "." + resnetParamFromLdm(p[5])
                + tail(p, 6);
        if (p[3] == "upsample")
            return "decoder.up_blocks." + block + ".upsamplers.0" + tail(p, 4);
    }
    if (p[1] == "mid" && p.size() >= 4) {
        if (p[2] == "block_1" || p[2] == "block_2")
            return side + ".mid_block.resnets." + (p[2] == "block_1" ? "0" : "1") + "."
                + resnetParamFromLdm(p[3]) + tail(p, 4);
        if (p[2] == "attn_1") {
            static const std::map<std::string, std::pair<std::string, std::string>> kNames
                = {{"norm", {"group_norm", "group_norm"}},
                   {"q", {"to_q", "query"}},
                   {"k", {"to_k", "key"}},
                   {"v", {"to_v", "value"}},
                   {"proj_out", {"to_out.0", "proj_attn"}}};
            if (auto it = kNames.find(p[3]); it != kNames.end())
                return side + ".mid_block.attentions.0." + (legacy ? it->second.second : it->second.first)
                    + tail(p, 4);
        }
    }
    return ldmKey;
}

// ---------------------------------------------------------------------------------------------
Result<VaeCheckpointInfo> detectVaeLayout(const std::vector<TensorSpec> &tensors)
{
    auto prefixResult = findPrefix(tensors);
    if (!prefixResult.ok())
        return prefixResult.error();
    VaeCheckpointInfo info;
    info.prefix = prefixResult.value();

    // The VAE's own keys, prefix removed; everything else is ignored.
    std::vector<std::pair<std::string, const TensorSpec *>> local;
    for (const auto &t : tensors) {
        if (startsWith(t.key, info.prefix))
            local.emplace_back(t.key.substr(info.prefix.size()), &t);
        else
            ++info.ignoredTensors;
    }

    // Layout, from the keys alone.
    bool ldm = false, diffusers = false, legacy = false;
    int diffusersLevels = 0;
    for (const auto &[k, t] : local) {
        ldm = ldm || startsWith(k, "encoder.down.") || startsWith(k, "decoder.up.")
            || startsWith(k, "encoder.mid.") || startsWith(k, "decoder.mid.");
        const bool down = startsWith(k, "encoder.down_blocks."), up = startsWith(k, "decoder.up_blocks.");
        diffusers = diffusers || down || up || startsWith(k, "encoder.mid_block.")
            || startsWith(k, "decoder.mid_block.");
        legacy = legacy || k.find("mid_block.attentions.0.query.") != std::string::npos
            || k.find("mid_block.attentions.0.proj_attn.") != std::string::npos;
        if (down || up) {
            const auto p = split(k);
            diffusersLevels = std::max(diffusersLevels, parseIndex(p.size() > 2 ? p[2] : "") + 1);
        }
    }
    if (ldm && diffusers)
        return makeError(ErrorCode::FormatError,
                         "mixed VAE key layouts: both original (encoder.down.N / mid.attn_1) "
                         "and diffusers (down_blocks / mid_block) keys");
    if (!ldm && !diffusers)
        return makeError(ErrorCode::FormatError,
                         "not an AutoencoderKL (VAE) checkpoint: no encoder.down.* (original) "
                         "or encoder.down_blocks.* (diffusers) keys");
    info.layout = ldm ? "ldm" : (legacy ? "diffusers-legacy" : "diffusers");
    const int numLevels = ldm ? 0 : diffusersLevels;

    // Map to the original names.
    std::map<std::string, MappedSpec> mapped;
    for (const auto &[k, t] : local) {
        const std::string name = vaeKeyToLdm(k, info.layout, numLevels);
        if (name.empty()) {
            ++info.ignoredTensors;
            continue;
        }
        MappedSpec m {t->key, t->shape, t->shape};
        if (isAttentionWeight(name) && m.shape.size() == 2)
            m.ldmShape = {m.shape[0], m.shape[1], 1, 1};
        if (auto [it, inserted] = mapped.emplace(name, m); !inserted)
            return makeError(ErrorCode::FormatError,
                             "tensors '" + it->second.fileKey + "' and '" + t->key + "' both map to '" + name
                                 + "'");
    }
    auto fileName = [&](const std::string &ldmKey) {
        auto it = mapped.find(ldmKey);
        return it != mapped.end() ? it->second.fileKey
                                  : info.prefix + vaeKeyFromLdm(ldmKey, info.layout, std::max(numLevels, 1));
    };
    auto shapeOf = [&](const std::string &ldmKey, size_t rank,
                       const std::string &why) -> Result<std::vector<std::int64_t>> {
        auto it = mapped.find(ldmKey);
        if (it == mapped.end())
            return makeError(ErrorCode::ShapeMismatch,
                             "missing tensor '" + fileName(ldmKey) + "' (needed for " + why + ")");
        if (it->second.ldmShape.size() != rank)
            return makeError(ErrorCode::ShapeMismatch,
                             "tensor '" + it->second.fileKey + "' has shape " + shapeText(it->second.shape)
                                 + ", expected a " + std::to_string(rank) + "-D tensor");
        return it->second.ldmShape;
    };

    // Architecture from shapes.
    VaeConfig &c = info.config;
    int levels = 0, layers = 0, decoderLayers = 0;
    for (const auto &[name, m] : mapped) {
        const auto p = split(name);
        if (p.size() > 4 && p[0] == "encoder" && p[1] == "down") {
            levels = std::max(levels, parseIndex(p[2]) + 1);
            if (p[3] == "block")
                layers = std::max(layers, parseIndex(p[4]) + 1);
        }
        if (p.size() > 4 && p[0] == "decoder" && p[1] == "up" && p[3] == "block")
            decoderLayers = std::max(decoderLayers, parseIndex(p[4]) + 1);
    }
    if (levels < 1 || layers < 1)
        return makeError(ErrorCode::FormatError, "no encoder ResNet blocks found (encoder.down.N.block.M)");
    auto convIn = shapeOf("encoder.conv_in.weight", 4, "in_channels");
    if (!convIn.ok())
        return convIn.error();
    c.inChannels = static_cast<int>(convIn.value()[1]);
    c.blockOutChannels.assign(static_cast<size_t>(levels), 0);
    for (int i = 0; i < levels; ++i) {
        auto s = shapeOf("encoder.down." + std::to_string(i) + ".block.0.conv1.weight", 4,
                         "block_out_channels[" + std::to_string(i) + "]");
        if (!s.ok())
            return s.error();
        c.blockOutChannels[static_cast<size_t>(i)] = static_cast<int>(s.value()[0]);
    }
    c.layersPerBlock = layers;
    if (decoderLayers != layers + 1)
        return makeError(ErrorCode::FormatError,
                         "the decoder has " + std::to_string(decoderLayers)
                             + " ResNet blocks per level, expected layers_per_block + 1 = "
                             + std::to_string(layers + 1));
    auto decIn = shapeOf("decoder.conv_in.weight", 4, "latent_channels");
    if (!decIn.ok())
        return decIn.error();
    c.latentChannels = static_cast<int>(decIn.value()[1]);
    auto decOut = shapeOf("decoder.conv_out.weight", 4, "out_channels");
    if (!decOut.ok())
        return decOut.error();
    c.outChannels = static_cast<int>(decOut.value()[0]);
    c.useQuantConv = mapped.count("quant_conv.weight") || mapped.count("post_quant_conv.weight");

    // Every tensor of that architecture, with its shape.
    std::vector<std::string> missing;
    std::map<std::string, bool> expected;
    for (const auto &[name, shape] : c.parameterShapes()) {
        expected[name] = true;
        auto it = mapped.find(name);
        if (it == mapped.end()) {
            missing.push_back("'" + fileName(name) + "' (expected shape " + shapeText(shape) + ")");
            continue;
        }
        if (it->second.ldmShape != shape) {
            std::string msg = "tensor '" + it->second.fileKey + "' has shape " + shapeText(it->second.shape)
                + ", expected " + shapeText(shape);
            if (info.layout != "ldm")
                msg += " (as original '" + name + "')";
            return makeError(ErrorCode::ShapeMismatch, msg + " for " + c.describe());
        }
        std::int64_t n = 1;
        for (auto d : it->second.shape)
            n *= d;
        info.parameterCount += n;
    }
    if (!missing.empty()) {
        std::string msg = "missing tensor" + std::string(missing.size() > 1 ? "s " : " ");
        for (size_t i = 0; i < missing.size() && i < 5; ++i)
            msg += (i ? ", " : "") + missing[i];
        if (missing.size() > 5)
            msg += " and " + std::to_string(missing.size() - 5) + " more";
        return makeError(ErrorCode::ShapeMismatch,
                         msg + " for " + c.describe() + " (" + info.layout + " layout)");
    }
    for (const auto &[name, m] : mapped)
        if (!expected.count(name))
            info.unexpectedKeys.push_back(m.fileKey);
    return info;
}

StateDict vaeStateDictToLdm(const StateDict &sd, const VaeCheckpointInfo &info)
{
    StateDict out;
    out.metadata = sd.metadata;
    out.container = sd.container;
    out.source = sd.source;
    const int numLevels = info.config.numLevels();
    for (const auto &[k, t] : sd.tensors) {
        if (!startsWith(k, info.prefix))
            continue;
        const std::string name = vaeKeyToLdm(k.substr(info.prefix.size()), info.layout, numLevels);
        if (name.empty())
            continue;
        out.tensors[name]
            = isAttentionWeight(name) && t.dim() == 2 ? t.reshape({t.size(0), t.size(1), 1, 1}) : t;
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
namespace {

bool isTorchPickleFile(const fs::path &p)
{
    const auto ext = lower(p.extension().string());
    return ext == ".pt" || ext == ".pth" || ext == ".bin" || ext == ".ckpt" || ext == ".pkl";
}

// The weights file of a path: the file itself, or a diffusers folder's (vae/)diffusion_pytorch_model.*.
fs::path resolveWeights(const fs::path &path)
{
    std::error_code ec;
    if (!fs::exists(path, ec))
        fail(ErrorCode::NotFound, path.string() + ": no such file or folder");
    if (!fs::is_directory(path, ec))
        return path;
    for (const fs::path &dir : {path / "vae", path})
        for (const char *name :
             {"diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors",
              "diffusion_pytorch_model.bin", "diffusion_pytorch_model.fp16.bin"})
            if (fs::exists(dir / name, ec))
                return dir / name;
    fail(ErrorCode::NotFound,
         path.string() + ": a folder must hold (vae/)diffusion_pytorch_model.safetensors or .bin");
}

bool isSafetensors(const fs::path &p)
{
    if (lower(p.extension().string()) == ".safetensors")
        return true;
    if (isTorchPickleFile(p))
        return false;
    // Sniff: safetensors files start with a little-endian header length, then '{'.
    std::ifstream in(p, std::ios::binary);
    char head[9] = {};
    in.read(head, 9);
    return in.gcount() == 9 && head[8] == '{';
}

// A diffusers AutoencoderKL config.json beside the weights: the values shapes cannot tell.
void applyConfigJson(VaeCheckpointInfo &info, const fs::path &weights)
{
    const fs::path file = weights.parent_path() / "config.json";
    std::error_code ec;
    if (!fs::exists(file, ec))
        return;
    nlohmann::json j;
    try {
        std::ifstream in(file);
        j = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception &e) {
        fail(ErrorCode::FormatError, file.string() + ": invalid JSON: " + e.what());
    }
    const bool isVae = j.is_object()
        && ((j.contains("_class_name") && j["_class_name"] == "AutoencoderKL")
            || (j.contains("latent_channels") && j.contains("block_out_channels")));
    if (!isVae) {
        spdlog::debug("{}: not an AutoencoderKL config, ignored", file.string());
        return;
    }
    VaeConfig &c = info.config;
    try {
        auto agree = [&](const char *key, auto found) {
            if (!j.contains(key) || j[key].is_null())
                return;
            const auto want = j[key].get<decltype(found)>();
            if (want != found) {
                std::ostringstream s;
                s << file.string() << ": '" << key << "' is " << j[key].dump() << " but the weights in "
                  << weights.string() << " have " << nlohmann::json(found).dump();
                fail(ErrorCode::ShapeMismatch, s.str());
            }
        };
        agree("block_out_channels", c.blockOutChannels);
        agree("layers_per_block", c.layersPerBlock);
        agree("latent_channels", c.latentChannels);
        agree("in_channels", c.inChannels);
        agree("out_channels", c.outChannels);
        agree("use_quant_conv", c.useQuantConv);
        if (j.contains("norm_num_groups") && !j["norm_num_groups"].is_null())
            c.normNumGroups = j["norm_num_groups"].get<int>();
        if (j.contains("scaling_factor") && !j["scaling_factor"].is_null())
            c.scalingFactor = j["scaling_factor"].get<double>();
        if (j.contains("shift_factor") && !j["shift_factor"].is_null())
            c.shiftFactor = j["shift_factor"].get<double>();
    } catch (const nlohmann::json::exception &e) {
        fail(ErrorCode::FormatError, file.string() + ": unexpected value type: " + e.what());
    }
}

void finishInfo(VaeCheckpointInfo &info, const fs::path &weights)
{
    info.path = weights.string();
    applyConfigJson(info, weights);
    if (const auto err = info.config.validationError(); !err.empty())
        fail(ErrorCode::FormatError,
             weights.string() + ": " + err
                 + " (norm_num_groups cannot be read from the weights: put a diffusers "
                   "config.json beside the file)");
}

VaeCheckpointInfo detectOrFail(const std::vector<TensorSpec> &specs, const fs::path &weights)
{
    auto detected = detectVaeLayout(specs);
    if (!detected.ok())
        fail(detected.error().code, weights.string() + ": " + detected.error().message);
    return std::move(detected).value();
}

} // namespace

LoadedVae readVaeCheckpoint(const fs::path &path)
{
    const fs::path weights = resolveWeights(path);
    StateDict raw = isSafetensors(weights) ? safetensors::load(weights) : loadTorchCheckpoint(weights);
    raw.source = weights.string();
    std::vector<TensorSpec> specs;
    specs.reserve(raw.tensors.size());
    for (const auto &[k, t] : raw.tensors)
        specs.push_back({k, t.sizes().vec()});
    LoadedVae out;
    out.info = detectOrFail(specs, weights);
    finishInfo(out.info, weights);
    out.info.dtype = dtypeName(raw.at(out.info.prefix + kConvInKey).scalar_type());
    for (const auto &k : out.info.unexpectedKeys)
        spdlog::warn("{}: ignoring unexpected tensor '{}' (not part of {})", weights.string(), k,
                     out.info.config.describe());
    if (out.info.ignoredTensors > 0)
        spdlog::debug("{}: {} tensors outside the VAE ignored", weights.string(), out.info.ignoredTensors);
    out.weights = vaeStateDictToLdm(raw, out.info);
    for (const auto &k : out.info.unexpectedKeys)
        out.weights.tensors.erase(
            vaeKeyToLdm(k.substr(out.info.prefix.size()), out.info.layout, out.info.config.numLevels()));
    out.weights.source = weights.string();
    return out;
}

VaeCheckpointInfo describeVaeCheckpoint(const fs::path &path)
{
    // Safetensors files are memory-mapped without copying, so this reads little more than the header.
    return readVaeCheckpoint(path).info;
}

AutoencoderKL buildVae(const LoadedVae &vae, const torch::Device &device, torch::ScalarType dtype)
{
    AutoencoderKL model(vae.info.config);
    loadIntoModule(*model, vae.weights, vae.info.config.describe(), {}, WeightPlacement {device, dtype});
    model->eval();
    model->to(device, dtype);
    return model;
}

AutoencoderKL loadVae(const fs::path &path, const torch::Device &device, torch::ScalarType dtype)
{
    return buildVae(readVaeCheckpoint(path), device, dtype);
}

} // namespace ditstudio
