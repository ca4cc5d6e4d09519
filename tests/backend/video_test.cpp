// Video I/O over FFmpeg: write with VideoWriter, decode with VideoReader (and ffprobe where present),
// and the engine's denoising film and latent walk on the embedded default model.
#include "cli/cli.h"
#include "ditstudio/video.h"
#include "test_util.h"
#include "video/video_reader.h"
#include "video/video_writer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>

namespace ditstudio {
namespace {

namespace fs = std::filesystem;

/// A fresh empty folder per test, removed afterwards.
class VideoTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        const auto *info = ::testing::UnitTest::GetInstance()->current_test_info();
        m_dir = fs::temp_directory_path()
            / ("ditstudio-video-" + std::string(info->name()) + "-"
               + std::to_string(std::random_device {}()));
        fs::create_directories(m_dir);
    }
    void TearDown() override
    {
        std::error_code ec;
        fs::permissions(m_dir, fs::perms::owner_all, fs::perm_options::add, ec);
        fs::remove_all(m_dir, ec);
    }
    std::string path(const std::string &name) const { return (m_dir / name).string(); }
    /// Names of every entry in the folder (to prove that nothing, not even a temporary, is left).
    std::vector<std::string> entries() const
    {
        std::vector<std::string> names;
        for (const auto &e : fs::directory_iterator(m_dir))
            names.push_back(e.path().filename().string());
        return names;
    }
    fs::path m_dir;
};

/// A smooth colour gradient with a moving soft-edged disc: content a real film resembles.
Image syntheticFrame(int w, int h, int i, int channels = 3)
{
    Image im {w, h, channels, std::vector<std::uint8_t>(static_cast<size_t>(w) * h * channels)};
    const double cx = w * (0.2 + 0.6 * ((i % 12) / 11.0)), cy = h * 0.5, radius = std::min(w, h) * 0.25;
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            const double d = std::hypot(x - cx, y - cy);
            const double disc = std::clamp((radius - d) / 3.0, 0.0, 1.0);
            const double base[3] = {255.0 * x / w, 255.0 * y / h, 128.0 + 100.0 * std::sin(0.3 * i)};
            const double ink[3] = {250, 220, 40};
            auto *p = im.row(y) + x * channels;
            if (channels == 1) {
                p[0] = static_cast<std::uint8_t>(
                    std::lround((1 - disc) * (255.0 * (x + y) / (w + h)) + disc * 240));
                continue;
            }
            for (int c = 0; c < 3; ++c)
                p[c] = static_cast<std::uint8_t>(std::lround((1 - disc) * base[c] + disc * ink[c]));
        }
    return im;
}

Image crop(const Image &im, int w, int h)
{
    Image out {w, h, im.channels, {}};
    for (int y = 0; y < h; ++y)
        out.pixels.insert(out.pixels.end(), im.row(y), im.row(y) + static_cast<size_t>(w) * im.channels);
    return out;
}

VideoInfo writeClip(const std::string &file, VideoWriterOptions o, const std::vector<Image> &frames)
{
    VideoWriter w;
    auto r = w.open(file, o);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().toString());
    for (const auto &f : frames) {
        auto wr = w.write(f);
        EXPECT_TRUE(wr.ok()) << (wr.ok() ? "" : wr.error().toString());
    }
    auto info = w.finish();
    EXPECT_TRUE(info.ok()) << (info.ok() ? "" : info.error().toString());
    return info.ok() ? info.value() : VideoInfo {};
}

std::vector<VideoFrame> readClip(const std::string &file, VideoInfo *info = nullptr)
{
    VideoReader reader;
    auto opened = reader.open(file);
    EXPECT_TRUE(opened.ok()) << (opened.ok() ? "" : opened.error().toString());
    if (!opened.ok())
        return {};
    if (info)
        *info = opened.value();
    auto frames = reader.readAll();
    EXPECT_TRUE(frames.ok()) << (frames.ok() ? "" : frames.error().toString());
    return frames.ok() ? frames.value() : std::vector<VideoFrame> {};
}

/// ffprobe's JSON for the file's first video stream and format, or null when ffprobe is missing.
nlohmann::json ffprobe(const std::string &file)
{
    if (std::system("ffprobe -version >/dev/null 2>&1") != 0)
        return nullptr;
    const std::string cmd = "ffprobe -v error -count_frames -select_streams v:0 -show_entries "
                            "stream=codec_name,width,height,r_frame_rate,nb_read_frames:format_tags=comment "
                            "-of json '"
        + file + "'";
    std::unique_ptr<FILE, int (*)(FILE *)> pipe(popen(cmd.c_str(), "r"), pclose);
    if (!pipe)
        return nullptr;
    std::string out;
    char buf[4096];
    while (size_t n = fread(buf, 1, sizeof buf, pipe.get()))
        out.append(buf, n);
    return nlohmann::json::parse(out, nullptr, false);
}

struct CodecCase {
    VideoCodec codec;
    const char *file;
    const char *codecName;
    double minPsnr;
    int fps; // GIF delays are centiseconds: its fps must divide 100
};

class VideoCodecTest : public VideoTest, public ::testing::WithParamInterface<CodecCase> { };

TEST_P(VideoCodecTest, RoundTripKeepsFramesSizeFpsAndComment)
{
    const auto c = GetParam();
    std::vector<Image> frames;
    for (int i = 0; i < 12; ++i)
        frames.push_back(syntheticFrame(96, 64, i));
    VideoWriterOptions o;
    o.codec = c.codec;
    o.fps = c.fps;
    o.comment = R"({"prompt":"sneaker","steps":50,"seed":7})";
    const auto written = writeClip(path(c.file), o, frames);
    EXPECT_EQ(written.frameCount, 12);
    EXPECT_EQ(entries(), std::vector<std::string> {c.file}) << "no temporary file may remain";

    VideoInfo info;
    const auto decoded = readClip(path(c.file), &info);
    EXPECT_EQ(info.codec, c.codecName);
    EXPECT_EQ(info.width, 96);
    EXPECT_EQ(info.height, 64);
    EXPECT_NEAR(info.fps, c.fps, 1e-6);
    EXPECT_NEAR(info.durationSeconds, 12.0 / c.fps, 0.1);
    EXPECT_EQ(info.comment, o.comment);
    ASSERT_EQ(decoded.size(), 12u);
    double worst = INFINITY;
    for (size_t i = 0; i < decoded.size(); ++i) {
        EXPECT_EQ(decoded[i].index, static_cast<std::int64_t>(i));
        EXPECT_NEAR(decoded[i].timestamp, double(i) / c.fps, 1e-3);
        worst = std::min(worst, framePsnr(decoded[i].image, frames[i]));
    }
    std::printf("[ %s ] worst frame PSNR %.2f dB, %lld bytes\n", c.codecName, worst,
                static_cast<long long>(written.fileBytes));
    EXPECT_GE(worst, c.minPsnr);

    const auto probe = ffprobe(path(c.file));
    if (probe.is_null()) {
        std::printf("ffprobe not found: skipping the ffprobe cross-check\n");
        return;
    }
    const auto &s = probe["streams"][0];
    EXPECT_EQ(s["codec_name"], c.codecName);
    EXPECT_EQ(s["width"], 96);
    EXPECT_EQ(s["height"], 64);
    EXPECT_EQ(s["r_frame_rate"], std::to_string(c.fps) + "/1");
    EXPECT_EQ(s["nb_read_frames"], "12");
    const auto &tags = probe["format"]["tags"]; // Matroska spells it COMMENT
    EXPECT_EQ(tags.contains("comment") ? tags["comment"] : tags["COMMENT"], o.comment);
}

INSTANTIATE_TEST_SUITE_P(Codecs, VideoCodecTest,
                         ::testing::Values(CodecCase {VideoCodec::H264, "clip.mp4", "h264", 35.0, 12},
                                           CodecCase {VideoCodec::Vp9, "clip.webm", "vp9", 35.0, 12},
                                           CodecCase {VideoCodec::Mpeg4, "clip.mp4", "mpeg4", 35.0, 12},
                                           CodecCase {VideoCodec::Gif, "clip.gif", "gif", 35.0, 10}),
                         [](const auto &info) { return std::string(videoCodecName(info.param.codec)); });

TEST_F(VideoTest, GrayFramesAreLosslessInGif)
{
    std::vector<Image> frames;
    for (int i = 0; i < 4; ++i)
        frames.push_back(syntheticFrame(40, 30, i, 1));
    VideoWriterOptions o;
    o.codec = VideoCodec::Gif;
    writeClip(path("gray.gif"), o, frames);
    const auto decoded = readClip(path("gray.gif"));
    ASSERT_EQ(decoded.size(), 4u);
    for (size_t i = 0; i < 4; ++i)
        EXPECT_TRUE(std::isinf(framePsnr(decoded[i].image, frames[i]))) << "frame " << i;
}

TEST_F(VideoTest, OddSizesArePaddedForH264AndKeptForVp9AndGif)
{
    std::vector<Image> frames;
    for (int i = 0; i < 5; ++i)
        frames.push_back(syntheticFrame(33, 17, i));
    for (auto [codec, file, w, h] :
         {std::tuple {VideoCodec::H264, "odd.mp4", 34, 18}, std::tuple {VideoCodec::Vp9, "odd.webm", 33, 17},
          std::tuple {VideoCodec::Gif, "odd.gif", 33, 17}}) {
        VideoWriterOptions o;
        o.codec = codec;
        const auto written = writeClip(path(file), o, frames);
        EXPECT_EQ(written.width, w) << file;
        EXPECT_EQ(written.height, h) << file;
        VideoInfo info;
        const auto decoded = readClip(path(file), &info);
        EXPECT_EQ(info.width, w) << file;
        ASSERT_EQ(decoded.size(), 5u) << file;
        // The padding repeats the edge, so the content region is the source.
        EXPECT_GE(framePsnr(crop(decoded[2].image, 33, 17), frames[2]), 30.0) << file;
    }
}

TEST_F(VideoTest, ResizesToTheRequestedSize)
{
    VideoWriterOptions o;
    o.width = 64;
    o.height = 48;
    o.filter = ScaleFilter::Lanczos;
    const auto info = writeClip(path("sized.mp4"), o, {syntheticFrame(32, 24, 0), syntheticFrame(32, 24, 1)});
    EXPECT_EQ(info.width, 64);
    EXPECT_EQ(info.height, 48);
    const auto decoded = readClip(path("sized.mp4"));
    ASSERT_EQ(decoded.size(), 2u);
    EXPECT_EQ(decoded[0].image.width, 64);
}

TEST_F(VideoTest, SeeksByFrameIndex)
{
    std::vector<Image> frames;
    for (int i = 0; i < 30; ++i)
        frames.push_back(syntheticFrame(64, 48, i));
    for (const char *file : {"seek.mp4", "seek.gif"}) {
        VideoWriterOptions o;
        o.codec = videoCodecForPath(file).value();
        o.fps = 10;
        writeClip(path(file), o, frames);
        VideoReader reader;
        ASSERT_TRUE(reader.open(path(file)).ok());
        for (std::int64_t target : {17, 3, 29, 0}) {
            ASSERT_TRUE(reader.seekFrame(target).ok()) << file << " frame " << target;
            auto f = reader.read();
            ASSERT_TRUE(f.ok() && f.value().has_value()) << file;
            EXPECT_EQ(f.value()->index, target) << file;
            EXPECT_NEAR(f.value()->timestamp, target / 10.0, 1e-3) << file;
            EXPECT_GE(framePsnr(f.value()->image, frames[target]), 30.0) << file << " frame " << target;
        }
        auto past = reader.seekFrame(30);
        ASSERT_FALSE(past.ok()) << file;
        EXPECT_EQ(past.error().code, ErrorCode::NotFound);
        EXPECT_NE(past.error().message.find("past the end"), std::string::npos) << past.error().message;
    }
}

TEST_F(VideoTest, RotationRoundTripsThroughTheDisplayMatrix)
{
    VideoWriterOptions o;
    o.rotationDegrees = 90;
    writeClip(path("rot.mp4"), o, {syntheticFrame(64, 32, 0), syntheticFrame(64, 32, 1)});
    VideoReader plain;
    ASSERT_TRUE(plain.open(path("rot.mp4")).ok());
    EXPECT_EQ(plain.info().rotationDegrees, 90);
    VideoReader rotated;
    VideoReaderOptions ro;
    ro.applyRotation = true;
    ASSERT_TRUE(rotated.open(path("rot.mp4"), ro).ok());
    auto f = rotated.read();
    ASSERT_TRUE(f.ok() && f.value());
    EXPECT_EQ(f.value()->image.width, 32);
    EXPECT_EQ(f.value()->image.height, 64);
    const Image src = video::rotateClockwise(syntheticFrame(64, 32, 0), 90);
    EXPECT_GE(framePsnr(f.value()->image, src), 33.0);
}

TEST_F(VideoTest, FallsBackToMpeg4WhenTheEncoderIsMissing)
{
    VideoWriterOptions o;
    o.encoder = "libx264-not-in-this-build";
    const auto info
        = writeClip(path("fallback.mp4"), o, {syntheticFrame(32, 32, 0), syntheticFrame(32, 32, 1)});
    EXPECT_EQ(info.encoder, "mpeg4");
    VideoInfo read;
    EXPECT_EQ(readClip(path("fallback.mp4"), &read).size(), 2u);
    EXPECT_EQ(read.codec, "mpeg4");

    o.allowFallback = false;
    VideoWriter w;
    auto r = w.open(path("strict.mp4"), o);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::Unsupported);
    EXPECT_NE(r.error().message.find("libx264-not-in-this-build"), std::string::npos) << r.error().message;
    EXPECT_FALSE(fs::exists(path("strict.mp4")));
}

TEST_F(VideoTest, BadTargetsGiveClearErrorsAndLeaveNoFile)
{
    // Unknown codec names and extensions.
    auto codec = parseVideoCodec("h265");
    ASSERT_FALSE(codec.ok());
    EXPECT_NE(codec.error().message.find("h264, vp9, gif or mpeg4"), std::string::npos);
    auto ext = videoCodecForPath("film.avi");
    ASSERT_FALSE(ext.ok());
    EXPECT_NE(ext.error().message.find(".avi"), std::string::npos);
    {
        VideoWriter w;
        VideoWriterOptions o;
        o.codec = VideoCodec::Gif;
        auto r = w.open(path("gif-in.mp4"), o);
        ASSERT_FALSE(r.ok());
        EXPECT_NE(r.error().message.find("cannot hold"), std::string::npos) << r.error().message;
    }
    // A missing directory.
    {
        VideoWriter w;
        auto r = w.open(path("no/such/dir/film.mp4"), {});
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error().code, ErrorCode::IoError);
        EXPECT_NE(r.error().message.find("does not exist"), std::string::npos) << r.error().message;
    }
    // A read-only directory (skipped where permissions are not enforced, e.g. as root).
    {
        const fs::path ro = m_dir / "readonly";
        fs::create_directories(ro);
        fs::permissions(ro, fs::perms::owner_read | fs::perms::owner_exec);
        const bool enforced = !std::ofstream(ro / "probe").is_open();
        if (enforced) {
            VideoWriter w;
            auto r = w.open((ro / "film.mp4").string(), {});
            ASSERT_FALSE(r.ok());
            EXPECT_EQ(r.error().code, ErrorCode::IoError);
            EXPECT_NE(r.error().message.find("cannot create"), std::string::npos) << r.error().message;
            EXPECT_TRUE(fs::is_empty(ro));
        }
        fs::permissions(ro, fs::perms::owner_all);
        fs::remove_all(ro);
    }
    // Bad options.
    {
        VideoWriter w;
        VideoWriterOptions o;
        o.crf = 70;
        auto r = w.open(path("crf.mp4"), o);
        ASSERT_FALSE(r.ok());
        EXPECT_NE(r.error().message.find("crf"), std::string::npos);
        o.crf = -1;
        o.fps = 0;
        EXPECT_FALSE(w.open(path("fps.mp4"), o).ok());
    }
    // Never overwrite silently.
    {
        std::ofstream(path("taken.mp4")) << "precious";
        VideoWriter w;
        auto r = w.open(path("taken.mp4"), {});
        ASSERT_FALSE(r.ok());
        EXPECT_NE(r.error().message.find("exists"), std::string::npos);
        std::ifstream in(path("taken.mp4"));
        std::string content;
        in >> content;
        EXPECT_EQ(content, "precious");
        VideoWriterOptions o;
        o.overwrite = true;
        writeClip(path("taken.mp4"), o, {syntheticFrame(16, 16, 0)});
        EXPECT_EQ(readClip(path("taken.mp4")).size(), 1u);
        fs::remove(path("taken.mp4"));
    }
    // Finishing without frames, and frames that are not images.
    {
        VideoWriter w;
        ASSERT_TRUE(w.open(path("empty.mp4"), {}).ok());
        Image broken {10, 10, 3, std::vector<std::uint8_t>(5)};
        EXPECT_FALSE(w.write(broken).ok());
        EXPECT_FALSE(w.finish().ok());
    }
    EXPECT_TRUE(entries().empty()) << "left behind: " << (entries().empty() ? "" : entries()[0]);
}

TEST_F(VideoTest, AbortMidExportLeavesNothing)
{
    {
        VideoWriter w;
        ASSERT_TRUE(w.open(path("cancel.mp4"), {}).ok());
        for (int i = 0; i < 5; ++i)
            ASSERT_TRUE(w.write(syntheticFrame(64, 64, i)).ok());
        EXPECT_EQ(entries().size(), 1u); // the temporary file exists while writing
        EXPECT_FALSE(fs::exists(path("cancel.mp4")));
    } // destroyed without finish()
    EXPECT_TRUE(entries().empty());
}

TEST_F(VideoTest, MedianCutPaletteIsExactForFewColoursAndCloseForMany)
{
    std::vector<std::uint8_t> few;
    for (int i = 0; i < 200; ++i)
        for (int k = 0; k < 3; ++k)
            few.push_back(static_cast<std::uint8_t>((i * (37 + 11 * k)) % 256));
    auto pal = video::medianCutPalette(few.data(), 200, 256);
    std::vector<std::uint8_t> idx(200);
    video::mapToPalette(few.data(), 200, pal, idx.data());
    for (int i = 0; i < 200; ++i) {
        const auto c = pal[idx[i]];
        EXPECT_EQ(c, (std::uint32_t(few[3 * i]) << 16 | std::uint32_t(few[3 * i + 1]) << 8 | few[3 * i + 2]));
    }
    const Image big = syntheticFrame(128, 96, 3);
    const size_t n = 128 * 96;
    pal = video::medianCutPalette(big.pixels.data(), n, 256);
    EXPECT_LE(pal.size(), 256u);
    EXPECT_GE(pal.size(), 200u);
    idx.resize(n);
    video::mapToPalette(big.pixels.data(), n, pal, idx.data());
    Image back {128, 96, 3, std::vector<std::uint8_t>(n * 3)};
    for (size_t i = 0; i < n; ++i)
        for (int c = 0; c < 3; ++c)
            back.pixels[3 * i + c] = static_cast<std::uint8_t>(pal[idx[i]] >> (16 - 8 * c));
    EXPECT_GE(framePsnr(back, big), 30.0);
}

TEST(VideoMath, SlerpKeepsTheNormOfGaussianNoise)
{
    std::mt19937 rng(1);
    std::normal_distribution<float> nd;
    HostTensor a {{1, 1, 32, 32}, std::vector<float>(1024)}, b = a;
    for (auto &v : a.data)
        v = nd(rng);
    for (auto &v : b.data)
        v = nd(rng);
    auto norm = [](const HostTensor &t) {
        double s = 0;
        for (float v : t.data)
            s += double(v) * v;
        return std::sqrt(s);
    };
    EXPECT_EQ(slerp(a, b, 0.0).data, a.data);
    const auto end = slerp(a, b, 1.0);
    for (size_t i = 0; i < a.data.size(); ++i)
        ASSERT_NEAR(end.data[i], b.data[i], 1e-4);
    // Linear interpolation of independent noise shrinks it by ~sqrt(2) at the midpoint; slerp does not.
    EXPECT_NEAR(norm(slerp(a, b, 0.5)) / norm(a), 1.0, 0.05);
}

// ----- The engine's videos on the embedded default model (28x28 gray, 10 classes) -----

class VideoEngineTest : public VideoTest {
protected:
    void SetUp() override
    {
        VideoTest::SetUp();
        if (defaultModelPath().empty())
            DITSTUDIO_SKIP_OR_FAIL("the embedded default model was not found");
        auto r = m_engine.loadDefaultModel();
        ASSERT_TRUE(r.ok()) << r.error().toString();
    }
    Engine m_engine;
};

TEST_F(VideoEngineTest, DenoisingFilmOfTheDefaultModel)
{
    GenerateRequest req;
    req.conditioning = Conditioning {{{7, 1.0}}}; // sneaker
    req.steps = 10;
    req.seed = 3;
    FilmOptions fo;
    fo.frames = FilmFrames::Both;
    fo.holdSeconds = 0.5;
    fo.video.fps = 10;
    int lastProgress = 0;
    auto film = renderDenoisingFilm(m_engine, req, fo, path("film.mp4"),
                                    [&](int done, int total, const std::string &) {
                                        EXPECT_EQ(total, 15);
                                        lastProgress = done;
                                    });
    ASSERT_TRUE(film.ok()) << film.error().toString();
    EXPECT_EQ(film->status, JobStatus::Completed);
    EXPECT_EQ(film->framesWritten, 15); // 10 steps + 0.5 s hold at 10 fps
    EXPECT_EQ(lastProgress, 15);
    VideoInfo info;
    const auto frames = readClip(path("film.mp4"), &info);
    ASSERT_EQ(frames.size(), 15u);
    // Two 280x280 panels (28 px x 10) with a gap, and a caption strip.
    EXPECT_GE(info.width, 560);
    EXPECT_GT(info.height, 280);
    const auto params = nlohmann::json::parse(info.comment, nullptr, false);
    ASSERT_FALSE(params.is_discarded()) << info.comment;
    EXPECT_EQ(params["kind"], "denoising-film");
    EXPECT_EQ(params["steps"], 10);
    EXPECT_EQ(params["seed"], 3);
    // The last frame's right panel is the generated image, upscaled 10x with nearest.
    const Image &final = film->generation.images.at(0);
    Image expected {280, 280, 1, {}};
    for (int y = 0; y < 280; ++y)
        for (int x = 0; x < 280; ++x)
            expected.pixels.push_back(final.pixels[(y / 10) * 28 + x / 10]);
    Image right {280, 280, 3, {}};
    const Image &last = frames.back().image;
    const int x0 = 280 + std::max(2, 280 / 64); // after the left panel and the gap
    for (int y = 0; y < 280; ++y)
        right.pixels.insert(right.pixels.end(), last.row(y) + x0 * 3, last.row(y) + (x0 + 280) * 3);
    EXPECT_GE(framePsnr(right, expected), 35.0);
    // The first frame is mostly noise, the last is not: consecutive frames differ.
    EXPECT_LT(framePsnr(frames.front().image, last), 25.0);
}

TEST_F(VideoEngineTest, CancelledFilmLeavesNoFile)
{
    GenerateRequest req;
    req.conditioning = Conditioning {{{0, 1.0}}};
    req.steps = 10;
    CancelToken cancel;
    FilmOptions fo;
    fo.video.codec = VideoCodec::Vp9;
    auto film = renderDenoisingFilm(
        m_engine, req, fo, path("cancel.webm"),
        [&](int done, int, const std::string &) {
            if (done == 3)
                cancel.cancel();
        },
        cancel);
    ASSERT_TRUE(film.ok()) << film.error().toString();
    EXPECT_EQ(film->status, JobStatus::Cancelled);
    EXPECT_TRUE(entries().empty());
}

TEST_F(VideoEngineTest, LatentWalkBetweenSeedsAndClasses)
{
    GenerateRequest req;
    req.steps = 8;
    req.sampler = SamplerKind::Ddim;
    WalkOptions wo;
    wo.frames = 4;
    wo.fromSeed = 1;
    wo.toSeed = 2;
    wo.fromConditioning = Conditioning {{{0, 1.0}}};
    wo.toConditioning = Conditioning {{{7, 1.0}}};
    wo.scale = 4;
    wo.caption = false;
    wo.video.codec = VideoCodec::Gif;
    wo.video.fps = 8;
    auto walk = renderLatentWalk(m_engine, req, wo, path("walk.gif"));
    ASSERT_TRUE(walk.ok()) << walk.error().toString();
    EXPECT_EQ(walk->framesWritten, 4);
    VideoInfo info;
    const auto frames = readClip(path("walk.gif"), &info);
    ASSERT_EQ(frames.size(), 4u);
    EXPECT_EQ(info.width, 112);
    EXPECT_NE(info.comment.find("latent-walk"), std::string::npos);
    // The endpoints are exactly the plain generations (DDIM, eta 0, same starting noise as the seed).
    for (auto [frame, seed, cls] : {std::tuple {0, 1, 0}, std::tuple {3, 2, 7}}) {
        GenerateRequest plain = req;
        plain.seed = static_cast<std::uint64_t>(seed);
        plain.conditioning = Conditioning {{{cls, 1.0}}};
        auto g = m_engine.generate(plain);
        ASSERT_TRUE(g.ok());
        const Image &im = g->images[0];
        Image up {112, 112, 1, {}};
        for (int y = 0; y < 112; ++y)
            for (int x = 0; x < 112; ++x)
                up.pixels.push_back(im.pixels[(y / 4) * 28 + x / 4]);
        EXPECT_TRUE(std::isinf(framePsnr(frames[frame].image, up)))
            << "frame " << frame; // gray GIF: lossless
    }
    // In between, the frames move away from the start.
    EXPECT_LT(framePsnr(frames[0].image, frames[3].image), framePsnr(frames[0].image, frames[1].image));
}

TEST_F(VideoEngineTest, CliFilmWalkAndInfo)
{
    std::string lastStdout;
    auto run = [&](const std::vector<std::string> &args, std::string *out = nullptr) {
        ::testing::internal::CaptureStdout();
        ::testing::internal::CaptureStderr();
        std::vector<std::string> withThreads
            = args; // one thread: the CLI default (all cores) oversubscribes CI
        withThreads.insert(withThreads.end(), {"--threads", "1"});
        const int code = cli::run(withThreads);
        const std::string o = ::testing::internal::GetCapturedStdout();
        const std::string e = ::testing::internal::GetCapturedStderr();
        if (out)
            *out = o + e;
        lastStdout = o;
        return code;
    };
    std::string out;
    ASSERT_EQ(run({"video", "film", "--class", "7", "--steps", "3", "--hold", "0.2", "--frames", "x0",
                   "--video", path("f.gif"), "--quiet", "--json"},
                  &out),
              0)
        << out;
    const auto j = nlohmann::json::parse(lastStdout, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << out;
    EXPECT_EQ(j["codec"], "gif");
    EXPECT_EQ(j["frames"], 5); // 3 steps + 0.2 s at 10 fps
    EXPECT_EQ(j["width"], 280);
    ASSERT_EQ(run({"video", "info", path("f.gif"), "--json"}, &out), 0) << out;
    EXPECT_NE(out.find("denoising-film"), std::string::npos);
    // Existing output, unknown codec, bad --frames: clear errors, nothing new written.
    EXPECT_EQ(
        run({"video", "film", "--class", "7", "--steps", "2", "--video", path("f.gif"), "--quiet"}, &out), 1);
    EXPECT_NE(out.find("file exists"), std::string::npos) << out;
    EXPECT_EQ(run({"video", "film", "--class", "7", "--video", path("f.mkv"), "--codec", "h265"}, &out), 2);
    EXPECT_NE(out.find("unknown video codec 'h265'"), std::string::npos) << out;
    EXPECT_EQ(run({"video", "film", "--class", "7", "--video", path("f.mp4"), "--frames", "noise"}, &out), 2);
    ASSERT_EQ(run({"video", "walk", "--from-class", "1", "--to-class", "8", "--frames", "3", "--steps", "2",
                   "--scale", "2", "--video", path("w.mp4"), "--quiet"},
                  &out),
              0)
        << out;
    VideoInfo info;
    EXPECT_EQ(readClip(path("w.mp4"), &info).size(), 3u);
    EXPECT_NE(info.comment.find("latent-walk"), std::string::npos);
    ASSERT_EQ(
        run({"video", "frames", path("w.mp4"), "--out", path("frames"), "--start", "1", "--quiet"}, &out), 0)
        << out;
    EXPECT_TRUE(fs::exists(m_dir / "frames" / "frame_000001.png"));
    EXPECT_TRUE(fs::exists(m_dir / "frames" / "frame_000002.png"));
    EXPECT_FALSE(fs::exists(m_dir / "frames" / "frame_000000.png"));
}

} // namespace
} // namespace ditstudio
