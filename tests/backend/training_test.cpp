// Trainer: loss weighting, bit-for-bit resume, 2-process data parallel equivalence, plots.
#include "test_util.h"

#include "core/autocast_guard.h"

#include "common/errors.h"

#include "cli/cli.h"
#include "ditstudio/engine.h"
#include "ditstudio/plot.h"
#include "io/safetensors.h"
#include "training/distributed.h"
#include "training/trainer.h"
#include "training/weighting.h"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#if !defined(_WIN32)
#include <csignal>
#include <sys/wait.h>
#include <unistd.h>
#endif

namespace fs = std::filesystem;
using namespace ditstudio;
using namespace ditstudio::test;

namespace {

class TrainingTest : public TorchTest {
protected:
    void SetUp() override
    {
        TorchTest::SetUp();
        static std::atomic<int> counter {0};
        m_tmp = fs::temp_directory_path()
            / ("ditstudio_train_"
               + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) + "_"
               + std::to_string(counter++));
        fs::create_directories(m_tmp);
        // A tiny image-folder dataset: 2 classes x 6 random 8x8 gray images.
        std::mt19937 rng(7);
        for (const char *cls : {"a_circles", "b_stripes"})
            for (int i = 0; i < 6; ++i) {
                Image im;
                im.width = im.height = 8;
                im.channels = 3;
                im.pixels.resize(8 * 8 * 3);
                for (auto &p : im.pixels)
                    p = static_cast<std::uint8_t>(rng() % 256);
                fs::create_directories(m_tmp / "data" / cls);
                ASSERT_TRUE(
                    writePng((m_tmp / "data" / cls / (std::to_string(i) + ".png")).string(), im).ok());
            }
    }
    void TearDown() override
    {
        std::error_code ec;
        fs::remove_all(m_tmp, ec);
    }
    TrainOptions tiny(const std::string &out, long long steps) const
    {
        TrainOptions o;
        o.dataset = (m_tmp / "data").string();
        o.model.inputSize = 8;
        o.model.inChannels = 1;
        o.model.depth = 2;
        o.model.hiddenSize = 32;
        o.model.numHeads = 2;
        o.model.patchSize = 4;
        o.batchSize = 4;
        o.learningRate = 1e-3;
        o.emaDecay = 0.9;
        o.gradClip = 1.0;
        o.hflip = true;
        o.totalSteps = steps;
        o.checkpointEvery = 3;
        o.logEvery = 1;
        o.seed = 11;
        o.outDir = (m_tmp / out).string();
        return o;
    }
    static std::map<std::string, torch::Tensor> weights(const fs::path &file)
    {
        return safetensors::load(file).tensors;
    }
    fs::path m_tmp;
};

std::vector<std::string> logSteps(const fs::path &csv)
{
    std::ifstream in(csv);
    std::string line;
    std::getline(in, line);
    std::vector<std::string> steps;
    while (std::getline(in, line))
        if (!line.empty())
            steps.push_back(line.substr(0, line.find(',')));
    return steps;
}

} // namespace

TEST_F(TrainingTest, MinSnrWeightsFollowTheDefinition)
{
    const GaussianDiffusion d(
        linearBetas(1000),
        [] {
            std::vector<int> m(1000);
            for (int i = 0; i < 1000; ++i)
                m[i] = i;
            return m;
        }(),
        VarianceType::LearnedRange);
    const auto t = torch::tensor({0, 10, 100, 400, 999}, torch::kLong);
    const auto w = minSnrWeights(d, t, 5.0);
    for (int i = 0; i < 5; ++i) {
        const double abar = d.alphasCumprod()[t[i].item<int64_t>()];
        const double snr = abar / (1 - abar);
        EXPECT_NEAR(w[i].item<double>(), std::min(snr, 5.0) / snr, 1e-6) << "t=" << t[i].item<int64_t>();
    }
    // Low noise (high SNR) is down-weighted, high noise keeps weight 1.
    EXPECT_LT(w[0].item<double>(), 0.01);
    EXPECT_DOUBLE_EQ(w[4].item<double>(), 1.0);
    // The sigma used by the uncertainty network is sqrt(1/SNR).
    const auto sigma = noiseLevel(d, t);
    const double abar = d.alphasCumprod()[400];
    EXPECT_NEAR(sigma[3].item<double>(), std::sqrt((1 - abar) / abar), 1e-5);
}

TEST_F(TrainingTest, UncertaintyWeightingLearnsTheLogOfTheExpectedLoss)
{
    // Minimising L/exp(u) + u over u gives u* = log E[L]. Feed a known loss per noise level and
    // check that the network recovers it: L(sigma) = 0.05 at low noise and 0.8 at high noise.
    const GaussianDiffusion d(
        linearBetas(1000),
        [] {
            std::vector<int> m(1000);
            for (int i = 0; i < 1000; ++i)
                m[i] = i;
            return m;
        }(),
        VarianceType::FixedLarge);
    UncertaintyNet net(128, 0);
    // Zero-initialised: starts as uniform weighting.
    const auto t = torch::arange(0, 1000, 5, torch::kLong); // 200 levels
    const auto target = torch::where(t < 500, torch::full({200}, 0.05), torch::full({200}, 0.8));
    const auto sigma = noiseLevel(d, t);
    EXPECT_TRUE(torch::allclose(weightedLoss(LossWeighting::Edm2Uncertainty, d, t, target,
                                             torch::zeros({200}), 5, net->forward(sigma)),
                                target.mean()));
    torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(0.05));
    for (int i = 0; i < 300; ++i) {
        const auto loss = weightedLoss(LossWeighting::Edm2Uncertainty, d, t, target, torch::zeros({200}), 5,
                                       net->forward(sigma));
        opt.zero_grad();
        loss.backward();
        opt.step();
    }
    torch::NoGradGuard ng;
    const auto u = net->forward(sigma);
    EXPECT_NEAR(u.slice(0, 10, 80).mean().item<double>(), std::log(0.05), 0.15);
    EXPECT_NEAR(u.slice(0, 120, 190).mean().item<double>(), std::log(0.8), 0.15);
}

TEST_F(TrainingTest, ResumeContinuesBitForBit)
{
    for (LossWeighting w : {LossWeighting::Uniform, LossWeighting::Edm2Uncertainty}) {
        SCOPED_TRACE(lossWeightingName(w));
        const std::string tag = lossWeightingName(w);
        auto straight = tiny("straight_" + tag, 6);
        straight.weighting = w;
        EXPECT_EQ(trainDiT(straight, {}, {}), 6);
        auto first = tiny("resumed_" + tag, 3);
        first.weighting = w;
        EXPECT_EQ(trainDiT(first, {}, {}), 3);
        // A crashed run may have logged past its last checkpoint: the resume must drop those rows.
        std::ofstream(fs::path(first.outDir) / "log.csv", std::ios::app) << "5,9,9,9,9,9\n";
        auto second = first;
        second.totalSteps = 6;
        EXPECT_EQ(trainDiT(second, {}, {}), 6);
        for (const char *file : {"raw.safetensors", "model.safetensors"}) {
            const auto a = weights(fs::path(straight.outDir) / file);
            const auto b = weights(fs::path(second.outDir) / file);
            ASSERT_EQ(a.size(), b.size());
            for (const auto &[k, v] : a)
                EXPECT_TRUE(torch::equal(v, b.at(k))) << file << ": " << k << " differs after resume";
        }
        EXPECT_EQ(logSteps(fs::path(second.outDir) / "log.csv"),
                  (std::vector<std::string> {"1", "2", "3", "4", "5", "6"}));
        EXPECT_TRUE(fs::exists(fs::path(second.outDir) / "loss.png"));
        if (w == LossWeighting::Edm2Uncertainty) {
            EXPECT_TRUE(fs::exists(fs::path(second.outDir) / "weighting.png"));
            EXPECT_TRUE(fs::exists(fs::path(second.outDir) / "weighting.csv"));
        }
    }
}

#if !defined(_WIN32)
namespace {
long long checkpointStep(const fs::path &out)
{
    std::ifstream in(out / "state.json");
    if (!in)
        return 0;
    try {
        return nlohmann::json::parse(in).at("step").get<long long>();
    } catch (const std::exception &) {
        return -1; // a torn state.json: the test fails on it below
    }
}

pid_t spawnCli(const std::vector<std::string> &args)
{
    std::vector<char *> argv;
    static const std::string cli = DITSTUDIO_CLI_PATH;
    argv.push_back(const_cast<char *>(cli.c_str()));
    for (const auto &a : args)
        argv.push_back(const_cast<char *>(a.c_str()));
    argv.push_back(nullptr);
    const pid_t pid = fork();
    if (pid == 0) {
        execv(cli.c_str(), argv.data());
        _exit(127);
    }
    return pid;
}
} // namespace

// The process is SIGKILLed at random moments of a run that writes a checkpoint after every step, so many
// kills land while a checkpoint is half written. Every restart must resume from a complete checkpoint:
// the finished run equals an uninterrupted one bit for bit, and the log has each step once.
TEST_F(TrainingTest, KilledWhileWritingCheckpointsTheRunResumesFromTheLastCompleteOne)
{
    const int total = 30;
    auto args = [&](const std::string &out) {
        return std::vector<std::string> {"train",
                                         "--dataset",
                                         (m_tmp / "data").string(),
                                         "--input-size",
                                         "8",
                                         "--channels",
                                         "1",
                                         "--depth",
                                         "2",
                                         "--hidden",
                                         "32",
                                         "--heads",
                                         "2",
                                         "--patch",
                                         "4",
                                         "--batch",
                                         "4",
                                         "--lr",
                                         "1e-3",
                                         "--ema",
                                         "0.9",
                                         "--grad-clip",
                                         "1.0",
                                         "--hflip",
                                         "--steps",
                                         std::to_string(total),
                                         "--checkpoint-every",
                                         "1",
                                         "--log-every",
                                         "1",
                                         "--seed",
                                         "11",
                                         "--threads",
                                         "1",
                                         "--quiet",
                                         "--log-level",
                                         "error",
                                         "--out",
                                         (m_tmp / out).string()};
    };
    auto runToEnd = [&](const std::string &out) {
        int status = 0;
        const pid_t pid = spawnCli(args(out));
        waitpid(pid, &status, 0);
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    };
    ASSERT_EQ(runToEnd("straight"), 0);

    const fs::path out = m_tmp / "killed";
    std::mt19937 rng(20261202);
    int kills = 0, midCheckpoint = 0;
    bool finished = false;
    while (kills < 20 && !finished) {
        const long long before = checkpointStep(out);
        ASSERT_GE(before, 0) << "state.json was torn after a kill";
        const pid_t pid = spawnCli(args("killed"));
        // Let it resume and commit at least one new checkpoint, then kill it a random moment later.
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
        int status = 0;
        while (checkpointStep(out) <= before && std::chrono::steady_clock::now() < deadline) {
            if (waitpid(pid, &status, WNOHANG) == pid) {
                finished = true;
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        if (finished)
            break;
        if (kills % 2 == 0) {
            // Every other kill aims inside a checkpoint write: as soon as the next set's folder appears.
            const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
            while (!fs::exists(out / ".checkpoint-next") && std::chrono::steady_clock::now() < until)
                std::this_thread::yield();
            std::this_thread::sleep_for(std::chrono::microseconds(rng() % 3000));
        } else {
            std::this_thread::sleep_for(std::chrono::microseconds(rng() % 25000));
        }
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            finished = true;
            break;
        }
        ++kills;
        if (fs::exists(out / ".checkpoint-next"))
            ++midCheckpoint;
    }
    std::cout << "[ measured ] " << kills << " kills, " << midCheckpoint
              << " of them while a checkpoint was being written\n";
    EXPECT_GE(kills, 10);
    EXPECT_GE(midCheckpoint, 3)
        << "no kill landed inside a checkpoint write; the test did not exercise the fault";
    ASSERT_EQ(runToEnd("killed"), 0);
    EXPECT_EQ(checkpointStep(out), total);
    EXPECT_FALSE(fs::exists(out / ".checkpoint-next"));
    for (const char *file : {"raw.safetensors", "model.safetensors"}) {
        const auto a = weights(m_tmp / "straight" / file);
        const auto b = weights(out / file);
        ASSERT_EQ(a.size(), b.size());
        for (const auto &[k, v] : a)
            EXPECT_TRUE(torch::equal(v, b.at(k))) << file << ": " << k << " differs after the kills";
    }
    std::vector<std::string> expected;
    for (int i = 1; i <= total; ++i)
        expected.push_back(std::to_string(i));
    EXPECT_EQ(logSteps(out / "log.csv"), expected);
}

// A full disk while writing a checkpoint: a clear error, the previous checkpoint intact and resumable.
TEST_F(TrainingTest, FullDiskWhileWritingACheckpointKeepsThePreviousOne)
{
    const std::string cli = DITSTUDIO_CLI_PATH;
    const fs::path out = m_tmp / "run";
    const std::string common = " train --dataset '" + (m_tmp / "data").string()
        + "' --input-size 8 --channels 1 --depth 2 --hidden 64 --heads 2 --patch 4 --batch 4"
          " --lr 1e-3 --ema 0.9 --seed 3 --threads 1 --quiet --checkpoint-every 2 --out '"
        + out.string() + "'";
    ASSERT_EQ(std::system(("'" + cli + "'" + common + " --steps 2").c_str()), 0);
    const auto before = weights(out / "raw.safetensors");
    std::ifstream s0(out / "state.json");
    const std::string stateBefore((std::istreambuf_iterator<char>(s0)), {});
    // The model file is ~1 MB; 64 KiB lets the log grow but no weight file be written.
    const std::string cmd = "bash -c \"trap '' XFSZ; ulimit -f 64; exec '" + cli + "'" + common
        + " --steps 4\" 2> '" + (m_tmp / "err.txt").string() + "'";
    const int status = std::system(cmd.c_str());
    std::ifstream errIn(m_tmp / "err.txt");
    const std::string err((std::istreambuf_iterator<char>(errIn)), {});
    EXPECT_NE(WEXITSTATUS(status), 0) << err;
    EXPECT_NE(err.find("checkpoint of step 4"), std::string::npos) << err;
    EXPECT_NE(err.find("previous checkpoint is intact"), std::string::npos) << err;
    std::ifstream s1(out / "state.json");
    EXPECT_EQ(std::string((std::istreambuf_iterator<char>(s1)), {}), stateBefore);
    const auto after = weights(out / "raw.safetensors");
    for (const auto &[k, v] : before)
        EXPECT_TRUE(torch::equal(v, after.at(k))) << k;
    EXPECT_FALSE(fs::exists(out / ".checkpoint-next"));
    // And it resumes from there once there is room.
    EXPECT_EQ(std::system(("'" + cli + "'" + common + " --steps 4").c_str()), 0);
    EXPECT_EQ(checkpointStep(out), 4);
}
#endif

TEST_F(TrainingTest, ResumeWithAnotherWeightingIsRefused)
{
    auto o = tiny("run", 3);
    trainDiT(o, {}, {});
    o.totalSteps = 4;
    o.weighting = LossWeighting::MinSnr;
    try {
        trainDiT(o, {}, {});
        FAIL() << "expected an error";
    } catch (const DitException &e) {
        EXPECT_NE(std::string(e.what()).find("uniform"), std::string::npos) << e.what();
    }
}

TEST_F(TrainingTest, SwitchWeightingFineTunesARunWithAnotherWeighting)
{
    auto o = tiny("switch", 3);
    trainDiT(o, {}, {});
    const auto before = weights(fs::path(o.outDir) / "raw.safetensors");
    o.totalSteps = 5;
    o.weighting = LossWeighting::Edm2Uncertainty; // the run has no weighting network yet: it starts fresh
    o.switchWeighting = true;
    EXPECT_EQ(trainDiT(o, {}, {}), 5);
    std::ifstream in(fs::path(o.outDir) / "state.json");
    const auto state = nlohmann::json::parse(in);
    EXPECT_EQ(state.at("step").get<long long>(), 5);
    EXPECT_EQ(state.at("loss_weighting").get<std::string>(), "edm2");
    EXPECT_TRUE(fs::exists(fs::path(o.outDir) / "weighting.safetensors"));
    // It continued from the run's weights (not a fresh start): they moved from step 3's.
    const auto after = weights(fs::path(o.outDir) / "raw.safetensors");
    bool moved = false;
    for (const auto &[k, v] : before)
        moved = moved || !torch::equal(v, after.at(k));
    EXPECT_TRUE(moved);
    // From now on it is an EDM2 run: resuming with the old weighting is refused again.
    o.totalSteps = 6;
    o.weighting = LossWeighting::Uniform;
    o.switchWeighting = false;
    EXPECT_THROW(trainDiT(o, {}, {}), DitException);
}

TEST_F(TrainingTest, LearningRateDecayResumesBitForBit)
{
    auto straight = tiny("decay_straight", 6);
    straight.lrDecayStart = 2;
    straight.lrFinal = 0.0;
    EXPECT_EQ(trainDiT(straight, {}, {}), 6);
    auto first = straight;
    first.outDir = (fs::path(straight.outDir).parent_path() / "decay_resumed").string();
    first.totalSteps = 6;
    // Stopped after step 4 by a cancel (the schedule still ends at step 6), then resumed.
    CancelToken cancel;
    long long seen = 0;
    trainDiT(
        first,
        [&](const TrainProgress &p) {
            seen = p.step;
            if (p.step >= 4)
                cancel.cancel();
        },
        cancel);
    EXPECT_GE(seen, 4);
    EXPECT_EQ(trainDiT(first, {}, {}), 6);
    const auto a = weights(fs::path(straight.outDir) / "raw.safetensors");
    const auto b = weights(fs::path(first.outDir) / "raw.safetensors");
    for (const auto &[k, v] : a)
        EXPECT_TRUE(torch::equal(v, b.at(k))) << k << " differs after resume";
    // And the decay changed the run: a constant rate ends elsewhere.
    auto constant = tiny("decay_constant", 6);
    EXPECT_EQ(trainDiT(constant, {}, {}), 6);
    const auto c = weights(fs::path(constant.outDir) / "raw.safetensors");
    bool differs = false;
    for (const auto &[k, v] : a)
        differs = differs || !torch::equal(v, c.at(k));
    EXPECT_TRUE(differs);
}

TEST_F(TrainingTest, PublicTrainApiReturnsResultsAndErrorsAsValues)
{
    // ditstudio::train (training.h): the trainer behind a Result, with progress and cancel.
    auto request = tiny("public", 4);
    std::vector<long long> steps;
    auto done = ditstudio::train(request, [&](const TrainProgress &p) { steps.push_back(p.step); });
    ASSERT_TRUE(done.ok()) << done.error().toString();
    EXPECT_EQ(done->step, 4);
    EXPECT_FALSE(done->cancelled);
    EXPECT_EQ(done->outDir, request.outDir);
    EXPECT_EQ(steps, (std::vector<long long> {1, 2, 3, 4}));
    // A cancel stops after the current step and says so.
    auto more = request;
    more.totalSteps = 10;
    CancelToken cancel;
    auto stopped = ditstudio::train(
        more,
        [&](const TrainProgress &p) {
            if (p.step >= 6)
                cancel.cancel();
        },
        cancel);
    ASSERT_TRUE(stopped.ok()) << stopped.error().toString();
    EXPECT_TRUE(stopped->cancelled);
    EXPECT_GE(stopped->step, 6);
    EXPECT_LT(stopped->step, 10);
    // Bad input is an Error value naming what is wrong, not an exception.
    auto bad = tiny("bad", 2);
    bad.dataset = (m_tmp / "no-such-folder").string();
    const auto failed = ditstudio::train(bad);
    ASSERT_FALSE(failed.ok());
    EXPECT_NE(failed.error().message.find("no-such-folder"), std::string::npos) << failed.error().message;
}

TEST_F(TrainingTest, MinSnrAndBf16TrainAndWriteSampleGrids)
{
    auto o = tiny("minsnr", 3);
    o.weighting = LossWeighting::MinSnr;
    o.bf16Autocast = true;
    o.sampleEvery = 3;
    o.sampleSteps = 4;
    double lastLoss = -1;
    trainDiT(o, [&](const TrainProgress &p) { lastLoss = p.loss; }, {});
    EXPECT_TRUE(std::isfinite(lastLoss));
    EXPECT_GT(lastLoss, 0);
    const auto grid = readImage((fs::path(o.outDir) / "samples" / "step_0000003.png").string());
    ASSERT_TRUE(grid.ok()) << grid.error().message;
    // 2 classes x 8 samples of 8x8 at scale 2 with 2 px gaps.
    EXPECT_EQ(grid->width, 8 * 16 + 9 * 2);
    EXPECT_EQ(grid->height, 2 * 16 + 3 * 2);
    // The grid samples the EMA weights in memory (no reload, no engine); the engine on the saved EMA
    // file with the same settings gives the same images.
    Engine engine;
    ASSERT_TRUE(engine.loadModel((fs::path(o.outDir) / "model.safetensors").string()).ok());
    std::vector<Image> images;
    for (int c = 0; c < 2; ++c) {
        GenerateRequest req;
        req.conditioning = Conditioning {{{c, 1.0}}};
        req.batch = 8;
        req.steps = 4;
        req.seed = static_cast<std::uint64_t>(c) * 8;
        req.wantPreviews = false;
        auto r = engine.generate(req);
        ASSERT_TRUE(r.ok()) << r.error().message;
        images.insert(images.end(), r->images.begin(), r->images.end());
    }
    const Image expected = makeImageGrid(images, 8, 2, 2);
    ASSERT_EQ(expected.pixels.size(), grid->pixels.size());
    int maxDiff = 0;
    for (size_t i = 0; i < expected.pixels.size(); ++i)
        maxDiff = std::max(maxDiff, std::abs(int(expected.pixels[i]) - int(grid->pixels[i])));
    EXPECT_LE(maxDiff, 1) << "the sample grid differs from the engine's images of the saved model";
    std::ifstream state(fs::path(o.outDir) / "state.json");
    std::string text((std::istreambuf_iterator<char>(state)), {});
    EXPECT_NE(text.find("\"min-snr\""), std::string::npos) << text;
}

TEST_F(TrainingTest, TwoProcessesEqualOneProcessWithTheDoubleBatch)
{
    if (!dataParallelAvailable())
        DITSTUDIO_SKIP_OR_FAIL("this build has no c10d Gloo");
    const std::string cli = DITSTUDIO_CLI_PATH;
    const std::string common = " train --dataset " + (m_tmp / "data").string()
        + " --input-size 8 --channels 1 --depth 2 --hidden 32 --heads 2 --patch 4 --lr 1e-3"
          " --ema 0.9 --grad-clip 1.0 --hflip --steps 4 --checkpoint-every 4 --log-every 1"
          " --seed 5 --quiet --threads 1 --log-level warn --no-resume";
    ASSERT_EQ(
        std::system(("\"" + cli + "\"" + common + " --batch 4 --out " + (m_tmp / "single").string()).c_str()),
        0);
    const int port
        = 20000 + static_cast<int>(std::chrono::steady_clock::now().time_since_epoch().count() % 20000);
    int rc[2] = {-1, -1};
    std::vector<std::thread> ranks;
    for (int r = 0; r < 2; ++r)
        ranks.emplace_back([&, r] {
            rc[r] = std::system(("\"" + cli + "\"" + common + " --batch 2 --world-size 2 --rank "
                                 + std::to_string(r) + " --master-addr 127.0.0.1 --master-port "
                                 + std::to_string(port) + " --dist-timeout 60 --out "
                                 + (m_tmp / "ddp").string())
                                    .c_str());
        });
    for (auto &t : ranks)
        t.join();
    ASSERT_EQ(rc[0], 0);
    ASSERT_EQ(rc[1], 0);
    const auto a = weights(m_tmp / "single" / "raw.safetensors");
    const auto b = weights(m_tmp / "ddp" / "raw.safetensors");
    ASSERT_EQ(a.size(), b.size());
    double worst = 0;
    for (const auto &[k, v] : a)
        worst = std::max(worst, (v - b.at(k)).abs().max().item<double>());
    std::cout << "[ measured ] 2 ranks x batch 2 vs 1 process x batch 4 after 4 steps: max |weight diff| "
              << worst << '\n';
    // Only the float summation order differs (the all-reduce averages two half-batch means).
    EXPECT_LT(worst, 1e-5);
    EXPECT_GT(a.size(), 10u);
}

TEST_F(TrainingTest, BadDistributedSettingsAreClearErrors)
{
    DistributedOptions o;
    o.worldSize = 2;
    o.rank = 2;
    try {
        ProcessGroupHandle::connect(o);
        FAIL() << "expected an error";
    } catch (const DitException &e) {
        EXPECT_NE(std::string(e.what()).find("rank 2"), std::string::npos) << e.what();
    }
}

TEST(Plot, TickLabelsKeepEveryDigitThatDistinguishesThem)
{
    // A step axis at 5000-step spacing: 15000 and 25000 once both printed as "2e+04".
    EXPECT_EQ(plotTickText(0), "0");
    EXPECT_EQ(plotTickText(5000), "5000");
    EXPECT_EQ(plotTickText(15000), "15000");
    EXPECT_EQ(plotTickText(25000), "25000");
    EXPECT_EQ(plotTickText(-120), "-120");
    EXPECT_EQ(plotTickText(0.05), "0.05");
    EXPECT_EQ(plotTickText(0.005), "0.005");
    EXPECT_EQ(plotTickText(2.5e-5), "2.5e-05");
    EXPECT_EQ(plotTickText(3e-5), "3e-05");
    EXPECT_EQ(plotTickText(1.5e7), "1.5e+07");
}

TEST(Plot, LinePlotDrawsTheSeriesAndGridTilesImages)
{
    PlotSeries s {"ramp", {0, 1, 2, 3}, {1, 2, 4, 8}, {255, 0, 0}};
    PlotOptions po;
    po.logY = true;
    po.width = 400;
    po.height = 300;
    const Image img = renderLinePlot({s}, po);
    ASSERT_EQ(img.width, 400);
    ASSERT_EQ(img.height, 300);
    int red = 0;
    for (size_t i = 0; i < img.pixels.size(); i += 3)
        red += img.pixels[i] > 200 && img.pixels[i + 1] < 80 && img.pixels[i + 2] < 80;
    EXPECT_GT(red, 100) << "the red series should be drawn";

    Image a, b;
    a.width = b.width = 2;
    a.height = b.height = 1;
    a.channels = b.channels = 1;
    a.pixels = {10, 20};
    b.pixels = {30, 40};
    const Image g = makeImageGrid({a, b}, 2, 2, 1);
    EXPECT_EQ(g.width, 2 * 4 + 3);
    EXPECT_EQ(g.height, 2 + 2);
    EXPECT_EQ(g.row(1)[1 * 3], 10); // first image, scaled 2x, after a 1 px gap
    EXPECT_EQ(g.row(2)[(1 + 4 + 1 + 3) * 3], 40);
    EXPECT_EQ(g.row(0)[0], 255); // gap is white
}

TEST_F(TrainingTest, LatentTrainingEncodesTheDatasetOnceThroughTheVae)
{
    const auto vae = dataDir() / "parity" / "vae-tiny" / "vae-diffusers.safetensors";
    auto o = tiny("latent", 2);
    o.model.inputSize = 4; // latent 4x4 -> 32x32 images through the 8x VAE
    o.model.inChannels = 4;
    o.model.patchSize = 2;
    o.hflip = false;
    o.vaePath = vae.string();
    o.checkpointEvery = 2;
    EXPECT_EQ(trainDiT(o, {}, {}), 2);
    const auto cache = fs::path(o.outDir) / "latents.safetensors";
    ASSERT_TRUE(fs::exists(cache));
    const auto first = safetensors::load(cache);
    EXPECT_EQ(first.at("mean").sizes(), torch::IntArrayRef({12, 4, 4, 4}));
    EXPECT_TRUE((first.at("std") > 0).all().item<bool>());
    const auto written = fs::last_write_time(cache);
    // Resuming reuses the cache (same VAE digest and dataset) and continues.
    o.totalSteps = 3;
    EXPECT_EQ(trainDiT(o, {}, {}), 3);
    EXPECT_EQ(fs::last_write_time(cache), written);
    const auto model = safetensors::load(fs::path(o.outDir) / "model.safetensors");
    EXPECT_EQ(model.at("x_embedder.proj.weight").size(1), 4);

    auto bad = tiny("latent_bad", 1);
    bad.vaePath = vae.string(); // model still has 1 channel
    try {
        trainDiT(bad, {}, {});
        FAIL() << "expected an error";
    } catch (const DitException &e) {
        EXPECT_NE(std::string(e.what()).find("latent channels"), std::string::npos) << e.what();
    }
}

namespace ditstudio::test {
namespace {

// The trainer's bf16 autocast scope: restored when the forward pass throws (it was switched on and
// off by hand before, so an exception left autocast on for the next caller on the thread).
TEST(CpuAutocastGuardTest, RestoresTheStateOnException)
{
    ASSERT_FALSE(at::autocast::is_cpu_enabled());
    const auto dtypeBefore = at::autocast::get_autocast_cpu_dtype();
    try {
        const CpuAutocastGuard guard(at::kBFloat16);
        EXPECT_TRUE(at::autocast::is_cpu_enabled());
        EXPECT_EQ(at::autocast::get_autocast_cpu_dtype(), at::kBFloat16);
        throw std::runtime_error("the forward pass failed");
    } catch (const std::runtime_error &) {
    }
    EXPECT_FALSE(at::autocast::is_cpu_enabled());
    EXPECT_EQ(at::autocast::get_autocast_cpu_dtype(), dtypeBefore);
    // Nested scopes restore the outer one.
    {
        const CpuAutocastGuard outer(at::kBFloat16);
        {
            const CpuAutocastGuard inner(at::kBFloat16);
        }
        EXPECT_TRUE(at::autocast::is_cpu_enabled());
    }
    EXPECT_FALSE(at::autocast::is_cpu_enabled());
}

} // namespace
} // namespace ditstudio::test
