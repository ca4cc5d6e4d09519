#pragma once
/// \file probes.h
/// What happens inside the transformer while it samples: opt-in probes and interventions for one
/// generate request.
///
/// \code
///   ditstudio::GenerateRequest req;
///   req.probes.attention = true;          // softmax(q k^T / sqrt(d)) per block and head
///   req.probes.adaln = true;              // the six adaLN-Zero chunks per block
///   req.probes.activity = true;           // |block out - block in| / |block in|
///   req.probes.guidance = true;           // eps_cond - eps_uncond per step
///   req.interventions.disabledHeads = {{3, 1}}; // switch off head 1 of block 3
///   observer.onStep = [](const ditstudio::StepUpdate &u) { use(u.probes.attention[0]); };
/// \endcode
///
/// Probes are taken from the first model call of each sampling step (Heun's corrector call is not
/// probed). Rows follow the model's batch: with guidance the conditional rows first, then the
/// unconditional ones (2 x batch rows); without guidance, batch rows. Tokens are in patch raster
/// order (row-major over the latent grid). With every probe off nothing is recorded and the forward
/// pass is the plain one.

#include "ditstudio/types.h"

#include <cstdint>
#include <utility>
#include <vector>

namespace ditstudio {

/// Which quantities to record per sampling step.
struct ProbeOptions {
    bool attention = false; ///< attention probabilities per block (and head)
    bool adaln = false; ///< adaLN-Zero chunks per block: shift/scale/gate of attention, then of the MLP
    bool activity = false; ///< |block output - block input| / |block input| per block and row
    bool guidance = false; ///< eps_cond - eps_uncond (the model's eps channels, before scaling)
    bool x0Change = false; ///< |x0_s - x0_(s-1)| / |x0_(s-1)| per image
    /// Attention of these blocks only (0-based); empty: every block.
    std::vector<int> attentionBlocks;
    /// Attention rows of these query tokens only; empty: every query token.
    std::vector<int> queryTokens;
    /// Average the attention over heads (stored with one head).
    bool headMean = false;
    /// Attention bytes one step may record (float32). A request whose attention would exceed it is
    /// refused up front with the estimate; choose blocks, query tokens or head means to fit.
    std::int64_t attentionBudgetBytes = 256LL << 20;

    bool any() const { return attention || adaln || activity || guidance || x0Change; }
};

/// Changes to the forward pass for every step and every row (cond and uncond alike).
struct Interventions {
    std::vector<std::pair<int, int>>
        disabledHeads; ///< (block, head): the head's output is zeroed before proj
    std::vector<int> skippedBlocks; ///< the block passes its input through unchanged
    std::vector<int> zeroAttentionGates; ///< gate_msa := 0 in these blocks (attention branch off)
    std::vector<int> zeroMlpGates; ///< gate_mlp := 0 in these blocks (MLP branch off)

    bool any() const
    {
        return !disabledHeads.empty() || !skippedBlocks.empty() || !zeroAttentionGates.empty()
            || !zeroMlpGates.empty();
    }
};

/// What the probes recorded at one step (fields stay empty for probes that were off).
struct StepProbes {
    std::vector<int> attentionBlocks; ///< the blocks of `attention`, in order
    std::vector<int> queryTokens; ///< the query tokens of each attention row; empty: all tokens
    /// One per entry of attentionBlocks: [rows, heads (1 with headMean), queries, tokens].
    std::vector<HostTensor> attention;
    std::vector<HostTensor> adaln; ///< one per block: [rows, 6, hidden]
    HostTensor activity; ///< [blocks, rows]
    HostTensor guidance; ///< [batch, C, H, W]; empty without guidance at this step
    std::vector<double> x0Change; ///< one per image; 0 at the first probed step
    int tokensPerSide = 0; ///< the token grid is tokensPerSide x tokensPerSide
    int patchSize = 0; ///< model-space pixels per token side

    bool empty() const
    {
        return attention.empty() && adaln.empty() && activity.data.empty() && guidance.data.empty()
            && x0Change.empty();
    }
};

} // namespace ditstudio
