#pragma once
// The command families of ditstudio-cli that live in their own files (cli_<family>.cpp). Each takes
// the whole argument vector (argv[0] is the command name), parses its own options with
// cli_common.h, and returns the exit code; usage text for --help comes from its usage function.
// Errors are thrown (UsageError -> exit 2, anything else -> exit 1), as in cli.cpp.

#include "cli/cli_common.h"
#include "ditstudio/engine.h"

#include <optional>
#include <set>
#include <string>
#include <vector>

namespace ditstudio::cli {

// Families register here: one declaration pair each, plus one dispatch line in cli.cpp's run().

// cli_vae.cpp: Stable Diffusion VAE encode/decode.
int cmdVae(const std::vector<std::string> &argv);
std::string usageVae();

// cli_bench.cpp: the forward benchmark; bench --preview and bench --probes take the whole argv.
int cmdBench(const Args &a);
int cmdBenchPreview(const std::vector<std::string> &argv);
int cmdBenchProbes(const std::vector<std::string> &argv);

// cli_train.cpp: training a DiT (ditstudio/training.h).
int cmdTrain(const Args &a);

// cli_evaluate.cpp: Fashion-MNIST evaluation classifier and sample-quality evaluation.
int cmdEvaluate(const std::vector<std::string> &argv);
int cmdTrainClassifier(const std::vector<std::string> &argv);
std::string usageEvaluate();

// cli_edit.cpp: img2img, inpainting/outpainting, DDIM inversion, video-to-video.
int cmdEdit(const std::vector<std::string> &argv);
std::string usageEdit();

// cli_video.cpp: the denoising film, latent walks, video info and frame extraction.
int cmdVideo(const std::vector<std::string> &argv);
std::string usageVideo();

// cli_generation.cpp: generate, and the sampling flags every sampling family accepts (model, prompt/class,
// steps, sampler, eta, cfg, seed, device, dtype, ...). --class A,B,... gives one class per image.
extern const std::set<std::string> kGenerationKeys;
/// --device, --labels, --vae, --dtype.
LoadOptions loadOptionsFromFlags(const Args &a);
/// --steps, --sampler (req.steps and req.sampler are the defaults), --eta, --cfg, --cfg-channels,
/// --cfg-interval,
/// --karras, --seed into req.
void samplingFromFlags(const Args &a, GenerateRequest &req);
GenerateRequest generationFromFlags(const Args &a, Engine &engine, SamplerKind defaultSampler,
                                    bool needCondition);
/// engine.generate with Ctrl+C cancelling it; nullopt (after saying so) when cancelled, throws on errors.
std::optional<GenerateResult> generateInterruptibly(Engine &engine, const GenerateRequest &request,
                                                    const GenerateObserver &observer);
/// The starting noise of --init-noise: tensor "z" [batch, C, H, W] of a safetensors file.
HostTensor initNoiseFromFile(const std::string &path);
int cmdGenerate(const Args &a);

// cli_explain.cpp: what happens inside the transformer while it samples (probes, interventions).
int cmdExplain(const std::vector<std::string> &argv);
std::string usageExplain();
// cli_models.cpp: the catalogue of official models and their resumable, verified download; inspect
// (what a checkpoint holds) and classes (its class names, or those closest to a text).
int cmdModels(const std::vector<std::string> &argv);
int cmdInspect(const Args &a);
int cmdClasses(const Args &a);
std::string usageModels();

} // namespace ditstudio::cli
