// VideoWriter: frames -> H.264/MPEG-4 (MP4), VP9 (WebM) or GIF through libavformat/libavcodec/
// libswscale. The encode loop follows FFmpeg's doc/examples/encode_video.c and mux.c: send a frame,
// receive packets until EAGAIN, and at the end send nullptr and drain until EOF.
#include "video/video_writer.h"

#include "common/atomic_file.h"
#include "common/errors.h"
#include "ditstudio/video.h"
#include "video/ffmpeg_util.h"

extern "C" {
#include <libavutil/display.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
}

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numeric>

namespace ditstudio {

namespace fs = std::filesystem;
using namespace ffmpeg;

// ---------------------------------------------------------------------------------------------
// GIF palette and comment

namespace video {

namespace {

struct ColorCount {
    std::uint32_t rgb;
    std::uint32_t count;
};

inline int channel(std::uint32_t rgb, int c)
{
    return (rgb >> (16 - 8 * c)) & 0xFF;
}

struct Box {
    size_t begin = 0, end = 0; // range in the sorted colour list
    double sse = 0; // population-weighted squared error around the mean
    int axis = 0; // channel with the largest variance
    std::uint32_t mean = 0;
};

Box makeBox(const std::vector<ColorCount> &colors, size_t begin, size_t end)
{
    Box box {begin, end};
    double n = 0, s[3] = {0, 0, 0}, s2[3] = {0, 0, 0};
    for (size_t i = begin; i < end; ++i) {
        const double w = colors[i].count;
        n += w;
        for (int c = 0; c < 3; ++c) {
            const double v = channel(colors[i].rgb, c);
            s[c] += w * v;
            s2[c] += w * v * v;
        }
    }
    double best = -1;
    std::uint32_t mean = 0;
    for (int c = 0; c < 3; ++c) {
        const double var = s2[c] - s[c] * s[c] / n; // n * variance
        box.sse += var;
        if (var > best) {
            best = var;
            box.axis = c;
        }
        const auto m = static_cast<std::uint32_t>(std::clamp(std::lround(s[c] / n), 0L, 255L));
        mean |= m << (16 - 8 * c);
    }
    box.mean = mean;
    if (end - begin < 2)
        box.sse = 0; // a single colour cannot be split
    return box;
}

} // namespace

std::vector<std::uint32_t> medianCutPalette(const std::uint8_t *rgb, std::size_t pixels, int maxColors)
{
    maxColors = std::clamp(maxColors, 1, 256);
    std::vector<std::uint32_t> keys(pixels);
    for (size_t i = 0; i < pixels; ++i)
        keys[i] = (std::uint32_t(rgb[3 * i]) << 16) | (std::uint32_t(rgb[3 * i + 1]) << 8) | rgb[3 * i + 2];
    std::sort(keys.begin(), keys.end());
    std::vector<ColorCount> colors;
    for (size_t i = 0; i < keys.size();) {
        size_t j = i;
        while (j < keys.size() && keys[j] == keys[i])
            ++j;
        colors.push_back({keys[i], static_cast<std::uint32_t>(j - i)});
        i = j;
    }
    if (colors.empty())
        return {0};
    if (colors.size() <= static_cast<size_t>(maxColors)) {
        std::vector<std::uint32_t> exact;
        for (const auto &c : colors)
            exact.push_back(c.rgb);
        return exact;
    }
    std::vector<Box> boxes {makeBox(colors, 0, colors.size())};
    while (boxes.size() < static_cast<size_t>(maxColors)) {
        auto it = std::max_element(boxes.begin(), boxes.end(),
                                   [](const Box &a, const Box &b) { return a.sse < b.sse; });
        if (it->sse <= 0)
            break;
        const Box box = *it;
        const int axis = box.axis;
        std::sort(colors.begin() + box.begin, colors.begin() + box.end,
                  [axis](const ColorCount &a, const ColorCount &b) {
                      return channel(a.rgb, axis) < channel(b.rgb, axis);
                  });
        // Weighted median, kept strictly inside the range so both halves are non-empty.
        std::uint64_t total = 0;
        for (size_t i = box.begin; i < box.end; ++i)
            total += colors[i].count;
        std::uint64_t acc = 0;
        size_t cut = box.begin + 1;
        for (size_t i = box.begin; i < box.end; ++i) {
            acc += colors[i].count;
            if (2 * acc >= total) {
                cut = i + 1;
                break;
            }
        }
        cut = std::clamp(cut, box.begin + 1, box.end - 1);
        *it = makeBox(colors, box.begin, cut);
        boxes.push_back(makeBox(colors, cut, box.end));
    }
    std::vector<std::uint32_t> palette;
    for (const auto &b : boxes)
        palette.push_back(b.mean);
    std::sort(palette.begin(), palette.end());
    palette.erase(std::unique(palette.begin(), palette.end()), palette.end());
    return palette;
}

void mapToPalette(const std::uint8_t *rgb, std::size_t pixels, const std::vector<std::uint32_t> &palette,
                  std::uint8_t *indices)
{
    // Palette sorted by red (it is sorted by 0xRRGGBB): search outward from the pixel's red value and
    // stop once the red difference alone exceeds the best distance. Results are cached per colour.
    std::vector<std::array<int, 4>> pal; // r, g, b, original index
    for (size_t i = 0; i < palette.size(); ++i)
        pal.push_back({channel(palette[i], 0), channel(palette[i], 1), channel(palette[i], 2), int(i)});
    std::sort(pal.begin(), pal.end());
    std::vector<int> firstWithRed(257); // first palette index whose red is >= r
    for (int r = 0; r <= 256; ++r)
        firstWithRed[r] = int(std::lower_bound(pal.begin(), pal.end(), r,
                                               [](const std::array<int, 4> &p, int v) { return p[0] < v; })
                              - pal.begin());
    std::vector<std::uint32_t> keys(pixels);
    for (size_t i = 0; i < pixels; ++i)
        keys[i] = (std::uint32_t(rgb[3 * i]) << 16) | (std::uint32_t(rgb[3 * i + 1]) << 8) | rgb[3 * i + 2];
    std::vector<std::uint32_t> distinct(keys);
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    std::vector<std::uint8_t> nearest(distinct.size());
    const int n = int(pal.size());
    for (size_t k = 0; k < distinct.size(); ++k) {
        const int r = channel(distinct[k], 0), g = channel(distinct[k], 1), b = channel(distinct[k], 2);
        int best = INT32_MAX, bestIndex = 0;
        auto consider = [&](int i) {
            const int dr = pal[i][0] - r, dg = pal[i][1] - g, db = pal[i][2] - b;
            const int d = dr * dr + dg * dg + db * db;
            if (d < best) {
                best = d;
                bestIndex = pal[i][3];
            }
        };
        const int start = firstWithRed[r];
        for (int i = start; i < n && (pal[i][0] - r) * (pal[i][0] - r) < best; ++i)
            consider(i);
        for (int i = start - 1; i >= 0 && (r - pal[i][0]) * (r - pal[i][0]) < best; --i)
            consider(i);
        nearest[k] = static_cast<std::uint8_t>(bestIndex);
    }
    for (size_t i = 0; i < pixels; ++i)
        indices[i] = nearest[std::lower_bound(distinct.begin(), distinct.end(), keys[i]) - distinct.begin()];
}

void insertGifComment(std::vector<std::uint8_t> &gif, const std::string &comment)
{
    if (gif.size() < 13 || std::memcmp(gif.data(), "GIF8", 4) != 0)
        fail(ErrorCode::FormatError, "not a GIF file (no GIF8 signature)");
    const std::uint8_t packed = gif[10];
    size_t offset = 13;
    if (packed & 0x80)
        offset += 3u * (1u << ((packed & 7) + 1));
    if (offset > gif.size())
        fail(ErrorCode::FormatError, "GIF global colour table is truncated");
    std::vector<std::uint8_t> block {0x21, 0xFE};
    for (size_t pos = 0; pos < comment.size(); pos += 255) {
        const size_t len = std::min<size_t>(255, comment.size() - pos);
        block.push_back(static_cast<std::uint8_t>(len));
        block.insert(block.end(), comment.begin() + pos, comment.begin() + pos + len);
    }
    block.push_back(0);
    gif.insert(gif.begin() + offset, block.begin(), block.end());
}

} // namespace video

// ---------------------------------------------------------------------------------------------
// VideoWriter

namespace {

int swsFlags(ScaleFilter f)
{
    switch (f) {
    case ScaleFilter::Nearest:
        return SWS_POINT;
    case ScaleFilter::Bilinear:
        return SWS_BILINEAR;
    case ScaleFilter::Bicubic:
        return SWS_BICUBIC;
    case ScaleFilter::Lanczos:
        return SWS_LANCZOS;
    }
    return SWS_BICUBIC;
}

const char *defaultEncoder(VideoCodec c)
{
    switch (c) {
    case VideoCodec::H264:
        return "libx264";
    case VideoCodec::Vp9:
        return "libvpx-vp9";
    case VideoCodec::Gif:
        return "gif";
    case VideoCodec::Mpeg4:
        return "mpeg4";
    }
    return "";
}

/// Expand gray/RGBA to packed RGB24.
void toRgb24(const Image &in, std::vector<std::uint8_t> &out)
{
    const size_t n = static_cast<size_t>(in.width) * in.height;
    out.resize(n * 3);
    if (in.channels == 3) {
        std::memcpy(out.data(), in.pixels.data(), n * 3);
        return;
    }
    for (size_t i = 0; i < n; ++i)
        for (int c = 0; c < 3; ++c)
            out[3 * i + c] = in.channels == 1 ? in.pixels[i] : in.pixels[i * in.channels + c];
}

} // namespace

struct VideoWriter::Impl {
    std::string path;
    fs::path tmp;
    VideoWriterOptions options;
    const AVOutputFormat *ofmt = nullptr;
    const AVCodec *codec = nullptr;
    FormatOutputPtr fmt;
    CodecContextPtr ctx;
    AVStream *stream = nullptr;
    SwsPtr resize; // RGB24 source size -> RGB24 content size
    SwsPtr toYuv; // RGB24 coded size -> encoder pixel format
    FramePtr frame;
    PacketPtr packet;
    int contentW = 0, contentH = 0, codedW = 0, codedH = 0;
    std::vector<std::uint8_t> src, content, coded, indices;
    std::int64_t frames = 0;
    bool isOpen = false;
    bool fellBack = false;

    std::string ctxText() const { return path; }

    void discard()
    {
        ctx.reset();
        fmt.reset(); // closes the temporary file
        resize.reset();
        toYuv.reset();
        if (!tmp.empty()) {
            std::error_code ec;
            fs::remove(tmp, ec);
        }
        tmp.clear();
        isOpen = false;
    }

    void open(const std::string &target, const VideoWriterOptions &o)
    {
        quietLibraryLogs();
        discard();
        path = target;
        options = o;
        frames = 0;
        if (!(o.fps >= 0.1 && o.fps <= 1000))
            fail(ErrorCode::InvalidArgument,
                 target + ": fps must be in 0.1..1000 (got " + std::to_string(o.fps) + ")");
        if (o.width < 0 || o.height < 0 || o.width > 16384 || o.height > 16384
            || ((o.width == 0) != (o.height == 0)))
            fail(ErrorCode::InvalidArgument,
                 target + ": width/height must both be 0 (frame size) or both in 1..16384");
        if (o.rotationDegrees % 90 != 0)
            fail(ErrorCode::InvalidArgument, target + ": rotation must be a multiple of 90 degrees");
        const int crfMax = o.codec == VideoCodec::H264 ? 51 : o.codec == VideoCodec::Vp9 ? 63 : 31;
        if (o.crf != -1 && (o.crf < (o.codec == VideoCodec::Mpeg4 ? 1 : 0) || o.crf > crfMax))
            fail(ErrorCode::InvalidArgument,
                 target + ": crf for " + videoCodecName(o.codec) + " must be in "
                     + (o.codec == VideoCodec::Mpeg4 ? "1" : "0") + ".." + std::to_string(crfMax) + " (got "
                     + std::to_string(o.crf) + ")");

        if (o.codec == VideoCodec::Gif && std::abs(100.0 / o.fps - std::round(100.0 / o.fps)) > 1e-6)
            spdlog::warn("{}: GIF frame delays are whole 1/100 s; {} fps will play at {:.3g} fps", target,
                         o.fps, 100.0 / std::max(1.0, std::round(100.0 / o.fps)));
        std::error_code ec;
        if (fs::exists(target, ec) && !o.overwrite)
            fail(ErrorCode::IoError,
                 target + ": file exists (refusing to overwrite; use overwrite/--overwrite)");
        if (fs::is_directory(target, ec))
            fail(ErrorCode::IoError, target + ": is a directory");
        const fs::path dir
            = fs::path(target).parent_path().empty() ? fs::path(".") : fs::path(target).parent_path();
        if (!fs::is_directory(dir, ec))
            fail(ErrorCode::IoError, target + ": directory '" + dir.string() + "' does not exist");

        ofmt = av_guess_format(nullptr, target.c_str(), nullptr);
        if (!ofmt)
            fail(ErrorCode::InvalidArgument,
                 target + ": no FFmpeg container for this extension (use .mp4, .mov, .mkv, .webm or .gif)");

        // Encoder: the forced or default one; when it is missing fall back to MPEG-4 part 2 (FFmpeg's
        // own, always built) if the caller allows it and the container can hold it.
        const std::string wanted = o.encoder.empty() ? defaultEncoder(o.codec) : o.encoder;
        codec = avcodec_find_encoder_by_name(wanted.c_str());
        fellBack = false;
        if (!codec) {
            if (!o.allowFallback || o.codec == VideoCodec::Gif)
                fail(ErrorCode::Unsupported,
                     target + ": this FFmpeg has no encoder '" + wanted + "' for " + videoCodecName(o.codec));
            codec = avcodec_find_encoder_by_name("mpeg4");
            if (!codec)
                fail(ErrorCode::Unsupported,
                     target + ": neither '" + wanted + "' nor the mpeg4 fallback encoder is available");
            spdlog::warn("{}: encoder '{}' is missing; falling back to mpeg4", target, wanted);
            fellBack = true;
        }
        if (avformat_query_codec(ofmt, codec->id, FF_COMPLIANCE_NORMAL) != 1)
            fail(ErrorCode::InvalidArgument,
                 target + ": the " + ofmt->name + " container cannot hold " + codec->name
                     + " video (use .mp4 for h264/mpeg4, .webm for vp9, .gif for gif)");

        // Write into a temporary sibling; the muxer is told the format explicitly because the
        // temporary name's extension means nothing to it.
        tmp = temporarySibling(target);
        AVFormatContext *raw = nullptr;
        check(avformat_alloc_output_context2(&raw, ofmt, nullptr, tmp.string().c_str()), target,
              "avformat_alloc_output_context2", ErrorCode::Internal);
        fmt.reset(raw);
        if (!(ofmt->flags & AVFMT_NOFILE)) {
            const int ret = avio_open(&fmt->pb, tmp.string().c_str(), AVIO_FLAG_WRITE);
            if (ret < 0) {
                tmp.clear(); // nothing was created
                fail(ErrorCode::IoError,
                     target + ": cannot create the output file in '" + dir.string() + "': " + errorText(ret));
            }
        }
        packet = allocPacket();
        isOpen = true;
    }

    void openEncoder(int frameW, int frameH)
    {
        contentW = options.width ? options.width : frameW;
        contentH = options.height ? options.height : frameH;
        const bool gif = codec->id == AV_CODEC_ID_GIF;
        // 4:2:0 in H.264/MPEG-4 needs even sizes: pad by repeating the last row/column (invisible,
        // unlike black bars, and the content keeps its exact pixels).
        const bool needsEven = codec->id == AV_CODEC_ID_H264 || codec->id == AV_CODEC_ID_MPEG4;
        codedW = needsEven ? (contentW + 1) / 2 * 2 : contentW;
        codedH = needsEven ? (contentH + 1) / 2 * 2 : contentH;

        ctx.reset(avcodec_alloc_context3(codec));
        if (!ctx)
            fail(ErrorCode::Internal, path + ": avcodec_alloc_context3 failed");
        const AVRational rate = av_d2q(options.fps, 100000);
        ctx->width = codedW;
        ctx->height = codedH;
        ctx->framerate = rate;
        ctx->time_base = av_inv_q(rate);
        ctx->pix_fmt = gif ? AV_PIX_FMT_PAL8 : AV_PIX_FMT_YUV420P;
        ctx->gop_size = std::max(1, static_cast<int>(std::lround(options.fps * 2))); // a key frame every ~2 s
        if (!gif) {
            ctx->color_range = AVCOL_RANGE_MPEG;
            ctx->colorspace = AVCOL_SPC_SMPTE170M;
            ctx->color_primaries = AVCOL_PRI_SMPTE170M;
            ctx->color_trc = AVCOL_TRC_SMPTE170M;
        }
        if (fmt->oformat->flags & AVFMT_GLOBALHEADER)
            ctx->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;

        AVDictionary *opts = nullptr;
        const std::string name = codec->name;
        if (name == "libx264") {
            av_dict_set(&opts, "crf", std::to_string(options.crf >= 0 ? options.crf : 18).c_str(), 0);
            av_dict_set(&opts, "preset", "fast", 0);
        } else if (name == "libvpx-vp9") {
            ctx->bit_rate = 0; // constant quality mode
            av_dict_set(&opts, "crf", std::to_string(options.crf >= 0 ? options.crf : 24).c_str(), 0);
            av_dict_set(&opts, "deadline", "good", 0);
            av_dict_set(&opts, "cpu-used", "4", 0);
            av_dict_set(&opts, "row-mt", "1", 0);
        } else if (codec->id == AV_CODEC_ID_MPEG4) {
            // qscale: the CRF given for h264 means nothing here, so only a value meant for mpeg4 is used.
            const int q = options.codec == VideoCodec::Mpeg4 && options.crf > 0 ? options.crf : 2;
            ctx->flags |= AV_CODEC_FLAG_QSCALE;
            ctx->global_quality = FF_QP2LAMBDA * q;
        }
        const int ret = avcodec_open2(ctx.get(), codec, &opts);
        av_dict_free(&opts);
        check(ret, path, (std::string("avcodec_open2(") + name + ")").c_str(), ErrorCode::Unsupported);

        stream = avformat_new_stream(fmt.get(), nullptr);
        if (!stream)
            fail(ErrorCode::Internal, path + ": avformat_new_stream failed");
        stream->time_base = ctx->time_base;
        stream->avg_frame_rate = rate;
        check(avcodec_parameters_from_context(stream->codecpar, ctx.get()), path,
              "avcodec_parameters_from_context");
        if (options.rotationDegrees % 360 != 0) {
            auto *matrix = reinterpret_cast<int32_t *>(
                av_stream_new_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, sizeof(int32_t) * 9));
            if (!matrix)
                fail(ErrorCode::Internal, path + ": cannot allocate the display matrix");
            // av_display_rotation_set(R) makes av_display_rotation_get return -R (counter-clockwise),
            // which players (and our reader) apply as R degrees clockwise.
            av_display_rotation_set(matrix, static_cast<double>(options.rotationDegrees));
        }
        if (!options.comment.empty())
            av_dict_set(&fmt->metadata, "comment", options.comment.c_str(), 0);
        for (const auto &[k, v] : options.metadata)
            av_dict_set(&fmt->metadata, k.c_str(), v.c_str(), 0);
        av_dict_set(&fmt->metadata, "encoder_app", "DiT Studio", 0);

        AVDictionary *muxOpts = nullptr;
        if (std::string(fmt->oformat->name).find("mp4") != std::string::npos
            || std::string(fmt->oformat->name) == "mov")
            av_dict_set(&muxOpts, "movflags", "+faststart", 0); // playable while downloading
        const int hr = avformat_write_header(fmt.get(), &muxOpts);
        av_dict_free(&muxOpts);
        check(hr, path, "avformat_write_header");

        frame = allocFrame();
        frame->format = ctx->pix_fmt;
        frame->width = codedW;
        frame->height = codedH;
        check(av_frame_get_buffer(frame.get(), 0), path, "av_frame_get_buffer", ErrorCode::Internal);
        if (!gif) {
            toYuv.reset(sws_getContext(codedW, codedH, AV_PIX_FMT_RGB24, codedW, codedH, AV_PIX_FMT_YUV420P,
                                       SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INP, nullptr, nullptr,
                                       nullptr));
            if (!toYuv)
                fail(ErrorCode::Internal, path + ": sws_getContext(rgb24 -> yuv420p) failed");
            const int *coef = sws_getCoefficients(SWS_CS_ITU601);
            sws_setColorspaceDetails(toYuv.get(), coef, 1, coef, 0, 0, 1 << 16, 1 << 16);
        }
    }

    void encode(AVFrame *f)
    {
        check(avcodec_send_frame(ctx.get(), f), path, f ? "avcodec_send_frame" : "avcodec_send_frame(flush)");
        for (;;) {
            const int ret = avcodec_receive_packet(ctx.get(), packet.get());
            if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
                return;
            check(ret, path, "avcodec_receive_packet");
            av_packet_rescale_ts(packet.get(), ctx->time_base, stream->time_base);
            packet->stream_index = stream->index;
            check(av_interleaved_write_frame(fmt.get(), packet.get()), path, "av_interleaved_write_frame");
        }
    }

    void write(const Image &image)
    {
        if (!isOpen)
            fail(ErrorCode::InvalidArgument, "VideoWriter: write() before open() or after finish()");
        if (image.width <= 0 || image.height <= 0
            || (image.channels != 1 && image.channels != 3 && image.channels != 4)
            || image.pixels.size() != static_cast<size_t>(image.width) * image.height * image.channels)
            fail(ErrorCode::InvalidArgument,
                 path + ": frame " + std::to_string(frames) + " is not a valid 1/3/4-channel 8-bit image");
        if (!ctx)
            openEncoder(image.width, image.height);

        // 1. RGB24 at the content size.
        toRgb24(image, src);
        const std::uint8_t *contentData = src.data();
        if (image.width != contentW || image.height != contentH) {
            resize.reset(sws_getCachedContext(
                resize.release(), image.width, image.height, AV_PIX_FMT_RGB24, contentW, contentH,
                AV_PIX_FMT_RGB24, swsFlags(options.filter) | SWS_ACCURATE_RND, nullptr, nullptr, nullptr));
            if (!resize)
                fail(ErrorCode::Internal, path + ": sws_getCachedContext(resize) failed");
            content.resize(static_cast<size_t>(contentW) * contentH * 3);
            const std::uint8_t *srcSlice[1] = {src.data()};
            const int srcStride[1] = {image.width * 3};
            std::uint8_t *dst[1] = {content.data()};
            const int dstStride[1] = {contentW * 3};
            sws_scale(resize.get(), srcSlice, srcStride, 0, image.height, dst, dstStride);
            contentData = content.data();
        }
        // 2. Pad to the coded size by edge replication.
        const std::uint8_t *codedData = contentData;
        if (codedW != contentW || codedH != contentH) {
            coded.resize(static_cast<size_t>(codedW) * codedH * 3);
            for (int y = 0; y < codedH; ++y) {
                const std::uint8_t *row
                    = contentData + static_cast<size_t>(std::min(y, contentH - 1)) * contentW * 3;
                std::uint8_t *out = coded.data() + static_cast<size_t>(y) * codedW * 3;
                std::memcpy(out, row, static_cast<size_t>(contentW) * 3);
                for (int x = contentW; x < codedW; ++x)
                    std::memcpy(out + x * 3, row + (contentW - 1) * 3, 3);
            }
            codedData = coded.data();
        }
        // 3. Into the encoder's pixel format.
        check(av_frame_make_writable(frame.get()), path, "av_frame_make_writable", ErrorCode::Internal);
        if (ctx->pix_fmt == AV_PIX_FMT_PAL8) {
            const size_t n = static_cast<size_t>(codedW) * codedH;
            const auto palette = video::medianCutPalette(codedData, n, 256);
            indices.resize(n);
            video::mapToPalette(codedData, n, palette, indices.data());
            for (int y = 0; y < codedH; ++y)
                std::memcpy(frame->data[0] + static_cast<size_t>(y) * frame->linesize[0],
                            indices.data() + static_cast<size_t>(y) * codedW, codedW);
            auto *pal = reinterpret_cast<std::uint32_t *>(frame->data[1]);
            for (int i = 0; i < 256; ++i) // AVPALETTE entries are native-endian 0xAARRGGBB
                pal[i] = 0xFF000000u | (i < int(palette.size()) ? palette[i] : 0u);
        } else {
            const std::uint8_t *srcSlice[1] = {codedData};
            const int srcStride[1] = {codedW * 3};
            sws_scale(toYuv.get(), srcSlice, srcStride, 0, codedH, frame->data, frame->linesize);
        }
        frame->pts = frames;
        encode(frame.get());
        ++frames;
    }

    VideoInfo finish()
    {
        if (!isOpen)
            fail(ErrorCode::InvalidArgument, "VideoWriter: finish() without open()");
        if (frames == 0)
            fail(ErrorCode::InvalidArgument, path + ": no frames were written");
        encode(nullptr);
        check(av_write_trailer(fmt.get()), path, "av_write_trailer");
        VideoInfo info;
        info.path = path;
        info.container = fmt->oformat->name;
        info.codec = avcodec_get_name(ctx->codec_id);
        info.encoder = codec->name;
        info.width = codedW;
        info.height = codedH;
        info.fps = options.fps;
        info.frameCount = frames;
        info.frameCountExact = true;
        info.durationSeconds = frames / options.fps;
        info.rotationDegrees = ((options.rotationDegrees % 360) + 360) % 360;
        info.comment = options.comment;
        info.metadata = options.metadata;
        const bool gif = ctx->codec_id == AV_CODEC_ID_GIF;
        ctx.reset();
        fmt.reset(); // closes the file
        if (gif && !options.comment.empty()) {
            std::ifstream in(tmp, std::ios::binary);
            std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                            std::istreambuf_iterator<char>());
            in.close();
            video::insertGifComment(bytes, options.comment);
            std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
            out.write(reinterpret_cast<const char *>(bytes.data()),
                      static_cast<std::streamsize>(bytes.size()));
            out.close();
            if (!out)
                fail(ErrorCode::IoError, path + ": writing the GIF comment failed (disk full?)");
        }
        std::error_code ec;
        if (!options.overwrite) {
            // No-clobber commit: a hard link fails if the target appeared meanwhile. File systems
            // without hard links get the checked rename.
            fs::create_hard_link(tmp, path, ec);
            if (!ec) {
                fs::remove(tmp, ec);
            } else if (fs::exists(path)) {
                fail(ErrorCode::IoError,
                     path + ": file exists (created while encoding; refusing to overwrite)");
            } else {
                commitTemporary(tmp, path);
            }
        } else {
            commitTemporary(tmp, path);
        }
        tmp.clear();
        isOpen = false;
        info.fileBytes = static_cast<std::int64_t>(fs::file_size(path, ec));
        return info;
    }
};

VideoWriter::VideoWriter() : m_impl(std::make_unique<Impl>()) { }

VideoWriter::~VideoWriter()
{
    m_impl->discard();
}

Result<void> VideoWriter::open(const std::string &path, const VideoWriterOptions &options)
{
    auto r = guarded(std::string(), [&] { m_impl->open(path, options); });
    if (!r.ok())
        m_impl->discard();
    return r;
}

Result<void> VideoWriter::write(const Image &frame)
{
    auto r = guarded(std::string(), [&] { m_impl->write(frame); });
    if (!r.ok())
        m_impl->discard(); // a failed writer cannot continue: remove the partial file now
    return r;
}

Result<VideoInfo> VideoWriter::finish()
{
    auto r = guarded(std::string(), [&] { return m_impl->finish(); });
    if (!r.ok())
        m_impl->discard();
    return r;
}

void VideoWriter::abort()
{
    m_impl->discard();
}

std::int64_t VideoWriter::framesWritten() const
{
    return m_impl->frames;
}

bool VideoWriter::isOpen() const
{
    return m_impl->isOpen;
}

} // namespace ditstudio
