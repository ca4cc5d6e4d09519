#pragma once
// Reading DiT checkpoints from any supported container and building the model from them.

#include "ditstudio/model_info.h"
#include "io/state_dict.h"
#include "model/dit.h"

#include <filesystem>
#include <optional>

namespace ditstudio {

struct LoadedCheckpoint {
    StateDict weights; ///< official key layout
    CheckpointInfo info; ///< detected architecture (+ config/metadata overrides), class names
};

/// Read a checkpoint file (.safetensors, .pt/.pth/.bin/.ckpt) or diffusers folder; map keys to the
/// official layout; detect the architecture. Config precedence: file metadata, then a config.json
/// beside the file (official or diffusers keys), then shapes. Throws DitException naming the file.
LoadedCheckpoint readDiTCheckpoint(const std::filesystem::path &path);

/// Describe a checkpoint; reads only the header for safetensors files.
CheckpointInfo describeCheckpoint(const std::filesystem::path &path);

/// Build the model and copy the weights in; every parameter/buffer must be present with the right
/// shape (error names file, key, expected and found shapes). pos_embed is recomputed when absent.
DiT buildDiT(const LoadedCheckpoint &checkpoint, const torch::Device &device, torch::ScalarType dtype);

/// Where an inference model's weights go. Each tensor is converted to the device and dtype on its
/// own (a memory-mapped file's pages are released as it goes), and one that already matches is used
/// in place: weights memory-mapped from a safetensors file are then never copied (peak memory about
/// one copy of the weights instead of two).
struct WeightPlacement {
    torch::Device device {torch::kCPU};
    torch::ScalarType dtype = torch::kFloat32;
};

/// Load a state dict into a module by name, checking shapes. Without a placement the values are
/// copied into the module's own tensors (training: the module owns and updates them); with one they
/// are placed as WeightPlacement says (inference). Used by the DiT and VAE loaders and the trainer.
void loadIntoModule(torch::nn::Module &module, const StateDict &sd, const std::string &what,
                    const std::vector<std::string> &optionalKeys = {},
                    const std::optional<WeightPlacement> &placement = std::nullopt);

} // namespace ditstudio
