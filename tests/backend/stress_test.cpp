// Cancel and close at random moments: generate, image edit, video edit, film and training jobs run on a
// worker thread while the test thread cancels them (now, or after the current item) and "closes" (joins
// the worker and destroys the engine, as the app does on exit) at a random moment. Every run must end
// with exactly one outcome (finished or cancelled, never an error or a crash), no observer call after
// the job returned, and no partial output file. Built under the asan and tsan presets this is the
// sanitizer stress test (scripts/stress-sanitizers.sh); DITSTUDIO_STRESS_RUNS sets the run count.
#include "test_util.h"

#include "ditstudio/editing.h"
#include "ditstudio/engine.h"
#include "ditstudio/video.h"
#include "training/trainer.h"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <random>
#include <thread>

namespace ditstudio::test {
namespace {

namespace fs = std::filesystem;

enum class Kind { Generate, EditImage, EditVideo, Film, Train };
const char *kindName(Kind k)
{
    switch (k) {
    case Kind::Generate:
        return "generate";
    case Kind::EditImage:
        return "edit image";
    case Kind::EditVideo:
        return "edit video";
    case Kind::Film:
        return "film";
    case Kind::Train:
        return "train";
    }
    return "?";
}

int stressRuns()
{
    if (const char *v = std::getenv("DITSTUDIO_STRESS_RUNS"))
        return std::max(1, std::atoi(v));
    return 200;
}

GenerateRequest smallRequest(std::uint64_t seed)
{
    GenerateRequest g;
    g.conditioning = Conditioning {{{static_cast<int>(seed % 10), 1.0}}};
    g.sampler = SamplerKind::Ddim;
    g.steps = 6;
    g.cfgScale = 2.0;
    g.seed = seed;
    return g;
}

class CancelStress : public TorchTest {
protected:
    static void SetUpTestSuite()
    {
        s_dir = fs::temp_directory_path() / ("ditstudio_stress_" + processTag());
        fs::remove_all(s_dir);
        fs::create_directories(s_dir / "data" / "a");
        fs::create_directories(s_dir / "data" / "b");
        std::mt19937 rng(3);
        for (int c = 0; c < 2; ++c)
            for (int i = 0; i < 4; ++i) {
                Image im;
                im.width = im.height = 8;
                im.channels = 1;
                im.pixels.resize(64);
                for (auto &p : im.pixels)
                    p = static_cast<std::uint8_t>(rng() % 256);
                ASSERT_TRUE(
                    writePng((s_dir / "data" / (c ? "b" : "a") / (std::to_string(i) + ".png")).string(), im)
                        .ok());
            }
        // The input video of the video edits: a short film of the default model.
        Engine engine;
        ASSERT_TRUE(engine.loadDefaultModel(LoadOptions {"cpu"}).ok());
        auto g = smallRequest(1);
        g.steps = 4;
        FilmOptions fo;
        fo.frames = FilmFrames::X0;
        fo.scale = 1;
        fo.caption = false;
        fo.holdSeconds = 0.2;
        auto film = renderDenoisingFilm(engine, g, fo, (s_dir / "input.mp4").string());
        ASSERT_TRUE(film.ok()) << film.error().toString();
        auto still = engine.generate(smallRequest(2));
        ASSERT_TRUE(still.ok());
        s_image = still->images.at(0);
    }
    static void TearDownTestSuite()
    {
        std::error_code ec;
        fs::remove_all(s_dir, ec);
    }
    static fs::path s_dir;
    static Image s_image;
};
fs::path CancelStress::s_dir;
Image CancelStress::s_image;

TEST_F(CancelStress, CancelAndCloseAtRandomMomentsOfEveryJobKind)
{
    const int runs = stressRuns();
    std::mt19937 rng(20261202u);
    int finished[5] = {}, cancelled[5] = {};
    for (int run = 0; run < runs; ++run) {
        const Kind kind = static_cast<Kind>(run % 5);
        SCOPED_TRACE(std::string(kindName(kind)) + ", run " + std::to_string(run));
        const fs::path out = s_dir / ("out_" + std::to_string(run) + (kind == Kind::Train ? "" : ".mp4"));
        auto engine = std::make_unique<Engine>();
        CancelToken cancel;
        std::atomic<bool> returned {false};
        std::atomic<int> lateCallbacks {0};
        auto onAnything = [&] {
            if (returned.load())
                ++lateCallbacks;
        };
        std::atomic<int> outcome {-1}; // 0 finished, 1 cancelled, 2 error
        std::string error;
        std::thread worker([&] {
            // Loading is part of the job: a close may land before the model is in.
            auto loaded = engine->loadDefaultModel(LoadOptions {"cpu"});
            if (!loaded.ok()) {
                error = loaded.error().toString();
                outcome = 2;
                returned = true;
                return;
            }
            GenerateObserver obs;
            obs.onStep = [&](const StepUpdate &) { onAnything(); };
            auto done = [&](bool ok, bool wasCancelled, const std::string &message) {
                outcome = !ok ? 2 : wasCancelled ? 1 : 0;
                error = message;
                returned = true;
            };
            switch (kind) {
            case Kind::Generate: {
                auto g = smallRequest(run);
                g.batch = 2;
                auto r = engine->generate(g, obs, cancel);
                done(r.ok(), r.ok() && r->status == JobStatus::Cancelled, r.ok() ? "" : r.error().toString());
                if (r.ok() && r->status == JobStatus::Completed
                    && (r->images.size() != 2 || r->stepsDone != 6))
                    error = "a finished generation without its images";
                break;
            }
            case Kind::EditImage: {
                EditRequest e;
                e.mode = run % 2 ? EditMode::Img2Img : EditMode::Invert;
                e.image = s_image;
                e.strength = 0.7;
                e.inversionSteps = 4;
                e.generate = smallRequest(run);
                auto r = editImage(*engine, e, obs, cancel);
                done(r.ok(), r.ok() && r->status == JobStatus::Cancelled, r.ok() ? "" : r.error().toString());
                break;
            }
            case Kind::EditVideo: {
                VideoEditRequest v;
                v.inputPath = (s_dir / "input.mp4").string();
                v.outputPath = out.string();
                v.edit.image = s_image; // replaced per frame
                v.edit.strength = 0.5;
                v.edit.generate = smallRequest(run);
                v.edit.generate.steps = 4;
                v.maxFrames = 4;
                auto r = editVideo(
                    *engine, v, [&](const VideoEditProgress &) { onAnything(); }, cancel);
                done(r.ok(), r.ok() && r->status == JobStatus::Cancelled, r.ok() ? "" : r.error().toString());
                break;
            }
            case Kind::Film: {
                FilmOptions fo;
                fo.scale = 2;
                fo.holdSeconds = 0.1;
                auto r = renderDenoisingFilm(
                    *engine, smallRequest(run), fo, out.string(),
                    [&](int, int, const std::string &) { onAnything(); }, cancel);
                done(r.ok(), r.ok() && r->status == JobStatus::Cancelled, r.ok() ? "" : r.error().toString());
                break;
            }
            case Kind::Train: {
                TrainOptions o;
                o.dataset = (s_dir / "data").string();
                o.model.inputSize = 8;
                o.model.inChannels = 1;
                o.model.depth = 2;
                o.model.hiddenSize = 32;
                o.model.numHeads = 2;
                o.model.patchSize = 4;
                o.batchSize = 4;
                o.totalSteps = 8;
                o.checkpointEvery = 2;
                o.logEvery = 1;
                o.outDir = out.string();
                try {
                    const long long steps = trainDiT(
                        o, [&](const TrainProgress &) { onAnything(); }, cancel);
                    done(true, steps < o.totalSteps, "");
                } catch (const std::exception &ex) {
                    done(false, false, ex.what());
                }
                break;
            }
            }
        });
        // Cancel (now, or after the current item) or close at a random moment: mostly within the first
        // 150 ms (loading and the first steps), sometimes up to 400 ms (most jobs have finished by then).
        std::this_thread::sleep_for(std::chrono::microseconds(rng() % 3 ? rng() % 150000 : rng() % 400000));
        if (rng() % 4 == 0)
            cancel.cancelAfterCurrentItem();
        else
            cancel.cancel();
        worker.join(); // close: wait for the engine thread, then destroy the engine
        engine.reset();
        const int o = outcome.load();
        ASSERT_TRUE(o == 0 || o == 1) << "the job ended with an error: " << error;
        EXPECT_TRUE(error.empty()) << error;
        EXPECT_EQ(lateCallbacks.load(), 0) << "an observer was called after the job returned";
        (o == 0 ? finished : cancelled)[static_cast<int>(kind)]++;
        if (kind == Kind::EditVideo || kind == Kind::Film) {
            if (o == 0)
                EXPECT_TRUE(fs::exists(out)) << "a finished job left no file";
            else
                EXPECT_FALSE(fs::exists(out)) << "a cancelled job left a file";
            for (const auto &e : fs::directory_iterator(s_dir))
                EXPECT_EQ(e.path().filename().string().find(out.filename().string() + "."), std::string::npos)
                    << "partial file " << e.path();
        }
        if (kind == Kind::Train && fs::exists(out / "state.json"))
            EXPECT_FALSE(fs::exists(out / ".checkpoint-next"))
                << "a training run left a half-written checkpoint";
        std::error_code ec;
        fs::remove_all(out, ec);
    }
    std::cout << "[ measured ] " << runs << " runs:";
    int anyFinished = 0, anyCancelled = 0;
    for (int k = 0; k < 5; ++k) {
        std::cout << ' ' << kindName(static_cast<Kind>(k)) << ' ' << finished[k] << " finished/"
                  << cancelled[k] << " cancelled;";
        anyFinished += finished[k];
        anyCancelled += cancelled[k];
    }
    std::cout << '\n';
    // The random moments must cover both outcomes, or the test did not exercise cancellation.
    if (runs >= 50) {
        EXPECT_GT(anyCancelled, runs / 5);
        EXPECT_GT(anyFinished, 0);
    }
}

} // namespace
} // namespace ditstudio::test
