#pragma once
// Internals of the FFmpeg video reader (the public class is ditstudio::VideoReader in video.h).

#include "ditstudio/types.h"

namespace ditstudio::video {

/// Rotate an image clockwise by 0, 90, 180 or 270 degrees (other multiples of 90 are reduced).
Image rotateClockwise(const Image &in, int degrees);

} // namespace ditstudio::video
