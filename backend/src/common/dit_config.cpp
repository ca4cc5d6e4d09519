// DiTConfig helpers and architecture detection from keys and shapes (no weights allocated).
#include "ditstudio/model_info.h"

#include "common/errors.h"

#include <cmath>
#include <map>
#include <regex>
#include <set>

namespace ditstudio {

namespace {

std::string shapeText(const std::vector<std::int64_t> &shape)
{
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i)
        s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

struct NamedSize {
    const char *name;
    int depth, hidden, heads;
};
// Ref: DiT paper table 1.
constexpr NamedSize kSizes[]
    = {{"XL", 28, 1152, 16}, {"L", 24, 1024, 16}, {"B", 12, 768, 12}, {"S", 12, 384, 6}};

} // namespace

std::string DiTConfig::name() const
{
    for (const auto &s : kSizes)
        if (s.depth == depth && s.hidden == hiddenSize && s.heads == numHeads && mlpRatio == 4.0)
            return std::string("DiT-") + s.name + "/" + std::to_string(patchSize);
    return "DiT-custom(d" + std::to_string(depth) + ",w" + std::to_string(hiddenSize) + ",h"
        + std::to_string(numHeads) + ")/" + std::to_string(patchSize);
}

std::int64_t DiTConfig::parameterCount() const
{
    const std::int64_t d = hiddenSize, c = inChannels, p = patchSize, out = outChannels();
    const std::int64_t hid = static_cast<std::int64_t>(hiddenSize * mlpRatio);
    const std::int64_t t = tokens();
    std::int64_t n = t * d; // pos_embed
    n += c * p * p * d + d; // x_embedder
    n += 256 * d + d + d * d + d; // t_embedder
    n += (numClasses + (classDropoutProb > 0 ? 1 : 0)) * d; // y_embedder
    const std::int64_t block = (d * 3 * d + 3 * d) + (d * d + d) // attention
        + (d * hid + hid) + (hid * d + d) // mlp
        + (d * 6 * d + 6 * d); // adaLN
    n += depth * block;
    n += (d * 2 * d + 2 * d) + (d * p * p * out + p * p * out); // final layer
    return n;
}

double DiTConfig::macsPerForward() const
{
    const double d = hiddenSize, t = tokens(), c = inChannels, p = patchSize, out = outChannels();
    const double hid = hiddenSize * mlpRatio;
    double macs = t * c * p * p * d; // patch embedding conv
    macs += 256 * d + d * d; // timestep MLP
    const double perBlock = t * (3 * d * d + d * d + 2 * d * hid) // qkv, proj, mlp
        + 2 * t * t * d // q k^T and attn v
        + 6 * d * d; // adaLN modulation
    macs += depth * perBlock;
    macs += 2 * d * d + t * d * p * p * out; // final layer
    return macs;
}

std::int64_t DiTConfig::peakActivationBytes(std::int64_t rows, int elementSize) const
{
    const std::int64_t t = tokens(), d = hiddenSize, h = numHeads;
    const auto m = static_cast<std::int64_t>(hiddenSize * mlpRatio);
    // Scores and probabilities [rows, H, T, T]; qkv and its permuted copy [rows, T, 3D] x 2; the
    // MLP's hidden layer before and after GELU [rows, T, M] x 2; residual, norms and modulated
    // copies [rows, T, D] x 6.
    const std::int64_t perRow = 2 * h * t * t + 6 * t * d + 2 * t * m + 6 * t * d;
    return rows * perRow * elementSize;
}

Result<void> DiTConfig::validate() const
{
    auto bad = [](const std::string &m) { return makeError(ErrorCode::InvalidArgument, "DiT config: " + m); };
    if (inputSize <= 0 || patchSize <= 0 || inChannels <= 0 || hiddenSize <= 0 || depth <= 0 || numHeads <= 0)
        return bad("input_size, patch_size, in_channels, hidden_size, depth and num_heads must be positive");
    if (inputSize % patchSize != 0)
        return bad("input_size " + std::to_string(inputSize) + " is not divisible by patch_size "
                   + std::to_string(patchSize));
    if (hiddenSize % numHeads != 0)
        return bad("hidden_size " + std::to_string(hiddenSize) + " is not divisible by num_heads "
                   + std::to_string(numHeads));
    if (hiddenSize % 4 != 0)
        return bad("hidden_size " + std::to_string(hiddenSize)
                   + " must be divisible by 4 (2-D sin-cos embedding)");
    if (numClasses < 1)
        return bad("num_classes must be at least 1");
    if (mlpRatio <= 0)
        return bad("mlp_ratio must be positive");
    return {};
}

Result<DiTConfig> ditConfigByName(const std::string &nameIn, int inputSize)
{
    std::string name = nameIn;
    if (name.rfind("DiT-", 0) == 0)
        name = name.substr(4);
    const auto slash = name.find('/');
    if (slash == std::string::npos)
        return makeError(ErrorCode::InvalidArgument, "architecture '" + nameIn + "': expected e.g. DiT-XL/2");
    const std::string size = name.substr(0, slash);
    int patch = 0;
    try {
        patch = std::stoi(name.substr(slash + 1));
    } catch (...) {
    }
    if (patch != 2 && patch != 4 && patch != 8)
        return makeError(ErrorCode::InvalidArgument,
                         "architecture '" + nameIn + "': patch size must be 2, 4 or 8");
    for (const auto &s : kSizes) {
        if (size == s.name) {
            DiTConfig c;
            c.depth = s.depth;
            c.hiddenSize = s.hidden;
            c.numHeads = s.heads;
            c.patchSize = patch;
            c.inputSize = inputSize;
            if (auto v = c.validate(); !v.ok())
                return v.error();
            return c;
        }
    }
    return makeError(ErrorCode::InvalidArgument, "architecture '" + nameIn + "': size must be S, B, L or XL");
}

Result<CheckpointInfo> detectDiTArchitecture(const std::vector<TensorSpec> &tensors)
{
    std::map<std::string, std::vector<std::int64_t>> shapes;
    std::int64_t values = 0;
    for (const auto &t : tensors) {
        shapes[t.key] = t.shape;
        std::int64_t n = 1;
        for (auto s : t.shape)
            n *= s;
        values += n;
    }
    auto has = [&](const std::string &k) { return shapes.count(k) != 0; };
    auto shapeOf = [&](const std::string &k) -> const std::vector<std::int64_t> & { return shapes.at(k); };

    CheckpointInfo info;
    info.family = "DiT";
    DiTConfig &c = info.config;
    c.inputSize = 0; // unknown until pos_embed or a config says
    c.numHeads = 0;

    std::string patchKey, labelKey, finalKey, fc1Key;
    std::regex blockRe;
    if (has("x_embedder.proj.weight")) {
        info.layout = "official";
        patchKey = "x_embedder.proj.weight";
        labelKey = "y_embedder.embedding_table.weight";
        finalKey = "final_layer.linear.weight";
        fc1Key = "blocks.0.mlp.fc1.weight";
        blockRe = std::regex(R"(^blocks\.(\d+)\.attn\.qkv\.weight$)");
    } else if (has("pos_embed.proj.weight") && has("proj_out_2.weight")) {
        info.layout = "diffusers";
        patchKey = "pos_embed.proj.weight";
        labelKey = "transformer_blocks.0.norm1.emb.class_embedder.embedding_table.weight";
        finalKey = "proj_out_2.weight";
        fc1Key = "transformer_blocks.0.ff.net.0.proj.weight";
        blockRe = std::regex(R"(^transformer_blocks\.(\d+)\.attn1\.to_q\.weight$)");
    } else {
        return makeError(ErrorCode::FormatError,
                         "not a DiT checkpoint: neither 'x_embedder.proj.weight' (official layout) nor "
                         "'pos_embed.proj.weight' + 'proj_out_2.weight' (diffusers layout) is present");
    }
    for (const auto &k : {patchKey, labelKey, finalKey, fc1Key})
        if (!has(k))
            return makeError(ErrorCode::FormatError,
                             "DiT checkpoint (" + info.layout + " layout): missing tensor '" + k + "'");

    const auto &pw = shapeOf(patchKey);
    if (pw.size() != 4 || pw[2] != pw[3])
        return makeError(ErrorCode::ShapeMismatch,
                         "'" + patchKey + "': expected [hidden, in_channels, p, p]");
    c.hiddenSize = static_cast<int>(pw[0]);
    c.inChannels = static_cast<int>(pw[1]);
    c.patchSize = static_cast<int>(pw[2]);

    std::set<int> blockIds;
    for (const auto &[k, s] : shapes) {
        std::smatch m;
        if (std::regex_match(k, m, blockRe))
            blockIds.insert(std::stoi(m[1]));
    }
    c.depth = static_cast<int>(blockIds.size());
    if (c.depth == 0)
        return makeError(ErrorCode::FormatError, "DiT checkpoint: no transformer blocks found");
    if (*blockIds.rbegin() != c.depth - 1)
        return makeError(ErrorCode::FormatError,
                         "DiT checkpoint: transformer blocks are not numbered 0.."
                             + std::to_string(c.depth - 1) + " (a block is missing)");

    const auto &lw = shapeOf(labelKey);
    if (lw.size() != 2 || lw[1] != c.hiddenSize)
        return makeError(ErrorCode::ShapeMismatch,
                         "'" + labelKey + "': expected [num_classes + 1, " + std::to_string(c.hiddenSize)
                             + "]");
    c.numClasses = static_cast<int>(lw[0]) - 1; // the last row is the null class
    c.classDropoutProb = 0.1;

    const auto &fw = shapeOf(finalKey);
    const std::int64_t pp = static_cast<std::int64_t>(c.patchSize) * c.patchSize;
    if (fw.size() != 2 || fw[0] % pp != 0)
        return makeError(ErrorCode::ShapeMismatch, "'" + finalKey + "': expected [p*p*out_channels, hidden]");
    const int outC = static_cast<int>(fw[0] / pp);
    if (outC == 2 * c.inChannels)
        c.learnSigma = true;
    else if (outC == c.inChannels)
        c.learnSigma = false;
    else
        return makeError(ErrorCode::ShapeMismatch,
                         "'" + finalKey + "': " + std::to_string(outC) + " output channels for "
                             + std::to_string(c.inChannels) + " input channels (expected equal or double)");
    c.mlpRatio = static_cast<double>(shapeOf(fc1Key)[0]) / c.hiddenSize;

    if (info.layout == "official" && has("pos_embed")) {
        const auto &pe = shapeOf("pos_embed");
        // The shape's rank is checked before any dimension is read (a hostile header may give [256]).
        if (pe.size() != 3 || pe[0] != 1 || pe[1] <= 0 || pe[1] > (int64_t(1) << 40) || pe[2] != c.hiddenSize)
            return makeError(ErrorCode::ShapeMismatch,
                             "'pos_embed': expected [1, grid*grid, " + std::to_string(c.hiddenSize)
                                 + "], got " + shapeText(pe));
        const auto grid = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(pe[1]))));
        if (grid * grid != pe[1])
            return makeError(ErrorCode::ShapeMismatch,
                             "'pos_embed': " + std::to_string(pe[1])
                                 + " tokens is not a square grid (expected [1, grid*grid, hidden])");
        c.inputSize = grid * c.patchSize;
    }
    // Heads are not visible in shapes: use the official sizes' head counts; callers override from
    // metadata or config files.
    for (const auto &s : kSizes)
        if (s.hidden == c.hiddenSize)
            c.numHeads = s.heads;
    if (c.numHeads == 0)
        c.numHeads = c.hiddenSize % 64 == 0 ? c.hiddenSize / 64 : 1;

    info.parameterCount = values;
    if (info.layout == "diffusers" && c.inputSize > 0)
        info.parameterCount = c.parameterCount(); // per-block embedder copies are not parameters
    info.latentSpace = !(c.inChannels == 1 || c.inChannels == 3);
    return info;
}

} // namespace ditstudio
