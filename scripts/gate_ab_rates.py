#!/usr/bin/env python3
"""The A/B gate's rates so far, pooled over the evidence files of every
scripts/gate_ab_experiment.sh run (written by scripts/gate_ab_evidence.py):
per machine (CPU vendor, family, model) and setting (pinned to one CPU or
not; one look or up to LOOKS, `gate --looks`), per condition, how many A/Bs passed (exit 0), found a regression
(exit 3), were inconclusive (exit 4) or failed (exit 1), against the issue's
criteria (clean: >= 90% pass, <= 5% false alarms; injected: >= 90% exit 3);
then the realised injection per backend (median head/base decode ratio over
those A/Bs), since a detection rate means little if the injection realised
more than it claimed.

usage: scripts/gate_ab_rates.py docs/evidence/gate-ab-2*.json
"""
import json
import statistics as st
import sys
from collections import defaultdict
from pathlib import Path

# One reading of which backend an A/B slowed, for every script.
from gate_ab_methods import injected


def group_of(summary):
    env = summary["environment"] or {}
    cpu = env.get("cpu") or {}
    pinned = env.get("cores") == 1  # --pin-cpu leaves the runs one CPU
    # Experiments before `gate --looks` judged one batch once.
    looks = (summary.get("settings") or {}).get("LOOKS", "1")
    setting = ("pinned" if pinned else "2 CPUs") + ("" if looks == "1" else f", up to {looks} looks")
    # Experiments before the signed-rank interval (2026-12-07) recorded none.
    interval = (summary.get("settings") or {}).get("INTERVAL", "median")
    setting += f", {interval} interval"
    # Before 2026-12-08 a backend's ratio to native-cpp had to pass as well
    # (gate_ab_methods.RULES); experiments since record the rule.
    rule = (summary.get("settings") or {}).get("RULE", "decode+overhead")
    setting += f", {rule}"
    return (f"{cpu.get('vendor')} {cpu.get('family')}/{cpu.get('model')}", setting)


def main(paths):
    outcomes = defaultdict(lambda: defaultdict(list))
    realised = defaultdict(lambda: defaultdict(list))
    for p in paths:
        summary = json.loads(Path(p).read_text())
        g = group_of(summary)
        for t in summary["trials"]:
            outcomes[g][t["condition"]].append(t["exit"])
            if t["condition"] == "clean":
                continue
            hit = injected(t)
            for backend, checks in t.get("checks", {}).items():
                if "decode_ns" in checks:
                    role = "injected" if t["condition"] == "shared" or backend in hit else "not injected"
                    realised[g, t["condition"]][backend, role].append(checks["decode_ns"]["estimate"])
    print("| machine | setting | condition | A/Bs | pass (0) | regression (3) | inconclusive (4) | error (1) |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for (machine, setting), conds in sorted(outcomes.items()):
        for cond in ("clean", "shared", "one-backend"):
            ex = conds.get(cond, [])
            cells = " | ".join(str(ex.count(code)) for code in (0, 3, 4, 1))
            print(f"| {machine} | {setting} | {cond} | {len(ex)} | {cells} |")
    print()
    print("| machine | setting | condition | backend | A/Bs | realised decode change, median (range) |")
    print("|---|---|---|---|---:|---|")
    for ((machine, setting), cond), backends in sorted(realised.items()):
        for (backend, role), rs in sorted(backends.items()):
            pct = [100 * (r - 1) for r in rs]
            print(f"| {machine} | {setting} | {cond} | {backend} ({role}) | {len(rs)} | "
                  f"{st.median(pct):+.1f}% ({min(pct):+.1f} to {max(pct):+.1f}) |")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
