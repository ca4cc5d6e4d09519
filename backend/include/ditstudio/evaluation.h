#pragma once
/// \file evaluation.h
/// Sample-quality evaluation of a class-conditional model on Fashion-MNIST, and the classifier it
/// uses. evaluateModel generates N samples per class with fixed settings on an engine's loaded model,
/// scores them with the project's classifier (the share classified as the requested class) and a
/// Frechet distance of classifier features against the real test set, next to the floor (the same
/// distance for real training images against the test set). The classifier (a small CNN trained by
/// trainClassifier on the real training set) stands in for Inception, which does not fit 28x28
/// grayscale images. Ref: FID, Heusel et al. 2017.
///
/// Threads: both calls block on the calling thread; progress callbacks run there too; cancel stops
/// them early (a short report, or no classifier file). Errors name the file or setting.
///
/// Example:
///     ditstudio::Engine engine;
///     engine.loadDefaultModel();
///     ditstudio::EvaluationOptions options;
///     options.samplesPerClass = 30;
///     auto report = ditstudio::evaluateModel(engine, options, 0, {}, {});
///     // report->accuracy, report->frechet, report->frechetFloor

#include "ditstudio/cancel_token.h"
#include "ditstudio/engine.h"

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace ditstudio {

struct EvaluationOptions {
    std::filesystem::path classifierPath; ///< default: fmnist-classifier.safetensors beside the default model
    std::filesystem::path datasetDir; ///< Fashion-MNIST idx files (default: Debian's)
    int samplesPerClass = 100;
    GenerateRequest sampling; ///< steps, sampler, cfg, seed (prompt/conditioning are set per class)
    int batch = 50; ///< images per generate call
};

struct EvaluationReport {
    int samples = 0;
    double accuracy = 0; ///< share classified as the requested class
    std::vector<double> classAccuracy; ///< per class
    double frechet = 0; ///< generated vs test features
    double frechetFloor = 0; ///< real train subset (same size) vs test
    double classifierTestAccuracy = 0; ///< the classifier's own accuracy on the test set
    double seconds = 0;
    long long modelCalls = 0; ///< network calls of the samplers, summed
    long long fullModelCalls = 0; ///< of those, calls that ran the blocks (fewer with step caching)
    std::vector<Image> firstSamples; ///< the first `keep` samples of every class, class-major
};

/// The default classifier path (beside the embedded default model), or empty.
std::filesystem::path defaultClassifierPath();

/// Evaluate the engine's loaded model (a 28x28 one-channel model with 10 classes). keepPerClass
/// samples per class are returned for a grid. progress(done, total) counts generated images.
/// Returns early (samples < requested) when cancelled.
Result<EvaluationReport> evaluateModel(Engine &engine, const EvaluationOptions &options, int keepPerClass,
                                       const std::function<void(int, int)> &progress,
                                       const CancelToken &cancel);

struct ClassifierTrainOptions {
    std::filesystem::path datasetDir; ///< Fashion-MNIST idx files (default: Debian's)
    int epochs = 3;
    int batchSize = 128;
    double learningRate = 1e-3;
    unsigned long long seed = 0;
};

struct ClassifierReport {
    double testAccuracy = 0;
    double trainSeconds = 0;
    int epochs = 0;
};

/// Train the classifier on the 60,000 training images, report its accuracy on the 10,000 test
/// images, and save the weights (safetensors, metadata: test accuracy, epochs, seed) atomically to out.
Result<ClassifierReport>
trainClassifier(const ClassifierTrainOptions &options, const std::filesystem::path &out,
                const std::function<void(int epoch, int batch, int batches, double loss)> &progress,
                const CancelToken &cancel);

} // namespace ditstudio
