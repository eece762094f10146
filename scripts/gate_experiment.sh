#!/usr/bin/env bash
# Measures the regression gate's false-alarm and detection rates on this machine.
#
#   scripts/gate_experiment.sh                 # 20 trials per condition, scenario ci
#   TRIALS=30 SCENARIO=ci scripts/gate_experiment.sh
#   ANALYZE_ONLY=results/gate-experiment/<stamp> scripts/gate_experiment.sh
#   CV_LIMITS="10 15 20" REPS_LIMITS="8 12" ANALYZE_ONLY=... scripts/gate_experiment.sh
#   CLEAN_ARGS="--aa native-cpp" GATE_ARGS="--same-machine no" scripts/gate_experiment.sh
#     (the CI setting: absolute times informational; A/A coverage from the clean runs)
#   BASELINE_RUN=<run dir> INJECT=0 TRIALS=40 POOL_WITH=<earlier out> ... scripts/gate_experiment.sh
#     (more clean trials against an earlier experiment's baseline, their rates pooled
#      with it; later: scripts/gate_experiment_rates.py <out1> <out2>)
#
# One clean baseline run, then TRIALS rounds of: a clean run (false alarms)
# and an injected run with +10% on one FFI backend and +5% on the other
# (alternating which gets which), interleaved so machine drift hits both
# conditions alike. Every run is then gated against the baseline for several
# rep counts (--reps-limit keeps the first N reps), thresholds and CV limits
# (--cv-limit, the noise above which a check is inconclusive), and the
# rates are printed and written to <out>/rates.md. Needs the release build.
set -euo pipefail
cd "$(dirname "$0")/.."
TRIALS=${TRIALS:-20}
SCENARIO=${SCENARIO:-ci}
REPS_LIMITS=${REPS_LIMITS:-"12 24 36"}
THRESHOLDS=${THRESHOLDS:-"3"}
CV_LIMITS=${CV_LIMITS:-"20"}
# Extra bench arguments for every run, e.g. BENCH_ARGS="--reps 36" for a longer curve.
read -r -a BENCH_ARGS <<<"${BENCH_ARGS:-}"
# Extra bench arguments for the clean runs only, e.g. CLEAN_ARGS="--aa native-cpp"
# to measure each clean run's A/A interval (its resolution) as well.
read -r -a CLEAN_ARGS <<<"${CLEAN_ARGS:-}"
# Extra bench arguments for the baseline run only, e.g. BASELINE_ARGS="--reps 120":
# a baseline recorded once can afford 3x the reps, and its noise is half of
# every comparison's (docs/methodology.md, "Regression gate").
read -r -a BASELINE_ARGS <<<"${BASELINE_ARGS:-}"
# Extra gate arguments, e.g. GATE_ARGS="--same-machine yes" to re-judge runs
# recorded before results carried a boot id (all of one experiment share a boot).
read -r -a GATE_ARGS <<<"${GATE_ARGS:-}"
# BASELINE_RUN: judge against an already recorded run instead of recording one.
BASELINE_RUN=${BASELINE_RUN:-}
# INJECT=0: clean runs only (false alarms and A/A), no injected runs.
INJECT=${INJECT:-1}

if [ -n "${ANALYZE_ONLY:-}" ]; then
  OUT=$ANALYZE_ONLY
else
  OUT=results/gate-experiment/$(date -u +%Y%m%dT%H%M%SZ)
  mkdir -p "$OUT/runs"
  # A private copy: a concurrent `cargo build` replacing target/release/crossbench
  # would break the ffi workers, which re-exec the binary, in the middle of a run.
  cp "${CROSSBENCH:-target/release/crossbench}" "$OUT/crossbench"
  : >"$OUT/trials.tsv"
  run() { # run LABEL [bench args...]: one bench run, recorded in trials.tsv
    local label=$1; shift
    local load; load=$(cut -d' ' -f1 /proc/loadavg)
    local err; err=$(mktemp)
    "$OUT/crossbench" bench --scenario "$SCENARIO" --no-progress --out "$OUT/runs" \
      ${BENCH_ARGS[@]+"${BENCH_ARGS[@]}"} "$@" >/dev/null 2>"$err" || true
    local dir; dir=$(sed -n 's/^results: //p' "$err" | tail -1)
    cat "$err" >>"$OUT/bench.log"; rm -f "$err"
    printf '%s\t%s\t%s\t%s\n' "$label" "$dir" "$load" "$*" | tee -a "$OUT/trials.tsv"
  }
  start=$(date +%s)
  if [ -n "$BASELINE_RUN" ]; then
    [ -f "$BASELINE_RUN/results.json" ] || { echo "BASELINE_RUN=$BASELINE_RUN: no results.json there" >&2; exit 2; }
    printf 'baseline\t%s\t-\treused\n' "$BASELINE_RUN" | tee -a "$OUT/trials.tsv"
  else
    run baseline ${BASELINE_ARGS[@]+"${BASELINE_ARGS[@]}"}
  fi
  for i in $(seq 1 "$TRIALS"); do
    run clean ${CLEAN_ARGS[@]+"${CLEAN_ARGS[@]}"}
    if [ "$INJECT" = 0 ]; then
      continue
    elif [ $((i % 2)) -eq 1 ]; then
      run inject --inject-slowdown ffi-token=10 --inject-slowdown ffi-batched=5
    else
      run inject --inject-slowdown ffi-token=5 --inject-slowdown ffi-batched=10
    fi
  done
  echo "bench runs took $(( $(date +%s) - start )) s" | tee "$OUT/duration.txt"
fi

# GATE_BIN: judge the recorded runs with another build of the gate (no re-measuring).
BIN=${GATE_BIN:-$OUT/crossbench}
[ -x "$BIN" ] || BIN=target/release/crossbench
base=$(awk -F'\t' '$1=="baseline"{print $2}' "$OUT/trials.tsv")
mkdir -p "$OUT/gate"
for c in $CV_LIMITS; do
  for n in $REPS_LIMITS; do
    for t in $THRESHOLDS; do
      while IFS=$'\t' read -r label dir _ _; do
        [ "$label" = baseline ] && continue
        [ -n "$dir" ] || continue
        "$BIN" gate --baseline "$base" --current "$dir" --threshold "$t" --reps-limit "$n" \
          --cv-limit "$c" --json "$OUT/gate/$(basename "$dir")-n$n-t$t-c$c.json" \
          ${GATE_ARGS[@]+"${GATE_ARGS[@]}"} --quiet >/dev/null 2>&1 || true
      done <"$OUT/trials.tsv"
    done
  done
done
python3 scripts/gate_experiment_rates.py "$OUT" ${POOL_WITH:-} | tee "$OUT/rates.md"
