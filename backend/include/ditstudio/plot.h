#pragma once
/// \file plot.h
/// Small raster charts and image grids for reports (loss curves, the learned loss weighting, sample
/// grids, probe heat maps), drawn with OpenCV inside the backend so callers need no plotting library.
/// Pure functions of their arguments: thread-safe, no state. Every function returns an RGB Image;
/// empty input gives a blank chart with its axes and title.
///
/// Example:
///     ditstudio::PlotSeries loss {"loss", {0, 1, 2}, {0.9, 0.5, 0.4}};
///     ditstudio::PlotOptions options;
///     options.title = "training loss";
///     ditstudio::Image chart = ditstudio::renderLinePlot({loss}, options);
///     ditstudio::writePng("loss.png", chart);

#include "ditstudio/types.h"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace ditstudio {

struct PlotSeries {
    std::string label;
    std::vector<double> x, y;
    std::array<std::uint8_t, 3> rgb {31, 119, 180};
};

struct PlotOptions {
    std::string title, xLabel, yLabel;
    bool logY = false;
    int width = 900, height = 520;
};

/// A line chart of the series (axes with ticks, legend). Non-finite points (and non-positive ones
/// with logY) are skipped. Returns an RGB image.
Image renderLinePlot(const std::vector<PlotSeries> &series, const PlotOptions &options);

/// Tile equally sized images (gray or RGB) into a grid of `cols` columns, each scaled by an integer
/// factor with nearest-neighbour sampling, separated by `pad` pixels. Returns RGB.
Image makeImageGrid(const std::vector<Image> &images, int cols, int scale = 1, int pad = 2);

/// A table of images: cells[r][c] resized (nearest neighbour: crisp pixels) to cellSize x cellSize,
/// with a label left of each row, above each column, and a title. Empty cells stay blank. RGB.
Image makeLabelledGrid(const std::vector<std::vector<Image>> &cells,
                       const std::vector<std::string> &rowLabels, const std::vector<std::string> &colLabels,
                       int cellSize, const std::string &title = {});

struct HeatmapOptions {
    std::string title, xLabel, yLabel;
    int cellWidth = 18, cellHeight = 12; ///< pixels per value
    int xTickEvery = 0, yTickEvery = 0; ///< label every N columns / rows (0: about 10 labels)
};
/// A rows x cols heat map of `values` (row-major) in the colour map of inside.h, with axes, tick
/// labels and a colour bar giving the value range. Returns RGB.
Image renderHeatmap(const std::vector<float> &values, int rows, int cols, const HeatmapOptions &options);

/// The label of an axis tick at v: "0", "0.05", "15000", "2.5e-05", "1.5e+07".
std::string plotTickText(double v);

/// Moving average over `window` points (centered on the trailing side), for noisy loss curves.
std::vector<double> smoothed(const std::vector<double> &values, int window);

} // namespace ditstudio
