// ditstudio-cli train: a class-conditional DiT with the official loss through the public training
// API (ditstudio/training.h), resumable, with torchrun-style data parallel.
#include "cli/cli_commands.h"
#include "cli/cli_common.h"
#include "ditstudio/model_info.h"
#include "ditstudio/runtime.h"
#include "ditstudio/training.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>

namespace ditstudio::cli {

namespace fs = std::filesystem;

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

} // namespace ditstudio::cli
