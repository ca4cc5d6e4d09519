#include "io/key_mapping.h"

#include "common/errors.h"

namespace ditstudio {

StateDict diffusersToOfficialDiT(const StateDict &in, int depth)
{
    StateDict out;
    out.metadata = in.metadata;
    out.container = in.container;
    out.source = in.source;
    auto take = [&](const std::string &from, const std::string &to) { out.tensors[to] = in.at(from); };
    take("pos_embed.proj.weight", "x_embedder.proj.weight");
    take("pos_embed.proj.bias", "x_embedder.proj.bias");
    const std::string emb0 = "transformer_blocks.0.norm1.emb.";
    take(emb0 + "timestep_embedder.linear_1.weight", "t_embedder.mlp.0.weight");
    take(emb0 + "timestep_embedder.linear_1.bias", "t_embedder.mlp.0.bias");
    take(emb0 + "timestep_embedder.linear_2.weight", "t_embedder.mlp.2.weight");
    take(emb0 + "timestep_embedder.linear_2.bias", "t_embedder.mlp.2.bias");
    take(emb0 + "class_embedder.embedding_table.weight", "y_embedder.embedding_table.weight");
    for (int i = 0; i < depth; ++i) {
        const std::string d = "transformer_blocks." + std::to_string(i) + ".";
        const std::string o = "blocks." + std::to_string(i) + ".";
        // diffusers copies the shared embedders into every block; they must be identical.
        if (i > 0) {
            for (const char *suffix :
                 {"timestep_embedder.linear_1.weight", "timestep_embedder.linear_2.weight",
                  "class_embedder.embedding_table.weight"}) {
                const std::string k = d + "norm1.emb." + suffix;
                if (in.contains(k) && !torch::equal(in.at(k), in.at(emb0 + suffix)))
                    fail(ErrorCode::FormatError,
                         in.source + ": '" + k
                             + "' differs from block 0's copy; per-block embedders are not "
                               "supported by the DiT architecture");
            }
        }
        take(d + "norm1.linear.weight", o + "adaLN_modulation.1.weight");
        take(d + "norm1.linear.bias", o + "adaLN_modulation.1.bias");
        out.tensors[o + "attn.qkv.weight"] = torch::cat(
            {in.at(d + "attn1.to_q.weight"), in.at(d + "attn1.to_k.weight"), in.at(d + "attn1.to_v.weight")},
            0);
        out.tensors[o + "attn.qkv.bias"] = torch::cat(
            {in.at(d + "attn1.to_q.bias"), in.at(d + "attn1.to_k.bias"), in.at(d + "attn1.to_v.bias")}, 0);
        take(d + "attn1.to_out.0.weight", o + "attn.proj.weight");
        take(d + "attn1.to_out.0.bias", o + "attn.proj.bias");
        take(d + "ff.net.0.proj.weight", o + "mlp.fc1.weight");
        take(d + "ff.net.0.proj.bias", o + "mlp.fc1.bias");
        take(d + "ff.net.2.weight", o + "mlp.fc2.weight");
        take(d + "ff.net.2.bias", o + "mlp.fc2.bias");
    }
    take("proj_out_1.weight", "final_layer.adaLN_modulation.1.weight");
    take("proj_out_1.bias", "final_layer.adaLN_modulation.1.bias");
    take("proj_out_2.weight", "final_layer.linear.weight");
    take("proj_out_2.bias", "final_layer.linear.bias");
    return out;
}

void stripCommonPrefix(StateDict &sd)
{
    for (const char *prefix : {"module.", "model.", "transformer.", "_orig_mod."}) {
        const std::string p = prefix;
        bool all = !sd.tensors.empty();
        for (const auto &[k, v] : sd.tensors)
            if (k.rfind(p, 0) != 0) {
                all = false;
                break;
            }
        if (!all)
            continue;
        std::map<std::string, torch::Tensor> renamed;
        for (auto &[k, v] : sd.tensors)
            renamed[k.substr(p.size())] = v;
        sd.tensors.swap(renamed);
    }
}

} // namespace ditstudio
