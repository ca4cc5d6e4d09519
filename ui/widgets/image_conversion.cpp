#include "widgets/image_conversion.h"

#include <cstring>

QImage toQImage(const ditstudio::Image &image)
{
    QImage::Format format = QImage::Format_Invalid;
    switch (image.channels) {
    case 1:
        format = QImage::Format_Grayscale8;
        break;
    case 3:
        format = QImage::Format_RGB888;
        break;
    case 4:
        format = QImage::Format_RGBA8888;
        break;
    default:
        return {};
    }
    const size_t rowBytes = static_cast<size_t>(image.width) * image.channels;
    if (image.width <= 0 || image.height <= 0 || image.pixels.size() != rowBytes * image.height)
        return {};
    QImage out(image.width, image.height, format);
    // QImage rows are 32-bit aligned, the backend's are packed: copy row by row.
    for (int y = 0; y < image.height; ++y)
        std::memcpy(out.scanLine(y), image.row(y), rowBytes);
    return out;
}

ditstudio::Image toDitImage(const QImage &image)
{
    if (image.isNull())
        return {};
    QImage src;
    int channels = 3;
    if (image.format() == QImage::Format_Grayscale8) {
        src = image;
        channels = 1;
    } else if (image.hasAlphaChannel()) {
        src = image.convertToFormat(QImage::Format_RGBA8888);
        channels = 4;
    } else {
        src = image.convertToFormat(QImage::Format_RGB888);
    }
    ditstudio::Image out;
    out.width = src.width();
    out.height = src.height();
    out.channels = channels;
    const size_t rowBytes = static_cast<size_t>(out.width) * channels;
    out.pixels.resize(rowBytes * out.height);
    for (int y = 0; y < out.height; ++y)
        std::memcpy(out.row(y), src.constScanLine(y), rowBytes);
    return out;
}
