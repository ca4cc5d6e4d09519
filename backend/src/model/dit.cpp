#include "model/dit.h"

#include "common/errors.h"

#include <algorithm>
#include <cmath>

namespace ditstudio {

namespace {

// x * (1 + scale) + shift, with per-sample [N, D] modulation broadcast over tokens: one fused pass
// over x (addcmul) instead of three.
torch::Tensor modulate(const torch::Tensor &x, const torch::Tensor &shift, const torch::Tensor &scale)
{
    return torch::addcmul(shift.unsqueeze(1), x, (1 + scale).unsqueeze(1));
}

// x + gate * branch (the adaLN-Zero residual add), one fused pass.
torch::Tensor gated(const torch::Tensor &x, const torch::Tensor &gate, const torch::Tensor &branch)
{
    return torch::addcmul(x, gate.unsqueeze(1), branch);
}

// LayerNorm without affine parameters, eps 1e-6 (the official blocks' norm1/norm2/norm_final).
torch::Tensor layerNorm(const torch::Tensor &x)
{
    return torch::layer_norm(x, {x.size(-1)}, {}, {}, 1e-6);
}

} // namespace

// ---------------------------------------------------------------------------------------------
TimestepEmbedderImpl::TimestepEmbedderImpl(int hiddenSize, int frequencySize) : m_frequencySize(frequencySize)
{
    mlp = register_module("mlp",
                          torch::nn::Sequential(torch::nn::Linear(frequencySize, hiddenSize),
                                                torch::nn::SiLU(),
                                                torch::nn::Linear(hiddenSize, hiddenSize)));
}

torch::Tensor TimestepEmbedderImpl::timestepFeatures(const torch::Tensor &t, int dim, double maxPeriod)
{
    // Ref: DiT models.py TimestepEmbedder.timestep_embedding (GLIDE): cosine first.
    const int half = dim / 2;
    auto freqs = torch::exp(-std::log(maxPeriod)
                            * torch::arange(0, half, torch::TensorOptions().dtype(torch::kFloat32))
                            / static_cast<double>(half))
                     .to(t.device()); // [half]
    auto args = t.to(torch::kFloat32).unsqueeze(1) * freqs.unsqueeze(0); // [N, half]
    auto emb = torch::cat({torch::cos(args), torch::sin(args)}, -1); // [N, 2*half]
    if (dim % 2)
        emb = torch::cat({emb, torch::zeros_like(emb.narrow(1, 0, 1))}, -1);
    return emb;
}

torch::Tensor TimestepEmbedderImpl::forward(const torch::Tensor &t)
{
    auto freq = timestepFeatures(t, m_frequencySize);
    auto w = mlp->parameters().front();
    return mlp->forward(freq.to(w.dtype()));
}

// ---------------------------------------------------------------------------------------------
LabelEmbedderImpl::LabelEmbedderImpl(int numClasses, int hiddenSize, double dropoutProb)
    : m_numClasses(numClasses), m_dropoutProb(dropoutProb)
{
    const int rows = numClasses + (dropoutProb > 0 ? 1 : 0);
    embedding_table = register_module("embedding_table", torch::nn::Embedding(rows, hiddenSize));
}

torch::Tensor LabelEmbedderImpl::forward(const torch::Tensor &labels, bool train,
                                         const torch::Tensor &forceDrop)
{
    torch::Tensor l = labels;
    if ((train && m_dropoutProb > 0) || forceDrop.defined()) {
        // Ref: DiT LabelEmbedder.token_drop: replace dropped labels by the null class.
        torch::Tensor drop = forceDrop.defined()
            ? (forceDrop == 1)
            : (torch::rand({labels.size(0)}, torch::TensorOptions().device(labels.device())) < m_dropoutProb);
        l = torch::where(drop, torch::full_like(labels, m_numClasses), labels);
    }
    return embedding_table->forward(l);
}

torch::Tensor LabelEmbedderImpl::mix(const torch::Tensor &weights)
{
    // [N, rows] @ [rows, D] -> [N, D]
    return torch::matmul(weights.to(embedding_table->weight.dtype()), embedding_table->weight);
}

// ---------------------------------------------------------------------------------------------
PatchEmbedImpl::PatchEmbedImpl(int inChannels, int hiddenSize, int patchSize)
{
    proj = register_module(
        "proj",
        torch::nn::Conv2d(
            torch::nn::Conv2dOptions(inChannels, hiddenSize, patchSize).stride(patchSize).bias(true)));
}

torch::Tensor PatchEmbedImpl::forward(const torch::Tensor &x)
{
    auto y = proj->forward(x); // [N, D, h, w]
    return y.flatten(2).transpose(1, 2); // [N, T, D], tokens row-major
}

// ---------------------------------------------------------------------------------------------
AttentionImpl::AttentionImpl(int dim, int numHeads) : m_numHeads(numHeads)
{
    m_scale = std::pow(static_cast<double>(dim / numHeads), -0.5);
    qkv = register_module("qkv", torch::nn::Linear(dim, dim * 3));
    proj = register_module("proj", torch::nn::Linear(dim, dim));
}

torch::Tensor AttentionImpl::forward(const torch::Tensor &x, const AttentionHooks *hooks)
{
    const auto n = x.size(0), t = x.size(1), d = x.size(2);
    const auto hd = d / m_numHeads;
    // Ref: timm Attention: qkv rows are [q heads | k heads | v heads].
    auto qkvOut
        = qkv->forward(x).reshape({n, t, 3, m_numHeads, hd}).permute({2, 0, 3, 1, 4}); // [3, N, H, T, hd]
    auto q = qkvOut[0], k = qkvOut[1], v = qkvOut[2];
    auto attn = torch::matmul(q * m_scale, k.transpose(-2, -1)); // [N, H, T, T]
    attn = attn.softmax(-1); // (in place would save one [N, H, T, T] buffer, but probes keep attn)
    auto out = torch::matmul(attn, v); // [N, H, T, hd]
    if (hooks) {
        if (hooks->probsOut) {
            auto probs = hooks->queryIndex.defined()
                ? attn.index_select(2, hooks->queryIndex.to(attn.device()))
                : attn; // [N, H, Q, T]
            if (hooks->headMean)
                probs = probs.mean(1, /*keepdim=*/true);
            *hooks->probsOut = probs.detach();
        }
        if (!hooks->disabledHeads.empty()) {
            auto keep = torch::ones({1, m_numHeads, 1, 1}, out.options());
            for (auto head : hooks->disabledHeads)
                keep[0][head] = 0;
            out = out * keep;
        }
    }
    out = out.transpose(1, 2).reshape({n, t, d}); // [N, T, D]
    return proj->forward(out);
}

// ---------------------------------------------------------------------------------------------
MlpImpl::MlpImpl(int dim, int hidden)
{
    fc1 = register_module("fc1", torch::nn::Linear(dim, hidden));
    fc2 = register_module("fc2", torch::nn::Linear(hidden, dim));
}

torch::Tensor MlpImpl::forward(const torch::Tensor &x)
{
    return fc2->forward(torch::gelu(fc1->forward(x), "tanh"));
}

// ---------------------------------------------------------------------------------------------
DiTBlockImpl::DiTBlockImpl(int hiddenSize, int numHeads, double mlpRatio) : m_hiddenSize(hiddenSize)
{
    attn = register_module("attn", Attention(hiddenSize, numHeads));
    mlp = register_module("mlp", Mlp(hiddenSize, static_cast<int>(hiddenSize * mlpRatio)));
    adaLN_modulation = register_module(
        "adaLN_modulation",
        torch::nn::Sequential(torch::nn::SiLU(), torch::nn::Linear(hiddenSize, 6 * hiddenSize)));
}

torch::Tensor DiTBlockImpl::forward(const torch::Tensor &x, const torch::Tensor &c, const BlockHooks *hooks)
{
    // Ref: DiT paper sec. 3.2 (adaLN-Zero); chunk order shift/scale/gate for msa then mlp.
    // Low-precision weights with an fp32 residual stream (DiTImpl::fp32Residual): the products run in
    // the weights' dtype, the modulation, norms and residual adds in x's (no-ops when they agree).
    auto modAll = adaLN_modulation->forward(c.to(weightDtype())).to(x.dtype()); // [N, 6D]
    auto mod = modAll.chunk(6, 1); // 6 x [N, D]
    if (!hooks)
        return forwardModulated(x, mod, nullptr, false, false);
    if (hooks->adalnOut)
        *hooks->adalnOut = modAll.view({modAll.size(0), 6, m_hiddenSize}).detach();
    return forwardModulated(x, mod, hooks->probeAttention ? &hooks->attention : nullptr,
                            hooks->zeroAttentionGate, hooks->zeroMlpGate);
}

torch::Tensor DiTBlockImpl::forwardModulated(const torch::Tensor &x, const std::vector<torch::Tensor> &mod,
                                             const AttentionHooks *attnHooks, bool zeroAttentionGate,
                                             bool zeroMlpGate)
{
    const auto wd = weightDtype();
    torch::Tensor h = x;
    if (!zeroAttentionGate) {
        h = gated(x, mod[2],
                  attn->forward(modulate(layerNorm(x), mod[0], mod[1]).to(wd), attnHooks).to(x.dtype()));
    } else if (attnHooks && attnHooks->probsOut) {
        // The branch is off, but its attention is still what the block would look at: record it.
        (void)attn->forward(modulate(layerNorm(x), mod[0], mod[1]).to(wd), attnHooks);
    }
    if (zeroMlpGate)
        return h;
    return gated(h, mod[5], mlp->forward(modulate(layerNorm(h), mod[3], mod[4]).to(wd)).to(x.dtype()));
}

torch::Tensor DiTBlockImpl::forwardCached(const torch::Tensor &x, const torch::Tensor &c,
                                          torch::Tensor &attnOut, torch::Tensor &mlpOut,
                                          torch::Tensor &attnPrev, torch::Tensor &mlpPrev, bool refresh,
                                          double extrapolate)
{
    const auto wd = weightDtype();
    auto mod = adaLN_modulation->forward(c.to(wd)).to(x.dtype()).chunk(6, 1);
    auto kept = [&](const torch::Tensor &out, const torch::Tensor &prev) {
        return extrapolate > 0 && prev.defined()
            ? torch::lerp(out, prev, -extrapolate) // out + (out - prev) * e
            : out;
    };
    torch::Tensor a;
    if (refresh || !attnOut.defined()) {
        attnPrev = attnOut;
        attnOut = attn->forward(modulate(layerNorm(x), mod[0], mod[1]).to(wd)).to(x.dtype());
        a = attnOut;
    } else {
        a = kept(attnOut, attnPrev);
    }
    auto h = gated(x, mod[2], a);
    torch::Tensor m;
    if (refresh || !mlpOut.defined()) {
        mlpPrev = mlpOut;
        mlpOut = mlp->forward(modulate(layerNorm(h), mod[3], mod[4]).to(wd)).to(x.dtype());
        m = mlpOut;
    } else {
        m = kept(mlpOut, mlpPrev);
    }
    return gated(h, mod[5], m);
}

// ---------------------------------------------------------------------------------------------
FinalLayerImpl::FinalLayerImpl(int hiddenSize, int patchSize, int outChannels) : m_hiddenSize(hiddenSize)
{
    linear = register_module("linear", torch::nn::Linear(hiddenSize, patchSize * patchSize * outChannels));
    adaLN_modulation = register_module(
        "adaLN_modulation",
        torch::nn::Sequential(torch::nn::SiLU(), torch::nn::Linear(hiddenSize, 2 * hiddenSize)));
}

torch::Tensor FinalLayerImpl::forward(const torch::Tensor &x, const torch::Tensor &c)
{
    const auto wd = linear->weight.scalar_type();
    auto mod = adaLN_modulation->forward(c.to(wd)).to(x.dtype()).chunk(2, 1); // shift, scale
    return linear->forward(modulate(layerNorm(x), mod[0], mod[1]).to(wd));
}

// ---------------------------------------------------------------------------------------------
DiTImpl::DiTImpl(const DiTConfig &config) : m_config(config)
{
    if (auto v = config.validate(); !v.ok())
        fail(v.error().code, v.error().message);
    const int d = config.hiddenSize;
    x_embedder = register_module("x_embedder", PatchEmbed(config.inChannels, d, config.patchSize));
    t_embedder = register_module("t_embedder", TimestepEmbedder(d));
    y_embedder = register_module("y_embedder", LabelEmbedder(config.numClasses, d, config.classDropoutProb));
    pos_embed = register_buffer("pos_embed", sinCosPosEmbed(d, config.inputSize / config.patchSize));
    blocks = register_module("blocks", torch::nn::ModuleList());
    for (int i = 0; i < config.depth; ++i)
        blocks->push_back(DiTBlock(d, config.numHeads, config.mlpRatio));
    final_layer = register_module("final_layer", FinalLayer(d, config.patchSize, config.outChannels()));
}

torch::Tensor DiTImpl::sinCosPosEmbed(int dim, int gridSize)
{
    // Ref: DiT models.py get_2d_sincos_pos_embed (MAE). np.meshgrid(grid_w, grid_h): the first half
    // of the channels encodes the column, the second half the row; each half is [sin | cos].
    auto opts = torch::TensorOptions().dtype(torch::kFloat64);
    const int quarter = dim / 4;
    auto omega = torch::arange(quarter, opts) / static_cast<double>(quarter);
    omega = 1.0 / torch::pow(10000.0, omega); // [D/4]
    auto coords = torch::arange(gridSize, opts);
    auto col = coords.repeat({gridSize}); // token i*g+j -> j
    auto row = coords.repeat_interleave(gridSize); // token i*g+j -> i
    auto embed1d = [&](const torch::Tensor &pos) {
        auto out = pos.unsqueeze(1) * omega.unsqueeze(0); // [T, D/4]
        return torch::cat({torch::sin(out), torch::cos(out)}, 1); // [T, D/2]
    };
    auto emb = torch::cat({embed1d(col), embed1d(row)}, 1); // [T, D]
    return emb.to(torch::kFloat32).unsqueeze(0); // [1, T, D]
}

torch::Tensor DiTImpl::unpatchify(const torch::Tensor &x) const
{
    const int64_t c = m_config.outChannels();
    const int64_t p = m_config.patchSize;
    const int64_t h = m_config.inputSize / p;
    const int64_t w = h;
    // channel innermost in each token: index = (row_in_patch * p + col_in_patch) * C + channel
    auto y = x.reshape({x.size(0), h, w, p, p, c});
    y = y.permute({0, 5, 1, 3, 2, 4}); // n c h p w q
    return y.reshape({x.size(0), c, h * p, w * p});
}

torch::Tensor DiTImpl::posEmbed(torch::ScalarType dtype, const torch::Device &device)
{
    // Cached per dtype and device (the buffer itself follows module.to()); an fp32 residual stream
    // under low-precision weights gets the exact fp32 table, not the rounded buffer.
    if (m_posEmbedCache.defined() && m_posEmbedCache.scalar_type() == dtype
        && m_posEmbedCache.device() == device && m_posEmbedSource.is_same(pos_embed))
        return m_posEmbedCache;
    torch::Tensor table = pos_embed;
    if (dtype == torch::kFloat32 && pos_embed.scalar_type() != torch::kFloat32)
        table = sinCosPosEmbed(m_config.hiddenSize, m_config.inputSize / m_config.patchSize);
    m_posEmbedCache = table.to(device, dtype);
    m_posEmbedSource = pos_embed;
    return m_posEmbedCache;
}

torch::Tensor DiTImpl::forward(const torch::Tensor &x, const torch::Tensor &t, const ClassCondition &cond,
                               DiTTrace *trace)
{
    const auto dtype = x_embedder->proj->weight.scalar_type();
    // The residual stream's dtype: the weights', or fp32 with low-precision weights and fp32Residual.
    const auto rdtype = fp32Residual && dtype != torch::kFloat32 ? torch::kFloat32 : dtype;
    auto xe = x_embedder->forward(x.to(dtype)).to(rdtype); // [N, T, D]
    if (trace)
        trace->xEmb = xe.detach();
    auto h = xe + posEmbed(rdtype, xe.device());
    torch::Tensor tEmb = t_embedder->forward(t).to(rdtype); // [N, D]
    torch::Tensor yEmb
        = (cond.weights.defined() ? y_embedder->mix(cond.weights)
                                  : y_embedder->forward(cond.labels, is_training(), cond.forceDrop))
              .to(rdtype);
    if (trace) {
        trace->tFreq = TimestepEmbedderImpl::timestepFeatures(t, t_embedder->m_frequencySize).detach();
        trace->tEmb = tEmb.detach();
        trace->yEmb = yEmb.detach();
    }
    auto c = tEmb + yEmb; // [N, D]
    const DiTInterventions *iv = trace ? trace->interventions : nullptr;
    const size_t depth = blocks->size();
    if (trace) {
        trace->attention.assign(depth, {});
        trace->adaln.assign(depth, {});
        trace->activity.assign(depth, {});
    }
    bool refresh = true;
    double cacheExtrapolation = 0;
    if (stepCache && !trace) {
        StepCache &sc = *stepCache;
        const bool sameBatch
            = sc.attn.size() == depth && sc.attn.front().defined() && sc.attn.front().sizes() == h.sizes();
        if (sc.threshold > 0) {
            // How much the first block's input moved since the last call (one adaLN and one norm).
            auto b0 = blocks->ptr<DiTBlockImpl>(0);
            auto mod0 = b0->adaLN_modulation->forward(c.to(b0->weightDtype())).to(h.dtype()).chunk(6, 1);
            auto indicator = modulate(layerNorm(h), mod0[0], mod0[1]);
            if (sameBatch && sc.previous.defined() && sc.previous.sizes() == indicator.sizes())
                sc.accumulated
                    += ((indicator - sc.previous).abs().mean() / sc.previous.abs().mean().clamp_min(1e-12))
                           .item<double>();
            refresh = !sameBatch || !sc.previous.defined() || sc.accumulated >= sc.threshold;
            if (refresh)
                sc.accumulated = 0;
            sc.previous = indicator;
        } else {
            refresh = !sameBatch || sc.interval <= 1 || sc.calls % sc.interval == 0;
        }
        // The last noise levels form the fine details: there every call runs the blocks.
        if (!refresh && sc.fullBelowTimestep > 0 && t.numel() > 0
            && t.reshape({-1})[0].item<double>() < sc.fullBelowTimestep)
            refresh = true;
        if (!sameBatch) {
            sc.attn.assign(depth, {});
            sc.mlp.assign(depth, {});
            sc.attnPrev.assign(depth, {});
            sc.mlpPrev.assign(depth, {});
            sc.lastRefreshCall = sc.prevRefreshCall = -1;
        }
        if (refresh) {
            sc.prevRefreshCall = sc.lastRefreshCall;
            sc.lastRefreshCall = sc.calls;
            cacheExtrapolation = 0;
        } else if (sc.extrapolate && sc.prevRefreshCall >= 0) {
            // k calls after the last full call, whose predecessor was `gap` calls before it.
            cacheExtrapolation
                = double(sc.calls - sc.lastRefreshCall) / double(sc.lastRefreshCall - sc.prevRefreshCall);
        }
        ++sc.calls;
        if (refresh)
            ++sc.refreshes;
    }
    for (size_t i = 0; i < depth; ++i) {
        auto block = blocks->ptr<DiTBlockImpl>(i);
        if (!trace) {
            h = stepCache
                ? block->forwardCached(h, c, stepCache->attn[i], stepCache->mlp[i], stepCache->attnPrev[i],
                                       stepCache->mlpPrev[i], refresh, cacheExtrapolation)
                : block->forward(h, c);
            continue;
        }
        const torch::Tensor in = h;
        if (iv && iv->skip.at(i)) {
            // Skipped: the block passes its input through (activity 0). Its modulation is still
            // what the conditioning asks of it, so the adaLN probe records it.
            if (trace->wantAdaln)
                trace->adaln[i] = block->adaLN_modulation->forward(c.to(block->weightDtype()))
                                      .to(c.dtype())
                                      .view({c.size(0), 6, block->m_hiddenSize})
                                      .detach();
        } else {
            BlockHooks hooks;
            const bool wantAttn
                = trace->wantAttention && (trace->attentionBlocks.empty() || trace->attentionBlocks.at(i));
            if (wantAttn) {
                hooks.attention.probsOut = &trace->attention[i];
                hooks.attention.queryIndex = trace->queryIndex;
                hooks.attention.headMean = trace->headMean;
            }
            if (iv)
                hooks.attention.disabledHeads = iv->disabledHeads.at(i);
            hooks.probeAttention = wantAttn || !hooks.attention.disabledHeads.empty();
            if (trace->wantAdaln)
                hooks.adalnOut = &trace->adaln[i];
            hooks.zeroAttentionGate = iv && iv->zeroAttentionGate.at(i);
            hooks.zeroMlpGate = iv && iv->zeroMlpGate.at(i);
            h = block->forward(h, c, &hooks);
        }
        if (trace->keepBlockOut)
            trace->blockOut.push_back(h.detach());
        if (trace->wantActivity) {
            // |out - in| / |in| per sample over tokens and channels (the DiT caching papers' measure).
            const auto inF = in.to(torch::kFloat32).flatten(1), outF = h.to(torch::kFloat32).flatten(1);
            trace->activity[i] = (outF - inF).norm(2, {1}) / inF.norm(2, {1}).clamp_min(1e-30); // [N]
        }
    }
    h = final_layer->forward(h, c); // [N, T, p*p*outC]
    return unpatchify(h);
}

DiTInterventions DiTInterventions::resolve(const Interventions &requested, const DiTConfig &config)
{
    const int depth = config.depth;
    DiTInterventions out;
    out.disabledHeads.assign(depth, {});
    out.skip.assign(depth, 0);
    out.zeroAttentionGate.assign(depth, 0);
    out.zeroMlpGate.assign(depth, 0);
    auto checkBlock = [&](int b, const char *what) {
        if (b < 0 || b >= depth)
            fail(ErrorCode::InvalidArgument,
                 std::string(what) + ": block " + std::to_string(b) + " is out of range 0.."
                     + std::to_string(depth - 1) + " (the model has " + std::to_string(depth) + " blocks)");
    };
    for (const auto &[b, head] : requested.disabledHeads) {
        checkBlock(b, "disabled head");
        if (head < 0 || head >= config.numHeads)
            fail(ErrorCode::InvalidArgument,
                 "disabled head: head " + std::to_string(head) + " is out of range 0.."
                     + std::to_string(config.numHeads - 1) + " (the model has "
                     + std::to_string(config.numHeads) + " heads per block)");
        auto &v = out.disabledHeads[b];
        if (std::find(v.begin(), v.end(), head) == v.end())
            v.push_back(head);
    }
    for (int b : requested.skippedBlocks) {
        checkBlock(b, "skipped block");
        out.skip[b] = 1;
    }
    for (int b : requested.zeroAttentionGates) {
        checkBlock(b, "zeroed attention gate");
        out.zeroAttentionGate[b] = 1;
    }
    for (int b : requested.zeroMlpGates) {
        checkBlock(b, "zeroed MLP gate");
        out.zeroMlpGate[b] = 1;
    }
    return out;
}

bool DiTInterventions::any() const
{
    auto set = [](const std::vector<char> &v) {
        return std::any_of(v.begin(), v.end(), [](char c) { return c != 0; });
    };
    return set(skip) || set(zeroAttentionGate) || set(zeroMlpGate)
        || std::any_of(disabledHeads.begin(), disabledHeads.end(), [](const auto &v) { return !v.empty(); });
}

void DiTImpl::initializeWeights()
{
    // Ref: DiT models.py DiT.initialize_weights.
    torch::NoGradGuard noGrad;
    for (auto &m : modules(/*include_self=*/false)) {
        if (auto *lin = m->as<torch::nn::Linear>()) {
            torch::nn::init::xavier_uniform_(lin->weight);
            if (lin->bias.defined())
                torch::nn::init::zeros_(lin->bias);
        }
    }
    auto w = x_embedder->proj->weight;
    torch::nn::init::xavier_uniform_(w.view({w.size(0), -1}));
    torch::nn::init::zeros_(x_embedder->proj->bias);
    torch::nn::init::normal_(y_embedder->embedding_table->weight, 0.0, 0.02);
    for (int idx : {0, 2}) {
        auto *lin = t_embedder->mlp[idx]->as<torch::nn::Linear>();
        torch::nn::init::normal_(lin->weight, 0.0, 0.02);
    }
    for (size_t i = 0; i < blocks->size(); ++i) {
        auto *lin = blocks->ptr<DiTBlockImpl>(i)->adaLN_modulation[1]->as<torch::nn::Linear>();
        torch::nn::init::zeros_(lin->weight);
        torch::nn::init::zeros_(lin->bias);
    }
    auto *fl = final_layer->adaLN_modulation[1]->as<torch::nn::Linear>();
    torch::nn::init::zeros_(fl->weight);
    torch::nn::init::zeros_(fl->bias);
    torch::nn::init::zeros_(final_layer->linear->weight);
    torch::nn::init::zeros_(final_layer->linear->bias);
}

} // namespace ditstudio
