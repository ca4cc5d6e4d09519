#pragma once
// Reading DiT checkpoints from any supported container and building the model from them.

#include "ditstudio/model_info.h"
#include "io/state_dict.h"
#include "model/dit.h"

#include <filesystem>

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

/// Copy a state dict into a module by name, checking shapes. Used by the DiT and VAE loaders.
void loadIntoModule(torch::nn::Module &module, const StateDict &sd, const std::string &what,
                    const std::vector<std::string> &optionalKeys = {});

} // namespace ditstudio
