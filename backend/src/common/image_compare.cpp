// Image comparison in PSNR (8-bit images): plain loops over the pixels, no LibTorch, so the GUI can
// score an edit without the engine.
#include "common/errors.h"
#include "ditstudio/editing.h"
#include "ditstudio/video.h"

#include <cmath>
#include <limits>
#include <string>

namespace ditstudio {

Result<double> imagePsnr(const Image &a, const Image &b)
{
    if (a.width != b.width || a.height != b.height || a.channels != b.channels
        || a.pixels.size() != b.pixels.size())
        return makeError(ErrorCode::InvalidArgument,
                         "imagePsnr: images differ in size or channels (" + std::to_string(a.width) + "x"
                             + std::to_string(a.height) + "x" + std::to_string(a.channels) + " vs "
                             + std::to_string(b.width) + "x" + std::to_string(b.height) + "x"
                             + std::to_string(b.channels) + ")");
    if (a.pixels.empty())
        return makeError(ErrorCode::InvalidArgument, "imagePsnr: empty images");
    double se = 0;
    for (size_t i = 0; i < a.pixels.size(); ++i) {
        const double d = static_cast<double>(a.pixels[i]) - b.pixels[i];
        se += d * d;
    }
    const double mse = se / static_cast<double>(a.pixels.size());
    if (mse == 0)
        return std::numeric_limits<double>::infinity();
    return 10.0 * std::log10(255.0 * 255.0 / mse);
}

double framePsnr(const Image &a, const Image &b)
{
    if (a.width != b.width || a.height != b.height || a.empty() || b.empty())
        return 0.0;
    auto px = [](const Image &im, size_t i, int c) -> double {
        const auto *p = im.pixels.data() + i * im.channels;
        return im.channels == 1 ? p[0] : p[c];
    };
    double sse = 0;
    const size_t n = static_cast<size_t>(a.width) * a.height;
    for (size_t i = 0; i < n; ++i)
        for (int c = 0; c < 3; ++c) {
            const double d = px(a, i, c) - px(b, i, c);
            sse += d * d;
        }
    const double mse = sse / (3.0 * n);
    return mse == 0 ? INFINITY : 10.0 * std::log10(255.0 * 255.0 / mse);
}

} // namespace ditstudio
