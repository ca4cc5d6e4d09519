// downloadFile() and sha256OfFile() of models.h: resumable HTTP(S) downloads with libcurl.
//
// Torch-free (part of ditstudio_common): the GUI runs it directly on a worker thread. The transfer
// goes to "<destination>.part"; an existing .part is resumed with a Range request
// (CURLOPT_RESUME_FROM_LARGE). A server that ignores the range (200 instead of 206) restarts the file;
// 416 (range not satisfiable) restarts it once. Only after the size, the SHA-256 and the content
// check pass is the .part renamed to the destination (rename within one folder is atomic).
#include "common/sha256.h"
#include "ditstudio/models.h"
#include "ditstudio/runtime.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

namespace ditstudio {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

struct CurlDeleter {
    void operator()(CURL *curl) const { curl_easy_cleanup(curl); }
};
using CurlPtr = std::unique_ptr<CURL, CurlDeleter>;

struct FileCloser {
    void operator()(std::FILE *file) const { std::fclose(file); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

void initCurlOnce()
{
    // curl_global_init is not thread-safe in older libcurl; once per process.
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::int64_t fileSize(const fs::path &path)
{
    std::error_code ec;
    const auto size = fs::file_size(path, ec);
    return ec ? -1 : static_cast<std::int64_t>(size);
}

void removeQuietly(const fs::path &path)
{
    std::error_code ec;
    fs::remove(path, ec);
}

std::string withThousands(std::int64_t n)
{
    std::string digits = std::to_string(n < 0 ? -n : n);
    for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3)
        digits.insert(static_cast<std::size_t>(i), ",");
    return n < 0 ? "-" + digits : digits;
}

/// State of one attempt, shared with libcurl's callbacks.
struct Transfer {
    CURL *curl = nullptr;
    fs::path partPath;
    FilePtr file;
    std::int64_t offset = 0; ///< bytes in the .part file when this attempt started
    std::int64_t written = 0; ///< bytes written by this attempt
    std::int64_t total = -1; ///< full size, once the response says
    bool statusChecked = false;
    bool restartedFromZero = false;
    std::string writeError;
    const DownloadObserver *observer = nullptr;
    const CancelToken *cancel = nullptr;
    DownloadProgress progress;
    Clock::time_point lastReport {};
    Clock::time_point started = Clock::now(); ///< of this attempt
    std::deque<std::pair<Clock::time_point, std::int64_t>> samples; ///< (time, bytesDone) of the last seconds

    void report(bool force)
    {
        const auto now = Clock::now();
        const std::int64_t done = offset + written;
        samples.emplace_back(now, done);
        while (samples.size() > 2 && now - samples.front().first > std::chrono::seconds(3))
            samples.pop_front();
        if (!force && now - lastReport < std::chrono::milliseconds(100))
            return;
        lastReport = now;
        const double span = std::chrono::duration<double>(now - samples.front().first).count();
        progress.phase = DownloadProgress::Phase::Downloading;
        progress.bytesDone = done;
        progress.bytesTotal = total;
        progress.resumedFrom = offset;
        // The rate over the last ~3 s; over the whole attempt while that window is still too short.
        const double sinceStart = std::chrono::duration<double>(now - started).count();
        progress.bytesPerSecond = span > 0.25 ? double(done - samples.front().second) / span
            : sinceStart > 0.0                ? double(written) / sinceStart
                                              : 0.0;
        progress.etaSeconds = (total > 0 && progress.bytesPerSecond > 0)
            ? double(total - done) / progress.bytesPerSecond
            : -1.0;
        if (observer && *observer)
            (*observer)(progress);
    }
};

std::size_t onData(char *data, std::size_t size, std::size_t count, void *user)
{
    auto *t = static_cast<Transfer *>(user);
    const std::size_t bytes = size * count;
    if (!t->statusChecked) {
        t->statusChecked = true;
        long code = 0;
        curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
        if (t->offset > 0 && code == 200) {
            // The server sent the whole file instead of the range: start the .part over.
            t->file.reset(std::fopen(t->partPath.string().c_str(), "wb"));
            if (!t->file) {
                t->writeError = t->partPath.string() + ": cannot reopen for writing";
                return 0;
            }
            t->offset = 0;
            t->restartedFromZero = true;
        }
        curl_off_t length = -1;
        curl_easy_getinfo(t->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
        if (length >= 0)
            t->total = t->offset + static_cast<std::int64_t>(length);
    }
    if (bytes > 0 && std::fwrite(data, 1, bytes, t->file.get()) != bytes) {
        t->writeError = t->partPath.string() + ": write failed (disk full?)";
        return 0; // makes libcurl stop with CURLE_WRITE_ERROR
    }
    t->written += static_cast<std::int64_t>(bytes);
    return bytes;
}

int onProgress(void *user, curl_off_t, curl_off_t, curl_off_t, curl_off_t)
{
    auto *t = static_cast<Transfer *>(user);
    if (t->cancel->isCancelled())
        return 1; // CURLE_ABORTED_BY_CALLBACK
    if (t->statusChecked)
        t->report(false);
    return 0;
}

/// A broken-off connection that another attempt may resume.
bool isTransient(CURLcode code)
{
    switch (code) {
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_GOT_NOTHING:
#if LIBCURL_VERSION_NUM >= 0x073100
    case CURLE_HTTP2_STREAM:
#endif
        return true;
    default:
        return false;
    }
}

enum class AttemptOutcome { Done, Retry, Restart, Cancelled };

struct AttemptResult {
    AttemptOutcome outcome = AttemptOutcome::Done;
    std::optional<Error> error; ///< set when the download must stop with this error
    bool restartedFromZero = false; ///< the server ignored the range and sent the whole file
};

AttemptResult runAttempt(const DownloadRequest &request, const fs::path &part,
                         const DownloadObserver &observer, const CancelToken &cancel,
                         DownloadProgress &progress)
{
    CurlPtr curl(curl_easy_init());
    if (!curl)
        return {AttemptOutcome::Done, makeError(ErrorCode::Internal, "libcurl could not start a transfer")};
    Transfer t;
    t.curl = curl.get();
    t.partPath = part;
    t.offset = std::max<std::int64_t>(0, fileSize(part));
    t.total = request.expectedSize > 0 ? request.expectedSize : -1;
    t.observer = &observer;
    t.cancel = &cancel;
    t.progress = progress;
    t.file.reset(std::fopen(part.string().c_str(), t.offset > 0 ? "ab" : "wb"));
    if (!t.file)
        return {AttemptOutcome::Done,
                makeError(ErrorCode::IoError, part.string() + ": cannot open for writing")};

    char errorBuffer[CURL_ERROR_SIZE] = {};
    const std::string userAgent = std::string("DiTStudio/") + appVersion();
    CURL *c = curl.get();
    curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L); // Hugging Face redirects to its CDN
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, userAgent.c_str());
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errorBuffer);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, long(request.connectTimeoutSeconds * 1000));
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, std::max(1L, long(request.stallTimeoutSeconds)));
    curl_easy_setopt(c, CURLOPT_RESUME_FROM_LARGE, curl_off_t(t.offset));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, onData);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, onProgress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);

    progress.phase = DownloadProgress::Phase::Connecting;
    progress.resumedFrom = t.offset;
    progress.bytesDone = t.offset;
    if (observer)
        observer(progress);

    const CURLcode code = curl_easy_perform(c);
    if (t.file && std::fflush(t.file.get()) != 0 && t.writeError.empty())
        t.writeError = part.string() + ": write failed (disk full?)";
    t.file.reset();
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (t.statusChecked)
        t.report(true);
    progress = t.progress;
    progress.resumedFrom = t.offset;

    if (code == CURLE_OK)
        return {AttemptOutcome::Done, std::nullopt, t.restartedFromZero};
    if (code == CURLE_ABORTED_BY_CALLBACK && cancel.isCancelled())
        return {AttemptOutcome::Cancelled, std::nullopt};
    if (!t.writeError.empty())
        return {AttemptOutcome::Done, makeError(ErrorCode::IoError, t.writeError)};
    const std::string detail = errorBuffer[0] ? errorBuffer : curl_easy_strerror(code);
    if (code == CURLE_RANGE_ERROR && t.offset > 0)
        return {AttemptOutcome::Restart, std::nullopt}; // a 200 to a range request: the server cannot resume
    if (code == CURLE_HTTP_RETURNED_ERROR) {
        if (status == 416 && t.offset > 0)
            return {AttemptOutcome::Restart, std::nullopt}; // the .part is not a prefix we can extend
        const ErrorCode ec = (status == 404 || status == 410) ? ErrorCode::NotFound : ErrorCode::IoError;
        return {AttemptOutcome::Done,
                makeError(ec,
                          request.url + ": the server answered HTTP " + std::to_string(status)
                              + (status == 404 ? " (not found)" : ""))};
    }
    if (isTransient(code))
        return {
            AttemptOutcome::Retry,
            makeError(ErrorCode::IoError,
                      request.url + ": the connection broke off after " + withThousands(t.offset + t.written)
                          + (t.total > 0 ? " of " + withThousands(t.total) : std::string()) + " bytes ("
                          + detail + "); " + part.string() + " is kept and the next download resumes it")};
    return {AttemptOutcome::Done, makeError(ErrorCode::IoError, request.url + ": " + detail)};
}

Result<std::string> hashFile(const fs::path &path, const CancelToken *cancel)
{
    FilePtr file(std::fopen(path.string().c_str(), "rb"));
    if (!file)
        return makeError(ErrorCode::IoError, path.string() + ": cannot open to compute its SHA-256");
    Sha256 hash;
    std::vector<char> buffer(1 << 20);
    for (;;) {
        const std::size_t n = std::fread(buffer.data(), 1, buffer.size(), file.get());
        hash.update(buffer.data(), n);
        if (n < buffer.size()) {
            if (std::ferror(file.get()))
                return makeError(ErrorCode::IoError,
                                 path.string() + ": read error while computing its SHA-256");
            break;
        }
        if (cancel && cancel->isCancelled())
            return makeError(ErrorCode::Cancelled, path.string() + ": cancelled");
    }
    return hash.finishHex();
}

} // namespace

Result<std::string> sha256OfFile(const fs::path &file)
{
    return hashFile(file, nullptr);
}

Result<DownloadResult> downloadFile(const DownloadRequest &request, const DownloadObserver &observer,
                                    const CancelToken &cancel)
{
    if (request.url.empty())
        return makeError(ErrorCode::InvalidArgument, "download: no URL given");
    if (request.destination.empty())
        return makeError(ErrorCode::InvalidArgument, "download of " + request.url + ": no destination given");
    const auto started = Clock::now();
    const fs::path dest = request.destination;
    const fs::path part = fs::path(dest.string() + ".part");
    DownloadResult result;
    result.path = dest;
    std::error_code ec;

    if (fs::exists(dest, ec) && !request.overwrite) {
        result.status = DownloadStatus::AlreadyPresent;
        result.bytes = fileSize(dest);
        if (request.expectedSize > 0 && result.bytes != request.expectedSize)
            return makeError(ErrorCode::FormatError,
                             dest.string() + " already exists but has " + withThousands(result.bytes)
                                 + " bytes, expected " + withThousands(request.expectedSize)
                                 + "; delete it or download with overwrite");
        return result;
    }
    if (!dest.parent_path().empty()) {
        fs::create_directories(dest.parent_path(), ec);
        if (ec)
            return makeError(ErrorCode::IoError,
                             dest.parent_path().string() + ": cannot create the folder: " + ec.message());
    }
    initCurlOnce();

    result.resumedFrom = std::max<std::int64_t>(0, fileSize(part));
    if (request.expectedSize > 0 && result.resumedFrom > request.expectedSize) {
        removeQuietly(part); // longer than the file can be: not ours to extend
        result.resumedFrom = 0;
    }
    DownloadProgress progress;
    progress.bytesTotal = request.expectedSize > 0 ? request.expectedSize : -1;
    bool restarted = false;
    const int maxAttempts = std::max(1, request.maxAttempts);
    // A .part that already has every byte needs no transfer, only the checks.
    bool complete = request.expectedSize > 0 && result.resumedFrom == request.expectedSize;
    while (!complete) {
        ++result.attempts;
        progress.attempt = result.attempts;
        AttemptResult attempt = runAttempt(request, part, observer, cancel, progress);
        if (attempt.outcome != AttemptOutcome::Done || attempt.error) {
            if (fileSize(part) == 0)
                removeQuietly(part); // nothing arrived: leave no empty .part behind
        }
        if (attempt.restartedFromZero)
            result.resumedFrom = 0;
        if (attempt.outcome == AttemptOutcome::Cancelled) {
            result.status = DownloadStatus::Cancelled;
            result.bytes = std::max<std::int64_t>(0, fileSize(part));
            result.seconds = std::chrono::duration<double>(Clock::now() - started).count();
            return result;
        }
        if (attempt.outcome == AttemptOutcome::Restart && !restarted) {
            restarted = true;
            removeQuietly(part);
            result.resumedFrom = 0;
            continue;
        }
        if (attempt.outcome == AttemptOutcome::Done && !attempt.error) {
            complete = true;
            break;
        }
        if (attempt.outcome == AttemptOutcome::Retry && result.attempts < maxAttempts) {
            const auto until = Clock::now() + std::chrono::duration<double>(request.retryDelaySeconds);
            while (Clock::now() < until && !cancel.isCancelled())
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            continue;
        }
        if (attempt.outcome == AttemptOutcome::Restart) // a second 416: give up, leave nothing
            removeQuietly(part);
        return attempt.error
            ? *attempt.error
            : makeError(ErrorCode::IoError, request.url + ": the server refused the range request");
    }

    // Checks, on the .part file: size, SHA-256, content. A failure removes it.
    progress.phase = DownloadProgress::Phase::Verifying;
    progress.etaSeconds = -1;
    result.bytes = fileSize(part);
    progress.bytesDone = result.bytes;
    if (observer)
        observer(progress);
    if (request.expectedSize > 0 && result.bytes != request.expectedSize) {
        removeQuietly(part);
        return makeError(ErrorCode::FormatError,
                         request.url + ": downloaded " + withThousands(result.bytes) + " bytes, expected "
                             + withThousands(request.expectedSize) + "; the file was removed");
    }
    auto hash = hashFile(part, &cancel);
    if (!hash.ok()) {
        if (hash.error().code == ErrorCode::Cancelled) {
            result.status = DownloadStatus::Cancelled;
            return result;
        }
        return hash.error();
    }
    result.sha256 = *hash;
    if (!request.expectedSha256.empty()) {
        if (result.sha256 != request.expectedSha256) {
            removeQuietly(part);
            return makeError(ErrorCode::FormatError,
                             request.url + ": SHA-256 " + result.sha256 + " does not match the expected "
                                 + request.expectedSha256 + "; the file was removed");
        }
        result.sha256Verified = true;
    }
    if (request.check) {
        auto what = request.check(part);
        if (!what.ok()) {
            removeQuietly(part);
            return makeError(ErrorCode::FormatError,
                             dest.filename().string() + " is not the expected model: " + what.error().message
                                 + "; the file was removed");
        }
        result.contentDescription = *what;
    }
    if (request.overwrite)
        fs::remove(dest, ec);
    fs::rename(part, dest, ec);
    if (ec)
        return makeError(ErrorCode::IoError,
                         dest.string() + ": cannot move the finished download into place: " + ec.message());
    result.status = DownloadStatus::Completed;
    result.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    return result;
}

} // namespace ditstudio
