#!/usr/bin/env bash
# Per-rep decode noise of the ci scenario with one OpenBLAS thread per worker
# (ci's own setting, [run] blas_threads = 1) against one per core (OpenBLAS's
# default), in alternating runs, summarised into docs/evidence/.
#
#   ROUNDS=2 REPS=24 scripts/blas_threads_noise.sh
#
# Run it alone: on 2 cores anything else running is part of the noise.
# Needs the release build.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-2}
REPS=${REPS:-24}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
OUT=results/blas-threads/$stamp
mkdir -p "$OUT/one" "$OUT/per-core"
for i in $(seq 1 "$ROUNDS"); do
  echo "round $i/$ROUNDS: one BLAS thread, then one per core ($(nproc))"
  target/release/crossbench bench --scenario ci --reps "$REPS" --blas-threads 1 \
    --no-progress --out "$OUT/one" >/dev/null
  target/release/crossbench bench --scenario ci --reps "$REPS" --blas-threads "$(nproc)" \
    --no-progress --out "$OUT/per-core" >/dev/null
done
scripts/runs_evidence.py "docs/evidence/blas-threads-ci-$stamp.json" \
  blas-threads-1="$OUT/one" "blas-threads-$(nproc)=$OUT/per-core" \
  --note "ROUNDS=$ROUNDS REPS=$REPS scripts/blas_threads_noise.sh, $(git rev-parse --short HEAD)"
