#!/usr/bin/env python3
"""Summarises the runs that probe where the A/B's per-round noise comes from
(docs/measurements/gate-experiment.md, "Where the noise comes from"), so
each figure there can be re-checked: per run, the sd of the log decode time
per backend and of the log ratio of neighbouring reps; for two `bench` runs
started together on different CPUs (a duet), the same for reps whose decode
windows overlapped; for a rep-interleaved A/A, the pooled 25th-percentile
token-time estimator (rejected) against the median of the rounds (kept), on
the whole run and on each half. Not the raw stamps.

usage: scripts/noise_structure_evidence.py OUT.json KIND:LABEL:DIR[,DIR] ...
  KIND resident  one `bench` run, resident workers or fresh (DIR holds its run dir)
  KIND duet      two runs started together, each under its own `taskset -c`
  KIND pooled    one `gate --against` --out directory of a rep-interleaved A/A
  KIND aa        one `bench --base-workers` run (an A/A of one binary, X beside X@base,
                 fresh or resident workers): per check the sd of a round's log
                 head/base ratio and the gate's interval (median of the rounds)
  KIND chunks    one `bench` run: within each rep, neighbouring chunks of k tokens
                 (the first gap left out) paired, as if two builds alternated every
                 k tokens: the sd (and MAD-based sd) of their log ratio per k; and
                 the spread of token gaps within a rep against between reps
"""
import glob
import json
import math
import random
import statistics as st
import sys
from pathlib import Path

# The gate's order-statistic interval of a median and its verdict rule, one
# definition for every script that re-judges A/Bs.
from gate_ab_methods import median_interval, verdict

THRESHOLD = 0.03  # the gate's default


def results(d):
    return json.loads(Path(glob.glob(str(Path(d) / "**" / "results.json"), recursive=True)[0]).read_text())


def span_ms(c):
    return (c[-1] - c[0]) / 1e6


def decode_ms(rep):
    return span_ms(rep["consumer_ns"])


def reps_in_time(r):
    return sorted((rep["request_sent_ns"], b["name"], rep) for b in r["backends"] for rep in b["reps"]
                  if len(rep["consumer_ns"]) > 2)


def pct_sd(xs):
    return round(100 * st.stdev(xs), 1) if len(xs) > 2 else None


def resident(dirs):
    r = results(dirs[0])
    ev = reps_in_time(r)
    per = {n: pct_sd([math.log(decode_ms(x)) for _, m, x in ev if m == n]) for n in {e[1] for e in ev}}
    lags = {}
    for lag in (1, 2, 4, 8):
        d = [math.log(decode_ms(ev[i + lag][2]) / decode_ms(ev[i][2]))
             for i in range(len(ev) - lag) if ev[i][1] == ev[i + lag][1]]
        lags[str(lag)] = {"pairs": len(d), "sd_log_ratio_pct": pct_sd(d),
                          "seconds_apart": round((ev[lag][0] - ev[0][0]) / 1e9, 2)}
    return {"run_id": r["run_id"], "sd_log_decode_pct": per, "same_backend_lag": lags}


def duet(dirs):
    a, b = (reps_in_time(results(d)) for d in dirs)
    win = lambda rep: (rep["consumer_ns"][0], rep["consumer_ns"][-1])
    ratios = []
    for _, _, ra in a:
        a0, a1 = win(ra)
        rb = max((x for _, _, x in b), key=lambda x: min(a1, win(x)[1]) - max(a0, win(x)[0]))
        if min(a1, win(rb)[1]) - max(a0, win(rb)[0]) > 0.8 * (a1 - a0):
            ratios.append(math.log(decode_ms(ra) / decode_ms(rb)))
    side = lambda ev: pct_sd([math.log(decode_ms(x)) for _, _, x in ev])
    return {"overlapping_pairs": len(ratios), "sd_log_ratio_pct": pct_sd(ratios),
            "sd_log_decode_pct": [side(a), side(b)]}


def gaps(c):
    return [(y - x) / 1e6 for x, y in zip(c, c[1:])]


def mad_sd(xs):
    m = st.median(xs)
    return round(100 * 1.4826 * st.median(abs(x - m) for x in xs), 1)


def chunks(dirs):
    reps = [rep for _, _, rep in reps_in_time(results(dirs[0]))]
    steady = [gaps(rep["consumer_ns"])[1:] for rep in reps]
    out = {"reps": len(reps)}
    for k in (2, 4, 8, 15):
        d = []
        for g in steady:
            sums = [sum(g[i:i + k]) for i in range(0, len(g) - k + 1, k)]
            d += [math.log(sums[i + 1] / sums[i]) for i in range(0, len(sums) - 1, 2)]
        out[f"k{k}"] = {"pairs": len(d), "sd_log_ratio_pct": pct_sd(d), "mad_sd_pct": mad_sd(d)}
    out["within_rep_sd_log_gap_pct_median"] = round(st.median(100 * st.stdev(map(math.log, g)) for g in steady), 1)
    out["between_rep_sd_log_median_gap_pct"] = pct_sd([math.log(st.median(g)) for g in steady])
    return out


def quantile(xs, p):
    xs = sorted(xs)
    return xs[int(p * (len(xs) - 1))]


def pooled_ratio(by, ks, name, over):
    pool = lambda n: [g for k in ks for g in gaps(by[n][k])]
    q = lambda n: quantile(pool(n), 0.25)
    r = q(name) / q(name + "@base")
    return r / (q("native-cpp") / q("native-cpp@base")) if over else r


def pooled_ci(by, ks, name, over, resamples=1000):
    """The pooled ratio with its percentile interval over resampled rounds."""
    rng = random.Random(7)
    bs = sorted(pooled_ratio(by, [rng.choice(ks) for _ in ks], name, over) for _ in range(resamples))
    return pooled_ratio(by, ks, name, over), bs[25], bs[974]


def rounds_ci(by, ks, name, over):
    """The gate's check: the median of the rounds' head / base ratios."""
    r = lambda n, k: span_ms(by[n][k]) / span_ms(by[n + "@base"][k])
    return median_interval([r(name, k) / (r("native-cpp", k) if over else 1) for k in ks], 0.95)


def pct(interval):
    return [round(100 * (x - 1), 2) for x in interval]


def pooled(dirs):
    r = results(Path(dirs[0]) / "interleaved")
    by = {b["name"]: {rep["index"]: rep["consumer_ns"] for rep in b["reps"]} for b in r["backends"]}
    ks = sorted(set.intersection(*[set(v) for v in by.values()]))
    names = [n for n in by if not n.endswith("@base")]
    out = {"run_id": r["run_id"], "rounds": len(ks)}
    for seg, kk in (("all", ks), ("first half", ks[:len(ks) // 2]), ("second half", ks[len(ks) // 2:])):
        seg_out = {}
        for method, f in (("median of rounds", rounds_ci), ("pooled p25 of gaps", pooled_ci)):
            cis = {f"{n} {'overhead' if o else 'decode'}": f(by, kk, n, o)
                   for n in names for o in (False, True) if not (o and n == "native-cpp")}
            seg_out[method] = {"verdict": verdict(list(cis.values()), THRESHOLD),
                               "intervals_pct": {k: pct(v) for k, v in cis.items()}}
        out[seg] = seg_out
    return out


def aa(dirs):
    r = results(dirs[0])
    by = {b["name"]: {rep["index"]: rep["consumer_ns"] for rep in b["reps"]} for b in r["backends"]}
    ks = sorted(set.intersection(*[set(v) for v in by.values()]))
    ratio = lambda n, k: span_ms(by[n][k]) / span_ms(by[n + "@base"][k])
    checks = {}
    for n in (n for n in by if not n.endswith("@base")):
        for over in (False, True):
            if over and n == "native-cpp":
                continue
            logs = [math.log(ratio(n, k) / (ratio("native-cpp", k) if over else 1)) for k in ks]
            checks[f"{n} {'overhead' if over else 'decode'}"] = {
                "sd_log_round_pct": pct_sd(logs), "interval_pct": pct(rounds_ci(by, ks, n, over))}
    return {"run_id": r["run_id"], "residency": r["design"]["residency"], "rounds": len(ks), "checks": checks}


def main():
    out, specs = Path(sys.argv[1]), sys.argv[2:]
    summary = []
    for spec in specs:
        kind, label, dirs = spec.split(":", 2)
        env = results(dirs.split(",")[0])["environment"]
        summary.append({"kind": kind, "label": label, "dirs": dirs.split(","),
                        "cpu": {k: env["cpu"].get(k) for k in ("vendor", "family", "model")},
                        "blas": env.get("blas"),
                        **{"resident": resident, "duet": duet, "pooled": pooled, "chunks": chunks, "aa": aa}[kind](dirs.split(","))})
        print(kind, label, "done")
    what = " ".join(__doc__.strip().split("\n\n")[0].split())
    out.write_text(json.dumps({"what": what, "runs": summary}, indent=1) + "\n")


if __name__ == "__main__":
    main()
