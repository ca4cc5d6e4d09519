// Generation options shared by the CLI families that sample (video film/walk, explain): load the
// model and fill a GenerateRequest the way `generate` reads its flags.
#include "cli/cli_commands.h"
#include "ditstudio/class_names.h"
#include "ditstudio/defaults.h"
#include "ditstudio/tensor_file.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <iostream>
#include <optional>

#include <cstdlib>
#include <sstream>

namespace ditstudio::cli {

namespace fs = std::filesystem;

const std::set<std::string> kGenerationKeys
    = {"--model",          "--vae",          "--labels",
       "--prompt",         "--class",        "--steps",
       "--sampler",        "--eta",          "--cfg",
       "--cfg-channels",   "--cfg-interval", "--karras",
       "--seed",           "--device",       "--dtype",
       "--threads",        "--log-level",    "--quiet",
       "--json",           "--cache",        "--low-precision-residual",
       "--cache-threshold"};
LoadOptions loadOptionsFromFlags(const Args &a)
{
    LoadOptions lo;
    lo.device = opt(a, "--device", "auto");
    lo.labelsPath = opt(a, "--labels");
    lo.vaePath = opt(a, "--vae");
    lo.dtype = parsedOpt(a, "--dtype", parseDType, lo.dtype);
    lo.lowPrecisionResidual = a.flags.count("--low-precision-residual") > 0;
    return lo;
}

void samplingFromFlags(const Args &a, GenerateRequest &req)
{
    req.steps = static_cast<int>(intOpt(a, "--steps", req.steps, 1, 1000)); // req's steps are the default
    req.sampler = parsedOpt(a, "--sampler", parseSampler, req.sampler);
    req.eta = floatOpt(a, "--eta", 0.0);
    req.cfgScale = floatOpt(a, "--cfg", req.cfgScale); // req's guidance is the default
    const std::string ch = opt(a, "--cfg-channels", "3");
    if (ch != "3" && ch != "all")
        throw UsageError("--cfg-channels: expected 3 or all");
    req.guidedChannels = ch == "3" ? GuidedChannels::First3 : GuidedChannels::All;
    if (a.options.count("--cfg-interval")) {
        const auto v = opt(a, "--cfg-interval");
        const auto comma = v.find(',');
        if (comma == std::string::npos)
            throw UsageError("--cfg-interval: expected FROM,TO (fractions of the 1000 timesteps)");
        try {
            req.guidanceFrom = std::stod(v.substr(0, comma));
            req.guidanceTo = std::stod(v.substr(comma + 1));
        } catch (const std::exception &) {
            throw UsageError("--cfg-interval: expected FROM,TO as numbers, got '" + v + "'");
        }
        if (!(req.guidanceFrom >= 0 && req.guidanceFrom < req.guidanceTo && req.guidanceTo <= 1))
            throw UsageError("--cfg-interval: expected 0 <= FROM < TO <= 1, got '" + v + "'");
    }
    req.karrasSigmas = has(a, "--karras");
    req.cacheInterval = static_cast<int>(intOpt(a, "--cache", 1, 1, 8));
    req.cacheThreshold = floatOptIn(a, "--cache-threshold", 0.0, 0.0, 10.0);
    req.seed = static_cast<std::uint64_t>(intOpt(a, "--seed", 0, 0, (1LL << 62)));
}

/// Load the model and fill the sampler settings, as `generate` reads them.
GenerateRequest generationFromFlags(const Args &a, Engine &engine, SamplerKind defaultSampler,
                                    bool needCondition)
{
    const LoadOptions lo = loadOptionsFromFlags(a);
    GenerateRequest req;
    req.sampler = defaultSampler;
    samplingFromFlags(a, req);
    if (needCondition && a.options.count("--prompt") == a.options.count("--class"))
        throw UsageError("give exactly one of --prompt TEXT or --class N");
    const std::string modelPath = opt(a, "--model");
    auto loaded = modelPath.empty() ? engine.loadDefaultModel(lo) : engine.loadModel(modelPath, lo);
    if (!loaded.ok())
        fail(loaded.error().code, loaded.error().message);
    if (a.options.count("--class")) {
        // "--class N" for every image, or "--class A,B,..." one class per image of the batch.
        std::vector<Conditioning> perImage;
        std::stringstream ss(opt(a, "--class"));
        std::string item;
        const int maxClass = loaded->config.numClasses - 1;
        while (std::getline(ss, item, ',')) {
            char *end = nullptr;
            const long v = std::strtol(item.c_str(), &end, 10);
            if (item.empty() || *end != '\0' || v < 0 || v > maxClass)
                throw UsageError("--class: expected class indices 0.." + std::to_string(maxClass)
                                 + " separated by commas, got '" + opt(a, "--class") + "'");
            perImage.push_back(Conditioning {{{static_cast<int>(v), 1.0}}});
        }
        if (perImage.size() == 1)
            req.conditioning = perImage.front();
        else
            req.itemConditioning = perImage;
    } else if (a.options.count("--prompt")) {
        req.prompt = opt(a, "--prompt");
    }
    return req;
}

std::optional<GenerateResult> generateInterruptibly(Engine &engine, const GenerateRequest &request,
                                                    const GenerateObserver &observer)
{
    CancelToken cancel;
    std::optional<SigintCancels> sigint(std::in_place, cancel);
    auto result = engine.generate(request, observer, cancel);
    sigint.reset();
    if (!result.ok())
        fail(result.error().code, result.error().message);
    if (result->status == JobStatus::Cancelled) {
        std::cerr << "\ncancelled after " << result->stepsDone << " steps; nothing written\n";
        return std::nullopt;
    }
    return std::move(result).value();
}

HostTensor initNoiseFromFile(const std::string &path)
{
    auto file = valueOr(readTensorFile(path));
    if (!file.tensors.count("z"))
        fail(ErrorCode::NotFound, path + ": no tensor named 'z'");
    return std::move(file.tensors.at("z"));
}

int cmdGenerate(const Args &a)
{
    allowOnly(a,
              {"--model",
               "--vae",
               "--prompt",
               "--class",
               "--steps",
               "--sampler",
               "--eta",
               "--cfg",
               "--cfg-channels",
               "--cfg-interval",
               "--karras",
               "--seed",
               "--batch",
               "--out",
               "--overwrite",
               "--init-noise",
               "--save-latent",
               "--labels",
               "--device",
               "--dtype",
               "--threads",
               "--json",
               "--quiet",
               "--log-level",
               "--preview-dir",
               "--vae-preview-every",
               "--cache",
               "--low-precision-residual",
               "--cache-threshold"},
              "generate");
    if (!a.positional.empty())
        throw UsageError("generate: unexpected argument '" + a.positional[0] + "'");
    GenerateRequest req;
    req.sampler = kDefaultSampler; // the app's defaults (ditstudio/defaults.h) when none are given
    req.steps = kDefaultSteps;
    req.cfgScale = kDefaultCfgScale;
    const LoadOptions lo = loadOptionsFromFlags(a);
    req.vaePreviewEvery = static_cast<int>(intOpt(a, "--vae-preview-every", 0, 0, 100000));
    if (req.vaePreviewEvery > 0 && (lo.vaePath.empty() || !a.options.count("--preview-dir")))
        throw UsageError("--vae-preview-every needs --vae PATH and --preview-dir DIR");
    samplingFromFlags(a, req);
    const std::string ch = opt(a, "--cfg-channels", "3");
    req.batch = static_cast<int>(intOpt(a, "--batch", 1, 1, 256));
    const bool json = a.flags.count("--json") > 0;
    if (a.options.count("--prompt") == a.options.count("--class"))
        throw UsageError("generate: give exactly one of --prompt TEXT or --class N");

    Engine engine;
    const std::string modelPath = opt(a, "--model");
    auto loaded = modelPath.empty() ? engine.loadDefaultModel(lo) : engine.loadModel(modelPath, lo);
    if (!loaded.ok())
        fail(loaded.error().code, loaded.error().message);
    const auto &info = loaded.value();
    if (a.options.count("--class")) {
        const int cls = static_cast<int>(intOpt(a, "--class", 0, 0, info.config.numClasses - 1));
        req.conditioning = Conditioning {{{cls, 1.0}}};
    } else {
        req.prompt = opt(a, "--prompt");
        auto match = engine.parsePrompt(req.prompt);
        if (!match.ok())
            fail(match.error().code, match.error().message);
        for (const auto &w : match->warnings)
            std::cerr << "note: " << w << '\n';
        req.conditioning = match->conditioning;
    }
    if (a.options.count("--init-noise"))
        req.initNoise = initNoiseFromFile(opt(a, "--init-noise"));
    req.wantPreviews = a.options.count("--preview-dir") > 0;

    // Output paths, checked before sampling so no work is lost on a bad path.
    const std::string out = opt(a, "--out", "out/");
    const bool toDir = out.back() == '/' || out.back() == '\\' || fs::is_directory(out);
    const bool overwrite = a.flags.count("--overwrite") > 0;
    const std::string label
        = safeFileName(displayName(info.classNames, req.conditioning->classes[0].classId));
    std::vector<std::string> paths;
    if (toDir) {
        fs::create_directories(out);
        for (int i = 0; i < req.batch; ++i)
            paths.push_back(
                (fs::path(out)
                 / (label + "_" + std::to_string(req.seed + i) + "_" + std::to_string(i) + ".png"))
                    .string());
    } else {
        if (!fs::path(out).parent_path().empty())
            fs::create_directories(fs::path(out).parent_path());
        const auto stem = fs::path(out).parent_path() / fs::path(out).stem();
        for (int i = 0; i < req.batch; ++i)
            paths.push_back(req.batch == 1 ? out : stem.string() + "_" + std::to_string(i) + ".png");
    }
    for (const auto &p : paths)
        if (!overwrite && fs::exists(p))
            fail(ErrorCode::IoError, p + ": file exists (use --overwrite to replace it)");

    const std::string previewDir = opt(a, "--preview-dir");
    if (!previewDir.empty())
        fs::create_directories(previewDir);
    ProgressBar bar(!a.flags.count("--quiet"));
    GenerateObserver observer;
    observer.onStep = [&](const StepUpdate &u) {
        bar.update(u.step + 1, u.totalSteps, u.elapsedSeconds, "sampling");
        if (!previewDir.empty()) {
            for (size_t i = 0; i < u.previewXt.size(); ++i) {
                char name[64];
                std::snprintf(name, sizeof name, "step%03d_%zu", u.step, i);
                (void)writePng((fs::path(previewDir) / (std::string(name) + "_xt.png")).string(),
                               u.previewXt[i], {}, true);
                (void)writePng((fs::path(previewDir) / (std::string(name) + "_x0.png")).string(),
                               u.previewX0[i], {}, true);
            }
            for (size_t i = 0; i < u.decodedX0.size(); ++i) {
                char name[64];
                std::snprintf(name, sizeof name, "step%03d_%zu_x0_vae.png", u.step, i);
                (void)writePng((fs::path(previewDir) / name).string(), u.decodedX0[i], {}, true);
            }
        }
    };
    auto result = generateInterruptibly(engine, req, observer);
    if (!result)
        return 130;
    nlohmann::json params
        = {{"model", info.path},   {"architecture", info.config.name()},
           {"prompt", req.prompt}, {"conditioning", req.conditioning->describe(info.classNames)},
           {"steps", req.steps},   {"sampler", samplerName(req.sampler)},
           {"eta", req.eta},       {"cfg", req.cfgScale},
           {"cfg_channels", ch},   {"seed", req.seed},
           {"batch", req.batch},   {"vae", lo.vaePath}};
    for (size_t i = 0; i < result->images.size(); ++i) {
        auto p = params;
        p["seed"] = result->seeds[i];
        p["index"] = i;
        const std::string a1111 = req.conditioning->describe(info.classNames)
            + "\nSteps: " + std::to_string(req.steps) + ", Sampler: " + samplerName(req.sampler)
            + ", CFG scale: " + std::to_string(req.cfgScale) + ", Seed: " + std::to_string(result->seeds[i])
            + ", Model: " + info.config.name();
        auto w = writePng(paths[i], result->images[i], {{"parameters", a1111}, {"ditstudio", p.dump()}},
                          overwrite);
        if (!w.ok())
            fail(w.error().code, w.error().message);
    }
    if (a.options.count("--save-latent"))
        check(writeTensorFile(opt(a, "--save-latent"), {{"latent", result->latent}},
                              {{"architecture", info.config.name()}}));
    if (json) {
        nlohmann::json summary = params;
        summary["outputs"] = paths;
        summary["seconds"] = result->seconds;
        summary["steps_done"] = result->stepsDone;
        std::vector<int> classes;
        for (const auto &c : req.conditioning->classes)
            classes.push_back(c.classId);
        summary["classes"] = classes;
        summary["device"] = lo.device;
        summary["dtype"] = dtypeName(lo.dtype);
        if (a.options.count("--save-latent"))
            summary["latent"] = opt(a, "--save-latent");
        std::cout << summary.dump(2) << '\n';
    } else {
        for (const auto &p : paths)
            std::cerr << "wrote " << p << '\n';
    }
    return 0;
}

} // namespace ditstudio::cli
