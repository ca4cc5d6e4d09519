// ditstudio-cli: the usage text and the dispatch to the command families (cli_<family>.cpp).
#include "cli/cli.h"

#include "cli/cli_commands.h"
#include "cli/cli_common.h"
#include "ditstudio/runtime.h"

#include <algorithm>
#include <filesystem>
#include <iostream>

namespace ditstudio::cli {

namespace fs = std::filesystem;

namespace {

const std::string kUsageText = R"(usage: ditstudio-cli <command> [options]

commands:
  inspect PATH [--json]          describe a checkpoint (file or diffusers folder) without loading it
  generate [options]             sample images from a DiT
  bench --arch NAME [options]    time the DiT forward pass with random weights
  classes [--model PATH] [QUERY] list the model's classes (or the closest matches to QUERY)
  train [options]                train a class-conditional DiT (resumable; see below)
  vae encode|decode [options]    images <-> SD VAE latents in safetensors files (vae --help)
  edit img2img|inpaint|invert|video [options]   edit an image or video (see "edit options")
  video film|walk|info|frames   denoising film, latent walk, read videos (see "video commands")
  explain [options]              probe attention, adaLN, block activity and guidance while sampling
  evaluate [options]             score a Fashion-MNIST model: share classified as requested, Frechet distance
  train-classifier [options]     train the evaluation classifier on Fashion-MNIST
  models list|get NAME           the official models: list them, download one (see "models commands")

generate options:
  --model PATH          checkpoint (.safetensors, .pt, diffusers folder); default: the embedded model
  --vae PATH            Stable Diffusion VAE for latent models (decodes the final images to RGB)
  --preview-dir DIR     write per-step previews stepNNN_I_xt.png / _x0.png (latent models: the
                        linear projection fitted to --vae, else the fixed SD matrix)
  --vae-preview-every N also write a full VAE decode of x0 (stepNNN_I_x0_vae.png) every N steps
  --prompt TEXT         class name(s): "golden retriever", "#207", "0.7 cat + 0.3 dog"
  --class N             class index (instead of --prompt)
  --steps N             sampling steps (default {default-steps}, the app's; see ditstudio/defaults.h)
  --sampler NAME        ddpm | ddim | dpmpp-2m | euler | euler-a | heun (default {default-sampler}, the app's)
  --eta F               DDIM eta (default 0)
  --cfg F               guidance scale (default {default-cfg}, the app's; 1 disables)
  --cfg-channels 3|all  guide the first 3 eps channels (official) or all (default 3)
  --cfg-interval A,B    guide only where t/1000 is in [A, B]
  --karras              Karras sigma spacing for the sigma-space samplers
  --cache N             fast mode: step caching (FORA); the transformer blocks run in full every Nth
                        model call and their attention/MLP outputs are reused between (1 = off, exact)
  --cache-threshold F   adaptive step caching instead (TeaCache-style): run the blocks when the first
                        block's input has changed by F (relative, summed) since they last ran
  --seed N              seed (default 0); image i uses seed + i
  --batch N             images (default 1)
  --out FILE.png|DIR/   output (default out/); into a folder: <class>_<seed>_<index>.png
  --overwrite           replace existing files
  --init-noise FILE     safetensors with tensor "z" [batch, C, H, W]
  --save-latent FILE    write the final sample as tensor "latent"
  --labels FILE         class names, one per line
  --device cpu|cuda[:N]|mps|auto   (default auto)
  --dtype fp32|bf16|fp16       (default fp32; bf16/fp16 keep the residual stream in fp32)
  --low-precision-residual     with bf16/fp16: the whole forward in that precision (faster, less exact)
  --threads N           intra-op threads (default: all cores)
  --json                machine-readable summary on stdout
  --quiet               no progress bar

bench options:
  --arch DiT-XL/2 (S, B, L, XL; /2, /4, /8)  --image-size N (default 256)  --batch N (default 2)
  --iters N (default 3)  --warmup N (default 1)  --dtype fp32|bf16  --device  --threads N  --json
  --gemm                also measure the matrix-product peak at the model's shapes (same dtype and
                        threads) and report the forward's share of it; the JSON has peak_rss_mb too
  --probes              time the Inside view's probes: the same generation (generate's options; default
                        the embedded model, ddim) with every probe off and on, ms per step
  --preview             time the per-step preview (x_t and x0 of one latent through the linear
                        projection) against the DiT forward (batch 2 = CFG) on the CPU; --vae PATH
                        fits the projection to that VAE; --with-decode also times a full VAE decode

train options:
  --dataset fashion-mnist|DIR  (DIR: one subfolder per class)   --dataset-dir DIR (idx files)
  --arch NAME (e.g. DiT-S/4) or --depth N --hidden N --heads N --patch N   --input-size N --channels N
  --batch N (128)  --lr F (1e-4)  --ema F (0.9999)  --ema-warmup N  --grad-clip F  --steps N (total)
  --checkpoint-every N  --log-every N  --seed N  --hflip  --out DIR  --no-resume  --threads N
  --weighting uniform|min-snr|edm2 (uniform)  --min-snr-gamma F (5)  --bf16 (CPU autocast)
  --switch-weighting    resume a run trained with another --weighting (fine-tune it with this one)
  --lr-decay-start N --lr-final F   from step N the learning rate falls linearly to F at --steps
  --sample-every N (sample grid at checkpoints)
  --vae PATH            latent training: encode the dataset once (cached in --out), --input-size is the
                        latent size and --channels the VAE's latent channels
  data parallel (torchrun-style; env RANK WORLD_SIZE MASTER_ADDR MASTER_PORT, or):
  --rank N  --world-size N  --master-addr HOST  --master-port N  --dist-timeout SECONDS (300)
  (--batch is per rank; rank 0 writes the checkpoints)

common: --log-level trace|debug|info|warn|error|off, --version, --help
)";

std::string usage()
{
    return withAppDefaults(kUsageText);
}

} // namespace

int run(int argc, char **argv)
{
    std::vector<std::string> args(argv + 1, argv + argc);
    return run(args);
}

int run(const std::vector<std::string> &argvIn)
{
    const std::vector<std::string> &argv = argvIn; // without the program name
    try {
        if (argv.empty() || argv[0] == "--help" || argv[0] == "-h" || argv[0] == "help") {
            std::cout << usage() << usageEvaluate() << usageEdit() << usageVideo() << usageExplain()
                      << usageModels();
            return argv.empty() ? 2 : 0;
        }
        // Logging and threads first (Debian's LibTorch starts with one thread). Only these two
        // options are read here; each command parses the rest with its own flag set.
        Args common;
        for (size_t i = 1; i + 1 < argv.size(); ++i)
            if (argv[i] == "--log-level" || argv[i] == "--threads")
                common.options[argv[i]] = argv[i + 1];
        for (size_t i = 1; i < argv.size(); ++i)
            for (const char *key : {"--log-level=", "--threads="})
                if (argv[i].rfind(key, 0) == 0)
                    common.options[std::string(key, std::char_traits<char>::length(key) - 1)]
                        = argv[i].substr(std::char_traits<char>::length(key));
        const std::string logLevel = opt(common, "--log-level");
        if (auto r = initLogging(logLevel, (fs::path(defaultUserDataDir()) / "logs").string()); !r.ok())
            throw UsageError(r.error().message);
        setComputeThreads(static_cast<int>(intOpt(common, "--threads", 0, 0, 1024)));
        const std::string cmd = argv[0];
        // Command families in their own files (cli_commands.h).
        // (dispatch lines for families go here)
        if (cmd == "video")
            return cmdVideo(argv);
        if (cmd == "edit")
            return cmdEdit(argv);
        if (cmd == "vae")
            return cmdVae(argv);
        if (cmd == "models")
            return cmdModels(argv);
        // "COMMAND --help" for the commands that parse their own options below: their section of
        // the usage (evaluate and train-classifier share one), or the whole text for bench's modes.
        const bool wantsHelp = std::find(argv.begin() + 1, argv.end(), "--help") != argv.end()
            || std::find(argv.begin() + 1, argv.end(), "-h") != argv.end();
        if (wantsHelp && (cmd == "evaluate" || cmd == "train-classifier")) {
            std::cout << usageEvaluate();
            return 0;
        }
        if (wantsHelp && cmd == "bench") {
            std::cout << usage();
            return 0;
        }
        if (cmd == "bench" && std::find(argv.begin(), argv.end(), "--preview") != argv.end())
            return cmdBenchPreview(argv);
        if (cmd == "bench" && std::find(argv.begin(), argv.end(), "--probes") != argv.end())
            return cmdBenchProbes(argv);
        if (cmd == "evaluate")
            return cmdEvaluate(argv);
        if (cmd == "explain")
            return cmdExplain(argv);
        if (cmd == "train-classifier")
            return cmdTrainClassifier(argv);
        const Args a = parseArgs(argv, 1);
        if (cmd == "--version" || cmd == "version") {
            std::cout << runtimeInfoText();
            return 0;
        }
        if (a.flags.count("--help")) {
            std::cout << usage() << usageEvaluate() << usageEdit() << usageVideo() << usageExplain()
                      << usageModels();
            return 0;
        }
        if (cmd == "inspect")
            return cmdInspect(a);
        if (cmd == "generate")
            return cmdGenerate(a);
        if (cmd == "bench")
            return cmdBench(a);
        if (cmd == "classes")
            return cmdClasses(a);
        if (cmd == "train")
            return cmdTrain(a);
        throw UsageError("unknown command '" + cmd + "' (try --help)");
    } catch (const UsageError &e) {
        std::cerr << "ditstudio-cli: " << e.what() << '\n';
        return 2;
    } catch (const CommandError &e) {
        std::cerr << "ditstudio-cli: " << Error {e.code, e.what()}.toString() << '\n';
        return 1;
    } catch (const std::exception &e) {
        std::cerr << "ditstudio-cli: " << Error {ErrorCode::Internal, e.what()}.toString() << '\n';
        return 1;
    }
}

} // namespace ditstudio::cli
