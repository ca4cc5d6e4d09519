// Model downloads (models.h) against a local HTTP server with Range support and fault injection
// (tests/support/range_server.py, 127.0.0.1 only), serving the fixtures in tests/data.
#include "common/sha256.h"
#include "ditstudio/models.h"
#include "local_http_server.h"
#include "test_util.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <fstream>
#include <thread>

namespace ditstudio {
namespace {

namespace fs = std::filesystem;

const char *kDiT = "parity/dit-tiny/weights.safetensors"; // 735,888 bytes, a DiT-custom(d2,w64,h4)/2
const char *kVae = "parity/vae-tiny/vae-diffusers.safetensors";

class ModelDownloadTest : public ::testing::Test {
protected:
    static void SetUpTestSuite()
    {
        s_server = new LocalHttpServer(DITSTUDIO_PYTHON3, DITSTUDIO_RANGE_SERVER, test::dataDir().string());
    }
    static void TearDownTestSuite()
    {
        delete s_server;
        s_server = nullptr;
    }
    void SetUp() override
    {
#if defined(_WIN32)
        DITSTUDIO_SKIP_OR_FAIL("the local test server needs POSIX");
#endif
        ASSERT_TRUE(s_server->ok()) << s_server->error();
        m_dir = fs::temp_directory_path()
            / ("ditstudio_download_" + test::processTag() + "_"
               + ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(m_dir);
        fs::create_directories(m_dir);
    }
    void TearDown() override
    {
        std::error_code ec;
        fs::remove_all(m_dir, ec);
    }

    static std::int64_t sizeOf(const fs::path &p)
    {
        return static_cast<std::int64_t>(fs::file_size(p));
    }
    static std::string shaOf(const fs::path &p)
    {
        return sha256OfFile(p).value();
    }
    DownloadRequest request(const std::string &fixture, const std::string &query = {}) const
    {
        DownloadRequest r;
        r.url = s_server->url(fixture) + query;
        r.destination = m_dir / fs::path(fixture).filename();
        r.retryDelaySeconds = 0.05;
        return r;
    }
    /// The Range headers the server saw for one fixture and query, in order (null -> "").
    static std::vector<std::string> rangesFor(const std::string &fixture, const std::string &query)
    {
        DownloadRequest r;
        r.url = s_server->logUrl();
        r.destination = fs::temp_directory_path() / ("ditstudio_log_" + test::processTag() + ".json");
        r.overwrite = true;
        auto got = downloadFile(r, {}, CancelToken());
        EXPECT_TRUE(got.ok()) << (got.ok() ? "" : got.error().toString());
        std::ifstream in(r.destination);
        const auto log = nlohmann::json::parse(in);
        std::vector<std::string> out;
        for (const auto &e : log)
            if (e["path"] == "/files/" + fixture && e["query"] == query)
                out.push_back(e["range"].is_null() ? std::string() : e["range"].get<std::string>());
        fs::remove(r.destination);
        return out;
    }

    static LocalHttpServer *s_server;
    fs::path m_dir;
};
LocalHttpServer *ModelDownloadTest::s_server = nullptr;

TEST(Sha256Test, KnownVectors)
{
    // FIPS 180-2 appendix B.1 and B.3.
    Sha256 abc;
    abc.update("abc", 3);
    EXPECT_EQ(abc.finishHex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    Sha256 million;
    const std::string chunk(1000, 'a');
    for (int i = 0; i < 1000; ++i)
        million.update(chunk.data(), chunk.size());
    EXPECT_EQ(million.finishHex(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    Sha256 empty;
    EXPECT_EQ(empty.finishHex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(ModelCatalogTest, OfficialModelsAreListed)
{
    const auto &catalog = modelCatalog();
    ASSERT_EQ(catalog.size(), 4u);
    auto dit = findCatalogModel("dit-xl-2-256");
    ASSERT_TRUE(dit.ok());
    EXPECT_EQ(dit->url, "https://dl.fbaipublicfiles.com/DiT/models/DiT-XL-2-256x256.pt");
    EXPECT_EQ(dit->license, "CC-BY-NC-4.0");
    EXPECT_TRUE(dit->requiresAcceptance);
    EXPECT_EQ(findCatalogModel("dit-xl-2-512")->url,
              "https://dl.fbaipublicfiles.com/DiT/models/DiT-XL-2-512x512.pt");
    auto vae = findCatalogModel("sd-vae-ft-ema");
    ASSERT_TRUE(vae.ok());
    EXPECT_EQ(
        vae->url,
        "https://huggingface.co/stabilityai/sd-vae-ft-ema/resolve/main/diffusion_pytorch_model.safetensors");
    EXPECT_EQ(vae->license, "MIT");
    EXPECT_FALSE(vae->requiresAcceptance);
    EXPECT_TRUE(findCatalogModel("sd-vae-ft-mse").ok());
    auto missing = findCatalogModel("dit-xxl");
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code, ErrorCode::NotFound);
    EXPECT_NE(missing.error().message.find("sd-vae-ft-ema"), std::string::npos) << "lists the known names";
}

#if !defined(_WIN32)
TEST(ModelCatalogTest, ModelsDirFollowsDataDir)
{
    const char *old = std::getenv("DITSTUDIO_DATA_DIR");
    const std::string saved = old ? old : "";
    setenv("DITSTUDIO_DATA_DIR", "/tmp/ditstudio-data-test", 1);
    EXPECT_EQ(defaultModelsDir(), fs::path("/tmp/ditstudio-data-test/models"));
    if (old)
        setenv("DITSTUDIO_DATA_DIR", saved.c_str(), 1);
    else
        unsetenv("DITSTUDIO_DATA_DIR");
}
#endif

TEST_F(ModelDownloadTest, FullDownloadWithProgressAndChecks)
{
    const fs::path source = test::dataDir() / kDiT;
    auto r = request(kDiT);
    r.expectedSize = sizeOf(source);
    r.expectedSha256 = shaOf(source);
    r.check = [](const fs::path &file) { return identifyModelFile(file.string(), ModelKind::DiT); };
    std::vector<DownloadProgress> reports;
    auto got = downloadFile(
        r, [&](const DownloadProgress &p) { reports.push_back(p); }, CancelToken());
    ASSERT_TRUE(got.ok()) << got.error().toString();
    EXPECT_EQ(got->status, DownloadStatus::Completed);
    EXPECT_EQ(got->bytes, r.expectedSize);
    EXPECT_TRUE(got->sha256Verified);
    EXPECT_EQ(got->sha256, r.expectedSha256);
    EXPECT_EQ(got->resumedFrom, 0);
    EXPECT_NE(got->contentDescription.find("DiT-"), std::string::npos) << got->contentDescription;
    EXPECT_EQ(shaOf(r.destination), r.expectedSha256);
    EXPECT_FALSE(fs::exists(r.destination.string() + ".part"));
    ASSERT_FALSE(reports.empty());
    EXPECT_EQ(reports.front().phase, DownloadProgress::Phase::Connecting);
    EXPECT_EQ(reports.back().phase, DownloadProgress::Phase::Verifying);
    EXPECT_EQ(reports.back().bytesDone, r.expectedSize);

    // A second call finds it present and leaves it alone.
    auto again = downloadFile(r, {}, CancelToken());
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->status, DownloadStatus::AlreadyPresent);
}

TEST_F(ModelDownloadTest, ResumesAfterTheConnectionBreaksOff)
{
    const fs::path source = test::dataDir() / kDiT;
    const std::int64_t size = sizeOf(source);
    // The server sends 300,000 bytes, then drops the connection; one attempt only, so the call fails.
    auto r = request(kDiT, "?drop_after=300000");
    r.expectedSize = size;
    r.expectedSha256 = shaOf(source);
    r.maxAttempts = 1;
    auto first = downloadFile(r, {}, CancelToken());
    ASSERT_FALSE(first.ok());
    EXPECT_EQ(first.error().code, ErrorCode::IoError);
    EXPECT_NE(first.error().message.find("resumes"), std::string::npos) << first.error().message;
    // The partial file never looks complete: only the .part exists, with what arrived.
    EXPECT_FALSE(fs::exists(r.destination));
    const fs::path part = r.destination.string() + ".part";
    ASSERT_TRUE(fs::exists(part));
    EXPECT_EQ(sizeOf(part), 300000);

    // The next call asks for the rest with a Range request and completes the same bytes.
    auto second = downloadFile(r, {}, CancelToken());
    ASSERT_TRUE(second.ok()) << second.error().toString();
    EXPECT_EQ(second->status, DownloadStatus::Completed);
    EXPECT_EQ(second->resumedFrom, 300000);
    EXPECT_TRUE(second->sha256Verified);
    EXPECT_EQ(sizeOf(r.destination), size);
    EXPECT_FALSE(fs::exists(part));
    const auto ranges = rangesFor(kDiT, "drop_after=300000");
    ASSERT_EQ(ranges.size(), 2u);
    EXPECT_EQ(ranges[0], "");
    EXPECT_EQ(ranges[1], "bytes=300000-");
}

TEST_F(ModelDownloadTest, RetriesWithinOneCallAfterABreak)
{
    const fs::path source = test::dataDir() / kDiT;
    auto r = request(kDiT, "?drop_after=123456");
    r.expectedSha256 = shaOf(source); // size unknown: the Content-Length tells it
    std::vector<int> attempts;
    auto got = downloadFile(
        r, [&](const DownloadProgress &p) { attempts.push_back(p.attempt); }, CancelToken());
    ASSERT_TRUE(got.ok()) << got.error().toString();
    EXPECT_EQ(got->attempts, 2);
    EXPECT_EQ(got->resumedFrom, 0) << "nothing was there before the call";
    EXPECT_TRUE(got->sha256Verified);
    EXPECT_EQ(attempts.back(), 2);
}

TEST_F(ModelDownloadTest, ServerIgnoringRangeRestartsTheFile)
{
    const fs::path source = test::dataDir() / kDiT;
    auto r = request(kDiT, "?ignore_range=1");
    r.expectedSha256 = shaOf(source);
    // A stale .part whose bytes are wrong: a 200 answer means start over, not append.
    {
        std::ofstream(r.destination.string() + ".part", std::ios::binary) << std::string(5000, 'x');
    }
    auto got = downloadFile(r, {}, CancelToken());
    ASSERT_TRUE(got.ok()) << got.error().toString();
    EXPECT_EQ(got->resumedFrom, 0);
    EXPECT_EQ(sizeOf(r.destination), sizeOf(source));
    EXPECT_TRUE(got->sha256Verified);
}

TEST_F(ModelDownloadTest, WrongSizeIsRefusedAndRemoved)
{
    auto r = request(kDiT);
    r.expectedSize = sizeOf(test::dataDir() / kDiT) + 1000; // the catalogue says more than arrives
    auto got = downloadFile(r, {}, CancelToken());
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.error().code, ErrorCode::FormatError);
    EXPECT_NE(got.error().message.find("expected"), std::string::npos) << got.error().message;
    EXPECT_FALSE(fs::exists(r.destination));
    EXPECT_FALSE(fs::exists(r.destination.string() + ".part"));
}

TEST_F(ModelDownloadTest, TruncatedFileFailsTheChecksAndIsRemoved)
{
    // The server serves only the first 100,000 bytes, honestly (Content-Length 100,000): only the
    // content check can tell, and the file must not stay.
    auto r = request(kDiT, "?truncate=100000");
    r.check = [](const fs::path &file) { return identifyModelFile(file.string(), ModelKind::DiT); };
    auto got = downloadFile(r, {}, CancelToken());
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.error().code, ErrorCode::FormatError);
    EXPECT_NE(got.error().message.find("removed"), std::string::npos) << got.error().message;
    EXPECT_FALSE(fs::exists(r.destination));
    EXPECT_FALSE(fs::exists(r.destination.string() + ".part"));
}

TEST_F(ModelDownloadTest, NotFoundIsReported)
{
    auto r = request("parity/no-such-model.safetensors");
    auto got = downloadFile(r, {}, CancelToken());
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.error().code, ErrorCode::NotFound);
    EXPECT_NE(got.error().message.find("404"), std::string::npos) << got.error().message;
    EXPECT_FALSE(fs::exists(r.destination));
    EXPECT_FALSE(fs::exists(r.destination.string() + ".part"));
}

TEST_F(ModelDownloadTest, ShaMismatchIsRefusedAndRemoved)
{
    auto r = request(kDiT);
    r.expectedSha256 = std::string(64, '0');
    auto got = downloadFile(r, {}, CancelToken());
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.error().code, ErrorCode::FormatError);
    EXPECT_NE(got.error().message.find("SHA-256"), std::string::npos) << got.error().message;
    EXPECT_FALSE(fs::exists(r.destination));
    EXPECT_FALSE(fs::exists(r.destination.string() + ".part"));
}

TEST_F(ModelDownloadTest, WrongArchitectureIsRefused)
{
    // A VAE where the catalogue promises a DiT.
    auto r = request(kVae);
    r.check = [](const fs::path &file) { return identifyModelFile(file.string(), ModelKind::DiT); };
    auto got = downloadFile(r, {}, CancelToken());
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.error().code, ErrorCode::FormatError);
    EXPECT_FALSE(fs::exists(r.destination));
    EXPECT_FALSE(fs::exists(r.destination.string() + ".part"));
}

TEST_F(ModelDownloadTest, CancelKeepsThePartForResume)
{
    auto r = request(kDiT, "?rate=200000"); // ~3.7 s for the whole file
    CancelToken cancel;
    std::int64_t seen = 0;
    auto got = downloadFile(
        r,
        [&](const DownloadProgress &p) {
            seen = p.bytesDone;
            if (p.bytesDone > 50000)
                cancel.cancel();
        },
        cancel);
    ASSERT_TRUE(got.ok()) << got.error().toString();
    EXPECT_EQ(got->status, DownloadStatus::Cancelled);
    EXPECT_FALSE(fs::exists(r.destination));
    const fs::path part = r.destination.string() + ".part";
    ASSERT_TRUE(fs::exists(part));
    EXPECT_GT(sizeOf(part), 50000);
    EXPECT_LT(sizeOf(part), sizeOf(test::dataDir() / kDiT));
    // Resuming finishes it.
    auto resumed = downloadFile(request(kDiT), {}, CancelToken());
    ASSERT_TRUE(resumed.ok()) << resumed.error().toString();
    EXPECT_EQ(resumed->status, DownloadStatus::Completed);
    EXPECT_GT(resumed->resumedFrom, 50000);
    EXPECT_EQ(resumed->sha256, shaOf(test::dataDir() / kDiT));
}

TEST_F(ModelDownloadTest, CatalogDownloadRecordsSizeAndSha)
{
    // The official VAE entry, fetched from the local server (--url-override), lands under its
    // catalogue name with the computed SHA-256 recorded beside it.
    auto entry = findCatalogModel("sd-vae-ft-ema");
    ASSERT_TRUE(entry.ok());
    ModelDownloadOptions options;
    options.directory = m_dir / "models";
    options.urlOverride = s_server->url(kVae);
    options.identify = [](const fs::path &file) { return identifyModelFile(file.string(), ModelKind::Vae); };
    auto got = downloadCatalogModel(*entry, options, {}, CancelToken());
    ASSERT_TRUE(got.ok()) << got.error().toString();
    EXPECT_EQ(got->path, m_dir / "models" / "sd-vae-ft-ema.safetensors");
    EXPECT_NE(got->contentDescription.find("latent channels"), std::string::npos) << got->contentDescription;
    const auto records = recordedDownloads(m_dir / "models");
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].name, "sd-vae-ft-ema");
    EXPECT_EQ(records[0].bytes, sizeOf(test::dataDir() / kVae));
    EXPECT_EQ(records[0].sha256, shaOf(test::dataDir() / kVae));
}

} // namespace
} // namespace ditstudio
