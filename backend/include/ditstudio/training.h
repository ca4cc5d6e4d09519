#pragma once
/// \file training.h
/// Training a class-conditional DiT with the official loss (eps MSE + variational bound), AdamW,
/// an EMA of the weights and class dropout; deterministic and resumable bit for bit. Rank 0 writes
/// outDir/model.safetensors (the EMA weights, loadable by Engine), raw.safetensors, optimizer.pt,
/// state.json, log.csv, loss.png and sample grids, as a complete set at every checkpoint.
///
/// Threads: train() blocks until done, cancelled or failed; call it from one thread. Progress comes
/// per logged step through onProgress (on the calling thread); cancel stops after the current step
/// and writes a checkpoint. Errors (bad data, a run that cannot resume, a full disk) come back as
/// Result values naming the file or setting.
///
/// Example:
///     ditstudio::TrainRequest request;
///     request.model = *ditstudio::ditConfigByName("DiT-S/4", 28);
///     request.model.inChannels = 1;
///     request.totalSteps = 2000;
///     request.outDir = "run";
///     auto result = ditstudio::train(request, [](const ditstudio::TrainProgress &p) { /* p.step, p.loss */
///     });
///     // result->step; rerunning the same request resumes from run/ bit for bit

#include "ditstudio/cancel_token.h"
#include "ditstudio/model_info.h"
#include "ditstudio/result.h"

#include <chrono>
#include <functional>
#include <string>

namespace ditstudio {

/// Per-timestep weighting of the eps-MSE term: the official loss as is, Min-SNR-gamma (Hang et al.
/// 2023) or EDM2's learned uncertainty (Karras et al. 2024).
enum class LossWeighting { Uniform, MinSnr, Edm2Uncertainty };
const char *lossWeightingName(LossWeighting w); ///< "uniform", "min-snr", "edm2"
Result<LossWeighting> parseLossWeighting(const std::string &text); ///< inverse of lossWeightingName

/// Data parallel over processes (torchrun-style; c10d with Gloo).
struct DistributedOptions {
    int rank = 0;
    int worldSize = 1;
    std::string masterAddr = "127.0.0.1";
    int masterPort = 29500;
    std::chrono::seconds timeout {300};
};

/// The torchrun environment (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT) over `defaults`: each
/// variable that is set overrides its field. Errors name a malformed variable.
Result<DistributedOptions> distributedFromEnvironment(DistributedOptions defaults = {});

struct TrainRequest {
    std::string dataset = "fashion-mnist"; ///< "fashion-mnist" or an image folder (one subfolder per class)
    std::string datasetDir; ///< idx folder for fashion-mnist (default: Debian's)
    DiTConfig model;
    int batchSize = 128; ///< per rank
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
    /// at totalSteps. A pure function of the step, so a resume with the same settings stays bit-for-bit.
    long long lrDecayStart = 0;
    double lrFinal = 0.0;
    bool bf16Autocast = false; ///< CPU autocast to bfloat16 for the forward pass
    long long sampleEvery = 0; ///< write samples/step_N.png (10 classes x 8) at checkpoints; 0 = off
    int sampleSteps = 50; ///< DDPM steps for the sample grid (cfg 4, seed 0)
    /// Latent training: the SD VAE that maps images to latents. The dataset is encoded once and the
    /// posterior moments are cached in outDir/latents.safetensors; model.inChannels must equal the
    /// VAE's latent channels.
    std::string vaePath;
    /// batchSize is per rank; every step draws the global batch (batchSize * worldSize) and each rank
    /// takes its slice, so N ranks with batch B train exactly like 1 process with batch N*B.
    DistributedOptions distributed;
};

struct TrainProgress {
    long long step = 0, totalSteps = 0;
    int rank = 0;
    double loss = 0, mse = 0, vb = 0;
    double imagesPerSecond = 0;
    double elapsedSeconds = 0;
};

struct TrainResult {
    long long step = 0; ///< the last step reached (checkpointed)
    bool cancelled = false; ///< stopped by the token before totalSteps
    std::string outDir;
};

/// Train until request.totalSteps or a cancel; see the file comment.
Result<TrainResult> train(const TrainRequest &request,
                          const std::function<void(const TrainProgress &)> &onProgress = {},
                          const CancelToken &cancel = {});

} // namespace ditstudio
