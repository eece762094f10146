#!/usr/bin/env python3
"""What `gate --looks` (src/cmd/ab_sequential.rs) would give at the noise of
recorded A/Bs: resamples the per-round head/base ratios of every clean trial
in docs/evidence/gate-ab-*.json (rep-interleaved ones, one value per round),
centred on 1 per check so that the clean condition is exactly an A/A, and
replays the gate's rule over simulated A/Bs: ROUNDS rounds per batch, up to
LOOKS batches, each look's interval at 1 - (1 - 0.95) / LOOKS, stopping at the
first pass or regression (threshold 3%). The interval is the gate's, the
Hodges-Lehmann signed-rank one (`--interval signed-rank`, the default since
2026-12-07), or the order-statistic interval of the median that it used
before (`--interval median`). `--symmetric` draws each centred log ratio
with a random sign: a clean change's rounds are symmetric by construction
(head and base exchangeable), and centring a recording on its median leaves
its sample skew, which the signed-rank centre then sits off. The injected conditions multiply the resampled rounds by 1.05: every
decode check (shared) or one backend's decode and overhead checks (one
backend). Rounds are drawn independently, which the recorded lag-1
autocorrelation of rounds (small next to a rep's) allows, and each check
is drawn from its own trial's rounds.

With --normal SD[,SD...] the rounds are instead drawn from a normal
distribution of log ratios with that spread, for the seven gated checks of
`ci` (four decode, three overhead), the overhead checks as spread as the
decode ones (in recorded A/Bs they were ~1.3x more: this is the kinder case).

    scripts/gate_looks_sim.py docs/evidence/gate-ab-2*.json [--sims 400] [--seed 1]
        [--interval signed-rank|median] [--symmetric] [--looks 1,3] [--rule overhead-detects|decode+overhead|decode]
    scripts/gate_looks_sim.py --normal 0.04,0.06,0.08,0.10 [--sims 400]
"""
import json
import math
import random
import sys

from gate_ab_methods import DEFAULT_RULE, OVERHEAD, RULES, hl_interval, median_interval, verdict

THRESHOLD, CONFIDENCE, ROUNDS = 0.03, 0.95, 48
INTERVALS = {"signed-rank": hl_interval, "median": median_interval}


def clean_trials(paths, rule=DEFAULT_RULE):
    """Per file (machine, day), the clean trials' round ratios of the series
    `rule` gates, each check's log ratios centred on its median."""
    out = {}
    for p in paths:
        d = json.load(open(p))
        for t in d["trials"]:
            if t["condition"] != "clean":
                continue
            checks = {}
            for backend, series in t["pair_ratios"].items():
                for metric, ratios in series.items():
                    if metric in sum(RULES[rule], ()) and len(ratios) >= 40:
                        logs = sorted(math.log(r) for r in ratios)
                        mid = logs[len(logs) // 2]
                        checks[backend, metric] = [x - mid for x in logs]
            if checks:
                out.setdefault(p, []).append(checks)
    return out


def shifted(check, condition):
    backend, metric = check
    if condition == "shared":
        return metric == "decode_ns"
    if condition == "one-backend":
        return backend == "ffi-token"
    return False


def one_ab(checks, condition, looks, rng, interval=hl_interval, symmetric=False, rule=DEFAULT_RULE):
    per_look = 1 - (1 - CONFIDENCE) / looks
    data = {c: [] for c in checks}
    for look in range(1, looks + 1):
        for c, logs in checks.items():
            shift = math.log(1.05) if shifted(c, condition) else 0.0
            sign = (lambda: rng.choice((-1, 1))) if symmetric else (lambda: 1)
            data[c] += [math.exp(sign() * rng.choice(logs) + shift) for _ in range(ROUNDS)]
        v = verdict([(c[1], interval(v, per_look)) for c, v in data.items()], THRESHOLD, rule)
        if v != "inconclusive":
            return v, look
    return "inconclusive", looks


def normal_checks(sd, rng, rule, n=2000):
    """The checks of `ci` that `rule` gates (four decode, three overhead) with
    normal log ratios of spread `sd` (a pool of `n` draws each, which one_ab
    resamples)."""
    names = ["python-subprocess", "ffi-token", "ffi-batched", "native-cpp"]
    checks = [(b, "decode_ns") for b in names]
    if OVERHEAD in sum(RULES[rule], ()):
        checks += [(b, "overhead_vs_native.decode_ns") for b in names[:3]]
    return {c: [rng.gauss(0.0, sd) for _ in range(n)] for c in checks}


def main(argv):
    sims, seed, paths, normal = 400, 1, [], []
    interval, symmetric, looks_list, rule = "signed-rank", False, (1, 3), DEFAULT_RULE
    args = iter(argv[1:])
    for a in args:
        if a == "--sims":
            sims = int(next(args))
        elif a == "--seed":
            seed = int(next(args))
        elif a == "--interval":
            interval = next(args)
        elif a == "--symmetric":
            symmetric = True
        elif a == "--looks":
            looks_list = tuple(int(x) for x in next(args).split(","))
        elif a == "--rule":
            rule = next(args)
        elif a == "--normal":
            normal = [float(x) for x in next(args).split(",")]
        else:
            paths.append(a)
    if (not paths and not normal) or interval not in INTERVALS or rule not in RULES:
        sys.exit(__doc__)
    rng = random.Random(seed)
    sources = {p: trials for p, trials in clean_trials(paths, rule).items()}
    for sd in normal:
        sources[f"normal rounds, sd {sd:.0%}"] = [normal_checks(sd, rng, rule)]
    print(f"gated {rule}, interval {interval}{', symmetric draws' if symmetric else ''}, {sims} simulated A/Bs per row, seed {seed}")
    print()
    print("| rounds from (clean trials resampled) | looks | condition | pass | regression | inconclusive | mean batches |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for path, trials in sources.items():
        for looks in looks_list:
            for condition in ("clean", "shared", "one-backend"):
                res = [one_ab(rng.choice(trials), condition, looks, rng, INTERVALS[interval], symmetric, rule)
                       for _ in range(sims)]
                n = {v: sum(r[0] == v for r in res) for v in ("pass", "regression", "inconclusive")}
                mean = sum(r[1] for r in res) / sims
                print(f"| {path.rsplit('/', 1)[-1]} ({len(trials)}) | {looks} | {condition} | "
                      f"{n['pass'] / sims:.0%} | {n['regression'] / sims:.0%} | {n['inconclusive'] / sims:.0%} | {mean:.2f} |")


if __name__ == "__main__":
    main(sys.argv)
