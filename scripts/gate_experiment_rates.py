#!/usr/bin/env python3
"""Rates of scripts/gate_experiment.sh: reads <out>/trials.tsv and <out>/gate/*.json.

Several <out> folders are pooled (trials of one design judged with the same gate settings,
e.g. more clean trials recorded later against the same baseline).

A false alarm is a clean run the gate fails (exit 3: any REGRESSION check). A detection is an
injected trial whose slowed backend gets a REGRESSION timing check. "overhead only" counts the
drift-robust checks (ratio to native-cpp in the same run), the ones gated on any machine;
"all" adds the absolute-time checks, gated only when baseline and run share a machine.
"""
import json
import os
import re
import sys
from collections import defaultdict

from calibration_summary import summarize


def main(outs):
    trials, reports = [], defaultdict(dict)  # (cv limit, n, t) -> run id -> report
    for out in outs:
        trials += [line.rstrip("\n").split("\t") for line in open(os.path.join(out, "trials.tsv"))]
        read_reports(out, reports)
    loads = defaultdict(list)
    for label, _, load, _ in trials:
        if load != "-":  # a reused baseline was not measured by this experiment
            loads[label].append(float(load))
    print(f"# Gate experiment: {', '.join(outs)}\n")
    for label, values in sorted(loads.items()):
        print(f"- {label}: {len(values)} runs, 1-min load average at start: mean {sum(values)/len(values):.2f}, max {max(values):.2f}")
    print("\n| CV limit | reps | threshold | false alarms (all) | false alarms (overhead only) | inconclusive clean | detect 10% (all / overhead) | detect 5% (all / overhead) | inconclusive injected |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for (c, n, t) in sorted(reports):
        row = rates(trials, reports[(c, n, t)])
        print(f"| {c:g}% | {n} | {t:g}% | {row['fa']} | {row['fa_ovh']} | {row['inc_clean']} | {row['d10']} / {row['d10_ovh']} | {row['d5']} / {row['d5_ovh']} | {row['inc_inj']} |")
    print("\nFalse-alarm upper bounds are one-sided 95% Clopper-Pearson bounds on the true rate.")
    clean_runs(trials)


def read_reports(out, reports):
    for name in os.listdir(os.path.join(out, "gate")):
        # Files without -c<limit> come from before CV_LIMITS: the default 10%.
        m = re.match(r"(.+)-n(\d+)-t([\d.]+)(?:-c([\d.]+))?\.json$", name)
        if m:
            with open(os.path.join(out, "gate", name)) as f:
                reports[(float(m[4] or 10), int(m[2]), float(m[3]))][m[1]] = json.load(f)


def upper_bound(k, n, conf=0.95):
    """One-sided Clopper-Pearson upper bound on a rate seen k times in n trials."""
    if n == 0:
        return 1.0
    if k >= n:
        return 1.0
    lo, hi = k / n, 1.0
    for _ in range(60):  # bisection on P(X <= k | p) = 1 - conf
        mid = (lo + hi) / 2
        cdf = sum(binom(n, i) * mid**i * (1 - mid) ** (n - i) for i in range(k + 1))
        lo, hi = (mid, hi) if cdf > 1 - conf else (lo, mid)
    return hi


def binom(n, k):
    out = 1
    for i in range(k):
        out = out * (n - i) // (i + 1)
    return out


def clean_runs(trials):
    """A/A coverage and resolution, and the floor property, from the clean runs' results.json."""
    print("\n## Clean runs\n")
    summarize([d for label, d, _, _ in trials if label == "clean" and d])


def frac(k, n):
    return f"{k}/{n} ({100 * k / n:.0f}%, upper {100 * upper_bound(k, n):.0f}%)" if n else "–"


def regressed(report, backend=None, overhead_only=False):
    for c in report["checks"]:
        if c["verdict"] != "regression" or (backend and c["backend"] != backend):
            continue
        if overhead_only and not c["metric"].startswith("overhead_vs_native"):
            continue
        if backend and not (c["metric"].startswith("overhead") or c["metric"].startswith("absolute")):
            continue
        return True
    return False


def inconclusive(report):
    return any(c["verdict"] == "inconclusive" for c in report["checks"])


def rates(trials, reports):
    counts = defaultdict(int)
    for label, run_dir, _, args in trials:
        report = reports.get(os.path.basename(run_dir))
        if label == "baseline" or report is None:
            continue
        if label == "clean":
            counts["clean"] += 1
            counts["fa"] += regressed(report)
            counts["fa_ovh"] += regressed(report, overhead_only=True)
            counts["inc_clean"] += inconclusive(report) and not regressed(report)
            continue
        for backend, pct in re.findall(r"--inject-slowdown (\S+)=(\S+)", args):
            key = "d10" if float(pct) == 10 else "d5"
            counts[key + "_n"] += 1
            counts[key] += regressed(report, backend)
            counts[key + "_ovh"] += regressed(report, backend, overhead_only=True)
            counts["inc_inj"] += any(c["verdict"] == "inconclusive" and c["backend"] == backend for c in report["checks"])
            counts["inj_n"] += 1
    return {
        "fa": frac(counts["fa"], counts["clean"]),
        "fa_ovh": frac(counts["fa_ovh"], counts["clean"]),
        "inc_clean": frac(counts["inc_clean"], counts["clean"]),
        "d10": frac(counts["d10"], counts["d10_n"]),
        "d10_ovh": frac(counts["d10_ovh"], counts["d10_n"]),
        "d5": frac(counts["d5"], counts["d5_n"]),
        "d5_ovh": frac(counts["d5_ovh"], counts["d5_n"]),
        "inc_inj": frac(counts["inc_inj"], counts["inj_n"]),
    }


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: gate_experiment_rates.py <experiment dir> [more dirs to pool]")
    main(sys.argv[1:])
