// PNG/JPEG I/O over OpenCV, with PNG text chunks (tEXt/iTXt) for generation parameters.
#include "common/atomic_file.h"
#include "common/errors.h"
#include "ditstudio/engine.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <zlib.h>

#include <cstring>
#include <fstream>

namespace ditstudio {

namespace {

void putU32(std::vector<unsigned char> &out, uint32_t v)
{
    for (int i = 3; i >= 0; --i)
        out.push_back(static_cast<unsigned char>((v >> (8 * i)) & 0xff));
}

uint32_t getU32(const unsigned char *p)
{
    return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

std::vector<unsigned char> makeChunk(const char type[4], const std::string &payload)
{
    std::vector<unsigned char> chunk;
    putU32(chunk, static_cast<uint32_t>(payload.size()));
    std::vector<unsigned char> body(type, type + 4);
    body.insert(body.end(), payload.begin(), payload.end());
    chunk.insert(chunk.end(), body.begin(), body.end());
    putU32(chunk, static_cast<uint32_t>(crc32(0, body.data(), static_cast<uInt>(body.size()))));
    return chunk;
}

bool isLatin1Printable(const std::string &s)
{
    for (unsigned char c : s)
        if (c >= 0x80 || (c < 0x20 && c != '\n' && c != '\t'))
            return false;
    return true;
}

} // namespace

Result<void> writePng(const std::string &path, const Image &image,
                      const std::vector<std::pair<std::string, std::string>> &textChunks, bool overwrite)
{
    return guarded("writing " + path, [&] {
        if (image.empty() || (image.channels != 1 && image.channels != 3 && image.channels != 4))
            fail(ErrorCode::InvalidArgument, "image is empty or has an unsupported channel count");
        cv::Mat mat(image.height, image.width, CV_8UC(image.channels),
                    const_cast<std::uint8_t *>(image.pixels.data()));
        cv::Mat bgr;
        if (image.channels == 3)
            cv::cvtColor(mat, bgr, cv::COLOR_RGB2BGR);
        else if (image.channels == 4)
            cv::cvtColor(mat, bgr, cv::COLOR_RGBA2BGRA);
        else
            bgr = mat;
        std::vector<unsigned char> png;
        if (!cv::imencode(".png", bgr, png))
            fail(ErrorCode::IoError, "PNG encoding failed");
        // Insert text chunks after IHDR (8-byte signature + 25-byte IHDR chunk).
        std::vector<unsigned char> extra;
        for (const auto &[key, value] : textChunks) {
            if (key.empty() || key.size() > 79)
                fail(ErrorCode::InvalidArgument, "PNG text key must be 1..79 characters");
            std::vector<unsigned char> chunk;
            if (isLatin1Printable(value)) {
                chunk = makeChunk("tEXt", key + std::string(1, '\0') + value);
            } else { // iTXt: key\0 compression-flag compression-method lang\0 translated\0 text (UTF-8)
                chunk = makeChunk("iTXt",
                                  key + std::string(1, '\0') + std::string(2, '\0') + std::string(1, '\0')
                                      + std::string(1, '\0') + value);
            }
            extra.insert(extra.end(), chunk.begin(), chunk.end());
        }
        png.insert(png.begin() + 33, extra.begin(), extra.end());
        writeFileAtomically(
            path,
            [&](std::ostream &out) { out.write(reinterpret_cast<const char *>(png.data()), png.size()); },
            overwrite);
    });
}

Result<Image> readImage(const std::string &path, bool keepAlpha)
{
    return guarded("reading " + path, [&]() -> Image {
        std::ifstream in(path, std::ios::binary);
        if (!in)
            fail(ErrorCode::NotFound, "cannot open the file");
        std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)),
                                         std::istreambuf_iterator<char>());
        cv::Mat mat = cv::imdecode(bytes, keepAlpha ? cv::IMREAD_UNCHANGED : cv::IMREAD_COLOR);
        if (mat.empty())
            fail(ErrorCode::FormatError, "not a readable image (PNG, JPEG, BMP, TIFF, WebP)");
        if (mat.depth() != CV_8U)
            mat.convertTo(mat, CV_8U, mat.depth() == CV_16U ? 1.0 / 257.0 : 255.0);
        cv::Mat rgb;
        if (mat.channels() == 4 && keepAlpha)
            cv::cvtColor(mat, rgb, cv::COLOR_BGRA2RGBA);
        else if (mat.channels() == 4)
            cv::cvtColor(mat, rgb, cv::COLOR_BGRA2RGB);
        else if (mat.channels() == 1)
            cv::cvtColor(mat, rgb, cv::COLOR_GRAY2RGB);
        else
            cv::cvtColor(mat, rgb, cv::COLOR_BGR2RGB);
        Image img;
        img.width = rgb.cols;
        img.height = rgb.rows;
        img.channels = rgb.channels();
        img.pixels.resize(static_cast<size_t>(img.width) * img.height * img.channels);
        for (int y = 0; y < img.height; ++y)
            std::memcpy(img.row(y), rgb.ptr(y), static_cast<size_t>(img.width) * img.channels);
        return img;
    });
}

Result<std::vector<std::pair<std::string, std::string>>> readPngText(const std::string &path)
{
    return guarded("reading " + path, [&]() {
        std::ifstream in(path, std::ios::binary);
        if (!in)
            fail(ErrorCode::NotFound, "cannot open the file");
        std::vector<unsigned char> b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
        if (b.size() < 8 || std::memcmp(b.data(), sig, 8) != 0)
            fail(ErrorCode::FormatError, "not a PNG file");
        std::vector<std::pair<std::string, std::string>> out;
        size_t pos = 8;
        while (pos + 12 <= b.size()) {
            const uint32_t len = getU32(&b[pos]);
            if (len > b.size() - pos - 12)
                fail(ErrorCode::FormatError, "truncated PNG chunk");
            const std::string type(reinterpret_cast<const char *>(&b[pos + 4]), 4);
            const std::string data(reinterpret_cast<const char *>(&b[pos + 8]), len);
            if (type == "tEXt") {
                const auto z = data.find('\0');
                if (z != std::string::npos)
                    out.emplace_back(data.substr(0, z), data.substr(z + 1));
            } else if (type == "iTXt") {
                const auto z = data.find('\0');
                if (z != std::string::npos && z + 3 <= data.size() && data[z + 1] == 0) {
                    const auto lang = data.find('\0', z + 3);
                    const auto trans = lang == std::string::npos ? lang : data.find('\0', lang + 1);
                    if (trans != std::string::npos)
                        out.emplace_back(data.substr(0, z), data.substr(trans + 1));
                }
            } else if (type == "IEND") {
                break;
            }
            pos += 12 + len;
        }
        return out;
    });
}

} // namespace ditstudio
