#!/usr/bin/env bash
# Measures what each preset costs per token on this machine with the native runner
# (the floor), and what the BLAS choice changes. Prints a Markdown table; the table in
# docs/measurements/presets.md comes from this script.
#   usage: scripts/preset-costs.sh [PRESET:DTYPE:BLAS ...]
# Defaults cover tiny/small/medium fp32, tiny/small q4, small with the bundled BLAS.
set -euo pipefail
cd "$(dirname "$0")/.."
cases=("$@")
if [ ${#cases[@]} -eq 0 ]; then
  cases=(tiny:float32:auto small:float32:auto small:float32:bundled medium:float32:auto
         tiny:q4:auto small:q4:auto)
fi
out=results/preset-costs
mkdir -p "$out"
echo "| preset | dtype | BLAS | params | decode ms/token p50 | prefill tok/s p50 | TTFT p50 ms | peak RSS MiB |"
echo "|---|---|---|---:|---:|---:|---:|---:|"
for c in "${cases[@]}"; do
  IFS=: read -r preset dtype blas <<<"$c"
  before=$(ls "$out" 2>/dev/null | wc -l)
  cargo run --release -q -- bench --scenario gen100 --backends native-cpp --preset "$preset" \
    --dtype "$dtype" --blas "$blas" --reps 3 --warmup 1 --no-progress --out "$out" >/dev/null
  run=$(ls -d "$out"/*/ | sort | tail -1)
  .venv/bin/python - "$run/results.json" "$preset" "$dtype" "$blas" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
b = r["backends"][0]
s = b["summaries"]
params = {"tiny": "19 M", "small": "176 M", "medium": "1.0 B", "mistral-7b": "7.2 B"}.get(sys.argv[2], "?")
print(f"| {sys.argv[2]} | {sys.argv[3]} | {sys.argv[4]} | {params} | {s['itl_ns']['p50']/1e6:.1f} | "
      f"{s['prefill_tokens_per_s']['p50']:.0f} | {s['ttft_ns']['p50']/1e6:.0f} | "
      f"{(b['memory']['peak_rss_bytes'] or 0)/2**20:.0f} |")
PY
done
