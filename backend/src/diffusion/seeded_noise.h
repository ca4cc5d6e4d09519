#pragma once
// The noise convention of class-conditional sampling: image i draws its starting noise and every later
// step's noise from its own CPU generator seeded seed + i, so the same seed gives the same image
// whatever the batch size and device. With guidance, each step draws the conditional row and then the
// unconditional row of image i from that image's generator. Engine::generate and sampleClasses share it.

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace ditstudio {

class SeededNoise {
public:
    /// count images of [channels, size, size], seeds seed .. seed + count - 1.
    SeededNoise(std::uint64_t seed, int count, std::int64_t channels, std::int64_t size);
    /// The starting noise [count, C, H, W] (float32, CPU): one draw per image. Skip it when the
    /// caller brings its own starting noise; the step noise then starts from the fresh generators.
    torch::Tensor initial();
    /// One step's noise for count rows, or 2 x count with guidance ([cond rows; uncond rows]), on device.
    torch::Tensor step(bool guided, const torch::Device &device);

private:
    std::vector<at::Generator> m_gens;
    std::int64_t m_channels, m_size;
};

} // namespace ditstudio
