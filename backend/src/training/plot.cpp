#include "ditstudio/plot.h"

#include "common/errors.h"
#include "ditstudio/inside.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace ditstudio {

std::string plotTickText(double v)
{
    // Whole numbers up to 1e7 in full (a step axis reads 15000, not "2e+04" as "%.0e" printed it);
    // otherwise three significant digits, which keeps 2.5e-05 apart from 3e-05.
    char buf[32];
    const double a = std::fabs(v);
    if (v == 0)
        std::snprintf(buf, sizeof buf, "0");
    else if (a >= 100 && a < 1e7)
        std::snprintf(buf, sizeof buf, "%.0f", v);
    else
        std::snprintf(buf, sizeof buf, "%.3g", v);
    return buf;
}

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
        cv::putText(img, "no data", {area.x + area.width / 2 - 40, area.y + area.height / 2}, font, 0.7, ink,
                    1, cv::LINE_AA);
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
    auto px
        = [&](double x) { return area.x + static_cast<int>(std::lround((x - x0) / (x1 - x0) * area.width)); };
    auto py = [&](double y) {
        return area.y + area.height - static_cast<int>(std::lround((y - y0) / (y1 - y0) * area.height));
    };
    // Grid and tick labels.
    for (double t : niceTicks(x0, x1, 6)) {
        cv::line(img, {px(t), area.y}, {px(t), area.y + area.height}, grid, 1);
        const auto text = plotTickText(t);
        cv::putText(img, text, {px(t) - 4 * static_cast<int>(text.size()), area.y + area.height + 18}, font,
                    0.42, ink, 1, cv::LINE_AA);
    }
    if (o.logY) {
        for (int e = static_cast<int>(std::floor(y0)); e <= static_cast<int>(std::ceil(y1)); ++e)
            for (int m : {1, 2, 5}) {
                const double v = std::log10(m * std::pow(10.0, e));
                if (v < y0 || v > y1)
                    continue;
                cv::line(img, {area.x, py(v)}, {area.x + area.width, py(v)}, grid, 1);
                cv::putText(img, plotTickText(m * std::pow(10.0, e)), {6, py(v) + 4}, font, 0.42, ink, 1,
                            cv::LINE_AA);
            }
    } else {
        for (double t : niceTicks(y0, y1, 6)) {
            cv::line(img, {area.x, py(t)}, {area.x + area.width, py(t)}, grid, 1);
            cv::putText(img, plotTickText(t), {6, py(t) + 4}, font, 0.42, ink, 1, cv::LINE_AA);
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
    cv::putText(img, o.xLabel,
                {area.x + area.width / 2 - 4 * static_cast<int>(o.xLabel.size()), o.height - 14}, font, 0.5,
                ink, 1, cv::LINE_AA);
    if (!o.yLabel.empty())
        cv::putText(img, o.yLabel + (o.logY ? " (log)" : ""), {area.x + 6, area.y - 8}, font, 0.45, ink, 1,
                    cv::LINE_AA);
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

namespace {

cv::Mat toMat(const Image &img)
{
    cv::Mat m(img.height, img.width,
              img.channels == 1       ? CV_8UC1
                  : img.channels == 4 ? CV_8UC4
                                      : CV_8UC3,
              const_cast<std::uint8_t *>(img.pixels.data()));
    cv::Mat rgb;
    if (img.channels == 1)
        cv::cvtColor(m, rgb, cv::COLOR_GRAY2RGB);
    else if (img.channels == 4)
        cv::cvtColor(m, rgb, cv::COLOR_RGBA2RGB);
    else
        rgb = m.clone();
    return rgb;
}

void putLabel(cv::Mat &canvas, const std::string &text, cv::Point origin, double scale = 0.45)
{
    cv::putText(canvas, text, origin, cv::FONT_HERSHEY_SIMPLEX, scale, cv::Scalar(20, 20, 20), 1,
                cv::LINE_AA);
}

int textWidth(const std::string &text, double scale = 0.45)
{
    int baseline = 0;
    return cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, scale, 1, &baseline).width;
}

} // namespace

Image makeLabelledGrid(const std::vector<std::vector<Image>> &cells,
                       const std::vector<std::string> &rowLabels, const std::vector<std::string> &colLabels,
                       int cellSize, const std::string &title)
{
    if (cells.empty() || cellSize < 4)
        fail(ErrorCode::InvalidArgument, "labelled grid: no cells, or a cell size under 4 px");
    size_t cols = colLabels.size();
    for (const auto &r : cells)
        cols = std::max(cols, r.size());
    int labelW = 0;
    for (const auto &l : rowLabels)
        labelW = std::max(labelW, textWidth(l));
    labelW = labelW ? labelW + 12 : 4;
    const int pad = 4, titleH = title.empty() ? 0 : 26, headH = colLabels.empty() ? 4 : 22;
    const int width = labelW + static_cast<int>(cols) * (cellSize + pad) + pad;
    const int height = titleH + headH + static_cast<int>(cells.size()) * (cellSize + pad) + pad;
    cv::Mat canvas(height, width, CV_8UC3, cv::Scalar(255, 255, 255));
    if (!title.empty())
        cv::putText(canvas, title, cv::Point(6, 18), cv::FONT_HERSHEY_SIMPLEX, 0.55, cv::Scalar(0, 0, 0), 1,
                    cv::LINE_AA);
    for (size_t c = 0; c < colLabels.size(); ++c) {
        const int x = labelW + static_cast<int>(c) * (cellSize + pad);
        const int tw = textWidth(colLabels[c]);
        putLabel(canvas, colLabels[c], cv::Point(x + std::max(0, (cellSize - tw) / 2), titleH + headH - 7));
    }
    for (size_t r = 0; r < cells.size(); ++r) {
        const int y = titleH + headH + static_cast<int>(r) * (cellSize + pad);
        if (r < rowLabels.size())
            putLabel(canvas, rowLabels[r], cv::Point(4, y + cellSize / 2 + 5));
        for (size_t c = 0; c < cells[r].size(); ++c) {
            const int x = labelW + static_cast<int>(c) * (cellSize + pad);
            cv::Rect roi(x, y, cellSize, cellSize);
            if (cells[r][c].empty()) {
                cv::rectangle(canvas, roi, cv::Scalar(235, 235, 235), cv::FILLED);
                continue;
            }
            const Image scaled = resizeNearest(cells[r][c], cellSize, cellSize);
            toMat(scaled).copyTo(canvas(roi));
        }
    }
    return fromMat(canvas);
}

Image renderHeatmap(const std::vector<float> &values, int rows, int cols, const HeatmapOptions &o)
{
    if (rows < 1 || cols < 1 || values.size() < static_cast<size_t>(rows) * cols)
        fail(ErrorCode::InvalidArgument,
             "heat map: " + std::to_string(values.size()) + " values for " + std::to_string(rows) + " x "
                 + std::to_string(cols));
    float lo = *std::min_element(values.begin(), values.begin() + rows * cols);
    float hi = *std::max_element(values.begin(), values.begin() + rows * cols);
    const Image heat = colorizeMap(values, cols, rows, lo, hi);
    const int mapW = cols * o.cellWidth, mapH = rows * o.cellHeight;
    const int left = 64, top = o.title.empty() ? 14 : 34, bottom = 46, barW = 16, right = 90;
    cv::Mat canvas(top + mapH + bottom, left + mapW + 20 + barW + right, CV_8UC3, cv::Scalar(255, 255, 255));
    toMat(resizeNearest(heat, mapW, mapH)).copyTo(canvas(cv::Rect(left, top, mapW, mapH)));
    if (!o.title.empty())
        cv::putText(canvas, o.title, cv::Point(8, 22), cv::FONT_HERSHEY_SIMPLEX, 0.55, cv::Scalar(0, 0, 0), 1,
                    cv::LINE_AA);
    const int xEvery = o.xTickEvery > 0 ? o.xTickEvery : std::max(1, (cols + 9) / 10);
    const int yEvery = o.yTickEvery > 0 ? o.yTickEvery : std::max(1, (rows + 9) / 10);
    for (int c = 0; c < cols; c += xEvery) {
        const std::string t = std::to_string(c);
        putLabel(canvas, t,
                 cv::Point(left + c * o.cellWidth + (o.cellWidth - textWidth(t, 0.4)) / 2, top + mapH + 16),
                 0.4);
    }
    for (int r = 0; r < rows; r += yEvery) {
        const std::string t = std::to_string(r);
        putLabel(canvas, t,
                 cv::Point(left - 8 - textWidth(t, 0.4), top + r * o.cellHeight + o.cellHeight / 2 + 5), 0.4);
    }
    if (!o.xLabel.empty())
        putLabel(canvas, o.xLabel, cv::Point(left + (mapW - textWidth(o.xLabel)) / 2, top + mapH + 38));
    if (!o.yLabel.empty()) {
        cv::Mat label(22, textWidth(o.yLabel) + 8, CV_8UC3, cv::Scalar(255, 255, 255));
        putLabel(label, o.yLabel, cv::Point(4, 16));
        cv::Mat rotated;
        cv::rotate(label, rotated, cv::ROTATE_90_COUNTERCLOCKWISE);
        const int y0 = std::max(0, top + (mapH - rotated.rows) / 2);
        const int h = std::min(rotated.rows, canvas.rows - y0);
        rotated(cv::Rect(0, 0, rotated.cols, h)).copyTo(canvas(cv::Rect(4, y0, rotated.cols, h)));
    }
    // Colour bar with the value range.
    const int bx = left + mapW + 20;
    for (int y = 0; y < mapH; ++y) {
        std::uint8_t rgb[3];
        colormapRgb(1.f - static_cast<float>(y) / std::max(1, mapH - 1), rgb);
        cv::line(canvas, cv::Point(bx, top + y), cv::Point(bx + barW - 1, top + y),
                 cv::Scalar(rgb[0], rgb[1], rgb[2]));
    }
    putLabel(canvas, plotTickText(hi), cv::Point(bx + barW + 4, top + 10), 0.4);
    putLabel(canvas, plotTickText(lo), cv::Point(bx + barW + 4, top + mapH), 0.4);
    return fromMat(canvas);
}

} // namespace ditstudio
