#pragma once
// The evaluation classifier: a small CNN trained by the project on the real Fashion-MNIST training
// set. It scores generated samples (share classified as the requested class) and provides the
// features for a Frechet distance against the test set (the FID recipe of Heusel et al. 2017, with
// this network in place of Inception, which does not fit 28x28 grayscale images).

#include "ditstudio/evaluation.h"

#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <map>
#include <string>

namespace ditstudio {

/// conv(1->16) conv(16->32) pool conv(32->64) pool fc(3136->128) fc(128->10); BatchNorm after each conv.
/// Input [N, 1, 28, 28] in [-1, 1] (the DiT's pixel range).
struct FmnistClassifierImpl : torch::nn::Module {
    FmnistClassifierImpl();
    torch::Tensor features(const torch::Tensor &x); ///< [N, 128] penultimate activations
    torch::Tensor forward(const torch::Tensor &x); ///< [N, 10] logits

    torch::nn::Conv2d conv1 {nullptr}, conv2 {nullptr}, conv3 {nullptr};
    torch::nn::BatchNorm2d bn1 {nullptr}, bn2 {nullptr}, bn3 {nullptr};
    torch::nn::Linear fc1 {nullptr}, fc2 {nullptr};
    torch::nn::Dropout drop {nullptr};
};
TORCH_MODULE(FmnistClassifier);

// ClassifierTrainOptions, ClassifierReport and trainClassifier are public (ditstudio/evaluation.h).

/// Load a classifier saved by trainClassifier (eval mode). Throws DitException naming the file.
FmnistClassifier loadClassifier(const std::filesystem::path &path,
                                std::map<std::string, std::string> *metadata = nullptr);

/// Logits and features for images [N, 1, 28, 28] in [-1, 1], evaluated in chunks.
void classify(FmnistClassifier &net, const torch::Tensor &images, torch::Tensor &logits,
              torch::Tensor &features);

/// Frechet distance between Gaussians fitted to two feature sets [N, D] (float64 internally):
/// |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2). Ref: Heusel et al. 2017; Dowson & Landau 1982.
double frechetDistance(const torch::Tensor &features1, const torch::Tensor &features2);
/// The same from moments (mu [D], sigma [D, D]).
double frechetDistance(const torch::Tensor &mu1, const torch::Tensor &sigma1, const torch::Tensor &mu2,
                       const torch::Tensor &sigma2);

} // namespace ditstudio
