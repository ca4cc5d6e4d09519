// ditstudio-cli evaluate / train-classifier: sample quality of Fashion-MNIST models (issue 8).
#include "cli/cli_commands.h"
#include "cli/cli_common.h"
#include "ditstudio/class_names.h"
#include "ditstudio/defaults.h"
#include "ditstudio/engine.h"
#include "ditstudio/evaluation.h"
#include "ditstudio/plot.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>

namespace ditstudio::cli {

namespace fs = std::filesystem;

std::string usageEvaluate()
{
    return withAppDefaults(R"(
evaluate options (Fashion-MNIST models: pixel 28x28, 10 classes):
  --model PATH (default: the embedded model)  --classifier PATH (default: beside the embedded model)
  --samples-per-class N (100)  --batch N (50)  --steps N ({default-steps})  --sampler NAME ({default-sampler})  --cfg F ({default-cfg})
  --eta F  --seed N (0)  --cache N (1: off)  --cfg-interval A,B  --cfg-channels 3|all  --karras  --dataset-dir DIR  --grid FILE.png (first 10 samples of every class)
  --overwrite  --json  --quiet
train-classifier options:
  --dataset-dir DIR  --epochs N (3)  --batch N (128)  --lr F (1e-3)  --seed N (0)  --out FILE  --overwrite
)");
}

int cmdTrainClassifier(const std::vector<std::string> &argv)
{
    const Args a = parseArgs(argv, 1);
    allowOnly(a,
              {"--dataset-dir", "--epochs", "--batch", "--lr", "--seed", "--out", "--overwrite", "--threads",
               "--log-level", "--quiet"},
              "train-classifier");
    ClassifierTrainOptions o;
    o.datasetDir = opt(a, "--dataset-dir");
    o.epochs = static_cast<int>(intOpt(a, "--epochs", 3, 1, 1000));
    o.batchSize = static_cast<int>(intOpt(a, "--batch", 128, 1, 65536));
    o.learningRate = floatOptIn(a, "--lr", 1e-3, 1e-8, 10.0);
    o.seed = static_cast<unsigned long long>(intOpt(a, "--seed", 0, 0, 1LL << 62));
    const std::string out = opt(a, "--out", "fmnist-classifier.safetensors");
    if (!has(a, "--overwrite") && fs::exists(out))
        fail(ErrorCode::IoError, out + ": file exists (use --overwrite to replace it)");
    CancelToken cancel;
    SigintCancels sigint(cancel);
    const bool quiet = has(a, "--quiet");
    const auto r = valueOr(trainClassifier(
        o, out,
        [&](int epoch, int b, int batches, double loss) {
            if (!quiet)
                std::fprintf(stderr, "\repoch %d/%d  batch %d/%d  loss %.4f   ", epoch + 1, o.epochs, b,
                             batches, loss);
        },
        cancel));
    std::fprintf(stderr, "\n");
    std::cout << "test accuracy " << r.testAccuracy << " after " << r.epochs << " epochs in "
              << r.trainSeconds << " s; wrote " << out << '\n';
    return 0;
}

int cmdEvaluate(const std::vector<std::string> &argv)
{
    const Args a = parseArgs(argv, 1);
    allowOnly(a,
              {"--model",
               "--classifier",
               "--samples-per-class",
               "--batch",
               "--steps",
               "--sampler",
               "--cfg",
               "--eta",
               "--seed",
               "--dataset-dir",
               "--grid",
               "--overwrite",
               "--json",
               "--quiet",
               "--threads",
               "--log-level",
               "--device",
               "--cache",
               "--cache-threshold",
               "--cfg-interval",
               "--cfg-channels",
               "--karras"},
              "evaluate");
    EvaluationOptions o;
    o.classifierPath = opt(a, "--classifier");
    o.datasetDir = opt(a, "--dataset-dir");
    o.samplesPerClass = static_cast<int>(intOpt(a, "--samples-per-class", 100, 2, 100000));
    o.batch = static_cast<int>(intOpt(a, "--batch", 50, 1, 4096));
    // The app's default settings unless given (ditstudio/defaults.h): what a user sees. The sampling
    // flags are generate's (cli_generation.cpp).
    o.sampling.steps = kDefaultSteps;
    o.sampling.sampler = kDefaultSampler;
    o.sampling.cfgScale = kDefaultCfgScale;
    samplingFromFlags(a, o.sampling);
    const std::string grid = opt(a, "--grid");
    if (!grid.empty() && !has(a, "--overwrite") && fs::exists(grid))
        fail(ErrorCode::IoError, grid + ": file exists (use --overwrite to replace it)");

    Engine engine;
    LoadOptions lo;
    lo.device = opt(a, "--device", "auto");
    const std::string model = opt(a, "--model");
    auto loaded = model.empty() ? engine.loadDefaultModel(lo) : engine.loadModel(model, lo);
    if (!loaded.ok())
        fail(loaded.error().code, loaded.error().message);
    CancelToken cancel;
    SigintCancels sigint(cancel);
    ProgressBar bar(!has(a, "--quiet"));
    const auto start = std::chrono::steady_clock::now();
    const auto r = valueOr(evaluateModel(
        engine, o, grid.empty() ? 0 : 10,
        [&](int done, int total) {
            bar.update(done, total,
                       std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
                       "sampling");
        },
        cancel));
    if (cancel.isCancelled()) {
        std::cerr << "cancelled after " << r.samples << " samples; no report\n";
        return 130;
    }
    if (!grid.empty()) {
        auto w = writePng(grid, makeImageGrid(r.firstSamples, 10, 2, 2),
                          {{"ditstudio", "evaluation sample grid: rows are classes 0-9"}},
                          has(a, "--overwrite"));
        if (!w.ok())
            fail(w.error().code, w.error().message);
    }
    const auto names = engine.classNames();
    if (has(a, "--json")) {
        nlohmann::json j = {{"model", loaded->path},
                            {"samples", r.samples},
                            {"accuracy", r.accuracy},
                            {"class_accuracy", r.classAccuracy},
                            {"frechet_distance", r.frechet},
                            {"frechet_floor_train_vs_test", r.frechetFloor},
                            {"classifier_test_accuracy", r.classifierTestAccuracy},
                            {"steps", o.sampling.steps},
                            {"sampler", samplerName(o.sampling.sampler)},
                            {"cfg", o.sampling.cfgScale},
                            {"cache", o.sampling.cacheInterval},
                            {"cache_threshold", o.sampling.cacheThreshold},
                            {"model_calls", r.modelCalls},
                            {"full_model_calls", r.fullModelCalls},
                            {"seed", o.sampling.seed},
                            {"seconds", r.seconds}};
        std::cout << j.dump(2) << '\n';
        return 0;
    }
    std::printf("model %s: %d samples (%d steps %s, cfg %.2f, seed %llu) in %.1f s\n", loaded->path.c_str(),
                r.samples, o.sampling.steps, samplerName(o.sampling.sampler), o.sampling.cfgScale,
                static_cast<unsigned long long>(o.sampling.seed), r.seconds);
    std::printf("classified as requested: %.1f%%  (classifier test accuracy %.1f%%)\n", 100 * r.accuracy,
                100 * r.classifierTestAccuracy);
    for (size_t c = 0; c < r.classAccuracy.size(); ++c)
        std::printf("  %-12s %.1f%%\n", displayName(names, static_cast<int>(c)).c_str(),
                    100 * r.classAccuracy[c]);
    std::printf(
        "Frechet distance (classifier features) vs test set: %.3f  (floor, real train vs test: %.3f)\n",
        r.frechet, r.frechetFloor);
    if (!grid.empty())
        std::printf("wrote %s\n", grid.c_str());
    return 0;
}

} // namespace ditstudio::cli
