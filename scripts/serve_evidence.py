#!/usr/bin/env python3
"""Writes the small summary a README serving figure keeps in the repository:
per design and load point, each rep's output tok/s, TPOT p50 and TTFT p99,
the paired ratios vs the floor with their intervals, and the equal-work
verdicts, from a serve run's results.json (not the raw stamps).

usage: scripts/serve_evidence.py results/<run-id> [docs/evidence/serve-<run-id>.json]
"""
import json
import sys
from pathlib import Path

KEYS = ("output_tokens_per_s", "tpot_p50_ns", "ttft_p99_ns", "goodput_requests_per_s")


def rep_row(run):
    m = run.get("metrics") or {}
    row = {"rep": run["rep"], "status": run["status"]}
    row["output_tokens_per_s"] = m.get("output_tokens_per_s")
    row["tpot_p50_ns"] = (m.get("tpot_ns") or {}).get("p50")
    row["ttft_p99_ns"] = (m.get("ttft_ns") or {}).get("p99")
    row["goodput_requests_per_s"] = m.get("goodput_requests_per_s")
    return row


def summarize(results):
    serve = results["serve"]
    env = results.get("environment", {})
    out = {
        "run_id": results["run_id"],
        "scenario": results["scenario"]["name"],
        "cpu": env.get("cpu_model"),
        "blas": env.get("blas"),
        "mlx": env.get("mlx_version"),
        "floor": serve["floor"],
        "points": [],
    }
    for p in serve["points"]:
        point = {"label": p["label"], "schedule_check": p["schedule_check"],
                 "ids_check": p["ids_check"], "designs": []}
        for d in p["designs"]:
            point["designs"].append({
                "name": d["name"], "status": d["status"], "shim_engine": d["shim_engine"],
                "summary": {k: d["summary"].get(k) for k in KEYS},
                "vs_floor": d.get("vs_floor", {}),
                "reps": [rep_row(r) for r in d["runs"]],
            })
        out["points"].append(point)
    return out


def main():
    run = Path(sys.argv[1])
    results = json.loads((run / "results.json").read_text())
    if not results.get("serve"):
        sys.exit(f"{run}/results.json is not a serve run")
    dest = Path(sys.argv[2]) if len(sys.argv) > 2 else \
        Path("docs/evidence") / f"serve-{results['run_id']}.json"
    dest.write_text(json.dumps(summarize(results), indent=1, sort_keys=True) + "\n")
    print(dest)


if __name__ == "__main__":
    main()
