// Evaluation: Frechet distance, the shipped Fashion-MNIST classifier, the evaluate command.
#include "test_util.h"

#include "common/errors.h"

#include "cli/cli.h"
#include "ditstudio/engine.h"
#include "ditstudio/evaluation.h"
#include "training/classifier.h"
#include "training/datasets.h"

#include <sstream>

namespace fs = std::filesystem;
using namespace ditstudio;
using namespace ditstudio::test;

namespace {

bool haveFashionMnist()
{
    std::error_code ec;
    return fs::exists(defaultFashionMnistDir() / "t10k-images-idx3-ubyte.gz", ec)
        || fs::exists(defaultFashionMnistDir() / "t10k-images-idx3-ubyte", ec);
}

fs::path shippedClassifier()
{
    return fs::path(DITSTUDIO_SOURCE_DIR) / "resources" / "models" / "fmnist-classifier.safetensors";
}

} // namespace

class EvaluationTest : public TorchTest { };

TEST_F(EvaluationTest, FrechetDistanceMatchesTheClosedForm)
{
    // Commuting (diagonal) covariances: FD = |mu1 - mu2|^2 + sum (sqrt(s1) - sqrt(s2))^2.
    const auto mu1 = torch::tensor({0.0, 1.0, 2.0}, torch::kDouble);
    const auto mu2 = torch::tensor({1.0, 1.0, 0.0}, torch::kDouble);
    const auto v1 = torch::tensor({1.0, 4.0, 9.0}, torch::kDouble);
    const auto v2 = torch::tensor({4.0, 1.0, 9.0}, torch::kDouble);
    const double expected = 1 + 0 + 4 + (1.0 - 2.0) * (1.0 - 2.0) + (2.0 - 1.0) * (2.0 - 1.0) + 0;
    EXPECT_NEAR(frechetDistance(mu1, torch::diag(v1), mu2, torch::diag(v2)), expected, 1e-9);
    // A full covariance against itself: zero; symmetric in its arguments.
    const auto a = torch::randn({6, 6}, torch::kDouble);
    const auto s = a.matmul(a.t()) + torch::eye(6, torch::kDouble);
    const auto b = torch::randn({6, 6}, torch::kDouble);
    const auto s2 = b.matmul(b.t());
    EXPECT_NEAR(frechetDistance(mu1.repeat({2}), s, mu1.repeat({2}), s), 0.0, 1e-8);
    EXPECT_NEAR(frechetDistance(mu1.repeat({2}), s, mu2.repeat({2}), s2),
                frechetDistance(mu2.repeat({2}), s2, mu1.repeat({2}), s), 1e-8);
    // From samples: two draws of the same distribution are close, shifted ones are not.
    const auto x = torch::randn({4000, 4}, torch::kDouble);
    const auto y = torch::randn({4000, 4}, torch::kDouble);
    EXPECT_LT(frechetDistance(x, y), 0.02);
    // Shifting one set moves only the mean term: |mx - my - 1|^2 replaces |mx - my|^2.
    const auto dm = x.mean(0) - y.mean(0);
    EXPECT_NEAR(frechetDistance(x, y + 1.0),
                frechetDistance(x, y) - dm.pow(2).sum().item<double>()
                    + (dm - 1.0).pow(2).sum().item<double>(),
                1e-9);
    EXPECT_GT(frechetDistance(x, y + 1.0), 3.5);
    EXPECT_THROW(frechetDistance(x, torch::randn({10, 3})), DitException);
}

TEST_F(EvaluationTest, ShippedClassifierReachesNinetyPercentOnTheTestSet)
{
    if (!haveFashionMnist())
        DITSTUDIO_SKIP_OR_FAIL("Fashion-MNIST is not installed (dataset-fashion-mnist)");
    std::map<std::string, std::string> meta;
    auto net = loadClassifier(shippedClassifier(), &meta);
    const auto test = loadFashionMnist(defaultFashionMnistDir(), false);
    torch::Tensor logits, features;
    classify(net, test.images, logits, features);
    const double acc = logits.argmax(1).eq(test.labels).to(torch::kDouble).mean().item<double>();
    std::cout << "[ measured ] classifier test accuracy " << acc << " (metadata says "
              << meta["test_accuracy"] << ")\n";
    EXPECT_GE(acc, 0.90);
    EXPECT_NEAR(acc, std::stod(meta.at("test_accuracy")), 1e-6);
    EXPECT_EQ(features.size(1), 128);
}

TEST_F(EvaluationTest, ClassifierRejectsOtherFiles)
{
    const fs::path vae = dataDir() / "parity" / "vae-tiny";
    fs::path any;
    for (const auto &e : fs::directory_iterator(vae))
        if (e.path().extension() == ".safetensors")
            any = e.path();
    ASSERT_FALSE(any.empty());
    try {
        loadClassifier(any);
        FAIL() << "expected an error";
    } catch (const DitException &e) {
        EXPECT_NE(std::string(e.what()).find("not a DiT Studio Fashion-MNIST classifier"), std::string::npos)
            << e.what();
    }
}

TEST_F(EvaluationTest, EvaluateCommandScoresTheDefaultModel)
{
    if (!haveFashionMnist())
        DITSTUDIO_SKIP_OR_FAIL("Fashion-MNIST is not installed (dataset-fashion-mnist)");
    std::stringstream out;
    auto *old = std::cout.rdbuf(out.rdbuf());
    const int rc = cli::run({"evaluate", "--classifier", shippedClassifier().string(), "--samples-per-class",
                             "3", "--steps", "8", "--json", "--quiet"});
    std::cout.rdbuf(old);
    ASSERT_EQ(rc, 0) << out.str();
    const auto text = out.str();
    for (const char *key :
         {"\"accuracy\"", "\"frechet_distance\"", "\"frechet_floor_train_vs_test\"", "\"class_accuracy\""})
        EXPECT_NE(text.find(key), std::string::npos) << key << " missing in " << text;
    EXPECT_NE(text.find("\"samples\": 30"), std::string::npos) << text;
}

TEST_F(EvaluationTest, EvaluateRefusesModelsItCannotScore)
{
    const fs::path tiny = dataDir() / "parity" / "dit-tiny";
    fs::path model;
    for (const auto &e : fs::directory_iterator(tiny))
        if (e.path().filename() == "weights.safetensors")
            model = e.path();
    ASSERT_FALSE(model.empty());
    Engine engine;
    ASSERT_TRUE(engine.loadModel(model.string()).ok());
    EvaluationOptions o;
    o.classifierPath = shippedClassifier();
    const auto r = evaluateModel(engine, o, 0, {}, {});
    ASSERT_FALSE(r.ok()) << "expected an error";
    EXPECT_NE(r.error().message.find("28x28"), std::string::npos) << r.error().message;
}
