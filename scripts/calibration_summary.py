#!/usr/bin/env python3
"""A/A coverage, resolution and the floor property over recorded runs.

  python3 scripts/calibration_summary.py RUN_DIR...     (each holds results.json)

Intervals are recomputed from each run's raw token stamps (see median_ci). For runs
made with `bench --aa BACKEND`: how often the A/A interval (twin / original,
decode time, 95%) contains 0 (a true 95% interval does in ~19 of 20 runs), and the
median A/A half-width, the runs' resolution. For every run: each backend's decode-time
overhead vs native-cpp, and whether any backend came out faster than native-cpp
beyond its own interval (the floor property). Wall time per run from its timestamps.
"""
import json
import math
import os
import statistics
import sys
from datetime import datetime


def decode_ns(rep):
    c = rep["consumer_ns"]
    return c[-1] - c[0] if len(c) > 1 else None


def paired(backend, reference):
    ref = {r["index"]: decode_ns(r) for r in reference["reps"]}
    return [decode_ns(r) / ref[r["index"]] for r in backend["reps"]
            if decode_ns(r) and ref.get(r["index"])]


def median_ci(x, conf=0.95):
    """Distribution-free interval of the median: mirrors stats::order::median_ci in
    crossbench-core, so runs recorded before it (with bootstrap intervals in their
    results.json) are re-judged from their raw stamps by the current method."""
    x, n = sorted(x), len(x)
    k, tail = 1, math.comb(n, 0) / 2**n
    while k < (n + 1) // 2 and 2 * (tail + math.comb(n, k) / 2**n) <= 1 - conf:
        tail += math.comb(n, k) / 2**n
        k += 1
    return {"estimate": statistics.median(x), "low": x[k - 1], "high": x[n - k]}


def lag1_autocorrelation(x):
    """Of the log ratios in round order: ~0 for independent rounds; the
    order-statistic interval is too narrow when it is clearly positive."""
    if len(x) < 3:
        return None
    logs = [math.log(v) for v in x]
    m = statistics.mean(logs)
    var = sum((v - m) ** 2 for v in logs)
    return sum((logs[i] - m) * (logs[i + 1] - m) for i in range(len(logs) - 1)) / var if var else None


def pct(x):
    return f"{100 * (x - 1):+.1f}%"


def wall_s(r):
    fmt = "%Y-%m-%dT%H:%M:%S"
    try:
        a = datetime.strptime(r["started_at"][:19], fmt)
        b = datetime.strptime(r["finished_at"][:19], fmt)
        return (b - a).total_seconds()
    except (KeyError, TypeError, ValueError):
        return None


def summarize(run_dirs, out=sys.stdout):
    aa, widths, faster, seen, rows, acs = [], [], [], 0, [], []
    for d in run_dirs:
        path = os.path.join(d, "results.json")
        if not os.path.isfile(path):
            continue
        r = json.load(open(path))
        by_name = {b["name"]: b for b in r["backends"] if b["status"] == "ok"}
        native = by_name.get("native-cpp")
        if native is None:
            continue
        twin = (r.get("design") or {}).get("aa")
        ratios = paired(by_name[twin[1]], by_name[twin[0]]) if twin and twin[1] in by_name else None
        ci = median_ci(ratios) if ratios else None
        ac = lag1_autocorrelation(ratios) if ratios else None
        if ac is not None:
            acs.append(ac)
        cells, width = [], (ci["high"] - ci["low"]) / 2 if ci else 0.0
        if ci:
            aa.append(ci["low"] <= 1.0 <= ci["high"])
            widths.append((ci["high"] - ci["low"]) / 2)
            cells.append(f"A/A {pct(ci['estimate'])} [{pct(ci['low'])}, {pct(ci['high'])}]")
        for b in by_name.values():
            if b is native or b["name"].endswith("~aa"):
                continue
            o = median_ci(paired(b, native))
            width = max(width, (o["high"] - o["low"]) / 2)
            seen += 1
            if o["high"] < 1.0:
                faster.append(f"{r['run_id']} {b['name']}")
            cells.append(f"{b['name']} {pct(o['estimate'])} [{pct(o['low'])}, {pct(o['high'])}]")
        w = wall_s(r)
        rows.append(f"| {r['run_id']} | {'%.0f s' % w if w else '?'} | {100 * width:.1f}% | {' · '.join(cells)} |")
    print("| run | wall | resolution (widest mean half-width, (high-low)/2) | decode time vs native-cpp [95%] |", file=out)
    print("|---|---:|---:|---|", file=out)
    print("\n".join(rows), file=out)
    if aa:
        print(f"\nA/A: the interval contains 0 in {sum(aa)}/{len(aa)} runs; median A/A half-width "
              f"{100 * statistics.median(widths):.1f}% (range {100 * min(widths):.1f}-{100 * max(widths):.1f}%)", file=out)
    if acs:
        print(f"\nA/A ratios, lag-1 autocorrelation over rounds: median {statistics.median(acs):+.2f} "
              f"(range {min(acs):+.2f} to {max(acs):+.2f}; ~0 when rounds are independent)", file=out)
    if seen:
        print(f"\nFloor: a backend faster than native-cpp beyond its own interval in {len(faster)} of {seen} "
              f"backend-runs ({len(set(f.split()[0] for f in faster))} of {len(rows)} runs){': ' + ', '.join(faster) if faster else ''}", file=out)


if __name__ == "__main__":
    summarize(sys.argv[1:])
