// The public tensor-file API (ditstudio/tensor_file.h) over the safetensors reader and writer.
#include "ditstudio/tensor_file.h"

#include "common/errors.h"
#include "core/tensor_image.h"
#include "io/safetensors.h"

#include <filesystem>

namespace ditstudio {

Result<TensorFile> readTensorFile(const std::string &path)
{
    return guarded(path, [&] {
        if (!std::filesystem::is_regular_file(path))
            fail(ErrorCode::NotFound, path + ": no such tensor file");
        const StateDict sd = safetensors::load(path);
        TensorFile file;
        file.metadata = sd.metadata;
        for (const auto &[name, tensor] : sd.tensors)
            file.tensors.emplace(name, toHost(tensor));
        return file;
    });
}

Result<void> writeTensorFile(const std::string &path, const std::map<std::string, HostTensor> &tensors,
                             const std::map<std::string, std::string> &metadata)
{
    return guarded(path, [&] {
        std::map<std::string, torch::Tensor> converted;
        for (const auto &[name, tensor] : tensors) {
            if (tensor.shape.empty() || static_cast<size_t>(tensor.numel()) != tensor.data.size())
                fail(ErrorCode::ShapeMismatch,
                     path + ": tensor '" + name + "' has " + std::to_string(tensor.data.size())
                         + " values, which does not match its shape");
            converted.emplace(name, fromHost(tensor));
        }
        const auto parent = std::filesystem::path(path).parent_path();
        if (!parent.empty())
            std::filesystem::create_directories(parent);
        safetensors::save(path, converted, metadata);
    });
}

} // namespace ditstudio
