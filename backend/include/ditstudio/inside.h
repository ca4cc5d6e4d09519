#pragma once
/// \file inside.h
/// Reading the probes (probes.h) as pictures: attention of a patch, attention rollout, guidance
/// magnitude, colour maps and overlays. Torch-free (ditstudio_common), so the GUI and the CLI draw the
/// same maps from the same numbers.
///
/// \code
///   // u: a StepUpdate of a request with probes.attention = true
///   auto map = ditstudio::attentionOfQuery(u.probes, u.probes.attention[0], /*row*/ 0, /*head*/ -1,
///   /*query*/ 24); if (map.ok()) {
///       ditstudio::Image heat = ditstudio::overlayMap(u.previewX0[0], *map, u.probes.tokensPerSide,
///                                                     u.probes.tokensPerSide, 0.6);
///   }
/// \endcode
///
/// Maps are row-major float vectors of width x height values (token grids are tokensPerSide square).
///
/// Example:
///     // probes: a StepUpdate's probes (GenerateRequest::probes asked for attention)
///     auto map = ditstudio::attentionOfQuery(probes, probes.attention.front(), 0, query);
///     ditstudio::Image heat = ditstudio::colorizeMap(*map, side, side);

#include "ditstudio/probes.h"
#include "ditstudio/result.h"
#include "ditstudio/types.h"

#include <string>
#include <vector>

namespace ditstudio {

/// Attention of one query token over all tokens: [tokens] for batch row `row`, head `head` (-1 = mean
/// over heads). `query` is a token index; it must be among the recorded query tokens.
/// attention: one entry of StepProbes::attention ([rows, heads, queries, tokens]).
Result<std::vector<float>> attentionOfQuery(const StepProbes &probes, const HostTensor &attention, int row,
                                            int head, int query);

/// Attention rollout over blocks (Abnar & Zuidema 2020, "Quantifying Attention Flow in Transformers"):
/// the product over blocks 0..upToBlock of 0.5 * A_b + 0.5 * I (A_b averaged over heads, rows
/// renormalised), read at `query`: how much each input token flows into the query's representation.
/// Needs full attention (every query token) of every block up to upToBlock.
Result<std::vector<float>> attentionRollout(const StepProbes &probes, int row, int query, int upToBlock);

/// |eps_cond - eps_uncond| over channels (L2) per pixel for image `item`: [H * W] with its width/height.
struct MapSize {
    int width = 0, height = 0;
};
Result<std::vector<float>> guidanceMagnitude(const HostTensor &guidance, int item, MapSize *size);

/// The token of the patch under a point of an image of imageWidth x imageHeight showing the model's
/// grid of tokensPerSide x tokensPerSide tokens.
int tokenAt(int x, int y, int imageWidth, int imageHeight, int tokensPerSide);

/// A perceptually ordered colour map ("inferno": black - purple - orange - yellow) of values scaled
/// from [lo, hi] to [0, 1] (lo == hi: the map's own min and max). Returns RGB width x height.
Image colorizeMap(const std::vector<float> &values, int width, int height, float lo = 0, float hi = 0);
/// The RGB of the colour map at v in [0, 1].
void colormapRgb(float v, std::uint8_t rgb[3]);

/// Blend the colour map of `values` (width x height, upsampled with nearest neighbour so patches
/// stay square) over `base` (converted to RGB) with opacity alpha in [0, 1]. The result has the
/// base's size; an empty base gives the colour map alone at `width x height` scaled up to >= 128 px.
Image overlayMap(const Image &base, const std::vector<float> &values, int width, int height, double alpha,
                 float lo = 0, float hi = 0);

/// Nearest-neighbour resize of an image (crisp pixels) to exactly width x height.
Image resizeNearest(const Image &image, int width, int height);

} // namespace ditstudio
