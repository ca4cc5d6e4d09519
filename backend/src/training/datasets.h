#pragma once
// Training datasets: Fashion-MNIST idx files (Debian's dataset-fashion-mnist) and image folders.

#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

namespace ditstudio {

struct ImageDataset {
    torch::Tensor images; ///< [N, C, H, W] float32 in [-1, 1]
    torch::Tensor labels; ///< [N] int64
    std::vector<std::string> classNames;
};

/// Default location of Debian's dataset-fashion-mnist.
std::filesystem::path defaultFashionMnistDir();
/// The 10 Fashion-MNIST class names in label order.
const std::vector<std::string> &fashionMnistClassNames();

/// Read train (60,000) or test (10,000) images from idx files (gzip-compressed or plain).
/// Throws DitException naming the file on a missing or malformed file.
ImageDataset loadFashionMnist(const std::filesystem::path &dir, bool train);

/// An image folder with one subfolder per class (sorted by name), resized to size x size,
/// channels 1 (gray) or 3 (RGB).
ImageDataset loadImageFolder(const std::filesystem::path &dir, int size, int channels);

} // namespace ditstudio
