#pragma once
// Our public DType and device names to LibTorch's, in one place for every entry point that loads or
// builds a model (the engine, the VAE tool, the benchmarks).

#include "ditstudio/types.h"

#include <torch/torch.h>

#include <string>

namespace ditstudio {

torch::ScalarType toTorchDType(DType dtype);

/// "cpu", "cuda[:N]", "mps" or "auto" (parseDevice) as a torch::Device. Throws DitException with
/// parseDevice's error for an unknown or unavailable device.
torch::Device toTorchDevice(const std::string &text);

} // namespace ditstudio
