#include "diffusion/preview_projection.h"

#include "common/atomic_file.h"
#include "common/errors.h"
#include "core/platform.h"
#include "core/tensor_image.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

namespace ditstudio {

namespace fs = std::filesystem;

namespace {

// Bump when the fitting procedure changes, so old cache files are not reused.
constexpr int kFitVersion = 1;
constexpr const char *kFormat = "ditstudio-preview-projection";

// ---------------------------------------------------------------------------------------------
// Hashing: xxHash64's round and avalanche (Collet, xxHash specification), over 8-byte words in four
// independent lanes so the loop runs at memory speed. Not the reference XXH64 byte stream (the tail
// and seeding are simplified); it only needs to be deterministic and well mixed.
constexpr std::uint64_t kP1 = 11400714785074694791ULL;
constexpr std::uint64_t kP2 = 14029467366897019727ULL;
constexpr std::uint64_t kP3 = 1609587929392839161ULL;
constexpr std::uint64_t kP4 = 9650029242287828579ULL;
constexpr std::uint64_t kP5 = 2870177450012600261ULL;

inline std::uint64_t rotl(std::uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}
inline std::uint64_t round64(std::uint64_t acc, std::uint64_t input)
{
    acc += input * kP2;
    return rotl(acc, 31) * kP1;
}
inline std::uint64_t avalanche(std::uint64_t h)
{
    h ^= h >> 33;
    h *= kP2;
    h ^= h >> 29;
    h *= kP3;
    h ^= h >> 32;
    return h;
}

std::uint64_t hashBytes(const unsigned char *p, std::size_t n, std::uint64_t seed)
{
    std::uint64_t v[4] = {seed + kP1 + kP2, seed + kP2, seed, seed - kP1};
    std::size_t i = 0;
    for (; i + 32 <= n; i += 32)
        for (int lane = 0; lane < 4; ++lane) {
            std::uint64_t w;
            std::memcpy(&w, p + i + 8 * lane, 8);
            v[lane] = round64(v[lane], w);
        }
    std::uint64_t h = rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18);
    for (std::uint64_t lane : v)
        h = (h ^ round64(0, lane)) * kP1 + kP4;
    h += static_cast<std::uint64_t>(n);
    for (; i < n; ++i)
        h = rotl(h ^ (static_cast<std::uint64_t>(p[i]) * kP5), 11) * kP1;
    return avalanche(h);
}

std::uint64_t hashString(const std::string &s, std::uint64_t seed)
{
    return hashBytes(reinterpret_cast<const unsigned char *>(s.data()), s.size(), seed);
}

std::string hex64(std::uint64_t h)
{
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return buf;
}

// ---------------------------------------------------------------------------------------------
// Fitting data

/// [N, C, h, w] -> rows [N*h*w, C] (channels last), double.
torch::Tensor toRows(const torch::Tensor &x)
{
    return x.permute({0, 2, 3, 1}).reshape({-1, x.size(1)}).to(torch::kFloat64);
}

/// Smooth random colour images [n, 3, side, side] in [-1, 1]: a bilinear blend of a 3x3 grid of random
/// colours with one random rectangle of another colour on top (an edge, as real images have).
torch::Tensor syntheticImages(int n, int side, at::Generator &gen)
{
    const auto f32 = torch::TensorOptions().dtype(torch::kFloat32);
    auto grid = at::rand({n, 3, 3, 3}, gen, f32) * 1.8 - 0.9;
    auto img = torch::nn::functional::interpolate(grid,
                                                  torch::nn::functional::InterpolateFuncOptions()
                                                      .size(std::vector<int64_t> {side, side})
                                                      .mode(torch::kBilinear)
                                                      .align_corners(true));
    auto boxes = at::rand({n, 4}, gen, f32);
    auto colours = at::rand({n, 3}, gen, f32) * 1.8 - 0.9;
    for (int i = 0; i < n; ++i) {
        const auto a = static_cast<int64_t>(boxes[i][0].item<float>() * side * 0.6f);
        const auto b = static_cast<int64_t>(boxes[i][1].item<float>() * side * 0.6f);
        const auto w = std::max<int64_t>(2, static_cast<int64_t>(boxes[i][2].item<float>() * side * 0.4f));
        const auto h = std::max<int64_t>(2, static_cast<int64_t>(boxes[i][3].item<float>() * side * 0.4f));
        img[i]
            .narrow(1, a, std::min(h, side - a))
            .narrow(2, b, std::min(w, side - b))
            .copy_(colours[i].view({3, 1, 1}));
    }
    return img.clamp(-1, 1);
}

struct FitSet {
    std::vector<torch::Tensor> latents; // [1, C, L, L] each
    std::vector<torch::Tensor> targets; // [1, 3, L, L] pooled decodes
};

double rmseOf(const torch::Tensor &pred, const torch::Tensor &target)
{
    return std::sqrt((pred - target).pow(2).mean().item<double>());
}

} // namespace

// ---------------------------------------------------------------------------------------------
std::string PreviewProjection::summary() const
{
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "held-out RMSE %.4f (PSNR %.1f dB), fit RMSE %.4f, constant-colour baseline %.4f",
                  heldOutRmse, heldOutPsnr, fitRmse, baselineRmse);
    std::string s = buf;
    if (fixedMatrixRmse >= 0) {
        std::snprintf(buf, sizeof buf, ", fixed SD matrix %.4f", fixedMatrixRmse);
        s += buf;
    }
    return s + " (image units, range 2, at latent resolution)";
}

PreviewProjection fitPreviewProjection(const LatentDecodeFn &decode, const ImageEncodeFn &encode,
                                       int latentChannels, const PreviewFitOptions &options)
{
    if (latentChannels < 1)
        fail(ErrorCode::InvalidArgument, "preview projection: latent channels must be positive");
    if (options.latentSize < 2 || options.fitPerKind < 1 || options.heldOutPerKind < 1)
        fail(ErrorCode::InvalidArgument,
             "preview projection: latentSize >= 2, fitPerKind >= 1 and heldOutPerKind >= 1");
    const auto start = std::chrono::steady_clock::now();
    const int c = latentChannels, l = options.latentSize;
    const int perKind = options.fitPerKind + options.heldOutPerKind;
    auto gen = at::detail::createCPUGenerator(options.seed);
    const auto f32 = torch::TensorOptions().dtype(torch::kFloat32);
    int factor = 0;

    FitSet fit, held;
    auto addDecoded = [&](const torch::Tensor &latent, int indexInKind) {
        auto image = decode(latent).to(torch::kCPU, torch::kFloat32);
        if (image.dim() != 4 || image.size(0) != 1 || image.size(1) != 3 || image.size(2) != image.size(3)
            || image.size(2) % l != 0)
            fail(ErrorCode::ShapeMismatch,
                 "preview projection: the decoder returned an image of shape " + c10::str(image.sizes())
                     + " for a latent of shape " + c10::str(latent.sizes()) + "; expected [1, 3, L*f, L*f]");
        const int f = static_cast<int>(image.size(2) / l);
        if (factor != 0 && f != factor)
            fail(ErrorCode::ShapeMismatch, "preview projection: the decoder's upsampling factor changed");
        factor = f;
        if (options.clampTargets)
            image = image.clamp(-1, 1);
        // The preview shows one colour per latent pixel: the mean of its f x f footprint.
        auto pooled = torch::avg_pool2d(image, {f, f}, {f, f}); // [1, 3, L, L]
        FitSet &set = indexInKind < options.fitPerKind ? fit : held;
        set.latents.push_back(latent.to(torch::kCPU, torch::kFloat32));
        set.targets.push_back(pooled);
    };
    for (int i = 0; i < perKind; ++i)
        addDecoded(at::randn({1, c, l, l}, gen, f32), i);
    for (int i = 0; i < perKind; ++i) {
        auto coarse = at::randn({1, c, 4, 4}, gen, f32);
        auto smooth = torch::nn::functional::interpolate(coarse,
                                                         torch::nn::functional::InterpolateFuncOptions()
                                                             .size(std::vector<int64_t> {l, l})
                                                             .mode(torch::kBilinear)
                                                             .align_corners(true));
        addDecoded(smooth, i);
    }
    if (encode) {
        auto images = syntheticImages(perKind, l * factor, gen);
        for (int i = 0; i < perKind; ++i) {
            auto latent = encode(images.narrow(0, i, 1)).to(torch::kCPU, torch::kFloat32);
            if (latent.dim() != 4 || latent.size(1) != c || latent.size(2) != l || latent.size(3) != l)
                fail(ErrorCode::ShapeMismatch,
                     "preview projection: the encoder returned latents of shape " + c10::str(latent.sizes())
                         + "; expected [1, " + std::to_string(c) + ", " + std::to_string(l) + ", "
                         + std::to_string(l) + "]");
            addDecoded(latent, i);
        }
    }

    // Least squares: [latent, 1] @ M ~= rgb, solved in float64.
    auto design = [&](const FitSet &s) {
        auto x = toRows(torch::cat(s.latents, 0));
        return torch::cat({x, torch::ones({x.size(0), 1}, x.options())}, 1); // [P, C + 1]
    };
    auto targetRows = [](const FitSet &s) { return toRows(torch::cat(s.targets, 0)); }; // [P, 3]
    const auto xFit = design(fit), yFit = targetRows(fit);
    const auto xHeld = design(held), yHeld = targetRows(held);
    auto solution = std::get<0>(torch::linalg_lstsq(xFit, yFit, c10::nullopt, c10::string_view("gelsd")));
    if (!torch::isfinite(solution).all().item<bool>())
        fail(ErrorCode::Internal,
             "preview projection: the least-squares fit is not finite (degenerate decoder output?)");

    PreviewProjection p;
    p.latentChannels = c;
    p.matrix = solution.to(torch::kFloat32).contiguous(); // [C + 1, 3]
    p.fitPixels = xFit.size(0);
    p.heldOutPixels = xHeld.size(0);
    const auto m64 = p.matrix.to(torch::kFloat64);
    // Errors of what is displayed: predictions clamped like the targets.
    auto shown = [&](const torch::Tensor &pred) { return options.clampTargets ? pred.clamp(-1, 1) : pred; };
    p.fitRmse = rmseOf(shown(xFit.matmul(m64)), yFit);
    p.heldOutRmse = rmseOf(shown(xHeld.matmul(m64)), yHeld);
    p.heldOutPsnr = 20.0 * std::log10(2.0 / std::max(p.heldOutRmse, 1e-12));
    p.baselineRmse = rmseOf(yFit.mean(0, true).expand_as(yHeld), yHeld);
    if (c == 4) {
        auto fixed = latentToRgbPreview(torch::cat(held.latents, 0)); // the default SD matrix
        p.fixedMatrixRmse = rmseOf(shown(toRows(fixed)), yHeld);
    }
    p.fitSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return p;
}

PreviewProjection fitPreviewProjection(AutoencoderKL &vae, const PreviewFitOptions &options)
{
    torch::InferenceMode guard;
    const auto param = vae->parameters().front();
    const auto device = param.device();
    const auto dtype = param.scalar_type();
    LatentDecodeFn decode = [&](const torch::Tensor &z) {
        return vae->decodeLatents(z.to(device, dtype)).to(torch::kCPU, torch::kFloat32);
    };
    ImageEncodeFn encode = [&](const torch::Tensor &x) {
        return vae->encodeLatents(x.to(device, dtype), /*sampled=*/false).to(torch::kCPU, torch::kFloat32);
    };
    auto p = fitPreviewProjection(decode, encode, vae->config().latentChannels, options);
    p.key = previewProjectionKey(vae, options);
    return p;
}

std::string moduleWeightDigest(torch::nn::Module &module)
{
    std::map<std::string, torch::Tensor> named;
    for (const auto &item : module.named_parameters(/*recurse=*/true))
        named.emplace(item.key(), item.value());
    for (const auto &item : module.named_buffers(/*recurse=*/true))
        named.emplace(item.key(), item.value());
    std::uint64_t h = 0x9e3779b97f4a7c15ULL;
    for (const auto &[name, tensor] : named) {
        const auto t = tensor.detach().to(torch::kCPU).contiguous();
        std::ostringstream meta;
        meta << name << '|' << c10::toString(t.scalar_type()) << '|' << t.sizes();
        h = round64(h, hashString(meta.str(), h));
        h = round64(h, hashBytes(static_cast<const unsigned char *>(t.data_ptr()), t.nbytes(), h));
    }
    return hex64(avalanche(h));
}

std::string previewProjectionKey(AutoencoderKL &vae, const PreviewFitOptions &options)
{
    std::ostringstream settings;
    settings.precision(17);
    settings << "v" << kFitVersion << "|scale " << vae->config().scalingFactor << "|shift "
             << vae->config().shiftFactor << "|L " << options.latentSize << "|fit " << options.fitPerKind
             << "|held " << options.heldOutPerKind << "|seed " << options.seed << "|clamp "
             << options.clampTargets;
    return moduleWeightDigest(*vae) + "-" + hex64(hashString(settings.str(), 0)).substr(0, 8);
}

fs::path previewProjectionCachePath(const fs::path &cacheDir, const std::string &key)
{
    return cacheDir / ("preview-projection-" + key + ".json");
}

void savePreviewProjection(const fs::path &file, const PreviewProjection &p)
{
    if (!p.matrix.defined() || p.matrix.dim() != 2 || p.matrix.size(1) != 3)
        fail(ErrorCode::InvalidArgument, file.string() + ": no [C + 1, 3] projection matrix to save");
    const auto m = p.matrix.to(torch::kCPU, torch::kFloat32).contiguous();
    nlohmann::json rows = nlohmann::json::array();
    for (int64_t i = 0; i < m.size(0); ++i)
        rows.push_back({m[i][0].item<float>(), m[i][1].item<float>(), m[i][2].item<float>()});
    const nlohmann::json j = {{"format", kFormat},
                              {"version", kFitVersion},
                              {"key", p.key},
                              {"latent_channels", p.latentChannels},
                              {"matrix", rows},
                              {"held_out_rmse", p.heldOutRmse},
                              {"held_out_psnr", p.heldOutPsnr},
                              {"fit_rmse", p.fitRmse},
                              {"baseline_rmse", p.baselineRmse},
                              {"fixed_matrix_rmse", p.fixedMatrixRmse},
                              {"fit_pixels", p.fitPixels},
                              {"held_out_pixels", p.heldOutPixels},
                              {"fit_seconds", p.fitSeconds}};
    writeFileAtomically(
        file, [&](std::ostream &out) { out << j.dump(1) << '\n'; }, /*overwrite=*/true);
}

PreviewProjection loadPreviewProjection(const fs::path &file, const std::string &expectedKey)
{
    std::ifstream in(file, std::ios::binary);
    if (!in)
        fail(ErrorCode::NotFound, file.string() + ": cannot open the preview projection cache");
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(in);
    } catch (const std::exception &e) {
        fail(ErrorCode::FormatError, file.string() + ": not valid JSON (" + e.what() + ")");
    }
    auto need = [&](const char *field) -> const nlohmann::json & {
        if (!j.is_object() || !j.contains(field))
            fail(ErrorCode::FormatError, file.string() + ": missing field '" + field + "'");
        return j.at(field);
    };
    if (need("format") != kFormat || need("version") != kFitVersion)
        fail(ErrorCode::FormatError,
             file.string() + ": not a version " + std::to_string(kFitVersion) + " " + kFormat);
    if (need("key") != expectedKey)
        fail(ErrorCode::FormatError,
             file.string() + ": key " + j.at("key").dump() + " is not the expected '" + expectedKey + "'");
    PreviewProjection p;
    p.key = expectedKey;
    const auto &ch = need("latent_channels");
    if (!ch.is_number_integer() || ch.get<int>() < 1)
        fail(ErrorCode::FormatError, file.string() + ": 'latent_channels' must be a positive integer");
    p.latentChannels = ch.get<int>();
    const auto &rows = need("matrix");
    if (!rows.is_array() || static_cast<int>(rows.size()) != p.latentChannels + 1)
        fail(ErrorCode::FormatError,
             file.string() + ": 'matrix' must have latent_channels + 1 = "
                 + std::to_string(p.latentChannels + 1) + " rows");
    p.matrix = torch::empty({p.latentChannels + 1, 3}, torch::kFloat32);
    for (int i = 0; i <= p.latentChannels; ++i) {
        const auto &row = rows[i];
        if (!row.is_array() || row.size() != 3)
            fail(ErrorCode::FormatError,
                 file.string() + ": 'matrix' row " + std::to_string(i) + " must hold 3 numbers");
        for (int k = 0; k < 3; ++k) {
            if (!row[k].is_number())
                fail(ErrorCode::FormatError,
                     file.string() + ": 'matrix' row " + std::to_string(i) + " is not numeric");
            p.matrix[i][k] = row[k].get<float>();
        }
    }
    auto num = [&](const char *field) {
        return j.contains(field) && j[field].is_number() ? j[field].get<double>() : 0.0;
    };
    p.heldOutRmse = num("held_out_rmse");
    p.heldOutPsnr = num("held_out_psnr");
    p.fitRmse = num("fit_rmse");
    p.baselineRmse = num("baseline_rmse");
    p.fixedMatrixRmse = j.contains("fixed_matrix_rmse") ? num("fixed_matrix_rmse") : -1;
    p.fitPixels = static_cast<std::int64_t>(num("fit_pixels"));
    p.heldOutPixels = static_cast<std::int64_t>(num("held_out_pixels"));
    p.fromCache = true;
    return p;
}

PreviewProjection loadOrFitPreviewProjection(AutoencoderKL &vae, const fs::path &cacheDir,
                                             const PreviewFitOptions &options)
{
    const std::string key = previewProjectionKey(vae, options);
    const fs::path file = previewProjectionCachePath(cacheDir, key);
    std::error_code ec;
    if (fs::exists(file, ec)) {
        try {
            auto p = loadPreviewProjection(file, key);
            if (p.latentChannels == vae->config().latentChannels)
                return p;
            spdlog::warn("{}: cached for {} latent channels, the VAE has {}; refitting", file.string(),
                         p.latentChannels, vae->config().latentChannels);
        } catch (const std::exception &e) {
            spdlog::warn("ignoring the preview projection cache: {}; refitting", e.what());
        }
    }
    auto p = fitPreviewProjection(vae, options);
    try {
        fs::create_directories(cacheDir);
        savePreviewProjection(file, p);
    } catch (const std::exception &e) {
        spdlog::warn("cannot cache the preview projection in {}: {}", cacheDir.string(), e.what());
    }
    return p;
}

fs::path defaultPreviewCacheDir()
{
    if (const char *env = std::getenv("DITSTUDIO_CACHE_DIR"); env && *env)
        return fs::path(env);
    return platform::userDataDir() / "cache";
}

} // namespace ditstudio
