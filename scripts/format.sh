#!/usr/bin/env bash
# Apply .clang-format (clang-format 14, as the structure.format test checks) to every .cpp/.h.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 tests/structure/check_format.py "$(command -v clang-format-14)" . --fix
