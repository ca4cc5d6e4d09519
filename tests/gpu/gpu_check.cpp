// The GPU check (issue 15): parity of the DiT forward with the official code's fixtures on a device,
// then the sampling benchmark the issue sets for a GPU (DiT-XL/2 256 px, 8 images, 50 DDIM steps with
// guidance). Built two ways: in the main build (runs on the CPU in ctest, so it keeps compiling and
// its parity part is checked here), and by scripts/gpu-check.sh against a pip PyTorch's LibTorch on a
// machine with a GPU and none of the app's other dependencies (only LibTorch and nlohmann/json).
//
//   ditstudio_gpu_check --data DIR [--device cuda|cpu] [--arch DiT-XL/2] [--images 8] [--steps 50]
//                       [--dtype fp16|bf16|fp32] [--iters 3] [--skip-bench]
// Exit 0 when every fixture matches (and the bench ran), 1 on a mismatch, 2 on bad usage.
#include "common/errors.h"
#include "diffusion/guidance.h"
#include "diffusion/samplers.h"
#include "ditstudio/model_info.h"
#include "io/safetensors.h"
#include "model/dit.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace ditstudio;

namespace {

struct Options {
    fs::path data;
    std::string device = "cuda";
    std::string arch = "DiT-XL/2";
    int images = 8, steps = 50, iters = 3;
    std::string dtype = "fp16";
    bool bench = true;
};

[[noreturn]] void usage(const std::string &why)
{
    std::fprintf(
        stderr,
        "ditstudio_gpu_check: %s\nusage: ditstudio_gpu_check --data DIR [--device cuda|cpu] [--arch A] "
        "[--images N] [--steps N] [--dtype fp16|bf16|fp32] [--iters N] [--skip-bench]\n",
        why.c_str());
    std::exit(2);
}

Options parse(int argc, char **argv)
{
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc)
                usage(a + " needs a value");
            return argv[++i];
        };
        if (a == "--data")
            o.data = value();
        else if (a == "--device")
            o.device = value();
        else if (a == "--arch")
            o.arch = value();
        else if (a == "--images")
            o.images = std::stoi(value());
        else if (a == "--steps")
            o.steps = std::stoi(value());
        else if (a == "--iters")
            o.iters = std::stoi(value());
        else if (a == "--dtype")
            o.dtype = value();
        else if (a == "--skip-bench")
            o.bench = false;
        else
            usage("unknown option " + a);
    }
    if (o.data.empty() || !fs::is_directory(o.data))
        usage("--data DIR: the parity fixtures (tests/data/parity) are required");
    if (o.images < 1 || o.steps < 1 || o.iters < 1)
        usage("--images, --steps and --iters must be positive");
    if (o.dtype != "fp16" && o.dtype != "bf16" && o.dtype != "fp32")
        usage("--dtype: expected fp16, bf16 or fp32");
    return o;
}

void sync(const torch::Device &device)
{
    if (device.is_cuda())
        torch::cuda::synchronize();
}

/// Copy a state dict into the model by name (shapes checked), pos_embed recomputed when absent.
void load(DiTImpl &model, const StateDict &sd)
{
    torch::NoGradGuard noGrad;
    for (auto &p : model.named_parameters()) {
        const auto &src = sd.at(p.key());
        if (src.sizes() != p.value().sizes())
            fail(ErrorCode::ShapeMismatch, sd.source + ": " + p.key() + " has another shape");
        p.value().copy_(src);
    }
    for (auto &b : model.named_buffers())
        if (sd.contains(b.key()))
            b.value().copy_(sd.at(b.key()));
}

double maxRelative(const torch::Tensor &a, const torch::Tensor &b)
{
    const auto x = a.to(torch::kCPU, torch::kFloat64), y = b.to(torch::kCPU, torch::kFloat64);
    return ((x - y).abs().max() / y.abs().max().clamp_min(1e-12)).item<double>();
}

/// Every fixture folder (cases.safetensors + weights.safetensors + its config via the header).
int parity(const Options &o, const torch::Device &device)
{
    int failures = 0, checked = 0;
    std::vector<fs::path> folders;
    for (const auto &e : fs::directory_iterator(o.data))
        if (fs::exists(e.path() / "cases.safetensors") && fs::exists(e.path() / "weights.safetensors"))
            folders.push_back(e.path());
    std::sort(folders.begin(), folders.end());
    for (const auto &folder : folders) {
        const auto weights = safetensors::load(folder / "weights.safetensors");
        std::vector<TensorSpec> specs;
        for (const auto &[k, t] : weights.tensors)
            specs.push_back({k, t.sizes().vec()});
        auto info = detectDiTArchitecture(specs);
        if (!info.ok()) {
            std::printf("  %-28s skipped: %s\n", folder.filename().string().c_str(),
                        info.error().message.c_str());
            continue;
        }
        // The head count is not in the shapes: the fixture's config.json (the official constructor's
        // arguments) gives it, as the app's loader reads it.
        DiTConfig config = info->config;
        if (std::ifstream f(folder / "config.json"); f) {
            const auto j = nlohmann::json::parse(f);
            config.numHeads = j.value("num_heads", config.numHeads);
        }
        DiT model(config);
        load(*model, weights);
        model->eval();
        model->to(device);
        const auto cases = safetensors::load(folder / "cases.safetensors");
        torch::NoGradGuard noGrad;
        const auto x = cases.at("forward.x").to(device), t = cases.at("forward.t").to(device);
        const auto y = cases.at("forward.y").to(device);
        const auto out = model->forward(x, t, ClassCondition {y, {}});
        const double rel = maxRelative(out, cases.at("forward.out"));
        // fp32 on any device: the official outputs to float tolerance (TF32 is off, see main).
        const bool ok = rel < 1e-4;
        failures += ok ? 0 : 1;
        ++checked;
        std::printf("  %-28s %s forward: max relative error %.2e %s\n", folder.filename().string().c_str(),
                    config.name().c_str(), rel, ok ? "ok" : "MISMATCH");
    }
    if (checked == 0) {
        std::printf("no DiT fixture under %s\n", o.data.string().c_str());
        return 1;
    }
    return failures;
}

/// DiT-XL/2 (random weights) sampling: images x 50 DDIM steps with guidance 4 (2 x images rows), in
/// fp16/bf16 weights with an fp32 residual stream, or fp32.
void bench(const Options &o, const torch::Device &device)
{
    auto cfg = ditConfigByName(o.arch, 32);
    if (!cfg.ok())
        usage(cfg.error().message);
    const auto dtype = o.dtype == "fp16" ? torch::kFloat16
        : o.dtype == "bf16"              ? torch::kBFloat16
                                         : torch::kFloat32;
    torch::InferenceMode im;
    torch::manual_seed(0);
    DiT model(cfg.value());
    model->eval();
    model->to(device, dtype);
    model->fp32Residual = true;
    const int b = o.images;
    std::vector<int64_t> labels(b);
    for (int i = 0; i < b; ++i)
        labels[i] = i % cfg->numClasses;
    labels.insert(labels.end(), b, cfg->numClasses); // null class rows
    const ClassCondition cc {torch::tensor(labels, torch::kLong).to(device), {}};
    GuidanceOptions go;
    go.scale = 4.0;
    ModelFn fn = [&](const torch::Tensor &x, const torch::Tensor &t) {
        return guidedForward(*model, x.to(dtype), t, cc, go).to(torch::kFloat32);
    };
    NoiseFn noise = [&](int, const torch::Tensor &like) { return torch::randn_like(like); };
    SamplerOptions so;
    so.kind = SamplerKind::Ddim;
    so.steps = o.steps;
    const auto z = torch::randn({b, cfg->inChannels, cfg->inputSize, cfg->inputSize}, device);
    const auto xT = torch::cat({z, z}, 0);
    std::vector<double> seconds;
    for (int i = 0; i < o.iters + 1; ++i) { // the first run warms up (kernels, allocator)
        sync(device);
        const auto s = std::chrono::steady_clock::now();
        const auto r = runSampler(so, fn, xT, noise, [](const SamplerStep &) { return true; });
        sync(device);
        (void)r.x.sum().item<float>();
        if (i > 0)
            seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - s).count());
    }
    std::sort(seconds.begin(), seconds.end());
    std::printf(
        "bench: %s 256 px, %d images, %d DDIM steps, cfg 4 (%d rows), %s weights, fp32 residual, on %s: "
        "%.3f s (median of %d; best %.3f s)%s\n",
        cfg->name().c_str(), b, o.steps, 2 * b, o.dtype.c_str(), device.str().c_str(),
        seconds[seconds.size() / 2], o.iters, seconds.front(),
        device.is_cuda()
            ? (seconds[seconds.size() / 2] <= 1.0 ? "  (goal <= 1.0 s: met)" : "  (goal <= 1.0 s: missed)")
            : "");
}

} // namespace

int main(int argc, char **argv)
{
    const Options o = parse(argc, argv);
    try {
        torch::Device device(torch::kCPU);
        if (o.device == "cuda") {
            if (!torch::cuda::is_available()) {
                std::fprintf(stderr,
                             "ditstudio_gpu_check: no CUDA device visible to this LibTorch (a CPU-only "
                             "build, or no GPU); --device cpu runs the same check on the CPU\n");
                return 1;
            }
            device = torch::Device(torch::kCUDA, 0);
            // fp32 parity means fp32 products: no TF32 on Ampere and later.
            at::globalContext().setAllowTF32CuBLAS(false);
            at::globalContext().setAllowTF32CuDNN(false);
        } else if (o.device != "cpu") {
            usage("--device: expected cuda or cpu");
        }
        std::printf("device %s, LibTorch %s\nparity with the official DiT (fixtures in %s):\n",
                    device.str().c_str(), TORCH_VERSION, o.data.string().c_str());
        const int failures = parity(o, device);
        if (o.bench)
            bench(o, device);
        std::printf("%s\n", failures ? "PARITY FAILED" : "parity ok");
        return failures ? 1 : 0;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "ditstudio_gpu_check: %s\n", e.what());
        return 1;
    }
}
