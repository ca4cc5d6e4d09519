#include "diffusion/seeded_noise.h"

namespace ditstudio {

SeededNoise::SeededNoise(std::uint64_t seed, int count, std::int64_t channels, std::int64_t size)
    : m_channels(channels), m_size(size)
{
    for (int i = 0; i < count; ++i)
        m_gens.push_back(at::detail::createCPUGenerator(seed + static_cast<std::uint64_t>(i)));
}

torch::Tensor SeededNoise::initial()
{
    const auto cpuF = torch::TensorOptions().dtype(torch::kFloat32);
    std::vector<torch::Tensor> parts;
    for (auto &gen : m_gens)
        parts.push_back(at::randn({1, m_channels, m_size, m_size}, gen, cpuF));
    return torch::cat(parts, 0);
}

torch::Tensor SeededNoise::step(bool guided, const torch::Device &device)
{
    const auto cpuF = torch::TensorOptions().dtype(torch::kFloat32);
    const size_t b = m_gens.size();
    std::vector<torch::Tensor> parts(guided ? 2 * b : b);
    for (size_t i = 0; i < b; ++i) {
        parts[i] = at::randn({1, m_channels, m_size, m_size}, m_gens[i], cpuF);
        if (guided)
            parts[b + i] = at::randn({1, m_channels, m_size, m_size}, m_gens[i], cpuF);
    }
    return torch::cat(parts, 0).to(device);
}

} // namespace ditstudio
