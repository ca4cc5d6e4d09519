// ditstudio-cli vae encode|decode (images <-> Stable Diffusion VAE latents in safetensors files) and
// bench --preview (the per-step preview's cost against one DiT sampling step).
#include "cli/cli_commands.h"
#include "cli/cli_common.h"
#include "common/errors.h"
#include "core/platform.h"
#include "core/tensor_image.h"
#include "diffusion/preview_projection.h"
#include "ditstudio/engine.h"
#include "ditstudio/runtime.h"
#include "io/safetensors.h"
#include "model/dit.h"
#include "model/vae.h"
#include "model/vae_loader.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

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

struct VaeContext {
    AutoencoderKL vae {nullptr};
    VaeCheckpointInfo info;
    torch::Device device {torch::kCPU};
    torch::ScalarType dtype = torch::kFloat32;
};

torch::Device deviceFrom(const Args &a)
{
    auto dev = parseDevice(opt(a, "--device", "auto"));
    if (!dev.ok())
        fail(dev.error().code, dev.error().message);
    return dev->kind == DeviceKind::Cuda ? torch::Device(torch::kCUDA, dev->index)
        : dev->kind == DeviceKind::Mps   ? torch::Device(torch::kMPS)
                                         : torch::Device(torch::kCPU);
}

VaeContext openVae(const Args &a, const std::string &cmd)
{
    if (!has(a, "--vae") || opt(a, "--vae").empty())
        throw UsageError(cmd
                         + ": --vae PATH is required (a Stable Diffusion VAE: .safetensors, .ckpt, .pt or a "
                           "diffusers folder)");
    VaeContext c;
    c.device = deviceFrom(a);
    const DType dt = parsedOpt(a, "--dtype", parseDType, DType::Float32);
    c.dtype = dt == DType::BFloat16 ? torch::kBFloat16
        : dt == DType::Float16      ? torch::kFloat16
                                    : torch::kFloat32;
    if (c.dtype == torch::kFloat16 && c.device.is_cpu())
        fail(ErrorCode::Unsupported, "fp16 needs a CUDA device; use fp32 or bf16 on the CPU");
    const std::string path = opt(a, "--vae");
    LoadedVae loaded;
    try {
        loaded = readVaeCheckpoint(path);
    } catch (const DitException &e) {
        fail(e.code(), std::string("VAE ") + e.what());
    }
    c.info = loaded.info;
    c.vae = buildVae(loaded, c.device, c.dtype);
    spdlog::info("VAE {}: {} ({} layout, scaling factor {})", c.info.path, c.info.config.describe(),
                 c.info.layout, c.info.config.scalingFactor);
    return c;
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
    std::vector<torch::Tensor> images;
    for (const auto &p : a.positional) {
        auto img = readImage(p);
        if (!img.ok())
            fail(img.error().code, img.error().message);
        if (!images.empty() && (img->width != images[0].size(3) || img->height != images[0].size(2)))
            fail(ErrorCode::ShapeMismatch,
                 p + ": " + std::to_string(img->width) + "x" + std::to_string(img->height)
                     + " differs from the first image's " + std::to_string(images[0].size(3)) + "x"
                     + std::to_string(images[0].size(2)) + "; encode images of different sizes separately");
        images.push_back(imageToTensor(*img)); // [1, 3, H, W] in [-1, 1]
    }
    auto ctx = openVae(a, "vae encode");
    const int f = ctx.info.config.downsampleFactor();
    const auto h = images[0].size(2), w = images[0].size(3);
    if (h % f || w % f)
        fail(ErrorCode::InvalidArgument,
             a.positional[0] + ": " + std::to_string(w) + "x" + std::to_string(h) + " is not a multiple of "
                 + std::to_string(f) + " (the VAE's downsampling factor); crop or resize the image");
    torch::InferenceMode guard;
    auto gen = at::detail::createCPUGenerator(seed);
    std::vector<torch::Tensor> latents;
    for (const auto &x : images) {
        const auto xd = x.to(ctx.device, ctx.dtype);
        const VaeMoments m = tiling ? ctx.vae->encodeTiled(xd, *tiling) : ctx.vae->encode(xd);
        const auto mu = m.mean.to(torch::kCPU, torch::kFloat32),
                   logvar = m.logvar.to(torch::kCPU, torch::kFloat32);
        // Sampled on the CPU with one generator, so the same seed gives the same latents on every device.
        const auto z = mean ? mu : AutoencoderKLImpl::sample(mu, logvar, gen);
        latents.push_back((z - ctx.info.config.shiftFactor) * ctx.info.config.scalingFactor);
    }
    const auto all = torch::cat(latents, 0).contiguous();
    safetensors::save(out, {{"latent", all}},
                      {{"vae", ctx.info.path},
                       {"mode", mean ? "mean" : "sample"},
                       {"seed", std::to_string(seed)},
                       {"scaling_factor", std::to_string(ctx.info.config.scalingFactor)},
                       {"shift_factor", std::to_string(ctx.info.config.shiftFactor)}});
    if (a.flags.count("--json")) {
        std::cout << nlohmann::json {{"out", out},
                                     {"shape", all.sizes().vec()},
                                     {"mode", mean ? "mean" : "sample"},
                                     {"vae", ctx.info.path},
                                     {"layout", ctx.info.layout}}
                         .dump(2)
                  << '\n';
    } else {
        std::cerr << "wrote " << out << " (latent " << all.sizes() << ", "
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
    auto sd = safetensors::load(in);
    std::string name = opt(a, "--tensor");
    if (name.empty()) {
        if (sd.contains("latent")) {
            name = "latent";
        } else if (sd.tensors.size() == 1) {
            name = sd.tensors.begin()->first;
        } else {
            std::string names;
            for (const auto &[k, t] : sd.tensors)
                names += (names.empty() ? "" : ", ") + k;
            fail(ErrorCode::NotFound,
                 in + ": no tensor named 'latent' and several others (" + names
                     + "); choose one with --tensor NAME");
        }
    } else if (!sd.contains(name)) {
        fail(ErrorCode::NotFound, in + ": no tensor named '" + name + "'");
    }
    auto z = sd.at(name).to(torch::kFloat32);
    if (z.dim() == 3)
        z = z.unsqueeze(0);
    auto ctx = openVae(a, "vae decode");
    const int zc = ctx.info.config.latentChannels;
    if (z.dim() != 4 || z.size(1) != zc)
        fail(ErrorCode::ShapeMismatch,
             in + ": tensor '" + name + "' has shape " + c10::str(z.sizes()) + "; the VAE expects [N, "
                 + std::to_string(zc) + ", h, w]");
    // Output paths, checked before decoding.
    const auto n = z.size(0);
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
    torch::InferenceMode guard;
    for (int64_t i = 0; i < n; ++i) {
        const auto image = ctx.vae->decodeLatents(z.narrow(0, i, 1).to(ctx.device, ctx.dtype), tiling);
        auto w = writePng(
            paths[i], tensorToImages(image.to(torch::kFloat32)).at(0),
            {{"ditstudio",
              nlohmann::json {{"vae", ctx.info.path}, {"latents", in}, {"tensor", name}, {"index", i}}
                  .dump()}},
            overwrite);
        if (!w.ok())
            fail(w.error().code, w.error().message);
    }
    if (a.flags.count("--json")) {
        std::cout << nlohmann::json {{"outputs", paths}, {"vae", ctx.info.path}, {"layout", ctx.info.layout}}
                         .dump(2)
                  << '\n';
    } else {
        for (const auto &p : paths)
            std::cerr << "wrote " << p << '\n';
    }
    return 0;
}

template<typename F> double medianMs(int iters, F &&f)
{
    std::vector<double> ms;
    for (int i = 0; i < iters; ++i) {
        const auto s = std::chrono::steady_clock::now();
        f();
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - s).count());
    }
    std::sort(ms.begin(), ms.end());
    return ms[ms.size() / 2];
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

int cmdBenchPreview(const std::vector<std::string> &argv)
{
    const Args a = parseArgs(argv, 1, {"--preview", "--with-decode"});
    allowOnly(a,
              {"--preview", "--with-decode", "--arch", "--image-size", "--batch", "--iters", "--warmup",
               "--preview-iters", "--vae", "--threads", "--log-level", "--json", "--cache-dir"},
              "bench --preview");
    const std::string arch = opt(a, "--arch", "DiT-XL/2");
    const int imageSize = static_cast<int>(intOpt(a, "--image-size", 256, 8, 4096));
    if (imageSize % 8)
        throw UsageError("--image-size must be a multiple of 8");
    auto cfgR = ditConfigByName(arch, imageSize / 8);
    if (!cfgR.ok())
        throw UsageError(cfgR.error().message);
    const DiTConfig cfg = cfgR.value();
    const int batch = static_cast<int>(intOpt(a, "--batch", 2, 1, 1024)); // 2 = one image with CFG
    const int iters = static_cast<int>(intOpt(a, "--iters", 3, 1, 10000));
    const int warmup = static_cast<int>(intOpt(a, "--warmup", 1, 0, 1000));
    const int previewIters = static_cast<int>(intOpt(a, "--preview-iters", 200, 1, 1000000));
    torch::InferenceMode im;

    // The projection: fitted to --vae (cached), else the fixed SD matrix. Both are [C + 1, 3], so the
    // cost measured is the same; the fitted one also reports its error.
    torch::Tensor matrix;
    std::optional<AutoencoderKL> vae;
    nlohmann::json projectionJson = {{"source", "fixed SD matrix"}};
    if (has(a, "--vae")) {
        auto loaded = readVaeCheckpoint(opt(a, "--vae"));
        if (loaded.info.config.latentChannels != cfg.inChannels)
            fail(ErrorCode::ShapeMismatch,
                 opt(a, "--vae") + ": " + std::to_string(loaded.info.config.latentChannels)
                     + " latent channels, the DiT has " + std::to_string(cfg.inChannels));
        vae = buildVae(loaded, torch::kCPU, torch::kFloat32);
        const fs::path cacheDir
            = has(a, "--cache-dir") ? fs::path(opt(a, "--cache-dir")) : defaultPreviewCacheDir();
        const auto p = loadOrFitPreviewProjection(*vae, cacheDir);
        matrix = p.matrix;
        projectionJson = {{"source", loaded.info.path},        {"from_cache", p.fromCache},
                          {"fit_seconds", p.fitSeconds},       {"held_out_rmse", p.heldOutRmse},
                          {"held_out_psnr_db", p.heldOutPsnr}, {"fit_rmse", p.fitRmse},
                          {"baseline_rmse", p.baselineRmse},   {"fixed_matrix_rmse", p.fixedMatrixRmse}};
        std::cerr << "projection: " << p.summary() << '\n';
    }
    torch::manual_seed(0);
    const auto xt = torch::randn({1, cfg.inChannels, cfg.inputSize, cfg.inputSize});
    const auto x0 = torch::randn({1, cfg.inChannels, cfg.inputSize, cfg.inputSize});
    auto preview = [&](const torch::Tensor &x) {
        return cfg.inChannels == 4 || matrix.defined() ? tensorToImages(latentToRgbPreview(x, matrix))
                                                       : tensorToImages(x);
    };
    for (int i = 0; i < 10; ++i)
        (void)preview(xt);
    // The engine's per-step work for previews: project x_t and x0, convert both to 8-bit images.
    const double previewMs = medianMs(previewIters, [&] {
        (void)preview(xt);
        (void)preview(x0);
    });
    const double projectOnlyMs = medianMs(previewIters, [&] {
        (void)latentToRgbPreview(xt, matrix);
        (void)latentToRgbPreview(x0, matrix);
    });

    DiT model(cfg);
    model->eval();
    auto x = torch::randn({batch, cfg.inChannels, cfg.inputSize, cfg.inputSize});
    auto t = torch::randint(0, 1000, {batch});
    auto y = torch::randint(0, cfg.numClasses, {batch}, torch::kLong);
    for (int i = 0; i < warmup; ++i)
        (void)model->forward(x, t, y);
    const double stepMs = medianMs(iters, [&] { (void)model->forward(x, t, y).sum().item<float>(); });

    nlohmann::json j = {{"arch", cfg.name()},
                        {"image_size", imageSize},
                        {"latent", {1, cfg.inChannels, cfg.inputSize, cfg.inputSize}},
                        {"dit_batch", batch},
                        {"threads", computeThreads()},
                        {"blas", platform::blasDescription()},
                        {"step_ms", stepMs},
                        {"preview_ms", previewMs},
                        {"projection_only_ms", projectOnlyMs},
                        {"preview_percent_of_step", 100.0 * previewMs / stepMs},
                        {"target_percent", 2.0},
                        {"within_target", previewMs / stepMs < 0.02},
                        {"projection", projectionJson}};
    if (a.flags.count("--with-decode")) {
        // For scale: what a full VAE decode of x0 would cost at every step (SD architecture with random
        // weights unless --vae is given).
        AutoencoderKL dec = vae ? *vae : AutoencoderKL(VaeConfig {});
        dec->eval(); // one timed run, no warm-up: it takes seconds
        j["vae_decode_ms"] = medianMs(1, [&] { (void)dec->decodeLatents(x0).sum().item<float>(); });
        j["vae_decode_percent_of_step"] = 100.0 * j["vae_decode_ms"].get<double>() / stepMs;
    }
    if (a.flags.count("--json")) {
        std::cout << j.dump(2) << '\n';
    } else {
        std::printf("%s @%dpx, DiT forward batch %d: %.1f ms/step; preview of x_t + x0 (%s): %.3f ms "
                    "(projection alone %.3f ms) = %.4f%% of a step (target < 2%%: %s)\n",
                    cfg.name().c_str(), imageSize, batch, stepMs,
                    projectionJson["source"].get<std::string>().c_str(), previewMs, projectOnlyMs,
                    100.0 * previewMs / stepMs, previewMs / stepMs < 0.02 ? "met" : "MISSED");
        if (j.contains("vae_decode_ms"))
            std::printf("full VAE decode of x0: %.1f ms = %.1f%% of a step\n",
                        j["vae_decode_ms"].get<double>(), j["vae_decode_percent_of_step"].get<double>());
    }
    return 0;
}

} // namespace ditstudio::cli
