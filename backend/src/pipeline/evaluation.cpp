// Sample-quality evaluation (ditstudio/evaluation.h): lives with the engine because it samples
// through a loaded Engine; the classifier it scores with is in training/.
#include "ditstudio/evaluation.h"

#include "common/errors.h"
#include "core/tensor_image.h"
#include "training/classifier.h"
#include "training/datasets.h"

#include <chrono>

namespace ditstudio {

namespace fs = std::filesystem;

fs::path defaultClassifierPath()
{
    const std::string model = defaultModelPath();
    if (model.empty())
        return {};
    const fs::path p = fs::path(model).parent_path() / "fmnist-classifier.safetensors";
    std::error_code ec;
    return fs::is_regular_file(p, ec) ? p : fs::path();
}

namespace {

EvaluationReport evaluateOrThrow(Engine &engine, const EvaluationOptions &o, int keepPerClass,
                                 const std::function<void(int, int)> &progress, const CancelToken &cancel)
{
    const auto start = std::chrono::steady_clock::now();
    if (!engine.hasModel())
        fail(ErrorCode::InvalidArgument, "evaluate: no model loaded");
    const auto &cfg = engine.modelInfo().config;
    if (cfg.inChannels != 1 || cfg.inputSize != 28 || cfg.numClasses != 10 || engine.modelInfo().latentSpace)
        fail(ErrorCode::InvalidArgument,
             "evaluate: the Fashion-MNIST evaluation needs a pixel-space 28x28 one-channel "
             "model with 10 classes; "
                 + engine.modelInfo().path + " is " + cfg.name() + " with " + std::to_string(cfg.inChannels)
                 + " channel(s) and " + std::to_string(cfg.numClasses) + " classes");
    if (o.samplesPerClass < 2 || o.batch < 1)
        fail(ErrorCode::InvalidArgument, "evaluate: samples per class must be >= 2 and batch >= 1");
    const fs::path clsPath = o.classifierPath.empty() ? defaultClassifierPath() : o.classifierPath;
    if (clsPath.empty())
        fail(ErrorCode::NotFound,
             "evaluate: no classifier given and fmnist-classifier.safetensors was not found beside "
             "the default model");
    std::map<std::string, std::string> meta;
    FmnistClassifier net = loadClassifier(clsPath, &meta);
    const fs::path dir = o.datasetDir.empty() ? defaultFashionMnistDir() : o.datasetDir;
    const ImageDataset test = loadFashionMnist(dir, false);
    const ImageDataset train = loadFashionMnist(dir, true);

    EvaluationReport r;
    torch::Tensor testLogits, testFeatures;
    classify(net, test.images, testLogits, testFeatures);
    r.classifierTestAccuracy = testLogits.argmax(1).eq(test.labels).to(torch::kDouble).mean().item<double>();

    const int total = 10 * o.samplesPerClass;
    std::vector<torch::Tensor> feats;
    int correct = 0, done = 0;
    r.classAccuracy.assign(10, 0.0);
    for (int c = 0; c < 10 && !cancel.isCancelled(); ++c) {
        int classCorrect = 0, classDone = 0;
        while (classDone < o.samplesPerClass && !cancel.isCancelled()) {
            GenerateRequest req = o.sampling;
            req.prompt.clear();
            req.conditioning = Conditioning {{{c, 1.0}}};
            req.batch = std::min(o.batch, o.samplesPerClass - classDone);
            // Distinct, reproducible seeds: class-major blocks of samplesPerClass.
            req.seed = o.sampling.seed + static_cast<std::uint64_t>(c) * o.samplesPerClass + classDone;
            req.wantPreviews = false;
            auto res = engine.generate(req, {}, cancel);
            if (!res.ok())
                fail(res.error().code, res.error().message);
            if (res->status == JobStatus::Cancelled)
                break;
            r.modelCalls += res->modelCalls;
            r.fullModelCalls += res->fullModelCalls;
            const torch::Tensor x = fromHost(res->latent).clamp(-1, 1);
            torch::Tensor logits, f;
            classify(net, x, logits, f);
            classCorrect += logits.argmax(1).eq(c).sum().item<int>();
            feats.push_back(f);
            for (int i = 0; i < req.batch && classDone + i < keepPerClass; ++i)
                r.firstSamples.push_back(res->images[i]);
            classDone += req.batch;
            done += req.batch;
            if (progress)
                progress(done, total);
        }
        correct += classCorrect;
        r.classAccuracy[c] = classDone ? static_cast<double>(classCorrect) / classDone : 0.0;
    }
    r.samples = done;
    if (done >= 2) {
        r.accuracy = static_cast<double>(correct) / done;
        r.frechet = frechetDistance(torch::cat(feats), testFeatures);
        // Floor: as many real training images (a fixed random subset) against the same test set.
        auto gen = at::detail::createCPUGenerator(12345);
        const auto idx = at::randperm(train.images.size(0), gen, torch::kLong).slice(0, 0, done);
        torch::Tensor trainLogits, trainFeatures;
        classify(net, train.images.index_select(0, idx), trainLogits, trainFeatures);
        r.frechetFloor = frechetDistance(trainFeatures, testFeatures);
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return r;
}

} // namespace

Result<EvaluationReport> evaluateModel(Engine &engine, const EvaluationOptions &options, int keepPerClass,
                                       const std::function<void(int, int)> &progress,
                                       const CancelToken &cancel)
{
    return guarded({}, [&] { return evaluateOrThrow(engine, options, keepPerClass, progress, cancel); });
}

} // namespace ditstudio
