// Data-driven parity against the reference DiT fixtures. Every folder under tests/data/parity and
// every folder in $DITSTUDIO_EXTRA_FIXTURES (colon-separated) that holds a DiT cases.safetensors
// runs every case that file holds, loading the weights from every container present.
#include "test_util.h"

#include "diffusion/guidance.h"
#include "diffusion/samplers.h"
#include "diffusion/schedule.h"
#include "io/safetensors.h"
#include "model/model_loader.h"

#include <cstdlib>
#include <sstream>

namespace ditstudio::test {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> fixtureFolders()
{
    const std::vector<fs::path> roots = fixtureRoots();
    std::vector<fs::path> out;
    for (const auto &r : roots) {
        // A DiT fixture folder: cases.safetensors plus DiT weights (VAE folders hold vae-*.safetensors).
        if (fs::exists(r / "cases.safetensors")
            && (fs::exists(r / "weights.safetensors") || fs::exists(r / "weights.pt")))
            out.push_back(r);
    }
    std::sort(out.begin(), out.end());
    return out;
}

struct ContainerCase {
    fs::path folder;
    fs::path weights;
};

std::vector<ContainerCase> containerCases()
{
    std::vector<ContainerCase> out;
    for (const auto &folder : fixtureFolders()) {
        for (const auto &e : fs::directory_iterator(folder)) {
            const auto name = e.path().filename().string();
            if (e.is_directory()
                && (fs::exists(e.path() / "model_index.json") || fs::exists(e.path() / "transformer")))
                out.push_back({folder, e.path()});
            else if (e.is_regular_file() && isFixtureWeightsFile(e.path()))
                out.push_back({folder, e.path()});
        }
    }
    return out;
}

std::string caseName(const ::testing::TestParamInfo<ContainerCase> &info)
{
    std::string n = info.param.folder.filename().string() + "_" + info.param.weights.filename().string();
    for (auto &c : n)
        if (!std::isalnum(static_cast<unsigned char>(c)))
            c = '_';
    return n;
}

StateDict loadCases(const fs::path &folder)
{
    return safetensors::load(folder / "cases.safetensors");
}

// ---------------------------------------------------------------------------------------------
class DiTContainerParity : public ::testing::TestWithParam<ContainerCase> {
protected:
    void SetUp() override
    {
        torch::manual_seed(0);
        m_checkpoint = readDiTCheckpoint(GetParam().weights);
        m_model = buildDiT(m_checkpoint, torch::kCPU, torch::kFloat32);
        m_cases = loadCases(GetParam().folder);
    }
    LoadedCheckpoint m_checkpoint;
    DiT m_model {nullptr};
    StateDict m_cases;
};

TEST_P(DiTContainerParity, ForwardAndIntermediates)
{
    torch::NoGradGuard ng;
    const auto &c = m_cases;
    DiTTrace trace;
    auto out = m_model->forward(c.at("forward.x"), c.at("forward.t"), ClassCondition {c.at("forward.y"), {}},
                                &trace);
    EXPECT_TRUE(tensorsClose(out, c.at("forward.out"), 1e-5));
    EXPECT_TRUE(tensorsClose(trace.tFreq, c.at("forward.t_freq"), 1e-5));
    EXPECT_TRUE(tensorsClose(trace.tEmb, c.at("forward.t_emb"), 1e-5));
    EXPECT_TRUE(tensorsClose(trace.yEmb, c.at("forward.y_emb"), 1e-5));
    EXPECT_TRUE(tensorsClose(trace.xEmb, c.at("forward.x_emb"), 1e-5));
    EXPECT_TRUE(tensorsClose(m_model->pos_embed, c.at("forward.pos_embed"), 1e-6));
    EXPECT_TRUE(tensorsClose(trace.blockOut.at(0), c.at("forward.block0_out"), 1e-5));
}

TEST_P(DiTContainerParity, GuidedForwardOfficialChannels)
{
    torch::NoGradGuard ng;
    const auto &c = m_cases;
    GuidanceOptions go;
    go.scale = c.at("cfg.scale").item<double>();
    go.channels = GuidedChannels::First3;
    auto out = guidedForward(*m_model, c.at("cfg.x"), c.at("cfg.t"), ClassCondition {c.at("cfg.y"), {}}, go);
    EXPECT_TRUE(tensorsClose(out, c.at("cfg.out"), 1e-5));
}

TEST_P(DiTContainerParity, DetectedArchitectureMatchesConfig)
{
    const auto &cfg = m_checkpoint.info.config;
    EXPECT_EQ(cfg.parameterCount(), [&] {
        int64_t n = 0;
        for (const auto &p : m_model->parameters())
            n += p.numel();
        return n + m_model->pos_embed.numel();
    }());
    EXPECT_GT(cfg.numClasses, 0);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, DiTContainerParity, ::testing::ValuesIn(containerCases()), caseName);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(DiTContainerParity);

// ---------------------------------------------------------------------------------------------
class DiTFolderParity : public ::testing::TestWithParam<fs::path> { };

TEST_P(DiTFolderParity, RespacingMapsAndBetas)
{
    const auto cases = loadCases(GetParam());
    for (const auto &[key, tensor] : cases.tensors) {
        if (key.rfind("respace", 0) != 0 || key.find(".timestep_map") == std::string::npos)
            continue;
        const std::string prefix = key.substr(0, key.find('.'));
        const std::string count = prefix.substr(7);
        const auto diffusion = GaussianDiffusion::respaced(count, VarianceType::LearnedRange);
        auto map = torch::tensor(
            std::vector<int64_t>(diffusion.timestepMap().begin(), diffusion.timestepMap().end()));
        EXPECT_TRUE(torch::equal(map, tensor.to(torch::kLong))) << prefix;
        auto betas = torch::tensor(diffusion.betas(), torch::kFloat64);
        EXPECT_TRUE(tensorsClose(betas, cases.at(prefix + ".betas"), 1e-6)) << prefix;
    }
}

void replayTrajectory(const fs::path &folder, const std::string &name, SamplerKind kind, double eta)
{
    const auto cases = loadCases(folder);
    if (!cases.contains(name + ".x_t"))
        DITSTUDIO_SKIP_OR_FAIL("no " << name << " case in " << folder);
    // Whatever container the folder has; the variance type comes from the model (a DiT trained
    // without learned sigma samples with the fixed variance, as the engine does).
    const fs::path weights
        = fs::exists(folder / "weights.safetensors") ? folder / "weights.safetensors" : folder / "weights.pt";
    auto checkpoint = readDiTCheckpoint(weights);
    auto model = buildDiT(checkpoint, torch::kCPU, torch::kFloat32);
    torch::NoGradGuard ng;
    const auto z = cases.at("sample.z");
    const auto y = cases.at("sample.y");
    GuidanceOptions go;
    go.scale = cases.at("sample.cfg_scale").item<double>();
    const auto recordedNoise = cases.at(name + ".noise");
    const auto xts = cases.at(name + ".x_t");
    const int steps = static_cast<int>(xts.size(0));
    SamplerOptions so;
    so.kind = kind;
    so.steps = steps;
    so.eta = eta;
    so.varianceType
        = checkpoint.info.config.learnSigma ? VarianceType::LearnedRange : VarianceType::FixedLarge;
    ModelFn modelFn = [&](const torch::Tensor &x, const torch::Tensor &t) {
        return guidedForward(*model, x, t, ClassCondition {y, {}}, go);
    };
    NoiseFn noiseFn = [&](int step, const torch::Tensor &) { return recordedNoise[step]; };
    int checked = 0;
    StepFn onStep = [&](const SamplerStep &s) {
        EXPECT_TRUE(tensorsClose(s.xt, xts[s.index], 1e-4)) << name << " x_t at step " << s.index;
        if (cases.contains(name + ".pred_x0"))
            EXPECT_TRUE(tensorsClose(s.x0, cases.at(name + ".pred_x0")[s.index], 1e-4))
                << name << " pred_x0 at step " << s.index;
        ++checked;
        return true;
    };
    runSampler(so, modelFn, z, noiseFn, onStep);
    EXPECT_EQ(checked, steps);
}

TEST_P(DiTFolderParity, DdpmTrajectory)
{
    replayTrajectory(GetParam(), "ddpm", SamplerKind::Ddpm, 0.0);
}
TEST_P(DiTFolderParity, DdimTrajectory)
{
    replayTrajectory(GetParam(), "ddim", SamplerKind::Ddim, 0.0);
}
TEST_P(DiTFolderParity, DdimEta1Trajectory)
{
    replayTrajectory(GetParam(), "ddim_eta1", SamplerKind::Ddim, 1.0);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, DiTFolderParity, ::testing::ValuesIn(fixtureFolders()),
                         [](const ::testing::TestParamInfo<fs::path> &i) {
                             std::string n = i.param.filename().string();
                             for (auto &c : n)
                                 if (!std::isalnum(static_cast<unsigned char>(c)))
                                     c = '_';
                             return n;
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(DiTFolderParity);

TEST(DiTFixtures, AtLeastOneFixtureFolderIsFound)
{
    EXPECT_FALSE(fixtureFolders().empty());
    EXPECT_GE(containerCases().size(), 2u);
}

} // namespace
} // namespace ditstudio::test
