#pragma once
// Key layouts of DiT checkpoints. The model's module names equal the official keys, so loading is a
// name lookup; other layouts (diffusers' Transformer2DModel) are mapped back to official names here.

#include "io/state_dict.h"

namespace ditstudio {

/// Map a diffusers DiT state dict (per-block embedder copies, split to_q/to_k/to_v, proj_out_1/2)
/// to official keys. pos_embed is not produced (the model computes it). Throws DitException naming
/// the missing key, or when per-block embedder copies disagree (not representable officially).
StateDict diffusersToOfficialDiT(const StateDict &diffusers, int depth);

/// Strip a common prefix ("module.", "model.", "transformer.") when every key has it.
void stripCommonPrefix(StateDict &sd);

} // namespace ditstudio
