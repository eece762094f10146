#!/usr/bin/env python3
"""A null control for the A/B's noise (docs/measurements/gate-experiment.md, "The
noise at every time scale"): how much does a fixed workload's speed move on this
machine, window to window, and does it matter where its buffers land?

Windows of 0.3 s alternate between the same buffers throughout (fixed) and fresh
copies made at the window's start (fresh). In each, one thread (run it under
`taskset -c N`, one BLAS thread) times a memory-bound gemv over 32 MiB and a
cache-resident chain of small matmuls, back to back.

  OPENBLAS_NUM_THREADS=1 taskset -c 1 .venv/bin/python scripts/machine_probe.py run 60 RAW.json
  .venv/bin/python scripts/machine_probe.py summarise RAW.json OUT.json

The summary (per-window medians' spread, fixed vs fresh; the log ratio of
neighbouring windows) goes to OUT.json, with the CPU it ran on; RAW.json holds
every timing and stays out of the repository.
"""
import json
import sys
import time

import numpy as np

WINDOW_S = 0.3


def cpu():
    info = {}
    for line in open("/proc/cpuinfo"):
        key, _, value = line.partition(":")
        key = key.strip()
        if key in ("vendor_id", "cpu family", "model", "model name") and key not in info:
            info[key] = value.strip()
    return info


def run(seconds, raw):
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((32768, 256), dtype=np.float32)  # 32 MiB: memory-bound
    x0 = rng.standard_normal(256, dtype=np.float32)
    a0 = rng.standard_normal((96, 96), dtype=np.float32)  # stays in cache
    fixed = (w0.copy(), x0.copy(), a0.copy())
    rows, k, t_end = [], 0, time.perf_counter() + seconds
    while time.perf_counter() < t_end:
        fresh = k % 2 == 1
        # Fresh: new copies, after a few odd-sized allocations so they land elsewhere.
        pad = [np.empty(int(rng.integers(1, 4096)), np.uint8) for _ in range(8)] if fresh else []
        w, x, a = (w0.copy(), x0.copy(), a0.copy()) if fresh else fixed
        w_end = time.perf_counter() + WINDOW_S
        while time.perf_counter() < w_end:
            t0 = time.perf_counter_ns()
            w @ x
            t1 = time.perf_counter_ns()
            b = a
            for _ in range(40):
                b = a @ b
                b *= 0.01
            rows.append((k, int(fresh), t1 - t0, time.perf_counter_ns() - t1))
        del pad
        k += 1
    json.dump({"cpu": cpu(), "window_s": WINDOW_S, "rows": rows}, open(raw, "w"))


def pct(x):
    return round(100 * float(x), 1)


def null_control(series, rep=26, probe=3):
    """Would a probe next to each rep cancel the machine's drift? The series
    cut into a probe, a 'rep' (26 iterations, ~0.3 s here) and a probe, in
    turn; neighbouring reps paired as head and base: the spread of their log
    ratio as is, and with each rep divided by its two probes' mean."""
    cells = []
    for i in range(0, len(series) - rep - 2 * probe, rep + 2 * probe):
        pre, body, post = np.split(series[i:i + rep + 2 * probe], [probe, probe + rep])
        cells.append((body.mean(), (pre.mean() + post.mean()) / 2))
    c = np.array(cells[: len(cells) // 2 * 2])
    d = c[1::2] - c[0::2]
    return {"pairs": len(d), "sd_log_ratio_pct": pct(np.std(d[:, 0])),
            "normalised_by_probes_pct": pct(np.std(d[:, 0] - d[:, 1]))}


def summarise(raw, out):
    d = json.load(open(raw))
    r = np.array(d["rows"], dtype=float)
    windows = np.unique(r[:, 0]).astype(int)
    med = {w: np.median(r[r[:, 0] == w][:, 2:4], axis=0) for w in windows}
    s = {"cpu": d["cpu"], "window_s": d["window_s"], "windows": len(windows)}
    for fresh, name in ((0, "fixed"), (1, "fresh")):
        m = np.log([med[w] for w in windows if w % 2 == fresh])
        s[name] = {"gemv_median_us": round(float(np.exp(np.median(m[:, 0]))) / 1e3),
                   "sd_log_gemv_pct": pct(np.std(m[:, 0])), "sd_log_matmuls_pct": pct(np.std(m[:, 1])),
                   "corr_gemv_matmuls": round(float(np.corrcoef(m[:, 0], m[:, 1])[0, 1]), 2)}
    neighbours = [np.log(med[w + 1][0] / med[w][0]) for w in windows if w + 1 in med]
    s["neighbour_windows_sd_log_ratio_gemv_pct"] = pct(np.std(neighbours))
    s["null_control"] = null_control(np.log(r[:, 2] + r[:, 3]))
    json.dump({"what": " ".join(__doc__.split("\n\n")[0].split()), **s}, open(out, "w"), indent=1)
    print(json.dumps(s))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "run":
        run(float(sys.argv[2]), sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "summarise":
        summarise(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
