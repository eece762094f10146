"""Runs the Python worker's Injector (workers/python/mlx_worker.py) against a simulated
clock and prints, as JSON, the token period it adds: {"two_cpus": r, "one_cpu": r}, each the
injected period over the clean one (1.05 when the injection realises +5%).

The simulation models mlx-lm's generate_step as the Injector sees it, per decode token:
the graph of step n+2 is built (main thread, BUILD ns), then async_eval is called, where
the Injector spins (on several CPUs after waiting for step n+1, on one after dispatching
step n+2) and step n+2 is dispatched (DISPATCH ns of main-thread work). The stream thread
computes each step in COMPUTE ns.
- Two CPUs: in a clean run the build and the dispatch overlap the computation of the step
  in flight, so the clean period is COMPUTE. Injected, the dispatch no longer overlaps.
- One CPU: nothing overlaps; the clean period is BUILD + DISPATCH + COMPUTE. The stream
  thread computes during the dispatch's wall time (it time-shares the CPU), so the
  dispatch's wall time holds the whole COMPUTE, of which the caller's thread's CPU time
  (time.thread_time_ns) holds none.
Run by tests/injection_python.rs with the project's .venv (mlx_worker imports mlx)."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../workers/python"))
os.environ["CROSSBENCH_INJECT_SLOWDOWN_PCT"] = "5"
import mlx_worker  # noqa: E402  (redirects fd 1 to stderr: the result goes to its saved copy)

BUILD, DISPATCH, COMPUTE = 400_000, 300_000, 8_000_000
TOKENS = 200


def simulate(one_cpu):
    clock = [0]
    cpu = [0]  # the caller's thread's CPU time
    done_at = [0]  # when the stream thread finishes the step in flight

    def now():  # each reading takes 1 us, so that the Injector's busy-wait ends
        clock[0] += 1_000
        cpu[0] += 1_000
        return clock[0]

    def cpu_now():
        now()
        return cpu[0]

    def wait_for_inflight(*_):
        clock[0] = max(clock[0], done_at[0])

    def dispatch(*_):
        cpu[0] += DISPATCH
        if one_cpu:  # the step runs while the dispatch holds the wall clock
            clock[0] += DISPATCH + COMPUTE
            done_at[0] = clock[0]
        else:
            clock[0] += DISPATCH
            done_at[0] = clock[0] + COMPUTE

    mlx_worker._now, mlx_worker._cpu_now = now, cpu_now
    mlx_worker._eval, mlx_worker._async_eval = wait_for_inflight, dispatch
    inj = mlx_worker.Injector(one_cpu=one_cpu)
    dispatch()  # step 1 in flight; token 0 handed out
    inj.start(now())
    inj.inflight = ("step 1",)
    ends = []
    for _ in range(TOKENS):
        clock[0] += BUILD
        cpu[0] += BUILD
        inj.async_eval(("step",), {})
        ends.append(now())
    tail = ends[TOKENS // 2:]  # settled
    period = (tail[-1] - tail[0]) / (len(tail) - 1)
    clean = BUILD + DISPATCH + COMPUTE if one_cpu else COMPUTE
    return period / clean


mlx_worker._out.write(json.dumps({"two_cpus": simulate(False), "one_cpu": simulate(True)}) + "\n")
mlx_worker._out.flush()
