#!/usr/bin/env bash
# Regenerates crates/crossbench-shim/src/bindings.rs from shims/include/crossbench_shim.h.
# Needs libclang (Debian: apt-get install libclang-dev). A normal build does not.
set -euo pipefail
cd "$(dirname "$0")/.."
CROSSBENCH_REGEN_BINDINGS=1 cargo build -p crossbench-shim --features buildtime_bindgen
echo "regenerated crates/crossbench-shim/src/bindings.rs"
