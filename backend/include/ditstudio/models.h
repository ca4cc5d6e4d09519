#pragma once
/// \file models.h
/// Getting the official models: a catalogue of downloadable checkpoints and one resumable, verified
/// HTTP(S) download used by both the app (File > Get models…) and `ditstudio-cli models get`.
///
///     using namespace ditstudio;
///     auto entry = findCatalogModel("sd-vae-ft-ema");              // Result<CatalogModel>
///     ModelDownloadOptions options;                                // into defaultModelsDir()
///     options.identify = [](const std::filesystem::path &file) {   // optional content check
///         return identifyModelFile(file.string(), ModelKind::Vae);
///     };
///     CancelToken cancel;                                          // cancel() from any thread
///     auto r = downloadCatalogModel(*entry, options,
///                                   [](const DownloadProgress &p) { ... p.bytesDone, p.etaSeconds ... },
///                                   cancel);
///     if (r.ok() && r->status == DownloadStatus::Completed) use(r->path);
///
/// Downloads go to `<destination>.part` and are renamed into place only after every check passed
/// (size, SHA-256 when known, the content check), so a partial file never looks complete. An
/// interrupted transfer is resumed with an HTTP Range request, by the same call (a few attempts) or
/// by the next one; a file that fails a check is reported and removed. Cancelling keeps the .part
/// file for the next call to resume.
///
/// Everything here except identifyModelFile() is torch-free and lives in ditstudio_common (libcurl
/// underneath), so the GUI calls it directly; identifyModelFile() needs the engine (the GUI reaches
/// it through the engine module). Calls block and are thread-agnostic; concurrent calls must use
/// different destinations. The observer runs on the calling thread.

#include "ditstudio/cancel_token.h"
#include "ditstudio/result.h"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace ditstudio {

/// What a downloadable file is; decides how its content is checked.
enum class ModelKind { DiT, Vae };

/// "dit" or "vae".
const char *modelKindName(ModelKind kind);

/// One downloadable model.
struct CatalogModel {
    std::string name; ///< command-line name, e.g. "dit-xl-2-256"
    std::string title; ///< "DiT-XL/2, 256×256 (ImageNet)"
    ModelKind kind = ModelKind::DiT;
    std::string url; ///< https address of the file
    std::string fileName; ///< name in the models folder
    std::int64_t sizeBytes = 0; ///< exact size in bytes; 0 when not known (recorded after download)
    std::string sha256; ///< lowercase hex; empty when not known (recorded after download)
    std::string expected; ///< what the content check must report, e.g. "DiT-XL/2" (empty: anything)
    std::string approxSize; ///< for display when sizeBytes is 0, e.g. "about 2.7 GB"
    std::string license; ///< SPDX identifier, e.g. "CC-BY-NC-4.0"
    std::string licenseUrl;
    std::string licenseNotice; ///< shown before downloading
    bool requiresAcceptance = false; ///< the notice must be accepted (non-commercial terms)
    std::string description;
};

/// The built-in catalogue: the official DiT-XL/2 at 256 and 512 px (Peebles & Xie, CC-BY-NC 4.0) and
/// the Stable Diffusion VAE ft-EMA and ft-MSE (Stability AI, MIT), in that order.
const std::vector<CatalogModel> &modelCatalog();
/// The catalogue entry with this name; NotFound (listing the names) otherwise.
Result<CatalogModel> findCatalogModel(const std::string &name);

/// Where downloaded models go: `$DITSTUDIO_DATA_DIR/models` when set, else the app's data folder
/// (Linux `$XDG_DATA_HOME/ditstudio/ditstudio/models`, else `~/.local/share/ditstudio/ditstudio/models`;
/// Windows `%APPDATA%/ditstudio/ditstudio/models`; macOS `~/Library/Application
/// Support/ditstudio/ditstudio/models`), the same folder the app's history lives in. Not created here.
std::filesystem::path defaultModelsDir();

/// Progress of one download, reported at most ~10 times a second and at each phase change.
struct DownloadProgress {
    enum class Phase { Connecting, Downloading, Verifying };
    Phase phase = Phase::Connecting;
    std::int64_t bytesDone = 0; ///< bytes in the .part file, resumed ones included
    std::int64_t bytesTotal = -1; ///< full size; -1 while unknown
    std::int64_t resumedFrom = 0; ///< bytes that were already there when this attempt started
    double bytesPerSecond = 0; ///< recent transfer rate
    double etaSeconds = -1; ///< time left at that rate; -1 while unknown
    int attempt = 1; ///< 1-based; > 1 after an interrupted connection was resumed
};
using DownloadObserver = std::function<void(const DownloadProgress &)>;

/// Checks a finished file before it is renamed into place: a short description of what it is
/// ("DiT-XL/2, 256 px, 675,129,632 parameters") or an Error, after which the file is removed.
using ContentCheck = std::function<Result<std::string>(const std::filesystem::path &file)>;

struct DownloadRequest {
    std::string url; ///< http, https (or file, for tests)
    std::filesystem::path destination; ///< the final file; its folder is created
    std::int64_t expectedSize = 0; ///< bytes; 0: unknown
    std::string expectedSha256; ///< lowercase hex; empty: unknown (computed and reported anyway)
    ContentCheck check; ///< optional
    bool overwrite = false; ///< replace an existing destination (else: AlreadyPresent)
    int maxAttempts = 4; ///< connections tried when one breaks off mid-body (>= 1)
    double retryDelaySeconds = 1.0; ///< wait between attempts
    double connectTimeoutSeconds = 30;
    double stallTimeoutSeconds = 60; ///< give up an attempt after this long without data
};

enum class DownloadStatus { Completed, AlreadyPresent, Cancelled };

struct DownloadResult {
    DownloadStatus status = DownloadStatus::Completed;
    std::filesystem::path path; ///< the destination (Completed, AlreadyPresent)
    std::int64_t bytes = 0; ///< size of the file
    std::int64_t resumedFrom = 0; ///< bytes taken over from an earlier .part file
    int attempts = 0; ///< connections made
    std::string sha256; ///< of the whole file (Completed)
    bool sha256Verified = false; ///< it matched DownloadRequest::expectedSha256
    std::string contentDescription; ///< from the ContentCheck
    double seconds = 0;
};

/// Download `request.url` to `request.destination` through `<destination>.part`, resuming a .part
/// left by an earlier call. Errors: NotFound (HTTP 404/410), IoError (network, HTTP errors, disk),
/// FormatError (wrong size, SHA-256 mismatch, content check failed; the file is removed),
/// InvalidArgument (empty URL or destination). Cancelled is a status; the .part file stays.
Result<DownloadResult> downloadFile(const DownloadRequest &request, const DownloadObserver &observer,
                                    const CancelToken &cancel);

/// SHA-256 of a file as lowercase hex; IoError names the file.
Result<std::string> sha256OfFile(const std::filesystem::path &file);

/// How downloadCatalogModel() fetches a catalogue entry.
struct ModelDownloadOptions {
    std::filesystem::path directory; ///< empty: defaultModelsDir()
    std::string urlOverride; ///< a mirror instead of the catalogue's address
    ContentCheck identify; ///< usually identifyModelFile() for the entry's kind
    bool overwrite = false;
    int maxAttempts = 4;
    double retryDelaySeconds = 1.0;
};

/// downloadFile() for a catalogue entry (its size and SHA-256 checked when known, the content check
/// must report `entry.expected`), then the result is recorded in `<directory>/downloads.json` (name,
/// url, size, sha256, what it is, date), written atomically. The licence is not asked for here: the
/// caller shows `entry.licenseNotice` first.
Result<DownloadResult> downloadCatalogModel(const CatalogModel &entry, const ModelDownloadOptions &options,
                                            const DownloadObserver &observer, const CancelToken &cancel);

/// The recorded facts of a finished download (from downloads.json), for listing.
struct RecordedDownload {
    std::string name;
    std::filesystem::path path;
    std::int64_t bytes = 0;
    std::string sha256;
    std::string contentDescription;
    std::string date; ///< UTC, ISO 8601
};
/// What downloads.json in `directory` records (empty when there is none or it cannot be read).
std::vector<RecordedDownload> recordedDownloads(const std::filesystem::path &directory);

/// Identify a checkpoint with the engine's inspection (no weights are loaded): for ModelKind::DiT the
/// architecture, image size and parameters ("DiT-XL/2, 256 px, 675,129,632 parameters"); for
/// ModelKind::Vae the layout and latent channels. FormatError when the file is not such a model.
/// Implemented in the engine (ditstudio_backend / the engine module), not in ditstudio_common.
Result<std::string> identifyModelFile(const std::string &path, ModelKind kind);

} // namespace ditstudio
