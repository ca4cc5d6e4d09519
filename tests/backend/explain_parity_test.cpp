// The probes of the Inside view (attention, adaLN chunks, block activity, guidance map) against the
// official code's numbers. Data-driven: every fixture folder (tests/data/parity and
// $DITSTUDIO_EXTRA_FIXTURES) with an explain.safetensors runs for every weight container it holds,
// through the model (forward case), the public Engine API and the CLI (`explain --probe-out`).
#include "cli_runner.h"
#include "test_util.h"

#include "core/tensor_image.h"
#include "ditstudio/engine.h"
#include "io/safetensors.h"
#include "model/model_loader.h"

#include <fstream>

namespace ditstudio::test {
namespace {

namespace fs = std::filesystem;

constexpr double kTol = 1e-4; // max |a - b| / max |ref|, as the issue asks

struct ExplainCase {
    fs::path folder;
    fs::path weights; ///< a file or a diffusers folder
};

std::vector<ExplainCase> explainCases()
{
    std::vector<ExplainCase> out;
    for (const auto &folder : fixtureRoots()) {
        if (!fs::exists(folder / "explain.safetensors") || !fs::exists(folder / "cases.safetensors"))
            continue;
        for (const auto &e : fs::directory_iterator(folder)) {
            const auto name = e.path().filename().string();
            if (e.is_directory()
                && (fs::exists(e.path() / "model_index.json") || fs::exists(e.path() / "transformer")))
                out.push_back({folder, e.path()});
            else if (e.is_regular_file() && isFixtureWeightsFile(e.path()))
                out.push_back({folder, e.path()});
        }
    }
    std::sort(out.begin(), out.end(), [](const auto &a, const auto &b) { return a.weights < b.weights; });
    return out;
}

std::string caseName(const ::testing::TestParamInfo<ExplainCase> &info)
{
    std::string n = info.param.folder.filename().string() + "_" + info.param.weights.filename().string();
    for (auto &c : n)
        if (!std::isalnum(static_cast<unsigned char>(c)))
            c = '_';
    return n;
}

int countKeys(const StateDict &sd, const std::string &prefix)
{
    int n = 0;
    for (const auto &[k, v] : sd.tensors)
        if (k.rfind(prefix, 0) == 0)
            ++n;
    return n;
}

/// The DDIM run of the fixture as a public GenerateRequest: the first half of sample.z / sample.y
/// (the second half repeats z with the null class), its guidance scale, DDIM eta 0.
GenerateRequest ddimRequest(const StateDict &cases, const StateDict &explain, int numClasses)
{
    GenerateRequest req;
    const auto z = cases.at("sample.z");
    const auto y = cases.at("sample.y").to(torch::kLong);
    const double scale = cases.at("sample.cfg_scale").item<double>();
    const int64_t b = scale != 1.0 ? z.size(0) / 2 : z.size(0);
    req.batch = static_cast<int>(b);
    req.initNoise = toHost(z.narrow(0, 0, b).contiguous());
    for (int64_t i = 0; i < b; ++i) {
        const int cls = static_cast<int>(y[i].item<int64_t>());
        EXPECT_LT(cls, numClasses) << "sample.y row " << i << " is the null class";
        req.itemConditioning.push_back(Conditioning {{{cls, 1.0}}});
    }
    req.cfgScale = scale;
    req.sampler = SamplerKind::Ddim;
    req.eta = 0.0;
    req.steps = static_cast<int>(explain.at("ddim.x_t").size(0));
    req.wantPreviews = false;
    req.wantStepTensors = true;
    req.probes.attention = req.probes.adaln = req.probes.activity = req.probes.guidance = true;
    return req;
}

class ExplainParity : public ::testing::TestWithParam<ExplainCase> {
protected:
    void SetUp() override
    {
        m_cases = safetensors::load(GetParam().folder / "cases.safetensors");
        m_explain = safetensors::load(GetParam().folder / "explain.safetensors");
    }
    StateDict m_cases, m_explain;
};

TEST_P(ExplainParity, ForwardProbesMatchTheOfficialCode)
{
    auto checkpoint = readDiTCheckpoint(GetParam().weights);
    auto model = buildDiT(checkpoint, torch::kCPU, torch::kFloat32);
    torch::NoGradGuard ng;
    const auto &c = m_cases;
    DiTTrace trace;
    trace.wantAttention = trace.wantAdaln = trace.wantActivity = true;
    auto out = model->forward(c.at("forward.x"), c.at("forward.t"),
                              ClassCondition {c.at("forward.y"), {}, {}}, &trace);
    // Probing never changes the result.
    EXPECT_TRUE(tensorsClose(out, c.at("forward.out"), 1e-5));
    const int depth = checkpoint.info.config.depth;
    ASSERT_EQ(countKeys(m_explain, "forward.attn.b"), depth);
    for (int b = 0; b < depth; ++b) {
        const auto k = std::to_string(b);
        EXPECT_TRUE(tensorsClose(trace.attention.at(b), m_explain.at("forward.attn.b" + k), kTol))
            << "attention b" << k;
        EXPECT_TRUE(tensorsClose(trace.adaln.at(b), m_explain.at("forward.adaln.b" + k), kTol))
            << "adaln b" << k;
    }
    EXPECT_TRUE(tensorsClose(torch::stack(trace.activity, 0), m_explain.at("forward.activity"), kTol));
}

TEST_P(ExplainParity, EngineProbesOfTheDdimRunMatch)
{
    Engine engine;
    LoadOptions lo;
    lo.device = "cpu";
    auto loaded = engine.loadModel(GetParam().weights.string(), lo);
    ASSERT_TRUE(loaded.ok()) << loaded.error().toString();
    GenerateRequest req = ddimRequest(m_cases, m_explain, loaded->config.numClasses);
    const auto xts = m_explain.at("ddim.x_t");
    const int b = req.batch;
    int checked = 0;
    GenerateObserver obs;
    obs.onStep = [&](const StepUpdate &u) {
        const int s = u.step;
        const auto &p = u.probes;
        ASSERT_EQ(static_cast<int>(p.attention.size()), loaded->config.depth);
        for (size_t i = 0; i < p.attention.size(); ++i) {
            const auto key = "ddim.attn.s" + std::to_string(s) + ".b" + std::to_string(p.attentionBlocks[i]);
            EXPECT_TRUE(tensorsClose(fromHost(p.attention[i]), m_explain.at(key), kTol)) << key;
        }
        for (size_t i = 0; i < p.adaln.size(); ++i) {
            const auto key = "ddim.adaln.s" + std::to_string(s) + ".b" + std::to_string(i);
            EXPECT_TRUE(tensorsClose(fromHost(p.adaln[i]), m_explain.at(key), kTol)) << key;
        }
        EXPECT_TRUE(tensorsClose(fromHost(p.activity), m_explain.at("ddim.activity")[s], kTol))
            << "activity s" << s;
        if (m_explain.contains("ddim.guidance")) // absent for a fixture sampled without guidance
            EXPECT_TRUE(tensorsClose(fromHost(p.guidance), m_explain.at("ddim.guidance")[s], kTol))
                << "guidance s" << s;
        else
            EXPECT_TRUE(p.guidance.data.empty());
        EXPECT_TRUE(tensorsClose(fromHost(u.xt), xts[s].narrow(0, 0, b), kTol)) << "x_t s" << s;
        ++checked;
    };
    auto result = engine.generate(req, obs);
    ASSERT_TRUE(result.ok()) << result.error().toString();
    EXPECT_EQ(checked, req.steps);
}

TEST_P(ExplainParity, CliProbeOutMatches)
{
    const fs::path dir
        = fs::temp_directory_path() / ("ditstudio_explain_" + processTag() + "_" + caseName({GetParam(), 0}));
    fs::create_directories(dir);
    const auto z = m_cases.at("sample.z");
    const auto y = m_cases.at("sample.y").to(torch::kLong);
    const double scale = m_cases.at("sample.cfg_scale").item<double>();
    const int64_t b = scale != 1.0 ? z.size(0) / 2 : z.size(0);
    safetensors::save(dir / "z.safetensors", {{"z", z.narrow(0, 0, b).contiguous()}});
    std::string classes;
    for (int64_t i = 0; i < b; ++i)
        classes += (i ? "," : "") + std::to_string(y[i].item<int64_t>());
    const int steps = static_cast<int>(m_explain.at("ddim.x_t").size(0));
    const auto out = dir / "probes.safetensors";
    auto run = runCli({"explain",
                       "--model",
                       GetParam().weights.string(),
                       "--class",
                       classes,
                       "--batch",
                       std::to_string(b),
                       "--init-noise",
                       (dir / "z.safetensors").string(),
                       "--sampler",
                       "ddim",
                       "--steps",
                       std::to_string(steps),
                       "--cfg",
                       std::to_string(scale),
                       "--device",
                       "cpu",
                       "--probe-out",
                       out.string(),
                       "--quiet"});
    ASSERT_EQ(run.code, 0) << run.err;
    const auto probes = safetensors::load(out);
    int compared = 0;
    for (const auto &[key, ref] : m_explain.tensors) {
        if (key.rfind("ddim.attn.", 0) == 0 || key.rfind("ddim.adaln.", 0) == 0) {
            const std::string ours
                = (key.rfind("ddim.attn.", 0) == 0 ? "attn." : "adaln.") + key.substr(key.find(".s") + 1);
            ASSERT_TRUE(probes.contains(ours)) << ours << " missing from " << out;
            EXPECT_TRUE(tensorsClose(probes.at(ours), ref, kTol)) << ours;
            ++compared;
        }
    }
    for (int s = 0; s < steps; ++s) {
        const auto k = std::to_string(s);
        EXPECT_TRUE(tensorsClose(probes.at("activity.s" + k), m_explain.at("ddim.activity")[s], kTol))
            << "activity s" << k;
        ++compared;
        if (m_explain.contains("ddim.guidance")) {
            EXPECT_TRUE(tensorsClose(probes.at("guidance.s" + k), m_explain.at("ddim.guidance")[s], kTol))
                << "guidance s" << k;
            ++compared;
        } else {
            EXPECT_FALSE(probes.contains("guidance.s" + k));
        }
    }
    EXPECT_GE(compared, 3 * steps);
    fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ExplainParity, ::testing::ValuesIn(explainCases()), caseName);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ExplainParity);

TEST(ExplainFixtures, TheTinyFixtureIsFoundForEveryContainer)
{
    // safetensors, both .pt containers, the training checkpoint and the diffusers folder.
    EXPECT_GE(explainCases().size(), 5u);
}

} // namespace
} // namespace ditstudio::test
