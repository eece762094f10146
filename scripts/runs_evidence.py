#!/usr/bin/env python3
"""Summarises bench runs into a small evidence file (docs/evidence/): per run its id, start,
CPU, BLAS, injections, and per backend the decode CV, ITL p50 and the paired decode ratio to
native-cpp with its interval, so a figure quoted from those runs can be re-checked without the
raw stamps.

    scripts/runs_evidence.py OUT.json LABEL=RUN_DIR [LABEL=RUN_DIR ...] [--note TEXT]

RUN_DIR is a run directory (holding results.json) or a folder of them (every run in it, in
order); LABEL names the condition the runs were made under (e.g. blas-threads-1)."""

import json
import sys
from pathlib import Path


def runs_in(path):
    path = Path(path)
    if (path / "results.json").is_file():
        return [path]
    found = sorted(p for p in path.iterdir() if (p / "results.json").is_file())
    if not found:
        sys.exit(f"runs_evidence: no results.json in {path} nor in a folder under it")
    return found


def interval(entry):
    if not entry:
        return None
    return {k: round((entry[k] - 1) * 100, 2) for k in ("estimate", "low", "high")} | {
        "confidence": round(entry["confidence"], 3),
        "samples": entry["samples"],
    }


def itl_p50_ms(backend):
    summary = (backend.get("summaries") or {}).get("itl_ns") or {}
    p50 = summary.get("p50") or summary.get("median")
    return round(p50 / 1e6, 3) if p50 else None


def summarise(label, run_dir):
    r = json.loads((run_dir / "results.json").read_text())
    env = r.get("environment", {})
    backends = {}
    for b in r["backends"]:
        over = b.get("overhead_vs_native") or {}
        backends[b["name"]] = {
            "status": b.get("status"),
            "reps": len(b.get("reps") or []),
            "decode_cv_pct": round(b["decode_cv"] * 100, 2) if b.get("decode_cv") is not None else None,
            "itl_p50_ms": itl_p50_ms(b),
            "decode_vs_native_pct": interval(over.get("decode_ns")),
        }
    return {
        "label": label,
        "run_id": r["run_id"],
        "started_at": r.get("started_at"),
        "cpu": env.get("cpu"),
        "cores": env.get("cores"),
        "blas": env.get("blas"),
        "injected_slowdowns": r.get("injected_slowdowns") or {},
        "noisy": r.get("noisy"),
        "backends": backends,
    }


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    out, rest, note = Path(argv[1]), argv[2:], None
    if "--note" in rest:
        i = rest.index("--note")
        note, rest = rest[i + 1], rest[:i] + rest[i + 2:]
    runs = []
    for spec in rest:
        label, sep, path = spec.partition("=")
        if not sep:
            sys.exit(f"runs_evidence: `{spec}` is not LABEL=RUN_DIR")
        runs += [summarise(label, d) for d in runs_in(path)]
    runs.sort(key=lambda x: x["started_at"] or "")
    out.write_text(json.dumps({"note": note, "runs": runs}, indent=1) + "\n")
    print(f"wrote {out} ({len(runs)} runs)")


if __name__ == "__main__":
    main(sys.argv)
