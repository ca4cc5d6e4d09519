// ditstudio-cli video film|walk|info|frames: the denoising film, latent walks, and reading videos back.
#include "cli/cli_commands.h"
#include "cli/cli_common.h"
#include "ditstudio/engine.h"
#include "ditstudio/video.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>

namespace ditstudio::cli {

namespace fs = std::filesystem;

std::string usageVideo()
{
    return R"(
video commands:
  video film [generate options] --video OUT   one frame per sampling step, then a hold on the result
  video walk [generate options] --video OUT   a smooth walk between two seeds and/or two classes
  video info FILE [--json]                    codec, size, fps, duration, frames, rotation, comment
  video frames FILE --out DIR [--start N] [--count N]   decode frames to PNG files
video film options:
  --frames xt|x0|both (both)  --hold SECONDS (1)  --caption / --no-caption (caption: step, t, sigma)
video walk options:
  --frames N (24)  --from-seed A (--seed)  --to-seed B (A + 1)  --from-class N | --from-prompt TEXT
  (default: --class/--prompt)  --to-class N | --to-prompt TEXT (default: the from class)
  --sampler defaults to ddim here: deterministic, so the frames morph smoothly
video output options (film and walk):
  --codec h264|vp9|gif|mpeg4 (default: from the extension: .mp4 h264, .webm vp9, .gif gif)
  --fps N (10)  --crf N (h264 18, vp9 24; mpeg4: qscale 2)  --scale N (0 = short side >= 256 px)
  --filter nearest|bilinear|bicubic|lanczos (nearest)  --overwrite  --json  --quiet
)";
}

namespace {

const std::set<std::string> kVideoFlags = {"--caption", "--no-caption"};

const std::set<std::string> kOutputKeys
    = {"--video", "--codec", "--fps", "--crf", "--scale", "--filter", "--overwrite"};

template<typename T> T valueOr(Result<T> r, const std::string &flag)
{
    if (!r.ok())
        throw UsageError(flag + ": " + r.error().message);
    return std::move(r).value();
}

VideoWriterOptions outputFromFlags(const Args &a, const std::string &out)
{
    VideoWriterOptions vo;
    vo.codec = a.options.count("--codec") ? valueOr(parseVideoCodec(opt(a, "--codec")), "--codec")
                                          : valueOr(videoCodecForPath(out), "--video");
    vo.fps = floatOptIn(a, "--fps", 10.0, 0.1, 1000.0);
    vo.crf = static_cast<int>(intOpt(a, "--crf", -1, -1, 63));
    vo.overwrite = has(a, "--overwrite");
    return vo;
}

std::string requireVideo(const Args &a)
{
    const std::string out = opt(a, "--video");
    if (out.empty())
        throw UsageError("--video OUT is required (e.g. --video film.mp4)");
    if (!fs::path(out).parent_path().empty())
        fs::create_directories(fs::path(out).parent_path());
    return out;
}

nlohmann::json videoJson(const VideoInfo &v)
{
    return {{"path", v.path},
            {"container", v.container},
            {"codec", v.codec},
            {"encoder", v.encoder},
            {"width", v.width},
            {"height", v.height},
            {"fps", v.fps},
            {"duration", v.durationSeconds},
            {"frames", v.frameCount},
            {"frames_exact", v.frameCountExact},
            {"rotation", v.rotationDegrees},
            {"comment", v.comment},
            {"bytes", v.fileBytes}};
}

void report(const Args &a, const VideoInfo &v, int frames, double generateSeconds, double encodeSeconds)
{
    const double fps = encodeSeconds > 0 ? frames / encodeSeconds : 0;
    if (has(a, "--json")) {
        auto j = videoJson(v);
        j["generate_seconds"] = generateSeconds;
        j["encode_seconds"] = encodeSeconds;
        j["encode_fps"] = fps;
        std::cout << j.dump(2) << '\n';
    } else {
        std::fprintf(stderr,
                     "wrote %s: %s (%s) %dx%d, %d frames at %g fps, %.1f KiB; sampling %.2f s, "
                     "composing+encoding %.2f s (%.0f frames/s)\n",
                     v.path.c_str(), v.codec.c_str(), v.encoder.c_str(), v.width, v.height, frames, v.fps,
                     v.fileBytes / 1024.0, generateSeconds, encodeSeconds, fps);
    }
}

int cmdFilm(const Args &a)
{
    std::set<std::string> allowed = kGenerationKeys;
    allowed.insert(kOutputKeys.begin(), kOutputKeys.end());
    allowed.insert({"--frames", "--hold", "--caption", "--no-caption"});
    allowOnly(a, allowed, "video film");
    if (a.positional.size() > 1)
        throw UsageError("video film: unexpected argument '" + a.positional[1] + "'");
    const std::string out = requireVideo(a);
    FilmOptions fo;
    fo.video = outputFromFlags(a, out);
    fo.frames = valueOr(parseFilmFrames(opt(a, "--frames", "both")), "--frames");
    fo.holdSeconds = floatOptIn(a, "--hold", 1.0, 0.0, 60.0);
    fo.scale = static_cast<int>(intOpt(a, "--scale", 0, 0, 64));
    fo.filter = valueOr(parseScaleFilter(opt(a, "--filter", "nearest")), "--filter");
    if (has(a, "--caption") && has(a, "--no-caption"))
        throw UsageError("give --caption or --no-caption, not both");
    fo.caption = !has(a, "--no-caption");
    Engine engine;
    GenerateRequest req = generationFromFlags(a, engine, SamplerKind::Ddpm, true);
    ProgressBar bar(!has(a, "--quiet"));
    CancelToken cancel;
    SigintCancels sigint(cancel);
    auto film = renderDenoisingFilm(
        engine, req, fo, out,
        [&](int done, int total, const std::string &stage) { bar.update(done, total, 0, stage); }, cancel);
    if (!film.ok())
        fail(film.error().code, film.error().message);
    if (film->status == JobStatus::Cancelled) {
        std::cerr << "\ncancelled; nothing written\n";
        return 130;
    }
    std::cerr << '\n';
    report(a, film->video, film->framesWritten, film->generateSeconds, film->encodeSeconds);
    return 0;
}

Conditioning endpoint(const Args &a, Engine &engine, const std::string &side, const GenerateRequest &req)
{
    const std::string classKey = "--" + side + "-class", promptKey = "--" + side + "-prompt";
    if (a.options.count(classKey) && a.options.count(promptKey))
        throw UsageError("give " + classKey + " or " + promptKey + ", not both");
    if (a.options.count(classKey)) {
        const int cls = static_cast<int>(intOpt(a, classKey, 0, 0, engine.modelInfo().config.numClasses - 1));
        return Conditioning {{{cls, 1.0}}};
    }
    if (a.options.count(promptKey)) {
        auto m = engine.parsePrompt(opt(a, promptKey));
        if (!m.ok())
            fail(m.error().code, promptKey + ": " + m.error().message);
        for (const auto &w : m->warnings)
            std::cerr << "note: " << w << '\n';
        return m->conditioning;
    }
    if (req.conditioning)
        return *req.conditioning;
    if (!req.prompt.empty()) {
        auto m = engine.parsePrompt(req.prompt);
        if (!m.ok())
            fail(m.error().code, "--prompt: " + m.error().message);
        return m->conditioning;
    }
    throw UsageError("video walk: give --" + side + "-class/--" + side + "-prompt or --class/--prompt");
}

int cmdWalk(const Args &a)
{
    std::set<std::string> allowed = kGenerationKeys;
    allowed.insert(kOutputKeys.begin(), kOutputKeys.end());
    allowed.insert({"--frames", "--from-seed", "--to-seed", "--from-class", "--to-class", "--from-prompt",
                    "--to-prompt", "--caption", "--no-caption"});
    allowOnly(a, allowed, "video walk");
    if (a.positional.size() > 1)
        throw UsageError("video walk: unexpected argument '" + a.positional[1] + "'");
    const std::string out = requireVideo(a);
    WalkOptions wo;
    wo.video = outputFromFlags(a, out);
    wo.frames = static_cast<int>(intOpt(a, "--frames", 24, 2, 10000));
    wo.scale = static_cast<int>(intOpt(a, "--scale", 0, 0, 64));
    wo.filter = valueOr(parseScaleFilter(opt(a, "--filter", "nearest")), "--filter");
    wo.caption = !has(a, "--no-caption");
    Engine engine;
    GenerateRequest req = generationFromFlags(a, engine, SamplerKind::Ddim, false);
    wo.fromSeed = static_cast<std::uint64_t>(
        intOpt(a, "--from-seed", static_cast<long long>(req.seed), 0, 1LL << 62));
    wo.toSeed = static_cast<std::uint64_t>(
        intOpt(a, "--to-seed", static_cast<long long>(wo.fromSeed + 1), 0, 1LL << 62));
    wo.fromConditioning = endpoint(a, engine, "from", req);
    const bool toGiven = a.options.count("--to-class") || a.options.count("--to-prompt");
    wo.toConditioning = toGiven ? endpoint(a, engine, "to", req) : *wo.fromConditioning;
    ProgressBar bar(!has(a, "--quiet"));
    CancelToken cancel;
    SigintCancels sigint(cancel);
    auto walk = renderLatentWalk(
        engine, req, wo, out,
        [&](int done, int total, const std::string &stage) { bar.update(done, total, 0, stage); }, cancel);
    if (!walk.ok())
        fail(walk.error().code, walk.error().message);
    if (walk->status == JobStatus::Cancelled) {
        std::cerr << "\ncancelled; nothing written\n";
        return 130;
    }
    std::cerr << '\n';
    report(a, walk->video, walk->framesWritten, walk->generateSeconds, walk->encodeSeconds);
    return 0;
}

int cmdInfo(const Args &a)
{
    allowOnly(a, {"--json", "--log-level", "--threads"}, "video info");
    if (a.positional.size() != 2)
        throw UsageError("video info: expected one FILE");
    VideoReader reader;
    auto info = reader.open(a.positional[1]);
    if (!info.ok())
        fail(info.error().code, info.error().message);
    const auto &v = info.value();
    if (has(a, "--json")) {
        std::cout << videoJson(v).dump(2) << '\n';
        return 0;
    }
    std::printf(
        "path:      %s\ncontainer: %s\ncodec:     %s\nsize:      %dx%d\nfps:       %g\nduration:  %.3f s\n"
        "frames:    %lld%s\nrotation:  %d\ncomment:   %s\n",
        v.path.c_str(), v.container.c_str(), v.codec.c_str(), v.width, v.height, v.fps, v.durationSeconds,
        static_cast<long long>(v.frameCount), v.frameCountExact ? "" : " (estimated)", v.rotationDegrees,
        v.comment.c_str());
    return 0;
}

int cmdFrames(const Args &a)
{
    allowOnly(a, {"--out", "--start", "--count", "--overwrite", "--log-level", "--threads", "--quiet"},
              "video frames");
    if (a.positional.size() != 2)
        throw UsageError("video frames: expected one FILE");
    const std::string outDir = opt(a, "--out");
    if (outDir.empty())
        throw UsageError("video frames: --out DIR is required");
    fs::create_directories(outDir);
    VideoReader reader;
    VideoReaderOptions ro;
    ro.applyRotation = true;
    if (auto r = reader.open(a.positional[1], ro); !r.ok())
        fail(r.error().code, r.error().message);
    const long long start = intOpt(a, "--start", 0, 0, 1LL << 40);
    const long long count = intOpt(a, "--count", 1LL << 40, 1, 1LL << 40);
    if (start > 0)
        if (auto r = reader.seekFrame(start); !r.ok())
            fail(r.error().code, r.error().message);
    long long written = 0;
    while (written < count) {
        auto f = reader.read();
        if (!f.ok())
            fail(f.error().code, f.error().message);
        if (!f.value())
            break;
        char name[64];
        std::snprintf(name, sizeof name, "frame_%06lld.png", static_cast<long long>(f.value()->index));
        auto w = writePng((fs::path(outDir) / name).string(), f.value()->image,
                          {{"timestamp", std::to_string(f.value()->timestamp)}}, has(a, "--overwrite"));
        if (!w.ok())
            fail(w.error().code, w.error().message);
        ++written;
    }
    if (!has(a, "--quiet"))
        std::cerr << "wrote " << written << " frame(s) to " << outDir << '\n';
    return 0;
}

} // namespace

int cmdVideo(const std::vector<std::string> &argv)
{
    const Args a = parseArgs(argv, 1, kVideoFlags);
    const std::string sub = a.positional.empty() ? "" : a.positional[0];
    if (has(a, "--help") || sub.empty()) {
        std::cout << usageVideo();
        return sub.empty() && !has(a, "--help") ? 2 : 0;
    }
    if (sub == "film")
        return cmdFilm(a);
    if (sub == "walk")
        return cmdWalk(a);
    if (sub == "info")
        return cmdInfo(a);
    if (sub == "frames")
        return cmdFrames(a);
    throw UsageError("video: unknown subcommand '" + sub + "' (expected film, walk, info or frames)");
}

} // namespace ditstudio::cli
