#!/usr/bin/env python3
"""The format check: every .cpp/.h of backend/, app/, ui/ and tests/ is as .clang-format says.

  check_format.py CLANG_FORMAT ROOT          list the files that differ (exit 1 when any)
  check_format.py CLANG_FORMAT ROOT --fix    format them in place (scripts/format.sh)
"""
import os
import subprocess
import sys

FOLDERS = ("backend", "app", "ui", "tests")


def sources(root):
    for top in FOLDERS:
        for dirpath, dirnames, files in os.walk(os.path.join(root, top)):
            dirnames[:] = [d for d in dirnames if d not in ("data", "__pycache__")]
            for name in sorted(files):
                if name.endswith((".cpp", ".h")):
                    yield os.path.join(dirpath, name)


def main():
    clang_format, root = sys.argv[1], os.path.abspath(sys.argv[2])
    files = list(sources(root))
    if not files:
        print("no sources under", root)
        return 1
    if "--fix" in sys.argv:
        subprocess.run([clang_format, "-i", "--style=file"] + files, check=True, cwd=root)
        print(f"formatted {len(files)} files")
        return 0
    bad = []
    for path in files:
        with open(path, "rb") as f:
            original = f.read()
        formatted = subprocess.run([clang_format, "--style=file", "--assume-filename=" + path],
                                   input=original, capture_output=True, check=True, cwd=root).stdout
        if formatted != original:
            bad.append(os.path.relpath(path, root))
    for path in bad:
        print("not formatted:", path)
    print(f"{len(files)} files checked, {len(bad)} not formatted (fix: scripts/format.sh)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
