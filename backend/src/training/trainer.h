#pragma once
// The DiT trainer: official loss, AdamW, EMA, class dropout, deterministic and resumable.
// Every step's randomness (batch indices, timesteps, noise, label dropout) comes from a CPU
// generator seeded with (seed, step), so a resumed run continues bit-for-bit.

#include "ditstudio/cancel_token.h"
#include "ditstudio/model_info.h"
#include "training/distributed.h"
#include "training/weighting.h"

#include <functional>
#include <string>

namespace ditstudio {

struct TrainOptions {
    std::string dataset = "fashion-mnist"; ///< "fashion-mnist" or an image folder
    std::string datasetDir; ///< idx folder for fashion-mnist (default: Debian's)
    DiTConfig model;
    int batchSize = 128;
    double learningRate = 1e-4;
    double weightDecay = 0.0;
    double emaDecay = 0.9999;
    int emaWarmupSteps = 0; ///< 0: plain decay; else decay_t = min(decay, (1+t)/(warmup+t))
    double gradClip = 0.0; ///< 0 disables
    long long totalSteps = 1000;
    long long checkpointEvery = 500;
    long long logEvery = 50;
    std::string outDir = "train-out";
    unsigned long long seed = 0;
    bool hflip = false;
    bool resume = true; ///< continue from outDir's checkpoint when present
    int threads = 0;
    LossWeighting weighting = LossWeighting::Uniform;
    double minSnrGamma = 5.0;
    /// Resume a run that was trained with another loss weighting (fine-tuning it with this one;
    /// EDM2's weighting network starts fresh when the run has none). Off: such a resume is refused.
    bool switchWeighting = false;
    /// Learning-rate decay: from step lrDecayStart (0 = constant) the rate falls linearly to lrFinal
    /// at totalSteps. A pure function of the step, so a resume with the same flags stays bit-for-bit.
    long long lrDecayStart = 0;
    double lrFinal = 0.0;
    bool bf16Autocast = false; ///< CPU autocast to bfloat16 for the forward pass
    long long sampleEvery = 0; ///< write samples/step_N.png (10 classes x 8) at checkpoints; 0 = off
    int sampleSteps = 50; ///< DDPM steps for the sample grid (cfg 4, seed 0)
    /// Latent training: the SD VAE that maps images to latents. The dataset is encoded once (images
    /// of model.inputSize * the VAE's downsampling factor) and the posterior moments are cached in
    /// outDir/latents.safetensors, keyed by the VAE weight digest and the dataset; every step draws
    /// x0 = (mean + std * eps) * scale from the step's generator, as DiT's train.py samples the
    /// posterior for each batch. model.inChannels must equal the VAE's latent channels.
    std::string vaePath;
    /// Data parallel (torchrun-style). batchSize is per rank; every step draws the global batch
    /// (batchSize * worldSize) from the step's generator and each rank takes its slice, so N ranks
    /// with batch B train exactly like 1 process with batch N*B (up to float summation order).
    DistributedOptions distributed;
};

struct TrainProgress {
    long long step = 0, totalSteps = 0;
    int rank = 0;
    double loss = 0, mse = 0, vb = 0;
    double imagesPerSecond = 0;
    double elapsedSeconds = 0;
};

/// Train until totalSteps (or cancel). Rank 0 writes outDir/model.safetensors (EMA weights,
/// loadable by the engine), raw.safetensors, optimizer.pt, state.json (and weighting.safetensors +
/// weighting-optimizer.pt for EDM2 weighting) atomically at checkpoints and at the end, plus
/// log.csv, loss.png, weighting.png and sample grids. Returns the last step reached. Throws
/// DitException on bad input.
long long trainDiT(const TrainOptions &options, const std::function<void(const TrainProgress &)> &onProgress,
                   const CancelToken &cancel);

} // namespace ditstudio
