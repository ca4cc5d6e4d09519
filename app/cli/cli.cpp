// ditstudio-cli: inspect, generate, bench. The contract that scripts and checks rely on.
#include "cli/cli.h"

#include "cli/cli_commands.h"
#include "cli/cli_common.h"
#include "ditstudio/bench.h"
#include "ditstudio/class_names.h"
#include "ditstudio/engine.h"
#include "ditstudio/model_info.h"
#include "ditstudio/runtime.h"
#include "ditstudio/tensor_file.h"
#include "ditstudio/training.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <set>

namespace ditstudio::cli {

namespace fs = std::filesystem;

namespace {

const char *kUsage = R"(usage: ditstudio-cli <command> [options]

commands:
  inspect PATH [--json]          describe a checkpoint (file or diffusers folder) without loading it
  generate [options]             sample images from a DiT
  bench --arch NAME [options]    time the DiT forward pass with random weights
  classes [--model PATH] [QUERY] list the model's classes (or the closest matches to QUERY)
  train [options]                train a class-conditional DiT (resumable; see below)
  vae encode|decode [options]    images <-> SD VAE latents in safetensors files (vae --help)
  edit img2img|inpaint|invert|video [options]   edit an image or video (see "edit options")
  video film|walk|info|frames   denoising film, latent walk, read videos (see "video commands")
  explain [options]              probe attention, adaLN, block activity and guidance while sampling
  evaluate [options]             score a Fashion-MNIST model: share classified as requested, Frechet distance
  train-classifier [options]     train the evaluation classifier on Fashion-MNIST
  models list|get NAME           the official models: list them, download one (see "models commands")

generate options:
  --model PATH          checkpoint (.safetensors, .pt, diffusers folder); default: the embedded model
  --vae PATH            Stable Diffusion VAE for latent models (decodes the final images to RGB)
  --preview-dir DIR     write per-step previews stepNNN_I_xt.png / _x0.png (latent models: the
                        linear projection fitted to --vae, else the fixed SD matrix)
  --vae-preview-every N also write a full VAE decode of x0 (stepNNN_I_x0_vae.png) every N steps
  --prompt TEXT         class name(s): "golden retriever", "#207", "0.7 cat + 0.3 dog"
  --class N             class index (instead of --prompt)
  --steps N             sampling steps (default 50)
  --sampler NAME        ddpm | ddim | dpmpp-2m | euler | euler-a | heun (default ddpm)
  --eta F               DDIM eta (default 0)
  --cfg F               guidance scale (default 4; 1 disables)
  --cfg-channels 3|all  guide the first 3 eps channels (official) or all (default 3)
  --cfg-interval A,B    guide only where t/1000 is in [A, B]
  --karras              Karras sigma spacing for the sigma-space samplers
  --cache N             fast mode: step caching (FORA); the transformer blocks run in full every Nth
                        model call and their attention/MLP outputs are reused between (1 = off, exact)
  --cache-threshold F   adaptive step caching instead (TeaCache-style): run the blocks when the first
                        block's input has changed by F (relative, summed) since they last ran
  --seed N              seed (default 0); image i uses seed + i
  --batch N             images (default 1)
  --out FILE.png|DIR/   output (default out/); into a folder: <class>_<seed>_<index>.png
  --overwrite           replace existing files
  --init-noise FILE     safetensors with tensor "z" [batch, C, H, W]
  --save-latent FILE    write the final sample as tensor "latent"
  --labels FILE         class names, one per line
  --device cpu|cuda[:N]|mps|auto   (default auto)
  --dtype fp32|bf16|fp16       (default fp32; bf16/fp16 keep the residual stream in fp32)
  --low-precision-residual     with bf16/fp16: the whole forward in that precision (faster, less exact)
  --threads N           intra-op threads (default: all cores)
  --json                machine-readable summary on stdout
  --quiet               no progress bar

bench options:
  --arch DiT-XL/2 (S, B, L, XL; /2, /4, /8)  --image-size N (default 256)  --batch N (default 2)
  --iters N (default 3)  --warmup N (default 1)  --dtype fp32|bf16  --device  --threads N  --json
  --gemm                also measure the matrix-product peak at the model's shapes (same dtype and
                        threads) and report the forward's share of it; the JSON has peak_rss_mb too
  --probes              time the Inside view's probes: the same generation (generate's options; default
                        the embedded model, ddim) with every probe off and on, ms per step
  --preview             time the per-step preview (x_t and x0 of one latent through the linear
                        projection) against the DiT forward (batch 2 = CFG) on the CPU; --vae PATH
                        fits the projection to that VAE; --with-decode also times a full VAE decode

train options:
  --dataset fashion-mnist|DIR  (DIR: one subfolder per class)   --dataset-dir DIR (idx files)
  --arch NAME (e.g. DiT-S/4) or --depth N --hidden N --heads N --patch N   --input-size N --channels N
  --batch N (128)  --lr F (1e-4)  --ema F (0.9999)  --ema-warmup N  --grad-clip F  --steps N (total)
  --checkpoint-every N  --log-every N  --seed N  --hflip  --out DIR  --no-resume  --threads N
  --weighting uniform|min-snr|edm2 (uniform)  --min-snr-gamma F (5)  --bf16 (CPU autocast)
  --switch-weighting    resume a run trained with another --weighting (fine-tune it with this one)
  --lr-decay-start N --lr-final F   from step N the learning rate falls linearly to F at --steps
  --sample-every N (sample grid at checkpoints)
  --vae PATH            latent training: encode the dataset once (cached in --out), --input-size is the
                        latent size and --channels the VAE's latent channels
  data parallel (torchrun-style; env RANK WORLD_SIZE MASTER_ADDR MASTER_PORT, or):
  --rank N  --world-size N  --master-addr HOST  --master-port N  --dist-timeout SECONDS (300)
  (--batch is per rank; rank 0 writes the checkpoints)

common: --log-level trace|debug|info|warn|error|off, --version, --help
)";

nlohmann::json infoJson(const CheckpointInfo &info)
{
    const auto &c = info.config;
    return {{"path", info.path},
            {"format", info.format},
            {"layout", info.layout},
            {"family", info.family},
            {"architecture", c.name()},
            {"input_size", c.inputSize},
            {"patch_size", c.patchSize},
            {"in_channels", c.inChannels},
            {"hidden_size", c.hiddenSize},
            {"depth", c.depth},
            {"num_heads", c.numHeads},
            {"mlp_ratio", c.mlpRatio},
            {"num_classes", c.numClasses},
            {"learn_sigma", c.learnSigma},
            {"latent_space", info.latentSpace},
            {"parameters", info.parameterCount},
            {"dtype", info.dtype},
            {"class_names", info.classNames.size()}};
}

int cmdInspect(const Args &a)
{
    allowOnly(a, {"--json"}, "inspect");
    if (a.positional.size() != 1)
        throw UsageError("inspect: expected one PATH");
    const auto info = valueOr(inspectCheckpoint(a.positional[0]));
    if (a.flags.count("--json")) {
        std::cout << infoJson(info).dump(2) << '\n';
        return 0;
    }
    const auto &c = info.config;
    std::cout << "path:          " << info.path << '\n'
              << "format:        " << info.format << " (" << info.layout << " layout)\n"
              << "architecture:  " << c.name() << " (family " << info.family << ")\n"
              << "input_size:    " << c.inputSize
              << (info.latentSpace ? " (latent; image " + std::to_string(c.inputSize * 8) + " px)"
                                   : " (pixels)")
              << '\n'
              << "patch_size:    " << c.patchSize << '\n'
              << "in_channels:   " << c.inChannels << '\n'
              << "hidden_size:   " << c.hiddenSize << '\n'
              << "depth:         " << c.depth << '\n'
              << "num_heads:     " << c.numHeads << '\n'
              << "num_classes:   " << c.numClasses << (info.classNames.empty() ? " (no names)" : " (named)")
              << '\n'
              << "learn_sigma:   " << (c.learnSigma ? "true" : "false") << '\n'
              << "parameters:    " << info.parameterCount << '\n'
              << "dtype:         " << info.dtype << '\n';
    return 0;
}

int cmdGenerate(const Args &a)
{
    allowOnly(a,
              {"--model",
               "--vae",
               "--prompt",
               "--class",
               "--steps",
               "--sampler",
               "--eta",
               "--cfg",
               "--cfg-channels",
               "--cfg-interval",
               "--karras",
               "--seed",
               "--batch",
               "--out",
               "--overwrite",
               "--init-noise",
               "--save-latent",
               "--labels",
               "--device",
               "--dtype",
               "--threads",
               "--json",
               "--quiet",
               "--log-level",
               "--preview-dir",
               "--vae-preview-every",
               "--cache",
               "--low-precision-residual",
               "--cache-threshold"},
              "generate");
    if (!a.positional.empty())
        throw UsageError("generate: unexpected argument '" + a.positional[0] + "'");
    GenerateRequest req;
    const LoadOptions lo = loadOptionsFromFlags(a);
    req.vaePreviewEvery = static_cast<int>(intOpt(a, "--vae-preview-every", 0, 0, 100000));
    if (req.vaePreviewEvery > 0 && (lo.vaePath.empty() || !a.options.count("--preview-dir")))
        throw UsageError("--vae-preview-every needs --vae PATH and --preview-dir DIR");
    samplingFromFlags(a, req);
    const std::string ch = opt(a, "--cfg-channels", "3");
    req.batch = static_cast<int>(intOpt(a, "--batch", 1, 1, 256));
    const bool json = a.flags.count("--json") > 0;
    if (a.options.count("--prompt") == a.options.count("--class"))
        throw UsageError("generate: give exactly one of --prompt TEXT or --class N");

    Engine engine;
    const std::string modelPath = opt(a, "--model");
    auto loaded = modelPath.empty() ? engine.loadDefaultModel(lo) : engine.loadModel(modelPath, lo);
    if (!loaded.ok())
        fail(loaded.error().code, loaded.error().message);
    const auto &info = loaded.value();
    if (a.options.count("--class")) {
        const int cls = static_cast<int>(intOpt(a, "--class", 0, 0, info.config.numClasses - 1));
        req.conditioning = Conditioning {{{cls, 1.0}}};
    } else {
        req.prompt = opt(a, "--prompt");
        auto match = engine.parsePrompt(req.prompt);
        if (!match.ok())
            fail(match.error().code, match.error().message);
        for (const auto &w : match->warnings)
            std::cerr << "note: " << w << '\n';
        req.conditioning = match->conditioning;
    }
    if (a.options.count("--init-noise"))
        req.initNoise = initNoiseFromFile(opt(a, "--init-noise"));
    req.wantPreviews = a.options.count("--preview-dir") > 0;

    // Output paths, checked before sampling so no work is lost on a bad path.
    const std::string out = opt(a, "--out", "out/");
    const bool toDir = out.back() == '/' || out.back() == '\\' || fs::is_directory(out);
    const bool overwrite = a.flags.count("--overwrite") > 0;
    const std::string label
        = safeFileName(displayName(info.classNames, req.conditioning->classes[0].classId));
    std::vector<std::string> paths;
    if (toDir) {
        fs::create_directories(out);
        for (int i = 0; i < req.batch; ++i)
            paths.push_back(
                (fs::path(out)
                 / (label + "_" + std::to_string(req.seed + i) + "_" + std::to_string(i) + ".png"))
                    .string());
    } else {
        if (!fs::path(out).parent_path().empty())
            fs::create_directories(fs::path(out).parent_path());
        const auto stem = fs::path(out).parent_path() / fs::path(out).stem();
        for (int i = 0; i < req.batch; ++i)
            paths.push_back(req.batch == 1 ? out : stem.string() + "_" + std::to_string(i) + ".png");
    }
    for (const auto &p : paths)
        if (!overwrite && fs::exists(p))
            fail(ErrorCode::IoError, p + ": file exists (use --overwrite to replace it)");

    const std::string previewDir = opt(a, "--preview-dir");
    if (!previewDir.empty())
        fs::create_directories(previewDir);
    ProgressBar bar(!a.flags.count("--quiet"));
    GenerateObserver observer;
    observer.onStep = [&](const StepUpdate &u) {
        bar.update(u.step + 1, u.totalSteps, u.elapsedSeconds, "sampling");
        if (!previewDir.empty()) {
            for (size_t i = 0; i < u.previewXt.size(); ++i) {
                char name[64];
                std::snprintf(name, sizeof name, "step%03d_%zu", u.step, i);
                (void)writePng((fs::path(previewDir) / (std::string(name) + "_xt.png")).string(),
                               u.previewXt[i], {}, true);
                (void)writePng((fs::path(previewDir) / (std::string(name) + "_x0.png")).string(),
                               u.previewX0[i], {}, true);
            }
            for (size_t i = 0; i < u.decodedX0.size(); ++i) {
                char name[64];
                std::snprintf(name, sizeof name, "step%03d_%zu_x0_vae.png", u.step, i);
                (void)writePng((fs::path(previewDir) / name).string(), u.decodedX0[i], {}, true);
            }
        }
    };
    auto result = generateInterruptibly(engine, req, observer);
    if (!result)
        return 130;
    nlohmann::json params
        = {{"model", info.path},   {"architecture", info.config.name()},
           {"prompt", req.prompt}, {"conditioning", req.conditioning->describe(info.classNames)},
           {"steps", req.steps},   {"sampler", samplerName(req.sampler)},
           {"eta", req.eta},       {"cfg", req.cfgScale},
           {"cfg_channels", ch},   {"seed", req.seed},
           {"batch", req.batch},   {"vae", lo.vaePath}};
    for (size_t i = 0; i < result->images.size(); ++i) {
        auto p = params;
        p["seed"] = result->seeds[i];
        p["index"] = i;
        const std::string a1111 = req.conditioning->describe(info.classNames)
            + "\nSteps: " + std::to_string(req.steps) + ", Sampler: " + samplerName(req.sampler)
            + ", CFG scale: " + std::to_string(req.cfgScale) + ", Seed: " + std::to_string(result->seeds[i])
            + ", Model: " + info.config.name();
        auto w = writePng(paths[i], result->images[i], {{"parameters", a1111}, {"ditstudio", p.dump()}},
                          overwrite);
        if (!w.ok())
            fail(w.error().code, w.error().message);
    }
    if (a.options.count("--save-latent"))
        check(writeTensorFile(opt(a, "--save-latent"), {{"latent", result->latent}},
                              {{"architecture", info.config.name()}}));
    if (json) {
        nlohmann::json summary = params;
        summary["outputs"] = paths;
        summary["seconds"] = result->seconds;
        summary["steps_done"] = result->stepsDone;
        std::vector<int> classes;
        for (const auto &c : req.conditioning->classes)
            classes.push_back(c.classId);
        summary["classes"] = classes;
        summary["device"] = lo.device;
        summary["dtype"] = dtypeName(lo.dtype);
        if (a.options.count("--save-latent"))
            summary["latent"] = opt(a, "--save-latent");
        std::cout << summary.dump(2) << '\n';
    } else {
        for (const auto &p : paths)
            std::cerr << "wrote " << p << '\n';
    }
    return 0;
}

int cmdBench(const Args &a)
{
    allowOnly(a,
              {"--arch", "--image-size", "--batch", "--iters", "--warmup", "--dtype", "--device", "--threads",
               "--json", "--log-level", "--num-classes", "--gemm", "--low-precision-residual"},
              "bench");
    BenchRequest req;
    req.arch = opt(a, "--arch", "DiT-XL/2");
    req.imageSize = static_cast<int>(intOpt(a, "--image-size", 256, 8, 4096));
    if (req.imageSize % 8)
        throw UsageError("--image-size must be a multiple of 8");
    if (auto cfg = ditConfigByName(req.arch, req.imageSize / 8); !cfg.ok())
        throw UsageError(cfg.error().message);
    req.numClasses = static_cast<int>(intOpt(a, "--num-classes", 1000, 1, 100000));
    req.batch = static_cast<int>(intOpt(a, "--batch", 2, 1, 1024));
    req.iters = static_cast<int>(intOpt(a, "--iters", 3, 1, 10000));
    req.warmup = static_cast<int>(intOpt(a, "--warmup", 1, 0, 1000));
    req.dtype = parsedOpt(a, "--dtype", parseDType, DType::Float32);
    req.device = opt(a, "--device", "auto");
    req.lowPrecisionResidual = a.flags.count("--low-precision-residual") > 0;
    req.measureGemmPeak = a.flags.count("--gemm") > 0;
    const BenchReport r = valueOr(benchForward(req));
    nlohmann::json gemm = nlohmann::json::array();
    for (const auto &g : r.gemm)
        gemm.push_back({{"name", g.name}, {"m", g.m}, {"k", g.k}, {"n", g.n}, {"gflops", g.gflops}});
    nlohmann::json j = {{"arch", r.arch},
                        {"image_size", r.imageSize},
                        {"batch", r.batch},
                        {"dtype", dtypeName(r.dtype)},
                        {"residual", r.residual},
                        {"device", r.device},
                        {"threads", r.threads},
                        {"iters", r.iters},
                        {"ms_median", r.msMedian},
                        {"ms_mean", r.msMean},
                        {"ms_min", r.msMin},
                        {"gmacs_per_image", r.gmacsPerImage},
                        {"gflops_per_forward", r.gflopsPerForward},
                        {"achieved_gflops", r.achievedGflops},
                        {"parameters", r.parameters},
                        {"peak_rss_mb", r.peakRssMb},
                        {"blas", r.blas}};
    if (r.gemmPeakGflops > 0) {
        j["gemm"] = gemm;
        j["gemm_peak_gflops"] = r.gemmPeakGflops;
        j["share_of_gemm_peak"] = r.achievedGflops / r.gemmPeakGflops;
    }
    if (a.flags.count("--json")) {
        std::cout << j.dump(2) << '\n';
    } else {
        std::printf("%s @%dpx batch %d %s on %s (%d threads): %.1f ms/forward (median of %d), %.1f GFLOP/s "
                    "(%.1f GFLOP per forward)\n",
                    r.arch.c_str(), r.imageSize, r.batch, dtypeName(r.dtype), r.device.c_str(), r.threads,
                    r.msMedian, r.iters, r.achievedGflops, r.gflopsPerForward);
        if (r.gemmPeakGflops > 0) {
            for (const auto &g : r.gemm)
                std::printf("  GEMM %-9s [%lld x %lld] x [%lld x %lld]: %.1f GFLOP/s\n", g.name.c_str(),
                            static_cast<long long>(g.m), static_cast<long long>(g.k),
                            static_cast<long long>(g.k), static_cast<long long>(g.n), g.gflops);
            std::printf("  forward reaches %.0f%% of the GEMM peak (%.1f GFLOP/s); peak RSS %.0f MB\n",
                        100.0 * r.achievedGflops / r.gemmPeakGflops, r.gemmPeakGflops, r.peakRssMb);
        }
    }
    return 0;
}

int cmdClasses(const Args &a)
{
    allowOnly(a, {"--model", "--json", "--log-level"}, "classes");
    const std::string modelPath = opt(a, "--model", defaultModelPath());
    if (modelPath.empty())
        fail(ErrorCode::NotFound, "no --model given and the embedded default model was not found");
    const auto info = valueOr(inspectCheckpoint(modelPath));
    std::vector<int> ids;
    if (a.positional.empty()) {
        for (int i = 0; i < static_cast<int>(info.classNames.size()); ++i)
            ids.push_back(i);
    } else {
        ids = closestClasses(a.positional[0], info.classNames, 10);
    }
    for (int id : ids)
        std::cout << id << '\t' << info.classNames[id] << '\n';
    return 0;
}

int cmdTrain(const Args &a)
{
    allowOnly(a,
              {"--dataset",
               "--dataset-dir",
               "--arch",
               "--depth",
               "--hidden",
               "--heads",
               "--patch",
               "--input-size",
               "--channels",
               "--batch",
               "--lr",
               "--ema",
               "--ema-warmup",
               "--grad-clip",
               "--steps",
               "--checkpoint-every",
               "--log-every",
               "--seed",
               "--hflip",
               "--out",
               "--no-resume",
               "--threads",
               "--log-level",
               "--quiet",
               "--no-learn-sigma",
               "--mlp-ratio",
               "--weighting",
               "--min-snr-gamma",
               "--bf16",
               "--sample-every",
               "--rank",
               "--world-size",
               "--master-addr",
               "--master-port",
               "--dist-timeout",
               "--vae",
               "--switch-weighting",
               "--lr-decay-start",
               "--lr-final"},
              "train");
    TrainRequest o;
    o.dataset = opt(a, "--dataset", "fashion-mnist");
    o.datasetDir = opt(a, "--dataset-dir");
    const bool fmnist = o.dataset == "fashion-mnist";
    const int inputSize = static_cast<int>(intOpt(a, "--input-size", fmnist ? 28 : 32, 4, 1024));
    if (a.options.count("--arch")) {
        auto c = ditConfigByName(opt(a, "--arch"), inputSize);
        if (!c.ok())
            throw UsageError(c.error().message);
        o.model = c.value();
    } else {
        o.model.inputSize = inputSize;
        o.model.depth = static_cast<int>(intOpt(a, "--depth", 6, 1, 64));
        o.model.hiddenSize = static_cast<int>(intOpt(a, "--hidden", 192, 8, 4096));
        o.model.numHeads = static_cast<int>(intOpt(a, "--heads", 3, 1, 64));
        o.model.patchSize = static_cast<int>(intOpt(a, "--patch", 4, 1, 16));
    }
    o.model.mlpRatio = floatOpt(a, "--mlp-ratio", 4.0);
    o.model.inChannels = static_cast<int>(intOpt(a, "--channels", fmnist ? 1 : 3, 1, 16));
    o.model.learnSigma = !a.flags.count("--no-learn-sigma");
    if (auto v = o.model.validate(); !v.ok())
        throw UsageError(v.error().message);
    o.batchSize = static_cast<int>(intOpt(a, "--batch", 128, 1, 65536));
    o.learningRate = floatOpt(a, "--lr", 1e-4);
    o.emaDecay = floatOpt(a, "--ema", 0.9999);
    o.emaWarmupSteps = static_cast<int>(intOpt(a, "--ema-warmup", 0, 0, 1 << 30));
    o.gradClip = floatOpt(a, "--grad-clip", 0.0);
    o.totalSteps = intOpt(a, "--steps", 1000, 1, 1LL << 40);
    o.checkpointEvery = intOpt(a, "--checkpoint-every", 500, 1, 1LL << 40);
    o.logEvery = intOpt(a, "--log-every", 50, 1, 1LL << 40);
    o.seed = static_cast<unsigned long long>(intOpt(a, "--seed", 0, 0, 1LL << 62));
    o.hflip = a.flags.count("--hflip") > 0;
    o.outDir = opt(a, "--out", "train-out");
    o.resume = !a.flags.count("--no-resume");
    if (!o.resume && fs::exists(fs::path(o.outDir) / "state.json"))
        fail(ErrorCode::IoError,
             o.outDir + " already holds a training run; remove it or resume without --no-resume");
    o.weighting = parsedOpt(a, "--weighting", parseLossWeighting, LossWeighting::Uniform);
    o.minSnrGamma = floatOptIn(a, "--min-snr-gamma", 5.0, 1e-6, 1e6);
    o.switchWeighting = a.flags.count("--switch-weighting") > 0;
    o.lrDecayStart = intOpt(a, "--lr-decay-start", 0, 0, 1LL << 40);
    o.lrFinal = floatOptIn(a, "--lr-final", 0.0, 0.0, 1.0);
    if (o.lrDecayStart > 0 && o.lrDecayStart >= o.totalSteps)
        throw UsageError("--lr-decay-start: must be below --steps (" + std::to_string(o.totalSteps) + ")");
    o.bf16Autocast = a.flags.count("--bf16") > 0;
    o.sampleEvery = intOpt(a, "--sample-every", 0, 0, 1LL << 40);
    o.vaePath = opt(a, "--vae");
    // torchrun-style data parallel: the environment (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT)
    // gives the defaults, options override.
    o.distributed = valueOr(distributedFromEnvironment());
    o.distributed.worldSize = static_cast<int>(intOpt(a, "--world-size", o.distributed.worldSize, 1, 65536));
    o.distributed.rank
        = static_cast<int>(intOpt(a, "--rank", o.distributed.rank, 0, o.distributed.worldSize - 1));
    o.distributed.masterAddr = opt(a, "--master-addr", o.distributed.masterAddr);
    o.distributed.masterPort
        = static_cast<int>(intOpt(a, "--master-port", o.distributed.masterPort, 1, 65535));
    o.distributed.timeout = std::chrono::seconds(intOpt(a, "--dist-timeout", 300, 1, 86400));
    const bool quiet = a.flags.count("--quiet") > 0;
    const std::string weightingText = o.weighting == LossWeighting::MinSnr
        ? "Min-SNR-gamma weighting, gamma " + std::to_string(o.minSnrGamma)
        : o.weighting == LossWeighting::Edm2Uncertainty ? "EDM2 learned uncertainty weighting"
                                                        : "uniform timestep weighting";
    spdlog::info("training {} ({} parameters) on {} with the official loss ({}), batch {}{}", o.model.name(),
                 o.model.parameterCount(), o.dataset, weightingText, o.batchSize,
                 o.distributed.worldSize > 1
                     ? " per rank, " + std::to_string(o.distributed.worldSize) + " ranks"
                     : "");
    CancelToken cancel;
    std::optional<SigintCancels> sigint(std::in_place, cancel);
    const auto result = train(
        o,
        [&](const TrainProgress &p) {
            if (quiet || p.rank != 0)
                return;
            const double eta
                = p.imagesPerSecond > 0 ? (p.totalSteps - p.step) * o.batchSize / p.imagesPerSecond : 0;
            std::fprintf(
                stderr,
                "step %lld/%lld  loss %.4f (mse %.4f, vb %.4f)  %.1f img/s  elapsed %.0fs  ETA %.0fs\n",
                p.step, p.totalSteps, p.loss, p.mse, p.vb, p.imagesPerSecond, p.elapsedSeconds, eta);
        },
        cancel);
    sigint.reset();
    if (!result.ok())
        fail(result.error());
    std::cerr << "stopped at step " << result->step << "; checkpoint in " << result->outDir << '\n';
    return cancel.isCancelled() ? 130 : 0;
}

} // namespace

int run(int argc, char **argv)
{
    std::vector<std::string> args(argv + 1, argv + argc);
    return run(args);
}

int run(const std::vector<std::string> &argvIn)
{
    const std::vector<std::string> &argv = argvIn; // without the program name
    try {
        if (argv.empty() || argv[0] == "--help" || argv[0] == "-h" || argv[0] == "help") {
            std::cout << kUsage << usageEvaluate() << usageEdit() << usageVideo() << usageExplain()
                      << usageModels();
            return argv.empty() ? 2 : 0;
        }
        // Logging and threads first (Debian's LibTorch starts with one thread). Only these two
        // options are read here; each command parses the rest with its own flag set.
        Args common;
        for (size_t i = 1; i + 1 < argv.size(); ++i)
            if (argv[i] == "--log-level" || argv[i] == "--threads")
                common.options[argv[i]] = argv[i + 1];
        for (size_t i = 1; i < argv.size(); ++i)
            for (const char *key : {"--log-level=", "--threads="})
                if (argv[i].rfind(key, 0) == 0)
                    common.options[std::string(key, std::char_traits<char>::length(key) - 1)]
                        = argv[i].substr(std::char_traits<char>::length(key));
        const std::string logLevel = opt(common, "--log-level");
        if (auto r = initLogging(logLevel, (fs::path(defaultUserDataDir()) / "logs").string()); !r.ok())
            throw UsageError(r.error().message);
        setComputeThreads(static_cast<int>(intOpt(common, "--threads", 0, 0, 1024)));
        const std::string cmd = argv[0];
        // Command families in their own files (cli_commands.h).
        // (dispatch lines for families go here)
        if (cmd == "video")
            return cmdVideo(argv);
        if (cmd == "edit")
            return cmdEdit(argv);
        if (cmd == "vae")
            return cmdVae(argv);
        if (cmd == "models")
            return cmdModels(argv);
        if (cmd == "bench" && std::find(argv.begin(), argv.end(), "--preview") != argv.end())
            return cmdBenchPreview(argv);
        if (cmd == "bench" && std::find(argv.begin(), argv.end(), "--probes") != argv.end())
            return cmdBenchProbes(argv);
        if (cmd == "evaluate")
            return cmdEvaluate(argv);
        if (cmd == "explain")
            return cmdExplain(argv);
        if (cmd == "train-classifier")
            return cmdTrainClassifier(argv);
        const Args a = parseArgs(argv, 1);
        if (cmd == "--version" || cmd == "version") {
            std::cout << runtimeInfoText();
            return 0;
        }
        if (a.flags.count("--help")) {
            std::cout << kUsage << usageEvaluate() << usageEdit() << usageVideo() << usageExplain()
                      << usageModels();
            return 0;
        }
        if (cmd == "inspect")
            return cmdInspect(a);
        if (cmd == "generate")
            return cmdGenerate(a);
        if (cmd == "bench")
            return cmdBench(a);
        if (cmd == "classes")
            return cmdClasses(a);
        if (cmd == "train")
            return cmdTrain(a);
        throw UsageError("unknown command '" + cmd + "' (try --help)");
    } catch (const UsageError &e) {
        std::cerr << "ditstudio-cli: " << e.what() << '\n';
        return 2;
    } catch (const CommandError &e) {
        std::cerr << "ditstudio-cli: " << Error {e.code, e.what()}.toString() << '\n';
        return 1;
    } catch (const std::exception &e) {
        std::cerr << "ditstudio-cli: " << Error {ErrorCode::Internal, e.what()}.toString() << '\n';
        return 1;
    }
}

} // namespace ditstudio::cli
