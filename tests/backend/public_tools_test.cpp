// The public tool APIs the CLI is built on (issue 13): tensor files, the VAE, the benchmarks. The CLI
// tests cover them end to end; these pin the API's own contract (values in, values or errors out).
#include "test_util.h"

#include "ditstudio/bench.h"
#include "ditstudio/tensor_file.h"
#include "ditstudio/vae.h"

#include <fstream>

namespace ditstudio::test {
namespace {

namespace fs = std::filesystem;

fs::path scratch(const std::string &name)
{
    const auto dir = fs::temp_directory_path() / ("ditstudio_public_tools_" + processTag());
    fs::create_directories(dir);
    return dir / name;
}

TEST(PublicTensorFile, RoundTripKeepsShapesValuesAndMetadata)
{
    const auto path = scratch("sub/dir/t.safetensors").string(); // parent folders are created
    HostTensor a {{2, 3}, {1, 2, 3, 4, 5, 6}};
    HostTensor b {{4}, {-1.5f, 0, 0.25f, 1e-8f}};
    ASSERT_TRUE(writeTensorFile(path, {{"a", a}, {"b", b}}, {{"note", "x"}}).ok());
    const auto file = readTensorFile(path);
    ASSERT_TRUE(file.ok()) << file.error().message;
    EXPECT_EQ(file->metadata.at("note"), "x");
    EXPECT_EQ(file->tensors.at("a").shape, a.shape);
    EXPECT_EQ(file->tensors.at("a").data, a.data);
    EXPECT_EQ(file->tensors.at("b").data, b.data);
}

TEST(PublicTensorFile, ErrorsNameTheFileAndTheProblem)
{
    const auto missing = readTensorFile("/nonexistent/x.safetensors");
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code, ErrorCode::NotFound);
    EXPECT_NE(missing.error().message.find("/nonexistent/x.safetensors"), std::string::npos);

    const auto garbage = scratch("garbage.safetensors");
    std::ofstream(garbage) << "not a safetensors file at all";
    const auto bad = readTensorFile(garbage.string());
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().message.find(garbage.string()), std::string::npos) << bad.error().message;

    const auto out = scratch("shape.safetensors").string();
    const auto wrong = writeTensorFile(out, {{"z", HostTensor {{2, 2}, {1, 2, 3}}}});
    ASSERT_FALSE(wrong.ok());
    EXPECT_EQ(wrong.error().code, ErrorCode::ShapeMismatch);
    EXPECT_NE(wrong.error().message.find("'z'"), std::string::npos) << wrong.error().message;
    EXPECT_FALSE(fs::exists(out)) << "nothing written on a refused tensor";
}

TEST(PublicVae, EncodeDecodeRoundTripAndClearErrors)
{
    VaeOptions options;
    options.path = (dataDir() / "parity" / "vae-tiny" / "vae-ldm.safetensors").string();
    options.device = "cpu";
    auto vae = openVae(options);
    ASSERT_TRUE(vae.ok()) << vae.error().message;
    const VaeInfo &info = (*vae)->info();
    EXPECT_EQ(info.latentChannels, 4);
    EXPECT_EQ(info.downsampleFactor, 8);
    Image image;
    image.width = image.height = 16;
    image.channels = 3;
    image.pixels.assign(16 * 16 * 3, 128);
    const auto latents = (*vae)->encode({image, image}, true, 0);
    ASSERT_TRUE(latents.ok()) << latents.error().message;
    EXPECT_EQ(latents->shape, (std::vector<std::int64_t> {2, 4, 2, 2}));
    const auto images = (*vae)->decode(*latents);
    ASSERT_TRUE(images.ok()) << images.error().message;
    ASSERT_EQ(images->size(), 2u);
    EXPECT_EQ((*images)[0].width, 16);

    Image odd = image;
    odd.width = 12;
    odd.pixels.assign(12 * 16 * 3, 128);
    const auto refused = (*vae)->encode({odd}, true, 0);
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.error().message.find("not a multiple of 8"), std::string::npos)
        << refused.error().message;
    const auto wrongChannels = (*vae)->decode(HostTensor {{1, 3, 2, 2}, std::vector<float>(12, 0.f)});
    ASSERT_FALSE(wrongChannels.ok());
    EXPECT_EQ(wrongChannels.error().code, ErrorCode::ShapeMismatch);

    options.path = "/nonexistent/vae.safetensors";
    const auto missing = openVae(options);
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.error().message.find("/nonexistent/vae.safetensors"), std::string::npos)
        << missing.error().message;
}

TEST(PublicBench, ReportsATimedForwardAndRefusesBadShapes)
{
    BenchRequest request;
    request.arch = "DiT-S/8";
    request.imageSize = 64;
    request.iters = 1;
    request.warmup = 0;
    request.device = "cpu";
    request.measureGemmPeak = true;
    const auto report = benchForward(request);
    ASSERT_TRUE(report.ok()) << report.error().message;
    EXPECT_EQ(report->arch, "DiT-S/8");
    EXPECT_GT(report->msMedian, 0);
    EXPECT_GT(report->achievedGflops, 0);
    EXPECT_EQ(report->gemm.size(), 4u);
    EXPECT_GT(report->gemmPeakGflops, 0);
    EXPECT_GT(report->peakRssMb, 0);
    EXPECT_NEAR(report->gflopsPerForward, 2 * report->gmacsPerImage * request.batch, 1e-9);

    request.imageSize = 60; // not a multiple of 8
    EXPECT_FALSE(benchForward(request).ok());
    request.imageSize = 64;
    request.arch = "DiT-Q/2";
    EXPECT_FALSE(benchForward(request).ok());
    request.arch = "DiT-S/8";
    request.dtype = DType::Float16; // CPU
    const auto fp16 = benchForward(request);
    ASSERT_FALSE(fp16.ok());
    EXPECT_EQ(fp16.error().code, ErrorCode::Unsupported);
}

} // namespace
} // namespace ditstudio::test
