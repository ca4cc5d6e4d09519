#!/usr/bin/env python3
"""The layering test: reads every #include "..." of backend/, app/ and ui/ and fails on an include
that points to a higher layer, and on the public headers including anything but public headers.

The layer order is written here, once (lowest first). A folder may include its own files, any
lower layer, and the public API (backend/include/ditstudio: plain types, torch-free, so it is the
vocabulary every layer speaks). See STYLE.md: app -> ui -> public API -> pipeline -> features ->
diffusion -> model -> io -> core -> common.

  check_layers.py ROOT            check the tree at ROOT (exit 1 and one line per bad include)
  check_layers.py ROOT --graph    print the folder include graph
"""
import os
import re
import sys

# Lowest first. Folders of the same rank may not include each other.
LAYERS = [
    ("backend/src/common",),     # torch-free: names, errors, logging, configs, prompt matching
    ("backend/src/core",),       # device + threads, tensor <-> image, runtime
    ("backend/src/io",),         # file formats: safetensors, safe pickle, key mapping, images
    ("backend/src/model",),      # DiT, VAE, their loaders, the loaded-model record
    ("backend/src/diffusion",),  # schedules, samplers, guidance, caching, previews, probes
    ("backend/src/editing",),    # features on model + diffusion ...
    ("backend/src/video",),      # ... video reading/writing/editing and films (uses editing)
    ("backend/src/training",),
    ("backend/src/pipeline",),   # the engine implementation behind the public API
    ("backend/module",),         # the loadable engine module
    ("ui",),
    ("app",),
]
PUBLIC = "backend/include/ditstudio"

# Known upward includes still to be removed, each with its reason. Keep this empty when you can.
ALLOWED = set()

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def rank_of(folder):
    for i, group in enumerate(LAYERS):
        for g in group:
            if folder == g or folder.startswith(g + "/"):
                return i, g
    return None, None


def resolve(root, here, inc):
    """The folder (layer key) an include names, or None for system/third-party headers."""
    if inc.startswith("ditstudio/"):
        return PUBLIC
    for base in (here, os.path.join(root, "backend/src"), os.path.join(root, "ui"),
                 os.path.join(root, "backend/module")):
        path = os.path.normpath(os.path.join(base, inc))
        if os.path.exists(path):
            return os.path.relpath(os.path.dirname(path), root)
    return None


def scan(root):
    edges = []
    for top in ("backend/src", "backend/include", "backend/module", "ui", "app"):
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for name in sorted(files):
                if not name.endswith((".h", ".cpp")):
                    continue
                path = os.path.join(dirpath, name)
                with open(path, encoding="utf-8", errors="replace") as f:
                    text = f.read()
                src = os.path.relpath(dirpath, root)
                for m in INCLUDE.finditer(text):
                    tgt = resolve(root, dirpath, m.group(1))
                    if tgt is not None and tgt != src:
                        edges.append((os.path.relpath(path, root), src, tgt, m.group(1)))
    return edges


def violations(edges):
    bad = []
    for path, src, tgt, inc in edges:
        if src.startswith(PUBLIC):
            if not tgt.startswith(PUBLIC):
                bad.append(f"{path}: public header includes \"{inc}\" ({tgt}); public headers include only ditstudio/*")
            continue
        if tgt.startswith(PUBLIC):
            continue
        rs, ks = rank_of(src)
        rt, kt = rank_of(tgt)
        if rs is None or rt is None:
            bad.append(f"{path}: \"{inc}\": {src} -> {tgt} is not in the layer list of tests/structure/check_layers.py")
            continue
        if (src, kt) in ALLOWED:
            continue
        if kt.startswith("backend/src") and not ks.startswith("backend/"):
            bad.append(f"{path}: \"{inc}\": {ks} reaches into the backend's internals ({kt}); use the public API")
            continue
        if rt > rs or (rt == rs and ks != kt):
            bad.append(f"{path}: \"{inc}\" goes up from {ks} (layer {rs}) to {kt} (layer {rt})")
    return bad


# The applications and the UI are built on the public API alone, so they never see LibTorch either
# (and compile in seconds).
TORCH_INCLUDE = re.compile(r'^\s*#\s*include\s*<(torch|ATen|c10)/', re.M)


def torch_in_frontends(root):
    bad = []
    for top in ("ui", "app"):
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for name in sorted(files):
                if name.endswith((".h", ".cpp")):
                    path = os.path.join(dirpath, name)
                    with open(path, encoding="utf-8", errors="replace") as f:
                        m = TORCH_INCLUDE.search(f.read())
                    if m:
                        bad.append(f"{os.path.relpath(path, root)}: includes <{m.group(1)}/...>; "
                                   "ui/ and app/ use the public API, never LibTorch")
    return bad


def self_test():
    """The check must fail on an upward include and pass without it (a check that cannot fail
    would prove nothing)."""
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        def write(rel, text):
            os.makedirs(os.path.join(tmp, os.path.dirname(rel)), exist_ok=True)
            with open(os.path.join(tmp, rel), "w") as f:
                f.write(text)
        write("backend/include/ditstudio/api.h", "#pragma once\n")
        write("backend/src/pipeline/engine.h", '#include "io/reader.h"\n')
        write("backend/src/io/reader.h", '#include "ditstudio/api.h"\n')
        write("ui/panel.cpp", '#include "ditstudio/api.h"\n')
        ok = violations(scan(tmp)) + torch_in_frontends(tmp)
        write("backend/src/io/reader.cpp", '#include "pipeline/engine.h"\n')  # io -> pipeline: up
        write("backend/include/ditstudio/leak.h", '#include "io/reader.h"\n')  # public -> internal
        write("ui/leak.cpp", '#include "io/reader.h"\n')                      # ui -> backend internals
        write("app/cli/tool.cpp", "#include <torch/torch.h>\n")              # app -> LibTorch
        bad = violations(scan(tmp)) + torch_in_frontends(tmp)
    if ok or len(bad) != 4:
        print("self-test failed: clean tree ->", ok, "; tree with 4 bad includes ->", bad)
        return 1
    for line in bad:
        print("self-test, caught as expected:", line)
    return 0


def main():
    if "--self-test" in sys.argv:
        return self_test()
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
    edges = scan(root)
    if "--graph" in sys.argv:
        graph = {}
        for _, src, tgt, _ in edges:
            graph.setdefault(src, set()).add(tgt)
        for src in sorted(graph):
            print(src, "->", ", ".join(sorted(graph[src])))
        return 0
    if not edges:
        print("no includes found under", root)
        return 1
    bad = violations(edges) + torch_in_frontends(root)
    for line in bad:
        print(line)
    print(f"{len(edges)} cross-folder includes checked, {len(bad)} upward")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
