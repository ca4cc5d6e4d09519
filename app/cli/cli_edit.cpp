// ditstudio-cli edit img2img|inpaint|invert|video: the editing operations of ditstudio/editing.h.
#include "cli/cli_commands.h"
#include "cli/cli_common.h"
#include "ditstudio/editing.h"
#include "ditstudio/engine.h"
#include "ditstudio/tensor_file.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <iostream>
#include <optional>
#include <sstream>

namespace ditstudio::cli {

namespace fs = std::filesystem;

std::string usageEdit()
{
    return R"(
edit: ditstudio-cli edit img2img|inpaint|invert|video --input FILE --out FILE [options]
  Inputs are center-cropped to a square and resized to the model's size (area when shrinking,
  bicubic when enlarging); results are at the model's size (28x28 gray for the default model).
  --model PATH --vae PATH --labels FILE --device --dtype   as for generate
  --prompt TEXT | --class N   target class (required)
  --steps N (50)  --sampler NAME (ddpm)  --eta F  --cfg F (4)  --cfg-channels 3|all  --karras  --seed N
  --strength F          img2img/inpaint/video: noise level to start from, 0..1 (img2img 0.75, inpaint 1)
  --mask FILE           inpaint: white = regenerate, same size as --input (default: the input's alpha,
                        transparent = regenerate)
  --outpaint L,T,R,B    inpaint: extend the canvas by these pixels (the new area is regenerated)
  --feather F           inpaint: blend width inside the mask edge, output pixels (1.5)
  --repaint-jump N --repaint-resample N   inpaint: RePaint resampling (ddpm/ddim; resample 1 = off)
  --source-prompt TEXT | --source-class N  invert: what the input shows (default: the target class)
  --save-noise FILE     invert: write the inverted noise as tensor "z" (reuse with generate --init-noise)
  --smooth F            video: temporal EMA of the edited latents, 0..0.99 (0 = off)
  --scale N             video: enlarge the frames N times in the file (1)
  --max-frames N  --crf N  --no-audio   video options
  --before FILE         also write the preprocessed input (what the model saw)
  --overwrite  --quiet  --json
)";
}

namespace {

Conditioning classOrPrompt(Engine &engine, const Args &a, const std::string &classKey,
                           const std::string &promptKey, bool required)
{
    if (a.options.count(classKey) && a.options.count(promptKey))
        throw UsageError("give only one of " + promptKey + " and " + classKey);
    if (a.options.count(classKey)) {
        const int n = engine.modelInfo().config.numClasses;
        return Conditioning {{{static_cast<int>(intOpt(a, classKey, 0, 0, n - 1)), 1.0}}};
    }
    if (!a.options.count(promptKey)) {
        if (required)
            throw UsageError("edit: give " + promptKey + " TEXT or " + classKey + " N");
        return {};
    }
    auto match = engine.parsePrompt(opt(a, promptKey));
    if (!match.ok())
        fail(match.error().code, match.error().message);
    for (const auto &w : match->warnings)
        std::cerr << "note: " << w << '\n';
    return match->conditioning;
}

Padding parsePadding(const std::string &text)
{
    Padding p;
    char c1 = 0, c2 = 0, c3 = 0;
    std::istringstream ss(text);
    if (!(ss >> p.left >> c1 >> p.top >> c2 >> p.right >> c3 >> p.bottom) || c1 != ',' || c2 != ','
        || c3 != ',' || !ss.eof())
        throw UsageError("--outpaint: expected LEFT,TOP,RIGHT,BOTTOM pixels, got '" + text + "'");
    if (p.left < 0 || p.top < 0 || p.right < 0 || p.bottom < 0)
        throw UsageError("--outpaint: padding must not be negative");
    return p;
}

void checkWritable(const std::string &path, bool overwrite)
{
    if (path.empty())
        throw UsageError("edit: --out FILE is required");
    if (!overwrite && fs::exists(path))
        fail(ErrorCode::IoError, path + ": file exists (use --overwrite to replace it)");
    if (!fs::path(path).parent_path().empty())
        fs::create_directories(fs::path(path).parent_path());
}

} // namespace

int cmdEdit(const std::vector<std::string> &argv)
{
    if (argv.size() < 2 || argv[1] == "--help") {
        std::cout << usageEdit();
        return argv.size() < 2 ? 2 : 0;
    }
    const std::string sub = argv[1];
    EditMode mode = EditMode::Img2Img;
    const bool video = sub == "video";
    if (!video) {
        auto parsed = parseEditMode(sub);
        if (!parsed.ok())
            throw UsageError("edit: expected img2img, inpaint, invert or video, got '" + sub + "'");
        mode = *parsed;
    }
    const Args a = parseArgs(argv, 2, {"--no-audio"});
    std::set<std::string> allowed
        = {"--model",        "--vae",    "--labels", "--device",    "--dtype", "--threads",
           "--log-level",    "--input",  "--out",    "--overwrite", "--quiet", "--json",
           "--prompt",       "--class",  "--steps",  "--sampler",   "--eta",   "--cfg",
           "--cfg-channels", "--karras", "--seed",   "--before"};
    if (mode == EditMode::Img2Img || video)
        allowed.insert("--strength");
    if (mode == EditMode::Inpaint && !video)
        allowed.insert(
            {"--strength", "--mask", "--outpaint", "--feather", "--repaint-jump", "--repaint-resample"});
    if (mode == EditMode::Invert && !video)
        allowed.insert({"--source-prompt", "--source-class", "--save-noise"});
    if (video)
        allowed.insert({"--smooth", "--scale", "--max-frames", "--crf", "--no-audio"});
    allowOnly(a, allowed, "edit " + sub);
    if (!a.positional.empty())
        throw UsageError("edit " + sub + ": unexpected argument '" + a.positional[0] + "'");
    const std::string input = opt(a, "--input");
    if (input.empty())
        throw UsageError("edit " + sub + ": --input FILE is required");
    const std::string out = opt(a, "--out");
    const bool overwrite = has(a, "--overwrite");
    checkWritable(out, overwrite);
    for (const char *extra : {"--before", "--save-noise"})
        if (has(a, extra))
            checkWritable(opt(a, extra), overwrite);

    EditRequest req;
    req.mode = mode;
    auto &g = req.generate;
    const LoadOptions lo = loadOptionsFromFlags(a);
    g.steps = static_cast<int>(intOpt(a, "--steps", 50, 1, 1000));
    req.inversionSteps = g.steps;
    g.sampler = parsedOpt(a, "--sampler", parseSampler, g.sampler);
    g.eta = floatOptIn(a, "--eta", 0.0, 0.0, 1.0);
    g.cfgScale = floatOptIn(a, "--cfg", 4.0, 0.0, 100.0);
    const std::string ch = opt(a, "--cfg-channels", "3");
    if (ch != "3" && ch != "all")
        throw UsageError("--cfg-channels: expected 3 or all");
    g.guidedChannels = ch == "3" ? GuidedChannels::First3 : GuidedChannels::All;
    g.karrasSigmas = has(a, "--karras");
    g.seed = static_cast<std::uint64_t>(intOpt(a, "--seed", 0, 0, (1LL << 62)));
    g.wantPreviews = false;
    req.strength = floatOptIn(a, "--strength", mode == EditMode::Inpaint ? 1.0 : 0.75, 0.0, 1.0);
    req.featherPixels = floatOptIn(a, "--feather", 1.5, 0.0, 100.0);
    req.repaintJump = static_cast<int>(intOpt(a, "--repaint-jump", 10, 1, 1000));
    req.repaintResample = static_cast<int>(intOpt(a, "--repaint-resample", 1, 1, 100));
    if (a.options.count("--outpaint"))
        req.outpaint = parsePadding(opt(a, "--outpaint"));
    const bool json = has(a, "--json");

    Engine engine;
    const std::string modelPath = opt(a, "--model");
    auto loaded = modelPath.empty() ? engine.loadDefaultModel(lo) : engine.loadModel(modelPath, lo);
    if (!loaded.ok())
        fail(loaded.error().code, loaded.error().message);
    g.conditioning = classOrPrompt(engine, a, "--class", "--prompt", true);
    if (mode == EditMode::Invert) {
        auto src = classOrPrompt(engine, a, "--source-class", "--source-prompt", false);
        if (!src.classes.empty())
            req.sourceConditioning = src;
    }

    CancelToken cancel;
    std::optional<SigintCancels> sigint(std::in_place, cancel);
    ProgressBar bar(!has(a, "--quiet"));
    nlohmann::json summary = {{"command", "edit " + sub},
                              {"input", input},
                              {"output", out},
                              {"class", g.conditioning->describe(engine.classNames())},
                              {"steps", g.steps},
                              {"sampler", samplerName(g.sampler)},
                              {"cfg", g.cfgScale},
                              {"seed", g.seed}};

    if (video) {
        VideoEditRequest vr;
        vr.inputPath = input;
        vr.outputPath = out;
        vr.overwrite = overwrite;
        vr.edit = req;
        vr.temporalSmoothing = floatOptIn(a, "--smooth", 0.0, 0.0, 0.99);
        vr.outputScale = static_cast<int>(intOpt(a, "--scale", 1, 1, 16));
        vr.maxFrames = static_cast<int>(intOpt(a, "--max-frames", 0, 0, 1000000));
        vr.crf = static_cast<int>(intOpt(a, "--crf", -1, -1, 63));
        vr.copyAudio = !has(a, "--no-audio");
        auto r = editVideo(
            engine, vr,
            [&](const VideoEditProgress &p) {
                bar.update(p.frame + 1, p.totalFrames, p.elapsedSeconds, "frames");
            },
            cancel);
        sigint.reset();
        if (!has(a, "--quiet"))
            std::cerr << '\n';
        if (!r.ok())
            fail(r.error().code, r.error().message);
        if (r->status == JobStatus::Cancelled) {
            std::cerr << "cancelled after " << r->frames << " frames; nothing written\n";
            return 130;
        }
        summary["frames"] = r->frames;
        summary["fps"] = r->fps;
        summary["audio_copied"] = r->audioCopied;
        summary["seconds"] = r->seconds;
        if (json)
            std::cout << summary.dump(2) << '\n';
        else
            std::cerr << "wrote " << out << " (" << r->frames << " frames at " << r->fps << " fps"
                      << (r->audioCopied ? ", audio copied" : "") << ") in " << r->seconds << " s\n";
        return 0;
    }

    auto image = readImage(input, true);
    if (!image.ok())
        fail(image.error().code, image.error().message);
    req.image = std::move(image.value());
    if (a.options.count("--mask")) {
        auto mask = readImage(opt(a, "--mask"));
        if (!mask.ok())
            fail(mask.error().code, mask.error().message);
        req.mask = std::move(mask.value());
    }
    GenerateObserver observer;
    observer.onStep = [&](const StepUpdate &u) {
        bar.update(u.step + 1, u.totalSteps, u.elapsedSeconds,
                   mode == EditMode::Invert && u.step < req.inversionSteps ? "inverting" : "denoising");
    };
    auto r = editImage(engine, req, observer, cancel);
    sigint.reset();
    if (!has(a, "--quiet"))
        std::cerr << '\n';
    if (!r.ok())
        fail(r.error().code, r.error().message);
    if (r->status == JobStatus::Cancelled) {
        std::cerr << "cancelled after " << r->stepsDone << " steps; nothing written\n";
        return 130;
    }
    summary["strength"] = req.strength;
    summary["seconds"] = r->seconds;
    summary["steps_done"] = r->stepsDone;
    const std::string params = std::string("edit ") + sub + ", " + summary["class"].get<std::string>()
        + ", Steps: " + std::to_string(g.steps) + ", Sampler: " + samplerName(g.sampler)
        + ", CFG scale: " + std::to_string(g.cfgScale) + ", Seed: " + std::to_string(g.seed)
        + (mode == EditMode::Invert ? "" : ", Strength: " + std::to_string(req.strength));
    if (auto w = writePng(out, r->image, {{"parameters", params}, {"ditstudio", summary.dump()}}, overwrite);
        !w.ok())
        fail(w.error().code, w.error().message);
    if (has(a, "--before"))
        if (auto w = writePng(opt(a, "--before"), r->before, {}, overwrite); !w.ok())
            fail(w.error().code, w.error().message);
    if (mode == EditMode::Invert) {
        auto p = imagePsnr(r->before, r->image);
        summary["psnr_vs_input_db"] = p.ok() ? p.value() : 0.0;
        if (has(a, "--save-noise"))
            check(writeTensorFile(opt(a, "--save-noise"), {{"z", r->noise}}));
    }
    if (json)
        std::cout << summary.dump(2) << '\n';
    else if (mode == EditMode::Invert)
        std::cerr << "wrote " << out << " (PSNR vs input " << summary["psnr_vs_input_db"].get<double>()
                  << " dB)\n";
    else
        std::cerr << "wrote " << out << '\n';
    return 0;
}

} // namespace ditstudio::cli
