#!/usr/bin/env python3
"""Re-judges recorded same-job A/Bs (docs/evidence/gate-ab-*.json, from gate_ab_evidence.py)
with two interval methods over the same per-pair head/base ratios, at several thresholds:

  median  the gate's: distribution-free order-statistic interval of the median pair ratio
  hl      Hodges-Lehmann estimate with the exact Wilcoxon signed-rank interval (the median
          of the Walsh averages of the log ratios): ~95% of the t-interval's efficiency
          under normal noise, distribution-free for symmetric noise

    scripts/gate_ab_methods.py docs/evidence/gate-ab-*.json [--thresholds 3,5] [--confidence 0.95]

A verdict per A/B follows the gate's rule over its gated checks: regression when any interval
lies wholly above 1 + threshold, pass when every one lies below it, else inconclusive. Also
prints the injected slowdown's realised size: every pair of every injected A/B pooled, native-cpp's
decode ratio for the shared injection, the slowed backend's ratio to native-cpp for the
one-backend one (`injected`)."""

import json
import math
import sys
from functools import lru_cache
from itertools import combinations_with_replacement


@lru_cache(maxsize=None)
def signed_rank_cdf(n):
    """counts[k] = number of sign patterns with rank sum k (exact, by dynamic programming)."""
    counts = [1] + [0] * (n * (n + 1) // 2)
    for r in range(1, n + 1):
        for k in range(len(counts) - 1, r - 1, -1):
            counts[k] += counts[k - r]
    return counts


def order_index(n, confidence):
    """The largest k with P(Binomial(n, 1/2) < k) <= (1 - confidence) / 2 (0-based lower index)."""
    alpha, acc, k = (1 - confidence) / 2, 0.0, 0
    while k < n:
        p = math.comb(n, k) / 2**n
        if acc + p > alpha:
            break
        acc += p
        k += 1
    return k


@lru_cache(maxsize=None)
def signed_rank_index(n, confidence):
    """The number of Walsh averages left out on each side of the signed-rank interval: the
    largest k with P(T < k) <= (1 - confidence) / 2 under the null (cached: the sampling
    scripts ask for the same few n thousands of times)."""
    counts, total = signed_rank_cdf(n), 2**n
    alpha, acc, k = (1 - confidence) / 2, 0, 0
    while acc + counts[k] <= alpha * total:
        acc += counts[k]
        k += 1
    return k


def median_interval(ratios, confidence):
    xs = sorted(ratios)
    n, k = len(xs), order_index(len(ratios), confidence)
    if k == 0:
        return None
    mid = (xs[(n - 1) // 2] + xs[n // 2]) / 2
    return mid, xs[k - 1], xs[n - k]


def hl_interval(ratios, confidence):
    logs = [math.log(r) for r in ratios]
    walsh = sorted((a + b) / 2 for a, b in combinations_with_replacement(logs, 2))
    k = signed_rank_index(len(logs), confidence)
    if k == 0:
        return None
    m = len(walsh)
    est = (walsh[(m - 1) // 2] + walsh[m // 2]) / 2
    return math.exp(est), math.exp(walsh[k - 1]), math.exp(walsh[m - k])


DECODE, OVERHEAD = "decode_ns", "overhead_vs_native.decode_ns"
# What each rule gates: (the series that must lie below the threshold for a pass, the series
# that fail the A/B when wholly above it). "overhead-detects" is the gate's since 2026-12-08
# (crates/crossbench-core/src/gate/ab.rs, detector_only): every backend's decode time head / base
# must pass, and each backend's ratio to native-cpp can fail it but does not hold a pass;
# "decode+overhead" the gate's before (both must pass); "decode" the decode checks alone.
RULES = {
    "overhead-detects": ((DECODE,), (DECODE, OVERHEAD)),
    "decode+overhead": ((DECODE, OVERHEAD), (DECODE, OVERHEAD)),
    "decode": ((DECODE,), (DECODE,)),
}
DEFAULT_RULE = "overhead-detects"


def verdict(checks, threshold, rule=DEFAULT_RULE):
    """The A/B's verdict over (metric, interval) checks: regression when any detecting check lies
    wholly above 1 + threshold, pass when every required one lies below it, else inconclusive."""
    required, detecting = RULES[rule]
    if any(i is not None and i[1] > 1 + threshold for m, i in checks if m in detecting):
        return "regression"
    need = [i for m, i in checks if m in required]
    if all(i is not None and i[2] < 1 + threshold for i in need):
        return "pass"
    return "inconclusive"


def gated_series(trial, rule=DEFAULT_RULE):
    required, detecting = RULES[rule]
    for backend, series in trial["pair_ratios"].items():
        for metric, ratios in series.items():
            if metric in required + detecting and ratios:
                yield backend, metric, ratios


def injected(trial):
    """The backends slowed in a one-backend A/B: recorded by gate_ab_evidence.py
    since 2026-12-07; before, gate_ab_experiment.sh's rule (it has alternated
    since it was written): ffi-token in odd trials, ffi-batched in even."""
    if "injected" in trial:
        return trial["injected"]
    return ["ffi-token" if trial["trial"] % 2 else "ffi-batched"]


def realised(d, confidence):
    pools = {"shared": [], "one-backend": []}
    for t in d["trials"]:
        if t["condition"] == "shared":
            pools["shared"] += t["pair_ratios"].get("native-cpp", {}).get("decode_ns", [])
        elif t["condition"] == "one-backend":
            for slowed in injected(t):
                pools["one-backend"] += t["pair_ratios"].get(slowed, {}).get("overhead_vs_native.decode_ns", [])
    for cond, ratios in pools.items():
        i = hl_interval(ratios, confidence) if len(ratios) > 1 else None
        if i:
            print(f"realised {cond}: {(i[0] - 1) * 100:+.1f}% [{(i[1] - 1) * 100:+.1f}%, {(i[2] - 1) * 100:+.1f}%] "
                  f"(Hodges-Lehmann over {len(ratios)} pairs)")


def pairs_needed(d):
    """The clean A/Bs' spread of log pair ratios per gated check (median over checks), and the
    pairs a Hodges-Lehmann interval would need for a 95% half-width of 1.5% (so that both a
    clean pass and a +5% detection at a 3% threshold become likely): (1.96 sd / 1.5%)^2 / 0.955."""
    sds = []
    for t in d["trials"]:
        if t["condition"] != "clean":
            continue
        for _, _, r in gated_series(t):
            logs = [math.log(x) for x in r]
            mean = sum(logs) / len(logs)
            sds.append(math.sqrt(sum((x - mean) ** 2 for x in logs) / (len(logs) - 1)))
    if sds:
        sds.sort()
        sd = sds[len(sds) // 2]
        need = math.ceil((1.96 * sd / 0.015) ** 2 / 0.955)
        print(f"clean pair spread: sd of log pair ratio {sd * 100:.1f}% (median of {len(sds)} checks; "
              f"{sds[0] * 100:.1f}-{sds[-1] * 100:.1f}%): ~{need} pairs for a +-1.5% interval")


def main(argv):
    files, thresholds, confidence = [], [0.03, 0.05], 0.95
    args = iter(argv[1:])
    for a in args:
        if a == "--thresholds":
            thresholds = [float(t) / 100 for t in next(args).split(",")]
        elif a == "--confidence":
            confidence = float(next(args))
        else:
            files.append(a)
    if not files:
        sys.exit(__doc__)
    for f in files:
        d = json.load(open(f))
        print(f"## {f}: {d['environment'].get('cpu')}")
        realised(d, confidence)
        pairs_needed(d)
        for method, fn in (("median", median_interval), ("hl", hl_interval)):
            widths = []
            for t in d["trials"]:
                for _, _, r in gated_series(t):
                    i = fn(r, confidence)
                    if i:
                        widths.append((i[2] - i[1]) / 2 * 100)
            widths.sort()
            print(f"{method}: median half-width {widths[len(widths) // 2]:.2f}% over {len(widths)} intervals")
            for th in thresholds:
                tally = {}
                for t in d["trials"]:
                    v = verdict([(m, fn(r, confidence)) for _, m, r in gated_series(t)], th)
                    key = (t["condition"], v)
                    tally[key] = tally.get(key, 0) + 1
                conds = sorted({c for c, _ in tally})
                row = "; ".join(
                    f"{c}: " + " / ".join(str(tally.get((c, v), 0)) for v in ("pass", "regression", "inconclusive"))
                    for c in conds)
                print(f"  threshold {th * 100:g}% (pass / regression / inconclusive): {row}")


if __name__ == "__main__":
    main(sys.argv)
