#pragma once
// Key layouts of Stable Diffusion VAE (AutoencoderKL) checkpoints, layout detection from keys and
// shapes alone, and reading a VAE from a file into the model (whose module names are the original
// latent-diffusion keys, see model/vae.h).
//
// Layouts (names as reported in VaeCheckpointInfo::layout):
//   "ldm"               CompVis/latent-diffusion: encoder.down.N.block.M.*, mid.attn_1.{norm,q,k,v,proj_out}
//                       as 1x1 convs, quant_conv, post_quant_conv. Also inside full Stable Diffusion
//                       checkpoints under "first_stage_model." (the other keys are ignored).
//   "diffusers"         diffusers AutoencoderKL: encoder.down_blocks.N.resnets.M.* (conv_shortcut),
//                       downsamplers.0.conv, mid_block.resnets.0/1, mid_block.attentions.0.{group_norm,
//                       to_q,to_k,to_v,to_out.0} as LINEAR (2-D) weights, conv_norm_out, and
//                       decoder.up_blocks numbered in REVERSE: up_blocks.i is up.(levels - 1 - i).
//   "diffusers-legacy"  the same with the older attention names query/key/value/proj_attn.
// Ref: diffusers scripts/convert_vae_pt_to_diffusers.py and
// convert_diffusers_to_original_stable_diffusion.py.

#include "ditstudio/model_info.h"
#include "ditstudio/result.h"
#include "io/state_dict.h"
#include "model/vae.h"

#include <filesystem>
#include <string>
#include <vector>

namespace ditstudio {

/// What a VAE checkpoint is, from its keys and shapes (plus a config.json beside it when present).
struct VaeCheckpointInfo {
    std::string path;
    std::string layout; ///< "ldm", "diffusers" or "diffusers-legacy"
    std::string prefix; ///< the prefix of the VAE keys ("first_stage_model." in SD checkpoints), or ""
    VaeConfig config;
    std::int64_t parameterCount = 0; ///< values stored in the VAE's tensors
    std::string dtype; ///< stored dtype of encoder.conv_in.weight ("F32", "F16", ...) when known
    std::int64_t ignoredTensors = 0; ///< tensors that are not part of the VAE (UNet, text encoder, loss, ...)
    std::vector<std::string>
        unexpectedKeys; ///< under the VAE's encoder./decoder. but not in the architecture
};

/// The original (ldm) name of `key` (prefix already removed) in `layout`; empty when the key is not
/// part of the VAE. numLevels (the length of block_out_channels) is needed to reverse up_blocks.
/// Unknown keys under encoder./decoder. are returned unchanged (so validation can report them).
std::string vaeKeyToLdm(const std::string &key, const std::string &layout, int numLevels);

/// The inverse: the name an ldm key has in `layout` (for error messages and writers).
std::string vaeKeyFromLdm(const std::string &ldmKey, const std::string &layout, int numLevels);

/// Detect the layout, the key prefix and the architecture from keys and shapes, and check that every
/// tensor the architecture needs is present with the right shape. Allocates no weights; used on real
/// files' headers and on manifests. Errors name the key (in the file's own layout) and both shapes.
Result<VaeCheckpointInfo> detectVaeLayout(const std::vector<TensorSpec> &tensors);

/// Select the VAE tensors of sd (per info.prefix) and rename them to the ldm layout; 2-D attention
/// weights become [C, C, 1, 1]. Tensors are not copied (views of sd's storage).
StateDict vaeStateDictToLdm(const StateDict &sd, const VaeCheckpointInfo &info);

/// A VAE checkpoint read into memory, keys in the ldm layout.
struct LoadedVae {
    StateDict weights;
    VaeCheckpointInfo info;
};

/// Read a VAE from a .safetensors / .ckpt / .pt / .bin file (a standalone VAE or a full Stable
/// Diffusion checkpoint), or a diffusers folder (vae/ or the vae folder itself). A diffusers
/// config.json beside the weights supplies norm_num_groups, scaling_factor and shift_factor; its
/// block_out_channels, layers_per_block, latent_channels must agree with the shapes. Throws
/// DitException naming the file (and key and shapes where relevant).
LoadedVae readVaeCheckpoint(const std::filesystem::path &path);

/// Describe a VAE checkpoint (safetensors files are memory-mapped; no weights are copied).
VaeCheckpointInfo describeVaeCheckpoint(const std::filesystem::path &path);

/// Build the model, copy the weights in (every tensor checked by name and shape), eval mode, then
/// move to device/dtype.
AutoencoderKL buildVae(const LoadedVae &vae, const torch::Device &device, torch::ScalarType dtype);

/// readVaeCheckpoint + buildVae.
AutoencoderKL loadVae(const std::filesystem::path &path, const torch::Device &device = torch::kCPU,
                      torch::ScalarType dtype = torch::kFloat32);

} // namespace ditstudio
