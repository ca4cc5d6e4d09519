#pragma once
// Image-side steps of editing (no torch): the crop/resize policy to the model's size, masks
// (from a mask image, an alpha channel, outpainting padding) and the feathered composite.

#include "ditstudio/editing.h"
#include "ditstudio/types.h"

namespace ditstudio::editing {

/// Center-crop to a square, resize to size x size (area when shrinking, bicubic when enlarging),
/// convert to `channels` (1: luma, 3: RGB; alpha dropped). Throws DitException on a bad image.
Image fitToModel(const Image &image, int size, int channels);

/// Extend the canvas by `pad` pixels on each side, repeating the edge pixels.
Image padImage(const Image &image, const Padding &pad);

/// The inpainting mask at the input's size, one channel, 255 = regenerate: from `mask` (first
/// channel >= 128), else from the image's alpha (alpha < 128), else all keep; then the padding is
/// added as regenerate. Throws DitException(ShapeMismatch) when mask and image sizes differ.
Image buildMask(const Image &image, const Image &mask, const Padding &pad);

/// Mask to the model's size with the same crop as fitToModel; a pixel is regenerated when any
/// part of it was (area resize, then > 0), so kept pixels are kept entirely.
Image fitMaskToModel(const Image &mask, int size);

/// Blend weight for the composite: 0 on kept pixels, rising to 255 over `feather` pixels inside
/// the masked region (distance to the nearest kept pixel); feather 0 gives the hard mask.
Image featherWeights(const Image &mask, double feather);

/// out = w * generated + (1 - w) * original per pixel (w = weight / 255); same size and channels.
Image composite(const Image &original, const Image &generated, const Image &weight);

} // namespace ditstudio::editing
