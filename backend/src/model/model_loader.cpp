#include "model/model_loader.h"

#include "common/errors.h"
#include "ditstudio/class_names.h"
#include "io/key_mapping.h"
#include "io/safetensors.h"
#include "io/torch_checkpoint.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <fstream>
#include <mutex>
#include <sstream>

namespace ditstudio {

namespace fs = std::filesystem;

namespace {

std::string shapeText(c10::IntArrayRef s)
{
    std::ostringstream o;
    o << '[';
    for (size_t i = 0; i < s.size(); ++i)
        o << (i ? ", " : "") << s[i];
    o << ']';
    return o.str();
}

std::string lower(std::string s)
{
    for (auto &c : s)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

nlohmann::json readJson(const fs::path &p)
{
    std::ifstream in(p);
    if (!in)
        fail(ErrorCode::IoError, p.string() + ": cannot open");
    try {
        return nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception &e) {
        fail(ErrorCode::FormatError, p.string() + ": invalid JSON: " + e.what());
    }
}

// Apply config values (official names, diffusers names or safetensors metadata strings).
void applyConfig(DiTConfig &c, const nlohmann::json &j, const std::string &source)
{
    auto getInt = [&](const char *key, int &dst) {
        if (!j.contains(key))
            return;
        const auto &v = j[key];
        try {
            dst = v.is_string() ? std::stoi(v.get<std::string>()) : v.get<int>();
        } catch (...) {
            fail(ErrorCode::FormatError, source + ": '" + key + "' must be an integer");
        }
    };
    getInt("input_size", c.inputSize);
    getInt("sample_size", c.inputSize);
    getInt("num_heads", c.numHeads);
    getInt("num_attention_heads", c.numHeads);
    if (j.contains("class_dropout_prob")) {
        const auto &v = j["class_dropout_prob"];
        try {
            c.classDropoutProb = v.is_string() ? std::stod(v.get<std::string>()) : v.get<double>();
        } catch (...) {
            fail(ErrorCode::FormatError, source + ": 'class_dropout_prob' must be a number");
        }
        if (!(c.classDropoutProb >= 0 && c.classDropoutProb < 1))
            fail(ErrorCode::FormatError, source + ": 'class_dropout_prob' must be in [0, 1)");
    }
}

void finishInfo(CheckpointInfo &info, const fs::path &path,
                const std::map<std::string, std::string> &metadata)
{
    info.path = path.string();
    info.metadata = metadata;
    // Config overrides: metadata first, then config.json beside the file.
    nlohmann::json meta = nlohmann::json::object();
    for (const auto &[k, v] : metadata)
        meta[k] = v;
    const fs::path dir = fs::is_directory(path) ? path : path.parent_path();
    const fs::path cfgFile
        = fs::is_directory(path) ? path / "transformer" / "config.json" : dir / "config.json";
    std::error_code ec;
    if (fs::exists(cfgFile, ec))
        applyConfig(info.config, readJson(cfgFile), cfgFile.string());
    applyConfig(info.config, meta, path.string() + " (metadata)");
    if (info.config.inputSize <= 0)
        fail(ErrorCode::FormatError,
             path.string()
                 + ": the input size is unknown (no pos_embed, no sample_size in a "
                   "config.json): cannot build the model");
    if (auto v = info.config.validate(); !v.ok())
        fail(ErrorCode::FormatError, path.string() + ": " + v.error().message);
    if (info.layout == "diffusers")
        info.parameterCount = info.config.parameterCount();
    info.latentSpace = !(info.config.inChannels == 1 || info.config.inChannels == 3);
    info.classNames = findClassNames(path, metadata, info.config.numClasses);
}

bool isTorchPickleFile(const fs::path &p)
{
    const auto ext = lower(p.extension().string());
    return ext == ".pt" || ext == ".pth" || ext == ".bin" || ext == ".ckpt" || ext == ".pkl";
}

fs::path diffusersWeights(const fs::path &dir)
{
    for (const auto &name : {"diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin"}) {
        const auto p = dir / "transformer" / name;
        if (fs::exists(p))
            return p;
    }
    fail(ErrorCode::NotFound,
         dir.string()
             + ": diffusers folder without transformer/diffusion_pytorch_model"
               ".safetensors or .bin");
}

} // namespace

LoadedCheckpoint readDiTCheckpoint(const fs::path &path)
{
    std::error_code ec;
    if (!fs::exists(path, ec))
        fail(ErrorCode::NotFound, path.string() + ": no such file or folder");
    LoadedCheckpoint out;
    StateDict raw;
    std::string format;
    if (fs::is_directory(path, ec)) {
        if (!fs::exists(path / "model_index.json") && !fs::exists(path / "transformer" / "config.json"))
            fail(ErrorCode::FormatError,
                 path.string()
                     + ": a folder must be a diffusers pipeline (model_index.json, "
                       "transformer/config.json)");
        const auto weights = diffusersWeights(path);
        raw = lower(weights.extension().string()) == ".safetensors" ? safetensors::load(weights)
                                                                    : loadTorchCheckpoint(weights);
        format = "diffusers";
    } else if (lower(path.extension().string()) == ".safetensors") {
        raw = safetensors::load(path);
        format = "safetensors";
    } else if (isTorchPickleFile(path)) {
        raw = loadTorchCheckpoint(path);
        format = raw.container;
    } else {
        // Sniff: safetensors files start with a small little-endian length then '{'.
        std::ifstream in(path, std::ios::binary);
        char head[9] = {};
        in.read(head, 9);
        if (in.gcount() == 9 && head[8] == '{') {
            raw = safetensors::load(path);
            format = "safetensors";
        } else {
            raw = loadTorchCheckpoint(path);
            format = raw.container;
        }
    }
    stripCommonPrefix(raw);
    std::vector<TensorSpec> specs;
    for (const auto &[k, t] : raw.tensors)
        specs.push_back({k, t.sizes().vec()});
    auto detected = detectDiTArchitecture(specs);
    if (!detected.ok())
        fail(detected.error().code, path.string() + ": " + detected.error().message);
    out.info = detected.value();
    out.info.format = format;
    if (!raw.tensors.empty())
        out.info.dtype = c10::toString(raw.tensors.begin()->second.scalar_type());
    out.weights = out.info.layout == "diffusers" ? diffusersToOfficialDiT(raw, out.info.config.depth)
                                                 : std::move(raw);
    out.weights.source = path.string();
    finishInfo(out.info, path, out.weights.metadata);
    return out;
}

CheckpointInfo describeCheckpoint(const fs::path &path)
{
    std::error_code ec;
    if (fs::is_regular_file(path, ec) && lower(path.extension().string()) == ".safetensors") {
        // Header only: no weights read.
        const auto header = safetensors::readHeader(path);
        auto specs = safetensors::specs(header);
        for (auto &s : specs)
            for (const char *prefix : {"module.", "model."})
                if (s.key.rfind(prefix, 0) == 0)
                    s.key = s.key.substr(std::string(prefix).size());
        auto detected = detectDiTArchitecture(specs);
        if (!detected.ok())
            fail(detected.error().code, path.string() + ": " + detected.error().message);
        CheckpointInfo info = detected.value();
        info.format = "safetensors";
        info.dtype = header.entries.empty() ? "" : header.entries.front().dtype;
        finishInfo(info, path, header.metadata);
        return info;
    }
    auto loaded = readDiTCheckpoint(path);
    if (loaded.info.dtype == "Float")
        loaded.info.dtype = "F32";
    return loaded.info;
}

void loadIntoModule(torch::nn::Module &module, const StateDict &sd, const std::string &what,
                    const std::vector<std::string> &optionalKeys,
                    const std::optional<WeightPlacement> &placement)
{
    torch::NoGradGuard noGrad;
    std::set<std::string> used;
    auto copyOne = [&](const std::string &name, torch::Tensor &dst) {
        auto it = sd.tensors.find(name);
        if (it == sd.tensors.end()) {
            if (std::find(optionalKeys.begin(), optionalKeys.end(), name) != optionalKeys.end())
                return;
            fail(ErrorCode::ShapeMismatch,
                 sd.source + ": missing tensor '" + name + "' (expected shape " + shapeText(dst.sizes())
                     + " for " + what + ")");
        }
        const auto &src = it->second;
        if (src.sizes() != dst.sizes())
            fail(ErrorCode::ShapeMismatch,
                 sd.source + ": tensor '" + name + "' has shape " + shapeText(src.sizes()) + ", expected "
                     + shapeText(dst.sizes()) + " for " + what);
        if (!src.is_floating_point())
            fail(ErrorCode::FormatError, sd.source + ": tensor '" + name + "' is not floating point");
        if (placement) {
            // .to() returns src itself when it already matches: the module then uses the mapped
            // weights in place. Otherwise the converted copy replaces them and the file's pages of
            // this tensor are dropped (they were only read).
            torch::Tensor placed = src.to(placement->device, placement->dtype);
            if (!placed.is_contiguous())
                placed = placed.contiguous();
            // Where a mapped file cannot be replaced while mapped (Windows), copy instead of keeping
            // the map open for the model's lifetime.
            if (sd.mapping && placed.is_same(src) && !platform::kMappedFilesStayReplaceable)
                placed = src.clone();
            if (sd.mapping && !placed.is_same(src) && src.is_contiguous())
                sd.mapping->release(src.data_ptr(), src.nbytes());
            dst.set_data(placed);
        } else {
            dst.copy_(src);
        }
        used.insert(name);
    };
    for (auto &p : module.named_parameters())
        copyOne(p.key(), p.value());
    for (auto &b : module.named_buffers())
        copyOne(b.key(), b.value());
    for (const auto &[k, v] : sd.tensors)
        if (!used.count(k))
            spdlog::warn("{}: ignoring unexpected tensor '{}' for {}", sd.source, k, what);
}

DiT buildDiT(const LoadedCheckpoint &checkpoint, const torch::Device &device, torch::ScalarType dtype)
{
    // Built directly in the target precision: a bf16 model never holds a full fp32 set of freshly
    // initialised weights beside the loaded ones (peak memory ~ one copy of the weights). The
    // default dtype is process-wide, so the scope is short and serialised.
    DiT model(nullptr);
    {
        static std::mutex defaultDTypeMutex;
        std::lock_guard<std::mutex> lock(defaultDTypeMutex);
        const auto previous = torch::get_default_dtype();
        const bool lowPrecision = dtype == torch::kBFloat16 || dtype == torch::kFloat16;
        if (lowPrecision)
            torch::set_default_dtype(c10::scalarTypeToTypeMeta(dtype));
        try {
            model = DiT(checkpoint.info.config);
        } catch (...) {
            torch::set_default_dtype(previous);
            throw;
        }
        torch::set_default_dtype(previous);
    }
    loadIntoModule(*model, checkpoint.weights, checkpoint.info.config.name(), {"pos_embed"},
                   WeightPlacement {device, dtype});
    model->eval();
    model->to(device, dtype); // what was not in the file (pos_embed); placed weights stay as they are
    return model;
}

Result<CheckpointInfo> inspectCheckpoint(const std::string &path)
{
    return guarded({}, [&] { return describeCheckpoint(path); });
}

} // namespace ditstudio
