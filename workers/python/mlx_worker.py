#!/usr/bin/env python3
"""The python-subprocess backend's worker: mlx-lm's own generation loop behind a line protocol.

    .venv/bin/python workers/python/mlx_worker.py --model DIR [--device cpu|gpu]
                                                  [--engine shim|mlx-lm-batch]

DIR holds config.json and *.safetensors (tokenizer files are not needed: requests carry ids).
stdin, one request a line (docs/protocol.md; parse errors word for word as crossbench-core's):
    generate max_new=100 temperature=0 top_p=1 seed=0 prompt=1,2,3
    quit
stdout, one JSON event a line, flushed each time (nothing else ever goes to stdout):
    {"ev":"loaded","device":"cpu","load_ns":N,"t_ns":N}
    {"ev":"token","i":I,"id":ID,"t_ns":T}       as soon as each token id is on the host
    {"ev":"done","tokens":N,"prefill_ns":N,"decode_ns":N,...counters}
    {"ev":"error","code":C,"message":M}
All t_ns are time.monotonic_ns() (CLOCK_MONOTONIC), the clock the Rust driver stamps with, so
the driver can tell pipe latency from generation time. Generation never stops at EOS: it is
mlx_lm.generate.generate_step, which runs for exactly max_new tokens.

`serve_open ...` starts a serve (docs/protocol.md, "Over the pipe"; serve_worker.py): the
shim's continuous-batching engine through ctypes ($CROSSBENCH_SHIM_SO; the python-subprocess
backend), or with --engine mlx-lm-batch mlx-lm's BatchGenerator (the mlx-lm-batch backend,
also the name CROSSBENCH_FAULT then addresses).
"""
import os
import sys
import time

T_START = time.monotonic_ns()
os.environ["HF_HUB_OFFLINE"] = "1"  # never reach for the network, whatever the caller set
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

# fd 1 carries the protocol only: keep a private copy, then point fd 1 (C-level writes) and
# sys.stdout (stray Python prints from libraries) at stderr.
_out = open(os.dup(1), "w", encoding="utf-8", newline="\n")
os.dup2(2, 1)
sys.stdout = sys.stderr

# The grammar, faults and readings shared with serve_worker.py, found next to this script
# (also under `python -I`, which leaves the script's folder off sys.path).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from worker_common import (E_ARGUMENT, E_GENERATE, E_LOAD, E_PROTOCOL, E_UNSUPPORTED, U32_MAX, U64_MAX,  # noqa: E402
                           BadRequest, fault_from_env, float_value, inject_fault, parse_keyed,
                           peak_rss_bytes, prompt_ids, uint_value)
import serve_worker  # noqa: E402


def emit(line):
    _out.write(line)
    _out.flush()


def emit_error(code, message):
    import json  # error path only

    emit(json.dumps({"ev": "error", "code": code, "message": str(message)}, separators=(",", ":")) + "\n")


import argparse
from pathlib import Path

import mlx.core as mx

# Count the crossings mlx-lm makes, by wrapping mlx.core's Python entry points before mlx_lm is
# imported: generate_step calls mx.eval / mx.async_eval (looked up on the mlx.core module at
# call time) and y.item() for every token it yields. Patching the module attributes and the
# mx.array.item method catches every Python caller; each wrapper costs ~0.1 us per call,
# negligible next to a decode step. Counters are reset at the start of each request.
_eval, _async_eval, _item = mx.eval, mx.async_eval, mx.array.item
evals = syncs = passes = 0

# bench --phases (CROSSBENCH_PHASES=1): the same wrappers mark the phase boundaries of
# mlx-lm's loop (docs/protocol.md, `phases`): build = from entering the model to
# async_eval (forward pass, logsumexp, sampler), dispatch = async_eval, wait = item(),
# host = the generator's own steps between those and the worker loop, pipe = writing the
# token line, consumer = the detokenizer. Spans go into an array preallocated per
# generation (index assignment, no growth); off, each wrapper pays one test of PHASES.
PHASES = os.environ.get("CROSSBENCH_PHASES") == "1"
TOKEN_PROGRESS = os.environ.get("CROSSBENCH_TOKEN_PROGRESS") == "1"
P_BUILD, P_DISPATCH, P_WAIT, P_HOST, P_CONSUMER, P_PIPE = 0, 1, 2, 3, 5, 6
PHASE_NAMES = '["build","dispatch","wait","host","crossing","consumer","pipe"]'


class Spans:
    """[phase, begin_ns, end_ns] triples in a preallocated array('Q')."""

    def __init__(self):
        self.buf, self.n, self.cap, self.dropped = None, 0, 0, 0
        self.build_at = self.item_end = self.loop_end = 0  # the open boundaries

    def reset(self, cap):
        from array import array

        self.buf, self.n, self.cap, self.dropped = array("Q", bytes(24 * cap)), 0, cap, 0
        self.build_at = self.item_end = self.loop_end = 0

    def add(self, phase, begin, end):
        if not begin:
            return
        if self.n < self.cap:
            i = 3 * self.n
            self.buf[i], self.buf[i + 1], self.buf[i + 2] = phase, begin, end
            self.n += 1
        else:
            self.dropped += 1

    def event(self):
        b = self.buf
        body = ",".join(f"[{b[3 * i]},{b[3 * i + 1]},{b[3 * i + 2]}]" for i in range(self.n))
        return f'{{"ev":"phases","names":{PHASE_NAMES},"spans":[{body}]}}\n'


def inject_slowdown_from_env():
    """CROSSBENCH_INJECT_SLOWDOWN_PCT: each decode token, busy-wait so that the token is
    delayed by that percent of its compute time, the rule of the C++ shim's Session.
    `bench --inject-slowdown BACKEND=PCT` sets it for the named backend only. 0 = off."""
    try:
        pct = float(os.environ.get("CROSSBENCH_INJECT_SLOWDOWN_PCT", "0") or 0)
    except ValueError:
        return 0.0
    return pct / 100.0 if 0 < pct < float("inf") else 0.0


INJECT = inject_slowdown_from_env()  # the variable is set at spawn, per worker


spans = Spans()
_now = time.monotonic_ns
_cpu_now = time.thread_time_ns  # this thread's CPU time


class Injector:
    """The regression gate's sensitivity test (CROSSBENCH_INJECT_SLOWDOWN_PCT), the C++
    Session's rule: each decode token is delayed by pct% of its compute time, all of it in
    the critical path. Active from the first token handed out to the end of the generation;
    injected runs record no phases. Two rules, as the process may use several CPUs or one:

    Several: generate_step builds step n+2 while step n+1 computes, then calls async_eval:
    there, the step in flight is waited for (so the spin cannot overlap with and hide behind
    its computation; a raw eval, not a counted one), the spin runs, and only then is step
    n+2 dispatched, so the graph building stays overlapped as in a clean run. The dispatch
    itself is not (MLX's stream thread, fed op by op, all but idles while a small graph is
    dispatched): the spin is shortened by it.

    One (`gate --pin-cpu`): nothing overlaps, so every CPU-second added is added to the
    token. Waiting for the step in flight first would change more than the spin: the stream
    thread, its queue drained, is woken op by op by the dispatch, and that cost ~3% more
    than pct% (+8.3% realised for +5%, 2026-12-07). So step n+2 is dispatched as in a clean
    run, then the caller's thread spins pct% of the token period in its own CPU time (the
    stream thread, time-sharing that CPU, may run in between; a wall-clock spin would add
    only its share)."""

    def __init__(self, one_cpu=None):
        self.active, self.inflight = False, None
        self.ready = self.spun = self.dispatch = 0
        if one_cpu is None:  # sched_getaffinity is Linux-only: elsewhere assume several CPUs
            affinity = getattr(os, "sched_getaffinity", None)
            one_cpu = affinity is not None and len(affinity(0)) == 1
        self.one_cpu = one_cpu

    def start(self, first_token_at):
        """Token 0 is handed out: the step in flight (`inflight`) is token 1's."""
        self.active = True
        self.ready, self.spun, self.dispatch = first_token_at, 0, 0

    def async_eval(self, args, kwargs):
        if self.one_cpu:
            return self._one_cpu(args, kwargs)
        if self.active and self.inflight is not None:
            _eval(*self.inflight)
            ready = _now()
            compute = ready - self.ready - self.spun - self.dispatch
            until = ready + int(compute * INJECT) - self.dispatch
            while _now() < until:
                pass
            self.ready, self.spun = ready, _now() - ready
        t = _now()
        result = _async_eval(*args, **kwargs)
        self.dispatch, self.inflight = _now() - t, args
        return result

    def _one_cpu(self, args, kwargs):
        result = _async_eval(*args, **kwargs)
        if self.active:
            # From the previous spin's start to this one's, the CPU ran one token's work and
            # that spin's CPU time (`spun`): the token's own period is the difference.
            start, start_cpu = _now(), _cpu_now()
            period = start - self.ready - self.spun
            until = start_cpu + int(period * INJECT)
            while _cpu_now() < until:
                pass
            self.ready, self.spun = start, _cpu_now() - start_cpu
        return result


injector = Injector()


def _counting_eval(*args, **kwargs):
    global evals
    evals += 1
    return _eval(*args, **kwargs)


def _counting_async_eval(*args, **kwargs):
    global evals
    evals += 1
    if INJECT:
        return injector.async_eval(args, kwargs)
    if not PHASES:
        return _async_eval(*args, **kwargs)
    t = _now()
    spans.add(P_BUILD, spans.build_at, t)
    result = _async_eval(*args, **kwargs)
    spans.add(P_DISPATCH, t, _now())
    return result


def _counting_item(self):
    global syncs
    syncs += 1
    if not PHASES:
        return _item(self)
    t = _now()
    value = _item(self)
    spans.item_end = _now()
    spans.add(P_WAIT, t, spans.item_end)
    return value


def _counting_tolist(self):
    """mlx-lm's BatchGenerator (mlx-lm-batch) reads a step's tokens back with tolist(): one
    host read-back, a sync like item(). generate_step never calls it."""
    global syncs
    syncs += 1
    return _tolist(self)


_tolist = mx.array.tolist
mx.eval, mx.async_eval, mx.array.item = _counting_eval, _counting_async_eval, _counting_item
mx.array.tolist = _counting_tolist

try:
    from mlx_lm.generate import generate_step
    from mlx_lm.sample_utils import make_sampler
    from mlx_lm.utils import load_model
except Exception as e:  # a broken environment is a load failure to the driver
    emit_error(E_LOAD, f"importing mlx_lm: {type(e).__name__}: {e}")
    sys.exit(2)

KEYS = ("max_new", "temperature", "top_p", "seed", "prompt")


def parse_value(key, value):
    """The value of one key, or None when it is not valid (docs/protocol.md)."""
    if key == "max_new":
        return uint_value(value, 1, U32_MAX)
    if key == "temperature":
        return float_value(value, lambda t: t >= 0)
    if key == "top_p":
        return float_value(value, lambda p: 0 < p <= 1)
    if key == "seed":
        return uint_value(value, 0, U64_MAX)
    return prompt_ids(value)


def parse_generate(words):
    """crossbench-core's Request::parse, with its error messages word for word."""
    defaults = {"temperature": 0.0, "top_p": 1.0, "seed": 0}
    return parse_keyed(words, KEYS, parse_value, defaults, ("max_new", "prompt"))


class ModelArgumentError(Exception):
    """A well-formed request this model cannot serve (the shim's CB_ERR_ARGUMENT)."""


class Worker:
    def __init__(self, model, load_ns, vocab_size, stream, args, detokenizer=None):
        self.model, self.load_ns, self.vocab_size, self.stream = model, load_ns, vocab_size, stream
        self.args, self.shim = args, None  # the shim and its model: loaded at the first serve
        self.mlx_peak = mx.get_peak_memory()  # process peak so far: the load
        # stream100: the consumer's per-token work, as mlx-lm's stream_generate does it.
        self.detokenizer = detokenizer

    def generate(self, req):
        global evals, syncs, passes
        bad = next(((i, t) for i, t in enumerate(req["prompt"]) if t >= self.vocab_size), None)
        if bad is not None:  # the shim's check and message (shims/src/generation.cpp)
            raise ModelArgumentError(f"prompt token {bad[1]} at index {bad[0]} is outside [0, vocab_size)")
        # Pre-bound names: the loop below runs once per token.
        now, write, flush = time.monotonic_ns, _out.write, _out.flush
        t_start = now()
        evals = syncs = passes = 0
        mx.reset_peak_memory()  # per-generation peak; the process peak is kept in self.mlx_peak
        mx.random.seed(req["seed"])
        sampler = make_sampler(req["temperature"], req["top_p"])  # temp 0 -> argmax
        prompt = mx.array(req["prompt"])  # int32, as mlx-lm's stream_generate builds it
        t_first = t_last = t_start
        n = 0
        detok = self.detokenizer
        fault_kind, fault_at = fault_from_env(backend_name(self.args))
        injector.active = False
        if detok is not None:
            detok.reset()
        if PHASES:
            spans.reset(8 * req["max_new"] + 16)  # at most 7 spans per token
        # generate_step has already queued step n+1 (async_eval) when it yields token n, so the
        # write below overlaps with compute, exactly as in mlx-lm's own stream_generate.
        for token, _ in generate_step(prompt, self.model, self.stream, max_tokens=req["max_new"],
                                      sampler=sampler):
            if n == fault_at:
                inject_fault(fault_kind)
            t_last = now()
            write(f'{{"ev":"token","i":{n},"id":{token},"t_ns":{t_last}}}\n')
            flush()
            t_written = now() if PHASES else 0
            if TOKEN_PROGRESS:  # [run] token_progress: one stderr line per token
                os.write(2, b"crossbench-token\n")
            if detok is not None:
                detok.add_token(token)
            if PHASES:
                spans.add(P_HOST, spans.item_end, t_last)
                spans.add(P_PIPE, t_last, t_written)
                spans.loop_end = now()
                if detok is not None:
                    spans.add(P_CONSUMER, t_written, spans.loop_end)
            if n == 0:
                t_first = t_last
                if INJECT:
                    injector.start(t_last)
            n += 1
        # generate_step queued one step past the last token: wait for it, so nothing of this
        # generation is still computing when the driver moves on (as the shim's finish()).
        mx.synchronize(self.stream)
        injector.active = False
        t_end = now()
        if PHASES:
            emit(spans.event())
        gen_peak = mx.get_peak_memory()
        self.mlx_peak = max(self.mlx_peak, gen_peak)
        rss = peak_rss_bytes()
        emit(
            f'{{"ev":"done","tokens":{n},"prefill_ns":{t_first - t_start},'
            f'"decode_ns":{t_last - t_first},"load_ns":{self.load_ns},"peak_rss_bytes":{rss},'
            f'"mlx_peak_bytes":{self.mlx_peak},"mlx_peak_gen_bytes":{gen_peak},'
            f'"evals":{evals},"syncs":{syncs},"forward_passes":{passes},'
            f'"worker_gen_ns":{t_end - t_start}'
            + (f',"phase_spans_dropped":{spans.dropped}' if PHASES else "") + "}\n"
        )

    def serve(self, lines):
        lines = iter(lines)  # a serve's reader thread goes on from where this loop is
        for line in lines:
            words = line.split()
            if not words:
                continue
            if words[0] == "quit":
                return
            if words[0] == "serve_open":
                ends = serve_worker.serve(line, words[1:], lines, self.make_engine,
                                          serve_worker.Pipe(_out), backend_name(self.args))
                # The engine reset MLX's peak at its start: what it reads now is the serve's.
                self.mlx_peak = max(self.mlx_peak, mx.get_peak_memory())
                if ends:
                    return  # quit or EOF came during the serve
                continue
            if words[0] == "serve":
                emit_error(E_UNSUPPORTED, "this worker serves over its pipe (`serve_open`), "
                           "not from a trace file (`serve trace=PATH`)")
                continue
            try:
                if words[0] != "generate":
                    raise BadRequest(f"unknown request `{words[0]}` "
                                     "(expected `generate`, `serve`, `serve_open` or `quit`)")
                req = parse_generate(words[1:])
            except BadRequest as e:
                emit_error(E_PROTOCOL, f"{e} in `{line.strip()}`")
                continue
            try:
                self.generate(req)
            except ModelArgumentError as e:
                emit_error(E_ARGUMENT, e)
            except Exception as e:
                emit_error(E_GENERATE, f"{type(e).__name__}: {e}")

    def make_engine(self, opts, pipe):
        """The serve's engine (--engine): the shim's through ctypes, or mlx-lm's own."""
        if self.args.engine == "mlx-lm-batch":
            return serve_worker.BatchEngine(self.model, self.stream, self.vocab_size, opts, pipe,
                                            lambda: (evals, syncs, passes), self.mlx_peak)
        import shim_engine

        if self.shim is None:
            self.shim = shim_engine.Shim(self.args.model, self.args.device)
        return shim_engine.ShimEngine(self.shim, opts, pipe, self.mlx_peak)


def backend_name(args):
    """The backend this worker stands for: the name CROSSBENCH_FAULT addresses."""
    return "mlx-lm-batch" if args.engine == "mlx-lm-batch" else "python-subprocess"


def count_forward_passes(model):
    """Counts every forward pass mlx-lm makes (generate_step calls `model(...)` once per
    prefill chunk and once per step), by wrapping the model class's __call__: Python looks
    __call__ up on the type, so an instance attribute would not be seen."""
    cls = type(model)
    inner = cls.__call__

    def counting_call(self, *args, **kwargs):
        global passes
        passes += 1
        if PHASES:
            spans.build_at = _now()
            spans.add(P_HOST, spans.loop_end, spans.build_at)
            spans.loop_end = 0
        return inner(self, *args, **kwargs)

    cls.__call__ = counting_call


def load_detokenizer(model_dir):
    """mlx-lm's streaming detokenizer when CROSSBENCH_DETOKENIZE=1 (stream100), else None."""
    if os.environ.get("CROSSBENCH_DETOKENIZE") != "1":
        return None
    from mlx_lm.utils import load_tokenizer

    return load_tokenizer(Path(model_dir)).detokenizer


def main():
    ap = argparse.ArgumentParser(description="mlx-lm generate_step behind crossbench's line protocol")
    ap.add_argument("--model", required=True, help="directory with config.json and *.safetensors")
    ap.add_argument("--device", default="cpu", choices=("cpu", "gpu"), help="MLX default device")
    ap.add_argument("--engine", default="shim", choices=("shim", "mlx-lm-batch"),
                    help="the serve engine (serve_open): shim = the shim's cb_engine through ctypes "
                    "($CROSSBENCH_SHIM_SO; backend python-subprocess), mlx-lm-batch = mlx-lm's "
                    "BatchGenerator (backend mlx-lm-batch)")
    args = ap.parse_args()
    device = mx.gpu if args.device == "gpu" else mx.cpu
    if not mx.is_available(device):  # the shim's check and message (shims/src/api.cpp)
        emit_error("CB_ERR_UNSUPPORTED", f"device '{args.device}' is not available in this MLX "
                   "build (no Metal/CUDA backend); use 'cpu'")
        return 2
    mx.set_default_device(device)

    t0 = time.monotonic_ns()
    try:
        model, config = load_model(Path(args.model))  # evaluates the weights (lazy=False)
    except Exception as e:
        emit_error(E_LOAD, f"{type(e).__name__}: {e}")
        return 2
    t1 = time.monotonic_ns()
    vocab_size = config.get("vocab_size") or config.get("text_config", {}).get("vocab_size")
    count_forward_passes(model)
    # mlx-lm's own generation_stream was made at import on the then-default device; a stream of
    # our own on the device asked for is what generate_step runs on (its `stream` argument).
    stream = mx.new_thread_local_stream(device)
    running_on = "gpu" if stream.device.type == mx.DeviceType.gpu else "cpu"
    print(f"mlx_worker: imports {(t0 - T_START) / 1e6:.0f} ms, load {(t1 - t0) / 1e6:.0f} ms, "
          f"device {mx.default_device()}", file=sys.stderr)
    emit(
        f'{{"ev":"loaded","device":"{running_on}","load_ns":{t1 - t0},'
        f'"peak_rss_bytes":{peak_rss_bytes()},"t_ns":{time.monotonic_ns()}}}\n'
    )
    try:
        Worker(model, t1 - t0, vocab_size, stream, args, load_detokenizer(args.model)).serve(sys.stdin)
    except BrokenPipeError:  # the driver went away; nothing left to tell it
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
