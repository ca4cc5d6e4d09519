#pragma once
// Sample-quality evaluation of a class-conditional model on Fashion-MNIST: generate N samples per
// class with fixed settings, score them with the project's classifier (share classified as the
// requested class) and a Frechet distance of classifier features against the real test set, next
// to the floor (the same distance for real training images against the test set).

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

/// Evaluate the engine's loaded model. keepPerClass samples per class are returned for a grid.
/// progress(done, total) counts generated images. Throws DitException on bad input; returns
/// early (samples < requested) when cancelled.
EvaluationReport evaluateModel(Engine &engine, const EvaluationOptions &options, int keepPerClass,
                               const std::function<void(int, int)> &progress, const CancelToken &cancel);

} // namespace ditstudio
