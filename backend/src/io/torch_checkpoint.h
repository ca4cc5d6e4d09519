#pragma once
// PyTorch checkpoint reader (torch.save zip and legacy formats) over a safe, restricted unpickler.

#include "io/state_dict.h"

#include <filesystem>

namespace ditstudio {

/// Load tensors from a torch.save file. Training checkpoints ({"model","ema","opt","args"}) yield
/// their "ema" weights. Never executes pickled code; throws DitException naming the file.
StateDict loadTorchCheckpoint(const std::filesystem::path &path);

} // namespace ditstudio
