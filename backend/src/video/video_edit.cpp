// Video-to-video: img2img on every frame with the one noise all frames share (so unchanged content
// maps to the same result and the output does not flicker from noise alone), optional EMA of the
// edited latents over time, re-encoded at the source fps with the source's audio copied through.
#include "common/atomic_file.h"
#include "common/errors.h"
#include "core/tensor_image.h"
#include "ditstudio/editing.h"
#include "ditstudio/video.h"
#include "editing/editor_internal.h"
#include "video/audio_mux.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <random>

namespace ditstudio {

namespace fs = std::filesystem;

Result<VideoEditResult> editing::editVideo(const LoadedModel &model, const PromptParser &parsePrompt,
                                           const VideoEditRequest &request,
                                           const std::function<void(const VideoEditProgress &)> &onFrame,
                                           const CancelToken &cancel)
{
    return guarded("video edit " + request.inputPath, [&]() -> VideoEditResult {
        const auto start = std::chrono::steady_clock::now();
        if (request.edit.mode != EditMode::Img2Img)
            fail(ErrorCode::InvalidArgument,
                 "video editing runs img2img on every frame (edit.mode must be img2img)");
        if (request.temporalSmoothing < 0 || request.temporalSmoothing >= 1)
            fail(ErrorCode::InvalidArgument,
                 "temporal smoothing must be in [0, 1), got " + std::to_string(request.temporalSmoothing));
        if (request.outputScale < 1 || request.outputScale > 16)
            fail(ErrorCode::InvalidArgument, "output scale must be in [1, 16]");
        if (request.maxFrames < 0)
            fail(ErrorCode::InvalidArgument, "maxFrames must not be negative");
        if (request.outputPath.empty())
            fail(ErrorCode::InvalidArgument, "no output path");
        const fs::path target(request.outputPath);
        if (!request.overwrite && fs::exists(target))
            fail(ErrorCode::IoError, request.outputPath + ": file exists (overwrite not allowed)");
        if (request.edit.strength < 0 || request.edit.strength > 1)
            fail(ErrorCode::InvalidArgument,
                 "strength must be in [0, 1], got " + std::to_string(request.edit.strength));

        editing::EditContext ctx(model, parsePrompt);
        VideoReader reader;
        auto info = reader.open(request.inputPath);
        if (!info.ok())
            throw DitException(info.error().code, info.error().message);
        const double fps = info->fps > 0 ? info->fps : 25.0;
        const bool withAudio = request.copyAudio && editing::hasAudioStream(request.inputPath);

        // Video only first; with audio it goes to a temporary sibling that the remux reads.
        fs::path videoPath = target;
        if (withAudio) {
            std::random_device rd;
            videoPath = target.parent_path()
                / (target.stem().string() + ".video-only-" + std::to_string(rd())
                   + target.extension().string());
        }
        struct RemoveGuard {
            fs::path path;
            bool active;
            ~RemoveGuard()
            {
                std::error_code ec;
                if (active)
                    fs::remove(path, ec);
            }
        } videoGuard {videoPath, withAudio};

        VideoWriterOptions wo;
        auto codec = videoCodecForPath(request.outputPath);
        if (!codec.ok())
            throw DitException(codec.error().code, codec.error().message);
        wo.codec = codec.value();
        wo.fps = fps;
        wo.crf = request.crf;
        wo.width = wo.height = ctx.pixelSize() * request.outputScale;
        wo.filter = ScaleFilter::Bicubic;
        wo.overwrite = request.overwrite || withAudio;
        wo.comment = std::string("ditstudio video edit: img2img strength ")
            + std::to_string(request.edit.strength) + ", " + samplerName(request.edit.generate.sampler) + " "
            + std::to_string(request.edit.generate.steps) + " steps, cfg "
            + std::to_string(request.edit.generate.cfgScale) + ", seed "
            + std::to_string(request.edit.generate.seed) + ", smoothing "
            + std::to_string(request.temporalSmoothing);
        VideoWriter writer;
        if (auto r = writer.open(videoPath.string(), wo); !r.ok())
            throw DitException(r.error().code, r.error().message);

        // One noise for every frame: drawn once from the seed (or given), then reused.
        EditRequest frameReq = request.edit;
        if (!frameReq.generate.initNoise) {
            auto gen = at::detail::createCPUGenerator(frameReq.generate.seed);
            frameReq.generate.initNoise = toHost(at::randn(ctx.modelShape(), gen, torch::kFloat32));
        }
        frameReq.generate.wantPreviews = false;

        VideoEditResult result;
        result.fps = fps;
        result.outputPath = request.outputPath;
        torch::Tensor ema;
        const int total
            = request.maxFrames > 0 && (info->frameCount == 0 || request.maxFrames < info->frameCount)
            ? request.maxFrames
            : static_cast<int>(info->frameCount);
        while (request.maxFrames == 0 || result.frames < request.maxFrames) {
            if (cancel.isCancelled()) {
                result.status = JobStatus::Cancelled;
                break;
            }
            auto frame = reader.read();
            if (!frame.ok())
                throw DitException(frame.error().code, frame.error().message);
            if (!frame.value())
                break;
            frameReq.image = std::move((*frame.value()).image);
            auto edited = editing::runEdit(ctx, frameReq, {}, cancel);
            if (edited.status == JobStatus::Cancelled) {
                result.status = JobStatus::Cancelled;
                break;
            }
            Image out = edited.image;
            if (request.temporalSmoothing > 0) {
                torch::InferenceMode guard;
                const auto latent = fromHost(edited.latent);
                ema = ema.defined()
                    ? (1 - request.temporalSmoothing) * latent + request.temporalSmoothing * ema
                    : latent;
                out = ctx.decode(ema.to(ctx.device()));
            }
            if (auto w = writer.write(out); !w.ok())
                throw DitException(w.error().code, w.error().message);
            if (onFrame) {
                VideoEditProgress p;
                p.frame = result.frames;
                p.totalFrames = total;
                p.elapsedSeconds
                    = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
                p.before = edited.before;
                p.after = out;
                onFrame(p);
            }
            ++result.frames;
        }
        if (result.status == JobStatus::Cancelled) {
            writer.abort();
            result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            return result;
        }
        if (result.frames == 0)
            fail(ErrorCode::FormatError, request.inputPath + ": no video frames could be decoded");
        auto written = writer.finish();
        if (!written.ok())
            throw DitException(written.error().code, written.error().message);
        if (withAudio) {
            std::string why;
            result.audioCopied
                = editing::muxVideoWithAudio(videoPath, request.inputPath, target, request.overwrite, why);
            if (!result.audioCopied) {
                spdlog::warn("{}: audio not copied: {}", request.outputPath, why);
                if (!request.overwrite && fs::exists(target))
                    fail(ErrorCode::IoError, request.outputPath + ": file exists (overwrite not allowed)");
                commitTemporary(videoPath, target);
                videoGuard.active = false;
            }
        }
        result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        spdlog::info("video edit: {} frames at {:.3f} fps{} -> {} in {:.1f} s", result.frames, fps,
                     result.audioCopied ? " with audio" : "", request.outputPath, result.seconds);
        return result;
    });
}

} // namespace ditstudio
