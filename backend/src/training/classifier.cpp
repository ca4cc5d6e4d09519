#include "training/classifier.h"

#include "common/errors.h"
#include "io/safetensors.h"
#include "training/datasets.h"

#include <spdlog/spdlog.h>

#include <chrono>

namespace ditstudio {

namespace fs = std::filesystem;
namespace nn = torch::nn;

FmnistClassifierImpl::FmnistClassifierImpl()
{
    conv1 = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(1, 16, 3).padding(1)));
    bn1 = register_module("bn1", nn::BatchNorm2d(16));
    conv2 = register_module("conv2", nn::Conv2d(nn::Conv2dOptions(16, 32, 3).padding(1)));
    bn2 = register_module("bn2", nn::BatchNorm2d(32));
    conv3 = register_module("conv3", nn::Conv2d(nn::Conv2dOptions(32, 64, 3).padding(1)));
    bn3 = register_module("bn3", nn::BatchNorm2d(64));
    fc1 = register_module("fc1", nn::Linear(64 * 7 * 7, 128));
    fc2 = register_module("fc2", nn::Linear(128, 10));
    drop = register_module("drop", nn::Dropout(0.3));
}

torch::Tensor FmnistClassifierImpl::features(const torch::Tensor &x)
{
    auto h = torch::relu(bn1(conv1(x))); // [N, 16, 28, 28]
    h = torch::max_pool2d(torch::relu(bn2(conv2(h))), 2); // [N, 32, 14, 14]
    h = torch::max_pool2d(torch::relu(bn3(conv3(h))), 2); // [N, 64, 7, 7]
    return torch::relu(fc1(h.flatten(1))); // [N, 128]
}

torch::Tensor FmnistClassifierImpl::forward(const torch::Tensor &x)
{
    return fc2(drop(features(x)));
}

namespace {

double accuracy(FmnistClassifier &net, const ImageDataset &data)
{
    torch::Tensor logits, feats;
    classify(net, data.images, logits, feats);
    return logits.argmax(1).eq(data.labels).to(torch::kDouble).mean().item<double>();
}

} // namespace

void classify(FmnistClassifier &net, const torch::Tensor &images, torch::Tensor &logits,
              torch::Tensor &features)
{
    if (images.dim() != 4 || images.size(1) != 1 || images.size(2) != 28 || images.size(3) != 28)
        fail(ErrorCode::InvalidArgument,
             "the classifier expects [N, 1, 28, 28] images, got " + std::to_string(images.dim()) + " dims");
    torch::NoGradGuard ng;
    net->eval();
    std::vector<torch::Tensor> l, f;
    for (int64_t i = 0; i < images.size(0); i += 1000) {
        const auto x = images.slice(0, i, std::min<int64_t>(i + 1000, images.size(0))).to(torch::kFloat32);
        const auto feat = net->features(x);
        f.push_back(feat);
        l.push_back(net->fc2(feat));
    }
    logits = torch::cat(l);
    features = torch::cat(f);
}

namespace {

ClassifierReport trainOrThrow(const ClassifierTrainOptions &o, const fs::path &out,
                              const std::function<void(int, int, int, double)> &progress,
                              const CancelToken &cancel)
{
    const auto start = std::chrono::steady_clock::now();
    const fs::path dir = o.datasetDir.empty() ? defaultFashionMnistDir() : o.datasetDir;
    const ImageDataset train = loadFashionMnist(dir, true);
    const ImageDataset test = loadFashionMnist(dir, false);
    torch::manual_seed(o.seed);
    FmnistClassifier net;
    torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(o.learningRate));
    auto gen = at::detail::createCPUGenerator(o.seed + 1);
    const int64_t n = train.images.size(0);
    const int batches = static_cast<int>((n + o.batchSize - 1) / o.batchSize);
    for (int epoch = 0; epoch < o.epochs; ++epoch) {
        net->train();
        const auto perm = at::randperm(n, gen, torch::kLong);
        for (int b = 0; b < batches; ++b) {
            if (cancel.isCancelled())
                fail(ErrorCode::Cancelled, "classifier training cancelled; nothing written");
            const auto idx
                = perm.slice(0, int64_t(b) * o.batchSize, std::min<int64_t>(n, int64_t(b + 1) * o.batchSize));
            auto x = train.images.index_select(0, idx);
            // Horizontal flips: Fashion-MNIST items are left/right symmetric classes.
            const auto flip = at::rand({x.size(0)}, gen) < 0.5;
            x = torch::where(flip.view({-1, 1, 1, 1}), x.flip({3}), x);
            const auto loss
                = torch::nn::functional::cross_entropy(net->forward(x), train.labels.index_select(0, idx));
            opt.zero_grad();
            loss.backward();
            opt.step();
            if (progress && (b % 50 == 0 || b + 1 == batches))
                progress(epoch, b + 1, batches, loss.item<double>());
        }
        spdlog::info("classifier epoch {}: test accuracy {:.4f}", epoch + 1, accuracy(net, test));
    }
    ClassifierReport r;
    r.testAccuracy = accuracy(net, test);
    r.epochs = o.epochs;
    r.trainSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::map<std::string, torch::Tensor> tensors;
    for (const auto &p : net->named_parameters())
        tensors[p.key()] = p.value().detach().clone();
    for (const auto &b : net->named_buffers())
        tensors[b.key()] = b.value().detach().clone();
    safetensors::save(out, tensors,
                      {{"format", "ditstudio-fmnist-classifier"},
                       {"test_accuracy", std::to_string(r.testAccuracy)},
                       {"epochs", std::to_string(o.epochs)},
                       {"batch_size", std::to_string(o.batchSize)},
                       {"learning_rate", std::to_string(o.learningRate)},
                       {"seed", std::to_string(o.seed)},
                       {"train_seconds", std::to_string(r.trainSeconds)}});
    return r;
}

} // namespace

Result<ClassifierReport> trainClassifier(const ClassifierTrainOptions &options, const fs::path &out,
                                         const std::function<void(int, int, int, double)> &progress,
                                         const CancelToken &cancel)
{
    return guarded({}, [&] { return trainOrThrow(options, out, progress, cancel); });
}

FmnistClassifier loadClassifier(const fs::path &path, std::map<std::string, std::string> *metadata)
{
    StateDict sd = safetensors::load(path);
    sd.source = path.string();
    if (sd.metadata.count("format") == 0 || sd.metadata.at("format") != "ditstudio-fmnist-classifier")
        fail(ErrorCode::FormatError,
             path.string()
                 + ": not a DiT Studio Fashion-MNIST classifier "
                   "(metadata 'format' should be 'ditstudio-fmnist-classifier')");
    FmnistClassifier net;
    // By name and with exact shapes (BatchNorm's counters are int64, which loadIntoModule refuses).
    torch::NoGradGuard ng;
    auto assign = [&](const std::string &name, torch::Tensor &dst) {
        const auto &src = sd.at(name);
        if (src.sizes() != dst.sizes())
            fail(ErrorCode::ShapeMismatch, path.string() + ": tensor '" + name + "' has the wrong shape");
        dst.copy_(src.to(dst.dtype()));
    };
    for (auto &p : net->named_parameters())
        assign(p.key(), p.value());
    for (auto &b : net->named_buffers())
        assign(b.key(), b.value());
    net->eval();
    if (metadata)
        *metadata = sd.metadata;
    return net;
}

double frechetDistance(const torch::Tensor &mu1, const torch::Tensor &sigma1, const torch::Tensor &mu2,
                       const torch::Tensor &sigma2)
{
    const auto m1 = mu1.to(torch::kDouble), m2 = mu2.to(torch::kDouble);
    const auto s1 = sigma1.to(torch::kDouble), s2 = sigma2.to(torch::kDouble);
    // tr((S1 S2)^1/2) = tr((S1^1/2 S2 S1^1/2)^1/2); the inner matrix is symmetric PSD, so both roots
    // come from symmetric eigendecompositions (negative round-off eigenvalues clamped to 0).
    auto [e1, v1] = torch::linalg::eigh(s1, "L");
    const auto root1 = v1.matmul(torch::diag(e1.clamp_min(0).sqrt())).matmul(v1.t());
    auto inner = root1.matmul(s2).matmul(root1);
    inner = 0.5 * (inner + inner.t());
    const auto e = std::get<0>(torch::linalg::eigh(inner, "L")).clamp_min(0);
    const double traceRoot = e.sqrt().sum().item<double>();
    return (m1 - m2).pow(2).sum().item<double>() + s1.trace().item<double>() + s2.trace().item<double>()
        - 2.0 * traceRoot;
}

double frechetDistance(const torch::Tensor &f1, const torch::Tensor &f2)
{
    if (f1.dim() != 2 || f2.dim() != 2 || f1.size(1) != f2.size(1) || f1.size(0) < 2 || f2.size(0) < 2)
        fail(ErrorCode::InvalidArgument,
             "frechetDistance: expected two [N, D] feature sets with N >= 2 and equal D");
    const auto a = f1.to(torch::kDouble), b = f2.to(torch::kDouble);
    const auto ca = a - a.mean(0), cb = b - b.mean(0);
    return frechetDistance(a.mean(0), ca.t().matmul(ca) / (a.size(0) - 1), b.mean(0),
                           cb.t().matmul(cb) / (b.size(0) - 1));
}

} // namespace ditstudio
