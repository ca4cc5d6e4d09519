// VideoReader: the video stream of any file FFmpeg can open, decoded to RGB24 frames with timestamps.
// Decode loop as in FFmpeg's doc/examples/demux_decode.c: receive frames until EAGAIN, then feed the
// next packet; at the end of the file send nullptr and drain until EOF.
#include "video/video_reader.h"

#include "common/errors.h"
#include "ditstudio/video.h"
#include "video/ffmpeg_util.h"

extern "C" {
#include <libavutil/display.h>
#include <libavutil/pixdesc.h>
}

#include <cmath>
#include <cstring>
#include <filesystem>
#include <optional>

namespace ditstudio {

namespace fs = std::filesystem;
using namespace ffmpeg;

namespace video {

Image rotateClockwise(const Image &in, int degrees)
{
    degrees = ((degrees % 360) + 360) % 360;
    if (degrees == 0 || in.empty())
        return in;
    Image out;
    out.channels = in.channels;
    const bool swap = degrees != 180;
    out.width = swap ? in.height : in.width;
    out.height = swap ? in.width : in.height;
    out.pixels.resize(in.pixels.size());
    const int c = in.channels;
    for (int y = 0; y < in.height; ++y)
        for (int x = 0; x < in.width; ++x) {
            int ox = x, oy = y;
            if (degrees == 90) {
                ox = in.height - 1 - y;
                oy = x;
            } else if (degrees == 180) {
                ox = in.width - 1 - x;
                oy = in.height - 1 - y;
            } else { // 270
                ox = y;
                oy = in.width - 1 - x;
            }
            std::memcpy(out.pixels.data() + (static_cast<size_t>(oy) * out.width + ox) * c,
                        in.pixels.data() + (static_cast<size_t>(y) * in.width + x) * c, c);
        }
    return out;
}

} // namespace video

namespace {

int swsColorspace(AVColorSpace cs)
{
    switch (cs) {
    case AVCOL_SPC_BT709:
        return SWS_CS_ITU709;
    case AVCOL_SPC_FCC:
        return SWS_CS_FCC;
    case AVCOL_SPC_SMPTE240M:
        return SWS_CS_SMPTE240M;
    case AVCOL_SPC_BT2020_NCL:
    case AVCOL_SPC_BT2020_CL:
        return SWS_CS_BT2020;
    default:
        return SWS_CS_ITU601;
    }
}

} // namespace

struct VideoReader::Impl {
    VideoInfo info;
    VideoReaderOptions options;
    FormatInputPtr fmt;
    CodecContextPtr ctx;
    AVStream *stream = nullptr;
    int streamIndex = -1;
    SwsPtr sws;
    FramePtr frame;
    PacketPtr packet;
    bool draining = false;
    bool finished = false;
    std::int64_t counter = 0; // frames returned since the last (re)start
    std::int64_t startPts = 0;
    std::optional<VideoFrame> pending; // a frame decoded by seekFrame, returned by the next read()

    void open(const std::string &path, const VideoReaderOptions &o)
    {
        quietLibraryLogs();
        *this = Impl();
        options = o;
        std::error_code ec;
        if (!fs::exists(path, ec))
            fail(ErrorCode::NotFound, path + ": no such file");
        AVFormatContext *raw = nullptr;
        int ret = avformat_open_input(&raw, path.c_str(), nullptr, nullptr);
        if (ret < 0)
            fail(ErrorCode::FormatError, path + ": avformat_open_input failed: " + errorText(ret));
        fmt.reset(raw);
        check(avformat_find_stream_info(fmt.get(), nullptr), path, "avformat_find_stream_info",
              ErrorCode::FormatError);
        const AVCodec *decoder = nullptr;
        streamIndex = av_find_best_stream(fmt.get(), AVMEDIA_TYPE_VIDEO, -1, -1, &decoder, 0);
        if (streamIndex == AVERROR_STREAM_NOT_FOUND)
            fail(ErrorCode::FormatError, path + ": no video stream");
        if (streamIndex == AVERROR_DECODER_NOT_FOUND || !decoder)
            fail(ErrorCode::Unsupported, path + ": this FFmpeg has no decoder for the video stream");
        check(streamIndex, path, "av_find_best_stream", ErrorCode::FormatError);
        stream = fmt->streams[streamIndex];
        ctx.reset(avcodec_alloc_context3(decoder));
        if (!ctx)
            fail(ErrorCode::Internal, path + ": avcodec_alloc_context3 failed");
        check(avcodec_parameters_to_context(ctx.get(), stream->codecpar), path,
              "avcodec_parameters_to_context", ErrorCode::FormatError);
        ctx->pkt_timebase = stream->time_base;
        check(avcodec_open2(ctx.get(), decoder, nullptr), path, "avcodec_open2(decoder)",
              ErrorCode::Unsupported);
        frame = allocFrame();
        packet = allocPacket();
        startPts = stream->start_time != AV_NOPTS_VALUE ? stream->start_time : 0;

        info.path = path;
        info.container = fmt->iformat->name;
        info.codec = avcodec_get_name(stream->codecpar->codec_id);
        info.width = stream->codecpar->width;
        info.height = stream->codecpar->height;
        const AVRational rate = av_guess_frame_rate(fmt.get(), stream, nullptr);
        info.fps = rate.num > 0 && rate.den > 0 ? av_q2d(rate) : 0.0;
        if (stream->duration != AV_NOPTS_VALUE && stream->duration > 0)
            info.durationSeconds = stream->duration * av_q2d(stream->time_base);
        else if (fmt->duration != AV_NOPTS_VALUE && fmt->duration > 0)
            info.durationSeconds = static_cast<double>(fmt->duration) / AV_TIME_BASE;
        if (stream->nb_frames > 0) {
            info.frameCount = stream->nb_frames;
            info.frameCountExact = true;
        } else {
            info.frameCount = std::llround(info.durationSeconds * info.fps);
        }
        if (const auto *matrix = reinterpret_cast<const int32_t *>(
                av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, nullptr))) {
            const double ccw = av_display_rotation_get(matrix); // counter-clockwise, NaN if degenerate
            if (!std::isnan(ccw))
                info.rotationDegrees = ((static_cast<int>(std::lround(-ccw / 90.0)) * 90) % 360 + 360) % 360;
        }
        const AVDictionaryEntry *e = nullptr;
        while ((e = av_dict_get(fmt->metadata, "", e, AV_DICT_IGNORE_SUFFIX)))
            info.metadata.emplace_back(e->key, e->value);
        if (const auto *c = av_dict_get(fmt->metadata, "comment", nullptr, 0))
            info.comment = c->value;
        std::error_code sizeEc;
        info.fileBytes = static_cast<std::int64_t>(fs::file_size(path, sizeEc));
        if (options.applyRotation && (info.rotationDegrees == 90 || info.rotationDegrees == 270))
            std::swap(info.width, info.height);
    }

    /// The next decoded AVFrame in `frame`; false at the end of the stream.
    bool decodeNext()
    {
        for (;;) {
            int ret = avcodec_receive_frame(ctx.get(), frame.get());
            if (ret == 0)
                return true;
            if (ret == AVERROR_EOF)
                return false;
            if (ret != AVERROR(EAGAIN))
                check(ret, info.path, "avcodec_receive_frame", ErrorCode::FormatError);
            if (draining)
                return false;
            ret = av_read_frame(fmt.get(), packet.get());
            if (ret == AVERROR_EOF) {
                draining = true;
                check(avcodec_send_packet(ctx.get(), nullptr), info.path, "avcodec_send_packet(flush)");
                continue;
            }
            check(ret, info.path, "av_read_frame", ErrorCode::FormatError);
            if (packet->stream_index == streamIndex) {
                ret = avcodec_send_packet(ctx.get(), packet.get());
                av_packet_unref(packet.get());
                if (ret < 0 && ret != AVERROR(EAGAIN))
                    check(ret, info.path, "avcodec_send_packet", ErrorCode::FormatError);
            } else {
                av_packet_unref(packet.get());
            }
        }
    }

    VideoFrame convert()
    {
        const auto srcFmt = static_cast<AVPixelFormat>(frame->format);
        const int flags = SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT;
        sws.reset(sws_getCachedContext(sws.release(), frame->width, frame->height, srcFmt, frame->width,
                                       frame->height, AV_PIX_FMT_RGB24, flags, nullptr, nullptr, nullptr));
        if (!sws)
            fail(ErrorCode::Unsupported,
                 info.path + ": cannot convert pixel format "
                     + (av_get_pix_fmt_name(srcFmt) ? av_get_pix_fmt_name(srcFmt) : "?") + " to RGB");
        const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(srcFmt);
        if (desc && !(desc->flags & AV_PIX_FMT_FLAG_RGB) && !(desc->flags & AV_PIX_FMT_FLAG_PAL)) {
            const int *coef = sws_getCoefficients(swsColorspace(frame->colorspace));
            const int *rgbCoef = sws_getCoefficients(SWS_CS_DEFAULT);
            const int fullRange = frame->color_range == AVCOL_RANGE_JPEG || srcFmt == AV_PIX_FMT_YUVJ420P
                || srcFmt == AV_PIX_FMT_YUVJ422P || srcFmt == AV_PIX_FMT_YUVJ444P;
            sws_setColorspaceDetails(sws.get(), coef, fullRange, rgbCoef, 1, 0, 1 << 16, 1 << 16);
        }
        VideoFrame out;
        out.image.width = frame->width;
        out.image.height = frame->height;
        out.image.channels = 3;
        out.image.pixels.resize(static_cast<size_t>(frame->width) * frame->height * 3);
        std::uint8_t *dst[1] = {out.image.pixels.data()};
        const int dstStride[1] = {frame->width * 3};
        sws_scale(sws.get(), frame->data, frame->linesize, 0, frame->height, dst, dstStride);
        const std::int64_t pts = frame->best_effort_timestamp;
        if (pts != AV_NOPTS_VALUE) {
            out.timestamp = (pts - startPts) * av_q2d(stream->time_base);
            out.index = info.fps > 0 ? std::llround(out.timestamp * info.fps) : counter;
        } else {
            out.index = counter;
            out.timestamp = info.fps > 0 ? counter / info.fps : 0.0;
        }
        ++counter;
        av_frame_unref(frame.get());
        if (options.applyRotation && info.rotationDegrees)
            out.image = video::rotateClockwise(out.image, info.rotationDegrees);
        return out;
    }

    std::optional<VideoFrame> read()
    {
        if (!fmt)
            fail(ErrorCode::InvalidArgument, "VideoReader: read() before open()");
        if (pending) {
            auto f = std::move(pending);
            pending.reset();
            return f;
        }
        if (finished || !decodeNext()) {
            finished = true;
            return std::nullopt;
        }
        return convert();
    }

    /// Decode forward (from the current position) to the first frame with index >= target.
    bool decodeUpTo(std::int64_t target)
    {
        while (decodeNext()) {
            auto f = convert();
            if (f.index >= target) {
                pending = std::move(f);
                return true;
            }
        }
        finished = true;
        return false;
    }

    void restart()
    {
        // Formats that cannot seek (or seek imprecisely) are read again from the start.
        const std::string path = info.path;
        const auto opts = options;
        open(path, opts);
    }

    void seekFrame(std::int64_t index)
    {
        if (!fmt)
            fail(ErrorCode::InvalidArgument, "VideoReader: seekFrame() before open()");
        if (index < 0)
            fail(ErrorCode::InvalidArgument,
                 info.path + ": frame index must be >= 0 (got " + std::to_string(index) + ")");
        pending.reset();
        bool ok = false;
        if (info.fps > 0) {
            const double seconds = index / info.fps;
            const std::int64_t ts = startPts + std::llround(seconds / av_q2d(stream->time_base));
            if (av_seek_frame(fmt.get(), streamIndex, ts, AVSEEK_FLAG_BACKWARD) >= 0) {
                avcodec_flush_buffers(ctx.get());
                draining = false;
                finished = false;
                ok = decodeUpTo(index) && pending && pending->index == index;
            }
        }
        if (!ok) {
            restart();
            if (!decodeUpTo(index))
                fail(ErrorCode::NotFound,
                     info.path + ": frame " + std::to_string(index) + " is past the end ("
                         + std::to_string(counter) + " frames)");
        }
        counter = index;
    }
};

VideoReader::VideoReader() : m_impl(std::make_unique<Impl>()) { }
VideoReader::~VideoReader() = default;

Result<VideoInfo> VideoReader::open(const std::string &path, const VideoReaderOptions &options)
{
    return guarded(std::string(), [&] {
        m_impl->open(path, options);
        return m_impl->info;
    });
}

const VideoInfo &VideoReader::info() const
{
    return m_impl->info;
}

Result<std::optional<VideoFrame>> VideoReader::read()
{
    return guarded(std::string(), [&] { return m_impl->read(); });
}

Result<void> VideoReader::seekFrame(std::int64_t index)
{
    return guarded(std::string(), [&] { m_impl->seekFrame(index); });
}

Result<std::vector<VideoFrame>> VideoReader::readAll()
{
    return guarded(std::string(), [&] {
        std::vector<VideoFrame> frames;
        while (auto f = m_impl->read())
            frames.push_back(std::move(*f));
        return frames;
    });
}

} // namespace ditstudio
