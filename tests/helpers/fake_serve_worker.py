"""A fake serving worker for the driver's serve tests (no MLX, no model).

Speaks docs/protocol.md's serve protocol with a toy continuous-batching
engine that follows the shim's admission rules (closed loop: wait until
min(fill_to, max_batch, unsubmitted + queued + active) are active or
queued, admit in id order; open loop: admit what is queued), and greedy-like
token ids that depend only on the request's prompt. So every client of the
same trace gets the same steps (closed loop) and the same ids per request,
as the real designs must.

    fake_serve_worker.py [--engine shim|other] [--model DIR] [--device D]

`serve trace=PATH` runs the client in this process (the in-process designs);
`serve_open`/`submit`/`serve_close` serve over the pipe (the Python designs).
`--engine other` stands for mlx-lm-batch: other ids, other steps.

FAKE_SERVE_STEP_MS (default 1) is a step's sleep. FAKE_SERVE_FAULT injects:
`die` (exit 3 at step 3), `hang` (at step 3), `error` (an error event at step
3), `cancel:ID` (request ID's consumer fails at its token 1), `reverse`
(closed loop: admit in reverse id order: a schedule mismatch), `ids:ID`
(request ID's token 1 is off by one: an id mismatch).
"""

import json
import os
import sys
import threading
import time

FAULT = os.environ.get("FAKE_SERVE_FAULT", "")
STEP_S = float(os.environ.get("FAKE_SERVE_STEP_MS", "1")) / 1000.0
OTHER = "--engine" in sys.argv and sys.argv[sys.argv.index("--engine") + 1] == "other"
OUT_LOCK = threading.Lock()


def emit(obj):
    with OUT_LOCK:
        sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")
        sys.stdout.flush()


def fault_id(kind):
    return int(FAULT.split(":")[1]) if FAULT.startswith(kind + ":") else None


def next_token(rid, prompt, k, prev):
    base = sum(prompt) if k == 0 else prev
    tok = (base * 1103515245 + 12345 + k + (7 if OTHER else 0)) % 30000 + 1000
    if fault_id("ids") == rid and k == 1:
        tok += 1
    return tok


class Engine:
    def __init__(self, max_batch, fill_to, expected, admit_timeout_s):
        self.max_batch, self.fill_to, self.expected = max_batch, fill_to, expected
        self.admit_timeout_s = admit_timeout_s
        self.cv = threading.Condition()
        self.queue = {}
        self.active = []
        self.submitted = 0
        self.closed = False
        self.steps = []
        self.callbacks = 0
        self.tokens = 0
        self.cancelled = 0

    def submit(self, rid, prompt, max_new, callback):
        with self.cv:
            self.queue[rid] = {"id": rid, "prompt": prompt, "max_new": max_new,
                               "cb": callback, "k": 0, "prev": 0}
            self.submitted += 1
            self.cv.notify_all()

    def close(self):
        with self.cv:
            self.closed = True
            self.cv.notify_all()

    def _admit(self):
        """Waits as the shim's engine does; the admitted, or None when done."""
        with self.cv:
            if self.fill_to > 0:
                left = self.expected - self.submitted
                target = min(self.fill_to, self.max_batch, left + len(self.queue) + len(self.active))
                ok = self.cv.wait_for(lambda: len(self.queue) + len(self.active) >= target,
                                      self.admit_timeout_s)
                if not ok:
                    raise RuntimeError("no request arrived within the admit timeout")
            else:
                self.cv.wait_for(lambda: self.queue or self.active or self.closed
                                 or self.submitted >= self.expected)
            if not self.queue and not self.active:
                return None
            order = sorted(self.queue, reverse=(FAULT == "reverse"))
            admitted = [self.queue.pop(i) for i in order[: self.max_batch - len(self.active)]]
            return admitted

    def step(self):
        """One step; False once every request is done."""
        admitted = self._admit()
        if admitted is None:
            return False
        n = len(self.steps)
        if n == 3 and FAULT == "die":
            os._exit(3)
        if n == 3 and FAULT == "hang":
            time.sleep(3600)
        if n == 3 and FAULT == "error":
            # Its last words, which the driver's error must carry (stderr tail).
            print(f"fake: engine failing at step {n} as configured", file=sys.stderr, flush=True)
            raise RuntimeError("injected engine failure")
        t_ns = time.monotonic_ns()
        time.sleep(STEP_S)
        decoded = [r["id"] for r in self.active]
        self.steps.append([t_ns, [r["id"] for r in admitted], decoded])
        batch = self.active + admitted
        for r in batch:
            k = r["k"]
            r["prev"] = next_token(r["id"], r["prompt"], k, r["prev"])
            r["k"] = k + 1
            done = r["k"] == r["max_new"]
            self.tokens += 1
            self.callbacks += 1
            if r["cb"](r["id"], r["prev"], k, done):
                self.cancelled += 1
                r["k"] = r["max_new"]
        with self.cv:
            self.active = [r for r in batch if r["k"] < r["max_new"]]
        return True

    def served(self, extra):
        usage = os.times()
        threads = len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else 1
        out = {"ev": "served", "requests": self.submitted, "tokens": self.tokens,
               "steps": len(self.steps), "forward_passes": len(self.steps), "evals": len(self.steps),
               "syncs": len(self.steps), "calls": len(self.steps) + self.submitted + 2,
               "callbacks": self.callbacks, "requests_cancelled": self.cancelled,
               "admit_wait_ns": 0, "max_active": self.max_batch,
               "process_cpu_ns": int((usage.user + usage.system) * 1e9), "os_threads": threads,
               "peak_rss_bytes": 1, "mlx_peak_bytes": 0}
        out.update(extra)
        return out


def read_trace(path):
    with open(path) as f:
        lines = f.read().splitlines()
    assert lines[0] == "crossbench-serve-trace 1", lines[0]
    arrival = lines[1].split()
    fill_to = int(arrival[2]) if arrival[1] == "closed" else 0
    max_batch = int(lines[2].split()[1])
    admit_ms = int(lines[3].split()[1])
    n = int(lines[4].split()[1])
    reqs = []
    for line in lines[5: 5 + n]:
        _, rid, at, max_new, prompt = line.split(" ")
        reqs.append((int(rid), int(at), int(max_new), [int(p) for p in prompt.split(",")]))
    return fill_to, max_batch, admit_ms, reqs


def serve_in_process(path):
    fill_to, max_batch, admit_ms, reqs = read_trace(path)
    engine = Engine(max_batch, fill_to, len(reqs), admit_ms / 1000.0)
    records = {}
    state = {"next": 0}

    def submit_next():
        i = state["next"]
        if i >= len(reqs):
            return
        state["next"] = i + 1
        rid, _, max_new, prompt = reqs[i]
        records[rid] = {"ev": "request", "id": rid, "submit_ns": time.monotonic_ns(), "ids": [], "t_ns": []}
        engine.submit(rid, prompt, max_new, consumer)
        if state["next"] == len(reqs):
            engine.close()

    def consumer(rid, tok, k, done):
        rec = records[rid]
        if fault_id("cancel") == rid and k == 1:
            rec["error"] = "consumer stalled: injected"
            if fill_to:
                submit_next()
            return 1
        rec["t_ns"].append(time.monotonic_ns())
        rec["ids"].append(tok)
        if done and fill_to:
            submit_next()
        return 0

    start = time.monotonic_ns()
    if fill_to:
        for _ in range(min(fill_to, len(reqs))):
            submit_next()
    else:
        def arrivals():
            for rid, at, _, _ in reqs:
                time.sleep(max(0.0, (start + at - time.monotonic_ns()) / 1e9))
                submit_next()
        threading.Thread(target=arrivals, daemon=True).start()
    try:
        while engine.step():
            pass
    except RuntimeError as e:
        for rid in sorted(records):
            emit(records[rid])
        emit({"ev": "error", "code": "CB_ERR_RUNTIME", "message": str(e)})
        return
    for rid in sorted(records):
        emit(records[rid])
    emit({"ev": "schedule", "steps": engine.steps})
    emit(engine.served({"start_ns": start, "serve_ns": time.monotonic_ns() - start}))


def serve_over_pipe(line):
    opts = dict(w.split("=", 1) for w in line.split()[1:])
    engine = Engine(int(opts["max_batch"]), int(opts["fill_to"]), int(opts["requests"]),
                    int(opts["admit_timeout_ms"]) / 1000.0)
    emit({"ev": "serving"})

    def consumer(rid, tok, k, done):
        emit({"ev": "token", "req": rid, "i": k, "id": tok})
        return 0

    def reader():
        for raw in sys.stdin:
            words = raw.split()
            if not words:
                continue
            if words[0] == "serve_close":
                engine.close()
                return
            if words[0] == "submit":
                kv = dict(w.split("=", 1) for w in words[1:])
                engine.submit(int(kv["id"]), [int(p) for p in kv["prompt"].split(",")],
                              int(kv["max_new"]), consumer)

    threading.Thread(target=reader, daemon=True).start()
    try:
        while engine.step():
            pass
    except RuntimeError as e:
        emit({"ev": "error", "code": "CB_ERR_RUNTIME", "message": str(e)})
        return
    emit({"ev": "schedule", "steps": engine.steps})
    emit(engine.served({}))


def main():
    emit({"ev": "loaded", "load_ns": 1000, "t_ns": time.monotonic_ns()})
    while True:
        raw = sys.stdin.readline()
        if not raw:
            return
        words = raw.split()
        if not words:
            continue
        if words[0] == "quit":
            return
        if words[0] == "serve" and len(words) == 2 and words[1].startswith("trace="):
            serve_in_process(words[1][len("trace="):])
        elif words[0] == "serve_open":
            serve_over_pipe(raw)
        else:
            emit({"ev": "error", "code": "CB_ERR_PROTOCOL", "message": f"unknown request `{words[0]}`"})


if __name__ == "__main__":
    main()
