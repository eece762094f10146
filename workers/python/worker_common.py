"""What mlx_worker.py and serve_worker.py share: the request-line grammar of
docs/protocol.md (crossbench-core's parser, messages word for word), the test
faults, and the process readings. Pure: importing it has no side effects."""
import math
import os
import re
import resource
import signal
import struct
import sys
import time

U32_MAX, U64_MAX = 2**32 - 1, 2**64 - 1
# The number grammar of docs/protocol.md (Rust's u64/f32 parsers): no underscores, no spaces.
UINT = re.compile(r"\+?[0-9]+")
FLOAT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")

# Error codes of crossbench-core's protocol::codes, shared by every worker.
E_PROTOCOL, E_LOAD, E_GENERATE = "CB_ERR_PROTOCOL", "CB_ERR_LOAD", "CB_ERR_GENERATE"
E_ARGUMENT = "CB_ERR_ARGUMENT"  # a well-formed request the model cannot serve (the shim's code)
E_UNSUPPORTED = "CB_ERR_UNSUPPORTED"  # a protocol verb this worker has no design for


class BadRequest(Exception):
    pass


class EngineError(Exception):
    """A failure to report as one `error` event: a CB_ERR_* code and a message."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code, self.message = code, message


def uint_value(value, lo, hi):
    n = int(value) if UINT.fullmatch(value) else None
    return n if n is not None and lo <= n <= hi else None


def float_value(value, ok):
    """Read as a 32-bit float, like Rust's f32 parser: 1e39 overflows (rejected), while
    3.4028235e38 rounds to the largest f32 (accepted)."""
    if not FLOAT.fullmatch(value):
        return None
    try:
        x = struct.unpack("f", struct.pack("f", float(value)))[0]
    except OverflowError:
        return None
    return x if math.isfinite(x) and ok(x) else None


def prompt_ids(value):
    ids = [uint_value(x, 0, U32_MAX) for x in value.split(",")]
    return None if None in ids else ids


def parse_keyed(words, keys, parse_value, defaults, required):
    """key=value words of one request, the rules of docs/protocol.md left to right: `W` is
    not key=value, unknown key (the allowed ones listed), repeated key, bad value, then the
    first missing required key. The same messages for every request kind."""
    req = dict(defaults)
    seen = set()
    for word in words:
        key, sep, value = word.partition("=")
        if not sep:
            raise BadRequest(f"`{word}` is not key=value")
        if key not in keys:
            raise BadRequest(f"unknown key `{key}` (allowed: {', '.join(keys)})")
        if key in seen:
            raise BadRequest(f"repeated key `{key}`")
        seen.add(key)
        req[key] = parse_value(key, value)
        if req[key] is None:
            raise BadRequest(f"bad value for `{key}`: `{value}`")
    for key in required:
        if key not in req:
            raise BadRequest(f"missing key `{key}`")
    return req


def fault_from_env(backend):
    """CROSSBENCH_FAULT="<backend>:KIND@N" (tests): KIND kill = SIGKILL itself at token N,
    hang = stop answering there. Only the named backend's worker obeys. (kind, N) or
    (None, -1)."""
    spec = os.environ.get("CROSSBENCH_FAULT", "")
    prefix = backend + ":"
    if not spec.startswith(prefix) or "@" not in spec:
        return None, -1
    kind, _, at = spec[len(prefix):].partition("@")
    return kind, int(at)


def inject_fault(kind):
    if kind == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if kind == "hang":
        while True:
            time.sleep(3600)


def peak_rss_bytes():
    """This process's peak RSS so far (macOS reports bytes, Linux KiB)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss * (1 if sys.platform == "darwin" else 1024)


def os_threads():
    """The process's OS threads now (Linux /proc; 0 where it cannot be read)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Threads:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0
