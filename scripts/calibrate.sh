#!/usr/bin/env bash
# A/A calibration: RUNS runs of a scenario, each with an A/A twin of one backend,
# back to back; then A/A coverage, resolution and the floor property over them.
#
#   scripts/calibrate.sh                               # 10 runs of gen100, twin of native-cpp
#   RUNS=20 SCENARIO=ci AA=native-cpp BENCH_ARGS="--reps 12" scripts/calibrate.sh
#   ANALYZE_ONLY=results/calibration/<stamp> scripts/calibrate.sh
#
# Run it alone: on 2 cores anything else running turns the measurement into noise.
# Writes <out>/runs/<run-id>/ and <out>/summary.md. Needs the release build.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-10}
SCENARIO=${SCENARIO:-gen100}
AA=${AA:-native-cpp}
read -r -a BENCH_ARGS <<<"${BENCH_ARGS:-}"
if [ -n "${ANALYZE_ONLY:-}" ]; then
  OUT=$ANALYZE_ONLY
else
  OUT=results/calibration/$(date -u +%Y%m%dT%H%M%SZ)
  mkdir -p "$OUT/runs"
  # A private copy, so a concurrent build cannot replace the binary mid-run.
  cp "${CROSSBENCH:-target/release/crossbench}" "$OUT/crossbench"
  for i in $(seq 1 "$RUNS"); do
    echo "calibration run $i/$RUNS ($(date -u +%H:%M:%S), load $(cut -d' ' -f1 /proc/loadavg))"
    "$OUT/crossbench" bench --scenario "$SCENARIO" --aa "$AA" --no-progress --out "$OUT/runs" \
      ${BENCH_ARGS[@]+"${BENCH_ARGS[@]}"} >/dev/null 2>>"$OUT/bench.log" || echo "  run $i exited non-zero (see bench.log)"
  done
fi
python3 scripts/calibration_summary.py "$OUT"/runs/*/ | tee "$OUT/summary.md"
