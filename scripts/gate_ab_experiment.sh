#!/usr/bin/env bash
# Measures the same-job A/B gate's (`gate --against`) false-alarm and
# detection rates on this machine, in CI's setting.
#
#   scripts/gate_ab_experiment.sh                     # 20 trials per condition
#   TRIALS=5 ROUNDS=48 BASE=HEAD scripts/gate_ab_experiment.sh
#   LOOKS=1 scripts/gate_ab_experiment.sh       # one batch of ROUNDS, judged once (gate --looks)
#   INTERLEAVE=run PAIRS=12 scripts/gate_ab_experiment.sh   # whole runs alternated
#   PIN=none scripts/gate_ab_experiment.sh        # workers on any CPU (gate --pin-cpu)
#
# TRIALS rounds of three A/Bs of SCENARIO (default ci) against BASE (default HEAD,
# built once in target/ab/ and reused; with a clean tree the head is the
# same code, so a clean A/B is an A/A): a clean one (false alarms: any exit
# 3), one with +PCT% in every backend of the head (--inject-shared-slowdown,
# native-cpp included) and one with +PCT% in one FFI backend of the head
# (alternating ffi-token and ffi-batched), interleaved so the machine's drift
# hits every condition alike. Each A/B's report goes to <out>/<n>-<condition>.json;
# the exit codes per condition to <out>/rates.md. Needs the release build.
set -euo pipefail
cd "$(dirname "$0")/.."
TRIALS=${TRIALS:-20}
INTERLEAVE=${INTERLEAVE:-rep}
ROUNDS=${ROUNDS:-48}
LOOKS=${LOOKS:-5}
PAIRS=${PAIRS:-12}
PCT=${PCT:-5}
SCENARIO=${SCENARIO:-ci}
PIN=${PIN:-auto}
BASE=${BASE:-HEAD}
OUT=results/gate-ab-experiment/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT"
# A private copy: a concurrent `cargo build` replacing target/release/crossbench
# would stop the head's runs in the middle of the experiment.
cp "${CROSSBENCH:-target/release/crossbench}" "$OUT/crossbench"
: >"$OUT/trials.tsv"
ab() { # ab N CONDITION [gate args...]
  local n=$1 cond=$2; shift 2
  local code=0
  "$OUT/crossbench" gate --against "$BASE" --scenario "$SCENARIO" --interleave "$INTERLEAVE" \
    --rounds "$ROUNDS" --looks "$LOOKS" --pairs "$PAIRS" --pin-cpu "$PIN" \
    --out "$OUT/runs/$n-$cond" --json "$OUT/$n-$cond.json" --quiet "$@" >/dev/null 2>>"$OUT/gate.log" || code=$?
  printf '%s\t%s\t%s\t%s\n' "$n" "$cond" "$code" "$(cut -d' ' -f1 /proc/loadavg)" | tee -a "$OUT/trials.tsv"
}
start=$(date +%s)
for i in $(seq 1 "$TRIALS"); do
  ab "$i" clean
  ab "$i" shared --inject-shared-slowdown "$PCT"
  if [ $((i % 2)) -eq 1 ]; then one=ffi-token; else one=ffi-batched; fi
  ab "$i" one-backend --inject-slowdown "$one=$PCT"
done
echo "A/Bs took $(( $(date +%s) - start )) s" | tee "$OUT/duration.txt"
{
  echo "| condition | trials | exit 0 pass | exit 3 regression | exit 4 inconclusive | exit 1 error |"
  echo "|---|---:|---:|---:|---:|---:|"
  for cond in clean shared one-backend; do
    awk -F'\t' -v c="$cond" '$2==c{n++; k[$3]++} END{printf "| %s | %d | %d | %d | %d | %d |\n", c, n, k[0], k[3], k[4], k[1]}' "$OUT/trials.tsv"
  done
  echo
  # Which interval and rule judged, as the head's own report names them (gate.txt).
  interval=median rule=decode+overhead
  grep -qs 'signed-rank interval' "$OUT"/runs/*/gate.txt && interval=signed-rank
  grep -qs 'does not hold a pass' "$OUT"/runs/*/gate.txt && rule=overhead-detects
  echo "SCENARIO=$SCENARIO PIN=$PIN PCT=$PCT INTERLEAVE=$INTERLEAVE ROUNDS=$ROUNDS LOOKS=$LOOKS PAIRS=$PAIRS BASE=$BASE HEAD=$(git rev-parse --short HEAD) INTERVAL=$interval RULE=$rule; clean: exit 3 is a false alarm; shared and one-backend: exit 3 is a detection."
} | tee "$OUT/rates.md"
