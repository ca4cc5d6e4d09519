// Faults survived, nothing lost: a model that produces NaN stops with the step named, a request that
// cannot fit is refused up front with the estimate, and a full disk (RLIMIT_FSIZE) while writing a PNG,
// a latent file or a film gives a clear error, no partial file, and the previous file intact.
#include "cli_runner.h"
#include "test_util.h"

#include "common/errors.h"
#include "core/tensor_image.h"
#include "ditstudio/engine.h"
#include "io/safetensors.h"
#include "model/model_loader.h"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <iterator>

#if !defined(_WIN32)
#include <sys/wait.h>
#endif

namespace ditstudio::test {
namespace {

namespace fs = std::filesystem;

fs::path tinyWeights()
{
    return dataDir() / "parity" / "dit-tiny" / "weights.safetensors";
}
fs::path tinyVae()
{
    return dataDir() / "parity" / "vae-tiny" / "vae-ldm.safetensors";
}

class FaultTest : public TorchTest {
protected:
    void SetUp() override
    {
        TorchTest::SetUp();
        m_dir = fs::temp_directory_path()
            / ("ditstudio_fault_" + processTag() + "_"
               + ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::create_directories(m_dir);
    }
    void TearDown() override { fs::remove_all(m_dir); }

    static std::string readAll(const fs::path &p)
    {
        std::ifstream in(p, std::ios::binary);
        return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    }
    std::vector<std::string> filesIn(const fs::path &dir) const
    {
        std::vector<std::string> out;
        for (const auto &e : fs::directory_iterator(dir))
            out.push_back(e.path().filename().string());
        std::sort(out.begin(), out.end());
        return out;
    }
    fs::path m_dir;
};

TEST_F(FaultTest, NaNFromTheModelStopsTheRunNamingTheStep)
{
    // The tiny fixture with one NaN in the last block's MLP: every output is NaN from the first step.
    auto sd = safetensors::load(tinyWeights());
    std::map<std::string, torch::Tensor> tensors;
    for (const auto &[k, v] : sd.tensors)
        tensors[k] = v.clone();
    tensors.at("blocks.1.mlp.fc2.bias")[0] = std::nanf("");
    const auto path = m_dir / "nan.safetensors";
    safetensors::save(path, tensors);
    Engine engine;
    LoadOptions lo;
    lo.device = "cpu";
    ASSERT_TRUE(engine.loadModel(path.string(), lo).ok());
    GenerateRequest req;
    req.conditioning = Conditioning {{{2, 1.0}}};
    req.steps = 6;
    int observed = 0;
    GenerateObserver obs;
    obs.onStep = [&](const StepUpdate &) { ++observed; };
    auto r = engine.generate(req, obs);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::NumericError);
    EXPECT_NE(r.error().message.find("NaN or Inf at step 1 of 6"), std::string::npos) << r.error().message;
    EXPECT_EQ(observed, 0) << "no preview of a NaN step reaches the observer";
    // The CLI writes nothing.
    const auto out = m_dir / "nan.png";
    auto run = runCli({"generate", "--model", path.string(), "--class", "2", "--steps", "4", "--device",
                       "cpu", "--out", out.string(), "--quiet"});
    EXPECT_EQ(run.code, 1);
    EXPECT_NE(run.err.find("NaN or Inf at step 1"), std::string::npos) << run.err;
    EXPECT_FALSE(fs::exists(out));
}

TEST_F(FaultTest, RequestsThatCannotFitAreRefusedWithTheEstimate)
{
    // DiT-XL/2 at 256 px, batch 4096 with guidance: far beyond any machine's memory.
    auto xl = ditConfigByName("DiT-XL/2", 32);
    ASSERT_TRUE(xl.ok());
    const auto bytes = xl->peakActivationBytes(2 * 4096, 4);
    EXPECT_GT(bytes, std::int64_t(100) << 30);
    // Attention scores alone: rows x heads x T x T floats, twice.
    EXPECT_GE(bytes, std::int64_t(2) * 8192 * 16 * 256 * 256 * 4);

    Engine engine;
    LoadOptions lo;
    lo.device = "cpu";
    ASSERT_TRUE(engine.loadModel(tinyWeights().string(), lo).ok());
    GenerateRequest req;
    req.conditioning = Conditioning {{{2, 1.0}}};
    req.steps = 2;
    req.batch = 4096;
    auto big = engine.generate(req);
    ASSERT_FALSE(big.ok());
    EXPECT_NE(big.error().message.find("about"), std::string::npos) << big.error().message;
    EXPECT_NE(big.error().message.find("4096"), std::string::npos) << big.error().message;
    // Under a memory cap (DITSTUDIO_MEMORY_LIMIT_BYTES) a small batch is refused before it starts.
    ::setenv("DITSTUDIO_MEMORY_LIMIT_BYTES", "100000", 1);
    req.batch = 8;
    auto capped = engine.generate(req);
    ::unsetenv("DITSTUDIO_MEMORY_LIMIT_BYTES");
    ASSERT_FALSE(capped.ok());
    EXPECT_EQ(capped.error().code, ErrorCode::OutOfMemory);
    EXPECT_NE(capped.error().message.find("needs about"), std::string::npos) << capped.error().message;
    EXPECT_NE(capped.error().message.find("lower the batch"), std::string::npos) << capped.error().message;
    req.batch = 1;
    EXPECT_TRUE(engine.generate(req).ok());
}

TEST_F(FaultTest, MalformedDiffusersConfigValuesAreClearErrors)
{
    const fs::path src = dataDir() / "parity" / "dit-tiny" / "diffusers";
    for (const std::string &value : {std::string("\"abc\""), std::string("[1, 2]"), std::string("1.5")}) {
        const fs::path dir = m_dir / "diffusers";
        fs::remove_all(dir);
        fs::copy(src, dir, fs::copy_options::recursive);
        std::ifstream in(dir / "transformer" / "config.json");
        nlohmann::json cfg = nlohmann::json::parse(in);
        in.close();
        cfg["class_dropout_prob"] = nlohmann::json::parse(value);
        std::ofstream(dir / "transformer" / "config.json") << cfg.dump();
        try {
            describeCheckpoint(dir);
            ADD_FAILURE() << "class_dropout_prob " << value << " was accepted";
        } catch (const DitException &e) {
            EXPECT_NE(std::string(e.what()).find("class_dropout_prob"), std::string::npos) << e.what();
        }
    }
}

#if !defined(_WIN32)
// Runs the CLI with the file size limit of `kib` KiB (SIGXFSZ ignored, so writes fail with EFBIG as on a
// full disk). Returns the exit status; stderr goes to errFile.
int runCliWithFileSizeLimit(int kib, const std::string &args, const fs::path &errFile)
{
    const std::string cmd = "bash -c \"trap '' XFSZ; ulimit -f " + std::to_string(kib) + "; exec '"
        + std::string(DITSTUDIO_CLI_PATH) + "' " + args + "\" 2> '" + errFile.string() + "'";
    const int status = std::system(cmd.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_F(FaultTest, FullDiskWhileWritingAPngKeepsThePreviousFile)
{
    const auto out = m_dir / "image.png";
    const std::string common = "generate --model '" + tinyWeights().string() + "' --vae '"
        + tinyVae().string() + "' --class 1 --steps 2 --device cpu --quiet --overwrite --out '" + out.string()
        + "'";
    // A good image first (64x64 RGB, well over 4 KiB as PNG of noise-like content).
    ASSERT_EQ(runCliWithFileSizeLimit(1 << 20, common + " --seed 1", m_dir / "err0.txt"), 0)
        << readAll(m_dir / "err0.txt");
    const std::string before = readAll(out);
    ASSERT_GT(before.size(), 4096u);
    // The same file again under a 4 KiB limit: a clear error, no partial file, the old image intact.
    const int code = runCliWithFileSizeLimit(4, common + " --seed 2", m_dir / "err.txt");
    const std::string err = readAll(m_dir / "err.txt");
    EXPECT_EQ(code, 1) << err;
    EXPECT_NE(err.find(out.string()), std::string::npos) << err;
    EXPECT_EQ(readAll(out), before) << "the previous image was damaged";
    EXPECT_EQ(filesIn(m_dir), (std::vector<std::string> {"err.txt", "err0.txt", "image.png"}))
        << "a partial file was left";
}

TEST_F(FaultTest, FullDiskWhileWritingALatentOrAFilmLeavesNoPartialFile)
{
    const auto latent = m_dir / "latent.safetensors";
    const auto film = m_dir / "film.mp4";
    const std::string model
        = "--model '" + tinyWeights().string() + "' --class 1 --steps 3 --device cpu --quiet";
    // A latent file bigger than the limit: the header and data do not fit in 1 KiB.
    const int code
        = runCliWithFileSizeLimit(1,
                                  "generate " + model + " --batch 8 --out '" + (m_dir / "png").string()
                                      + "/' --save-latent '" + latent.string() + "'",
                                  m_dir / "err.txt");
    std::string err = readAll(m_dir / "err.txt");
    EXPECT_NE(code, 0) << err;
    EXPECT_FALSE(fs::exists(latent));
    for (const auto &e : fs::directory_iterator(m_dir))
        EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
    // A film under a 2 KiB limit.
    const int filmCode = runCliWithFileSizeLimit(
        2, "video film " + model + " --vae '" + tinyVae().string() + "' --video '" + film.string() + "'",
        m_dir / "err2.txt");
    err = readAll(m_dir / "err2.txt");
    EXPECT_NE(filmCode, 0) << err;
    EXPECT_NE(err.find("film.mp4"), std::string::npos) << err;
    EXPECT_FALSE(fs::exists(film));
    for (const auto &e : fs::directory_iterator(m_dir))
        EXPECT_EQ(e.path().filename().string().find("film.mp4."), std::string::npos)
            << "partial " << e.path();
}
#endif

} // namespace
} // namespace ditstudio::test
