"""One framework in one process, driven by bench/bench_train.py over a pipe.

    python bench/train_worker.py FRAMEWORK [--ftz]       (FRAMEWORK: ranvier numpy torch keras sklearn)

Protocol: one JSON object per line on stdin, one JSON reply per line on the original stdout
(file descriptor 1 is redirected to stderr at start, so whatever a library prints cannot
corrupt the protocol). Commands:
  {"cmd": "setup", "workload": "W1", "n": ..., "n_test": ..., "units": K}  build data + model
  {"cmd": "unit"}            train one epoch, reply {"seconds", "loss"}
  {"cmd": "eval"}            held-out score of the model trained so far
  {"cmd": "latency", "budget": s}     single-sample predict: median microseconds per variant
  {"cmd": "throughput", "batch": 1024, "reps": r}   batch predict: median seconds per variant
  {"cmd": "gemm", "m":, "k":, "n":, "reps":}   this framework's own sgemm GFLOP/s
  {"cmd": "mem"}             VmHWM / VmRSS (kB) of this process
  {"cmd": "mem_reset"}       reset VmHWM (echo 5 > /proc/self/clear_refs)
  {"cmd": "save", "path": p} (ranvier) save the trained model for the C++ timing program
  {"cmd": "quit"}

Threads: the driver sets OMP_NUM_THREADS, MKL_NUM_THREADS, OPENBLAS_NUM_THREADS,
TF_NUM_INTRAOP_THREADS, TF_NUM_INTEROP_THREADS and BENCH_THREADS in the environment; the
worker also calls torch.set_num_threads, tf.config.threading.set_{intra,inter}_op_parallelism_
threads, ranvier.set_num_threads and threadpoolctl.threadpool_limits with the same number.

--ftz (flush-to-zero + denormals-are-zero for the peers): the MXCSR register of the main
thread gets FTZ (bit 15) and DAZ (bit 6) set BEFORE NumPy, PyTorch or any BLAS is imported,
so every thread those libraries create later inherits it (Linux threads inherit the creating
thread's floating-point environment). MXCSR is written by a 12-byte machine-code routine
(stmxcsr/ldmxcsr) placed in an executable anonymous mmap and called through ctypes: no
compiler, no extra package. PyTorch additionally gets torch.set_flush_denormal(True).
TensorFlow sets FTZ in its own threads already; ranvier sets it inside its own calls.
"""
from __future__ import annotations

import json
import os
import sys
import time
import traceback

FRAMEWORK = sys.argv[1] if len(sys.argv) > 1 else ""
FTZ = "--ftz" in sys.argv[2:]
THREADS = int(os.environ.get("BENCH_THREADS", "1"))
# "mixed_bfloat16" (bench/bench_bf16.py): ranvier and Keras set that global policy before
# building; PyTorch runs forward and loss under torch.autocast("cpu", dtype=torch.bfloat16).
PRECISION = os.environ.get("BENCH_PRECISION", "float32")
MIXED = PRECISION == "mixed_bfloat16"


# ----------------------------------------------------------------- MXCSR (x86-64 only)
def _mxcsr_functions():
    import ctypes
    import mmap
    import platform
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return None, None
    get_code = bytes.fromhex("0FAE5C24FC" "8B4424FC" "C3")   # stmxcsr [rsp-4]; mov eax,[rsp-4]; ret
    set_code = bytes.fromhex("897C24FC" "0FAE5424FC" "C3")   # mov [rsp-4],edi; ldmxcsr [rsp-4]; ret
    buf = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    buf.write(get_code.ljust(16, b"\x90") + set_code)
    addr = ctypes.addressof(ctypes.c_char.from_buffer(buf))
    _mxcsr_functions.keep = buf  # keep the mapping alive
    return (ctypes.CFUNCTYPE(ctypes.c_uint32)(addr),
            ctypes.CFUNCTYPE(None, ctypes.c_uint32)(addr + 16))


MXCSR_FTZ, MXCSR_DAZ = 1 << 15, 1 << 6
_get_mxcsr, _set_mxcsr = _mxcsr_functions()
if FTZ and _set_mxcsr is not None:
    _set_mxcsr(_get_mxcsr() | MXCSR_FTZ | MXCSR_DAZ)

# protocol channel: keep the real stdout for replies, send everything else to stderr
_proto = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(2, 1)
sys.stdout = sys.stderr

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_workloads as TW  # noqa: E402

try:
    from threadpoolctl import threadpool_limits
    _limits = threadpool_limits(THREADS)
except ImportError:  # pragma: no cover
    _limits = None


from train_runners import RUNNERS, NumpyRunner64, _blas_info, _median, _status_kb  # noqa: E402,F401




# ====================================================================== loop
def main():
    state = {}
    runner = None
    err = None
    try:
        runner = RUNNERS[FRAMEWORK]()
    except Exception as e:  # not installed / cannot start: the driver skips this peer
        err = f"{type(e).__name__}: {e}"
    info = {"ready": err is None, "error": err, "pid": os.getpid(), "ftz": FTZ,
            "mxcsr": hex(_get_mxcsr()) if _get_mxcsr else None,
            "versions": dict(runner.versions(), threadpools=_blas_info()) if runner else {},
            "rss_kb": _status_kb("VmRSS")}
    _proto.write(json.dumps(info) + "\n")
    if err:
        return
    for line in sys.stdin:
        msg = json.loads(line)
        cmd = msg["cmd"]
        try:
            if cmd == "quit":
                _proto.write(json.dumps({"ok": True}) + "\n")
                break
            reply = handle(runner, state, msg)
        except Exception as e:
            reply = {"error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc(limit=6)}
        _proto.write(json.dumps(reply) + "\n")


def handle(runner, state, msg):
    cmd = msg["cmd"]
    if cmd == "setup":
        name = msg["workload"]
        state.clear()
        state["name"] = name
        rss0 = _status_kb("VmRSS")
        x, y = TW.make_data(name, msg.get("n"), "train")
        state["n_test"] = msg.get("n_test")
        runner.setup(name, x, y, msg.get("units", 1))
        state["xy"] = (x, y)
        state["x_probe"] = None
        return {"ok": True, "rss_before_data_kb": rss0, "rss_kb": _status_kb("VmRSS"),
                "data_bytes": int(x.nbytes + y.nbytes), "n": int(x.shape[0]),
                "fused_optimizer": getattr(runner, "fused", None)}
    if cmd == "unit":
        t0 = time.perf_counter()
        loss = runner.unit()
        dt = time.perf_counter() - t0
        dt = getattr(runner, "last_seconds", dt)  # Keras: its own epoch time
        return {"seconds": dt, "loss": loss}
    if cmd == "eval":
        name = state["name"]
        if "test" not in state:
            state["test"] = TW.make_data(name, state["n_test"], "test")
        xt, yt = state["test"]
        return TW.score(name, runner.predict(xt), yt)
    if cmd in ("latency", "throughput"):
        name = state["name"]
        if "test" not in state:
            state["test"] = TW.make_data(name, state["n_test"], "test")
        xt = state["test"][0]
        if cmd == "latency":
            rows = [np.ascontiguousarray(xt[i:i + 1]) for i in range(64)]
            budget = float(msg.get("budget", 0.5))
            out = {}
            for label, fn in runner.latency_fns().items():
                for r in rows[:3]:
                    fn(r)  # warm
                ts = []
                t_end = time.perf_counter() + budget
                i = 0
                while (time.perf_counter() < t_end and i < msg.get("max_calls", 20000)) or i < 15:
                    r = rows[i % 64]
                    t0 = time.perf_counter_ns()
                    fn(r)
                    ts.append(time.perf_counter_ns() - t0)
                    i += 1
                out[label] = {"us": _median(ts) / 1e3, "calls": i}
            return out
        b = int(msg.get("batch", 1024))
        xb = np.ascontiguousarray(xt[:b])
        out = {}
        for label, fn in runner.batch_fns().items():
            fn(xb)
            ts = []
            for _ in range(int(msg.get("reps", 5))):
                t0 = time.perf_counter()
                fn(xb)
                ts.append(time.perf_counter() - t0)
            out[label] = {"seconds": _median(ts), "batch": b}
        return out
    if cmd == "gemm":
        m, k, n = msg["m"], msg["k"], msg["n"]
        rng = np.random.default_rng(0)
        a = rng.random((m, k), dtype=np.float32)
        b = rng.random((k, n), dtype=np.float32)
        runner.gemm(a, b)
        ts = []
        for _ in range(int(msg.get("reps", 5))):
            t0 = time.perf_counter()
            runner.gemm(a, b)
            ts.append(time.perf_counter() - t0)
        return {"gflops": 2.0 * m * n * k / _median(ts) / 1e9}
    if cmd == "same_batches":
        # A fresh model from the workload's initial weights, trained for `steps` batches in
        # the order of a shared permutation (the driver compares ranvier's losses with the
        # NumPy reference's); the timed model is left as it is.
        if not hasattr(runner, "step_on"):
            raise ValueError(f"{FRAMEWORK} has no same-batches control")
        x, y = state["xy"]
        # NumPy's side is its float64 twin: the reference, not another float32 rounding
        fresh = NumpyRunner64() if FRAMEWORK == "numpy" else type(runner)()
        fresh.setup(state["name"], x, y, 1)
        B = TW.WORKLOADS[state["name"]]["batch"]
        perm = np.random.default_rng(int(msg["seed"])).permutation(x.shape[0])
        steps = min(int(msg["steps"]), x.shape[0] // B)
        return {"losses": [fresh.step_on(perm[s * B:(s + 1) * B]) for s in range(steps)]}
    if cmd == "mem":
        return {"hwm_kb": _status_kb("VmHWM"), "rss_kb": _status_kb("VmRSS")}
    if cmd == "mem_reset":
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            ok = True
        except OSError:
            ok = False
        return {"ok": ok, "hwm_kb": _status_kb("VmHWM"), "rss_kb": _status_kb("VmRSS")}
    if cmd == "save":
        runner.save(msg["path"])
        return {"ok": True}
    raise ValueError(f"unknown command {cmd!r}")


if __name__ == "__main__":
    main()
