#pragma once
// The DiT trainer: official loss, AdamW, EMA, class dropout, deterministic and resumable.
// Every step's randomness (batch indices, timesteps, noise, label dropout) comes from a CPU
// generator seeded with (seed, step), so a resumed run continues bit-for-bit.

#include "ditstudio/cancel_token.h"
#include "ditstudio/model_info.h"
#include "ditstudio/training.h"
#include "training/distributed.h"
#include "training/weighting.h"

#include <functional>
#include <string>

namespace ditstudio {

/// The trainer's options are the public TrainRequest (ditstudio/training.h).
using TrainOptions = TrainRequest;

/// Train until totalSteps (or cancel). Rank 0 writes outDir/model.safetensors (EMA weights,
/// loadable by the engine), raw.safetensors, optimizer.pt, state.json (and weighting.safetensors +
/// weighting-optimizer.pt for EDM2 weighting) atomically at checkpoints and at the end, plus
/// log.csv, loss.png, weighting.png and sample grids. Returns the last step reached. Throws
/// DitException on bad input.
long long trainDiT(const TrainOptions &options, const std::function<void(const TrainProgress &)> &onProgress,
                   const CancelToken &cancel);

} // namespace ditstudio
