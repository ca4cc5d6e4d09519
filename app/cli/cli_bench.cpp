// ditstudio-cli bench: the DiT forward (ms, GFLOP/s, share of the GEMM peak), `bench --preview` (the
// per-step preview against one step) and `bench --probes` (a step with every probe off vs on).
#include "cli/cli_commands.h"
#include "cli/cli_common.h"
#include "ditstudio/bench.h"
#include "ditstudio/engine.h"
#include "ditstudio/model_info.h"
#include "ditstudio/probes.h"
#include "ditstudio/runtime.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <set>

namespace ditstudio::cli {

namespace {

/// --arch (default DiT-XL/2) and --image-size (default 256, a multiple of 8), checked as usage errors.
void archAndSizeFromFlags(const Args &a, std::string &arch, int &imageSize)
{
    arch = opt(a, "--arch", "DiT-XL/2");
    imageSize = static_cast<int>(intOpt(a, "--image-size", 256, 8, 4096));
    if (imageSize % 8)
        throw UsageError("--image-size must be a multiple of 8");
    if (auto cfg = ditConfigByName(arch, imageSize / 8); !cfg.ok())
        throw UsageError(cfg.error().message);
}

} // namespace

int cmdBench(const Args &a)
{
    allowOnly(a,
              {"--arch", "--image-size", "--batch", "--iters", "--warmup", "--dtype", "--device", "--threads",
               "--json", "--log-level", "--num-classes", "--gemm", "--low-precision-residual"},
              "bench");
    BenchRequest req;
    archAndSizeFromFlags(a, req.arch, req.imageSize);
    req.numClasses = static_cast<int>(intOpt(a, "--num-classes", 1000, 1, 100000));
    req.batch = static_cast<int>(intOpt(a, "--batch", 2, 1, 1024));
    req.iters = static_cast<int>(intOpt(a, "--iters", 3, 1, 10000));
    req.warmup = static_cast<int>(intOpt(a, "--warmup", 1, 0, 1000));
    req.dtype = parsedOpt(a, "--dtype", parseDType, DType::Float32);
    req.device = opt(a, "--device", "auto");
    req.lowPrecisionResidual = a.flags.count("--low-precision-residual") > 0;
    req.measureGemmPeak = a.flags.count("--gemm") > 0;
    const BenchReport r = valueOr(benchForward(req));
    nlohmann::json gemm = nlohmann::json::array();
    for (const auto &g : r.gemm)
        gemm.push_back({{"name", g.name}, {"m", g.m}, {"k", g.k}, {"n", g.n}, {"gflops", g.gflops}});
    nlohmann::json j = {{"arch", r.arch},
                        {"image_size", r.imageSize},
                        {"batch", r.batch},
                        {"dtype", dtypeName(r.dtype)},
                        {"residual", r.residual},
                        {"device", r.device},
                        {"threads", r.threads},
                        {"iters", r.iters},
                        {"ms_median", r.msMedian},
                        {"ms_mean", r.msMean},
                        {"ms_min", r.msMin},
                        {"gmacs_per_image", r.gmacsPerImage},
                        {"gflops_per_forward", r.gflopsPerForward},
                        {"achieved_gflops", r.achievedGflops},
                        {"parameters", r.parameters},
                        {"peak_rss_mb", r.peakRssMb},
                        {"blas", r.blas}};
    if (r.gemmPeakGflops > 0) {
        j["gemm"] = gemm;
        j["gemm_peak_gflops"] = r.gemmPeakGflops;
        j["share_of_gemm_peak"] = r.achievedGflops / r.gemmPeakGflops;
    }
    if (a.flags.count("--json")) {
        std::cout << j.dump(2) << '\n';
    } else {
        std::printf("%s @%dpx batch %d %s on %s (%d threads): %.1f ms/forward (median of %d), %.1f GFLOP/s "
                    "(%.1f GFLOP per forward)\n",
                    r.arch.c_str(), r.imageSize, r.batch, dtypeName(r.dtype), r.device.c_str(), r.threads,
                    r.msMedian, r.iters, r.achievedGflops, r.gflopsPerForward);
        if (r.gemmPeakGflops > 0) {
            for (const auto &g : r.gemm)
                std::printf("  GEMM %-9s [%lld x %lld] x [%lld x %lld]: %.1f GFLOP/s\n", g.name.c_str(),
                            static_cast<long long>(g.m), static_cast<long long>(g.k),
                            static_cast<long long>(g.k), static_cast<long long>(g.n), g.gflops);
            std::printf("  forward reaches %.0f%% of the GEMM peak (%.1f GFLOP/s); peak RSS %.0f MB\n",
                        100.0 * r.achievedGflops / r.gemmPeakGflops, r.gemmPeakGflops, r.peakRssMb);
        }
    }
    return 0;
}

int cmdBenchPreview(const std::vector<std::string> &argv)
{
    const Args a = parseArgs(argv, 1, {"--preview", "--with-decode"});
    allowOnly(a,
              {"--preview", "--with-decode", "--arch", "--image-size", "--batch", "--iters", "--warmup",
               "--preview-iters", "--vae", "--threads", "--log-level", "--json", "--cache-dir"},
              "bench --preview");
    PreviewBenchRequest req;
    archAndSizeFromFlags(a, req.arch, req.imageSize);
    req.batch = static_cast<int>(intOpt(a, "--batch", 2, 1, 1024)); // 2 = one image with CFG
    req.iters = static_cast<int>(intOpt(a, "--iters", 3, 1, 10000));
    req.warmup = static_cast<int>(intOpt(a, "--warmup", 1, 0, 1000));
    req.previewIters = static_cast<int>(intOpt(a, "--preview-iters", 200, 1, 1000000));
    req.vaePath = opt(a, "--vae");
    req.cacheDir = opt(a, "--cache-dir");
    req.withDecode = a.flags.count("--with-decode") > 0;
    const PreviewBenchReport r = valueOr(benchPreview(req));
    if (r.fitted)
        std::cerr << "projection: " << r.projectionSummary << '\n';
    nlohmann::json projection = {{"source", r.projectionSource}};
    if (r.fitted)
        projection = {{"source", r.projectionSource},        {"from_cache", r.fromCache},
                      {"fit_seconds", r.fitSeconds},         {"held_out_rmse", r.heldOutRmse},
                      {"held_out_psnr_db", r.heldOutPsnrDb}, {"fit_rmse", r.fitRmse},
                      {"baseline_rmse", r.baselineRmse},     {"fixed_matrix_rmse", r.fixedMatrixRmse}};
    nlohmann::json j = {{"arch", r.arch},
                        {"image_size", r.imageSize},
                        {"latent", r.latentShape},
                        {"dit_batch", r.batch},
                        {"threads", r.threads},
                        {"blas", r.blas},
                        {"step_ms", r.stepMs},
                        {"preview_ms", r.previewMs},
                        {"projection_only_ms", r.projectionOnlyMs},
                        {"preview_percent_of_step", 100.0 * r.previewMs / r.stepMs},
                        {"target_percent", 2.0},
                        {"within_target", r.previewMs / r.stepMs < 0.02},
                        {"projection", projection}};
    if (r.vaeDecodeMs) {
        j["vae_decode_ms"] = *r.vaeDecodeMs;
        j["vae_decode_percent_of_step"] = 100.0 * *r.vaeDecodeMs / r.stepMs;
    }
    if (a.flags.count("--json")) {
        std::cout << j.dump(2) << '\n';
    } else {
        std::printf("%s @%dpx, DiT forward batch %d: %.1f ms/step; preview of x_t + x0 (%s): %.3f ms "
                    "(projection alone %.3f ms) = %.4f%% of a step (target < 2%%: %s)\n",
                    r.arch.c_str(), r.imageSize, r.batch, r.stepMs, r.projectionSource.c_str(), r.previewMs,
                    r.projectionOnlyMs, 100.0 * r.previewMs / r.stepMs,
                    r.previewMs / r.stepMs < 0.02 ? "met" : "MISSED");
        if (r.vaeDecodeMs)
            std::printf("full VAE decode of x0: %.1f ms = %.1f%% of a step\n", *r.vaeDecodeMs,
                        j["vae_decode_percent_of_step"].get<double>());
    }
    return 0;
}

int cmdBenchProbes(const std::vector<std::string> &argv)
{
    // The cost of the probes: the same generation (model, prompt, sampler, steps, seed) with every
    // probe off and with every probe on, alternating, best of --iters runs each.
    const Args a = parseArgs(argv, 1, {"--probes", "--karras", "--json", "--quiet"});
    std::set<std::string> allowed = kGenerationKeys;
    allowed.insert({"--probes", "--iters"});
    allowOnly(a, allowed, "bench --probes");
    Engine engine;
    GenerateRequest req = generationFromFlags(a, engine, SamplerKind::Ddim, false);
    if (!a.options.count("--prompt") && !a.options.count("--class"))
        req.conditioning = Conditioning {{{0, 1.0}}};
    req.wantPreviews = false;
    const int iters = static_cast<int>(intOpt(a, "--iters", 5, 1, 1000));
    ProbeOptions all;
    all.attention = all.adaln = all.activity = all.guidance = all.x0Change = true;
    all.attentionBudgetBytes = 1LL << 40;
    GenerateObserver observer;
    std::size_t recorded = 0;
    observer.onStep = [&](const StepUpdate &u) { recorded += u.probes.attention.size(); };
    double best[2] = {1e300, 1e300};
    for (int i = 0; i < iters + 1; ++i) { // the first round warms up
        for (int on = 0; on < 2; ++on) {
            req.probes = on ? all : ProbeOptions {};
            auto r = engine.generate(req, observer);
            if (!r.ok())
                fail(r.error().code, r.error().message);
            if (i > 0)
                best[on] = std::min(best[on], r->seconds);
        }
    }
    const double perStepOff = best[0] / req.steps * 1000, perStepOn = best[1] / req.steps * 1000;
    const double overhead = (best[1] / best[0] - 1) * 100;
    if (has(a, "--json")) {
        std::cout << nlohmann::json {{"architecture", engine.modelInfo().config.name()},
                                     {"steps", req.steps},
                                     {"sampler", samplerName(req.sampler)},
                                     {"cfg", req.cfgScale},
                                     {"iters", iters},
                                     {"ms_per_step_probes_off", perStepOff},
                                     {"ms_per_step_probes_on", perStepOn},
                                     {"overhead_percent", overhead}}
                         .dump(2)
                  << '\n';
    } else {
        std::printf(
            "%s, %s %d steps, cfg %g: probes off %.2f ms/step, all probes on %.2f ms/step (%+.1f%%), best of "
            "%d\n",
            engine.modelInfo().config.name().c_str(), samplerName(req.sampler), req.steps, req.cfgScale,
            perStepOff, perStepOn, overhead, iters);
    }
    return recorded > 0 ? 0 : 1;
}

} // namespace ditstudio::cli
