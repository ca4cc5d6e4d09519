#include "core/torch_types.h"

#include "common/errors.h"
#include "ditstudio/runtime.h"

namespace ditstudio {

torch::ScalarType toTorchDType(DType dtype)
{
    switch (dtype) {
    case DType::BFloat16:
        return torch::kBFloat16;
    case DType::Float16:
        return torch::kFloat16;
    default:
        return torch::kFloat32;
    }
}

torch::Device toTorchDevice(const std::string &text)
{
    auto dev = parseDevice(text);
    if (!dev.ok())
        fail(dev.error().code, dev.error().message);
    return dev->kind == DeviceKind::Cuda ? torch::Device(torch::kCUDA, dev->index)
        : dev->kind == DeviceKind::Mps   ? torch::Device(torch::kMPS)
                                         : torch::Device(torch::kCPU);
}

} // namespace ditstudio
