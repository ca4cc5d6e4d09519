#pragma once
/// \file tensor_file.h
/// Reading and writing named float tensors in safetensors files: initial noise for a generation,
/// saved latents, recorded probes. Writes are atomic (a temporary file renamed into place), so a
/// failed write never leaves half a file under the final name. Thread-safe (no shared state).
///
/// Example:
///     ditstudio::HostTensor noise {{1, 4, 32, 32}, std::vector<float>(4096, 0.f)};
///     auto written = ditstudio::writeTensorFile("noise.safetensors", {{"z", noise}}, {{"seed", "7"}});
///     auto file = ditstudio::readTensorFile("noise.safetensors");
///     if (file.ok() && file->tensors.count("z"))
///         request.initNoise = file->tensors.at("z");

#include "ditstudio/result.h"
#include "ditstudio/types.h"

#include <map>
#include <string>

namespace ditstudio {

/// The tensors of a file (any stored float or integer dtype, converted to float32) and its metadata.
struct TensorFile {
    std::map<std::string, HostTensor> tensors;
    std::map<std::string, std::string> metadata;
};

/// Read every tensor of a safetensors file. Errors name the file and what is wrong with it
/// (missing, truncated, a header that is not JSON, offsets outside the data, an unknown dtype).
Result<TensorFile> readTensorFile(const std::string &path);

/// Write tensors (each shape's product must equal its data size) and string metadata atomically.
/// Missing parent folders are created. An existing file is replaced: check before calling when the
/// user has not asked for that.
Result<void> writeTensorFile(const std::string &path, const std::map<std::string, HostTensor> &tensors,
                             const std::map<std::string, std::string> &metadata = {});

} // namespace ditstudio
