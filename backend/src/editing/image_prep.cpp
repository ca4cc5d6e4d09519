#include "editing/image_prep.h"

#include "common/errors.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

namespace ditstudio::editing {

namespace {

cv::Mat toMat(const Image &image)
{
    if (image.empty() || image.width <= 0 || image.height <= 0)
        fail(ErrorCode::InvalidArgument, "the image is empty");
    if (image.channels != 1 && image.channels != 3 && image.channels != 4)
        fail(ErrorCode::InvalidArgument,
             "images must have 1, 3 or 4 channels, got " + std::to_string(image.channels));
    if (image.pixels.size() != static_cast<size_t>(image.width) * image.height * image.channels)
        fail(ErrorCode::InvalidArgument, "image pixel buffer does not match its width x height x channels");
    return cv::Mat(image.height, image.width, CV_8UC(image.channels),
                   const_cast<std::uint8_t *>(image.pixels.data()))
        .clone();
}

Image fromMat(const cv::Mat &m)
{
    cv::Mat c = m.isContinuous() ? m : m.clone();
    Image img;
    img.width = c.cols;
    img.height = c.rows;
    img.channels = c.channels();
    img.pixels.assign(c.data, c.data + static_cast<size_t>(img.width) * img.height * img.channels);
    return img;
}

cv::Mat centerSquare(const cv::Mat &m)
{
    const int side = std::min(m.cols, m.rows);
    return m(cv::Rect((m.cols - side) / 2, (m.rows - side) / 2, side, side));
}

} // namespace

Image fitToModel(const Image &image, int size, int channels)
{
    cv::Mat m = toMat(image);
    if (m.channels() == 4)
        cv::cvtColor(m, m, cv::COLOR_RGBA2RGB);
    cv::Mat sq = centerSquare(m);
    cv::Mat resized;
    if (sq.cols == size)
        resized = sq.clone();
    else
        cv::resize(sq, resized, cv::Size(size, size), 0, 0,
                   sq.cols > size ? cv::INTER_AREA : cv::INTER_CUBIC);
    if (channels == 1 && resized.channels() == 3)
        cv::cvtColor(resized, resized, cv::COLOR_RGB2GRAY);
    else if (channels == 3 && resized.channels() == 1)
        cv::cvtColor(resized, resized, cv::COLOR_GRAY2RGB);
    return fromMat(resized);
}

Image padImage(const Image &image, const Padding &pad)
{
    if (!pad.any())
        return image;
    cv::Mat m = toMat(image), out;
    cv::copyMakeBorder(m, out, pad.top, pad.bottom, pad.left, pad.right, cv::BORDER_REPLICATE);
    return fromMat(out);
}

Image buildMask(const Image &image, const Image &mask, const Padding &pad)
{
    if (pad.left < 0 || pad.top < 0 || pad.right < 0 || pad.bottom < 0)
        fail(ErrorCode::InvalidArgument, "outpaint padding must not be negative");
    if (std::max({pad.left, pad.top, pad.right, pad.bottom}) > 8192)
        fail(ErrorCode::InvalidArgument, "outpaint padding must be at most 8192 pixels per side");
    cv::Mat m(image.height, image.width, CV_8UC1, cv::Scalar(0));
    if (!mask.empty()) {
        if (mask.width != image.width || mask.height != image.height)
            fail(ErrorCode::ShapeMismatch,
                 "the mask is " + std::to_string(mask.width) + "x" + std::to_string(mask.height)
                     + " but the image is " + std::to_string(image.width) + "x" + std::to_string(image.height)
                     + "; they must be the same size");
        cv::Mat mm = toMat(mask);
        cv::Mat first;
        cv::extractChannel(mm, first, 0);
        cv::threshold(first, m, 127, 255, cv::THRESH_BINARY);
    } else if (image.channels == 4) {
        cv::Mat im = toMat(image), alpha;
        cv::extractChannel(im, alpha, 3);
        cv::threshold(alpha, m, 127, 255, cv::THRESH_BINARY_INV); // transparent = regenerate
    }
    if (pad.any())
        cv::copyMakeBorder(m, m, pad.top, pad.bottom, pad.left, pad.right, cv::BORDER_CONSTANT,
                           cv::Scalar(255));
    return fromMat(m);
}

Image fitMaskToModel(const Image &mask, int size)
{
    cv::Mat sq = centerSquare(toMat(mask));
    cv::Mat resized;
    if (sq.cols == size)
        resized = sq.clone();
    else // enlarged or averaged: any pixel the mask touches counts
        cv::resize(sq, resized, cv::Size(size, size), 0, 0,
                   sq.cols > size ? cv::INTER_AREA : cv::INTER_LINEAR);
    cv::threshold(resized, resized, 0, 255, cv::THRESH_BINARY);
    return fromMat(resized);
}

Image featherWeights(const Image &mask, double feather)
{
    cv::Mat m = toMat(mask);
    if (feather <= 0)
        return fromMat(m);
    cv::Mat dist;
    // Distance of every masked pixel to the nearest kept one: blending stays inside the mask, so the
    // kept pixels are copied from the input untouched.
    cv::distanceTransform(m, dist, cv::DIST_L2, cv::DIST_MASK_PRECISE);
    cv::Mat w;
    dist.convertTo(w, CV_8U, 255.0 / feather);
    w.setTo(0, m == 0);
    return fromMat(w);
}

Image composite(const Image &original, const Image &generated, const Image &weight)
{
    if (original.width != generated.width || original.height != generated.height
        || original.channels != generated.channels || weight.width != original.width
        || weight.height != original.height || weight.channels != 1)
        fail(ErrorCode::ShapeMismatch, "composite: original, generated and weight sizes differ");
    Image out = original;
    const int c = original.channels;
    for (size_t p = 0; p < weight.pixels.size(); ++p) {
        const int w = weight.pixels[p];
        for (int k = 0; k < c; ++k) {
            const size_t i = p * c + k;
            out.pixels[i] = static_cast<std::uint8_t>(
                (w * generated.pixels[i] + (255 - w) * original.pixels[i] + 127) / 255);
        }
    }
    return out;
}

} // namespace ditstudio::editing
