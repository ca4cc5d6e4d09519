#pragma once
// RAII for FFmpeg handles (one deleter struct and one std::unique_ptr alias per type, as Chromium's
// media/ffmpeg/scoped_av_packet does) and error text: every failing call becomes a DitException
// whose message names the file, the call and av_strerror's text.

#include "common/errors.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/frame.h>
#include <libswscale/swscale.h>
}

#include <memory>
#include <mutex>
#include <string>

namespace ditstudio::ffmpeg {

struct FormatInputDeleter {
    void operator()(AVFormatContext *c) const { avformat_close_input(&c); }
};
/// An output context; its AVIOContext (opened with avio_open) is closed here too.
struct FormatOutputDeleter {
    void operator()(AVFormatContext *c) const
    {
        if (c && c->pb && !(c->oformat->flags & AVFMT_NOFILE))
            avio_closep(&c->pb);
        avformat_free_context(c);
    }
};
struct CodecContextDeleter {
    void operator()(AVCodecContext *c) const { avcodec_free_context(&c); }
};
struct FrameDeleter {
    void operator()(AVFrame *f) const { av_frame_free(&f); }
};
struct PacketDeleter {
    void operator()(AVPacket *p) const { av_packet_free(&p); }
};
struct SwsDeleter {
    void operator()(SwsContext *s) const { sws_freeContext(s); }
};

using FormatInputPtr = std::unique_ptr<AVFormatContext, FormatInputDeleter>;
using FormatOutputPtr = std::unique_ptr<AVFormatContext, FormatOutputDeleter>;
using CodecContextPtr = std::unique_ptr<AVCodecContext, CodecContextDeleter>;
using FramePtr = std::unique_ptr<AVFrame, FrameDeleter>;
using PacketPtr = std::unique_ptr<AVPacket, PacketDeleter>;
using SwsPtr = std::unique_ptr<SwsContext, SwsDeleter>;

/// FFmpeg logs at "info" by default, which prints encoder statistics (libx264) on every export; keep
/// its warnings and errors only, unless the application already chose another level.
inline void quietLibraryLogs()
{
    static std::once_flag once;
    std::call_once(once, [] {
        if (av_log_get_level() == AV_LOG_INFO)
            av_log_set_level(AV_LOG_WARNING);
    });
}

/// av_strerror's text for an AVERROR code.
inline std::string errorText(int code)
{
    char buf[AV_ERROR_MAX_STRING_SIZE] = {};
    if (av_strerror(code, buf, sizeof buf) < 0)
        return "error " + std::to_string(code);
    return buf;
}

/// Throw DitException(code) "<context>: <what> failed: <av_strerror>" when ret < 0; return ret.
inline int check(int ret, const std::string &context, const char *what, ErrorCode code = ErrorCode::IoError)
{
    if (ret < 0)
        fail(code, context + ": " + what + " failed: " + errorText(ret));
    return ret;
}

inline FramePtr allocFrame()
{
    FramePtr f(av_frame_alloc());
    if (!f)
        fail(ErrorCode::Internal, "av_frame_alloc: out of memory");
    return f;
}

inline PacketPtr allocPacket()
{
    PacketPtr p(av_packet_alloc());
    if (!p)
        fail(ErrorCode::Internal, "av_packet_alloc: out of memory");
    return p;
}

} // namespace ditstudio::ffmpeg
