// The sigma-space samplers (Euler, Euler ancestral, Heun, DPM-Solver++(2M); default and Karras
// sigmas) against k-diffusion's own sampling functions, run by scripts/make-sampler-fixtures.py on a
// DiT fixture with k-diffusion's DiscreteEpsDDPMDenoiser wrapping the guided eps model. Data-driven:
// every fixture folder (tests/data/parity, $DITSTUDIO_EXTRA_FIXTURES) with a samplers.safetensors.
// The sigma/timestep convention is in README.md ("Samplers and their references").
#include "test_util.h"

#include "diffusion/guidance.h"
#include "diffusion/samplers.h"
#include "io/safetensors.h"
#include "model/model_loader.h"

namespace ditstudio::test {
namespace {

namespace fs = std::filesystem;

constexpr double kTol = 1e-4; // as for DDIM: max |a - b| / max |ref|

struct SamplerCase {
    fs::path folder;
    std::string key; ///< e.g. "euler_a_karras"
    SamplerKind kind;
    bool karras;
};

std::vector<SamplerCase> samplerCases()
{
    const std::pair<const char *, SamplerKind> kinds[] = {{"euler", SamplerKind::Euler},
                                                          {"euler_a", SamplerKind::EulerAncestral},
                                                          {"heun", SamplerKind::Heun},
                                                          {"dpmpp_2m", SamplerKind::DpmPP2M}};
    std::vector<SamplerCase> out;
    for (const auto &folder : fixtureRoots()) {
        if (!fs::exists(folder / "samplers.safetensors"))
            continue;
        for (bool karras : {false, true})
            for (const auto &[name, kind] : kinds)
                out.push_back({folder, std::string(name) + (karras ? "_karras" : ""), kind, karras});
    }
    return out;
}

fs::path weightsOf(const fs::path &folder)
{
    for (const char *name : {"weights.safetensors", "weights.pt"})
        if (fs::exists(folder / name))
            return folder / name;
    for (const auto &e : fs::directory_iterator(folder))
        if (e.is_regular_file() && isFixtureWeightsFile(e.path()))
            return e.path();
    return {};
}

class SamplerParity : public ::testing::TestWithParam<SamplerCase> { };

TEST_P(SamplerParity, MatchesKDiffusionStepByStep)
{
    const auto &c = GetParam();
    const auto ref = safetensors::load(c.folder / "samplers.safetensors");
    const auto weights = weightsOf(c.folder);
    ASSERT_FALSE(weights.empty()) << "no weights in " << c.folder;
    auto checkpoint = readDiTCheckpoint(weights);
    auto model = buildDiT(checkpoint, torch::kCPU, torch::kFloat32);
    torch::NoGradGuard ng;
    const auto z = ref.at("sample.z");
    const auto y = ref.at("sample.y").to(torch::kLong);
    GuidanceOptions go;
    go.scale = ref.at("sample.cfg_scale").item<double>();
    const auto before = ref.at(c.key + ".x_before"); // VP state before each step
    const auto denoised = ref.at(c.key + ".denoised");
    const int steps = static_cast<int>(before.size(0));

    // The schedule itself.
    const auto sigmas = samplerSigmas(steps, c.karras);
    EXPECT_TRUE(tensorsClose(torch::tensor(sigmas, torch::kFloat64), ref.at(c.key + ".sigmas"), 1e-6))
        << c.key;

    SamplerOptions so;
    so.kind = c.kind;
    so.steps = steps;
    so.karras = c.karras;
    so.varianceType
        = checkpoint.info.config.learnSigma ? VarianceType::LearnedRange : VarianceType::FixedLarge;
    ModelFn modelFn = [&](const torch::Tensor &x, const torch::Tensor &t) {
        return guidedForward(*model, x, t, ClassCondition {y, {}, {}}, go);
    };
    const torch::Tensor noise = ref.contains(c.key + ".noise") ? ref.at(c.key + ".noise") : torch::Tensor();
    NoiseFn noiseFn = [&](int step, const torch::Tensor &like) {
        // k-diffusion draws only where sigma_next > 0; the engine asks at every step.
        return noise.defined() && step < noise.size(0) ? noise[step].to(like.dtype())
                                                       : torch::zeros_like(like);
    };
    int checked = 0;
    StepFn onStep = [&](const SamplerStep &s) {
        EXPECT_TRUE(tensorsClose(s.x0, denoised[s.index], kTol)) << c.key << " denoised at step " << s.index;
        if (s.index + 1 < steps)
            EXPECT_TRUE(tensorsClose(s.xt, before[s.index + 1], kTol))
                << c.key << " state after step " << s.index;
        ++checked;
        return true;
    };
    const auto outcome = runSampler(so, modelFn, z, noiseFn, onStep);
    EXPECT_EQ(checked, steps);
    EXPECT_TRUE(tensorsClose(outcome.x, ref.at(c.key + ".final"), kTol)) << c.key << " final sample";
}

INSTANTIATE_TEST_SUITE_P(Fixtures, SamplerParity, ::testing::ValuesIn(samplerCases()),
                         [](const ::testing::TestParamInfo<SamplerCase> &i) {
                             std::string n = i.param.folder.filename().string() + "_" + i.param.key;
                             for (auto &ch : n)
                                 if (!std::isalnum(static_cast<unsigned char>(ch)))
                                     ch = '_';
                             return n;
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(SamplerParity);

TEST(SamplerFixtures, EveryKDiffusionSamplerIsCovered)
{
    EXPECT_GE(samplerCases().size(), 8u); // four samplers x (default, Karras) sigmas
}

} // namespace
} // namespace ditstudio::test
