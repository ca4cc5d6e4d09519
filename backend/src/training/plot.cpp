#include "training/plot.h"

#include "core/errors.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace ditstudio {

namespace {

Image fromMat(const cv::Mat &rgb)
{
    Image img;
    img.width = rgb.cols;
    img.height = rgb.rows;
    img.channels = 3;
    img.pixels.assign(rgb.data, rgb.data + rgb.total() * 3);
    return img;
}

std::string tickText(double v)
{
    char buf[32];
    const double a = std::fabs(v);
    if (v == 0)
        std::snprintf(buf, sizeof buf, "0");
    else if (a >= 1e4 || a < 1e-3)
        std::snprintf(buf, sizeof buf, "%.0e", v);
    else if (a >= 100)
        std::snprintf(buf, sizeof buf, "%.0f", v);
    else
        std::snprintf(buf, sizeof buf, "%.3g", v);
    return buf;
}

// "Nice" tick positions covering [lo, hi] (Heckbert 1990, Graphics Gems).
std::vector<double> niceTicks(double lo, double hi, int target)
{
    const double span = hi - lo;
    if (!(span > 0))
        return {lo};
    const double raw = span / std::max(1, target);
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    const double norm = raw / mag;
    const double step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
    std::vector<double> out;
    for (double v = std::ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
        out.push_back(std::fabs(v) < step * 1e-9 ? 0.0 : v);
    return out;
}

} // namespace

std::vector<double> smoothed(const std::vector<double> &values, int window)
{
    std::vector<double> out(values.size());
    double sum = 0;
    for (size_t i = 0; i < values.size(); ++i) {
        sum += values[i];
        if (i >= static_cast<size_t>(window))
            sum -= values[i - window];
        out[i] = sum / static_cast<double>(std::min<size_t>(i + 1, window));
    }
    return out;
}

Image renderLinePlot(const std::vector<PlotSeries> &series, const PlotOptions &o)
{
    if (o.width < 200 || o.height < 150)
        fail(ErrorCode::InvalidArgument, "plot size must be at least 200x150");
    cv::Mat img(o.height, o.width, CV_8UC3, cv::Scalar(255, 255, 255));
    const int left = 80, right = 20, top = 56, bottom = 60;
    const cv::Rect area(left, top, o.width - left - right, o.height - top - bottom);
    auto fy = [&](double v) { return o.logY ? std::log10(v) : v; };
    double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
    for (const auto &s : series)
        for (size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i) {
            if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i]) || (o.logY && s.y[i] <= 0))
                continue;
            x0 = std::min(x0, s.x[i]);
            x1 = std::max(x1, s.x[i]);
            y0 = std::min(y0, fy(s.y[i]));
            y1 = std::max(y1, fy(s.y[i]));
        }
    const cv::Scalar ink(40, 40, 40), grid(225, 225, 225);
    const auto font = cv::FONT_HERSHEY_SIMPLEX;
    if (!std::isfinite(x0)) {
        cv::putText(img, "no data", {area.x + area.width / 2 - 40, area.y + area.height / 2}, font, 0.7, ink, 1, cv::LINE_AA);
        return fromMat(img);
    }
    if (x1 == x0)
        x1 = x0 + 1;
    if (y1 == y0) {
        y0 -= 0.5;
        y1 += 0.5;
    }
    const double pad = (y1 - y0) * 0.05;
    y0 -= pad;
    y1 += pad;
    auto px = [&](double x) { return area.x + static_cast<int>(std::lround((x - x0) / (x1 - x0) * area.width)); };
    auto py = [&](double y) { return area.y + area.height - static_cast<int>(std::lround((y - y0) / (y1 - y0) * area.height)); };
    // Grid and tick labels.
    for (double t : niceTicks(x0, x1, 6)) {
        cv::line(img, {px(t), area.y}, {px(t), area.y + area.height}, grid, 1);
        const auto text = tickText(t);
        cv::putText(img, text, {px(t) - 4 * static_cast<int>(text.size()), area.y + area.height + 18}, font, 0.42, ink, 1, cv::LINE_AA);
    }
    if (o.logY) {
        for (int e = static_cast<int>(std::floor(y0)); e <= static_cast<int>(std::ceil(y1)); ++e)
            for (int m : {1, 2, 5}) {
                const double v = std::log10(m * std::pow(10.0, e));
                if (v < y0 || v > y1)
                    continue;
                cv::line(img, {area.x, py(v)}, {area.x + area.width, py(v)}, grid, 1);
                cv::putText(img, tickText(m * std::pow(10.0, e)), {6, py(v) + 4}, font, 0.42, ink, 1, cv::LINE_AA);
            }
    } else {
        for (double t : niceTicks(y0, y1, 6)) {
            cv::line(img, {area.x, py(t)}, {area.x + area.width, py(t)}, grid, 1);
            cv::putText(img, tickText(t), {6, py(t) + 4}, font, 0.42, ink, 1, cv::LINE_AA);
        }
    }
    cv::rectangle(img, area, ink, 1);
    // Series.
    for (const auto &s : series) {
        const cv::Scalar color(s.rgb[0], s.rgb[1], s.rgb[2]);
        std::vector<cv::Point> pts;
        auto flush = [&] {
            if (pts.size() >= 2)
                cv::polylines(img, pts, false, color, 2, cv::LINE_AA);
            else if (pts.size() == 1)
                cv::circle(img, pts[0], 2, color, -1, cv::LINE_AA);
            pts.clear();
        };
        for (size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i) {
            if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i]) || (o.logY && s.y[i] <= 0)) {
                flush();
                continue;
            }
            pts.emplace_back(px(s.x[i]), py(fy(s.y[i])));
        }
        flush();
    }
    // Legend, title, axis labels.
    // Legend in the top right corner, sized to its longest label, on a white box.
    int labelWidth = 0, labels = 0;
    for (const auto &s : series)
        if (!s.label.empty()) {
            int baseline = 0;
            labelWidth = std::max(labelWidth, cv::getTextSize(s.label, font, 0.45, 1, &baseline).width);
            ++labels;
        }
    if (labels > 0) {
        const int boxW = labelWidth + 44, boxH = labels * 20 + 8;
        const cv::Rect box(area.x + area.width - boxW - 6, area.y + 6, boxW, boxH);
        cv::rectangle(img, box, cv::Scalar(255, 255, 255), cv::FILLED);
        cv::rectangle(img, box, grid, 1);
        int ly = box.y + 19;
        for (const auto &s : series) {
            if (s.label.empty())
                continue;
            const cv::Scalar color(s.rgb[0], s.rgb[1], s.rgb[2]);
            cv::line(img, {box.x + 8, ly - 5}, {box.x + 32, ly - 5}, color, 3, cv::LINE_AA);
            cv::putText(img, s.label, {box.x + 38, ly}, font, 0.45, ink, 1, cv::LINE_AA);
            ly += 20;
        }
    }
    cv::putText(img, o.title, {area.x, 24}, font, 0.65, ink, 1, cv::LINE_AA);
    cv::putText(img, o.xLabel, {area.x + area.width / 2 - 4 * static_cast<int>(o.xLabel.size()), o.height - 14}, font, 0.5,
                ink, 1, cv::LINE_AA);
    if (!o.yLabel.empty())
        cv::putText(img, o.yLabel + (o.logY ? " (log)" : ""), {area.x + 6, area.y - 8}, font, 0.45, ink, 1, cv::LINE_AA);
    return fromMat(img);
}

Image makeImageGrid(const std::vector<Image> &images, int cols, int scale, int pad)
{
    if (images.empty())
        fail(ErrorCode::InvalidArgument, "image grid: no images");
    if (cols < 1 || scale < 1 || pad < 0)
        fail(ErrorCode::InvalidArgument, "image grid: cols and scale must be >= 1, pad >= 0");
    const int w = images[0].width, h = images[0].height;
    for (const auto &im : images)
        if (im.width != w || im.height != h || (im.channels != 1 && im.channels != 3))
            fail(ErrorCode::InvalidArgument, "image grid: images must share one size and be gray or RGB");
    const int rows = (static_cast<int>(images.size()) + cols - 1) / cols;
    Image g;
    g.width = cols * w * scale + (cols + 1) * pad;
    g.height = rows * h * scale + (rows + 1) * pad;
    g.channels = 3;
    g.pixels.assign(static_cast<size_t>(g.width) * g.height * 3, 255);
    for (size_t i = 0; i < images.size(); ++i) {
        const auto &im = images[i];
        const int ox = pad + static_cast<int>(i % cols) * (w * scale + pad);
        const int oy = pad + static_cast<int>(i / cols) * (h * scale + pad);
        for (int y = 0; y < h * scale; ++y)
            for (int x = 0; x < w * scale; ++x) {
                const std::uint8_t *src = im.row(y / scale) + (x / scale) * im.channels;
                std::uint8_t *dst = g.row(oy + y) + (ox + x) * 3;
                for (int c = 0; c < 3; ++c)
                    dst[c] = src[im.channels == 1 ? 0 : c];
            }
    }
    return g;
}

} // namespace ditstudio
