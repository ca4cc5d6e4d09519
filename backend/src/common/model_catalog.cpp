// The catalogue of downloadable models and downloadCatalogModel() of models.h (torch-free, in
// ditstudio_common). The catalogue is compiled in: it is small, it must match this version's loader,
// and a compiled-in table cannot go missing from an install.
#include "common/atomic_file.h"
#include "common/errors.h"
#include "ditstudio/models.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>

namespace ditstudio {

namespace fs = std::filesystem;

namespace {

const char *kDiTNotice
    = "The DiT-XL/2 weights (William Peebles and Saining Xie, \"Scalable Diffusion Models with "
      "Transformers\", "
      "Meta Platforms, 2023) are licensed under Creative Commons Attribution-NonCommercial 4.0 International "
      "(CC BY-NC 4.0). You may use and share them for non-commercial purposes only, and must give credit. "
      "Licence: https://creativecommons.org/licenses/by-nc/4.0/ (see also "
      "https://github.com/facebookresearch/DiT/blob/main/LICENSE.txt).";

const char *kVaeNotice
    = "The Stable Diffusion VAE (Stability AI) is licensed under the MIT licence: use it for any purpose, "
      "keeping "
      "its copyright notice. Licence: https://huggingface.co/stabilityai/sd-vae-ft-ema (model card).";

std::vector<CatalogModel> makeCatalog()
{
    std::vector<CatalogModel> models;
    for (const int size : {256, 512}) {
        CatalogModel m;
        const std::string side = std::to_string(size);
        m.name = "dit-xl-2-" + side;
        m.title = "DiT-XL/2, " + side + "×" + side + " (ImageNet, official)";
        m.kind = ModelKind::DiT;
        m.url = "https://dl.fbaipublicfiles.com/DiT/models/DiT-XL-2-" + side + "x" + side + ".pt";
        m.fileName = "DiT-XL-2-" + side + "x" + side + ".pt";
        // Exact byte size and SHA-256 are not published; they are computed and recorded at download.
        m.expected = "DiT-XL/2, " + side + " px";
        m.approxSize = "about 2.7 GB";
        m.license = "CC-BY-NC-4.0";
        m.licenseUrl = "https://creativecommons.org/licenses/by-nc/4.0/";
        m.licenseNotice = kDiTNotice;
        m.requiresAcceptance = true;
        m.description = "The official class-conditional ImageNet DiT-XL/2 (675 million parameters) at " + side
            + " px; needs a Stable Diffusion VAE to decode its latents.";
        models.push_back(m);
    }
    for (const std::string variant : {"ema", "mse"}) {
        CatalogModel m;
        m.name = "sd-vae-ft-" + variant;
        m.title = "Stable Diffusion VAE ft-" + std::string(variant == "ema" ? "EMA" : "MSE");
        m.kind = ModelKind::Vae;
        m.url = "https://huggingface.co/stabilityai/sd-vae-ft-" + variant
            + "/resolve/main/diffusion_pytorch_model.safetensors";
        m.fileName = "sd-vae-ft-" + variant + ".safetensors";
        m.expected = "4 latent channels";
        m.approxSize = "about 335 MB";
        m.license = "MIT";
        m.licenseUrl = "https://huggingface.co/stabilityai/sd-vae-ft-" + variant;
        m.licenseNotice = kVaeNotice;
        m.requiresAcceptance = false;
        m.description = variant == "ema"
            ? "The VAE the official DiT samples were decoded with (fine-tuned with EMA weights)."
            : "The VAE fine-tuned with more MSE weight: smoother images.";
        models.push_back(m);
    }
    return models;
}

std::string utcNow()
{
    const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm {};
#if defined(_WIN32)
    gmtime_s(&tm, &now);
#else
    gmtime_r(&now, &tm);
#endif
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return text;
}

nlohmann::json readRecords(const fs::path &file)
{
    std::ifstream in(file);
    if (!in)
        return nlohmann::json::object();
    try {
        nlohmann::json j = nlohmann::json::parse(in);
        return j.is_object() ? j : nlohmann::json::object();
    } catch (const std::exception &) {
        return nlohmann::json::object();
    }
}

} // namespace

const char *modelKindName(ModelKind kind)
{
    return kind == ModelKind::DiT ? "dit" : "vae";
}

const std::vector<CatalogModel> &modelCatalog()
{
    static const std::vector<CatalogModel> catalog = makeCatalog();
    return catalog;
}

Result<CatalogModel> findCatalogModel(const std::string &name)
{
    std::string names;
    for (const auto &m : modelCatalog()) {
        if (m.name == name)
            return m;
        names += (names.empty() ? "" : ", ") + m.name;
    }
    return makeError(ErrorCode::NotFound, "no model '" + name + "' in the catalogue (known: " + names + ")");
}

fs::path defaultModelsDir()
{
    if (const char *env = std::getenv("DITSTUDIO_DATA_DIR"); env && *env)
        return fs::path(env) / "models";
    // The app's QStandardPaths::AppDataLocation for organisation and application "ditstudio".
    const fs::path app = fs::path("ditstudio") / "ditstudio";
#if defined(_WIN32)
    if (const char *appData = std::getenv("APPDATA"); appData && *appData)
        return fs::path(appData) / app / "models";
#elif defined(__APPLE__)
    if (const char *home = std::getenv("HOME"); home && *home)
        return fs::path(home) / "Library" / "Application Support" / app / "models";
#else
    if (const char *xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg)
        return fs::path(xdg) / app / "models";
    if (const char *home = std::getenv("HOME"); home && *home)
        return fs::path(home) / ".local" / "share" / app / "models";
#endif
    return fs::temp_directory_path() / app / "models";
}

Result<DownloadResult> downloadCatalogModel(const CatalogModel &entry, const ModelDownloadOptions &options,
                                            const DownloadObserver &observer, const CancelToken &cancel)
{
    const fs::path dir = options.directory.empty() ? defaultModelsDir() : options.directory;
    DownloadRequest request;
    request.url = options.urlOverride.empty() ? entry.url : options.urlOverride;
    request.destination = dir / entry.fileName;
    request.expectedSize = entry.sizeBytes;
    request.expectedSha256 = entry.sha256;
    request.overwrite = options.overwrite;
    request.maxAttempts = options.maxAttempts;
    request.retryDelaySeconds = options.retryDelaySeconds;
    if (options.identify) {
        const ContentCheck identify = options.identify;
        const std::string expected = entry.expected;
        request.check = [identify, expected](const fs::path &file) -> Result<std::string> {
            auto what = identify(file);
            if (what.ok() && !expected.empty() && what->find(expected) == std::string::npos)
                return makeError(ErrorCode::FormatError, "it is " + *what + ", expected " + expected);
            return what;
        };
    }
    auto result = downloadFile(request, observer, cancel);
    if (!result.ok() || result->status != DownloadStatus::Completed)
        return result;

    // Record what was downloaded (the size and SHA-256 the catalogue may not know) beside it.
    const fs::path recordFile = dir / "downloads.json";
    nlohmann::json records = readRecords(recordFile);
    records[entry.name] = {{"file", entry.fileName},
                           {"url", request.url},
                           {"bytes", result->bytes},
                           {"sha256", result->sha256},
                           {"sha256_verified", result->sha256Verified},
                           {"content", result->contentDescription},
                           {"license", entry.license},
                           {"date", utcNow()}};
    try {
        writeFileAtomically(recordFile, [&](std::ostream &out) { out << records.dump(2) << '\n'; });
    } catch (const DitException &e) {
        return makeError(e.code(), e.what());
    } catch (const std::exception &e) {
        return makeError(ErrorCode::IoError, recordFile.string() + ": " + e.what());
    }
    return result;
}

std::vector<RecordedDownload> recordedDownloads(const fs::path &directory)
{
    std::vector<RecordedDownload> out;
    const nlohmann::json records = readRecords(directory / "downloads.json");
    for (const auto &[name, r] : records.items()) {
        if (!r.is_object())
            continue;
        RecordedDownload d;
        d.name = name;
        d.path = directory / r.value("file", std::string());
        d.bytes = r.value("bytes", std::int64_t(0));
        d.sha256 = r.value("sha256", std::string());
        d.contentDescription = r.value("content", std::string());
        d.date = r.value("date", std::string());
        out.push_back(d);
    }
    return out;
}

} // namespace ditstudio
