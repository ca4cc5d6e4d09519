#!/usr/bin/env python3
"""Reference trajectories of the sigma-space samplers from k-diffusion, for the DiT parity suite.

Runs crowsonkb/k-diffusion's own sampling functions (sample_euler, sample_euler_ancestral,
sample_heun, sample_dpmpp_2m; with the default and the Karras sigmas) on a DiT fixture folder's
weights, the eps model wrapped the way k-diffusion wraps discrete eps models
(external.DiscreteEpsDDPMDenoiser over the 1000-step linear schedule, quantize=False), with
classifier-free guidance as the official DiT batches it. Noise draws are recorded. Writes
samplers.safetensors next to the fixture's cases.safetensors.

The DiT forward pass here is written from DIT_NOTES.md (the official architecture) and is checked
against the fixture's own reference outputs (cases.safetensors forward.out and cfg.out) before it is
used; k-diffusion is the independent reference for the samplers, never copied into this repository.

Usage (Debian's python3-torch; the k-diffusion sources from a checkout or snapshot):
  /usr/bin/python3 scripts/make-sampler-fixtures.py --kdiffusion /path/to/k-diffusion \
      --fixture tests/data/parity/dit-tiny [--steps 8]
"""
import argparse
import json
import math
import os
import struct
import sys
import tempfile
import types

import torch


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    dtypes = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64, "F16": torch.float16}
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        b, e = v["data_offsets"]
        t = torch.frombuffer(bytearray(data[b:e]), dtype=dtypes[v["dtype"]]) if e > b else torch.zeros(0)
        out[k] = t.reshape(v["shape"]).clone()
    return out


def save_safetensors(path, tensors, metadata):
    names = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64"}
    header, blobs, offset = {}, [], 0
    for k in sorted(tensors):
        t = tensors[k].contiguous()
        raw = t.numpy().tobytes()
        header[k] = {"dtype": names[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


class TinyDiT:
    """The official DiT forward pass (adaLN-Zero), from DIT_NOTES.md; weights by official key."""

    def __init__(self, w, cfg):
        self.w, self.cfg = w, cfg
        self.d = cfg["hidden_size"]
        self.p = cfg["patch_size"]
        self.heads = cfg["num_heads"]
        self.c_in = cfg["in_channels"]
        self.c_out = 2 * self.c_in if cfg.get("learn_sigma", True) else self.c_in
        self.depth = cfg["depth"]

    def lin(self, x, k):
        return torch.nn.functional.linear(x, self.w[k + ".weight"], self.w[k + ".bias"])

    def forward(self, x, t, y):
        w, d, p = self.w, self.d, self.p
        n, _, hgt, _ = x.shape
        h = torch.nn.functional.conv2d(x, w["x_embedder.proj.weight"], w["x_embedder.proj.bias"], stride=p)
        h = h.flatten(2).transpose(1, 2) + w["pos_embed"]
        half = 128
        freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / half)
        args = t.float()[:, None] * freqs[None]
        tf = torch.cat([torch.cos(args), torch.sin(args)], -1)
        te = self.lin(torch.nn.functional.silu(self.lin(tf, "t_embedder.mlp.0")), "t_embedder.mlp.2")
        c = te + w["y_embedder.embedding_table.weight"][y]
        ln = lambda z: torch.nn.functional.layer_norm(z, (d,), eps=1e-6)
        mod = lambda z, sh, sc: z * (1 + sc[:, None]) + sh[:, None]
        for b in range(self.depth):
            k = "blocks.%d." % b
            m = self.lin(torch.nn.functional.silu(c), k + "adaLN_modulation.1").chunk(6, 1)
            a_in = mod(ln(h), m[0], m[1])
            qkv = self.lin(a_in, k + "attn.qkv").reshape(n, -1, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
            q, kk, v = qkv[0], qkv[1], qkv[2]
            att = (q * (d // self.heads) ** -0.5) @ kk.transpose(-2, -1)
            o = (att.softmax(-1) @ v).transpose(1, 2).reshape(n, -1, d)
            h = h + m[2][:, None] * self.lin(o, k + "attn.proj")
            mlp = self.lin(torch.nn.functional.gelu(self.lin(mod(ln(h), m[3], m[4]), k + "mlp.fc1"), approximate="tanh"),
                           k + "mlp.fc2")
            h = h + m[5][:, None] * mlp
        sh, sc = self.lin(torch.nn.functional.silu(c), "final_layer.adaLN_modulation.1").chunk(2, 1)
        h = self.lin(mod(ln(h), sh, sc), "final_layer.linear")
        g = hgt // p
        h = h.reshape(n, g, g, p, p, self.c_out).permute(0, 5, 1, 3, 2, 4)
        return h.reshape(n, self.c_out, g * p, g * p)

    def forward_with_cfg(self, x, t, y, scale):
        # The official forward_with_cfg: [cond; uncond] on the same latents, eps channels 0..2 guided.
        half = x[: len(x) // 2]
        out = self.forward(torch.cat([half, half]), t, y)
        eps, rest = out[:, :3], out[:, 3:]
        ce, ue = eps.chunk(2)
        he = ue + scale * (ce - ue)
        return torch.cat([torch.cat([he, he]), rest], 1)


def rel_err(a, b):
    return ((a - b).abs().max() / b.abs().max()).item()


def import_kdiffusion(root):
    # k-diffusion's modules import packages the samplers used here do not need (torchsde,
    # torchdiffeq, safetensors, torchvision, PIL, ...); empty stand-ins let the import succeed.
    for name in ["torchsde", "torchdiffeq", "safetensors", "clip", "kornia", "accelerate", "jsonmerge",
                 "clean_fid", "wandb", "einops", "torchvision", "torchvision.transforms", "PIL", "PIL.Image",
                 "skimage", "scipy", "scipy.integrate", "scipy.linalg", "dctorch", "tqdm", "tqdm.auto"]:
        try:
            __import__(name)
        except Exception:
            mod = types.ModuleType(name)
            mod.__path__ = []
            sys.modules[name] = mod
    sys.modules["torchdiffeq"].odeint = None
    sys.modules["scipy.integrate"].quad = None
    sys.modules["scipy"].integrate = sys.modules["scipy.integrate"]
    tq = sys.modules.get("tqdm.auto")
    if not hasattr(tq, "trange"):
        tq.trange = lambda *a, **k: range(*a)
        tq.tqdm = lambda x=None, *a, **k: x
    if not hasattr(sys.modules["torchvision"], "transforms"):
        sys.modules["torchvision"].transforms = sys.modules["torchvision.transforms"]
    tf = sys.modules["torchvision.transforms"]
    if not hasattr(tf, "functional"):
        tf.functional = types.ModuleType("torchvision.transforms.functional")
        sys.modules["torchvision.transforms.functional"] = tf.functional
    sys.path.insert(0, root)
    import importlib
    pkg = types.ModuleType("k_diffusion")
    pkg.__path__ = [os.path.join(root, "k_diffusion")]
    sys.modules["k_diffusion"] = pkg
    utils = importlib.import_module("k_diffusion.utils")
    sampling = importlib.import_module("k_diffusion.sampling")
    external = importlib.import_module("k_diffusion.external")
    return sampling, external


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kdiffusion", required=True, help="root of a k-diffusion checkout (holds k_diffusion/)")
    ap.add_argument("--fixture", required=True, help="DiT fixture folder (weights.safetensors, cases.safetensors)")
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--seed", type=int, default=20261201)
    a = ap.parse_args()
    torch.set_grad_enabled(False)
    sampling, external = import_kdiffusion(a.kdiffusion)

    with open(os.path.join(a.fixture, "config.json")) as f:
        cfg = json.load(f)
    w = load_safetensors(os.path.join(a.fixture, "weights.safetensors"))
    cases = load_safetensors(os.path.join(a.fixture, "cases.safetensors"))
    model = TinyDiT(w, cfg)
    # The forward pass must be the official one before it is used as the samplers' model.
    e1 = rel_err(model.forward(cases["forward.x"], cases["forward.t"], cases["forward.y"]), cases["forward.out"])
    e2 = rel_err(model.forward_with_cfg(cases["cfg.x"], cases["cfg.t"], cases["cfg.y"], cases["cfg.scale"].item()),
                 cases["cfg.out"])
    assert e1 < 1e-5 and e2 < 1e-5, (e1, e2)
    print("forward vs official: %.2e, cfg: %.2e" % (e1, e2))

    z, y, scale = cases["sample.z"], cases["sample.y"], float(cases["sample.cfg_scale"].item())
    c = model.c_in
    betas = torch.linspace(1e-4, 0.02, 1000, dtype=torch.float64)
    alphas_cumprod = torch.cumprod(1 - betas, 0)

    class EpsModel(torch.nn.Module):  # what DiscreteEpsDDPMDenoiser wraps: (x, t) -> eps
        def forward(self, x, t):
            return model.forward_with_cfg(x.float(), t.float(), y, scale)[:, :c].to(x.dtype)

    denoiser = external.DiscreteEpsDDPMDenoiser(EpsModel(), alphas_cumprod, quantize=False)
    out = {"sample.z": z.float(), "sample.y": y.long(), "sample.cfg_scale": torch.tensor([scale], dtype=torch.float64)}
    runs = {"euler": sampling.sample_euler, "euler_a": sampling.sample_euler_ancestral, "heun": sampling.sample_heun,
            "dpmpp_2m": sampling.sample_dpmpp_2m}
    for karras in (False, True):
        if karras:
            sigmas = sampling.get_sigmas_karras(a.steps, denoiser.sigma_min.item(), denoiser.sigma_max.item())
        else:
            sigmas = denoiser.get_sigmas(a.steps)
        sigmas = sigmas.to(torch.float64)
        for name, fn in runs.items():
            key = name + ("_karras" if karras else "")
            gen = torch.Generator().manual_seed(a.seed)
            draws = []

            def noise_sampler(sigma, sigma_next):
                n = torch.randn(z.shape, generator=gen, dtype=torch.float32).to(torch.float64)
                draws.append(n.float())
                return n

            xs, denoised = [], []

            def callback(info):
                xs.append((info["x"] / (1 + info["sigma"] ** 2).sqrt()).float())  # VP state before step i
                denoised.append(info["denoised"].float())

            # k-diffusion starts from x = noise * sigma_max; the engine's VP start z maps to z * sqrt(1 + s0^2).
            x0 = z.to(torch.float64) * (1 + sigmas[0] ** 2).sqrt()
            kwargs = {"callback": callback, "disable": True}
            if name == "euler_a":
                kwargs["noise_sampler"] = noise_sampler
            final = fn(denoiser, x0, sigmas, **kwargs)
            out[key + ".x_before"] = torch.stack(xs)  # [steps, B, C, H, W] VP state before each step
            out[key + ".denoised"] = torch.stack(denoised)
            out[key + ".final"] = final.float()  # VE; sigma_last = 0 so VE == VP
            out[key + ".sigmas"] = sigmas.clone()
            if draws:
                out[key + ".noise"] = torch.stack(draws)
            print("%-16s %d steps, final |x| max %.3f, %d noise draws" % (key, a.steps, final.abs().max().item(),
                                                                         len(draws)))
    meta = {"generator": "scripts/make-sampler-fixtures.py", "k_diffusion": "crowsonkb/k-diffusion sampling.py",
            "steps": str(a.steps), "torch": torch.__version__}
    path = os.path.join(a.fixture, "samplers.safetensors")
    save_safetensors(path, out, meta)
    print("wrote", path)


if __name__ == "__main__":
    main()
