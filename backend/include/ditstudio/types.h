#pragma once
/// \file types.h
/// Plain data types crossing the public API (no torch, Qt, OpenCV or FFmpeg types).
///
/// Example:
///     ditstudio::Image image{28, 28, 1, std::vector<std::uint8_t>(28 * 28, 0)};  // 8-bit, interleaved
///     auto dtype = ditstudio::parseDType("bf16");                              // Result<DType>

#include "ditstudio/result.h"

#include <cstdint>
#include <string>
#include <vector>

namespace ditstudio {

/// An 8-bit image, interleaved, row-major, no padding: pixels.size() == width * height * channels.
/// channels is 1 (gray), 3 (RGB) or 4 (RGBA).
struct Image {
    int width = 0;
    int height = 0;
    int channels = 0;
    std::vector<std::uint8_t> pixels;

    bool empty() const { return pixels.empty(); }
    std::uint8_t *row(int y) { return pixels.data() + static_cast<size_t>(y) * width * channels; }
    const std::uint8_t *row(int y) const { return pixels.data() + static_cast<size_t>(y) * width * channels; }
};

/// A dense float32 tensor on the host, contiguous row-major.
struct HostTensor {
    std::vector<std::int64_t> shape;
    std::vector<float> data;

    std::int64_t numel() const
    {
        std::int64_t n = 1;
        for (auto s : shape)
            n *= s;
        return shape.empty() ? 0 : n;
    }
};

/// Numeric precision for inference and training.
enum class DType { Float32, BFloat16, Float16 };
const char *dtypeName(DType dtype); ///< "fp32", "bf16", "fp16"
Result<DType> parseDType(const std::string &text); ///< accepts fp32/float32, bf16/bfloat16, fp16/half

} // namespace ditstudio
