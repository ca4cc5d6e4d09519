#include "diffusion/class_sampling.h"

#include "common/errors.h"
#include "diffusion/guidance.h"
#include "diffusion/seeded_noise.h"

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
    SeededNoise seeded(options.seed, b, cfg.inChannels, cfg.inputSize);
    const torch::Tensor z = seeded.initial(); // [B, C, H, W]
    const bool cfgOn = options.cfgScale != 1.0;

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
    NoiseFn noiseFn = [&](int, const torch::Tensor &like) { return seeded.step(cfgOn, like.device()); };
    SamplerOptions so;
    so.kind = options.sampler;
    so.steps = options.steps;
    so.varianceType = cfg.learnSigma ? VarianceType::LearnedRange : VarianceType::FixedLarge;
    const torch::Tensor xT = (cfgOn ? torch::cat({z, z}, 0) : z).to(device);
    const auto outcome = runSampler(so, modelFn, xT, noiseFn, [](const SamplerStep &) { return true; });
    return outcome.x.narrow(0, 0, b).to(torch::kCPU, torch::kFloat32);
}

} // namespace ditstudio
