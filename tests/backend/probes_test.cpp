// Probes and interventions (probes.h) beyond the reference numbers: what the options select, what the
// interventions change, the budget and range errors, and the torch-free maps of inside.h.
#include "test_util.h"

#include "core/tensor_image.h"
#include "diffusion/probe_recorder.h"
#include "ditstudio/engine.h"
#include "ditstudio/inside.h"
#include "model/model_loader.h"

namespace ditstudio::test {
namespace {

namespace fs = std::filesystem;

fs::path tinyWeights()
{
    return dataDir() / "parity" / "dit-tiny" / "weights.safetensors";
}

class ProbesTest : public TorchTest {
protected:
    void SetUp() override
    {
        TorchTest::SetUp();
        m_checkpoint = readDiTCheckpoint(tinyWeights());
        m_model = buildDiT(m_checkpoint, torch::kCPU, torch::kFloat32);
        m_x = torch::randn({2, 4, 8, 8});
        m_t = torch::tensor({300.0f, 700.0f});
        m_y = torch::tensor({1, 10}, torch::kLong);
    }
    torch::Tensor forward(DiTTrace *trace)
    {
        torch::NoGradGuard ng;
        return m_model->forward(m_x, m_t, ClassCondition {m_y, {}, {}}, trace);
    }
    LoadedCheckpoint m_checkpoint;
    DiT m_model {nullptr};
    torch::Tensor m_x, m_t, m_y;
};

TEST_F(ProbesTest, AttentionRowsAreDistributionsAndSelectionsAreSlices)
{
    DiTTrace full;
    full.wantAttention = true;
    const auto plain = forward(nullptr);
    EXPECT_TRUE(torch::equal(forward(&full), plain)) << "probing changed the output";
    const auto &a = full.attention.at(1); // [N, H, T, T]
    ASSERT_EQ(a.sizes(), (std::vector<int64_t> {2, 4, 16, 16}));
    EXPECT_TRUE(tensorsClose(a.sum(-1), torch::ones({2, 4, 16}), 1e-6));

    DiTTrace some;
    some.wantAttention = true;
    some.attentionBlocks = {0, 1};
    some.queryIndex = torch::tensor({3, 9}, torch::kLong);
    some.headMean = true;
    forward(&some);
    EXPECT_FALSE(some.attention.at(0).defined()) << "block 0 was not asked for";
    const auto expected = a.index_select(2, torch::tensor({3, 9}, torch::kLong)).mean(1, true);
    EXPECT_TRUE(tensorsClose(some.attention.at(1), expected, 1e-6));
}

TEST_F(ProbesTest, SkippingABlockEqualsZeroingBothGatesAndChangesTheOutput)
{
    Interventions req;
    req.skippedBlocks = {1};
    auto skip = DiTInterventions::resolve(req, m_checkpoint.info.config);
    Interventions gates;
    gates.zeroAttentionGates = {1};
    gates.zeroMlpGates = {1};
    auto zeroed = DiTInterventions::resolve(gates, m_checkpoint.info.config);
    DiTTrace t1, t2;
    t1.interventions = &skip;
    t2.interventions = &zeroed;
    t1.wantActivity = true;
    const auto a = forward(&t1), b = forward(&t2), plain = forward(nullptr);
    EXPECT_TRUE(torch::allclose(a, b));
    EXPECT_GT((a - plain).abs().max().item<double>(), 1e-4);
    EXPECT_EQ(t1.activity.at(1).abs().max().item<double>(), 0.0) << "a skipped block does nothing";
    EXPECT_GT(t1.activity.at(0).min().item<double>(), 0.0);
}

TEST_F(ProbesTest, DisablingAHeadChangesOnlyThatHeadsContribution)
{
    Interventions req;
    req.disabledHeads = {{0, 2}};
    auto iv = DiTInterventions::resolve(req, m_checkpoint.info.config);
    DiTTrace trace;
    trace.interventions = &iv;
    trace.wantAttention = true;
    const auto off = forward(&trace), plain = forward(nullptr);
    EXPECT_GT((off - plain).abs().max().item<double>(), 1e-5);

    // The same by hand: block 0's attention with head 2's output zeroed before proj.
    torch::NoGradGuard ng;
    auto block = m_model->blocks->ptr<DiTBlockImpl>(0);
    AttentionHooks hooks;
    hooks.disabledHeads = {2};
    const auto x = torch::randn({1, 16, 64});
    const auto byHooks = block->attn->forward(x, &hooks);
    const auto qkv = block->attn->qkv->forward(x).reshape({1, 16, 3, 4, 16}).permute({2, 0, 3, 1, 4});
    auto probs = torch::softmax(torch::matmul(qkv[0] * 0.25, qkv[1].transpose(-2, -1)), -1);
    auto heads = torch::matmul(probs, qkv[2]); // [1, H, T, hd]
    heads.select(1, 2).zero_();
    const auto expected = block->attn->proj->forward(heads.transpose(1, 2).reshape({1, 16, 64}));
    EXPECT_TRUE(tensorsClose(byHooks, expected, 1e-6));
}

TEST_F(ProbesTest, OutOfRangeInterventionsAndProbesAreRefusedByName)
{
    const auto &cfg = m_checkpoint.info.config;
    Interventions badHead;
    badHead.disabledHeads = {{0, 4}};
    try {
        DiTInterventions::resolve(badHead, cfg);
        FAIL() << "head 4 of a 4-head model was accepted";
    } catch (const std::exception &e) {
        EXPECT_NE(std::string(e.what()).find("head 4 is out of range 0..3"), std::string::npos) << e.what();
    }
    Interventions badBlock;
    badBlock.skippedBlocks = {2};
    EXPECT_THROW(DiTInterventions::resolve(badBlock, cfg), std::exception);

    ProbeOptions p;
    p.attention = true;
    p.queryTokens = {16};
    EXPECT_THROW(StepProbeRecorder(p, cfg, 2, true), std::exception);
    p.queryTokens.clear();
    p.attentionBudgetBytes = 1000; // 2 x 4 x 16 x 16 x 2 x 4 bytes = 16 KiB per step
    try {
        StepProbeRecorder(p, cfg, 2, true);
        FAIL() << "a request over the attention budget was accepted";
    } catch (const std::exception &e) {
        EXPECT_NE(std::string(e.what()).find("over the budget"), std::string::npos) << e.what();
    }
    EXPECT_EQ(attentionProbeBytes(p, cfg, 2), 2 * 4 * 16 * 16 * 2 * 4);
    p.headMean = true;
    p.attentionBlocks = {1};
    EXPECT_EQ(attentionProbeBytes(p, cfg, 2), 2 * 1 * 16 * 16 * 1 * 4);
}

/// The tiny fixture loaded in an Engine on the CPU.
class EngineProbes : public TorchTest {
protected:
    void SetUp() override
    {
        TorchTest::SetUp();
        LoadOptions lo;
        lo.device = "cpu";
        auto loaded = engine.loadModel(tinyWeights().string(), lo);
        ASSERT_TRUE(loaded.ok()) << loaded.error().toString();
    }
    Engine engine;
};

TEST_F(EngineProbes, InterventionsKeepTheSeedAndChangeTheImage)
{
    GenerateRequest req;
    req.conditioning = Conditioning {{{3, 1.0}}};
    req.steps = 5;
    req.sampler = SamplerKind::Ddim;
    req.seed = 11;
    auto plain = engine.generate(req);
    auto again = engine.generate(req);
    ASSERT_TRUE(plain.ok() && again.ok());
    EXPECT_EQ(plain->latent.data, again->latent.data);
    req.interventions.disabledHeads = {{1, 0}};
    auto changed = engine.generate(req);
    ASSERT_TRUE(changed.ok());
    EXPECT_NE(plain->latent.data, changed->latent.data);
    req.interventions = {};
    req.interventions.skippedBlocks = {7};
    auto bad = engine.generate(req);
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().message.find("block 7 is out of range"), std::string::npos) << bad.error().message;
}

TEST_F(EngineProbes, ProbesOffRecordNothingAndProbesOnDoNotChangeTheSample)
{
    GenerateRequest req;
    req.conditioning = Conditioning {{{5, 1.0}}};
    req.steps = 4;
    req.sampler = SamplerKind::Heun; // two model calls per step: only the first is probed
    req.batch = 2;
    int emptySteps = 0;
    GenerateObserver obs;
    obs.onStep = [&](const StepUpdate &u) { emptySteps += u.probes.empty() ? 1 : 0; };
    auto off = engine.generate(req, obs);
    ASSERT_TRUE(off.ok());
    EXPECT_EQ(emptySteps, 4);

    req.probes.attention = req.probes.activity = req.probes.guidance = req.probes.x0Change = true;
    req.probes.adaln = true;
    std::vector<StepProbes> seen;
    obs.onStep = [&](const StepUpdate &u) { seen.push_back(u.probes); };
    auto on = engine.generate(req, obs);
    ASSERT_TRUE(on.ok());
    EXPECT_EQ(off->latent.data, on->latent.data);
    ASSERT_EQ(seen.size(), 4u);
    for (const auto &p : seen) {
        EXPECT_EQ(p.attention.size(), 2u);
        EXPECT_EQ(p.attention[0].shape,
                  (std::vector<std::int64_t> {4, 4, 16, 16})); // 2 images x (cond, uncond)
        EXPECT_EQ(p.adaln.size(), 2u);
        EXPECT_EQ(p.activity.shape, (std::vector<std::int64_t> {2, 4}));
        EXPECT_EQ(p.guidance.shape, (std::vector<std::int64_t> {2, 4, 8, 8}));
        EXPECT_EQ(p.x0Change.size(), 2u);
        EXPECT_EQ(p.tokensPerSide, 4);
    }
    EXPECT_EQ(seen[0].x0Change[0], 0.0);
    EXPECT_GT(seen[1].x0Change[0], 0.0);
}

TEST_F(EngineProbes, ItemConditioningGivesEachImageItsClass)
{
    GenerateRequest req;
    req.steps = 3;
    req.sampler = SamplerKind::Ddim;
    req.seed = 4;
    req.batch = 2;
    req.itemConditioning = {Conditioning {{{2, 1.0}}}, Conditioning {{{7, 1.0}}}};
    auto both = engine.generate(req);
    ASSERT_TRUE(both.ok());
    EXPECT_EQ(both->conditioning.at(1).classes.at(0).classId, 7);
    // Image 1 alone (seed + 1, class 7) is the same image.
    GenerateRequest one = req;
    one.batch = 1;
    one.seed = 5;
    one.itemConditioning = {Conditioning {{{7, 1.0}}}};
    auto single = engine.generate(one);
    ASSERT_TRUE(single.ok());
    const auto a = fromHost(both->latent)[1], b = fromHost(single->latent)[0];
    EXPECT_TRUE(tensorsClose(a, b, 1e-5));
    req.itemConditioning.pop_back();
    auto bad = engine.generate(req);
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().message.find("itemConditioning has 1 entries for a batch of 2"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// inside.h: torch-free maps.
HostTensor hostAttention(const torch::Tensor &t)
{
    return toHost(t.contiguous());
}

TEST(InsideMaps, AttentionOfAQueryReadsTheRightRowAndHead)
{
    torch::manual_seed(3);
    const auto a = torch::softmax(torch::randn({2, 3, 4, 4}), -1); // rows, heads, T, T
    StepProbes p;
    p.tokensPerSide = 2;
    const auto host = hostAttention(a);
    auto head1 = attentionOfQuery(p, host, 1, 1, 2);
    ASSERT_TRUE(head1.ok());
    for (int k = 0; k < 4; ++k)
        EXPECT_FLOAT_EQ((*head1)[k], a[1][1][2][k].item<float>());
    auto mean = attentionOfQuery(p, host, 0, -1, 3);
    ASSERT_TRUE(mean.ok());
    for (int k = 0; k < 4; ++k)
        EXPECT_NEAR((*mean)[k], a[0].select(1, 3).mean(0)[k].item<float>(), 1e-6);
    EXPECT_FALSE(attentionOfQuery(p, host, 2, 0, 0).ok());
    // With recorded query tokens {3, 1}, token 1 is the second recorded row.
    p.queryTokens = {3, 1};
    const auto sub = hostAttention(a.index_select(2, torch::tensor({3, 1}, torch::kLong)));
    auto q1 = attentionOfQuery(p, sub, 0, 0, 1);
    ASSERT_TRUE(q1.ok());
    EXPECT_FLOAT_EQ((*q1)[0], a[0][0][1][0].item<float>());
    auto missing = attentionOfQuery(p, sub, 0, 0, 2);
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.error().message.find("not among the recorded query tokens"), std::string::npos);
}

TEST(InsideMaps, RolloutMatchesTheMatrixProduct)
{
    torch::manual_seed(5);
    StepProbes p;
    std::vector<torch::Tensor> blocks;
    for (int b = 0; b < 3; ++b) {
        blocks.push_back(torch::softmax(torch::randn({1, 2, 5, 5}, torch::kFloat64), -1));
        p.attentionBlocks.push_back(b);
        p.attention.push_back(toHost(blocks.back().to(torch::kFloat32)));
    }
    auto expected = torch::eye(5, torch::kFloat64);
    for (const auto &a : blocks) {
        auto m = 0.5 * a[0].mean(0) + 0.5 * torch::eye(5, torch::kFloat64);
        m = m / m.sum(-1, true);
        expected = torch::matmul(m, expected);
    }
    auto r = attentionRollout(p, 0, 2, 2);
    ASSERT_TRUE(r.ok()) << r.error().message;
    for (int j = 0; j < 5; ++j)
        EXPECT_NEAR((*r)[j], expected[2][j].item<double>(), 1e-5);
    double sum = 0;
    for (float v : *r)
        sum += v;
    EXPECT_NEAR(sum, 1.0, 1e-5);
    EXPECT_FALSE(attentionRollout(p, 0, 2, 3).ok()) << "block 3 was not recorded";
}

TEST(InsideMaps, GuidanceMagnitudeTokenAtAndOverlay)
{
    HostTensor g;
    g.shape = {1, 2, 2, 3};
    g.data = {3, 0, 0, 0, 0, 1, 4, 0, 0, 0, 0, 1};
    MapSize size;
    auto m = guidanceMagnitude(g, 0, &size);
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(size.width, 3);
    EXPECT_EQ(size.height, 2);
    EXPECT_FLOAT_EQ((*m)[0], 5.f);
    EXPECT_FLOAT_EQ((*m)[5], std::sqrt(2.f));
    EXPECT_FALSE(guidanceMagnitude(g, 1, &size).ok());

    EXPECT_EQ(tokenAt(0, 0, 28, 28, 7), 0);
    EXPECT_EQ(tokenAt(27, 27, 28, 28, 7), 48);
    EXPECT_EQ(tokenAt(14, 3, 28, 28, 7), 3);

    Image base;
    base.width = base.height = 4;
    base.channels = 1;
    base.pixels.assign(16, 200);
    const auto over = overlayMap(base, {0.f, 1.f, 0.f, 0.f}, 2, 2, 1.0);
    ASSERT_EQ(over.width, 4);
    ASSERT_EQ(over.channels, 3);
    std::uint8_t top[3], bottom[3];
    colormapRgb(1.f, top);
    colormapRgb(0.f, bottom);
    EXPECT_EQ(over.pixels[(0 * 4 + 3) * 3], top[0]) << "the hot token covers its 2x2 patch";
    EXPECT_EQ(over.pixels[(3 * 4 + 0) * 3], bottom[0]);
    const auto half = overlayMap(base, {0.f, 1.f, 0.f, 0.f}, 2, 2, 0.5);
    EXPECT_EQ(half.pixels[(3 * 4 + 0) * 3],
              static_cast<std::uint8_t>(std::lround(0.5 * 200 + 0.5 * bottom[0])));
}

} // namespace
} // namespace ditstudio::test
