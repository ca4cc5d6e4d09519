// ditstudio-cli contract: inspect on every container, generate outputs and JSON, bench, usage errors.
#include "cli_runner.h"
#include "test_util.h"

#include "ditstudio/defaults.h"

#include "cli/cli.h"
#include "io/safetensors.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <iterator>
#include <sstream>

namespace ditstudio::test {
namespace {

namespace fs = std::filesystem;

class CliTest : public TorchTest {
protected:
    void SetUp() override
    {
        TorchTest::SetUp();
        m_tmp = fs::temp_directory_path() / ("ditstudio_cli_" + processTag());
        fs::create_directories(m_tmp);
    }
    void TearDown() override { fs::remove_all(m_tmp); }
    fs::path m_tmp;
    const fs::path m_fixture = dataDir() / "parity" / "dit-tiny";
};

TEST_F(CliTest, InspectEveryContainer)
{
    for (const auto &p :
         {m_fixture / "weights.safetensors", m_fixture / "weights.pt", m_fixture / "weights-legacy.pt",
          m_fixture / "train-checkpoint.pt", m_fixture / "diffusers"}) {
        const auto r = runCli({"inspect", p.string(), "--json"});
        ASSERT_EQ(r.code, 0) << p << ": " << r.err;
        const auto j = nlohmann::json::parse(r.out);
        EXPECT_EQ(j["family"], "DiT") << p;
        EXPECT_EQ(j["input_size"], 8) << p;
        EXPECT_EQ(j["patch_size"], 2) << p;
        EXPECT_EQ(j["in_channels"], 4) << p;
        EXPECT_EQ(j["hidden_size"], 64) << p;
        EXPECT_EQ(j["depth"], 2) << p;
        EXPECT_EQ(j["num_heads"], 4) << p;
        EXPECT_EQ(j["num_classes"], 10) << p;
        EXPECT_EQ(j["learn_sigma"], true) << p;
        EXPECT_EQ(j["parameters"], 183200) << p;
    }
}

TEST_F(CliTest, InspectFormatsNamed)
{
    auto f = [&](const fs::path &p) {
        return nlohmann::json::parse(runCli({"inspect", p.string(), "--json"}).out)["format"];
    };
    EXPECT_EQ(f(m_fixture / "weights.safetensors"), "safetensors");
    EXPECT_EQ(f(m_fixture / "weights.pt"), "pytorch-zip");
    EXPECT_EQ(f(m_fixture / "weights-legacy.pt"), "pytorch-legacy");
    EXPECT_EQ(f(m_fixture / "train-checkpoint.pt"), "training-checkpoint");
    EXPECT_EQ(f(m_fixture / "diffusers"), "diffusers");
}

TEST_F(CliTest, GenerateFromEveryContainerGivesTheSameImage)
{
    std::vector<torch::Tensor> latents;
    for (const auto &p :
         {m_fixture / "weights.safetensors", m_fixture / "weights.pt", m_fixture / "weights-legacy.pt",
          m_fixture / "train-checkpoint.pt", m_fixture / "diffusers"}) {
        const auto latent = m_tmp / (p.filename().string() + ".latent.safetensors");
        const auto r = runCli({"generate", "--model", p.string(), "--class", "3", "--steps", "4", "--seed",
                               "5", "--out", (m_tmp / (p.filename().string() + ".png")).string(),
                               "--save-latent", latent.string(), "--json", "--quiet", "--device", "cpu"});
        ASSERT_EQ(r.code, 0) << p << ": " << r.err;
        const auto j = nlohmann::json::parse(r.out);
        EXPECT_EQ(j["steps_done"], 4);
        EXPECT_TRUE(fs::exists(j["outputs"][0].get<std::string>()));
        latents.push_back(safetensors::load(latent).at("latent").clone());
    }
    for (size_t i = 1; i < latents.size(); ++i)
        EXPECT_TRUE(torch::equal(latents[0], latents[i])) << "container " << i;
}

TEST_F(CliTest, GenerateWithoutSamplerOrStepsUsesTheAppsDefaults)
{
    const auto r
        = runCli({"generate", "--class", "3", "--out", (m_tmp / "d.png").string(), "--json", "--quiet"});
    ASSERT_EQ(r.code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["sampler"], samplerName(kDefaultSampler));
    EXPECT_EQ(j["steps"], kDefaultSteps);
    EXPECT_EQ(j["steps_done"], kDefaultSteps);
    EXPECT_EQ(j["cfg"], kDefaultCfgScale);
}

TEST_F(CliTest, GenerateIntoDirectoryNamesFilesAndRefusesOverwrite)
{
    const auto dir = (m_tmp / "out").string() + "/";
    std::vector<std::string> args = {"generate", "--model", (m_fixture / "weights.safetensors").string(),
                                     "--prompt", "#2",      "--steps",
                                     "3",        "--seed",  "40",
                                     "--batch",  "2",       "--out",
                                     dir,        "--quiet"};
    auto r = runCli(args);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_TRUE(fs::exists(m_tmp / "out" / "class_2_40_0.png"));
    EXPECT_TRUE(fs::exists(m_tmp / "out" / "class_2_41_1.png"));
    auto again = runCli(args);
    EXPECT_EQ(again.code, 1);
    EXPECT_NE(again.err.find("file exists"), std::string::npos) << again.err;
    args.push_back("--overwrite");
    EXPECT_EQ(runCli(args).code, 0);
}

TEST_F(CliTest, InitNoiseFile)
{
    const auto z = m_tmp / "z.safetensors";
    safetensors::save(z, {{"z", torch::randn({1, 4, 8, 8})}});
    const auto l1 = m_tmp / "l1.safetensors", l2 = m_tmp / "l2.safetensors";
    for (const auto &[seed, l] : {std::pair<std::string, fs::path> {"1", l1}, {"2", l2}}) {
        auto r = runCli({"generate", "--model", (m_fixture / "weights.safetensors").string(), "--class", "1",
                         "--steps", "3", "--sampler", "ddim", "--seed", seed, "--init-noise", z.string(),
                         "--save-latent", l.string(), "--out", (m_tmp / ("i" + seed + ".png")).string(),
                         "--quiet"});
        ASSERT_EQ(r.code, 0) << r.err;
    }
    EXPECT_TRUE(torch::equal(safetensors::load(l1).at("latent"), safetensors::load(l2).at("latent")));
}

TEST_F(CliTest, UsageErrors)
{
    EXPECT_EQ(runCli({"generate", "--class", "1", "--steps", "abc"}).code, 2);
    EXPECT_EQ(runCli({"generate", "--class", "1", "--sampler", "magic"}).code, 2);
    EXPECT_EQ(runCli({"generate", "--class", "1", "--cfg-interval", "a,b"}).code, 2);
    EXPECT_EQ(runCli({"generate", "--class", "1", "--cfg-interval", "0.8,0.2"}).code, 2);
    EXPECT_EQ(runCli({"evaluate", "--cfg-interval", "0.1"}).code, 2);
    EXPECT_EQ(runCli({"generate", "--bogus", "1"}).code, 2);
    EXPECT_EQ(runCli({"frobnicate"}).code, 2);
    auto r = runCli({"inspect", (m_tmp / "missing.pt").string()});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("missing.pt"), std::string::npos);
}

TEST_F(CliTest, EveryCommandAnswersHelp)
{
    // "COMMAND --help" prints usage that names the command and exits 0, for every command, including
    // those that parse their own options (evaluate, train-classifier, bench's modes) and never
    // runs the command itself.
    const std::vector<std::vector<std::string>> commands = {{"inspect"},
                                                            {"generate"},
                                                            {"bench"},
                                                            {"bench", "--probes"},
                                                            {"bench", "--preview"},
                                                            {"classes"},
                                                            {"train"},
                                                            {"vae"},
                                                            {"edit"},
                                                            {"video"},
                                                            {"explain"},
                                                            {"evaluate"},
                                                            {"models"},
                                                            {"train-classifier"}};
    for (auto args : commands) {
        const std::string name = args[0];
        args.push_back("--help");
        const auto r = runCli(args);
        EXPECT_EQ(r.code, 0) << name << ": " << r.err;
        EXPECT_NE(r.out.find(name), std::string::npos) << name << " --help does not name it:\n" << r.out;
        EXPECT_EQ(r.err, "") << name;
    }
}

TEST_F(CliTest, HelpShowsTheAppsDefaults)
{
    // The defaults in the help come from ditstudio/defaults.h, not from a copy of their values.
    std::ostringstream cfg;
    cfg << kDefaultCfgScale;
    const std::string steps = std::to_string(kDefaultSteps), sampler = samplerName(kDefaultSampler);
    const auto all = runCli({"--help"});
    ASSERT_EQ(all.code, 0);
    EXPECT_NE(all.out.find("(default " + steps + ", the app's"), std::string::npos) << all.out;
    EXPECT_NE(all.out.find("(default " + sampler + ", the app's)"), std::string::npos);
    EXPECT_NE(all.out.find("(default " + cfg.str() + ", the app's; 1 disables)"), std::string::npos);
    EXPECT_EQ(all.out.find("{default-"), std::string::npos) << "a placeholder was left unfilled";
    // The man page is a static file: it must say the same.
    std::ifstream manFile(dataDir() / ".." / ".." / "installer" / "ditstudio-cli.1");
    ASSERT_TRUE(manFile) << "installer/ditstudio-cli.1 not found";
    const std::string man((std::istreambuf_iterator<char>(manFile)), std::istreambuf_iterator<char>());
    EXPECT_NE(man.find("Sampling steps (default " + steps + ", the app's)."), std::string::npos);
    EXPECT_NE(man.find("(default " + sampler + ", the app's)."), std::string::npos);
    EXPECT_NE(man.find("guidance scale (default " + cfg.str() + ", the app's;"), std::string::npos);
    const auto evaluate = runCli({"evaluate", "--help"});
    ASSERT_EQ(evaluate.code, 0);
    EXPECT_NE(evaluate.out.find("--steps N (" + steps + ")  --sampler NAME (" + sampler + ")  --cfg F ("
                                + cfg.str() + ")"),
              std::string::npos)
        << evaluate.out;
}

TEST_F(CliTest, VersionNamesBlasAndThreads)
{
    auto r = runCli({"--version"});
    ASSERT_EQ(r.code, 0);
    EXPECT_NE(r.out.find("BLAS: "), std::string::npos);
    EXPECT_NE(r.out.find("Threads: "), std::string::npos);
    EXPECT_NE(r.out.find("LibTorch"), std::string::npos);
}

TEST_F(CliTest, BenchReportsGflops)
{
    auto r = runCli({"bench", "--arch", "DiT-S/8", "--image-size", "64", "--batch", "1", "--iters", "1",
                     "--warmup", "0", "--json"});
    ASSERT_EQ(r.code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_GT(j["achieved_gflops"].get<double>(), 0.0);
    EXPECT_EQ(j["arch"], "DiT-S/8");
}

} // namespace
} // namespace ditstudio::test
