#include "training/trainer.h"

#include "common/atomic_file.h"
#include "common/errors.h"
#include "core/tensor_image.h"
#include "diffusion/class_sampling.h"
#include "diffusion/preview_projection.h"
#include "ditstudio/engine.h"
#include "ditstudio/plot.h"
#include "io/safetensors.h"
#include "model/dit.h"
#include "model/model_loader.h"
#include "model/vae_loader.h"
#include "training/datasets.h"
#include "training/loss.h"

#include "core/autocast_guard.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>

namespace ditstudio {

namespace fs = std::filesystem;

namespace {

constexpr const char *kNextCheckpointDir = ".checkpoint-next";

// Finishes a checkpoint that a kill interrupted: a set in .checkpoint-next with its state.json is
// complete and is moved into place (state.json last; moving is idempotent, so a kill here is safe
// too); a set without state.json was not finished and is discarded (the previous files are intact).
void completeInterruptedCheckpoint(const fs::path &out)
{
    const fs::path next = out / kNextCheckpointDir;
    std::error_code ec;
    if (!fs::is_directory(next, ec))
        return;
    if (!fs::exists(next / "state.json")) {
        spdlog::warn("{}: discarding an unfinished checkpoint (the run was stopped while writing it)",
                     next.string());
        fs::remove_all(next, ec);
        return;
    }
    for (const auto &e : fs::directory_iterator(next)) {
        const auto name = e.path().filename().string();
        if (name != "state.json" && name.find(".tmp-") == std::string::npos)
            commitTemporary(e.path(), out / name);
    }
    commitTemporary(next / "state.json", out / "state.json");
    fs::remove_all(next, ec);
}

std::map<std::string, torch::Tensor> namedTensors(torch::nn::Module &m)
{
    std::map<std::string, torch::Tensor> out;
    for (const auto &p : m.named_parameters())
        out[p.key()] = p.value().detach().clone();
    for (const auto &b : m.named_buffers())
        out[b.key()] = b.value().detach().clone();
    return out;
}

std::map<std::string, std::string> modelMetadata(const DiTConfig &c,
                                                 const std::vector<std::string> &classNames, long long step)
{
    return {{"format", "official-DiT"},
            {"input_size", std::to_string(c.inputSize)},
            {"patch_size", std::to_string(c.patchSize)},
            {"in_channels", std::to_string(c.inChannels)},
            {"hidden_size", std::to_string(c.hiddenSize)},
            {"depth", std::to_string(c.depth)},
            {"num_heads", std::to_string(c.numHeads)},
            {"mlp_ratio", std::to_string(c.mlpRatio)},
            {"class_dropout_prob", std::to_string(c.classDropoutProb)},
            {"num_classes", std::to_string(c.numClasses)},
            {"learn_sigma", c.learnSigma ? "True" : "False"},
            {"class_names", nlohmann::json(classNames).dump()},
            {"train_steps", std::to_string(step)},
            {"trainer", "ditstudio-cli train"}};
}

// Keep only the header and rows up to `step` (a resumed run re-logs the steps after its checkpoint).
void truncateLog(const fs::path &path, long long step)
{
    std::ifstream in(path);
    if (!in)
        return;
    std::string line, kept;
    bool header = true;
    while (std::getline(in, line)) {
        if (header || line.empty()) {
            kept += line + '\n';
            header = false;
            continue;
        }
        if (std::stoll(line.substr(0, line.find(','))) <= step)
            kept += line + '\n';
    }
    in.close();
    writeFileAtomically(path, [&](std::ostream &s) { s << kept; });
}

void writeLossPlot(const fs::path &dir)
{
    std::ifstream in(dir / "log.csv");
    std::string line;
    std::getline(in, line); // header
    PlotSeries loss {"loss", {}, {}, {31, 119, 180}}, mse {"eps MSE", {}, {}, {255, 127, 14}},
        vb {"variational bound", {}, {}, {44, 160, 44}};
    while (std::getline(in, line)) {
        std::stringstream ss(line);
        std::string cell;
        std::vector<double> v;
        while (std::getline(ss, cell, ','))
            v.push_back(std::atof(cell.c_str()));
        if (v.size() < 4)
            continue;
        loss.x.push_back(v[0]);
        mse.x.push_back(v[0]);
        vb.x.push_back(v[0]);
        loss.y.push_back(v[1]);
        mse.y.push_back(v[2]);
        vb.y.push_back(v[3]);
    }
    loss.y = smoothed(loss.y, 5);
    mse.y = smoothed(mse.y, 5);
    vb.y = smoothed(vb.y, 5);
    PlotOptions po;
    po.title = "training loss (moving average of 5 log points)";
    std::vector<PlotSeries> series {loss, mse, vb};
    if (std::any_of(loss.y.begin(), loss.y.end(), [](double v) { return v <= 0; })) {
        // The EDM2 objective (loss / exp(u) + u) goes negative: a log axis cannot show it.
        series.erase(series.begin());
        po.title = "eps MSE and vb, moving average of 5 (EDM2 objective < 0: omitted)";
    }
    po.xLabel = "step";
    po.yLabel = "loss";
    po.logY = true;
    (void)writePng((dir / "loss.png").string(), renderLinePlot(series, po), {}, true);
}

void writeWeightingPlot(const fs::path &dir, LossWeighting w, const GaussianDiffusion &diffusion,
                        double gamma, UncertaintyNet *net)
{
    torch::NoGradGuard ng;
    const auto t = torch::arange(1000, torch::kLong);
    PlotSeries weight {"effective weight of eps MSE", {}, {}, {214, 39, 40}};
    PlotSeries u {"learned u(sigma)", {}, {}, {148, 103, 189}};
    torch::Tensor wt;
    if (w == LossWeighting::MinSnr) {
        wt = minSnrWeights(diffusion, t, gamma);
    } else if (w == LossWeighting::Edm2Uncertainty && net) {
        const auto uu = (*net)->forward(noiseLevel(diffusion, t));
        wt = (-uu).exp();
        for (int64_t i = 0; i < 1000; ++i) {
            u.x.push_back(static_cast<double>(i));
            u.y.push_back(uu[i].item<double>());
        }
    } else {
        return;
    }
    std::ofstream csv;
    std::string rows = "t,sigma,weight" + std::string(u.y.empty() ? "" : ",u") + "\n";
    const auto sigma = noiseLevel(diffusion, t);
    for (int64_t i = 0; i < 1000; ++i) {
        weight.x.push_back(static_cast<double>(i));
        weight.y.push_back(wt[i].item<double>());
        rows += std::to_string(i) + "," + std::to_string(sigma[i].item<double>()) + ","
            + std::to_string(weight.y.back()) + (u.y.empty() ? "" : "," + std::to_string(u.y[i])) + "\n";
    }
    writeFileAtomically(dir / "weighting.csv", [&](std::ostream &s) { s << rows; });
    PlotOptions po;
    po.title = std::string("loss weighting per timestep: ") + lossWeightingName(w)
        + (w == LossWeighting::MinSnr ? " (gamma " + std::to_string(gamma).substr(0, 4) + ")" : "");
    po.xLabel = "timestep t (noise grows to the right)";
    po.yLabel = "weight";
    std::vector<PlotSeries> series {weight};
    if (!u.y.empty())
        series.push_back(u);
    (void)writePng((dir / "weighting.png").string(), renderLinePlot(series, po), {}, true);
}

// A grid of up to 10 classes x 8 samples from the EMA weights in memory (DDPM, cfg 4, seed 8c for
// class c: what the engine gives for the saved model.safetensors with the same settings). Latent
// runs decode through the run's VAE, loaded on the first grid.
void writeSampleGrid(const fs::path &dir, long long step, DiTImpl &ema, int steps, const std::string &vaePath,
                     std::optional<AutoencoderKL> &vae)
{
    std::vector<Image> images;
    try {
        if (!vaePath.empty() && !vae)
            vae = loadVae(vaePath);
        ClassSamplingOptions so;
        so.steps = steps;
        for (int c = 0; c < std::min(ema.m_config.numClasses, 10); ++c) {
            so.seed = static_cast<std::uint64_t>(c) * 8;
            torch::Tensor x0 = sampleClasses(ema, std::vector<std::int64_t>(8, c), so);
            if (vae) {
                torch::NoGradGuard noGrad;
                x0 = (*vae)->decodeLatents(x0);
            }
            const auto row = tensorToImages(x0);
            images.insert(images.end(), row.begin(), row.end());
        }
    } catch (const std::exception &e) {
        spdlog::warn("sample grid skipped: {}", e.what());
        return;
    }
    const int scale = images[0].width < 64 ? 2 : 1;
    fs::create_directories(dir / "samples");
    char name[64];
    std::snprintf(name, sizeof name, "step_%07lld.png", step);
    const Image grid = makeImageGrid(images, 8, scale, 2);
    (void)writePng((dir / "samples" / name).string(), grid,
                   {{"ditstudio", "rows: classes; " + std::to_string(steps) + " DDPM steps, cfg 4"}}, true);
    (void)writePng((dir / "samples" / "latest.png").string(), grid, {}, true);
}

struct LatentCache {
    torch::Tensor mean, std; // [N, C, h, w] posterior moments (unscaled z)
    double scale = 1, shift = 0;
};

// Encode the whole dataset once through the VAE (posterior moments), cached in outDir.
LatentCache encodeDataset(const ImageDataset &data, const std::string &vaePath,
                          const std::string &datasetName, const fs::path &outDir, bool writer,
                          const CancelToken &cancel)
{
    AutoencoderKL vae = loadVae(vaePath);
    LatentCache c;
    c.scale = vae->config().scalingFactor;
    c.shift = vae->config().shiftFactor;
    const std::string key = moduleWeightDigest(*vae) + "|" + datasetName + "|"
        + std::to_string(data.images.size(0)) + "x" + std::to_string(data.images.size(1)) + "x"
        + std::to_string(data.images.size(2));
    const fs::path cache = outDir / "latents.safetensors";
    if (fs::exists(cache)) {
        StateDict sd = safetensors::load(cache);
        if (sd.metadata.count("key") && sd.metadata.at("key") == key && sd.contains("mean")
            && sd.contains("std")) {
            c.mean = sd.at("mean").clone();
            c.std = sd.at("std").clone();
            spdlog::info("latents of {} images read from {}", c.mean.size(0), cache.string());
            return c;
        }
        spdlog::info("{} belongs to another VAE or dataset; encoding again", cache.string());
    }
    if (data.images.size(1) != vae->config().inChannels)
        fail(ErrorCode::InvalidArgument,
             "the dataset has " + std::to_string(data.images.size(1)) + " channel(s) but the VAE " + vaePath
                 + " encodes " + std::to_string(vae->config().inChannels));
    torch::InferenceMode im;
    std::vector<torch::Tensor> means, stds;
    const int64_t n = data.images.size(0);
    const auto start = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < n; i += 16) {
        if (cancel.isCancelled())
            fail(ErrorCode::Cancelled, "latent pre-extraction cancelled");
        const auto m = vae->encode(data.images.slice(0, i, std::min(n, i + 16)));
        means.push_back(m.mean.clone());
        stds.push_back((0.5 * m.logvar).exp());
        if ((i / 16) % 50 == 0)
            spdlog::info("encoding the dataset through the VAE: {}/{} images ({:.0f} s)", std::min(n, i + 16),
                         n, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    c.mean = torch::cat(means);
    c.std = torch::cat(stds);
    if (writer)
        safetensors::save(cache, {{"mean", c.mean}, {"std", c.std}}, {{"key", key}, {"vae", vaePath}});
    return c;
}

std::mutex g_initMutex; // model construction seeds and uses the global generator

} // namespace

// The learning rate of a step: constant, then linear from lrDecayStart down to lrFinal at totalSteps.
static double learningRateAt(const TrainOptions &o, long long step)
{
    if (o.lrDecayStart <= 0 || step < o.lrDecayStart || o.totalSteps <= o.lrDecayStart)
        return o.learningRate;
    const double f = std::min(1.0, double(step - o.lrDecayStart) / double(o.totalSteps - o.lrDecayStart));
    return o.learningRate + (o.lrFinal - o.learningRate) * f;
}

long long trainDiT(const TrainOptions &o, const std::function<void(const TrainProgress &)> &onProgress,
                   const CancelToken &cancel)
{
    if (o.batchSize < 1)
        fail(ErrorCode::InvalidArgument, "batch size must be at least 1");
    if (o.weighting == LossWeighting::MinSnr && !(o.minSnrGamma > 0))
        fail(ErrorCode::InvalidArgument, "Min-SNR gamma must be positive");
    std::unique_ptr<ProcessGroupHandle> group;
    if (o.distributed.worldSize > 1)
        group = ProcessGroupHandle::connect(o.distributed);
    const int rank = group ? group->rank() : 0;
    const int world = group ? group->worldSize() : 1;
    const bool writer = rank == 0;
    const bool latent = !o.vaePath.empty();
    VaeConfig vaeCfg;
    if (latent) {
        vaeCfg = readVaeCheckpoint(o.vaePath).info.config;
        if (o.model.inChannels != vaeCfg.latentChannels)
            fail(ErrorCode::InvalidArgument,
                 "the VAE " + o.vaePath + " has " + std::to_string(vaeCfg.latentChannels)
                     + " latent channels; set the model's channels to match (got "
                     + std::to_string(o.model.inChannels) + ")");
    }
    const int imageSize = latent ? o.model.inputSize * vaeCfg.downsampleFactor() : o.model.inputSize;
    const int imageChannels = latent ? vaeCfg.inChannels : o.model.inChannels;
    ImageDataset data = o.dataset == "fashion-mnist"
        ? loadFashionMnist(o.datasetDir.empty() ? defaultFashionMnistDir() : fs::path(o.datasetDir), true)
        : loadImageFolder(o.dataset, imageSize, imageChannels);
    DiTConfig cfg = o.model;
    cfg.numClasses = static_cast<int>(data.classNames.size());
    if (data.images.size(1) != imageChannels || data.images.size(2) != imageSize)
        fail(ErrorCode::InvalidArgument,
             "the dataset's images are " + std::to_string(data.images.size(1)) + "x"
                 + std::to_string(data.images.size(2)) + " but the model expects "
                 + std::to_string(imageChannels) + "x" + std::to_string(imageSize));
    if (writer)
        fs::create_directories(o.outDir);
    const fs::path out(o.outDir);
    LatentCache latents;
    if (latent)
        latents = encodeDataset(data, o.vaePath, o.dataset, out, writer, cancel);

    DiT model(nullptr), ema(nullptr);
    std::optional<AutoencoderKL> gridVae; // the sample grids' decoder (latent runs), loaded once
    UncertaintyNet unet(nullptr);
    {
        std::lock_guard<std::mutex> lock(g_initMutex);
        torch::manual_seed(static_cast<uint64_t>(o.seed));
        model = DiT(cfg);
        model->initializeWeights();
        ema = DiT(cfg);
        if (o.weighting == LossWeighting::Edm2Uncertainty)
            unet = UncertaintyNet(128, o.seed);
    }
    {
        torch::NoGradGuard ng;
        auto src = model->parameters();
        auto dst = ema->parameters();
        for (size_t i = 0; i < src.size(); ++i)
            dst[i].copy_(src[i]);
    }
    for (auto &p : ema->parameters())
        p.set_requires_grad(false);
    torch::optim::AdamW opt(model->parameters(),
                            torch::optim::AdamWOptions(o.learningRate).weight_decay(o.weightDecay));
    std::unique_ptr<torch::optim::Adam> unetOpt;
    if (unet)
        unetOpt = std::make_unique<torch::optim::Adam>(unet->parameters(),
                                                       torch::optim::AdamOptions(o.learningRate));
    long long step = 0;
    double priorSeconds = 0;
    if (writer && o.resume)
        completeInterruptedCheckpoint(out);
    if (o.resume && fs::exists(out / "state.json")) {
        std::ifstream in(out / "state.json");
        const auto state = nlohmann::json::parse(in);
        step = state.at("step").get<long long>();
        priorSeconds = state.value("wall_seconds", 0.0);
        const std::string was = state.value("loss_weighting", std::string("uniform"));
        const bool switching = was != lossWeightingName(o.weighting);
        if (switching && o.switchWeighting)
            spdlog::info("{}: switching the loss weighting from '{}' to '{}' at step {}", o.outDir, was,
                         lossWeightingName(o.weighting), step);
        else if (switching)
            fail(ErrorCode::InvalidArgument,
                 o.outDir + " was trained with loss weighting '" + was
                     + "'; resume it with the same weighting (asked: '" + lossWeightingName(o.weighting)
                     + "', or pass --switch-weighting to fine-tune it with the new one)");
        StateDict raw = safetensors::load(out / "raw.safetensors");
        raw.source = (out / "raw.safetensors").string();
        loadIntoModule(*model, raw, "raw weights");
        StateDict emaSd = safetensors::load(out / "model.safetensors");
        emaSd.source = (out / "model.safetensors").string();
        loadIntoModule(*ema, emaSd, "EMA weights");
        torch::load(opt, (out / "optimizer.pt").string());
        if (unet && !fs::exists(out / "weighting.safetensors") && switching) {
            spdlog::info("the EDM2 weighting network starts fresh at step {}", step);
        } else if (unet) {
            StateDict w = safetensors::load(out / "weighting.safetensors");
            w.source = (out / "weighting.safetensors").string();
            loadIntoModule(*unet, w, "loss weighting network");
            torch::load(*unetOpt, (out / "weighting-optimizer.pt").string());
        }
        spdlog::info("resuming from step {} in {}", step, o.outDir);
        if (writer)
            truncateLog(out / "log.csv", step);
    }
    if (group) {
        // Every rank must start from rank 0's state: same step, same weights.
        auto s = torch::tensor({static_cast<double>(step)}, torch::kDouble);
        auto mine = s.clone();
        group->broadcast({s}, 0);
        if (s.item<double>() != mine.item<double>())
            fail(ErrorCode::InvalidArgument,
                 "rank " + std::to_string(rank) + " found step " + std::to_string(step) + " in " + o.outDir
                     + " but rank 0 is at step " + std::to_string(static_cast<long long>(s.item<double>()))
                     + "; every rank must resume from the same checkpoint");
        torch::NoGradGuard ng;
        group->broadcast(model->parameters(), 0);
        group->broadcast(ema->parameters(), 0);
        if (unet)
            group->broadcast(unet->parameters(), 0);
        spdlog::info("data parallel: rank {} of {}, global batch {}", rank, world, o.batchSize * world);
    }
    const GaussianDiffusion diffusion(
        linearBetas(1000),
        [] {
            std::vector<int> m(1000);
            for (int i = 0; i < 1000; ++i)
                m[i] = i;
            return m;
        }(),
        cfg.learnSigma ? VarianceType::LearnedRange : VarianceType::FixedLarge);

    // A checkpoint is several files; a kill at any moment must leave one complete set to resume from.
    // The new set is written into out/.checkpoint-next/ with state.json last (from then on it is
    // complete), then moved over the previous files with state.json last, then the folder is removed.
    // completeInterruptedCheckpoint (called before the resume above) finishes or discards a set that a
    // kill interrupted.
    auto save = [&](long long atStep, double wall) {
        if (!writer)
            return;
        const fs::path next = out / kNextCheckpointDir;
        std::error_code ec;
        fs::remove_all(next, ec);
        try {
            fs::create_directories(next);
            safetensors::save(next / "model.safetensors", namedTensors(*ema),
                              modelMetadata(cfg, data.classNames, atStep));
            safetensors::save(next / "raw.safetensors", namedTensors(*model),
                              modelMetadata(cfg, data.classNames, atStep));
            const auto tmp = temporarySibling(next / "optimizer.pt");
            torch::save(opt, tmp.string());
            commitTemporary(tmp, next / "optimizer.pt");
            if (unet) {
                safetensors::save(next / "weighting.safetensors", namedTensors(*unet),
                                  {{"format", "ditstudio-edm2-uncertainty"}});
                const auto tmp2 = temporarySibling(next / "weighting-optimizer.pt");
                torch::save(*unetOpt, tmp2.string());
                commitTemporary(tmp2, next / "weighting-optimizer.pt");
            }
            nlohmann::json state = {{"step", atStep},
                                    {"wall_seconds", wall},
                                    {"batch_size", o.batchSize},
                                    {"world_size", world},
                                    {"learning_rate", o.learningRate},
                                    {"ema_decay", o.emaDecay},
                                    {"ema_warmup_steps", o.emaWarmupSteps},
                                    {"seed", o.seed},
                                    {"loss_weighting", lossWeightingName(o.weighting)},
                                    {"architecture", cfg.name()},
                                    {"dataset", o.dataset}};
            if (o.weighting == LossWeighting::MinSnr)
                state["min_snr_gamma"] = o.minSnrGamma;
            if (o.lrDecayStart > 0) {
                state["lr_decay_start"] = o.lrDecayStart;
                state["lr_final"] = o.lrFinal;
            }
            writeFileAtomically(next / "state.json", [&](std::ostream &s) { s << state.dump(2) << '\n'; });
        } catch (const std::exception &e) {
            // Disk full or unwritable: the previous checkpoint is untouched; drop the partial set.
            fs::remove_all(next, ec);
            fail(ErrorCode::IoError,
                 "cannot write the checkpoint of step " + std::to_string(atStep) + " in " + out.string()
                     + " (the previous checkpoint is intact): " + e.what());
        }
        completeInterruptedCheckpoint(out);
        writeLossPlot(out);
        writeWeightingPlot(out, o.weighting, diffusion, o.minSnrGamma, unet ? &unet : nullptr);
        if (o.sampleEvery > 0 && atStep % o.sampleEvery == 0)
            writeSampleGrid(out, atStep, *ema, o.sampleSteps, o.vaePath, gridVae);
    };

    std::ofstream log;
    if (writer) {
        const bool newLog = !fs::exists(out / "log.csv");
        log.open(out / "log.csv", std::ios::app);
        if (newLog)
            log << "step,loss,mse,vb,images_per_second,wall_seconds\n";
    }
    const int64_t n = data.images.size(0);
    const int64_t globalBatch = static_cast<int64_t>(o.batchSize) * world;
    const auto start = std::chrono::steady_clock::now();
    auto lastLog = start;
    long long lastLogStep = step;
    double accLoss = 0, accMse = 0, accVb = 0;
    int accCount = 0;
    model->train();
    if (writer && step >= o.totalSteps && fs::exists(out / "log.csv"))
        writeLossPlot(out); // nothing to train: bring the plot up to date with the log (a finished run)
    while (step < o.totalSteps && !cancel.isCancelled()) {
        // All randomness of this step from one generator seeded by (seed, step): resumable. The
        // global batch is drawn and each rank takes its slice (world 1: the whole batch).
        auto gen = at::detail::createCPUGenerator(o.seed * 1000003ULL + static_cast<uint64_t>(step) + 1);
        const auto idxAll = at::randint(n, {globalBatch}, gen, torch::kLong);
        const std::vector<int64_t> xShape {globalBatch, cfg.inChannels, cfg.inputSize, cfg.inputSize};
        torch::Tensor flipAll;
        if (o.hflip)
            flipAll = at::rand({globalBatch}, gen) < 0.5;
        const auto tAll = at::randint(1000, {globalBatch}, gen, torch::kLong);
        const auto noiseAll = at::randn(xShape, gen, torch::kFloat32);
        const auto dropAll = (at::rand({globalBatch}, gen) < cfg.classDropoutProb).to(torch::kLong);
        const int64_t b0 = static_cast<int64_t>(rank) * o.batchSize;
        auto slice = [&](const torch::Tensor &x) { return world == 1 ? x : x.narrow(0, b0, o.batchSize); };
        const auto idx = slice(idxAll);
        torch::Tensor x0;
        if (latent) {
            // A fresh posterior draw per step (drawn last, so pixel runs keep their random stream).
            const auto epsAll
                = at::randn({globalBatch, latents.mean.size(1), latents.mean.size(2), latents.mean.size(3)},
                            gen, torch::kFloat32);
            const auto z
                = latents.mean.index_select(0, idx) + latents.std.index_select(0, idx) * slice(epsAll);
            x0 = (z - latents.shift) * latents.scale;
        } else {
            x0 = data.images.index_select(0, idx);
        }
        const auto y = data.labels.index_select(0, idx);
        if (o.hflip) {
            const auto flip = slice(flipAll);
            x0 = torch::where(flip.view({-1, 1, 1, 1}), x0.flip({3}), x0);
        }
        const auto t = slice(tAll);
        const auto noise = slice(noiseAll);
        const auto drop = slice(dropAll);
        const auto xt = diffusion.qSample(x0, t, noise);
        torch::Tensor output;
        {
            // Label dropout from this step's generator (LabelEmbedder.token_drop with force_drop_ids).
            DiTImpl &m = *model;
            ClassCondition cc {y, {}, drop};
            if (o.bf16Autocast) {
                const CpuAutocastGuard autocast(at::kBFloat16); // restored even when forward throws
                output = m.forward(xt, t, cc).to(torch::kFloat32);
            } else {
                output = m.forward(xt, t, cc);
            }
        }
        const auto terms = officialLoss(diffusion, output, x0, xt, t, noise);
        torch::Tensor u;
        if (unet)
            u = unet->forward(noiseLevel(diffusion, t));
        const auto loss = weightedLoss(o.weighting, diffusion, t, terms.mse, terms.vb, o.minSnrGamma, u);
        opt.zero_grad();
        if (unetOpt)
            unetOpt->zero_grad();
        loss.backward();
        if (group) {
            // Average the gradients over ranks: equal shards make this the gradient of the global mean.
            std::vector<torch::Tensor> grads;
            for (auto &p : model->parameters())
                if (p.grad().defined())
                    grads.push_back(p.mutable_grad());
            if (unet)
                for (auto &p : unet->parameters())
                    grads.push_back(p.mutable_grad());
            group->allReduceMean(grads);
        }
        if (o.gradClip > 0)
            torch::nn::utils::clip_grad_norm_(model->parameters(), o.gradClip);
        if (o.lrDecayStart > 0) {
            const double lr = learningRateAt(o, step);
            for (auto &g : opt.param_groups())
                static_cast<torch::optim::AdamWOptions &>(g.options()).lr(lr);
        }
        opt.step();
        if (unetOpt)
            unetOpt->step();
        {
            // Ref: DiT train.py update_ema.
            torch::NoGradGuard ng;
            double decay = o.emaDecay;
            if (o.emaWarmupSteps > 0)
                decay = std::min(decay, (1.0 + step) / (o.emaWarmupSteps + step));
            auto src = model->parameters();
            auto dst = ema->parameters();
            for (size_t i = 0; i < src.size(); ++i)
                dst[i].mul_(decay).add_(src[i].detach(), 1.0 - decay);
        }
        ++step;
        {
            auto stats = torch::stack({loss.detach(), terms.mse.mean().detach(), terms.vb.mean().detach()})
                             .to(torch::kDouble);
            if (group)
                group->allReduceMean({stats});
            accLoss += stats[0].item<double>();
            accMse += stats[1].item<double>();
            accVb += stats[2].item<double>();
        }
        ++accCount;
        const auto now = std::chrono::steady_clock::now();
        const double wall = priorSeconds + std::chrono::duration<double>(now - start).count();
        if (step % o.logEvery == 0 || step == o.totalSteps) {
            TrainProgress p;
            p.step = step;
            p.totalSteps = o.totalSteps;
            p.rank = rank;
            p.loss = accLoss / accCount;
            p.mse = accMse / accCount;
            p.vb = accVb / accCount;
            const double dt = std::chrono::duration<double>(now - lastLog).count();
            p.imagesPerSecond = dt > 0 ? (step - lastLogStep) * globalBatch / dt : 0;
            p.elapsedSeconds = wall;
            if (writer) {
                log << step << ',' << p.loss << ',' << p.mse << ',' << p.vb << ',' << p.imagesPerSecond << ','
                    << wall << '\n';
                log.flush();
            }
            if (onProgress)
                onProgress(p);
            accLoss = accMse = accVb = 0;
            accCount = 0;
            lastLog = now;
            lastLogStep = step;
        }
        if (step % o.checkpointEvery == 0 || step == o.totalSteps)
            save(step, wall);
    }
    if (cancel.isCancelled())
        save(step,
             priorSeconds + std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    if (group)
        group->barrier();
    return step;
}

} // namespace ditstudio
