#!/usr/bin/env python3
"""A minimal pipe client for the Python worker's serve mode (docs/protocol.md, "Over the
pipe"), for tests and hand checks: it plays a trace file against a worker, closed or open
loop, and prints one JSON object: {"ids": {request: [ids]}, "schedule": [...], "served": {...},
"errors": [...]}. Stdlib only; the worker is whatever command follows `--`.

    python3 tests/helpers/serve_pipe_client.py --trace T.txt -- \\
        .venv/bin/python workers/python/mlx_worker.py --model DIR [--engine mlx-lm-batch]

--make-trace C,N,MAX_NEW writes a closed-loop trace (concurrency C, N requests, prompts
derived from the id) to --trace first. With --compare-native RUNNER the same trace also goes
to the native runner (`RUNNER --serve --model DIR` then `serve trace=PATH`), and the script
exits 1 unless the ids per request and the steps' [prefilled, decoded] sets are equal.
"""
import argparse
import json
import subprocess
import sys
import threading
import time


def read_trace(path):
    opts, reqs = {}, []
    with open(path) as f:
        assert f.readline().split() == ["crossbench-serve-trace", "1"], "not a serve trace"
        for line in f:
            w = line.split()
            if w[0] == "arrival":
                opts["arrival"] = w[1]
                opts["fill_to"] = int(w[2]) if w[1] == "closed" else 0
            elif w[0] == "request":
                reqs.append((int(w[1]), int(w[2]), int(w[3]), w[4]))
            else:
                opts[w[0]] = int(w[1])
    assert len(reqs) == opts["requests"], "requests N disagrees with the request lines"
    return opts, reqs


def make_trace(path, spec):
    c, n, max_new = (int(x) for x in spec.split(","))
    lines = ["crossbench-serve-trace 1", f"arrival closed {c}", f"max_batch {max(c, 1)}",
             "admit_timeout_ms 30000", f"requests {n}"]
    for i in range(n):  # prompts of different lengths, so the steps mix prefill and decode
        prompt = ",".join(str((i * 7 + k * 13) % 1000 + 1) for k in range(1 + i % 4))
        lines.append(f"request {i} 0 {max_new + i % 3} {prompt}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


class Client:
    def __init__(self, cmd, opts, reqs):
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.opts, self.reqs, self.lock = opts, reqs, threading.Lock()
        self.ids = {r[0]: [] for r in reqs}
        self.errors, self.next_req = [], 0

    def send(self, line):
        with self.lock:
            self.p.stdin.write(line + "\n")
            self.p.stdin.flush()

    def event(self):
        line = self.p.stdout.readline()
        if not line:
            raise SystemExit(f"worker closed stdout (exit {self.p.wait()})")
        return json.loads(line)

    def submit_next(self):
        """Submits the next request; after the last, serve_close."""
        if self.next_req < len(self.reqs):
            rid, _, max_new, prompt = self.reqs[self.next_req]
            self.next_req += 1
            self.send(f"submit id={rid} max_new={max_new} prompt={prompt}")
            if self.next_req == len(self.reqs):
                self.send("serve_close")

    def open_loop(self):
        t0 = time.monotonic_ns()
        for rid, at, _, _ in self.reqs:
            time.sleep(max(0, t0 + at - time.monotonic_ns()) / 1e9)
            self.submit_next()

    def run(self):
        assert self.event()["ev"] == "loaded"
        o = self.opts
        self.send(f"serve_open max_batch={o['max_batch']} fill_to={o['fill_to']} "
                  f"requests={o['requests']} admit_timeout_ms={o['admit_timeout_ms']}")
        ev = self.event()
        if ev["ev"] != "serving":
            raise SystemExit(f"serve_open answered {ev}")
        if o["arrival"] == "closed":
            for _ in range(min(o["fill_to"], len(self.reqs))):
                self.submit_next()
        else:
            threading.Thread(target=self.open_loop, daemon=True).start()
        return self.collect()

    def collect(self):
        max_new = {r[0]: r[2] for r in self.reqs}
        schedule = None
        while True:
            ev = self.event()
            kind = ev["ev"]
            if kind == "token":
                ids = self.ids[ev["req"]]
                assert ev["i"] == len(ids), f"token out of order: {ev}"
                ids.append(ev["id"])
                if len(ids) == max_new[ev["req"]] and self.opts["arrival"] == "closed":
                    self.submit_next()  # closed loop: a request ended, the next one goes in
            elif kind == "schedule":
                schedule = ev["steps"]
            elif kind == "served":
                self.send("quit")
                self.p.wait()
                return {"ids": self.ids, "schedule": schedule, "served": ev, "errors": self.errors}
            elif kind == "error":
                self.errors.append(ev)
                if "req" not in ev and ev["code"] != "CB_ERR_PROTOCOL":
                    self.send("serve_close")  # the engine failed: no served follows
                    self.send("quit")
                    self.p.wait()
                    return {"ids": self.ids, "schedule": None, "served": None, "errors": self.errors}


def native_serve(runner, model, trace):
    """The native runner's in-process client on the same trace: its request and schedule."""
    out = subprocess.run([runner, "--serve", "--model", model, "--device", "cpu"],
                         input=f"serve trace={trace}\nquit\n", capture_output=True, text=True)
    ids, schedule = {}, None
    for line in out.stdout.splitlines():
        ev = json.loads(line)
        if ev["ev"] == "request":
            ids[ev["id"]] = ev["ids"]
        elif ev["ev"] == "schedule":
            schedule = ev["steps"]
    if schedule is None:
        raise SystemExit(f"native runner: no schedule:\n{out.stdout}\n{out.stderr[-2000:]}")
    return ids, schedule


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trace", required=True)
    ap.add_argument("--make-trace", help="C,N,MAX_NEW: write a closed-loop trace first")
    ap.add_argument("--compare-native", metavar="RUNNER")
    ap.add_argument("--model", help="the model dir for --compare-native")
    ap.add_argument("worker", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    if a.make_trace:
        make_trace(a.trace, a.make_trace)
    opts, reqs = read_trace(a.trace)
    cmd = a.worker[1:] if a.worker[:1] == ["--"] else a.worker
    result = Client(cmd, opts, reqs).run()
    print(json.dumps(result))
    if not a.compare_native:
        return 0
    ids, schedule = native_serve(a.compare_native, a.model, a.trace)
    mine = {int(k): v for k, v in result["ids"].items()}
    shape = lambda s: [(sorted(p), sorted(d)) for _, p, d in (s or [])]  # noqa: E731
    same = mine == ids and shape(result["schedule"]) == shape(schedule)
    print(f"native-cpp vs worker: ids {'equal' if mine == ids else 'DIFFER'}, schedule "
          f"{'equal' if shape(result['schedule']) == shape(schedule) else 'DIFFERS'} "
          f"({len(schedule)} vs {len(result['schedule'] or [])} steps)", file=sys.stderr)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
