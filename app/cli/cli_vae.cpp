// ditstudio-cli vae encode|decode: images <-> Stable Diffusion VAE latents in safetensors files.
#include "cli/cli_commands.h"
#include "cli/cli_common.h"
#include "ditstudio/bench.h"
#include "ditstudio/engine.h"
#include "ditstudio/model_info.h"
#include "ditstudio/runtime.h"
#include "ditstudio/tensor_file.h"
#include "ditstudio/vae.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>

namespace ditstudio::cli {

namespace fs = std::filesystem;

namespace {

const char *kVaeUsage = R"(usage: ditstudio-cli vae encode|decode --vae PATH [options]

  vae encode --vae PATH --out LATENTS.safetensors IMAGE [IMAGE ...]
      images (PNG, JPEG, ...; all the same size, sides multiples of 8) -> tensor "latent"
      [N, C, H/8, W/8] in diffusion space ((z - shift) * scaling_factor)
      --mean        the posterior mean (deterministic) instead of a sample
      --seed N      seed of the sample (default 0)
  vae decode --vae PATH --out FILE.png|DIR/ LATENTS.safetensors
      --tensor NAME tensor to decode (default "latent", or the file's only tensor); [N, C, h, w] or [C, h, w]
  common: --tiled  --tile-size N (latent pixels, default 64)  --tile-overlap N (default tile/4)
          --device cpu|cuda[:N]|auto  --dtype fp32|bf16|fp16  --overwrite  --json
)";

std::string shapeText(const std::vector<std::int64_t> &shape)
{
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i)
        s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

std::unique_ptr<Vae> openVaeFrom(const Args &a, const std::string &cmd,
                                 const std::optional<VaeTiling> &tiling)
{
    if (!has(a, "--vae") || opt(a, "--vae").empty())
        throw UsageError(cmd
                         + ": --vae PATH is required (a Stable Diffusion VAE: .safetensors, .ckpt, .pt or a "
                           "diffusers folder)");
    VaeOptions options;
    options.path = opt(a, "--vae");
    options.device = opt(a, "--device", "auto");
    options.dtype = parsedOpt(a, "--dtype", parseDType, DType::Float32);
    options.tiling = tiling;
    return valueOr(openVae(options));
}

std::optional<VaeTiling> tilingFrom(const Args &a)
{
    if (!a.flags.count("--tiled")) {
        if (has(a, "--tile-size") || has(a, "--tile-overlap"))
            throw UsageError("--tile-size/--tile-overlap need --tiled");
        return std::nullopt;
    }
    VaeTiling t;
    t.tileSize = static_cast<int>(intOpt(a, "--tile-size", 64, 4, 4096));
    t.overlap = static_cast<int>(intOpt(a, "--tile-overlap", t.tileSize / 4, 0, t.tileSize - 1));
    return t;
}

int vaeEncode(const Args &a)
{
    allowOnly(a,
              {"--vae", "--out", "--mean", "--seed", "--tiled", "--tile-size", "--tile-overlap", "--device",
               "--dtype", "--overwrite", "--json", "--log-level", "--threads"},
              "vae encode");
    if (a.positional.empty())
        throw UsageError("vae encode: give one or more IMAGE files");
    const std::string out = opt(a, "--out");
    if (out.empty())
        throw UsageError("vae encode: --out LATENTS.safetensors is required");
    if (!a.flags.count("--overwrite") && fs::exists(out))
        fail(ErrorCode::IoError, out + ": file exists (use --overwrite to replace it)");
    const auto tiling = tilingFrom(a);
    const bool mean = a.flags.count("--mean") > 0;
    const auto seed = static_cast<std::uint64_t>(intOpt(a, "--seed", 0, 0, 1LL << 62));
    // Read and check every image before the (slow) model load.
    std::vector<Image> images;
    for (const auto &p : a.positional) {
        auto img = readImage(p);
        if (!img.ok())
            fail(img.error().code, img.error().message);
        if (!images.empty() && (img->width != images[0].width || img->height != images[0].height))
            fail(ErrorCode::ShapeMismatch,
                 p + ": " + std::to_string(img->width) + "x" + std::to_string(img->height)
                     + " differs from the first image's " + std::to_string(images[0].width) + "x"
                     + std::to_string(images[0].height) + "; encode images of different sizes separately");
        images.push_back(std::move(img).value());
    }
    auto vae = openVaeFrom(a, "vae encode", tiling);
    const VaeInfo &info = vae->info();
    const int f = info.downsampleFactor;
    const int h = images[0].height, w = images[0].width;
    if (h % f || w % f)
        fail(ErrorCode::InvalidArgument,
             a.positional[0] + ": " + std::to_string(w) + "x" + std::to_string(h) + " is not a multiple of "
                 + std::to_string(f) + " (the VAE's downsampling factor); crop or resize the image");
    const HostTensor all = valueOr(vae->encode(images, mean, seed));
    check(writeTensorFile(out, {{"latent", all}},
                          {{"vae", info.path},
                           {"mode", mean ? "mean" : "sample"},
                           {"seed", std::to_string(seed)},
                           {"scaling_factor", std::to_string(info.scalingFactor)},
                           {"shift_factor", std::to_string(info.shiftFactor)}}));
    if (a.flags.count("--json")) {
        std::cout << nlohmann::json {{"out", out},
                                     {"shape", all.shape},
                                     {"mode", mean ? "mean" : "sample"},
                                     {"vae", info.path},
                                     {"layout", info.layout}}
                         .dump(2)
                  << '\n';
    } else {
        std::cerr << "wrote " << out << " (latent " << shapeText(all.shape) << ", "
                  << (mean ? "posterior mean" : "sampled") << ")\n";
    }
    return 0;
}

int vaeDecode(const Args &a)
{
    allowOnly(a,
              {"--vae", "--out", "--tensor", "--tiled", "--tile-size", "--tile-overlap", "--device",
               "--dtype", "--overwrite", "--json", "--log-level", "--threads"},
              "vae decode");
    if (a.positional.size() != 1)
        throw UsageError("vae decode: give exactly one LATENTS.safetensors file");
    const std::string in = a.positional[0];
    const std::string out = opt(a, "--out");
    if (out.empty())
        throw UsageError("vae decode: --out FILE.png|DIR/ is required");
    const auto tiling = tilingFrom(a);
    const bool overwrite = a.flags.count("--overwrite") > 0;
    if (!fs::is_regular_file(in))
        fail(ErrorCode::NotFound, in + ": no such latents file");
    auto file = valueOr(readTensorFile(in));
    std::string name = opt(a, "--tensor");
    if (name.empty()) {
        if (file.tensors.count("latent")) {
            name = "latent";
        } else if (file.tensors.size() == 1) {
            name = file.tensors.begin()->first;
        } else {
            std::string names;
            for (const auto &[k, t] : file.tensors)
                names += (names.empty() ? "" : ", ") + k;
            fail(ErrorCode::NotFound,
                 in + ": no tensor named 'latent' and several others (" + names
                     + "); choose one with --tensor NAME");
        }
    } else if (!file.tensors.count(name)) {
        fail(ErrorCode::NotFound, in + ": no tensor named '" + name + "'");
    }
    HostTensor z = std::move(file.tensors.at(name));
    if (z.shape.size() == 3)
        z.shape.insert(z.shape.begin(), 1);
    auto vae = openVaeFrom(a, "vae decode", tiling);
    const VaeInfo &info = vae->info();
    const int zc = info.latentChannels;
    if (z.shape.size() != 4 || z.shape[1] != zc)
        fail(ErrorCode::ShapeMismatch,
             in + ": tensor '" + name + "' has shape " + shapeText(z.shape) + "; the VAE expects [N, "
                 + std::to_string(zc) + ", h, w]");
    // Output paths, checked before decoding.
    const auto n = z.shape[0];
    const bool toDir = out.back() == '/' || out.back() == '\\' || fs::is_directory(out);
    std::vector<std::string> paths;
    if (toDir) {
        fs::create_directories(out);
        for (int64_t i = 0; i < n; ++i)
            paths.push_back(
                (fs::path(out) / (fs::path(in).stem().string() + "_" + std::to_string(i) + ".png")).string());
    } else {
        if (!fs::path(out).parent_path().empty())
            fs::create_directories(fs::path(out).parent_path());
        const auto stem = fs::path(out).parent_path() / fs::path(out).stem();
        for (int64_t i = 0; i < n; ++i)
            paths.push_back(n == 1 ? out : stem.string() + "_" + std::to_string(i) + ".png");
    }
    for (const auto &p : paths)
        if (!overwrite && fs::exists(p))
            fail(ErrorCode::IoError, p + ": file exists (use --overwrite to replace it)");
    const auto images = valueOr(vae->decode(z));
    for (int64_t i = 0; i < n; ++i) {
        auto w = writePng(
            paths[i], images.at(static_cast<size_t>(i)),
            {{"ditstudio",
              nlohmann::json {{"vae", info.path}, {"latents", in}, {"tensor", name}, {"index", i}}.dump()}},
            overwrite);
        if (!w.ok())
            fail(w.error().code, w.error().message);
    }
    if (a.flags.count("--json")) {
        std::cout << nlohmann::json {{"outputs", paths}, {"vae", info.path}, {"layout", info.layout}}.dump(2)
                  << '\n';
    } else {
        for (const auto &p : paths)
            std::cerr << "wrote " << p << '\n';
    }
    return 0;
}

} // namespace

int cmdVae(const std::vector<std::string> &argv)
{
    const Args a = parseArgs(argv, 1, {"--mean", "--tiled"});
    if (a.flags.count("--help") || a.positional.empty()) {
        std::cout << kVaeUsage;
        return a.positional.empty() && !a.flags.count("--help") ? 2 : 0;
    }
    const std::string sub = a.positional[0];
    Args rest = a;
    rest.positional.erase(rest.positional.begin());
    if (sub == "encode")
        return vaeEncode(rest);
    if (sub == "decode")
        return vaeDecode(rest);
    throw UsageError("vae: unknown subcommand '" + sub + "' (expected encode or decode)");
}

std::string usageVae()
{
    return kVaeUsage;
}

} // namespace ditstudio::cli
