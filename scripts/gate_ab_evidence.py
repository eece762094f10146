#!/usr/bin/env python3
"""Writes the small summary that the README's A/B gate figures keep in the
repository, from one scripts/gate_ab_experiment.sh directory: per trial and
condition the gate's exit code, the load average, the looks it ran, and for
every backend the head/base ratio of decode time (the shared component) and
of the overhead vs native-cpp (the backend alone) with their intervals and
verdicts; then the machine's own timing noise: the spread of each rep's
decode time around its backend's median and how it persists in time
(autocorrelation by lag), the reason a head/base ratio of decode time is
wide on a VM. Not the raw stamps.

usage: scripts/gate_ab_evidence.py results/gate-ab-experiment/<stamp> [docs/evidence/gate-ab-<stamp>.json]
"""
import glob
import json
import math
import re
import statistics as st
import sys
from pathlib import Path

GATED = ("decode_ns", "overhead_vs_native.decode_ns")
LAGS = (1, 2, 4, 8, 16, 32)


def trials(exp):
    rows = []
    for line in (exp / "trials.tsv").read_text().splitlines():
        n, cond, code, load = line.split("\t")
        rows.append({"trial": int(n), "condition": cond, "exit": int(code), "load1": float(load)})
    return rows


def checks(report):
    out = {}
    for c in report["checks"]:
        if c["metric"] not in GATED or not c.get("ratio"):
            continue
        r = c["ratio"]
        out.setdefault(c["backend"], {})[c["metric"]] = {
            "verdict": c["verdict"], "estimate": round(r["estimate"], 4),
            "low": round(r["low"], 4), "high": round(r["high"], 4), "pairs": r["samples"],
        }
    return out


def rep_series(run_root):
    """(time, backend, decode_ns) of every rep of every run of one A/B, in time order."""
    pts = []
    for f in glob.glob(str(run_root / "*" / "*" / "results.json")):
        for b in json.loads(Path(f).read_text())["backends"]:
            for r in b.get("reps") or []:
                if r.get("decode_ns"):
                    pts.append((r["request_sent_ns"], b["name"], r["decode_ns"]))
    return sorted(pts)


def noise(pts):
    """Spread of log(decode / backend median) per rep, and its autocorrelation by lag."""
    if len(pts) < 2 * max(LAGS):
        return None
    med = {n: st.median(p[2] for p in pts if p[1] == n) for n in {p[1] for p in pts}}
    x = [math.log(d / med[n]) for _, n, d in pts]
    m, v = st.mean(x), st.pvariance(x)
    auto = {}
    for lag in LAGS:
        c = sum((x[i] - m) * (x[i + lag] - m) for i in range(len(x) - lag)) / (len(x) - lag) / v
        dt = st.mean((pts[i + lag][0] - pts[i][0]) / 1e9 for i in range(len(x) - lag))
        auto[str(lag)] = {"seconds": round(dt, 2), "autocorrelation": round(c, 3)}
    return {"reps": len(x), "sd_log": round(math.sqrt(v), 4), "by_lag": auto}


def run_decodes(run_dir):
    """{backend: [decode_ns per rep]} of one bench run directory."""
    files = glob.glob(str(run_dir / "*" / "results.json"))
    if not files:
        return {}
    return {b["name"]: [r.get("decode_ns") or 0 for r in b.get("reps") or []]
            for b in json.loads(Path(files[0]).read_text())["backends"]}


def round_ratios(run_dir):
    """Rep-interleaved A/B (one run, `X` beside `X@base`): per backend one
    head/base value per round, as crates/crossbench-core/src/gate/ab_rounds.rs
    forms them: decode time, and decode time over its own side's native-cpp."""
    d, out = run_decodes(run_dir), {}
    for name, h in d.items():
        b = d.get(name + "@base")
        if name.endswith("@base") or not b:
            continue
        out.setdefault(name, {})["decode_ns"] = [round(x / y, 4) for x, y in zip(h, b) if x and y]
        hn, bn = d.get("native-cpp"), d.get("native-cpp@base")
        if name != "native-cpp" and hn and bn:
            out[name]["overhead_vs_native.decode_ns"] = [
                round((x / n) / (y / m), 4) for x, n, y, m in zip(h, hn, b, bn) if x and n and y and m]
    return out


def pair_ratios(run_root):
    """Per backend, one head/base value per pair of runs, as the gate forms
    them (crates/crossbench-core/src/gate/ab.rs, pair_units): the median of
    the rep ratios, of decode time and of decode time over the native-cpp
    rep of the same round. Rep-interleaved: one value per round, every
    batch of a sequential A/B (`gate --looks`: interleaved, interleaved-2, ...)
    in order."""
    batches = batch_dirs(run_root)
    if batches:
        out = {}
        for batch in batches:
            for backend, series in round_ratios(batch).items():
                for metric, ratios in series.items():
                    out.setdefault(backend, {}).setdefault(metric, []).extend(ratios)
        return out
    out = {}
    k = 1
    while (run_root / f"{k:02}-base").is_dir() and (run_root / f"{k:02}-head").is_dir():
        base, head = run_decodes(run_root / f"{k:02}-base"), run_decodes(run_root / f"{k:02}-head")
        for name in head:
            h, b = head[name], base.get(name, [])
            reps = [(x / y) for x, y in zip(h, b) if x and y]
            if reps:
                out.setdefault(name, {}).setdefault("decode_ns", []).append(round(st.median(reps), 4))
            if name != "native-cpp" and "native-cpp" in head:
                hn, bn = head["native-cpp"], base.get("native-cpp", [])
                ov = [(x / n) / (y / m) for x, n, y, m in zip(h, hn, b, bn) if x and n and y and m]
                if ov:
                    out[name].setdefault("overhead_vs_native.decode_ns", []).append(round(st.median(ov), 4))
        k += 1
    return out


def batch_dirs(run_root):
    """A rep-interleaved A/B's batch directories in order (interleaved,
    interleaved-2, ...: one per look of `gate --looks`); [] for an A/B that
    alternated whole runs."""
    dirs, name = [], "interleaved"
    while (run_root / name).is_dir():
        dirs.append(run_root / name)
        name = f"interleaved-{len(dirs) + 1}"
    return dirs


def environment(exp):
    for f in sorted(glob.glob(str(exp / "runs" / "*" / "*" / "*" / "results.json"))):
        env = json.loads(Path(f).read_text())["environment"]
        return {k: env.get(k) for k in ("cpu_model", "cpu", "cores", "blas", "mlx_version", "kernel")}
    return None


def injected(report):
    """The backends the head's runs were slowed in, from the gate's note
    ("head runs have INJECTED slowdowns (ffi-token +5%): ..."); [] if none."""
    for note in report.get("notes", []):
        m = re.search(r"INJECTED slowdowns \(([^)]*)\)", note)
        if m:
            return [w.split(" +")[0] for w in m.group(1).split(", ")]
    return []


def settings(exp):
    """The experiment's settings, from the line gate_ab_experiment.sh ends
    rates.md with (SCENARIO=ci PIN=auto ...); None where it has none."""
    rates = exp / "rates.md"
    for line in rates.read_text().splitlines() if rates.is_file() else []:
        if line.startswith("SCENARIO="):
            return dict(w.split("=", 1) for w in line.split(";")[0].split())
    return None


def main():
    exp = Path(sys.argv[1])
    summary = {"experiment": exp.name, "environment": environment(exp), "settings": settings(exp), "trials": []}
    for t in trials(exp):
        name = f"{t['trial']}-{t['condition']}"
        report = exp / f"{name}.json"
        if report.is_file():
            gate = json.loads(report.read_text())
            t["checks"], t["injected"] = checks(gate), injected(gate)
        t["looks"] = len(batch_dirs(exp / "runs" / name)) or None
        t["pair_ratios"] = pair_ratios(exp / "runs" / name)
        t["machine_noise"] = noise(rep_series(exp / "runs" / name))
        summary["trials"].append(t)
    text = json.dumps(summary, indent=1) + "\n"
    if len(sys.argv) > 2:
        Path(sys.argv[2]).write_text(text)
    print_table(summary)
    print()
    print_thresholds(summary)


def print_table(summary):
    """One row per A/B: its exit, the gated interval reaching highest (the one
    that decides between pass and not), how many of them were not a pass,
    and the machine's rep-to-rep noise during it."""
    print("| trial | condition | exit | looks | load | highest gated interval, head/base | not pass | rep sd, lag-1 autocorr |")
    print("|---:|---|---:|---:|---:|---|---:|---|")
    for t in summary["trials"]:
        gated = [(b, m, r) for b, ms in t.get("checks", {}).items() for m, r in ms.items()]
        top = "–"
        if gated:
            b, m, r = max(gated, key=lambda g: g[2]["high"])
            what = "decode" if m == "decode_ns" else "overhead"
            top = f"{b} {what} {100 * (r['estimate'] - 1):+.1f}% [{100 * (r['low'] - 1):+.1f}, {100 * (r['high'] - 1):+.1f}]"
        bad = sum(1 for _, _, r in gated if r["verdict"] != "pass")
        nz = t.get("machine_noise")
        noise_cell = f"{100 * nz['sd_log']:.1f}%, {nz['by_lag']['1']['autocorrelation']:+.2f}" if nz else "–"
        looks = t.get("looks") or "–"
        print(f"| {t['trial']} | {t['condition']} | {t['exit']} | {looks} | {t['load1']} | {top} | {bad}/{len(gated)} | {noise_cell} |")


THRESHOLDS = (0.03, 0.05, 0.08, 0.10, 0.15)


def rejudge(checks, threshold):
    """The A/B's timing verdict had the threshold been another: the intervals
    do not depend on it (the gate's rule, gate/ab.rs paired_verdict)."""
    rs = [r for ms in checks.values() for r in ms.values()]
    if any(r["low"] > 1 + threshold for r in rs):
        return "regression"
    if any(r["high"] > 1 + threshold for r in rs):
        return "inconclusive"
    return "pass"


def print_thresholds(summary):
    """Outcomes per condition at other thresholds, from the same intervals."""
    conds = sorted({t["condition"] for t in summary["trials"] if t.get("checks")})
    print("| threshold | " + " | ".join(f"{c}: pass / regression / inconclusive" for c in conds) + " |")
    print("|---:|" + "---|" * len(conds))
    for th in THRESHOLDS:
        cells = []
        for c in conds:
            vs = [rejudge(t["checks"], th) for t in summary["trials"] if t["condition"] == c and t.get("checks")]
            cells.append(f"{vs.count('pass')} / {vs.count('regression')} / {vs.count('inconclusive')} of {len(vs)}")
        print(f"| {100 * th:.0f}% | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
