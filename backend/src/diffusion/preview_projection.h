#pragma once
// Cheap per-step previews for latent models: a linear latent -> RGB map with a bias, fitted per VAE by
// least squares against real decodes, cached by a digest of the VAE's weights.
//
// Why linear: the SD VAE decoder is far too slow to run at every sampling step (seconds per image on
// a CPU), but its output, averaged over each latent pixel's 8x8 footprint, is close to an affine
// function of the 4 latent channels. Applying the map costs one [C+1, 3] matrix product per latent
// pixel: microseconds. The fixed matrix in core/tensor_image.h is one such fit for the SD VAE; fitting
// per VAE makes previews right for fine-tuned and non-SD VAEs (other channel counts, other scalings).
// Ref: the "latent2RGB" approximation used by ComfyUI (latent_formats.py) and A1111 (sd_samplers_common),
// here derived by ordinary least squares instead of hand tuning.

#include "model/vae.h"

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace ditstudio {

/// How the fitting latents are drawn. Three kinds, each matching a phase of sampling:
///  - gaussian: N(0, 1) latents, what x_t looks like in the first steps;
///  - smooth:   low-frequency latents (4x4 Gaussian upsampled bilinearly), between noise and image;
///  - encoded:  smooth random colour images encoded by the VAE (posterior mean, scaled), i.e. latents
///              on the VAE's image manifold, what x0 and the last x_t look like.
/// Each kind contributes fitPerKind latents to the fit and heldOutPerKind more to the error estimate.
struct PreviewFitOptions {
    /// Side of each fitting latent (8 -> 64 px images for SD). The fit runs once per VAE at load; with
    /// the SD VAE on a 2-core CPU it takes ~108 s at 16 under heavy load, so 8 (a quarter of that).
    /// The 6 x 64 fitting rows already over-determine the 3 x (C + 1) unknowns many times.
    int latentSize = 8;
    int fitPerKind = 2;
    int heldOutPerKind = 1;
    std::uint64_t seed = 0x5eed;
    bool clampTargets = true; ///< fit to the displayed image (decode clamped to [-1, 1])
};

/// A fitted projection and its measured error. Errors are RMSE in image units ([-1, 1], so the range
/// is 2) at latent resolution: the decode is 8x8 average-pooled (downsampleFactor x downsampleFactor).
struct PreviewProjection {
    torch::Tensor matrix; ///< [C + 1, 3] float32 on the CPU: weights, then the bias row
    std::string key; ///< cache key: weight digest + fit settings
    int latentChannels = 0;
    double heldOutRmse = 0; ///< on latents not used for the fit
    double heldOutPsnr = 0; ///< 20 log10(2 / heldOutRmse), dB
    double fitRmse = 0; ///< on the fitting latents
    double baselineRmse = 0; ///< held-out RMSE of the best constant colour (the targets' spread)
    double fixedMatrixRmse = -1; ///< held-out RMSE of the fixed SD matrix (4-channel VAEs), else -1
    std::int64_t fitPixels = 0; ///< latent pixels (rows) in the least-squares problem
    std::int64_t heldOutPixels = 0;
    double fitSeconds = 0; ///< time to decode and fit (0 when read from the cache)
    bool fromCache = false;

    /// One line for logs: "RMSE 0.051 (PSNR 31.8 dB) held out, fit 0.049, baseline 0.31, fixed SD 0.12".
    std::string summary() const;
};

/// [N, C, h, w] diffusion latents -> [N, 3, h*f, w*f] image in [-1, 1].
using LatentDecodeFn = std::function<torch::Tensor(const torch::Tensor &)>;
/// [N, 3, H, W] image in [-1, 1] -> [N, C, H/f, W/f] diffusion latents; may be empty (no encoded kind).
using ImageEncodeFn = std::function<torch::Tensor(const torch::Tensor &)>;

/// Fit a projection for any decoder (the VAE overload below, or a test's known map). The downsampling
/// factor f is read from the decoded size. Throws DitException when the decoder's output has the wrong
/// shape or the fit is degenerate.
PreviewProjection fitPreviewProjection(const LatentDecodeFn &decode, const ImageEncodeFn &encode,
                                       int latentChannels, const PreviewFitOptions &options = {});

/// Fit against vae->decodeLatents (scaled latents, the space the DiT samples in); the encoded kind uses
/// vae->encodeLatents (mean). Runs in the VAE's device/dtype under InferenceMode.
PreviewProjection fitPreviewProjection(AutoencoderKL &vae, const PreviewFitOptions &options = {});

/// A fast deterministic 64-bit digest (16 hex digits) of every parameter and buffer of a module: names,
/// dtypes, shapes and bytes, in name order. Equal weights give equal digests whatever file layout they
/// came from; any changed value changes it. Hashes ~GB/s (xxHash64-style rounds over 8-byte words).
std::string moduleWeightDigest(torch::nn::Module &module);

/// The cache key of a VAE's projection: weight digest, scaling/shift factors, fit settings and the
/// fitting code's version, so a change to any of them invalidates the cache.
std::string previewProjectionKey(AutoencoderKL &vae, const PreviewFitOptions &options = {});

/// The cache file of a key inside cacheDir: cacheDir/preview-projection-<key>.json.
std::filesystem::path previewProjectionCachePath(const std::filesystem::path &cacheDir,
                                                 const std::string &key);

/// Write a projection as JSON atomically (replacing an older cache file of the same key).
void savePreviewProjection(const std::filesystem::path &file, const PreviewProjection &projection);
/// Read a cache file; throws DitException(FormatError) naming the file and field when it is not a
/// projection of `expectedKey` with a [C + 1, 3] matrix.
PreviewProjection loadPreviewProjection(const std::filesystem::path &file, const std::string &expectedKey);

/// The cached projection of this VAE when cacheDir holds a valid one, else fit it and write the cache
/// (a cache that cannot be read or written is logged and ignored: previews never block loading).
PreviewProjection loadOrFitPreviewProjection(AutoencoderKL &vae, const std::filesystem::path &cacheDir,
                                             const PreviewFitOptions &options = {});

/// Default cache folder: $DITSTUDIO_CACHE_DIR when set, else <user data dir>/cache.
std::filesystem::path defaultPreviewCacheDir();

} // namespace ditstudio
