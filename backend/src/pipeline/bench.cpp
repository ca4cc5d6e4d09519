// The public benchmarks (ditstudio/bench.h): the DiT forward on random weights with its matrix-product
// peak, and the per-step preview against one step. Moved here from the CLI so that the CLI needs only
// the public headers.
#include "ditstudio/bench.h"

#include "common/errors.h"
#include "core/platform.h"
#include "core/tensor_image.h"
#include "core/torch_types.h"
#include "diffusion/preview_projection.h"
#include "ditstudio/model_info.h"
#include "ditstudio/runtime.h"
#include "model/dit.h"
#include "model/vae.h"
#include "model/vae_loader.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>

namespace ditstudio {

namespace {

DiTConfig benchConfig(const std::string &arch, int imageSize)
{
    if (imageSize < 8 || imageSize % 8)
        fail(ErrorCode::InvalidArgument,
             "image size " + std::to_string(imageSize) + ": must be a positive multiple of 8");
    auto cfg = ditConfigByName(arch, imageSize / 8);
    if (!cfg.ok())
        fail(cfg.error().code, cfg.error().message);
    return cfg.value();
}

void synchronize(const torch::Device &device)
{
    if (device.is_cuda())
        torch::cuda::synchronize();
}

template<typename F> double medianMs(int iters, F &&f)
{
    std::vector<double> ms;
    for (int i = 0; i < iters; ++i) {
        const auto s = std::chrono::steady_clock::now();
        f();
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - s).count());
    }
    std::sort(ms.begin(), ms.end());
    return ms[ms.size() / 2];
}

} // namespace

Result<BenchReport> benchForward(const BenchRequest &request)
{
    return guarded("bench", [&] {
        DiTConfig cfg = benchConfig(request.arch, request.imageSize);
        if (request.numClasses < 1 || request.batch < 1 || request.iters < 1 || request.warmup < 0)
            fail(ErrorCode::InvalidArgument, "bench: classes, batch and iterations must be positive");
        cfg.numClasses = request.numClasses;
        const torch::Device device = toTorchDevice(request.device);
        const auto st = toTorchDType(request.dtype);
        if (st == torch::kFloat16 && device.is_cpu())
            fail(ErrorCode::Unsupported, "fp16 needs a CUDA device; use fp32 or bf16 on the CPU");
        torch::InferenceMode im;
        torch::manual_seed(0);
        DiT model(cfg);
        model->eval();
        model->to(device, st);
        model->fp32Residual = !request.lowPrecisionResidual;
        auto x = torch::randn({request.batch, cfg.inChannels, cfg.inputSize, cfg.inputSize}).to(device, st);
        auto t = torch::randint(0, 1000, {request.batch}).to(device);
        auto y = torch::randint(0, cfg.numClasses, {request.batch}, torch::kLong).to(device);
        for (int i = 0; i < request.warmup; ++i)
            model->forward(x, t, y);
        synchronize(device);
        std::vector<double> ms;
        for (int i = 0; i < request.iters; ++i) {
            const auto s = std::chrono::steady_clock::now();
            auto out = model->forward(x, t, y);
            synchronize(device);
            (void)out.sum().item<float>();
            ms.push_back(
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - s).count());
        }
        std::sort(ms.begin(), ms.end());
        BenchReport r;
        r.arch = cfg.name();
        r.imageSize = request.imageSize;
        r.batch = request.batch;
        r.iters = request.iters;
        r.threads = computeThreads();
        r.dtype = request.dtype;
        r.residual = request.dtype == DType::Float32 || request.lowPrecisionResidual
            ? dtypeName(request.dtype)
            : "fp32";
        r.device = device.str();
        r.msMedian = ms[ms.size() / 2];
        r.msMin = ms.front();
        for (double v : ms)
            r.msMean += v / ms.size();
        r.gmacsPerImage = cfg.macsPerForward() / 1e9;
        r.gflopsPerForward = 2.0 * cfg.macsPerForward() * request.batch / 1e9;
        r.achievedGflops = r.gflopsPerForward / (r.msMedian / 1000.0);
        r.parameters = cfg.parameterCount();
        if (request.measureGemmPeak) {
            // The four linears of a block at tokens = batch x T rows, same dtype and threads.
            const int64_t tokens = static_cast<int64_t>(request.batch) * cfg.tokens();
            const int64_t d = cfg.hiddenSize;
            const struct {
                const char *name;
                int64_t k, n;
            } shapes[]
                = {{"qkv", d, 3 * d}, {"attn.proj", d, d}, {"mlp.fc1", d, 4 * d}, {"mlp.fc2", 4 * d, d}};
            for (const auto &sh : shapes) {
                const auto A = torch::randn({tokens, sh.k}).to(device, st);
                const auto B = torch::randn({sh.k, sh.n}).to(device, st);
                for (int i = 0; i < 2; ++i)
                    (void)torch::mm(A, B);
                synchronize(device);
                int reps = 0;
                const auto s0 = std::chrono::steady_clock::now();
                double elapsed = 0;
                while (elapsed < 0.3 || reps < 3) {
                    (void)torch::mm(A, B);
                    synchronize(device);
                    ++reps;
                    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - s0).count();
                }
                GemmTiming g {sh.name, tokens, sh.k, sh.n, 2.0 * tokens * sh.k * sh.n * reps / elapsed / 1e9};
                r.gemmPeakGflops = std::max(r.gemmPeakGflops, g.gflops);
                r.gemm.push_back(g);
            }
        }
        r.peakRssMb = platform::peakResidentBytes() / 1048576.0;
        r.blas = platform::blasDescription();
        return r;
    });
}

Result<PreviewBenchReport> benchPreview(const PreviewBenchRequest &request)
{
    return guarded("bench --preview", [&] {
        const DiTConfig cfg = benchConfig(request.arch, request.imageSize);
        if (request.batch < 1 || request.iters < 1 || request.warmup < 0 || request.previewIters < 1)
            fail(ErrorCode::InvalidArgument, "bench --preview: batch and iterations must be positive");
        torch::InferenceMode im;
        PreviewBenchReport r;
        r.arch = cfg.name();
        r.imageSize = request.imageSize;
        r.batch = request.batch;
        r.latentShape = {1, cfg.inChannels, cfg.inputSize, cfg.inputSize};

        // The projection: fitted to the VAE (cached), else the fixed SD matrix. Both are [C + 1, 3],
        // so the cost measured is the same; the fitted one also reports its error.
        torch::Tensor matrix;
        std::optional<AutoencoderKL> vae;
        if (!request.vaePath.empty()) {
            auto loaded = readVaeCheckpoint(request.vaePath);
            if (loaded.info.config.latentChannels != cfg.inChannels)
                fail(ErrorCode::ShapeMismatch,
                     request.vaePath + ": " + std::to_string(loaded.info.config.latentChannels)
                         + " latent channels, the DiT has " + std::to_string(cfg.inChannels));
            vae = buildVae(loaded, torch::kCPU, torch::kFloat32);
            const std::filesystem::path cacheDir = request.cacheDir.empty()
                ? defaultPreviewCacheDir()
                : std::filesystem::path(request.cacheDir);
            const auto p = loadOrFitPreviewProjection(*vae, cacheDir);
            matrix = p.matrix;
            r.projectionSource = loaded.info.path;
            r.fitted = true;
            r.fromCache = p.fromCache;
            r.fitSeconds = p.fitSeconds;
            r.heldOutRmse = p.heldOutRmse;
            r.heldOutPsnrDb = p.heldOutPsnr;
            r.fitRmse = p.fitRmse;
            r.baselineRmse = p.baselineRmse;
            r.fixedMatrixRmse = p.fixedMatrixRmse;
            r.projectionSummary = p.summary();
        }
        torch::manual_seed(0);
        const auto xt = torch::randn({1, cfg.inChannels, cfg.inputSize, cfg.inputSize});
        const auto x0 = torch::randn({1, cfg.inChannels, cfg.inputSize, cfg.inputSize});
        auto preview = [&](const torch::Tensor &x) {
            return cfg.inChannels == 4 || matrix.defined() ? tensorToImages(latentToRgbPreview(x, matrix))
                                                           : tensorToImages(x);
        };
        for (int i = 0; i < 10; ++i)
            (void)preview(xt);
        // The engine's per-step work for previews: project x_t and x0, convert both to 8-bit images.
        r.previewMs = medianMs(request.previewIters, [&] {
            (void)preview(xt);
            (void)preview(x0);
        });
        r.projectionOnlyMs = medianMs(request.previewIters, [&] {
            (void)latentToRgbPreview(xt, matrix);
            (void)latentToRgbPreview(x0, matrix);
        });

        DiT model(cfg);
        model->eval();
        auto x = torch::randn({request.batch, cfg.inChannels, cfg.inputSize, cfg.inputSize});
        auto t = torch::randint(0, 1000, {request.batch});
        auto y = torch::randint(0, cfg.numClasses, {request.batch}, torch::kLong);
        for (int i = 0; i < request.warmup; ++i)
            (void)model->forward(x, t, y);
        r.stepMs = medianMs(request.iters, [&] { (void)model->forward(x, t, y).sum().item<float>(); });
        if (request.withDecode) {
            // For scale: what a full VAE decode of x0 would cost at every step (SD architecture with
            // random weights unless a VAE is given). One timed run, no warm-up: it takes seconds.
            AutoencoderKL dec = vae ? *vae : AutoencoderKL(VaeConfig {});
            dec->eval();
            r.vaeDecodeMs = medianMs(1, [&] { (void)dec->decodeLatents(x0).sum().item<float>(); });
        }
        r.threads = computeThreads();
        r.blas = platform::blasDescription();
        return r;
    });
}

} // namespace ditstudio
