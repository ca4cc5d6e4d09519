// Generation options shared by the CLI families that sample (video film/walk, explain): load the
// model and fill a GenerateRequest the way `generate` reads its flags.
#include "cli/cli_commands.h"
#include "ditstudio/tensor_file.h"

#include <iostream>
#include <optional>

#include <cstdlib>
#include <sstream>

namespace ditstudio::cli {

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
    req.steps = static_cast<int>(intOpt(a, "--steps", 50, 1, 1000));
    req.sampler = parsedOpt(a, "--sampler", parseSampler, req.sampler);
    req.eta = floatOpt(a, "--eta", 0.0);
    req.cfgScale = floatOpt(a, "--cfg", 4.0);
    const std::string ch = opt(a, "--cfg-channels", "3");
    if (ch != "3" && ch != "all")
        throw UsageError("--cfg-channels: expected 3 or all");
    req.guidedChannels = ch == "3" ? GuidedChannels::First3 : GuidedChannels::All;
    if (a.options.count("--cfg-interval")) {
        const auto v = opt(a, "--cfg-interval");
        const auto comma = v.find(',');
        if (comma == std::string::npos)
            throw UsageError("--cfg-interval: expected FROM,TO (fractions of the 1000 timesteps)");
        req.guidanceFrom = std::stod(v.substr(0, comma));
        req.guidanceTo = std::stod(v.substr(comma + 1));
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

} // namespace ditstudio::cli
