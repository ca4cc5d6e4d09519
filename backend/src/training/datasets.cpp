#include "training/datasets.h"

#include "common/errors.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <zlib.h>

#include <algorithm>
#include <cstring>

namespace ditstudio {

namespace fs = std::filesystem;

fs::path defaultFashionMnistDir()
{
    return "/usr/share/datasets/fashion-mnist";
}

const std::vector<std::string> &fashionMnistClassNames()
{
    static const std::vector<std::string> names = {"T-shirt/top, t-shirt, tshirt, top, tee",
                                                   "Trouser, trousers, pants",
                                                   "Pullover, sweater, jumper",
                                                   "Dress",
                                                   "Coat, jacket",
                                                   "Sandal, sandals",
                                                   "Shirt",
                                                   "Sneaker, sneakers, trainer, shoe",
                                                   "Bag, handbag, purse",
                                                   "Ankle boot, boot, boots"};
    return names;
}

namespace {

std::vector<unsigned char> readMaybeGz(const fs::path &plain)
{
    fs::path p = plain;
    std::error_code ec;
    if (!fs::exists(p, ec))
        p = plain.string() + ".gz";
    if (!fs::exists(p, ec))
        fail(ErrorCode::NotFound,
             plain.string() + "(.gz): not found (install Debian's dataset-fashion-mnist)");
    gzFile f = gzopen(p.string().c_str(), "rb");
    if (!f)
        fail(ErrorCode::IoError, p.string() + ": cannot open");
    std::vector<unsigned char> out;
    unsigned char buf[1 << 16];
    int n = 0;
    while ((n = gzread(f, buf, sizeof buf)) > 0)
        out.insert(out.end(), buf, buf + n);
    const bool bad = n < 0;
    gzclose(f);
    if (bad)
        fail(ErrorCode::FormatError, p.string() + ": corrupt gzip data");
    return out;
}

uint32_t be32(const unsigned char *p)
{
    return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}

} // namespace

ImageDataset loadFashionMnist(const fs::path &dir, bool train)
{
    const std::string prefix = train ? "train" : "t10k";
    const fs::path imgPath = dir / (prefix + "-images-idx3-ubyte");
    const fs::path lblPath = dir / (prefix + "-labels-idx1-ubyte");
    const auto img = readMaybeGz(imgPath);
    const auto lbl = readMaybeGz(lblPath);
    if (img.size() < 16 || be32(img.data()) != 0x803)
        fail(ErrorCode::FormatError, imgPath.string() + ": not an idx3 image file (magic 0x803)");
    if (lbl.size() < 8 || be32(lbl.data()) != 0x801)
        fail(ErrorCode::FormatError, lblPath.string() + ": not an idx1 label file (magic 0x801)");
    const uint32_t n = be32(img.data() + 4), h = be32(img.data() + 8), w = be32(img.data() + 12);
    if (img.size() != 16 + static_cast<size_t>(n) * h * w)
        fail(ErrorCode::FormatError, imgPath.string() + ": size does not match its header (truncated?)");
    if (be32(lbl.data() + 4) != n || lbl.size() != 8 + n)
        fail(ErrorCode::FormatError, lblPath.string() + ": label count does not match the images");
    ImageDataset ds;
    auto u8 = torch::from_blob(const_cast<unsigned char *>(img.data() + 16), {n, 1, h, w}, torch::kUInt8);
    ds.images = u8.to(torch::kFloat32).div(127.5).sub(1.0).contiguous();
    ds.labels
        = torch::from_blob(const_cast<unsigned char *>(lbl.data() + 8), {n}, torch::kUInt8).to(torch::kLong);
    if (ds.labels.max().item<int64_t>() > 9)
        fail(ErrorCode::FormatError, lblPath.string() + ": labels must be 0..9");
    ds.classNames = fashionMnistClassNames();
    return ds;
}

ImageDataset loadImageFolder(const fs::path &dir, int size, int channels)
{
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        fail(ErrorCode::NotFound, dir.string() + ": not a folder");
    std::vector<fs::path> classes;
    for (const auto &e : fs::directory_iterator(dir))
        if (e.is_directory())
            classes.push_back(e.path());
    std::sort(classes.begin(), classes.end());
    if (classes.empty())
        fail(ErrorCode::FormatError, dir.string() + ": expected one subfolder per class");
    std::vector<torch::Tensor> imgs;
    std::vector<int64_t> labels;
    ImageDataset ds;
    for (size_t c = 0; c < classes.size(); ++c) {
        ds.classNames.push_back(classes[c].filename().string());
        std::vector<fs::path> files;
        for (const auto &e : fs::directory_iterator(classes[c]))
            if (e.is_regular_file())
                files.push_back(e.path());
        std::sort(files.begin(), files.end());
        for (const auto &f : files) {
            cv::Mat m = cv::imread(f.string(), channels == 1 ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR);
            if (m.empty())
                continue; // not an image: skipped
            if (channels == 3)
                cv::cvtColor(m, m, cv::COLOR_BGR2RGB);
            // Center crop to a square, then resize (area filter when shrinking).
            const int s = std::min(m.cols, m.rows);
            m = m(cv::Rect((m.cols - s) / 2, (m.rows - s) / 2, s, s)).clone();
            cv::resize(m, m, cv::Size(size, size), 0, 0, s > size ? cv::INTER_AREA : cv::INTER_CUBIC);
            auto t = torch::from_blob(m.data, {size, size, channels}, torch::kUInt8)
                         .permute({2, 0, 1})
                         .to(torch::kFloat32);
            imgs.push_back(t.div(127.5).sub(1.0));
            labels.push_back(static_cast<int64_t>(c));
        }
    }
    if (imgs.empty())
        fail(ErrorCode::FormatError, dir.string() + ": no readable images in the class folders");
    ds.images = torch::stack(imgs);
    ds.labels = torch::tensor(labels, torch::kLong);
    return ds;
}

} // namespace ditstudio
