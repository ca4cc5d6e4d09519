#pragma once
// The DiT trainer: official loss, AdamW, EMA, class dropout, deterministic and resumable.
// Every step's randomness (batch indices, timesteps, noise, label dropout) comes from a CPU
// generator seeded with (seed, step), so a resumed run continues bit-for-bit.

#include "ditstudio/cancel_token.h"
#include "ditstudio/model_info.h"

#include <functional>
#include <string>

namespace ditstudio {

struct TrainOptions {
    std::string dataset = "fashion-mnist"; ///< "fashion-mnist" or an image folder
    std::string datasetDir;                ///< idx folder for fashion-mnist (default: Debian's)
    DiTConfig model;
    int batchSize = 128;
    double learningRate = 1e-4;
    double weightDecay = 0.0;
    double emaDecay = 0.9999;
    int emaWarmupSteps = 0;        ///< 0: plain decay; else decay_t = min(decay, (1+t)/(warmup+t))
    double gradClip = 0.0;         ///< 0 disables
    long long totalSteps = 1000;
    long long checkpointEvery = 500;
    long long logEvery = 50;
    std::string outDir = "train-out";
    unsigned long long seed = 0;
    bool hflip = false;
    bool resume = true;            ///< continue from outDir's checkpoint when present
    int threads = 0;
};

struct TrainProgress {
    long long step = 0, totalSteps = 0;
    double loss = 0, mse = 0, vb = 0;
    double imagesPerSecond = 0;
    double elapsedSeconds = 0;
};

/// Train until totalSteps (or cancel). Writes outDir/model.safetensors (EMA weights, loadable by
/// the engine), raw.safetensors, optimizer.pt, state.json and log.csv atomically at checkpoints
/// and at the end. Returns the last step reached. Throws DitException on bad input.
long long trainDiT(const TrainOptions &options, const std::function<void(const TrainProgress &)> &onProgress,
                   const CancelToken &cancel);

} // namespace ditstudio
