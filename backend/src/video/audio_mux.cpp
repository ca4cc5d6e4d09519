#include "video/audio_mux.h"

#include "common/atomic_file.h"
#include "video/ffmpeg_util.h"

namespace ditstudio::editing {

namespace fs = std::filesystem;
using namespace ditstudio::ffmpeg;

namespace {

FormatInputPtr openInput(const fs::path &path)
{
    AVFormatContext *raw = nullptr;
    check(avformat_open_input(&raw, path.string().c_str(), nullptr, nullptr), path.string(),
          "avformat_open_input", ErrorCode::FormatError);
    FormatInputPtr ctx(raw);
    check(avformat_find_stream_info(ctx.get(), nullptr), path.string(), "avformat_find_stream_info",
          ErrorCode::FormatError);
    return ctx;
}

/// The next packet of stream `index`, or false at the end of the file.
bool nextPacket(AVFormatContext *ctx, int index, AVPacket *pkt, const std::string &context)
{
    while (true) {
        av_packet_unref(pkt);
        const int ret = av_read_frame(ctx, pkt);
        if (ret == AVERROR_EOF)
            return false;
        check(ret, context, "av_read_frame", ErrorCode::FormatError);
        if (pkt->stream_index == index)
            return true;
    }
}

int64_t packetTime(const AVPacket *p)
{
    if (p->dts != AV_NOPTS_VALUE)
        return p->dts;
    return p->pts != AV_NOPTS_VALUE ? p->pts : 0;
}

} // namespace

bool hasAudioStream(const fs::path &path)
{
    try {
        auto in = openInput(path);
        return av_find_best_stream(in.get(), AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0) >= 0;
    } catch (const DitException &) {
        return false;
    }
}

bool muxVideoWithAudio(const fs::path &videoOnly, const fs::path &audioSource, const fs::path &target,
                       bool overwrite, std::string &why)
{
    const std::string ctxText = target.string();
    if (!overwrite && fs::exists(target))
        fail(ErrorCode::IoError, ctxText + ": file exists (overwrite not allowed)");
    auto vin = openInput(videoOnly);
    auto ain = openInput(audioSource);
    const int vIndex = av_find_best_stream(vin.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
    const int aIndex = av_find_best_stream(ain.get(), AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
    if (vIndex < 0)
        fail(ErrorCode::FormatError, videoOnly.string() + ": no video stream to mux");
    if (aIndex < 0) {
        why = audioSource.string() + " has no audio stream";
        return false;
    }
    const AVOutputFormat *ofmt = av_guess_format(nullptr, target.filename().string().c_str(), nullptr);
    if (!ofmt)
        fail(ErrorCode::InvalidArgument, ctxText + ": no container for this file extension");
    const AVStream *vs = vin->streams[vIndex];
    const AVStream *as = ain->streams[aIndex];
    if (avformat_query_codec(ofmt, as->codecpar->codec_id, FF_COMPLIANCE_NORMAL) != 1) {
        why = std::string("the ") + ofmt->name + " container cannot hold the source's "
            + avcodec_get_name(as->codecpar->codec_id) + " audio without re-encoding";
        return false;
    }

    const fs::path tmp = temporarySibling(target);
    struct TmpGuard {
        fs::path path;
        bool keep = false;
        ~TmpGuard()
        {
            std::error_code ec;
            if (!keep)
                fs::remove(path, ec);
        }
    } guard {tmp};
    {
        AVFormatContext *raw = nullptr;
        check(avformat_alloc_output_context2(&raw, ofmt, nullptr, tmp.string().c_str()), ctxText,
              "avformat_alloc_output_context2");
        FormatOutputPtr out(raw);
        AVStream *ovs = avformat_new_stream(out.get(), nullptr);
        AVStream *oas = avformat_new_stream(out.get(), nullptr);
        if (!ovs || !oas)
            fail(ErrorCode::Internal, ctxText + ": avformat_new_stream: out of memory");
        check(avcodec_parameters_copy(ovs->codecpar, vs->codecpar), ctxText, "avcodec_parameters_copy");
        check(avcodec_parameters_copy(oas->codecpar, as->codecpar), ctxText, "avcodec_parameters_copy");
        ovs->codecpar->codec_tag = 0;
        oas->codecpar->codec_tag = 0;
        ovs->time_base = vs->time_base;
        oas->time_base = as->time_base;
        ovs->avg_frame_rate = vs->avg_frame_rate;
        ovs->r_frame_rate = vs->r_frame_rate;
        av_dict_copy(&out->metadata, vin->metadata, 0);
        av_dict_copy(&ovs->metadata, vs->metadata, 0);
        check(avio_open(&out->pb, tmp.string().c_str(), AVIO_FLAG_WRITE), ctxText, "avio_open");
        check(avformat_write_header(out.get(), nullptr), ctxText, "avformat_write_header");

        // The video's end in seconds: audio beyond it is dropped (e.g. when --max-frames cut the video).
        const double videoEnd = vs->duration != AV_NOPTS_VALUE ? vs->duration * av_q2d(vs->time_base)
            : vin->duration != AV_NOPTS_VALUE ? vin->duration / static_cast<double>(AV_TIME_BASE)
                                              : 1e300;
        auto vp = allocPacket(), ap = allocPacket();
        bool vHas = nextPacket(vin.get(), vIndex, vp.get(), videoOnly.string());
        bool aHas = nextPacket(ain.get(), aIndex, ap.get(), audioSource.string());
        const int64_t aStart = aHas ? packetTime(ap.get()) : 0;
        while (vHas || aHas) {
            if (aHas && (packetTime(ap.get()) - aStart) * av_q2d(as->time_base) >= videoEnd)
                aHas = false; // past the video's end
            if (!vHas && !aHas)
                break;
            // Interleave by time so the muxer buffers at most a packet or two (memory bounded).
            const bool takeVideo = vHas
                && (!aHas
                    || av_compare_ts(packetTime(vp.get()), vs->time_base, packetTime(ap.get()) - aStart,
                                     as->time_base)
                        <= 0);
            AVPacket *p = takeVideo ? vp.get() : ap.get();
            if (!takeVideo) {
                if (p->pts != AV_NOPTS_VALUE)
                    p->pts -= aStart;
                if (p->dts != AV_NOPTS_VALUE)
                    p->dts -= aStart;
            }
            AVStream *os = takeVideo ? ovs : oas;
            av_packet_rescale_ts(p, takeVideo ? vs->time_base : as->time_base, os->time_base);
            p->stream_index = os->index;
            p->pos = -1;
            check(av_interleaved_write_frame(out.get(), p), ctxText, "av_interleaved_write_frame");
            if (takeVideo)
                vHas = nextPacket(vin.get(), vIndex, vp.get(), videoOnly.string());
            else
                aHas = nextPacket(ain.get(), aIndex, ap.get(), audioSource.string());
        }
        check(av_write_trailer(out.get()), ctxText, "av_write_trailer");
    } // closes the file
    commitTemporary(tmp, target);
    guard.keep = true;
    return true;
}

} // namespace ditstudio::editing
