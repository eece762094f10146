#!/usr/bin/env python3
"""Summarises A/A runs of `gate --against HEAD --base-bin <this binary>` made
with --interleave rep and --interleave run on one machine, so the two ways
of sharing the machine can be compared on their interval half-widths: per A/B
its mode, every gated interval (from gate.txt) and its half-width, and the
machine's rep noise (sd of the log decode time per backend); for a rep-
interleaved run also the sd of the per-round log ratio head/base and the
correlation of a round's head and base reps (what interleaving can cancel).
Not the raw stamps.

usage: scripts/interleave_evidence.py OUT.json AB_DIR [AB_DIR ...]
"""
import glob
import json
import math
import re
import statistics as st
import sys
from pathlib import Path

CHECK = re.compile(
    r"^\s+(\w+)\s+(decode_ns|overhead_vs_native\.decode_ns)\s+([+-][\d.]+)% \[([+-][\d.]+)%, ([+-][\d.]+)%\]\s+(\d+) (rounds|pairs of runs)"
)


def decode_ms(rep):
    c = rep["consumer_ns"]
    return (c[-1] - c[0]) / 1e6 if len(c) > 1 else None


def intervals(ab):
    out, backend = [], None
    for line in (ab / "gate.txt").read_text().splitlines():
        if line.endswith(":") and not line.startswith(" "):
            backend = line[:-1]
        m = CHECK.match(line)
        if m:
            v, metric, est, lo, hi, n, unit = m.groups()
            out.append({"backend": backend, "metric": metric, "verdict": v,
                        "estimate_pct": float(est), "low_pct": float(lo), "high_pct": float(hi),
                        "half_width_pct": round((float(hi) - float(lo)) / 2, 2), "samples": int(n), "unit": unit})
    return out


def runs(ab):
    return [json.loads(Path(f).read_text()) for f in sorted(glob.glob(str(ab / "*" / "*" / "results.json")))]


def noise(results):
    logs = {}
    for r in results:
        for b in r["backends"]:
            logs.setdefault(b["name"], []).extend(
                math.log(d) for d in map(decode_ms, b["reps"]) if d)
    return {k: {"reps": len(v), "sd_log_decode_pct": round(100 * st.stdev(v), 1),
                "median_decode_ms": round(math.exp(st.median(v)), 1)} for k, v in logs.items() if len(v) > 2}


def round_pairs(results):
    out = {}
    for r in results:
        by = {b["name"]: {rep["index"]: decode_ms(rep) for rep in b["reps"]} for b in r["backends"]}
        for name, reps in by.items():
            base = by.get(name + "@base")
            if not base:
                continue
            ks = [k for k in reps if k in base and reps[k] and base[k]]
            h = [math.log(reps[k]) for k in ks]
            b = [math.log(base[k]) for k in ks]
            out[name] = {"rounds": len(ks),
                         "sd_log_ratio_pct": round(100 * st.stdev([x - y for x, y in zip(h, b)]), 1),
                         "head_base_correlation": round(st.correlation(h, b), 2)}
    return out


def mode(ab, results):
    """run (whole runs alternated), or rep with the interleaved run's order
    ("williams": all workers in one balanced order; "williams, head/base
    pairs back to back")."""
    if not (ab / "interleaved").is_dir():
        return "run"
    return "rep, order " + results[0]["design"]["order"]


def main():
    out, dirs = Path(sys.argv[1]), [Path(d) for d in sys.argv[2:]]
    summary = []
    for ab in dirs:
        results = runs(ab)
        env = results[0]["environment"]
        checks = intervals(ab)
        summary.append({
            "dir": str(ab), "mode": mode(ab, results),
            "started": results[0]["started_at"], "finished": results[-1]["finished_at"],
            "cpu": {k: env["cpu"].get(k) for k in ("vendor", "family", "model")},
            # The CPUs the run could use: 1 core / one affinity CPU when pinned.
            "cores": env.get("cores"), "cpu_affinity": env.get("cpu_affinity"),
            "blas": env.get("blas"), "checks": checks,
            "median_half_width_pct": st.median(c["half_width_pct"] for c in checks),
            "rep_noise": noise(results), "rounds": round_pairs(results),
        })
    out.write_text(json.dumps({"what": " ".join(__doc__.strip().split("\n\n")[0].split()), "abs": summary}, indent=1) + "\n")
    for s in summary:
        print(s["started"], s["mode"], "median half-width", s["median_half_width_pct"], "%")


if __name__ == "__main__":
    main()
