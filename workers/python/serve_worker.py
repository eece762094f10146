"""The Python worker's serve mode: docs/protocol.md, "Over the pipe: python-subprocess and
mlx-lm-batch". The driver is the client; requests are multiplexed over the worker's stdin:

    serve_open max_batch=8 fill_to=4 requests=24 admit_timeout_ms=30000   -> {"ev":"serving"}
    submit id=0 max_new=32 prompt=1,2,3                                   (as requests arrive)
    serve_close                                                           (after the last submit)

and every token goes back as {"ev":"token","req":ID,"i":K,"id":TOKEN} as soon as its step
ends (one write and flush per step), then `schedule` and `served` once the engine drained.

Two engines behind the same protocol (mlx_worker.py --engine):
  shim          python-subprocess: the shim's continuous-batching engine (cb_engine_*) through
                ctypes, so the work equals the other designs'. A stdin reader thread submits
                (ctypes drops the GIL during foreign calls, so a submit can land while the main
                thread is inside cb_engine_step); the main thread steps.
  mlx-lm-batch  mlx-lm's own BatchGenerator on the mlx-lm model: a different engine, its own
                row. The reader thread queues submissions; the main thread inserts them between
                BatchGenerator.next() calls (the generator is not thread-safe).
"""
import json
import os
import queue
import threading
import time

from worker_common import (E_ARGUMENT, E_GENERATE, E_PROTOCOL, U32_MAX, U64_MAX,
                           BadRequest, EngineError, fault_from_env, inject_fault, os_threads, parse_keyed,
                           peak_rss_bytes, prompt_ids, uint_value)

OPEN_KEYS = ("max_batch", "fill_to", "requests", "admit_timeout_ms")
SUBMIT_KEYS = ("id", "max_new", "prompt")
# Inside a serve only these first words are requests (the top level keeps its own list).
SERVE_VERBS = "(expected `submit`, `serve_close` or `quit`)"
TOKEN_PROGRESS = os.environ.get("CROSSBENCH_TOKEN_PROGRESS") == "1"


def _open_value(key, value):
    if key == "max_batch":
        return uint_value(value, 1, U32_MAX)
    if key == "fill_to":
        return uint_value(value, 0, U32_MAX)
    if key == "requests":
        return uint_value(value, 1, U64_MAX)
    return uint_value(value, 0, U64_MAX // 1_000_000)  # admit_timeout_ms, as ns in a u64


def _submit_value(key, value):
    if key == "id":
        return uint_value(value, 0, U64_MAX)
    if key == "max_new":
        return uint_value(value, 1, U32_MAX)
    return prompt_ids(value)


def parse_open(words):
    """serve_open's options; every key is required (the driver copies them from the trace)."""
    return parse_keyed(words, OPEN_KEYS, _open_value, {}, OPEN_KEYS)


def parse_submit(words):
    return parse_keyed(words, SUBMIT_KEYS, _submit_value, {}, SUBMIT_KEYS)


class Pipe:
    """The protocol stream, shared by the stepping thread (tokens) and the reader thread
    (errors of bad lines): one lock, so lines never interleave; a flush per write."""

    def __init__(self, out):
        self.out, self.lock = out, threading.Lock()

    def write(self, text):
        with self.lock:
            self.out.write(text)
            self.out.flush()

    def error(self, code, message, req=None):
        ev = {"ev": "error", "code": code, "message": str(message)}
        if req is not None:  # an extra key: which request a rejected submit was
            ev["req"] = req
        self.write(json.dumps(ev, separators=(",", ":")) + "\n")


class TokenWriter:
    """Writes one step's token lines at once and counts tokens over the serve, which is where
    CROSSBENCH_FAULT=<backend>:kill@N / hang@N strikes: before the serve's N-th token (from 0)
    is written, as the generate path does at its N-th token."""

    def __init__(self, pipe, backend):
        self.pipe, self.n = pipe, 0
        self.fault_kind, self.fault_at = fault_from_env(backend)

    def step(self, tokens):
        """tokens: (request id, index in the request, token id) of one step."""
        lines = []
        for req, i, tok in tokens:
            if self.n == self.fault_at:
                self.pipe.write("".join(lines))  # what came before the fault still arrives
                inject_fault(self.fault_kind)
            lines.append(f'{{"ev":"token","req":{req},"i":{i},"id":{tok}}}\n')
            self.n += 1
        if lines:
            self.pipe.write("".join(lines))
            if TOKEN_PROGRESS:  # [run] token_progress: one stderr line per token
                os.write(2, b"crossbench-token\n" * len(lines))


def read_submissions(lines, engine, pipe, outcome):
    """The reader thread: stdin lines of the open serve, until serve_close, quit or EOF (the
    last two also end the worker once the serve is written). Bad lines are CB_ERR_PROTOCOL
    errors with the top level's message rules; the serve goes on."""
    for line in lines:
        words = line.split()
        if not words:
            continue
        if words[0] in ("serve_close", "quit"):
            outcome["quit"] = words[0] == "quit"
            break
        try:
            if words[0] != "submit":
                raise BadRequest(f"unknown request `{words[0]}` {SERVE_VERBS}")
            req = parse_submit(words[1:])
        except BadRequest as e:
            pipe.error(E_PROTOCOL, f"{e} in `{line.strip()}`")
            continue
        engine.submit(req["id"], req["max_new"], req["prompt"])
    else:
        outcome["quit"] = True  # EOF: the driver is gone; finish what was submitted, then exit
    engine.close()


def _schedule_event(steps):
    body = ",".join(f"[{t},[{','.join(map(str, pre))}],[{','.join(map(str, dec))}]]"
                    for t, pre, dec in steps)
    return f'{{"ev":"schedule","steps":[{body}]}}\n'


def _served_event(fields):
    return json.dumps({"ev": "served", **fields}, separators=(",", ":")) + "\n"


def serve(line, words, lines, make_engine, pipe, backend):
    """One serve, from its serve_open line to `served` (or an `error`). Returns True when the
    worker should exit afterwards (quit or EOF during the serve)."""
    try:
        opts = parse_open(words)
    except BadRequest as e:
        pipe.error(E_PROTOCOL, f"{e} in `{line.strip()}`")
        return False
    try:
        engine = make_engine(opts, pipe)
    except EngineError as e:
        pipe.error(e.code, e.message)
        return False
    try:
        return _run(engine, lines, pipe, backend)
    finally:
        engine.free()


def _run(engine, lines, pipe, backend):
    outcome = {"quit": False}
    writer = TokenWriter(pipe, backend)
    pipe.write('{"ev":"serving"}\n')
    reader = threading.Thread(target=read_submissions, args=(lines, engine, pipe, outcome),
                              name="serve-stdin", daemon=True)
    t0, cpu0 = time.monotonic_ns(), time.process_time_ns()
    reader.start()
    failure = engine.run(writer.step)
    serve_ns, cpu_ns = time.monotonic_ns() - t0, time.process_time_ns() - cpu0
    if failure is not None:
        pipe.error(*failure)  # at once: the driver learns of it while it may still submit
    reader.join()  # schedule and served come after serve_close (docs/protocol.md)
    if failure is None:
        try:
            steps, fields = engine.schedule(), engine.stats()
        except EngineError as e:
            pipe.error(e.code, e.message)
            return outcome["quit"]
        pipe.write(_schedule_event(steps))
        fields.update(serve_ns=serve_ns, process_cpu_ns=cpu_ns, os_threads=os_threads(),
                      peak_rss_bytes=peak_rss_bytes())
        fields.update(engine.memory())
        pipe.write(_served_event(fields))
    return outcome["quit"]


class BatchEngine:
    """mlx-lm-batch: mlx-lm's BatchGenerator (continuous batching of its own) on the model the
    worker loaded with mlx-lm. completion_batch_size = max_batch; no closed-loop fill: whatever
    has been submitted is inserted before each next(). Greedy (its default sampler), and no
    stop tokens, so every request runs for exactly max_new tokens as in the shim's engine."""

    def __init__(self, model, stream, vocab_size, opts, pipe, counters, peak_before):
        from mlx_lm.generate import BatchGenerator
        import mlx.core as mx

        self.mx, self.pipe, self.vocab_size, self.counters = mx, pipe, vocab_size, counters
        self.peak_before = peak_before  # the process's MLX peak before this serve
        # BatchGenerator makes completion_batch_size at least prefill_batch_size (default 8).
        b = opts["max_batch"]
        self.gen = BatchGenerator(model, completion_batch_size=b, prefill_batch_size=min(8, b),
                                  stream=stream)
        self.inbox = queue.SimpleQueue()  # (id, max_new, prompt) or None = closed
        self.seen = set()  # ids submitted, read by the reader thread only
        self.req_of, self.next_index = {}, {}  # BatchGenerator uid -> request id; id -> i
        self.closed, self.outstanding = False, 0
        self.steps, self.next_calls, self.max_active = [], 0, 0
        self.tokens = self.prompt_tokens = self.requests_done = 0
        self.counts0 = counters()
        mx.reset_peak_memory()

    def submit(self, req, max_new, prompt):
        """Reader thread. Checked here, as the shim's engine checks at submit."""
        bad = next(((i, t) for i, t in enumerate(prompt) if t >= self.vocab_size), None)
        if bad is not None:
            self.pipe.error(E_ARGUMENT, f"prompt token {bad[1]} at index {bad[0]} is outside "
                            "[0, vocab_size)", req=req)
        elif req in self.seen:
            self.pipe.error(E_ARGUMENT, f"request id {req} was already submitted", req=req)
        else:
            self.seen.add(req)
            self.inbox.put((req, max_new, prompt))

    def close(self):
        self.inbox.put(None)

    def _admit(self, block):
        """Inserts everything submitted so far in one insert(); blocks for the next submission
        (or close) only when the generator has nothing to do."""
        batch = []
        while not self.closed:
            try:
                item = self.inbox.get(block=block and not batch)
            except queue.Empty:
                break
            if item is None:
                self.closed = True
            else:
                batch.append(item)
        if batch:
            uids = self.gen.insert([p for _, _, p in batch], max_tokens=[m for _, m, _ in batch])
            for uid, (req, _, prompt) in zip(uids, batch):
                self.req_of[uid], self.next_index[req] = req, 0
                self.prompt_tokens += len(prompt)
            self.outstanding += len(batch)

    def run(self, write_step):
        """Main thread: until closed and drained. Returns None, or (code, message)."""
        try:
            while True:
                self._admit(block=self.outstanding == 0)
                if self.outstanding == 0:
                    if self.closed:
                        self.mx.synchronize(self.gen.stream)
                        return None
                    continue
                self._next(write_step)
        except Exception as e:  # mlx-lm's failure is the engine's failure
            return (E_GENERATE, f"{type(e).__name__}: {e}")

    def _next(self, write_step):
        t = time.monotonic_ns()
        _, responses = self.gen.next()
        self.next_calls += 1
        if not responses:  # a prompt-processing turn: no token came out
            return
        out, first, later = [], [], []
        for r in responses:
            req = self.req_of[r.uid]
            i = self.next_index[req]
            self.next_index[req] = i + 1
            (first if i == 0 else later).append(req)
            out.append((req, i, r.token))
            if r.finish_reason is not None:
                del self.req_of[r.uid]
                self.outstanding -= 1
                self.requests_done += 1
        self.steps.append((t, first, later))
        self.max_active = max(self.max_active, len(responses))
        self.tokens += len(out)
        write_step(out)

    def schedule(self):
        """Per next() that produced tokens: its start, the requests whose first token came out
        (prefill done), and those that got a later one. Not comparable with the shim's."""
        return self.steps

    def stats(self):
        evals, syncs, passes = (b - a for a, b in zip(self.counts0, self.counters()))
        return {"engine": "mlx-lm-batch", "requests": self.requests_done, "tokens": self.tokens,
                "steps": len(self.steps), "next_calls": self.next_calls,
                "forward_passes": passes, "evals": evals, "syncs": syncs,
                "generated_tokens": self.tokens, "prompt_tokens": self.prompt_tokens,
                "requests_done": self.requests_done, "max_active": self.max_active}

    def memory(self):
        peak = self.mx.get_peak_memory()
        return {"mlx_peak_bytes": max(peak, self.peak_before), "mlx_peak_serve_bytes": peak}

    def free(self):
        self.gen.close()
