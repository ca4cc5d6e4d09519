#pragma once
// Internals of the FFmpeg video writer (the public class is ditstudio::VideoWriter in video.h):
// the GIF palette (median cut) and the GIF comment extension, exposed for tests.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ditstudio::video {

/// A palette of at most maxColors colours (0xRRGGBB) for `pixels` interleaved RGB pixels, by median
/// cut (Heckbert 1982, "Color image quantization for frame buffer display"): boxes of the colour
/// histogram are split, the one with the largest squared error first, at the weighted median of their
/// widest channel; each box contributes its weighted mean. Images with at most maxColors distinct
/// colours (e.g. every gray frame) get exactly their colours, so they are stored losslessly.
std::vector<std::uint32_t> medianCutPalette(const std::uint8_t *rgb, std::size_t pixels, int maxColors = 256);

/// Index of the nearest palette colour (squared RGB distance) for each pixel.
void mapToPalette(const std::uint8_t *rgb, std::size_t pixels, const std::vector<std::uint32_t> &palette,
                  std::uint8_t *indices);

/// Insert a GIF89a comment extension (0x21 0xFE, 255-byte sub-blocks) after the logical screen
/// descriptor and global colour table: FFmpeg's GIF muxer does not write "comment" metadata but its
/// demuxer reads this block back as "comment". Throws DitException(FormatError) on a non-GIF buffer.
void insertGifComment(std::vector<std::uint8_t> &gif, const std::string &comment);

} // namespace ditstudio::video
