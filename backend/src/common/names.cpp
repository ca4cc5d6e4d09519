// Names and parsers of the public API's enums, errors as text and the app version: torch-free, so
// the GUI (which links ditstudio_common, not LibTorch) can use them before the engine module loads.
#include "common/errors.h"
#include "ditstudio/editing.h"
#include "ditstudio/engine.h"
#include "ditstudio/runtime.h"
#include "ditstudio/video.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <string>
#include <vector>

#ifndef DITSTUDIO_VERSION
#define DITSTUDIO_VERSION "0.0.0"
#endif

namespace ditstudio {

namespace fs = std::filesystem;

const char *appVersion()
{
    return DITSTUDIO_VERSION;
}

const char *errorCodeName(ErrorCode code)
{
    switch (code) {
    case ErrorCode::InvalidArgument:
        return "invalid argument";
    case ErrorCode::NotFound:
        return "not found";
    case ErrorCode::IoError:
        return "I/O error";
    case ErrorCode::FormatError:
        return "format error";
    case ErrorCode::ShapeMismatch:
        return "shape mismatch";
    case ErrorCode::Unsupported:
        return "unsupported";
    case ErrorCode::Cancelled:
        return "cancelled";
    case ErrorCode::Internal:
        return "internal error";
    case ErrorCode::OutOfMemory:
        return "out of memory";
    case ErrorCode::NumericError:
        return "numeric error";
    }
    return "error";
}

std::string Error::toString() const
{
    return std::string(errorCodeName(code)) + ": " + message;
}

std::string DeviceSpec::toString() const
{
    switch (kind) {
    case DeviceKind::Cuda:
        return "cuda:" + std::to_string(index);
    case DeviceKind::Mps:
        return "mps";
    default:
        return "cpu";
    }
}

const char *samplerName(SamplerKind kind)
{
    switch (kind) {
    case SamplerKind::Ddpm:
        return "ddpm";
    case SamplerKind::Ddim:
        return "ddim";
    case SamplerKind::DpmPP2M:
        return "dpmpp-2m";
    case SamplerKind::Euler:
        return "euler";
    case SamplerKind::EulerAncestral:
        return "euler-a";
    case SamplerKind::Heun:
        return "heun";
    }
    return "ddpm";
}

std::vector<std::string> samplerNames()
{
    return {"ddpm", "ddim", "dpmpp-2m", "euler", "euler-a", "heun"};
}

Result<SamplerKind> parseSampler(const std::string &text)
{
    for (auto k : {SamplerKind::Ddpm, SamplerKind::Ddim, SamplerKind::DpmPP2M, SamplerKind::Euler,
                   SamplerKind::EulerAncestral, SamplerKind::Heun})
        if (text == samplerName(k))
            return k;
    return Error {ErrorCode::InvalidArgument,
                  "sampler '" + text + "': expected ddpm, ddim, dpmpp-2m, euler, euler-a or heun"};
}

const char *dtypeName(DType dtype)
{
    switch (dtype) {
    case DType::Float32:
        return "fp32";
    case DType::BFloat16:
        return "bf16";
    case DType::Float16:
        return "fp16";
    }
    return "fp32";
}

Result<DType> parseDType(const std::string &text)
{
    if (text == "fp32" || text == "float32" || text == "f32")
        return DType::Float32;
    if (text == "bf16" || text == "bfloat16")
        return DType::BFloat16;
    if (text == "fp16" || text == "float16" || text == "half")
        return DType::Float16;
    return Error {ErrorCode::InvalidArgument, "precision '" + text + "': expected fp32, bf16 or fp16"};
}

const char *editModeName(EditMode mode)
{
    switch (mode) {
    case EditMode::Img2Img:
        return "img2img";
    case EditMode::Inpaint:
        return "inpaint";
    case EditMode::Invert:
        return "invert";
    }
    return "img2img";
}

Result<EditMode> parseEditMode(const std::string &text)
{
    for (auto m : {EditMode::Img2Img, EditMode::Inpaint, EditMode::Invert})
        if (text == editModeName(m))
            return m;
    return Error {ErrorCode::InvalidArgument,
                  "edit mode '" + text + "': expected img2img, inpaint or invert"};
}

const char *filmFramesName(FilmFrames frames)
{
    switch (frames) {
    case FilmFrames::Xt:
        return "xt";
    case FilmFrames::X0:
        return "x0";
    case FilmFrames::Both:
        return "both";
    }
    return "?";
}

Result<FilmFrames> parseFilmFrames(const std::string &name)
{
    for (auto f : {FilmFrames::Xt, FilmFrames::X0, FilmFrames::Both})
        if (name == filmFramesName(f))
            return f;
    return makeError(ErrorCode::InvalidArgument,
                     "unknown film frames '" + name + "' (expected xt, x0 or both)");
}

const char *videoCodecName(VideoCodec codec)
{
    switch (codec) {
    case VideoCodec::H264:
        return "h264";
    case VideoCodec::Vp9:
        return "vp9";
    case VideoCodec::Gif:
        return "gif";
    case VideoCodec::Mpeg4:
        return "mpeg4";
    }
    return "?";
}

Result<VideoCodec> parseVideoCodec(const std::string &name)
{
    for (auto c : {VideoCodec::H264, VideoCodec::Vp9, VideoCodec::Gif, VideoCodec::Mpeg4})
        if (name == videoCodecName(c))
            return c;
    if (name == "x264" || name == "avc" || name == "libx264")
        return VideoCodec::H264;
    if (name == "webm" || name == "libvpx-vp9")
        return VideoCodec::Vp9;
    return makeError(ErrorCode::InvalidArgument,
                     "unknown video codec '" + name + "' (expected h264, vp9, gif or mpeg4)");
}

Result<VideoCodec> videoCodecForPath(const std::string &path)
{
    std::string ext = fs::path(path).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    if (ext == ".mp4" || ext == ".mov" || ext == ".m4v" || ext == ".mkv")
        return VideoCodec::H264;
    if (ext == ".webm")
        return VideoCodec::Vp9;
    if (ext == ".gif")
        return VideoCodec::Gif;
    return makeError(ErrorCode::InvalidArgument,
                     path + ": cannot tell the video format from the extension '" + ext
                         + "' (expected .mp4, .mov, .mkv, .webm or .gif)");
}

const char *scaleFilterName(ScaleFilter filter)
{
    switch (filter) {
    case ScaleFilter::Nearest:
        return "nearest";
    case ScaleFilter::Bilinear:
        return "bilinear";
    case ScaleFilter::Bicubic:
        return "bicubic";
    case ScaleFilter::Lanczos:
        return "lanczos";
    }
    return "?";
}

Result<ScaleFilter> parseScaleFilter(const std::string &name)
{
    for (auto f : {ScaleFilter::Nearest, ScaleFilter::Bilinear, ScaleFilter::Bicubic, ScaleFilter::Lanczos})
        if (name == scaleFilterName(f))
            return f;
    return makeError(ErrorCode::InvalidArgument,
                     "unknown scale filter '" + name + "' (expected nearest, bilinear, bicubic or lanczos)");
}

} // namespace ditstudio
