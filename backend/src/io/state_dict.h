#pragma once
// A loaded checkpoint: named tensors plus string metadata. Tensors may alias a memory-mapped file
// (read-only); copy before writing to them.

#include "core/platform.h"

#include <torch/types.h>

#include <map>
#include <memory>
#include <string>

namespace ditstudio {

struct StateDict {
    std::map<std::string, torch::Tensor> tensors;
    std::map<std::string, std::string> metadata;
    std::string container; ///< "safetensors", "pytorch-zip", "pytorch-legacy", "training-checkpoint", ...

    bool contains(const std::string &key) const { return tensors.count(key) != 0; }
    /// The tensor under key; throws DitException(NotFound) naming key and source.
    const torch::Tensor &at(const std::string &key) const;
    std::string source; ///< file path, for error messages
    /// The file's memory map when tensors alias it (safetensors), so loaders can release its pages
    /// once a tensor has been converted; null otherwise.
    std::shared_ptr<const platform::MappedFile> mapping;
};

} // namespace ditstudio
