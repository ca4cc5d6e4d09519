// The two videos the engine makes: the denoising film (one frame per sampling step) and the latent
// walk (one generation per frame, noise slerped and label embeddings mixed between two endpoints).
// Frames are composed with OpenCV (upscale, side-by-side panels, caption strip) and streamed into a
// VideoWriter, so a film never holds more than one frame in memory.
#include "common/errors.h"
#include "core/tensor_image.h"
#include "ditstudio/video.h"

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>

namespace ditstudio {

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t)
{
    return std::chrono::duration<double>(Clock::now() - t).count();
}

int cvInterpolation(ScaleFilter f)
{
    switch (f) {
    case ScaleFilter::Nearest:
        return cv::INTER_NEAREST;
    case ScaleFilter::Bilinear:
        return cv::INTER_LINEAR;
    case ScaleFilter::Bicubic:
        return cv::INTER_CUBIC;
    case ScaleFilter::Lanczos:
        return cv::INTER_LANCZOS4;
    }
    return cv::INTER_NEAREST;
}

/// The upscale factor: the given one, or the smallest making the short side at least 256 px.
int autoScale(int scale, int w, int h)
{
    if (scale > 0)
        return scale;
    const int side = std::max(1, std::min(w, h));
    return std::max(1, (256 + side - 1) / side);
}

/// An 8-bit image (1/3/4 channels) as an RGB cv::Mat of size w x h (an upscale by the film's factor;
/// for latent models the final VAE decode is larger than the step previews and is scaled to match).
cv::Mat panel(const Image &im, int w, int h, ScaleFilter filter)
{
    if (im.empty())
        fail(ErrorCode::Internal, "film: a step preview is empty");
    cv::Mat src(im.height, im.width, CV_8UC(im.channels), const_cast<std::uint8_t *>(im.pixels.data()));
    cv::Mat rgb;
    if (im.channels == 1)
        cv::cvtColor(src, rgb, cv::COLOR_GRAY2RGB);
    else if (im.channels == 4)
        cv::cvtColor(src, rgb, cv::COLOR_RGBA2RGB);
    else
        rgb = src.clone();
    if (im.width == w && im.height == h)
        return rgb;
    cv::Mat out;
    const bool shrink = im.width > w || im.height > h;
    cv::resize(rgb, out, cv::Size(w, h), 0, 0, shrink ? cv::INTER_AREA : cvInterpolation(filter));
    return out;
}

/// Panels side by side (separated by a thin dark gap) with an optional caption strip underneath.
Image compose(const std::vector<cv::Mat> &panels, const std::string &caption, bool withCaption)
{
    const int gap = panels.size() > 1 ? std::max(2, panels[0].rows / 64) : 0;
    int width = 0;
    for (size_t i = 0; i < panels.size(); ++i)
        width += panels[i].cols + (i ? gap : 0);
    const int imageH = panels[0].rows;
    const int stripH = withCaption ? std::max(18, imageH / 12) : 0;
    cv::Mat frame(imageH + stripH, width, CV_8UC3, cv::Scalar(24, 24, 24));
    int x = 0;
    for (const auto &p : panels) {
        p.copyTo(frame(cv::Rect(x, 0, p.cols, p.rows)));
        x += p.cols + gap;
    }
    if (withCaption && !caption.empty()) {
        const int font = cv::FONT_HERSHEY_SIMPLEX;
        const int thickness = 1;
        double fontScale = cv::getFontScaleFromHeight(font, static_cast<int>(stripH * 0.55), thickness);
        int baseline = 0;
        cv::Size size = cv::getTextSize(caption, font, fontScale, thickness, &baseline);
        if (size.width > width - 8) { // shrink to fit the width
            fontScale *= static_cast<double>(width - 8) / size.width;
            size = cv::getTextSize(caption, font, fontScale, thickness, &baseline);
        }
        const cv::Point origin((width - size.width) / 2, imageH + (stripH + size.height) / 2);
        cv::putText(frame, caption, origin, font, fontScale, cv::Scalar(235, 235, 235), thickness,
                    cv::LINE_AA);
    }
    Image out;
    out.width = frame.cols;
    out.height = frame.rows;
    out.channels = 3;
    out.pixels.assign(frame.data, frame.data + frame.total() * 3);
    return out;
}

std::string formatNumber(const char *fmt, double v)
{
    char buf[64];
    std::snprintf(buf, sizeof buf, fmt, v);
    return buf;
}

/// The request's conditioning, resolved from its prompt when needed.
Conditioning resolveConditioning(Engine &engine, const GenerateRequest &request)
{
    if (request.conditioning)
        return *request.conditioning;
    auto match = engine.parsePrompt(request.prompt);
    if (!match.ok())
        throw DitException(match.error().code, match.error().message);
    return match->conditioning;
}

nlohmann::json requestJson(const Engine &engine, const GenerateRequest &r, const Conditioning &cond)
{
    const auto &info = engine.modelInfo();
    return {{"app", "DiT Studio"},
            {"model", info.path},
            {"architecture", info.config.name()},
            {"prompt", r.prompt},
            {"conditioning", cond.describe(info.classNames)},
            {"steps", r.steps},
            {"sampler", samplerName(r.sampler)},
            {"eta", r.eta},
            {"cfg", r.cfgScale},
            {"karras", r.karrasSigmas},
            {"seed", r.seed}};
}

/// Starting noise of one image for a seed, drawn exactly as Engine::generate draws it (one CPU
/// generator per image seeded with the seed, standard normal [1, C, H, W]).
torch::Tensor seedNoise(std::uint64_t seed, int channels, int size)
{
    auto gen = at::detail::createCPUGenerator(seed);
    return at::randn({1, channels, size, size}, gen, torch::TensorOptions().dtype(torch::kFloat32));
}

/// (1 - t) * a + t * b on the class weights; classes with zero weight are dropped.
Conditioning mixConditioning(const Conditioning &a, const Conditioning &b, double t)
{
    std::map<int, double> w;
    for (const auto &c : a.classes)
        w[c.classId] += (1.0 - t) * c.weight;
    for (const auto &c : b.classes)
        w[c.classId] += t * c.weight;
    Conditioning out;
    for (const auto &[id, weight] : w)
        if (std::abs(weight) > 1e-9)
            out.classes.push_back({id, weight});
    return out;
}

} // namespace

HostTensor slerp(const HostTensor &a, const HostTensor &b, double t)
{
    if (a.shape != b.shape || a.data.size() != b.data.size())
        fail(ErrorCode::ShapeMismatch, "slerp: the two tensors differ in shape");
    double dot = 0, na = 0, nb = 0;
    for (size_t i = 0; i < a.data.size(); ++i) {
        dot += double(a.data[i]) * b.data[i];
        na += double(a.data[i]) * a.data[i];
        nb += double(b.data[i]) * b.data[i];
    }
    HostTensor out {a.shape, std::vector<float>(a.data.size())};
    const double cosTheta = (na > 0 && nb > 0) ? std::clamp(dot / std::sqrt(na * nb), -1.0, 1.0) : 1.0;
    const double theta = std::acos(cosTheta);
    double wa = 1.0 - t, wb = t; // nearly parallel: linear is exact enough and avoids 0/0
    if (std::sin(theta) > 1e-6) {
        wa = std::sin((1.0 - t) * theta) / std::sin(theta);
        wb = std::sin(t * theta) / std::sin(theta);
    }
    for (size_t i = 0; i < a.data.size(); ++i)
        out.data[i] = static_cast<float>(wa * a.data[i] + wb * b.data[i]);
    return out;
}

Result<FilmResult> renderDenoisingFilm(Engine &engine, GenerateRequest request, const FilmOptions &options,
                                       const std::string &path, const VideoProgress &progress,
                                       const CancelToken &cancel)
{
    return guarded(std::string(), [&]() -> FilmResult {
        if (!engine.hasModel())
            fail(ErrorCode::InvalidArgument, "film: no model is loaded");
        if (request.batch != 1)
            fail(ErrorCode::InvalidArgument,
                 "film: batch must be 1 (got " + std::to_string(request.batch) + ")");
        if (!(options.holdSeconds >= 0 && options.holdSeconds <= 60))
            fail(ErrorCode::InvalidArgument, "film: hold must be 0..60 seconds");
        if (options.scale < 0 || options.scale > 64)
            fail(ErrorCode::InvalidArgument, "film: scale must be 0 (auto) or 1..64");
        const Conditioning cond = resolveConditioning(engine, request);
        request.conditioning = cond;
        request.wantPreviews = true;

        VideoWriterOptions vo = options.video;
        auto params = requestJson(engine, request, cond);
        params["kind"] = "denoising-film";
        params["frames"] = filmFramesName(options.frames);
        params["fps"] = vo.fps;
        vo.comment = params.dump();
        VideoWriter writer;
        if (auto r = writer.open(path, vo); !r.ok()) // before sampling: a bad path costs nothing
            throw DitException(r.error().code, r.error().message);

        const int holdFrames = static_cast<int>(std::lround(options.holdSeconds * vo.fps));
        const int total = request.steps + holdFrames;
        FilmResult out;
        std::optional<Error> writeError;
        CancelToken inner; // stops sampling on the caller's cancel or on a write error
        double encodeSeconds = 0;
        int panelW = 0, panelH = 0; // fixed by the first step preview
        auto makeFrame = [&](const Image &xt, const Image &x0, const std::string &caption) {
            if (!panelW) {
                const int scale = autoScale(options.scale, x0.width, x0.height);
                panelW = x0.width * scale;
                panelH = x0.height * scale;
            }
            std::vector<cv::Mat> panels;
            if (options.frames != FilmFrames::X0)
                panels.push_back(panel(xt, panelW, panelH, options.filter));
            if (options.frames != FilmFrames::Xt)
                panels.push_back(panel(x0, panelW, panelH, options.filter));
            return compose(panels, caption, options.caption);
        };
        const std::string prefix = options.frames == FilmFrames::Both ? "x_t | x0   " : "";
        GenerateObserver observer;
        observer.onStep = [&](const StepUpdate &u) {
            if (cancel.isCancelled() || writeError) {
                inner.cancel();
                return;
            }
            const auto t0 = Clock::now();
            if (u.previewXt.empty() || u.previewX0.empty()) {
                writeError = makeError(ErrorCode::Internal, "film: the engine sent no step preview");
                inner.cancel();
                return;
            }
            const std::string caption = prefix + "step " + std::to_string(u.step + 1) + "/"
                + std::to_string(u.totalSteps) + "  t=" + formatNumber("%.0f", u.timestep)
                + "  sigma=" + formatNumber("%.3g", u.sigma);
            if (auto r = writer.write(makeFrame(u.previewXt[0], u.previewX0[0], caption)); !r.ok()) {
                writeError = r.error();
                inner.cancel();
            }
            encodeSeconds += secondsSince(t0);
            if (progress)
                progress(static_cast<int>(writer.framesWritten()), total, "sampling");
            if (cancel.isCancelled())
                inner.cancel();
        };
        const auto start = Clock::now();
        auto gen = engine.generate(request, observer, inner);
        if (!gen.ok())
            throw DitException(gen.error().code, gen.error().message);
        if (writeError)
            throw DitException(writeError->code, writeError->message);
        out.generation = std::move(gen.value());
        if (out.generation.status == JobStatus::Cancelled || cancel.isCancelled()) {
            writer.abort();
            out.status = JobStatus::Cancelled;
            return out;
        }
        // Hold on the final image (the finished sample in every panel).
        const auto t0 = Clock::now();
        const Image &final = out.generation.images.at(0);
        const Image held = makeFrame(final, final,
                                     prefix + "final  (" + std::to_string(request.steps) + " steps, "
                                         + samplerName(request.sampler) + ")");
        for (int i = 0; i < holdFrames; ++i) {
            if (cancel.isCancelled()) {
                writer.abort();
                out.status = JobStatus::Cancelled;
                return out;
            }
            if (auto r = writer.write(held); !r.ok())
                throw DitException(r.error().code, r.error().message);
            if (progress)
                progress(static_cast<int>(writer.framesWritten()), total, "hold");
        }
        auto info = writer.finish();
        if (!info.ok())
            throw DitException(info.error().code, info.error().message);
        encodeSeconds += secondsSince(t0);
        out.video = info.value();
        out.framesWritten = static_cast<int>(out.video.frameCount);
        out.encodeSeconds = encodeSeconds;
        out.generateSeconds = secondsSince(start) - encodeSeconds;
        if (progress)
            progress(out.framesWritten, total, "done");
        return out;
    });
}

Result<WalkResult> renderLatentWalk(Engine &engine, GenerateRequest request, const WalkOptions &options,
                                    const std::string &path, const VideoProgress &progress,
                                    const CancelToken &cancel)
{
    return guarded(std::string(), [&]() -> WalkResult {
        if (!engine.hasModel())
            fail(ErrorCode::InvalidArgument, "walk: no model is loaded");
        if (options.frames < 2 || options.frames > 10000)
            fail(ErrorCode::InvalidArgument,
                 "walk: frames must be in 2..10000 (got " + std::to_string(options.frames) + ")");
        if (options.scale < 0 || options.scale > 64)
            fail(ErrorCode::InvalidArgument, "walk: scale must be 0 (auto) or 1..64");
        const auto &cfg = engine.modelInfo().config;
        const auto names = engine.classNames();
        const Conditioning from
            = options.fromConditioning ? *options.fromConditioning : resolveConditioning(engine, request);
        const Conditioning to = options.toConditioning ? *options.toConditioning : from;
        for (const auto *c : {&from, &to})
            if (c->classes.empty())
                fail(ErrorCode::InvalidArgument, "walk: a conditioning endpoint has no class");
        const HostTensor za = toHost(seedNoise(options.fromSeed, cfg.inChannels, cfg.inputSize));
        const HostTensor zb = toHost(seedNoise(options.toSeed, cfg.inChannels, cfg.inputSize));

        request.batch = 1;
        request.wantPreviews = false;
        request.wantStepTensors = false;
        request.seed = options.fromSeed; // per-step noise of stochastic samplers: the same for every frame

        VideoWriterOptions vo = options.video;
        auto params = requestJson(engine, request, from);
        params["kind"] = "latent-walk";
        params["from_seed"] = options.fromSeed;
        params["to_seed"] = options.toSeed;
        params["from"] = from.describe(names);
        params["to"] = to.describe(names);
        params["frames"] = options.frames;
        params["fps"] = vo.fps;
        params.erase("conditioning");
        params.erase("seed");
        vo.comment = params.dump();
        VideoWriter writer;
        if (auto r = writer.open(path, vo); !r.ok())
            throw DitException(r.error().code, r.error().message);

        WalkResult out;
        const auto start = Clock::now();
        double encodeSeconds = 0;
        const bool seedWalk = options.fromSeed != options.toSeed;
        for (int i = 0; i < options.frames; ++i) {
            if (cancel.isCancelled()) {
                writer.abort();
                out.status = JobStatus::Cancelled;
                return out;
            }
            const double t = static_cast<double>(i) / (options.frames - 1);
            GenerateRequest r = request;
            r.initNoise = slerp(za, zb, t);
            r.conditioning = mixConditioning(from, to, t);
            r.prompt.clear();
            auto gen = engine.generate(r, {}, cancel);
            if (!gen.ok())
                throw DitException(gen.error().code, gen.error().message);
            if (gen->status == JobStatus::Cancelled) {
                writer.abort();
                out.status = JobStatus::Cancelled;
                return out;
            }
            const auto t0 = Clock::now();
            const Image &im = gen->images.at(0);
            std::string caption = "alpha " + formatNumber("%.2f", t);
            if (seedWalk)
                caption
                    += "  seed " + std::to_string(options.fromSeed) + ">" + std::to_string(options.toSeed);
            caption += "  " + r.conditioning->describe(names);
            const int scale = autoScale(options.scale, im.width, im.height);
            const Image frame = compose({panel(im, im.width * scale, im.height * scale, options.filter)},
                                        caption, options.caption);
            if (auto w = writer.write(frame); !w.ok())
                throw DitException(w.error().code, w.error().message);
            encodeSeconds += secondsSince(t0);
            if (progress)
                progress(i + 1, options.frames, "walk");
        }
        const auto t0 = Clock::now();
        auto info = writer.finish();
        if (!info.ok())
            throw DitException(info.error().code, info.error().message);
        encodeSeconds += secondsSince(t0);
        out.video = info.value();
        out.framesWritten = static_cast<int>(out.video.frameCount);
        out.encodeSeconds = encodeSeconds;
        out.generateSeconds = secondsSince(start) - encodeSeconds;
        return out;
    });
}

} // namespace ditstudio
