#pragma once
/// \file image_conversion.h
/// Conversions between the backend's ditstudio::Image (8-bit, interleaved) and QImage.
/// Both directions copy; neither touches QPixmap, so they are safe on any thread.

#include "ditstudio/types.h"

#include <QImage>

/// Gray -> Format_Grayscale8, RGB -> Format_RGB888, RGBA -> Format_RGBA8888. Empty on bad input.
QImage toQImage(const ditstudio::Image &image);

/// Grayscale8 stays 1 channel, images with alpha become RGBA, everything else RGB.
ditstudio::Image toDitImage(const QImage &image);
