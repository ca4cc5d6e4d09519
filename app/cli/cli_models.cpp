// ditstudio-cli models list|get: the catalogue of official models and their download (models.h; the
// same implementation as the app's "Get models" dialog).
#include "cli/cli_commands.h"
#include "cli/cli_common.h"
#include "ditstudio/class_names.h"
#include "ditstudio/model_info.h"
#include "ditstudio/models.h"
#include "ditstudio/runtime.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

namespace ditstudio::cli {

namespace fs = std::filesystem;

namespace {

const char *kModelsUsage = R"(
models commands:
  models list [--dir DIR] [--json]
      the catalogue (official DiT-XL/2 at 256 and 512 px, SD VAE ft-EMA and ft-MSE): size, licence,
      and whether each is already in the models folder (default: <user data dir>/models)
  models get NAME [--dir DIR] [--url-override URL] [--accept-license] [--overwrite] [--quiet] [--json]
      download NAME, resuming a partial download; checked by size, SHA-256 (when known; otherwise
      computed and recorded in DIR/downloads.json) and architecture before it is renamed into place.
      Non-commercial weights (DiT, CC-BY-NC 4.0) print their licence and need --accept-license.
)";

std::string humanBytes(double bytes)
{
    const char *units[] = {"B", "KB", "MB", "GB", "TB"};
    int u = 0;
    while (bytes >= 1000 && u < 4) {
        bytes /= 1000;
        ++u;
    }
    char text[32];
    std::snprintf(text, sizeof text, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
    return text;
}

std::string clock(double seconds)
{
    if (seconds < 0)
        return "--:--";
    const long s = static_cast<long>(seconds + 0.5);
    char text[32];
    if (s >= 3600)
        std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
    else
        std::snprintf(text, sizeof text, "%02ld:%02ld", s / 60, s % 60);
    return text;
}

fs::path modelsDir(const Args &a)
{
    const std::string dir = opt(a, "--dir");
    return dir.empty() ? defaultModelsDir() : fs::path(dir);
}

int cmdList(const Args &a)
{
    allowOnly(a, {"--dir", "--json", "--log-level", "--threads"}, "models list");
    const fs::path dir = modelsDir(a);
    const auto records = recordedDownloads(dir);
    nlohmann::json out = nlohmann::json::array();
    for (const auto &m : modelCatalog()) {
        std::error_code ec;
        const fs::path path = dir / m.fileName;
        const bool present = fs::is_regular_file(path, ec);
        std::string sha = m.sha256;
        for (const auto &r : records)
            if (r.name == m.name && sha.empty())
                sha = r.sha256;
        if (has(a, "--json")) {
            out.push_back({{"name", m.name},
                           {"title", m.title},
                           {"kind", modelKindName(m.kind)},
                           {"url", m.url},
                           {"file", path.string()},
                           {"present", present},
                           {"bytes", m.sizeBytes > 0 ? nlohmann::json(m.sizeBytes) : nlohmann::json(nullptr)},
                           {"sha256", sha.empty() ? nlohmann::json(nullptr) : nlohmann::json(sha)},
                           {"license", m.license}});
            continue;
        }
        std::cout << m.name << "  " << m.title << '\n'
                  << "    " << (m.sizeBytes > 0 ? humanBytes(double(m.sizeBytes)) : m.approxSize)
                  << ", licence " << m.license
                  << (m.requiresAcceptance ? " (non-commercial; --accept-license)" : "") << '\n'
                  << "    " << m.url << '\n'
                  << "    " << (present ? "present: " : "not downloaded: ") << path.string() << '\n';
    }
    if (has(a, "--json"))
        std::cout << out.dump(2) << '\n';
    else
        std::cout << "models folder: " << dir.string() << '\n';
    return 0;
}

int cmdGet(const Args &a)
{
    allowOnly(a,
              {"--dir", "--url-override", "--accept-license", "--overwrite", "--quiet", "--json",
               "--log-level", "--threads"},
              "models get");
    if (a.positional.size() != 1)
        throw UsageError("models get: expected one NAME (see `ditstudio-cli models list`)");
    auto entry = findCatalogModel(a.positional[0]);
    if (!entry.ok())
        throw UsageError("models get: " + entry.error().message);
    const bool quiet = has(a, "--quiet") || has(a, "--json");
    std::cerr << "Licence of " << entry->name << " (" << entry->license << "):\n  " << entry->licenseNotice
              << '\n';
    if (entry->requiresAcceptance && !has(a, "--accept-license"))
        throw UsageError("models get " + entry->name
                         + ": these weights are for non-commercial use only; "
                           "add --accept-license to accept the licence above and download them");

    ModelDownloadOptions options;
    options.directory = modelsDir(a);
    options.urlOverride = opt(a, "--url-override");
    options.overwrite = has(a, "--overwrite");
    const ModelKind kind = entry->kind;
    options.identify = [kind](const fs::path &file) { return identifyModelFile(file.string(), kind); };

    CancelToken cancel;
    SigintCancels sigint(cancel);
    const auto started = std::chrono::steady_clock::now();
    DownloadProgress::Phase lastPhase = DownloadProgress::Phase::Connecting;
    auto observer = [&](const DownloadProgress &p) {
        if (quiet)
            return;
        if (p.phase == DownloadProgress::Phase::Verifying) {
            if (lastPhase != p.phase)
                std::fprintf(stderr, "\nverifying %s (size, SHA-256, architecture)...\n",
                             humanBytes(double(p.bytesDone)).c_str());
        } else if (p.phase == DownloadProgress::Phase::Downloading) {
            const double share = p.bytesTotal > 0 ? 100.0 * double(p.bytesDone) / double(p.bytesTotal) : 0.0;
            std::fprintf(stderr, "\r%s / %s  %5.1f%%  %s/s  ETA %s%s   ",
                         humanBytes(double(p.bytesDone)).c_str(),
                         p.bytesTotal > 0 ? humanBytes(double(p.bytesTotal)).c_str() : "?", share,
                         humanBytes(p.bytesPerSecond).c_str(), clock(p.etaSeconds).c_str(),
                         p.attempt > 1 ? (" (attempt " + std::to_string(p.attempt) + ")").c_str() : "");
        } else if (p.resumedFrom > 0 && lastPhase != DownloadProgress::Phase::Downloading) {
            std::fprintf(stderr, "resuming at %s\n", humanBytes(double(p.resumedFrom)).c_str());
        }
        lastPhase = p.phase;
    };
    if (!quiet)
        std::cerr << "downloading " << (options.urlOverride.empty() ? entry->url : options.urlOverride)
                  << "\n  to " << (options.directory / entry->fileName).string() << '\n';
    auto result = downloadCatalogModel(*entry, options, observer, cancel);
    if (!result.ok())
        fail(result.error().code, result.error().message);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (result->status == DownloadStatus::Cancelled) {
        std::cerr << "\ncancelled; " << humanBytes(double(result->bytes)) << " kept in "
                  << result->path.string() << ".part (run the same command to resume)\n";
        return 1;
    }
    if (has(a, "--json")) {
        std::cout << nlohmann::json {{"name", entry->name},
                                     {"status",
                                      result->status == DownloadStatus::Completed ? "completed" : "present"},
                                     {"file", result->path.string()},
                                     {"bytes", result->bytes},
                                     {"resumed_from", result->resumedFrom},
                                     {"attempts", result->attempts},
                                     {"sha256", result->sha256},
                                     {"sha256_verified", result->sha256Verified},
                                     {"content", result->contentDescription},
                                     {"seconds", seconds}}
                         .dump(2)
                  << '\n';
        return 0;
    }
    if (result->status == DownloadStatus::AlreadyPresent) {
        std::cout << entry->name << " is already present: " << result->path.string() << " ("
                  << humanBytes(double(result->bytes)) << "; --overwrite downloads it again)\n";
        return 0;
    }
    std::cout << "\n"
              << result->path.string() << '\n'
              << "  " << result->contentDescription << '\n'
              << "  " << result->bytes << " bytes, SHA-256 " << result->sha256
              << (result->sha256Verified ? " (verified)" : " (recorded in downloads.json)") << '\n';
    return 0;
}

} // namespace

std::string usageModels()
{
    return kModelsUsage;
}

int cmdModels(const std::vector<std::string> &argv)
{
    if (argv.size() >= 2 && (argv[1] == "--help" || argv[1] == "-h")) {
        std::cout << kModelsUsage;
        return 0;
    }
    if (argv.size() < 2)
        throw UsageError(std::string("models: expected list or get") + kModelsUsage);
    const Args a = parseArgs(argv, 2, {"--accept-license"});
    if (argv[1] == "list")
        return cmdList(a);
    if (argv[1] == "get")
        return cmdGet(a);
    throw UsageError("models: unknown command '" + argv[1] + "' (expected list or get)");
}

namespace {

nlohmann::json infoJson(const CheckpointInfo &info)
{
    const auto &c = info.config;
    return {{"path", info.path},
            {"format", info.format},
            {"layout", info.layout},
            {"family", info.family},
            {"architecture", c.name()},
            {"input_size", c.inputSize},
            {"patch_size", c.patchSize},
            {"in_channels", c.inChannels},
            {"hidden_size", c.hiddenSize},
            {"depth", c.depth},
            {"num_heads", c.numHeads},
            {"mlp_ratio", c.mlpRatio},
            {"num_classes", c.numClasses},
            {"learn_sigma", c.learnSigma},
            {"latent_space", info.latentSpace},
            {"parameters", info.parameterCount},
            {"dtype", info.dtype},
            {"class_names", info.classNames.size()}};
}

} // namespace

int cmdInspect(const Args &a)
{
    allowOnly(a, {"--json"}, "inspect");
    if (a.positional.size() != 1)
        throw UsageError("inspect: expected one PATH");
    const auto info = valueOr(inspectCheckpoint(a.positional[0]));
    if (a.flags.count("--json")) {
        std::cout << infoJson(info).dump(2) << '\n';
        return 0;
    }
    const auto &c = info.config;
    std::cout << "path:          " << info.path << '\n'
              << "format:        " << info.format << " (" << info.layout << " layout)\n"
              << "architecture:  " << c.name() << " (family " << info.family << ")\n"
              << "input_size:    " << c.inputSize
              << (info.latentSpace ? " (latent; image " + std::to_string(c.inputSize * 8) + " px)"
                                   : " (pixels)")
              << '\n'
              << "patch_size:    " << c.patchSize << '\n'
              << "in_channels:   " << c.inChannels << '\n'
              << "hidden_size:   " << c.hiddenSize << '\n'
              << "depth:         " << c.depth << '\n'
              << "num_heads:     " << c.numHeads << '\n'
              << "num_classes:   " << c.numClasses << (info.classNames.empty() ? " (no names)" : " (named)")
              << '\n'
              << "learn_sigma:   " << (c.learnSigma ? "true" : "false") << '\n'
              << "parameters:    " << info.parameterCount << '\n'
              << "dtype:         " << info.dtype << '\n';
    return 0;
}

int cmdClasses(const Args &a)
{
    allowOnly(a, {"--model", "--json", "--log-level"}, "classes");
    const std::string modelPath = opt(a, "--model", defaultModelPath());
    if (modelPath.empty())
        fail(ErrorCode::NotFound, "no --model given and the embedded default model was not found");
    const auto info = valueOr(inspectCheckpoint(modelPath));
    std::vector<int> ids;
    if (a.positional.empty()) {
        for (int i = 0; i < static_cast<int>(info.classNames.size()); ++i)
            ids.push_back(i);
    } else {
        ids = closestClasses(a.positional[0], info.classNames, 10);
    }
    for (int id : ids)
        std::cout << id << '\t' << info.classNames[id] << '\n';
    return 0;
}

} // namespace ditstudio::cli
