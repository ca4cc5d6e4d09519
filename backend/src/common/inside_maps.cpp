// Probe maps as pictures (inside.h): plain loops over host tensors, no LibTorch or OpenCV, so the GUI
// draws them without the engine module.
#include "common/errors.h"
#include "ditstudio/inside.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace ditstudio {

namespace {

std::string shapeText(const HostTensor &t)
{
    std::string s = "[";
    for (size_t i = 0; i < t.shape.size(); ++i)
        s += (i ? ", " : "") + std::to_string(t.shape[i]);
    return s + "]";
}

Result<void> checkAttention(const HostTensor &a, const char *what)
{
    if (a.shape.size() != 4 || static_cast<std::int64_t>(a.data.size()) != a.numel())
        return makeError(ErrorCode::ShapeMismatch,
                         std::string(what)
                             + ": attention must be [rows, heads, queries, "
                               "tokens], got "
                             + shapeText(a));
    return {};
}

// Position of `query` among the recorded query rows (all tokens when none were chosen).
int queryRow(const StepProbes &p, int query, std::int64_t queries)
{
    if (p.queryTokens.empty())
        return query >= 0 && query < queries ? query : -1;
    const auto it = std::find(p.queryTokens.begin(), p.queryTokens.end(), query);
    return it == p.queryTokens.end() ? -1 : static_cast<int>(it - p.queryTokens.begin());
}

} // namespace

Result<std::vector<float>> attentionOfQuery(const StepProbes &probes, const HostTensor &a, int row, int head,
                                            int query)
{
    if (auto ok = checkAttention(a, "attentionOfQuery"); !ok.ok())
        return ok.error();
    const auto rows = a.shape[0], heads = a.shape[1], queries = a.shape[2], tokens = a.shape[3];
    if (row < 0 || row >= rows)
        return makeError(ErrorCode::InvalidArgument,
                         "attentionOfQuery: row " + std::to_string(row) + " is out of range 0.."
                             + std::to_string(rows - 1));
    if (head < -1 || head >= heads)
        return makeError(ErrorCode::InvalidArgument,
                         "attentionOfQuery: head " + std::to_string(head) + " is out of range (-1 = mean, 0.."
                             + std::to_string(heads - 1) + ")");
    const int q = queryRow(probes, query, queries);
    if (q < 0)
        return makeError(ErrorCode::NotFound,
                         "attentionOfQuery: token " + std::to_string(query)
                             + " was not among the recorded query tokens");
    std::vector<float> out(static_cast<size_t>(tokens), 0.f);
    const int h0 = head < 0 ? 0 : head, h1 = head < 0 ? static_cast<int>(heads) : head + 1;
    for (int h = h0; h < h1; ++h) {
        const float *src = a.data.data() + ((row * heads + h) * queries + q) * tokens;
        for (std::int64_t k = 0; k < tokens; ++k)
            out[k] += src[k];
    }
    const float n = static_cast<float>(h1 - h0);
    for (auto &v : out)
        v /= n;
    return out;
}

Result<std::vector<float>> attentionRollout(const StepProbes &probes, int row, int query, int upToBlock)
{
    if (!probes.queryTokens.empty())
        return makeError(
            ErrorCode::InvalidArgument,
            "attentionRollout needs the attention of every query token (no query-token selection)");
    if (upToBlock < 0)
        return makeError(ErrorCode::InvalidArgument, "attentionRollout: block must be >= 0");
    std::vector<double> rollout; // [T, T], starts as the identity
    std::int64_t t = 0;
    for (int b = 0; b <= upToBlock; ++b) {
        const auto it = std::find(probes.attentionBlocks.begin(), probes.attentionBlocks.end(), b);
        if (it == probes.attentionBlocks.end())
            return makeError(ErrorCode::NotFound,
                             "attentionRollout: the attention of block " + std::to_string(b)
                                 + " was not recorded (rollout needs blocks 0.." + std::to_string(upToBlock)
                                 + ")");
        const HostTensor &a = probes.attention[static_cast<size_t>(it - probes.attentionBlocks.begin())];
        if (auto ok = checkAttention(a, "attentionRollout"); !ok.ok())
            return ok.error();
        const auto heads = a.shape[1];
        if (a.shape[2] != a.shape[3])
            return makeError(ErrorCode::ShapeMismatch,
                             "attentionRollout: block " + std::to_string(b)
                                 + " recorded only some query rows " + shapeText(a));
        if (row < 0 || row >= a.shape[0])
            return makeError(ErrorCode::InvalidArgument,
                             "attentionRollout: row " + std::to_string(row) + " out of range");
        t = a.shape[3];
        if (rollout.empty()) {
            rollout.assign(static_cast<size_t>(t * t), 0.0);
            for (std::int64_t i = 0; i < t; ++i)
                rollout[i * t + i] = 1.0;
        }
        // A = 0.5 * mean_h(attn) + 0.5 * I, rows renormalised; rollout = A @ rollout.
        std::vector<double> m(static_cast<size_t>(t * t), 0.0);
        for (std::int64_t h = 0; h < heads; ++h) {
            const float *src = a.data.data() + (row * heads + h) * t * t;
            for (std::int64_t i = 0; i < t * t; ++i)
                m[i] += src[i] / static_cast<double>(heads);
        }
        for (std::int64_t i = 0; i < t; ++i) {
            double sum = 0;
            for (std::int64_t j = 0; j < t; ++j) {
                m[i * t + j] = 0.5 * m[i * t + j] + (i == j ? 0.5 : 0.0);
                sum += m[i * t + j];
            }
            for (std::int64_t j = 0; j < t; ++j)
                m[i * t + j] /= sum;
        }
        std::vector<double> next(static_cast<size_t>(t * t), 0.0);
        for (std::int64_t i = 0; i < t; ++i)
            for (std::int64_t k = 0; k < t; ++k) {
                const double mik = m[i * t + k];
                if (mik == 0)
                    continue;
                for (std::int64_t j = 0; j < t; ++j)
                    next[i * t + j] += mik * rollout[k * t + j];
            }
        rollout.swap(next);
    }
    if (query < 0 || query >= t)
        return makeError(ErrorCode::InvalidArgument,
                         "attentionRollout: token " + std::to_string(query) + " is out of range 0.."
                             + std::to_string(t - 1));
    std::vector<float> out(static_cast<size_t>(t));
    for (std::int64_t j = 0; j < t; ++j)
        out[j] = static_cast<float>(rollout[query * t + j]);
    return out;
}

Result<std::vector<float>> guidanceMagnitude(const HostTensor &g, int item, MapSize *size)
{
    if (g.shape.size() != 4 || static_cast<std::int64_t>(g.data.size()) != g.numel())
        return makeError(ErrorCode::ShapeMismatch,
                         "guidanceMagnitude: guidance must be [batch, C, H, W], got " + shapeText(g));
    const auto n = g.shape[0], c = g.shape[1], h = g.shape[2], w = g.shape[3];
    if (item < 0 || item >= n)
        return makeError(ErrorCode::InvalidArgument,
                         "guidanceMagnitude: image " + std::to_string(item) + " is out of range 0.."
                             + std::to_string(n - 1));
    std::vector<float> out(static_cast<size_t>(h * w), 0.f);
    for (std::int64_t ch = 0; ch < c; ++ch) {
        const float *src = g.data.data() + (item * c + ch) * h * w;
        for (std::int64_t i = 0; i < h * w; ++i)
            out[i] += src[i] * src[i];
    }
    for (auto &v : out)
        v = std::sqrt(v);
    if (size)
        *size = {static_cast<int>(w), static_cast<int>(h)};
    return out;
}

int tokenAt(int x, int y, int imageWidth, int imageHeight, int tokensPerSide)
{
    if (imageWidth <= 0 || imageHeight <= 0 || tokensPerSide <= 0)
        return -1;
    const int col = std::clamp(static_cast<int>(static_cast<long long>(x) * tokensPerSide / imageWidth), 0,
                               tokensPerSide - 1);
    const int row = std::clamp(static_cast<int>(static_cast<long long>(y) * tokensPerSide / imageHeight), 0,
                               tokensPerSide - 1);
    return row * tokensPerSide + col;
}

void colormapRgb(float v, std::uint8_t rgb[3])
{
    // Key colours of matplotlib's "inferno", linearly interpolated.
    static const float kStops[9][3]
        = {{0, 0, 4},     {31, 12, 72},   {85, 15, 109},  {136, 34, 106}, {186, 54, 85},
           {227, 89, 51}, {249, 140, 10}, {249, 201, 50}, {252, 255, 164}};
    if (!std::isfinite(v))
        v = 0;
    v = std::clamp(v, 0.f, 1.f) * 8.f;
    const int i = std::min(static_cast<int>(v), 7);
    const float f = v - static_cast<float>(i);
    for (int c = 0; c < 3; ++c)
        rgb[c] = static_cast<std::uint8_t>(std::lround(kStops[i][c] + f * (kStops[i + 1][c] - kStops[i][c])));
}

Image colorizeMap(const std::vector<float> &values, int width, int height, float lo, float hi)
{
    Image out;
    if (width <= 0 || height <= 0 || values.size() < static_cast<size_t>(width) * height)
        return out;
    if (lo == hi) {
        lo = *std::min_element(values.begin(), values.end());
        hi = *std::max_element(values.begin(), values.end());
    }
    const float range = hi > lo ? hi - lo : 1.f;
    out.width = width;
    out.height = height;
    out.channels = 3;
    out.pixels.resize(static_cast<size_t>(width) * height * 3);
    for (size_t i = 0; i < static_cast<size_t>(width) * height; ++i)
        colormapRgb((values[i] - lo) / range, &out.pixels[i * 3]);
    return out;
}

Image resizeNearest(const Image &image, int width, int height)
{
    Image out;
    if (image.empty() || width <= 0 || height <= 0)
        return out;
    out.width = width;
    out.height = height;
    out.channels = image.channels;
    out.pixels.resize(static_cast<size_t>(width) * height * image.channels);
    for (int y = 0; y < height; ++y) {
        const int sy = static_cast<int>(static_cast<long long>(y) * image.height / height);
        for (int x = 0; x < width; ++x) {
            const int sx = static_cast<int>(static_cast<long long>(x) * image.width / width);
            std::copy_n(image.row(sy) + static_cast<size_t>(sx) * image.channels, image.channels,
                        out.row(y) + static_cast<size_t>(x) * image.channels);
        }
    }
    return out;
}

Image overlayMap(const Image &base, const std::vector<float> &values, int width, int height, double alpha,
                 float lo, float hi)
{
    const Image heat = colorizeMap(values, width, height, lo, hi);
    if (heat.empty())
        return heat;
    if (base.empty()) {
        const int factor = std::max(1, (128 + std::max(width, height) - 1) / std::max(width, height));
        return resizeNearest(heat, width * factor, height * factor);
    }
    const Image scaled = resizeNearest(heat, base.width, base.height);
    Image out = scaled;
    alpha = std::clamp(alpha, 0.0, 1.0);
    for (int y = 0; y < base.height; ++y) {
        const std::uint8_t *b = base.row(y);
        std::uint8_t *o = out.row(y);
        for (int x = 0; x < base.width; ++x) {
            std::uint8_t rgb[3];
            if (base.channels >= 3) {
                rgb[0] = b[x * base.channels], rgb[1] = b[x * base.channels + 1],
                rgb[2] = b[x * base.channels + 2];
            } else {
                rgb[0] = rgb[1] = rgb[2] = b[x * base.channels];
            }
            for (int c = 0; c < 3; ++c)
                o[x * 3 + c]
                    = static_cast<std::uint8_t>(std::lround((1 - alpha) * rgb[c] + alpha * o[x * 3 + c]));
        }
    }
    return out;
}

} // namespace ditstudio
