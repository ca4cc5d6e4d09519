// The official training loss against the reference fixture (loss.* in cases.safetensors).
#include "test_util.h"

#include "io/safetensors.h"
#include "model/model_loader.h"
#include "training/loss.h"

namespace ditstudio::test {
namespace {

TEST(LossParity, OfficialLossMatchesReference)
{
    const auto folder = dataDir() / "parity" / "dit-tiny";
    const auto cases = safetensors::load(folder / "cases.safetensors");
    auto checkpoint = readDiTCheckpoint(folder / "weights.safetensors");
    auto model = buildDiT(checkpoint, torch::kCPU, torch::kFloat32);
    torch::NoGradGuard ng;
    const GaussianDiffusion diffusion(
        linearBetas(1000),
        [] {
            std::vector<int> m(1000);
            for (int i = 0; i < 1000; ++i)
                m[i] = i;
            return m;
        }(),
        VarianceType::LearnedRange);
    const auto x0 = cases.at("loss.x0"), t = cases.at("loss.t"), y = cases.at("loss.y"),
               noise = cases.at("loss.noise");
    const auto xt = diffusion.qSample(x0, t, noise);
    const auto out = model->forward(xt, t, y);
    const auto terms = officialLoss(diffusion, out, x0, xt, t, noise);
    EXPECT_TRUE(tensorsClose(terms.mse, cases.at("loss.mse"), 1e-5));
    EXPECT_TRUE(tensorsClose(terms.vb, cases.at("loss.vb"), 1e-5));
    EXPECT_TRUE(tensorsClose(terms.loss, cases.at("loss.loss"), 1e-5));
}

TEST(LossParity, VbTrainsOnlyTheVarianceChannels)
{
    const GaussianDiffusion diffusion(linearBetas(1000), std::vector<int>(1000, 0),
                                      VarianceType::LearnedRange);
    auto x0 = torch::rand({2, 1, 4, 4}) * 2 - 1;
    auto noise = torch::randn_like(x0);
    auto t = torch::tensor({3, 700}, torch::kLong);
    auto xt = diffusion.qSample(x0, t, noise);
    auto out = torch::randn({2, 2, 4, 4}, torch::requires_grad());
    auto terms = officialLoss(diffusion, out, x0, xt, t, noise);
    terms.vb.sum().backward();
    auto g = out.grad();
    EXPECT_EQ(g.narrow(1, 0, 1).abs().max().item<float>(), 0.0f); // eps channel untouched by vb
    EXPECT_GT(g.narrow(1, 1, 1).abs().max().item<float>(), 0.0f);
}

} // namespace
} // namespace ditstudio::test
