#pragma once
// DiT: Diffusion Transformer with adaLN-Zero blocks.
// Ref: W. Peebles, S. Xie, "Scalable Diffusion Models with Transformers", ICCV 2023;
//      facebookresearch/DiT models.py. Module names equal the official state_dict keys.

#include "ditstudio/model_info.h"
#include "ditstudio/probes.h"

#include <torch/torch.h>

#include <optional>
#include <vector>

namespace ditstudio {

/// Sinusoidal timestep features (256 of them, cosine first) then Linear-SiLU-Linear.
struct TimestepEmbedderImpl : torch::nn::Module {
    TimestepEmbedderImpl(int hiddenSize, int frequencySize = 256);
    /// t: [N] (integer or fractional timesteps) -> [N, frequencySize], float32
    static torch::Tensor timestepFeatures(const torch::Tensor &t, int dim, double maxPeriod = 10000.0);
    torch::Tensor forward(const torch::Tensor &t); // [N] -> [N, D]

    int m_frequencySize;
    torch::nn::Sequential mlp {nullptr};
};
TORCH_MODULE(TimestepEmbedder);

/// Class label table with num_classes + 1 rows; the last row is the null class for guidance.
struct LabelEmbedderImpl : torch::nn::Module {
    LabelEmbedderImpl(int numClasses, int hiddenSize, double dropoutProb);
    /// labels: [N] int64; in training, labels are replaced by the null class with dropoutProb.
    torch::Tensor forward(const torch::Tensor &labels, bool train, const torch::Tensor &forceDrop = {});
    /// weights: [N, numClasses + 1] -> weighted sum of rows (class mixing).
    torch::Tensor mix(const torch::Tensor &weights);

    int m_numClasses;
    double m_dropoutProb;
    torch::nn::Embedding embedding_table {nullptr};
};
TORCH_MODULE(LabelEmbedder);

/// Conv2d patch embedding ("x_embedder.proj").
struct PatchEmbedImpl : torch::nn::Module {
    PatchEmbedImpl(int inChannels, int hiddenSize, int patchSize);
    torch::Tensor forward(const torch::Tensor &x); // [N, C, H, W] -> [N, T, D]
    torch::nn::Conv2d proj {nullptr};
};
TORCH_MODULE(PatchEmbed);

/// Instrumentation of one attention call (all optional).
struct AttentionHooks {
    torch::Tensor *probsOut
        = nullptr; ///< receives softmax(q k^T / sqrt(d)): [N, H, Q, T] (H = 1 with headMean)
    torch::Tensor queryIndex; ///< [Q] int64 query rows to keep; undefined: all T rows
    bool headMean = false;
    std::vector<int64_t> disabledHeads; ///< heads whose output is zeroed before proj
};

struct AttentionImpl : torch::nn::Module {
    AttentionImpl(int dim, int numHeads);
    /// x: [N, T, D] -> [N, T, D].
    torch::Tensor forward(const torch::Tensor &x, const AttentionHooks *hooks = nullptr);
    int m_numHeads;
    double m_scale;
    torch::nn::Linear qkv {nullptr}, proj {nullptr};
};
TORCH_MODULE(Attention);

struct MlpImpl : torch::nn::Module {
    MlpImpl(int dim, int hidden);
    torch::Tensor forward(const torch::Tensor &x); // GELU, tanh approximation
    torch::nn::Linear fc1 {nullptr}, fc2 {nullptr};
};
TORCH_MODULE(Mlp);

/// Instrumentation of one block call (all optional).
struct BlockHooks {
    AttentionHooks attention;
    bool probeAttention = false; ///< pass `attention` to the attention (probe and/or head switches)
    torch::Tensor *adalnOut = nullptr; ///< receives the six chunks [N, 6, D] in the official order
    bool zeroAttentionGate = false; ///< gate_msa := 0
    bool zeroMlpGate = false; ///< gate_mlp := 0
};

struct DiTBlockImpl : torch::nn::Module {
    DiTBlockImpl(int hiddenSize, int numHeads, double mlpRatio);
    torch::Tensor forward(const torch::Tensor &x, const torch::Tensor &c, const BlockHooks *hooks = nullptr);
    /// Step caching (FORA): with refresh, run attention and MLP and keep their outputs in attnOut /
    /// mlpOut; without, reuse them, gated and added with this call's modulation (which follows t).
    /// When reusing with the outputs of the refresh before (attnPrev/mlpPrev) and extrapolate > 0, the
    /// outputs are extrapolated linearly: out + (out - prev) * extrapolate (a first-order forecast of
    /// the feature, as TaylorSeer does). A refresh moves the old outputs into attnPrev/mlpPrev.
    torch::Tensor forwardCached(const torch::Tensor &x, const torch::Tensor &c, torch::Tensor &attnOut,
                                torch::Tensor &mlpOut, torch::Tensor &attnPrev, torch::Tensor &mlpPrev,
                                bool refresh, double extrapolate);
    /// The block's two branches given its modulation chunks (mod: 6 x [N, D]).
    torch::Tensor forwardModulated(const torch::Tensor &x, const std::vector<torch::Tensor> &mod,
                                   const AttentionHooks *attnHooks, bool zeroAttentionGate, bool zeroMlpGate);
    /// The dtype of the block's weights (its matrix products run in it).
    torch::ScalarType weightDtype() const { return attn->qkv->weight.scalar_type(); }
    int m_hiddenSize;
    Attention attn {nullptr};
    Mlp mlp {nullptr};
    torch::nn::Sequential adaLN_modulation {nullptr};
};
TORCH_MODULE(DiTBlock);

struct FinalLayerImpl : torch::nn::Module {
    FinalLayerImpl(int hiddenSize, int patchSize, int outChannels);
    torch::Tensor forward(const torch::Tensor &x, const torch::Tensor &c);
    int m_hiddenSize;
    torch::nn::Linear linear {nullptr};
    torch::nn::Sequential adaLN_modulation {nullptr};
};
TORCH_MODULE(FinalLayer);

/// Changes to one forward pass, per block (probes.h Interventions, resolved against the model).
struct DiTInterventions {
    std::vector<std::vector<int64_t>> disabledHeads; ///< [depth]: heads switched off in each block
    std::vector<char> skip, zeroAttentionGate, zeroMlpGate; ///< [depth] flags

    static DiTInterventions resolve(const Interventions &requested,
                                    const DiTConfig &config); ///< validates ranges
    bool any() const;
};

/// Optional intermediates of one forward pass (parity tests, the probes of the Inside view) and
/// interventions. A forward without a trace is the plain one.
/// Training-free step caching across sampling steps (FORA: Selvaraju et al. 2024, "Fast-Forward
/// Caching in Diffusion Transformer Acceleration"): every `interval`-th model call runs the blocks
/// in full and keeps each block's attention and MLP outputs; the calls between reuse them (only the
/// embedders, the adaLN modulation and the final layer run). interval 1 = off. A call whose batch
/// differs from the cached one (guidance switched off by its interval) refreshes.
struct StepCache {
    int interval = 1;
    /// > 0: adaptive instead of every `interval` calls (after TeaCache, Liu et al. 2024): refresh when
    /// the relative L1 change of block 0's modulated input, summed since the last refresh, reaches it.
    double threshold = 0;
    double accumulated = 0;
    torch::Tensor previous; ///< block 0's modulated input at the last call
    long long calls = 0; ///< model calls seen
    long long refreshes = 0; ///< calls that ran the blocks in full
    bool active() const { return interval > 1 || threshold > 0; }
    /// Calls at timesteps below this (of 1000) always run the blocks: the final noise levels form the
    /// fine details, and reusing there costs the most quality (on the default model, 50 DDPM steps
    /// with --cache 2: Fréchet distance +10.5 % without it, +1.5 % with it, for 27 instead of 25 of
    /// 50 full calls). 0 = off. Reading t costs one host sync per call on a GPU.
    double fullBelowTimestep = 80;
    std::vector<torch::Tensor> attn, mlp;
    /// Forecast cached calls from the last two full calls (first-order Taylor in the call index,
    /// TaylorSeer: Liu et al. 2025) instead of repeating the last one.
    bool extrapolate = true;
    std::vector<torch::Tensor> attnPrev, mlpPrev; ///< the outputs of the full call before the last
    long long lastRefreshCall = -1, prevRefreshCall = -1;
};

struct DiTTrace {
    torch::Tensor tFreq, tEmb, yEmb, xEmb;
    std::vector<torch::Tensor> blockOut;
    bool keepBlockOut = true; ///< fill blockOut (parity tests); probes turn it off

    // Probes (requested before the call).
    bool wantAttention = false;
    std::vector<char> attentionBlocks; ///< [depth] which blocks record attention; empty: all
    torch::Tensor queryIndex; ///< [Q] int64 query tokens; undefined: all
    bool headMean = false;
    bool wantAdaln = false;
    bool wantActivity = false;
    const DiTInterventions *interventions = nullptr;

    // Records (per block; undefined where not requested).
    std::vector<torch::Tensor> attention; ///< [N, H, Q, T] softmax(q k^T / sqrt(d))
    std::vector<torch::Tensor> adaln; ///< [N, 6, D]
    std::vector<torch::Tensor> activity; ///< [N] |out - in| / |in| (float32)
};

/// Class conditioning for one forward: labels [N] int64, or mixing weights [N, numClasses + 1].
struct ClassCondition {
    torch::Tensor labels;
    torch::Tensor weights;
    torch::Tensor forceDrop; ///< training: [N] 1 where the label is replaced by the null class
};

struct DiTImpl : torch::nn::Module {
    explicit DiTImpl(const DiTConfig &config);

    /// x: [N, C, H, W], t: [N] timesteps (original 1000-step indices, may be fractional),
    /// cond: labels or mix weights -> [N, outC, H, W].
    torch::Tensor forward(const torch::Tensor &x, const torch::Tensor &t, const ClassCondition &cond,
                          DiTTrace *trace = nullptr);
    /// Set by the engine for the duration of a sampling run to use step caching when no trace is
    /// given; null otherwise.
    StepCache *stepCache = nullptr;
    /// With bf16/fp16 weights: keep the residual stream, the norms, the modulation and the gates in
    /// fp32 and run only the matrix products (and attention) in the weights' dtype. Off: the whole
    /// forward in the weights' dtype. No effect on fp32 weights.
    bool fp32Residual = false;
    /// pos_embed in dtype on device, cached (see fp32Residual for low-precision weights).
    torch::Tensor posEmbed(torch::ScalarType dtype, const torch::Device &device);
    torch::Tensor m_posEmbedCache, m_posEmbedSource;
    torch::Tensor forward(const torch::Tensor &x, const torch::Tensor &t, const torch::Tensor &labels)
    {
        return forward(x, t, ClassCondition {labels, {}});
    }

    /// The official initialization (xavier linears, zeroed adaLN and output layer).
    void initializeWeights();

    /// 2-D sin-cos positional embedding [1, gridSize^2, dim], computed in float64 then cast to float32.
    static torch::Tensor sinCosPosEmbed(int dim, int gridSize);

    torch::Tensor unpatchify(const torch::Tensor &x) const; // [N, T, p*p*C] -> [N, C, H, W]

    DiTConfig m_config;
    PatchEmbed x_embedder {nullptr};
    TimestepEmbedder t_embedder {nullptr};
    LabelEmbedder y_embedder {nullptr};
    torch::Tensor pos_embed;
    torch::nn::ModuleList blocks {nullptr};
    FinalLayer final_layer {nullptr};
};
TORCH_MODULE(DiT);

} // namespace ditstudio
