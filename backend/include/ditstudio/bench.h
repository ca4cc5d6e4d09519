#pragma once
/// \file bench.h
/// Benchmarks of the engine on random weights (no checkpoint needed): the transformer forward at a
/// model shape (ms, GFLOP/s, share of the machine's matrix-product peak at the same shapes, peak
/// memory), and the cost of the per-step preview next to one sampling step. They run on the calling
/// thread with the process's compute threads (setComputeThreads) and block until done.
///
/// Example:
///     ditstudio::setComputeThreads(2);
///     ditstudio::BenchRequest request;
///     request.arch = "DiT-XL/2";
///     request.measureGemmPeak = true;
///     auto report = ditstudio::benchForward(request);
///     // report->msMedian, report->achievedGflops, report->achievedGflops / report->gemmPeakGflops

#include "ditstudio/result.h"
#include "ditstudio/types.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ditstudio {

struct BenchRequest {
    std::string arch = "DiT-XL/2"; ///< an official name (DiT-S/2 ... DiT-XL/8)
    int imageSize = 256; ///< pixels; the latent is imageSize / 8 (multiple of 8)
    int numClasses = 1000;
    int batch = 2; ///< rows per forward (2 = one image with classifier-free guidance)
    int iters = 3; ///< timed forwards (the median is reported)
    int warmup = 1; ///< untimed forwards first
    DType dtype = DType::Float32;
    std::string device = "auto"; ///< cpu, cuda[:N], mps or auto
    /// bf16/fp16 only: run the residual stream and norms in the low precision too (the old, less
    /// accurate behaviour) instead of fp32.
    bool lowPrecisionResidual = false;
    /// Also time plain matrix products at the four linear shapes of a block (tokens = batch x T rows),
    /// in the same dtype and threads: the machine's matrix-product peak for this model.
    bool measureGemmPeak = false;
};

struct GemmTiming {
    std::string name; ///< "qkv", "attn.proj", "mlp.fc1", "mlp.fc2"
    std::int64_t m = 0, k = 0, n = 0; ///< [m x k] x [k x n]
    double gflops = 0;
};

struct BenchReport {
    std::string arch; ///< canonical name, e.g. "DiT-XL/2"
    int imageSize = 0, batch = 0, iters = 0, threads = 0;
    DType dtype = DType::Float32;
    std::string residual; ///< dtype of the residual stream ("fp32" unless lowPrecisionResidual)
    std::string device; ///< e.g. "cpu", "cuda:0"
    double msMedian = 0, msMean = 0, msMin = 0; ///< per forward
    double gmacsPerImage = 0; ///< multiply-accumulates of one image's forward, in 1e9
    double gflopsPerForward = 0; ///< 2 x MACs x batch, in 1e9
    double achievedGflops = 0; ///< gflopsPerForward / median seconds
    std::int64_t parameters = 0;
    double peakRssMb = 0; ///< peak resident memory of the process so far (MiB)
    std::string blas; ///< the BLAS library and its threading, as loaded
    std::vector<GemmTiming> gemm; ///< with measureGemmPeak
    double gemmPeakGflops = 0; ///< the best of gemm (0 without measureGemmPeak)
};

/// Time the DiT forward on random weights. Errors: an unknown arch or image size, an unavailable
/// device, fp16 on the CPU.
Result<BenchReport> benchForward(const BenchRequest &request);

struct PreviewBenchRequest {
    std::string arch = "DiT-XL/2";
    int imageSize = 256;
    int batch = 2; ///< rows of the DiT forward it is compared with
    int iters = 3, warmup = 1; ///< DiT forwards
    int previewIters = 200; ///< preview repetitions (median)
    /// A Stable Diffusion VAE: the preview projection is fitted to it (and cached in cacheDir, default
    /// the user's cache) instead of the fixed SD matrix.
    std::string vaePath;
    std::string cacheDir;
    bool withDecode = false; ///< also time one full VAE decode of x0, for scale
};

struct PreviewBenchReport {
    std::string arch;
    int imageSize = 0, batch = 0, threads = 0;
    std::vector<std::int64_t> latentShape; ///< [1, C, h, w]
    std::string blas;
    double stepMs = 0; ///< one DiT forward of `batch` rows
    double previewMs = 0; ///< the engine's per-step preview work: project x_t and x0, make 8-bit images
    double projectionOnlyMs = 0; ///< the two projections alone
    /// The projection used: "fixed SD matrix" or the VAE path, with the fit's figures when fitted.
    std::string projectionSource = "fixed SD matrix";
    bool fitted = false, fromCache = false;
    double fitSeconds = 0, heldOutRmse = 0, heldOutPsnrDb = 0, fitRmse = 0, baselineRmse = 0,
           fixedMatrixRmse = 0;
    std::string projectionSummary;
    std::optional<double> vaeDecodeMs; ///< with withDecode
};

/// Time the per-step preview against one DiT forward (random weights).
Result<PreviewBenchReport> benchPreview(const PreviewBenchRequest &request);

} // namespace ditstudio
