"""python-subprocess's serve engine: the C++ shim's continuous-batching engine (cb_engine_* in
shims/include/crossbench_shim.h) through ctypes, so that this design does the same work as
every other design and the same trace gives the same steps and ids.

The library is $CROSSBENCH_SHIM_SO (libcrossbench_shim.so, built by crates/crossbench-shim).
It links the libmlx.so of the venv's mlx package, the one `import mlx.core` already loaded
(same soname, same file), so the shim and mlx-lm share one MLX: one allocator, one default
device. The shim loads its own copy of the weights (cb_model_load), once per worker, at the
first serve_open.
"""
import ctypes
import os
import time
from ctypes import POINTER, Structure, byref, c_char_p, c_int, c_size_t, c_uint32, c_uint64, c_void_p

from worker_common import E_LOAD, EngineError

STATUS = ["CB_OK", "CB_ERR_IO", "CB_ERR_FORMAT", "CB_ERR_SHAPE", "CB_ERR_UNSUPPORTED",
          "CB_ERR_ARGUMENT", "CB_ERR_RUNTIME", "CB_ERR_CALLBACK"]


class Options(Structure):
    _fields_ = [("max_batch", c_uint32), ("fill_to", c_uint32),
                ("expected_requests", c_uint64), ("admit_timeout_ns", c_uint64)]


class Token(Structure):
    _fields_ = [("request", c_uint64), ("token", ctypes.c_int32), ("index", c_uint32),
                ("finished", c_uint32), ("reserved", c_uint32)]


STAT_FIELDS = ("steps", "forward_passes", "evals", "syncs", "callbacks", "generated_tokens",
               "prompt_tokens", "requests_done", "requests_cancelled", "admit_wait_ns",
               "max_active")


class Stats(Structure):
    _fields_ = [(name, c_uint64) for name in STAT_FIELDS]


class AbiCount(Structure):
    _fields_ = [("entry", c_char_p), ("calls", c_uint64)]


def status_name(code):
    return STATUS[code] if 0 <= code < len(STATUS) else f"CB_ERR_{code}"


def _bind(lib):
    """Argument and result types of every entry point used, so ctypes converts exactly."""
    sigs = {
        "cb_last_error": ([], c_char_p), "cb_set_device": ([c_char_p], c_int),
        "cb_model_load": ([c_char_p, POINTER(c_void_p)], c_int),
        "cb_engine_new": ([c_void_p, POINTER(Options), POINTER(c_void_p)], c_int),
        "cb_engine_free": ([c_void_p], None),
        "cb_engine_submit": ([c_void_p, c_uint64, POINTER(ctypes.c_int32), c_size_t, c_uint32,
                              c_void_p, c_void_p], c_int),
        "cb_engine_close": ([c_void_p], c_int),
        "cb_engine_step": ([c_void_p, POINTER(Token), c_size_t, POINTER(c_size_t),
                            POINTER(c_size_t), POINTER(c_int)], c_int),
        "cb_engine_get_stats": ([c_void_p, POINTER(Stats)], c_int),
        "cb_engine_schedule": ([c_void_p, POINTER(c_uint64), c_size_t], c_size_t),
        "cb_abi_counts": ([POINTER(AbiCount), c_size_t], c_size_t),
        "cb_mlx_peak_memory": ([], c_uint64), "cb_mlx_reset_peak_memory": ([], None),
    }
    for name, (args, res) in sigs.items():
        f = getattr(lib, name)
        f.argtypes, f.restype = args, res


class Shim:
    """The library and the shim's model, loaded once per worker (at the first serve_open)."""

    def __init__(self, model_dir, device):
        path = os.environ.get("CROSSBENCH_SHIM_SO", "")
        if not path:
            raise EngineError(E_LOAD, "CROSSBENCH_SHIM_SO is not set: python-subprocess serves through the "
                            "shim's engine, libcrossbench_shim.so (crates/crossbench-shim builds it)")
        try:
            self.lib = ctypes.CDLL(path)
            _bind(self.lib)
        except (OSError, AttributeError) as e:
            raise EngineError(E_LOAD, f"loading {path}: {e}") from e
        t0 = time.monotonic_ns()
        self.model = c_void_p()
        self.check(self.lib.cb_set_device(device.encode()), "cb_set_device")
        self.check(self.lib.cb_model_load(os.fsencode(model_dir), byref(self.model)), "cb_model_load")
        self.load_ns = time.monotonic_ns() - t0

    def check(self, status, what):
        if status != 0:
            raise EngineError(E_LOAD, f"{what}: {status_name(status)}: {self.last_error()}")

    def last_error(self):
        return (self.lib.cb_last_error() or b"").decode(errors="replace")

    def calls(self):
        """C ABI entries counted by the shim so far, all entry points together."""
        cap = 256
        buf = (AbiCount * cap)()
        n = self.lib.cb_abi_counts(buf, cap)
        return sum(c.calls for c in buf[:min(n, cap)])


class ShimEngine:
    """One serve on a fresh cb_engine. submit/close run on the reader thread, run() on the
    main thread; the shim makes those two safe together (cb_engine_submit is thread-safe)."""

    def __init__(self, shim, opts, pipe, peak_before):
        self.shim, self.lib, self.pipe, self.peak_before = shim, shim.lib, pipe, peak_before
        self.cap = opts["max_batch"]  # cap >= max_batch always suffices (the header)
        o = Options(opts["max_batch"], opts["fill_to"], opts["requests"],
                    opts["admit_timeout_ms"] * 1_000_000)
        self.calls0 = shim.calls()
        self.lib.cb_mlx_reset_peak_memory()
        self.engine = c_void_p()
        status = self.lib.cb_engine_new(shim.model, byref(o), byref(self.engine))
        if status != 0:
            self.engine = None
            raise EngineError(status_name(status), f"cb_engine_new: {shim.last_error()}")
        self.calls_end = None

    def submit(self, req, max_new, prompt):
        ids = (ctypes.c_int32 * len(prompt))(*prompt)
        status = self.lib.cb_engine_submit(self.engine, req, ids, len(prompt), max_new, None, None)
        if status != 0:  # cb_last_error is per thread: read it on this one
            self.pipe.error(status_name(status), self.shim.last_error(), req=req)

    def close(self):
        status = self.lib.cb_engine_close(self.engine)
        if status != 0:
            self.pipe.error(status_name(status), f"cb_engine_close: {self.shim.last_error()}")

    def run(self, write_step):
        """One cb_engine_step per turn until it says done. None, or (code, message)."""
        step, eng, cap = self.lib.cb_engine_step, self.engine, self.cap
        buf = (Token * cap)()
        n, active, done = c_size_t(), c_size_t(), c_int()
        pn, pactive, pdone = byref(n), byref(active), byref(done)
        while True:
            status = step(eng, buf, cap, pn, pactive, pdone)
            if status != 0:
                return (status_name(status), self.shim.last_error())
            if n.value:
                write_step([(t.request, t.index, t.token) for t in buf[:n.value]])
            if done.value:
                return None

    def schedule(self):
        """cb_engine_schedule's flat words as [t_ns, [prefilled], [decoded]] per step."""
        need = self.lib.cb_engine_schedule(self.engine, None, 0)
        words = (c_uint64 * need)()
        self.lib.cb_engine_schedule(self.engine, words, need)
        steps, k = [], 0
        while k < need:
            t, npre = words[k], words[k + 1]
            pre = list(words[k + 2:k + 2 + npre])
            k += 2 + npre
            ndec = words[k]
            dec = list(words[k + 1:k + 1 + ndec])
            k += 1 + ndec
            steps.append((t, pre, dec))
        return steps

    def stats(self):
        s = Stats()
        status = self.lib.cb_engine_get_stats(self.engine, byref(s))
        if status != 0:
            raise EngineError(status_name(status), f"cb_engine_get_stats: {self.shim.last_error()}")
        fields = {name: getattr(s, name) for name in STAT_FIELDS}
        # Every entry of the serve, from cb_engine_new to this cb_engine_get_stats (the
        # schedule's two calls included); cb_engine_free comes after and is not counted.
        calls = self.shim.calls() - self.calls0
        fields = {"engine": "shim", "requests": s.requests_done + s.requests_cancelled,
                  "tokens": s.generated_tokens, **fields, "calls": calls,
                  "shim_load_ns": self.shim.load_ns}
        return fields

    def memory(self):
        peak = self.lib.cb_mlx_peak_memory()
        return {"mlx_peak_bytes": max(peak, self.peak_before), "mlx_peak_serve_bytes": peak}

    def free(self):
        if self.engine:
            self.lib.cb_engine_free(self.engine)
            self.engine = None
