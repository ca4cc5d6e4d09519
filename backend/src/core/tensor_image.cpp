#include "core/tensor_image.h"

#include "common/errors.h"

#include <cstring>

namespace ditstudio {

std::vector<Image> tensorToImages(const torch::Tensor &batchIn)
{
    if (batchIn.dim() != 4)
        fail(ErrorCode::ShapeMismatch, "image tensor must be [N, C, H, W]");
    // Previews of a run on a GPU are made there: the 8-bit image is a quarter of the float32 bytes,
    // and it crosses into pinned host memory (full bus speed). The same operations either way.
    const bool onGpu = batchIn.is_cuda();
    torch::Tensor batch
        = onGpu ? batchIn.detach().to(torch::kFloat32) : batchIn.detach().to(torch::kCPU, torch::kFloat32);
    if (batch.size(1) != 1 && batch.size(1) != 3)
        batch = batch.size(1) == 4 ? latentToRgbPreview(batch)
                                   : batch.narrow(1, 0, std::min<int64_t>(3, batch.size(1)));
    // [-1, 1] -> [0, 255], rounding as torchvision.utils.save_image does.
    auto u8 = ((batch.clamp(-1, 1) + 1) / 2).mul(255).add(0.5).clamp(0, 255).to(torch::kUInt8);
    u8 = u8.permute({0, 2, 3, 1}).contiguous(); // [N, H, W, C]
    if (onGpu) {
        auto host = torch::empty(u8.sizes(), torch::TensorOptions().dtype(torch::kUInt8).pinned_memory(true));
        host.copy_(u8); // a blocking copy: the pixels are read right below
        u8 = host;
    }
    std::vector<Image> out;
    for (int64_t i = 0; i < u8.size(0); ++i) {
        Image img;
        img.height = static_cast<int>(u8.size(1));
        img.width = static_cast<int>(u8.size(2));
        img.channels = static_cast<int>(u8.size(3));
        img.pixels.resize(static_cast<size_t>(u8[i].numel()));
        std::memcpy(img.pixels.data(), u8[i].data_ptr(), img.pixels.size());
        out.push_back(std::move(img));
    }
    return out;
}

torch::Tensor imageToTensor(const Image &image)
{
    if (image.empty()
        || image.pixels.size() != static_cast<size_t>(image.width) * image.height * image.channels)
        fail(ErrorCode::InvalidArgument, "image buffer size does not match width x height x channels");
    auto t = torch::from_blob(const_cast<std::uint8_t *>(image.pixels.data()),
                              {image.height, image.width, image.channels}, torch::kUInt8)
                 .to(torch::kFloat32);
    return (t.permute({2, 0, 1}).unsqueeze(0) / 127.5 - 1.0).contiguous();
}

HostTensor toHost(const torch::Tensor &tIn)
{
    auto t = tIn.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    HostTensor h;
    h.shape = t.sizes().vec();
    h.data.resize(static_cast<size_t>(t.numel()));
    std::memcpy(h.data.data(), t.data_ptr<float>(), h.data.size() * sizeof(float));
    return h;
}

torch::Tensor fromHost(const HostTensor &h)
{
    if (static_cast<size_t>(h.numel()) != h.data.size())
        fail(ErrorCode::ShapeMismatch, "tensor data size does not match its shape");
    return torch::from_blob(const_cast<float *>(h.data.data()), h.shape, torch::kFloat32).clone();
}

torch::Tensor latentToRgbPreview(const torch::Tensor &latents, const torch::Tensor &matrix)
{
    torch::Tensor m = matrix;
    if (!m.defined()) {
        // A widely used least-squares fit of SD-VAE latents (scaled by 0.18215) to RGB in [-1, 1].
        m = torch::tensor({{0.298f, 0.207f, 0.208f},
                           {0.187f, 0.286f, 0.173f},
                           {-0.158f, 0.189f, 0.264f},
                           {-0.184f, -0.271f, -0.473f},
                           {0.0f, 0.0f, 0.0f}});
    }
    const auto c = latents.size(1);
    auto w = m.narrow(0, 0, c).to(latents.device(), latents.dtype()); // [C, 3]
    auto b = m[c].to(latents.device(), latents.dtype()); // [3]
    auto rgb = torch::einsum("nchw,cr->nrhw", {latents, w}) + b.view({1, 3, 1, 1});
    return rgb;
}

} // namespace ditstudio
