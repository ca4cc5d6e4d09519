#pragma once
/// \file video.h
/// Video output and input over FFmpeg (libavformat/libavcodec/libswscale), and the two videos the
/// engine makes: the denoising film of one generation and the latent walk between seeds/classes.
///
/// Threads: a VideoWriter or VideoReader is used from one thread at a time; different instances are
/// independent. Errors come back as Result values naming the file and the FFmpeg call; a cancelled
/// film or walk is reported in its result's status and leaves no file behind.
///
/// Example:
///     ditstudio::FilmOptions film;
///     film.video.fps = 12;
///     auto r = ditstudio::renderDenoisingFilm(engine, request, film, "film.mp4");
///     // r->video.path, r->framesWritten; a cancel leaves no file

#include "ditstudio/cancel_token.h"
#include "ditstudio/engine.h"
#include "ditstudio/result.h"
#include "ditstudio/types.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ditstudio {

/// Video codecs the writer produces. The container follows the file extension (.mp4/.mov/.mkv for
/// H.264 and MPEG-4 part 2, .webm/.mkv for VP9, .gif for GIF).
enum class VideoCodec {
    H264, ///< libx264, yuv420p (odd sizes padded to even by repeating the last row/column)
    Vp9, ///< libvpx-vp9, yuv420p, constant quality
    Gif, ///< FFmpeg's GIF encoder, pal8 with a median-cut palette computed per frame
    Mpeg4, ///< FFmpeg's native MPEG-4 part 2 encoder: the fallback when libx264 is missing
};
const char *videoCodecName(VideoCodec codec); ///< "h264", "vp9", "gif", "mpeg4"
/// Inverse of videoCodecName; the error lists the accepted names.
Result<VideoCodec> parseVideoCodec(const std::string &name);
/// The codec a file name asks for by its extension (.mp4/.mov -> h264, .webm -> vp9, .gif -> gif).
Result<VideoCodec> videoCodecForPath(const std::string &path);

/// Resampling filter for resizing frames.
enum class ScaleFilter { Nearest, Bilinear, Bicubic, Lanczos };
const char *scaleFilterName(ScaleFilter filter);
Result<ScaleFilter> parseScaleFilter(const std::string &name);

struct VideoWriterOptions {
    VideoCodec codec = VideoCodec::H264;
    double fps = 10.0; ///< frames per second (0.1 .. 1000); GIF stores 1/100 s delays, so 10, 20, 25, 50
    /// Quality: the CRF for h264 (0..51, default 18) and vp9 (0..63, default 24), the qscale for mpeg4
    /// (1..31, default 2); ignored for gif. -1 = the default.
    int crf = -1;
    int width = 0; ///< output size in pixels; 0 = the size of the first frame
    int height = 0;
    ScaleFilter filter = ScaleFilter::Bicubic; ///< used when a frame differs from the output size
    std::string comment; ///< written to the container's "comment" metadata (e.g. generation parameters)
    std::vector<std::pair<std::string, std::string>> metadata; ///< further container metadata
    int rotationDegrees = 0; ///< display rotation to record (0, 90, 180, 270; clockwise), mp4/mov only
    std::string encoder; ///< force an FFmpeg encoder by name (e.g. "libx264"); empty = the codec's default
    bool allowFallback
        = true; ///< when the encoder is missing, fall back to mpeg4 (logged) instead of failing
    bool overwrite = false; ///< replace an existing file; otherwise an existing file is an error
};

/// What a reader found, or what a writer produced.
struct VideoInfo {
    std::string path;
    std::string container; ///< e.g. "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "gif"
    std::string codec; ///< codec name, e.g. "h264", "vp9", "gif", "mpeg4"
    std::string encoder; ///< the encoder used (writer only), e.g. "libx264"
    int width = 0; ///< coded size (after even padding)
    int height = 0;
    double fps = 0;
    double durationSeconds = 0;
    std::int64_t frameCount = 0; ///< from the container, else estimated from duration x fps
    bool frameCountExact = false; ///< true when the container states it (or the writer counted)
    int rotationDegrees = 0; ///< clockwise rotation to apply for display (0, 90, 180, 270)
    std::string comment; ///< the container's "comment" metadata
    std::vector<std::pair<std::string, std::string>> metadata;
    std::int64_t fileBytes = 0;
};

/// Writes frames to a video file. Output goes to a temporary file next to the target and is renamed
/// into place by finish(); destroying the writer (or abort()) before finish() deletes it, so an error
/// or a cancel never leaves a half-written file.
class VideoWriter {
public:
    VideoWriter();
    ~VideoWriter();
    VideoWriter(const VideoWriter &) = delete;
    VideoWriter &operator=(const VideoWriter &) = delete;

    /// Check the options and the target (directory exists and is writable, no existing file unless
    /// overwrite, codec available); the encoder opens with the first frame.
    Result<void> open(const std::string &path, const VideoWriterOptions &options);
    /// Encode one frame (1, 3 or 4 channels; alpha is dropped). Frames of another size are resized.
    Result<void> write(const Image &frame);
    /// Flush the encoder, write the trailer and move the file into place.
    Result<VideoInfo> finish();
    /// Discard everything written so far (also done by the destructor when finish() was not called).
    void abort();
    std::int64_t framesWritten() const;
    bool isOpen() const;

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

/// One decoded frame.
struct VideoFrame {
    Image image; ///< 8-bit RGB
    double timestamp = 0; ///< seconds from the start of the stream
    std::int64_t index = 0; ///< frame number (from the timestamp and fps)
};

struct VideoReaderOptions {
    bool applyRotation = false; ///< rotate frames by the display matrix (90/180/270 degrees)
};

/// Reads the video stream of any file FFmpeg can open.
class VideoReader {
public:
    VideoReader();
    ~VideoReader();
    VideoReader(const VideoReader &) = delete;
    VideoReader &operator=(const VideoReader &) = delete;

    Result<VideoInfo> open(const std::string &path, const VideoReaderOptions &options = {});
    const VideoInfo &info() const;
    /// The next frame, or std::nullopt at the end of the stream.
    Result<std::optional<VideoFrame>> read();
    /// Position so that the next read() returns frame `index` (0-based); past the end -> NotFound.
    Result<void> seekFrame(std::int64_t index);
    /// Decode every remaining frame (convenience for short clips).
    Result<std::vector<VideoFrame>> readAll();

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

/// Progress of a film or walk export: frames written so far of the expected total.
// VideoProgress (frames done, frames in all, stage) is declared in engine.h.

/// What each frame of a denoising film shows.
enum class FilmFrames { Xt, X0, Both }; ///< noisy sample x_t, predicted clean x0, or both side by side
const char *filmFramesName(FilmFrames frames); ///< "xt", "x0", "both"
Result<FilmFrames> parseFilmFrames(const std::string &name);

struct FilmOptions {
    FilmFrames frames = FilmFrames::Both;
    /// Integer upscale factor for each panel; 0 = automatic (the smallest factor making the short side
    /// at least 256 px, so a 28x28 model becomes 280x280).
    int scale = 0;
    ScaleFilter filter = ScaleFilter::Nearest; ///< nearest keeps small models' pixels crisp
    bool caption = true; ///< a strip under the frame: step, timestep, noise level sigma
    double holdSeconds = 1.0; ///< how long the final image stays on screen
    VideoWriterOptions video; ///< codec, fps, crf, overwrite; comment is filled with the parameters
};

struct FilmResult {
    JobStatus status = JobStatus::Completed; ///< Cancelled: nothing was written
    VideoInfo video;
    GenerateResult generation;
    int framesWritten = 0;
    double generateSeconds = 0; ///< sampling time (wall time minus composing and encoding)
    double encodeSeconds = 0; ///< time spent composing frames and encoding them
};

/// Generate one image (request.batch must be 1) and write one frame per sampling step plus a hold on
/// the final image. The request's wantPreviews is forced on. The comment metadata holds the
/// generation parameters as JSON. Blocks; checks the token every step and every frame.
Result<FilmResult> renderDenoisingFilm(Engine &engine, GenerateRequest request, const FilmOptions &options,
                                       const std::string &path, const VideoProgress &progress = {},
                                       const CancelToken &cancel = {});

struct WalkOptions {
    int frames = 24; ///< frames in the walk (>= 2)
    std::uint64_t fromSeed = 0; ///< starting noise of the first frame
    std::uint64_t toSeed = 0; ///< starting noise of the last frame (slerp in between)
    std::optional<Conditioning> fromConditioning; ///< empty: the request's prompt/conditioning
    std::optional<Conditioning> toConditioning; ///< empty: same as from (a pure seed walk)
    int scale = 0; ///< as FilmOptions::scale
    ScaleFilter filter = ScaleFilter::Nearest;
    bool caption = true; ///< "seed a -> b  class x -> y  alpha"
    VideoWriterOptions video;
};

struct WalkResult {
    JobStatus status = JobStatus::Completed;
    VideoInfo video;
    int framesWritten = 0;
    double generateSeconds = 0;
    double encodeSeconds = 0;
};

/// Generate `frames` images with the request's sampler settings, starting noise slerped between the
/// two seeds (Shoemake 1985; White 2016, "Sampling Generative Networks") and label embeddings mixed
/// linearly between the two conditionings, and write them as a video. The per-step noise of stochastic
/// samplers is drawn from fromSeed for every frame, so neighbouring frames differ only by the walk.
Result<WalkResult> renderLatentWalk(Engine &engine, GenerateRequest request, const WalkOptions &options,
                                    const std::string &path, const VideoProgress &progress = {},
                                    const CancelToken &cancel = {});

/// Spherical interpolation of two equally shaped tensors (flattened): falls back to linear when they
/// are nearly parallel. Exposed for tests and the UI.
HostTensor slerp(const HostTensor &a, const HostTensor &b, double t);

/// Peak signal-to-noise ratio in dB of two 8-bit images of the same size (compared on the RGB
/// expansion; +infinity when identical). Used by tests and the export report.
double framePsnr(const Image &a, const Image &b);

} // namespace ditstudio
