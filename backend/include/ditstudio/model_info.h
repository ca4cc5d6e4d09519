#pragma once
/// \file model_info.h
/// Architecture descriptions and checkpoint inspection (no weights are allocated).
///
/// Example:
///     auto config = ditstudio::ditConfigByName("DiT-XL/2", 256);   // 28 blocks, width 1152, ...
///     auto info = ditstudio::detectDiTArchitecture(tensorSpecs);   // from a file header's keys

#include "ditstudio/result.h"
#include "ditstudio/types.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ditstudio {

/// A DiT configuration (Peebles & Xie 2023, table 1) plus the data it works on.
struct DiTConfig {
    int inputSize = 32; ///< latent (or pixel) side length
    int patchSize = 2;
    int inChannels = 4;
    int hiddenSize = 1152;
    int depth = 28;
    int numHeads = 16;
    double mlpRatio = 4.0;
    int numClasses = 1000;
    bool learnSigma = true;
    double classDropoutProb = 0.1;

    int outChannels() const { return learnSigma ? inChannels * 2 : inChannels; }
    int tokens() const { return (inputSize / patchSize) * (inputSize / patchSize); }
    /// "DiT-XL/2" for the official depth/width/heads, else "DiT-custom(d12,w384,h6)/2".
    std::string name() const;
    /// Total parameters including the fixed pos_embed buffer, as the official state_dict counts.
    std::int64_t parameterCount() const;
    /// Multiply-accumulates of one forward pass for one image (matmuls, attention and convs).
    double macsPerForward() const;
    /// Peak bytes of activations one forward pass of `rows` batch rows holds (the largest block:
    /// attention scores and probabilities, q/k/v, the MLP's hidden layer, the residual stream and
    /// its modulated copies), for elements of elementSize bytes. An estimate, on the high side.
    std::int64_t peakActivationBytes(std::int64_t rows, int elementSize) const;
    /// Checks internal consistency (divisibility, positivity); the message names the field.
    Result<void> validate() const;
};

/// Build one of the official configurations by name: "DiT-XL/2", "DiT-B/4", "S/8", ...
/// inputSize is the latent size (image size / 8 for the SD VAE).
Result<DiTConfig> ditConfigByName(const std::string &name, int inputSize);

/// What a checkpoint is, determined from its keys and shapes (and config files where present).
struct CheckpointInfo {
    std::string path;
    std::string
        format; ///< "safetensors", "pytorch-zip", "pytorch-legacy", "training-checkpoint", "diffusers"
    std::string layout; ///< "official" or "diffusers"
    std::string family; ///< "DiT"
    DiTConfig config;
    std::int64_t parameterCount = 0; ///< values stored (+ pos_embed when the file omits it)
    std::string dtype; ///< stored dtype of the weights: "F32", "F16", "BF16"
    bool latentSpace = true; ///< false for pixel-space models (in_channels 1 or 3)
    std::vector<std::string> classNames; ///< from metadata / labels file; empty if unknown
    std::map<std::string, std::string> metadata;
};

/// A key and shape, as listed by a manifest or read from a file header.
struct TensorSpec {
    std::string key;
    std::vector<std::int64_t> shape;
};

/// Detect the DiT architecture from a list of keys and shapes (official or diffusers layout).
/// Used on real files' headers and on manifests; allocates nothing.
Result<CheckpointInfo> detectDiTArchitecture(const std::vector<TensorSpec> &tensors);

/// Describe a DiT checkpoint (.safetensors, .pt, a diffusers folder) without building the model:
/// format, layout, architecture, parameter count, stored dtype and class names. Reads the header
/// (safetensors) or the pickle's tensor records only. Errors name the file and what was expected.
Result<CheckpointInfo> inspectCheckpoint(const std::string &path);

} // namespace ditstudio
