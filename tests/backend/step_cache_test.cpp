// Step caching (fast mode, FORA): a refreshing call is the plain forward bit for bit, a cached call
// reuses the kept attention/MLP outputs re-gated by its own modulation, the engine runs the blocks on
// every Nth call only, the images stay close to the exact ones, and probes refuse it.
#include "test_util.h"

#include "common/errors.h"
#include "ditstudio/editing.h"
#include "ditstudio/engine.h"
#include "model/dit.h"
#include "model/model_loader.h"

namespace ditstudio::test {
namespace {

namespace fs = std::filesystem;

fs::path tinyWeights()
{
    return dataDir() / "parity" / "dit-tiny" / "weights.safetensors";
}

class StepCacheTest : public TorchTest { };

TEST_F(StepCacheTest, RefreshIsExactAndReuseRegatesTheKeptOutputs)
{
    torch::InferenceMode guard;
    const auto ckpt = readDiTCheckpoint(tinyWeights());
    DiT model = buildDiT(ckpt, torch::kCPU, torch::kFloat32);
    model->eval();
    const auto &cfg = model->m_config;
    torch::manual_seed(3);
    const auto x1 = torch::randn({2, cfg.inChannels, cfg.inputSize, cfg.inputSize});
    const auto x2 = x1 + 0.1 * torch::randn_like(x1);
    const auto t1 = torch::tensor({500, 500}, torch::kLong), t2 = torch::tensor({480, 480}, torch::kLong);
    const ClassCondition cond {torch::tensor({1, 9}, torch::kLong), {}};
    const auto plain1 = model->forward(x1, t1, cond);
    const auto plain2 = model->forward(x2, t2, cond);

    StepCache cache;
    cache.interval = 2;
    model->stepCache = &cache;
    const auto cached1 = model->forward(x1, t1, cond); // refresh
    const auto cached2 = model->forward(x2, t2, cond); // reuse
    const auto keptAttn = cache.attn, keptMlp = cache.mlp; // what call 2 reused (call 3 replaces them)
    const auto cached3 = model->forward(x2, t2, cond); // refresh again
    model->stepCache = nullptr;
    EXPECT_TRUE(torch::equal(cached1, plain1));
    EXPECT_TRUE(torch::equal(cached3, plain2));
    EXPECT_FALSE(torch::allclose(cached2, plain2)); // approximate: the blocks did not run
    EXPECT_EQ(cache.calls, 3);
    EXPECT_EQ(cache.refreshes, 2);

    // The reused call by hand: every block adds its kept outputs with the new gates.
    const auto &blocks = *model->blocks;
    auto h = model->x_embedder->forward(x2) + model->pos_embed;
    const auto c = model->t_embedder->forward(t2) + model->y_embedder->forward(cond.labels, false);
    for (size_t i = 0; i < blocks.size(); ++i) {
        auto mod = blocks.ptr<DiTBlockImpl>(i)->adaLN_modulation->forward(c).chunk(6, 1);
        h = h + mod[2].unsqueeze(1) * keptAttn[i];
        h = h + mod[5].unsqueeze(1) * keptMlp[i];
    }
    const auto manual = model->unpatchify(model->final_layer->forward(h, c));
    EXPECT_TRUE(torch::allclose(manual, cached2, 1e-5, 1e-6))
        << (manual - cached2).abs().max().item<double>();
}

TEST_F(StepCacheTest, EngineRunsTheBlocksEveryNthCallAndStaysClose)
{
    Engine engine;
    ASSERT_TRUE(engine.loadDefaultModel(LoadOptions {"cpu"}).ok());
    GenerateRequest r;
    r.conditioning = Conditioning {{{7, 1.0}}};
    r.steps = 50;
    r.seed = 11;
    r.batch = 4;
    r.wantPreviews = false;
    const auto exact = engine.generate(r);
    ASSERT_TRUE(exact.ok()) << exact.error().toString();
    EXPECT_EQ(exact->modelCalls, 50);
    EXPECT_EQ(exact->fullModelCalls, 50);
    for (int n : {2, 3}) {
        SCOPED_TRACE("cacheInterval " + std::to_string(n));
        r.cacheInterval = n;
        const auto fast = engine.generate(r);
        ASSERT_TRUE(fast.ok()) << fast.error().toString();
        EXPECT_EQ(fast->modelCalls, 50);
        // Every nth call, plus the calls below t = 80 (the last 4 of 50 DDPM steps: 0, 20, 40, 60).
        int expected = 0;
        for (int call = 0; call < 50; ++call)
            expected += call % n == 0 || call >= 46;
        EXPECT_EQ(fast->fullModelCalls, expected);
        // Close to the exact images (same seeds), but not the same.
        double worst = 1e9;
        for (int i = 0; i < 4; ++i) {
            const double p = imagePsnr(exact->images[i], fast->images[i]).value();
            worst = std::min(worst, p);
        }
        std::cout << "[ measured ] default model, 50 DDPM steps, cache every " << n << ": min PSNR vs exact "
                  << worst << " dB\n";
        EXPECT_GT(worst, 14.0);
        EXPECT_LT(worst, 200.0);
    }
    // Heun calls the model twice per step; the cache counts calls.
    r.sampler = SamplerKind::Heun;
    r.steps = 10;
    r.cacheInterval = 2;
    const auto heun = engine.generate(r);
    ASSERT_TRUE(heun.ok());
    EXPECT_GE(heun->fullModelCalls, (heun->modelCalls + 1) / 2);
    EXPECT_LT(heun->fullModelCalls, heun->modelCalls);
}

// Adaptive caching: the blocks run where the first block's input moves fast, the images stay close.
TEST_F(StepCacheTest, AdaptiveThresholdSkipsCallsWhereTheInputMovesLittle)
{
    Engine engine;
    ASSERT_TRUE(engine.loadDefaultModel(LoadOptions {"cpu"}).ok());
    GenerateRequest r;
    r.conditioning = Conditioning {{{5, 1.0}}};
    r.steps = 50;
    r.seed = 3;
    r.batch = 2;
    r.wantPreviews = false;
    const auto exact = engine.generate(r);
    ASSERT_TRUE(exact.ok());
    int previousFull = 51;
    for (double threshold : {0.05, 0.2, 0.5}) {
        r.cacheThreshold = threshold;
        const auto fast = engine.generate(r);
        ASSERT_TRUE(fast.ok()) << fast.error().toString();
        EXPECT_EQ(fast->modelCalls, 50);
        EXPECT_GE(fast->fullModelCalls, 1);
        EXPECT_LE(fast->fullModelCalls, previousFull); // a larger threshold never runs more
        previousFull = fast->fullModelCalls;
        const double p = imagePsnr(exact->images[0], fast->images[0]).value();
        std::cout << "[ measured ] adaptive threshold " << threshold << ": " << fast->fullModelCalls
                  << " of 50 calls ran the blocks, PSNR vs exact " << p << " dB\n";
    }
    EXPECT_LT(previousFull, 50);
    r.cacheInterval = 2; // both kinds at once: refused
    const auto both = engine.generate(r);
    ASSERT_FALSE(both.ok());
    EXPECT_NE(both.error().message.find("choose one"), std::string::npos) << both.error().message;
}

TEST_F(StepCacheTest, BadIntervalsAndProbesAreRefused)
{
    Engine engine;
    ASSERT_TRUE(engine.loadDefaultModel(LoadOptions {"cpu"}).ok());
    GenerateRequest r;
    r.conditioning = Conditioning {{{1, 1.0}}};
    r.steps = 4;
    for (int bad : {0, 9, -2}) {
        r.cacheInterval = bad;
        const auto res = engine.generate(r);
        ASSERT_FALSE(res.ok());
        EXPECT_NE(res.error().message.find("cacheInterval"), std::string::npos) << res.error().message;
    }
    r.cacheInterval = 2;
    r.probes.activity = true;
    const auto res = engine.generate(r);
    ASSERT_FALSE(res.ok());
    EXPECT_NE(res.error().message.find("probes"), std::string::npos) << res.error().message;
}

} // namespace
} // namespace ditstudio::test
