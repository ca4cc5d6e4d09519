#pragma once
// safetensors reader (memory-mapped, validated) and writer (atomic).
// Format: 8-byte little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets},
// "__metadata__": {str: str}}, then the raw little-endian data. Ref: huggingface/safetensors.

#include "ditstudio/model_info.h"
#include "io/state_dict.h"

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace ditstudio::safetensors {

struct HeaderEntry {
    std::string name;
    std::string dtype;
    std::vector<int64_t> shape;
    uint64_t begin = 0;
    uint64_t end = 0;
};

struct Header {
    std::vector<HeaderEntry> entries;
    std::map<std::string, std::string> metadata;
    uint64_t dataStart = 0; ///< byte offset of the data region in the file
};

/// Parse and validate a header from the first `size` bytes of a file of `fileSize` bytes
/// (fileSize 0: the buffer is the whole file). Throws DitException(FormatError) naming `source`
/// and the offending field.
Header parseHeader(const unsigned char *data, std::size_t size, const std::string &source,
                   std::size_t fileSize = 0);

/// Read only the header of a file (no data mapped).
Header readHeader(const std::filesystem::path &path);

/// Memory-map and load every tensor (zero-copy for aligned little-endian data).
StateDict load(const std::filesystem::path &path);

/// Write tensors (any of F32/F16/BF16/F64/I64/I32/U8/BOOL) atomically: temp file + rename.
void save(const std::filesystem::path &path, const std::map<std::string, torch::Tensor> &tensors,
          const std::map<std::string, std::string> &metadata = {});

/// Key/shape specs of a header, for architecture detection.
std::vector<TensorSpec> specs(const Header &header);

} // namespace ditstudio::safetensors
