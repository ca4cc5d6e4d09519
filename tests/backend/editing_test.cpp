// Editing: img2img, inpainting/outpainting, DDIM inversion, video-to-video; on the default
// (pixel-space Fashion-MNIST) model and on the tiny latent DiT + tiny VAE fixtures.
#include "ditstudio/editing.h"
#include "ditstudio/engine.h"
#include "ditstudio/video.h"
#include "editing/editor_internal.h"
#include "editing/image_prep.h"
#include "test_util.h"
#include "training/datasets.h"
#include "video/audio_mux.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

namespace ditstudio {
namespace {

namespace fs = std::filesystem;

/// One engine with the default model for the whole suite (loading costs more than most tests).
Engine &defaultEngine()
{
    static Engine engine;
    static bool loaded = [] {
        auto r = engine.loadDefaultModel(LoadOptions {"cpu"});
        EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().toString());
        return r.ok();
    }();
    EXPECT_TRUE(loaded);
    return engine;
}

/// An image the default model makes itself (DDIM, no guidance).
Image generatedImage(int classId, std::uint64_t seed)
{
    GenerateRequest g;
    g.conditioning = Conditioning {{{classId, 1.0}}};
    g.sampler = SamplerKind::Ddim;
    g.steps = 25;
    g.cfgScale = 1.0;
    g.seed = seed;
    g.wantPreviews = false;
    auto r = defaultEngine().generate(g);
    EXPECT_TRUE(r.ok());
    return r->images.at(0);
}

EditRequest baseRequest(EditMode mode, const Image &image, int classId = 0)
{
    EditRequest r;
    r.mode = mode;
    r.image = image;
    r.generate.conditioning = Conditioning {{{classId, 1.0}}};
    r.generate.steps = 10;
    r.generate.cfgScale = 2.0;
    r.generate.seed = 7;
    r.generate.wantPreviews = false;
    return r;
}

int maxDiffWhere(const Image &a, const Image &b, const Image &mask, bool whereMasked)
{
    int worst = 0;
    for (size_t p = 0; p < mask.pixels.size(); ++p) {
        if ((mask.pixels[p] > 0) != whereMasked)
            continue;
        for (int k = 0; k < a.channels; ++k) {
            const size_t i = p * a.channels + k;
            worst = std::max(worst, std::abs(int(a.pixels[i]) - int(b.pixels[i])));
        }
    }
    return worst;
}

Image halfMask(int w, int h) // right half regenerated
{
    Image m {w, h, 1, std::vector<std::uint8_t>(static_cast<size_t>(w) * h, 0)};
    for (int y = 0; y < h; ++y)
        for (int x = w / 2; x < w; ++x)
            m.pixels[static_cast<size_t>(y) * w + x] = 255;
    return m;
}

TEST(EditingDefault, StrengthZeroReturnsTheInputExactly)
{
    const Image input = generatedImage(1, 3);
    for (auto mode : {EditMode::Img2Img, EditMode::Inpaint}) {
        auto req = baseRequest(mode, input);
        req.strength = 0.0;
        if (mode == EditMode::Inpaint)
            req.mask = halfMask(input.width, input.height);
        auto r = editImage(defaultEngine(), req);
        ASSERT_TRUE(r.ok()) << r.error().toString();
        EXPECT_EQ(r->stepsDone, 0);
        EXPECT_EQ(r->image.pixels, input.pixels);
        EXPECT_EQ(r->image.width, 28);
        EXPECT_EQ(r->image.channels, 1);
    }
}

TEST(EditingDefault, Img2ImgRunsTheStrengthShareOfSteps)
{
    const Image input = generatedImage(7, 4); // sneaker
    auto req = baseRequest(EditMode::Img2Img, input, 7);
    req.strength = 0.5;
    int updates = 0;
    GenerateObserver obs;
    obs.onStep = [&](const StepUpdate &u) {
        EXPECT_EQ(u.step, updates);
        EXPECT_EQ(u.totalSteps, 5);
        ++updates;
    };
    auto r = editImage(defaultEngine(), req, obs);
    ASSERT_TRUE(r.ok()) << r.error().toString();
    EXPECT_EQ(r->stepsDone, 5);
    EXPECT_EQ(updates, 5);
    // Half strength keeps the layout: close to the input, but not identical.
    const double p = imagePsnr(r->image, input).value();
    EXPECT_GT(p, 12.0);
    EXPECT_LT(p, 80.0);
    // Every sampler starts from the intermediate step.
    for (auto s : {SamplerKind::Ddim, SamplerKind::DpmPP2M, SamplerKind::EulerAncestral, SamplerKind::Heun}) {
        req.generate.sampler = s;
        auto rs = editImage(defaultEngine(), req);
        ASSERT_TRUE(rs.ok()) << samplerName(s) << ": " << rs.error().toString();
        EXPECT_EQ(rs->stepsDone, 5) << samplerName(s);
        EXPECT_GT(imagePsnr(rs->image, input).value(), 12.0) << samplerName(s);
    }
}

TEST(EditingDefault, InpaintKeepsUnmaskedPixelsWithinOneLevel)
{
    const Image input = generatedImage(0, 5);
    const Image mask = halfMask(28, 28);
    for (int resample : {1, 2}) {
        auto req = baseRequest(EditMode::Inpaint, input, 8);
        req.strength = 1.0;
        req.mask = mask;
        req.generate.sampler = SamplerKind::Ddim;
        req.repaintJump = 2;
        req.repaintResample = resample;
        auto r = editImage(defaultEngine(), req);
        ASSERT_TRUE(r.ok()) << r.error().toString();
        EXPECT_LE(maxDiffWhere(r->image, input, mask, false), 1) << "resample " << resample;
        EXPECT_GT(maxDiffWhere(r->image, input, mask, true), 10) << "the masked half was regenerated";
        if (resample == 2)
            EXPECT_GT(r->stepsDone, 10); // the jumps re-run steps
    }
}

TEST(EditingDefault, InpaintMaskFromAlphaAndOutpaint)
{
    const Image input = generatedImage(2, 6);
    // Alpha: transparent right half = regenerate.
    Image rgba {28, 28, 4, {}};
    for (size_t p = 0; p < input.pixels.size(); ++p) {
        const auto v = input.pixels[p];
        const bool right = (p % 28) >= 14;
        rgba.pixels.insert(rgba.pixels.end(), {v, v, v, static_cast<std::uint8_t>(right ? 0 : 255)});
    }
    auto req = baseRequest(EditMode::Inpaint, rgba);
    req.strength = 1.0;
    auto r = editImage(defaultEngine(), req);
    ASSERT_TRUE(r.ok()) << r.error().toString();
    EXPECT_LE(maxDiffWhere(r->image, input, halfMask(28, 28), false), 1);

    // Outpainting: a 20x20 crop extended by 4 pixels on each side back to 28x28.
    Image crop {20, 20, 1, {}};
    for (int y = 4; y < 24; ++y)
        crop.pixels.insert(crop.pixels.end(), input.row(y) + 4, input.row(y) + 24);
    auto out = baseRequest(EditMode::Inpaint, crop);
    out.strength = 1.0;
    out.outpaint = Padding {4, 4, 4, 4};
    auto ro = editImage(defaultEngine(), out);
    ASSERT_TRUE(ro.ok()) << ro.error().toString();
    ASSERT_EQ(ro->image.width, 28);
    int worst = 0;
    for (int y = 4; y < 24; ++y)
        for (int x = 4; x < 24; ++x)
            worst = std::max(worst, std::abs(int(ro->image.row(y)[x]) - int(input.row(y)[x])));
    EXPECT_LE(worst, 1);
    EXPECT_EQ(ro->mask.pixels[0], 255); // the new border was generated
}

double inversionPsnr(const Image &input, int classId, int steps, int fixedPoint = 2)
{
    auto req = baseRequest(EditMode::Invert, input, classId);
    req.inversionFixedPoint = fixedPoint;
    req.generate.cfgScale = 1.0;
    req.inversionSteps = steps;
    auto r = editImage(defaultEngine(), req);
    EXPECT_TRUE(r.ok()) << r.error().toString();
    EXPECT_EQ(r->stepsDone, 2 * steps);
    return imagePsnr(r->image, input).value();
}

TEST(EditingDefault, InversionReconstructsAGeneratedImage)
{
    const Image input = generatedImage(0, 11);
    const double p = inversionPsnr(input, 0, 50);
    std::cout << "[ inversion ] model-generated image, 50 DDIM steps, 2 fixed-point iterations: PSNR " << p
              << " dB\n";
    EXPECT_GE(p, 30.0);
}

TEST(EditingDefault, InversionReconstructsARealFashionMnistImage)
{
    const fs::path dir = defaultFashionMnistDir();
    if (!fs::exists(dir / "t10k-images-idx3-ubyte.gz"))
        DITSTUDIO_SKIP_OR_FAIL("Fashion-MNIST test set not found in " << dir);
    const auto test = loadFashionMnist(dir, false);
    const auto img = test.images[0]; // [1, 28, 28] in [-1, 1]
    Image input {28, 28, 1, {}};
    const auto u8 = ((img + 1) * 127.5).round().clamp(0, 255).to(torch::kUInt8).contiguous();
    input.pixels.assign(u8.data_ptr<std::uint8_t>(), u8.data_ptr<std::uint8_t>() + 28 * 28);
    const int label = static_cast<int>(test.labels[0].item<int64_t>());
    const double p = inversionPsnr(input, label, 50);
    std::cout << "[ inversion ] Fashion-MNIST test image 0, 50 DDIM steps, 2 fixed-point iterations: PSNR "
              << p << " dB\n";
    EXPECT_GE(p, 30.0);
}

TEST(EditingDefault, ClassSwapKeepsTheSizeAndChangesTheImage)
{
    const Image input = generatedImage(0, 12); // T-shirt
    auto req = baseRequest(EditMode::Invert, input, 1); // -> trouser
    req.sourceConditioning = Conditioning {{{0, 1.0}}};
    req.generate.cfgScale = 3.0;
    req.inversionSteps = 20;
    auto r = editImage(defaultEngine(), req);
    ASSERT_TRUE(r.ok()) << r.error().toString();
    EXPECT_EQ(r->noise.shape, (std::vector<std::int64_t> {1, 1, 28, 28}));
    EXPECT_LT(imagePsnr(r->image, input).value(), 25.0);
}

TEST(EditingDefault, CancelStopsAndReportsIt)
{
    auto req = baseRequest(EditMode::Img2Img, generatedImage(3, 1));
    req.strength = 1.0;
    CancelToken cancel;
    GenerateObserver obs;
    obs.onStep = [&](const StepUpdate &u) {
        if (u.step == 2)
            cancel.cancel();
    };
    auto r = editImage(defaultEngine(), req, obs, cancel);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, JobStatus::Cancelled);
    EXPECT_EQ(r->stepsDone, 3);
}

TEST(EditingDefault, BadInputsGiveClearErrors)
{
    const Image input = generatedImage(4, 2);
    auto req = baseRequest(EditMode::Inpaint, input);
    req.mask = halfMask(20, 28);
    auto r = editImage(defaultEngine(), req);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::ShapeMismatch);
    EXPECT_NE(r.error().message.find("mask is 20x28 but the image is 28x28"), std::string::npos)
        << r.error().message;

    req = baseRequest(EditMode::Img2Img, input);
    req.strength = 1.5;
    r = editImage(defaultEngine(), req);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("strength must be in [0, 1]"), std::string::npos) << r.error().message;

    req = baseRequest(EditMode::Inpaint, input);
    req.mask = halfMask(28, 28);
    req.repaintResample = 3;
    req.generate.sampler = SamplerKind::Euler;
    r = editImage(defaultEngine(), req);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("RePaint resampling needs the ddpm or ddim sampler"), std::string::npos);

    req = baseRequest(EditMode::Img2Img, Image {});
    r = editImage(defaultEngine(), req);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("image is empty"), std::string::npos) << r.error().message;

    Engine none;
    r = editImage(none, baseRequest(EditMode::Img2Img, input));
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("no model loaded"), std::string::npos);
}

TEST(EditingPrep, CropResizePolicyAndComposite)
{
    // 60x40 RGB: the center 40x40 is kept, then area-resized to 20x20 gray.
    Image wide {60, 40, 3, std::vector<std::uint8_t>(60 * 40 * 3, 0)};
    for (int y = 0; y < 40; ++y)
        for (int x = 10; x < 50; ++x)
            for (int k = 0; k < 3; ++k)
                wide.row(y)[x * 3 + k] = 200;
    const Image fit = editing::fitToModel(wide, 20, 1);
    EXPECT_EQ(fit.width, 20);
    EXPECT_EQ(fit.channels, 1);
    for (auto v : fit.pixels)
        EXPECT_EQ(v, 200);
    // Feathering stays inside the mask.
    const Image mask = halfMask(20, 20);
    const Image w = editing::featherWeights(mask, 3.0);
    for (int y = 0; y < 20; ++y) {
        EXPECT_EQ(w.row(y)[9], 0);
        EXPECT_GT(w.row(y)[10], 0);
        EXPECT_LT(w.row(y)[10], 255);
        EXPECT_EQ(w.row(y)[19], 255);
    }
    EXPECT_EQ(editing::repaintScheduleForTest(5, 2, 2),
              (std::vector<int> {5, 4, 3, 2, 3, 4, 3, 2, 1, 0, 1, 2, 1, 0, -1}));
}

// --- the tiny latent DiT (8x8x4) with the tiny VAE (factor 8): 64x64 RGB editing ---------------

class EditingTiny : public test::TorchTest {
protected:
    void SetUp() override
    {
        test::TorchTest::SetUp();
        const auto root = test::dataDir() / "parity";
        LoadOptions lo {"cpu"};
        lo.vaePath = (root / "vae-tiny" / "vae-ldm.safetensors").string();
        lo.cacheDir = (fs::temp_directory_path() / "ditstudio-editing-test-cache").string();
        auto r = m_engine.loadModel((root / "dit-tiny" / "weights.safetensors").string(), lo);
        ASSERT_TRUE(r.ok()) << r.error().toString();
        m_input = Image {64, 64, 3, {}};
        for (int y = 0; y < 64; ++y)
            for (int x = 0; x < 64; ++x)
                m_input.pixels.insert(
                    m_input.pixels.end(),
                    {static_cast<std::uint8_t>(x * 4), static_cast<std::uint8_t>(y * 4), 128});
    }
    Engine m_engine;
    Image m_input;
};

TEST_F(EditingTiny, EveryModeEndToEnd)
{
    auto canvas = editCanvas(m_engine);
    ASSERT_TRUE(canvas.ok());
    EXPECT_EQ(canvas->size, 64);
    EXPECT_EQ(canvas->channels, 3);

    auto req = baseRequest(EditMode::Img2Img, m_input, 3);
    req.generate.steps = 4;
    req.strength = 0.0;
    auto r = editImage(m_engine, req);
    ASSERT_TRUE(r.ok()) << r.error().toString();
    EXPECT_EQ(r->image.pixels, m_input.pixels);

    req.strength = 0.5;
    r = editImage(m_engine, req);
    ASSERT_TRUE(r.ok()) << r.error().toString();
    EXPECT_EQ(r->stepsDone, 2);
    EXPECT_EQ(r->image.width, 64);
    EXPECT_EQ(r->latent.shape, (std::vector<std::int64_t> {1, 4, 8, 8}));

    // Inpaint in latent space: mask downsampled by max pooling, composite in pixels.
    auto inp = baseRequest(EditMode::Inpaint, m_input, 3);
    inp.generate.steps = 4;
    inp.strength = 1.0;
    inp.mask = halfMask(64, 64);
    r = editImage(m_engine, inp);
    ASSERT_TRUE(r.ok()) << r.error().toString();
    EXPECT_LE(maxDiffWhere(r->image, m_input, inp.mask, false), 1);

    auto inv = baseRequest(EditMode::Invert, m_input, 3);
    inv.inversionSteps = 4;
    inv.generate.cfgScale = 1.0;
    r = editImage(m_engine, inv);
    ASSERT_TRUE(r.ok()) << r.error().toString();
    EXPECT_EQ(r->stepsDone, 8);
    EXPECT_EQ(r->noise.shape, (std::vector<std::int64_t> {1, 4, 8, 8}));
}

TEST(EditingTinyNoVae, LatentModelWithoutVaeIsAClearError)
{
    Engine e;
    ASSERT_TRUE(e.loadModel((test::dataDir() / "parity" / "dit-tiny" / "weights.safetensors").string(),
                            LoadOptions {"cpu"})
                    .ok());
    auto r = editImage(
        e, baseRequest(EditMode::Img2Img, Image {64, 64, 3, std::vector<std::uint8_t>(64 * 64 * 3)}));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::Unsupported);
    EXPECT_NE(r.error().message.find("needs its VAE"), std::string::npos);
}

// --- video ----------------------------------------------------------------------------------

class EditingVideo : public ::testing::Test {
protected:
    void SetUp() override
    {
        m_dir = fs::temp_directory_path()
            / ("ditstudio-editing-video-" + std::to_string(std::random_device {}()));
        fs::create_directories(m_dir);
    }
    void TearDown() override
    {
        std::error_code ec;
        fs::remove_all(m_dir, ec);
    }
    fs::path m_dir;
};

TEST_F(EditingVideo, TwoSecondsRoundTripWithAudio)
{
    // A 2 s, 10 fps clip with a sine tone, made by the ffmpeg CLI (the writer writes no audio).
    const fs::path input = m_dir / "in.mp4";
    const std::string cmd
        = "ffmpeg -hide_banner -loglevel error -y -f lavfi -i testsrc=size=56x40:rate=10 "
          "-f lavfi -i sine=frequency=440:sample_rate=22050 -t 2 -c:v libx264 -pix_fmt yuv420p "
          "-c:a aac -shortest \""
        + input.string() + "\" 2>/dev/null";
    if (std::system(cmd.c_str()) != 0 || !fs::exists(input))
        DITSTUDIO_SKIP_OR_FAIL("no ffmpeg CLI with libx264 + aac to make the input video");
    VideoEditRequest vr;
    vr.inputPath = input.string();
    vr.outputPath = (m_dir / "out.mp4").string();
    vr.edit = baseRequest(EditMode::Img2Img, Image {}, 0);
    vr.edit.generate.steps = 4;
    vr.edit.strength = 0.5;
    vr.temporalSmoothing = 0.3;
    vr.outputScale = 2;
    int frames = 0;
    auto r = editVideo(defaultEngine(), vr, [&](const VideoEditProgress &p) {
        EXPECT_EQ(p.frame, frames);
        EXPECT_EQ(p.after.width, 28);
        ++frames;
    });
    ASSERT_TRUE(r.ok()) << r.error().toString();
    EXPECT_EQ(r->frames, 20);
    EXPECT_EQ(frames, 20);
    EXPECT_NEAR(r->fps, 10.0, 1e-6);
    EXPECT_TRUE(r->audioCopied);

    VideoReader reader;
    auto info = reader.open(vr.outputPath);
    ASSERT_TRUE(info.ok()) << info.error().toString();
    EXPECT_EQ(info->width, 56);
    EXPECT_NEAR(info->fps, 10.0, 1e-3);
    auto all = reader.readAll();
    ASSERT_TRUE(all.ok());
    EXPECT_EQ(all->size(), 20u);
    EXPECT_TRUE(editing::hasAudioStream(vr.outputPath));
    // Only the output is left behind (no temporary video-only file).
    int files = 0;
    for ([[maybe_unused]] const auto &e : fs::directory_iterator(m_dir))
        ++files;
    EXPECT_EQ(files, 2);

    // Refuses to overwrite; an unreadable input is named.
    auto again = editVideo(defaultEngine(), vr);
    ASSERT_FALSE(again.ok());
    EXPECT_NE(again.error().message.find("file exists"), std::string::npos);
}

TEST_F(EditingVideo, UnreadableVideoIsAClearError)
{
    const fs::path bad = m_dir / "not-a-video.mp4";
    std::ofstream(bad) << "this is not a video";
    VideoEditRequest vr;
    vr.inputPath = bad.string();
    vr.outputPath = (m_dir / "out.mp4").string();
    vr.edit = baseRequest(EditMode::Img2Img, Image {}, 0);
    auto r = editVideo(defaultEngine(), vr);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("not-a-video.mp4"), std::string::npos) << r.error().message;
    EXPECT_FALSE(fs::exists(vr.outputPath));

    vr.inputPath = (m_dir / "missing.mp4").string();
    r = editVideo(defaultEngine(), vr);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("missing.mp4"), std::string::npos) << r.error().message;
}

} // namespace
} // namespace ditstudio
