#include "training/trainer.h"

#include "core/errors.h"
#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "model/dit.h"
#include "pipeline/model_loader.h"
#include "training/datasets.h"
#include "training/loss.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <fstream>

namespace ditstudio {

namespace fs = std::filesystem;

namespace {

std::map<std::string, torch::Tensor> namedTensors(torch::nn::Module &m)
{
    std::map<std::string, torch::Tensor> out;
    for (const auto &p : m.named_parameters())
        out[p.key()] = p.value().detach().clone();
    for (const auto &b : m.named_buffers())
        out[b.key()] = b.value().detach().clone();
    return out;
}

std::map<std::string, std::string> modelMetadata(const DiTConfig &c, const std::vector<std::string> &classNames,
                                                 long long step)
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

} // namespace

long long trainDiT(const TrainOptions &o, const std::function<void(const TrainProgress &)> &onProgress,
                   const CancelToken &cancel)
{
    if (o.batchSize < 1)
        fail(ErrorCode::InvalidArgument, "batch size must be at least 1");
    ImageDataset data = o.dataset == "fashion-mnist"
                            ? loadFashionMnist(o.datasetDir.empty() ? defaultFashionMnistDir() : fs::path(o.datasetDir), true)
                            : loadImageFolder(o.dataset, o.model.inputSize, o.model.inChannels);
    DiTConfig cfg = o.model;
    cfg.numClasses = static_cast<int>(data.classNames.size());
    if (data.images.size(1) != cfg.inChannels || data.images.size(2) != cfg.inputSize)
        fail(ErrorCode::InvalidArgument, "the dataset's images are " + std::to_string(data.images.size(1)) + "x"
                                             + std::to_string(data.images.size(2)) + " but the model expects "
                                             + std::to_string(cfg.inChannels) + "x" + std::to_string(cfg.inputSize));
    fs::create_directories(o.outDir);
    const fs::path out(o.outDir);

    torch::manual_seed(static_cast<uint64_t>(o.seed));
    DiT model(cfg);
    model->initializeWeights();
    DiT ema(cfg);
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
    long long step = 0;
    double priorSeconds = 0;
    if (o.resume && fs::exists(out / "state.json")) {
        std::ifstream in(out / "state.json");
        const auto state = nlohmann::json::parse(in);
        step = state.at("step").get<long long>();
        priorSeconds = state.value("wall_seconds", 0.0);
        StateDict raw = safetensors::load(out / "raw.safetensors");
        raw.source = (out / "raw.safetensors").string();
        loadIntoModule(*model, raw, "raw weights");
        StateDict emaSd = safetensors::load(out / "model.safetensors");
        emaSd.source = (out / "model.safetensors").string();
        loadIntoModule(*ema, emaSd, "EMA weights");
        torch::load(opt, (out / "optimizer.pt").string());
        spdlog::info("resuming from step {} in {}", step, o.outDir);
    }
    const GaussianDiffusion diffusion(linearBetas(1000), [] {
        std::vector<int> m(1000);
        for (int i = 0; i < 1000; ++i)
            m[i] = i;
        return m;
    }(), cfg.learnSigma ? VarianceType::LearnedRange : VarianceType::FixedLarge);

    auto save = [&](long long atStep, double wall) {
        safetensors::save(out / "model.safetensors", namedTensors(*ema), modelMetadata(cfg, data.classNames, atStep));
        safetensors::save(out / "raw.safetensors", namedTensors(*model), modelMetadata(cfg, data.classNames, atStep));
        const auto tmp = temporarySibling(out / "optimizer.pt");
        torch::save(opt, tmp.string());
        commitTemporary(tmp, out / "optimizer.pt");
        nlohmann::json state = {{"step", atStep},
                                {"wall_seconds", wall},
                                {"batch_size", o.batchSize},
                                {"learning_rate", o.learningRate},
                                {"ema_decay", o.emaDecay},
                                {"ema_warmup_steps", o.emaWarmupSteps},
                                {"seed", o.seed},
                                {"architecture", cfg.name()},
                                {"dataset", o.dataset}};
        writeFileAtomically(out / "state.json", [&](std::ostream &s) { s << state.dump(2) << '\n'; });
    };

    const bool newLog = !fs::exists(out / "log.csv");
    std::ofstream log(out / "log.csv", std::ios::app);
    if (newLog)
        log << "step,loss,mse,vb,images_per_second,wall_seconds\n";
    const int64_t n = data.images.size(0);
    const auto start = std::chrono::steady_clock::now();
    auto lastLog = start;
    long long lastLogStep = step;
    double accLoss = 0, accMse = 0, accVb = 0;
    int accCount = 0;
    model->train();
    while (step < o.totalSteps && !cancel.isCancelled()) {
        // All randomness of this step from one generator seeded by (seed, step): resumable.
        auto gen = at::detail::createCPUGenerator(o.seed * 1000003ULL + static_cast<uint64_t>(step) + 1);
        const auto idx = at::randint(n, {o.batchSize}, gen, torch::kLong);
        auto x0 = data.images.index_select(0, idx);
        const auto y = data.labels.index_select(0, idx);
        if (o.hflip) {
            const auto flip = at::rand({o.batchSize}, gen) < 0.5;
            x0 = torch::where(flip.view({-1, 1, 1, 1}), x0.flip({3}), x0);
        }
        const auto t = at::randint(1000, {o.batchSize}, gen, torch::kLong);
        const auto noise = at::randn(x0.sizes(), gen, torch::kFloat32);
        const auto drop = (at::rand({o.batchSize}, gen) < cfg.classDropoutProb).to(torch::kLong);
        const auto xt = diffusion.qSample(x0, t, noise);
        auto output = [&] {
            // Label dropout from this step's generator (LabelEmbedder.token_drop with force_drop_ids).
            DiTImpl &m = *model;
            ClassCondition cc{y, {}, drop};
            return m.forward(xt, t, cc);
        }();
        const auto terms = officialLoss(diffusion, output, x0, xt, t, noise);
        const auto loss = terms.loss.mean();
        opt.zero_grad();
        loss.backward();
        if (o.gradClip > 0)
            torch::nn::utils::clip_grad_norm_(model->parameters(), o.gradClip);
        opt.step();
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
        accLoss += loss.item<double>();
        accMse += terms.mse.mean().item<double>();
        accVb += terms.vb.mean().item<double>();
        ++accCount;
        const auto now = std::chrono::steady_clock::now();
        const double wall = priorSeconds + std::chrono::duration<double>(now - start).count();
        if (step % o.logEvery == 0 || step == o.totalSteps) {
            TrainProgress p;
            p.step = step;
            p.totalSteps = o.totalSteps;
            p.loss = accLoss / accCount;
            p.mse = accMse / accCount;
            p.vb = accVb / accCount;
            const double dt = std::chrono::duration<double>(now - lastLog).count();
            p.imagesPerSecond = dt > 0 ? (step - lastLogStep) * o.batchSize / dt : 0;
            p.elapsedSeconds = wall;
            log << step << ',' << p.loss << ',' << p.mse << ',' << p.vb << ',' << p.imagesPerSecond << ',' << wall << '\n';
            log.flush();
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
        save(step, priorSeconds + std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    return step;
}

} // namespace ditstudio
