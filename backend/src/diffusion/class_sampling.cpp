#include "diffusion/class_sampling.h"

#include "common/errors.h"
#include "diffusion/guidance.h"

namespace ditstudio {

torch::Tensor sampleClasses(DiTImpl &model, const std::vector<std::int64_t> &labels,
                            const ClassSamplingOptions &options)
{
    const auto &cfg = model.m_config;
    if (labels.empty())
        fail(ErrorCode::InvalidArgument, "sampleClasses: no labels");
    for (auto label : labels)
        if (label < 0 || label >= cfg.numClasses)
            fail(ErrorCode::InvalidArgument,
                 "sampleClasses: class " + std::to_string(label) + " is out of range 0.."
                     + std::to_string(cfg.numClasses - 1));
    const auto param = model.parameters().front();
    const auto device = param.device();
    const auto dtype = param.scalar_type();
    torch::NoGradGuard noGrad;

    const int b = static_cast<int>(labels.size());
    const int64_t c = cfg.inChannels, h = cfg.inputSize, w = cfg.inputSize;
    const auto cpuF = torch::TensorOptions().dtype(torch::kFloat32);
    std::vector<at::Generator> gens;
    std::vector<torch::Tensor> parts;
    for (int i = 0; i < b; ++i) {
        gens.push_back(at::detail::createCPUGenerator(options.seed + static_cast<std::uint64_t>(i)));
        parts.push_back(at::randn({1, c, h, w}, gens[i], cpuF));
    }
    const torch::Tensor z = torch::cat(parts, 0); // [B, C, H, W]
    const bool cfgOn = options.cfgScale != 1.0;
    const int rows = cfgOn ? 2 * b : b;

    std::vector<std::int64_t> rowLabels = labels;
    if (cfgOn)
        rowLabels.insert(rowLabels.end(), b, cfg.numClasses); // the null class
    ClassCondition cc;
    cc.labels = torch::tensor(rowLabels, torch::kLong).to(device);
    GuidanceOptions go;
    go.scale = options.cfgScale;
    go.channels = options.guidedChannels;

    ModelFn modelFn = [&](const torch::Tensor &x, const torch::Tensor &t) {
        const torch::Tensor out
            = cfgOn ? guidedForward(model, x.to(dtype), t, cc, go) : model.forward(x.to(dtype), t, cc);
        return out.to(torch::kFloat32);
    };
    NoiseFn noiseFn = [&](int, const torch::Tensor &like) {
        std::vector<torch::Tensor> noise(rows);
        for (int i = 0; i < b; ++i) {
            noise[i] = at::randn({1, c, h, w}, gens[i], cpuF);
            if (cfgOn)
                noise[b + i] = at::randn({1, c, h, w}, gens[i], cpuF);
        }
        return torch::cat(noise, 0).to(like.device());
    };
    SamplerOptions so;
    so.kind = options.sampler;
    so.steps = options.steps;
    so.varianceType = cfg.learnSigma ? VarianceType::LearnedRange : VarianceType::FixedLarge;
    const torch::Tensor xT = (cfgOn ? torch::cat({z, z}, 0) : z).to(device);
    const auto outcome = runSampler(so, modelFn, xT, noiseFn, [](const SamplerStep &) { return true; });
    return outcome.x.narrow(0, 0, b).to(torch::kCPU, torch::kFloat32);
}

} // namespace ditstudio
