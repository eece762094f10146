#!/usr/bin/env python3
"""Replays the gate's sequential rule (`gate --looks`, src/cmd/ab_sequential.rs)
over the recorded rounds of every A/B in docs/evidence/gate-ab-*.json that ran
with more than one look, with either interval of gate_ab_methods.py:

  median       the order-statistic interval of the median round ratio (the
               A/B's interval until 2026-12-07)
  signed-rank  the Hodges-Lehmann estimate with its Wilcoxon signed-rank
               interval (the A/B's interval since, crates/crossbench-core/src/stats/signed_rank.rs)

Look L judges the first L x ROUNDS rounds of every gated check by a rule of
gate_ab_methods.RULES (`--rule overhead-detects`, the gate's since 2026-12-07:
every backend's decode time must pass, each backend's ratio to native-cpp can
only fail; `decode+overhead`, the gate's before: both must pass; `decode`)
at 1 - (1 - 0.95) / LOOKS,
threshold 3%, and stops at the first pass or regression. The replay is exact
only as far as rounds were recorded: the live A/B stopped when its own
interval decided, so where the replayed interval has not decided by then the
A/B is counted "unrecorded" (it would have run another batch).

    scripts/gate_ab_replay.py docs/evidence/gate-ab-2*.json [--rule overhead-detects|decode+overhead|decode]
"""
import argparse
import json
import sys
from collections import Counter

from gate_ab_methods import DEFAULT_RULE, RULES, gated_series, hl_interval, median_interval, verdict

THRESHOLD, CONFIDENCE = 0.03, 0.95
INTERVALS = {"median": median_interval, "signed-rank": hl_interval}


def replay(trial, rounds, looks, interval, rule):
    """(verdict, look) by the sequential rule over the trial's recorded rounds."""
    series = [(m, r) for _, m, r in gated_series(trial, rule)]
    recorded = min(len(r) for _, r in series)
    per_look = 1 - (1 - CONFIDENCE) / looks
    for look in range(1, looks + 1):
        n = rounds * look
        if n > recorded:
            return "unrecorded", look
        v = verdict([(m, interval(r[:n], per_look)) for m, r in series], THRESHOLD, rule)
        if v != "inconclusive":
            return v, look
    return "inconclusive", looks


EXIT_VERDICT = {0: "pass", 3: "regression", 4: "inconclusive"}


def check_live(d, rounds, looks, rule):
    """Where the evidence ran under `rule` and records each A/B's looks:
    (agreeing, [disagreeing trial names]) of the replay, by the live
    interval, against the live verdict and look. A check of the replay
    itself; None where the evidence cannot say."""
    settings = d.get("settings") or {}
    if settings.get("RULE", "decode+overhead") != rule:
        return None
    interval = INTERVALS[settings.get("INTERVAL", "median")]
    agree, differ = 0, []
    for t in d["trials"]:
        if t.get("looks") is None or t["exit"] not in EXIT_VERDICT:
            continue
        if replay(t, rounds, looks, interval, rule) == (EXIT_VERDICT[t["exit"]], t["looks"]):
            agree += 1
        else:
            differ.append(f"{t['trial']}-{t['condition']}")
    return (agree, differ) if agree or differ else None


def main(argv):
    parser = argparse.ArgumentParser(description="Replays the A/B gate's sequential rule over recorded rounds.")
    parser.add_argument("evidence", nargs="+", help="docs/evidence/gate-ab-*.json")
    parser.add_argument("--rule", choices=sorted(RULES), default=DEFAULT_RULE, help="what the A/B requires (gate_ab_methods.RULES)")
    args = parser.parse_args(argv)
    rule, paths = args.rule, args.evidence
    print(f"gated: {rule}")
    print()
    print("| evidence | interval | condition | A/Bs | pass | regression | inconclusive | unrecorded | looks used (1/2/3...) |")
    print("|---|---|---|---:|---:|---:|---:|---:|---|")
    totals, checked = Counter(), []
    for path in paths:
        d = json.load(open(path))
        settings = d.get("settings") or {}
        looks = int(settings.get("LOOKS", "1"))
        if looks < 2 or settings.get("INTERLEAVE") != "rep":
            continue
        rounds = int(settings["ROUNDS"])
        live = check_live(d, rounds, looks, rule)
        if live:
            checked.append(f"{path.rsplit('/', 1)[-1]}: {live[0]} agree" + (f", differ: {', '.join(live[1])}" if live[1] else ""))
        for name, interval in INTERVALS.items():
            for cond in ("clean", "shared", "one-backend"):
                res = [replay(t, rounds, looks, interval, rule) for t in d["trials"] if t["condition"] == cond]
                n = Counter(v for v, _ in res)
                used = Counter(look for v, look in res if v in ("pass", "regression"))
                totals.update({(name, cond, v): c for v, c in n.items()})
                totals[(name, cond, "all")] += len(res)
                print(f"| {path.rsplit('/', 1)[-1]} | {name} | {cond} | {len(res)} | {n['pass']} | {n['regression']} | "
                      f"{n['inconclusive']} | {n['unrecorded']} | {'/'.join(str(used[k]) for k in range(1, looks + 1))} |")
    print()
    print("| interval | condition | A/Bs | pass | regression | inconclusive | unrecorded |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name in INTERVALS:
        for cond in ("clean", "shared", "one-backend"):
            t = lambda v: totals[(name, cond, v)]  # noqa: E731
            print(f"| {name} | {cond} | {t('all')} | {t('pass')} | {t('regression')} | {t('inconclusive')} | {t('unrecorded')} |")
    if checked:
        print()
        print("The replay against the live verdicts and looks (evidence that ran under this rule and records looks):")
        for line in checked:
            print(f"- {line}")


if __name__ == "__main__":
    main(sys.argv[1:])
