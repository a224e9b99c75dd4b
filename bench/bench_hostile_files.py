"""Cost of loading small hostile model files (each under 1 MB; tests/hostile_files.py
builds them): for each file and loader, the wall time, the growth of the peak resident
set (ru_maxrss: C++ and Python allocations alike) and tracemalloc's peak (Python and
NumPy allocations), and what the loader said.

Loaders: ``py`` = ranvier.models.load_model (safetensors, .keras) or Sequential.load_weights
(.h5 into Dense(3) on 4 inputs), ``cpp`` = the C++ API's Model::load (safetensors only).
Each measurement runs in a fresh process, so peaks do not mix (time and RSS without
tracemalloc; tracemalloc's peak in a second process, as tracing slows Python down).

Target: no file under 1 MB makes a loader take more than 1 s or allocate more
than 64 MB beyond its own weights.

    python bench/bench_hostile_files.py            # every file
    python bench/bench_hostile_files.py -k auc     # names containing "auc"
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
import hostile_files  # noqa: E402

CHILD = r"""
import json, os, resource, sys, time, tracemalloc
kind, loader, path, trace = sys.argv[1:5]
import numpy as np
import ranvier
from ranvier import _core
model = None
if kind == "h5":
    model = ranvier.Sequential([ranvier.Input(shape=(4,)), ranvier.layers.Dense(3)])
# warm up: the lazily imported modules and a first load of a valid file are not the file's cost
import tempfile, hostile_files
with tempfile.TemporaryDirectory() as d:
    p0 = os.path.join(d, "ok.safetensors")
    open(p0, "wb").write(hostile_files.small_model_file())
    ranvier.models.load_model(p0)
    _core.io_cpp_load_check(p0)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if trace == "1":
    tracemalloc.start()
t0 = time.perf_counter()
outcome = "loaded"
try:
    if kind == "h5":
        model.load_weights(path)
    elif loader == "py":
        ranvier.models.load_model(path)
    else:
        _core.io_cpp_load_check(path)
except Exception as e:
    outcome = f"{type(e).__name__}: {str(e)[:150]}"
dt = time.perf_counter() - t0
_, tpeak = tracemalloc.get_traced_memory() if trace == "1" else (0, float("nan"))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": dt, "rss_mb": (peak - base) / 1024, "traced_mb": tpeak / 2**20,
                  "outcome": outcome}))
"""


def measure(kind, loader, path, timeout=120):
    """Time and peak RSS from one process, tracemalloc's peak from another (tracing slows
    Python's allocations several times over and adds to the resident set)."""
    plain = _child(kind, loader, path, timeout, False)
    traced = _child(kind, loader, path, timeout, True)
    plain["traced_mb"] = traced["traced_mb"]
    return plain


def _child(kind, loader, path, timeout, trace):
    try:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [os.path.join(HERE, "..", "tests")] + os.environ.get("PYTHONPATH", "").split(os.pathsep)))
        r = subprocess.run([sys.executable, "-c", CHILD, kind, loader, path, "1" if trace else "0"], capture_output=True, text=True,
                           timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"seconds": float(timeout), "rss_mb": float("nan"), "traced_mb": float("nan"),
                "outcome": f"TIMEOUT after {timeout} s"}
    if r.returncode != 0:
        return {"seconds": float("nan"), "rss_mb": float("nan"), "traced_mb": float("nan"),
                "outcome": f"CRASH rc={r.returncode}: {r.stderr[-200:]}"}
    return json.loads(r.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-k", default="", help="only files whose name contains this")
    ap.add_argument("--timeout", type=float, default=120)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, make in hostile_files.SAFETENSORS.items():
            if args.k not in name:
                continue
            path = os.path.join(tmp, name + ".safetensors")
            with open(path, "wb") as f:
                f.write(make())
            for loader in ("py", "cpp"):
                rows.append((name, os.path.getsize(path), loader, measure("st", loader, path, args.timeout)))
        try:
            import h5py  # noqa: F401
            have_h5 = True
        except ImportError:
            have_h5 = False
        for name, make in hostile_files.KERAS.items():  # Keras .keras archives (load_model)
            if not have_h5 or args.k not in name:
                continue
            path = os.path.join(tmp, name + ".keras")
            with open(path, "wb") as f:
                f.write(make())
            rows.append((name, os.path.getsize(path), "py", measure("st", "py", path, args.timeout)))
        for name, make in hostile_files.H5.items():
            if not have_h5 or args.k not in name:
                continue
            path = os.path.join(tmp, name + ".weights.h5")
            make(path)
            rows.append((name, os.path.getsize(path), "py", measure("h5", "py", path, args.timeout)))
    print(f"{'file':32} {'bytes':>8} {'loader':6} {'seconds':>8} {'rss MB':>8} {'traced MB':>9}  outcome")
    worst_t = worst_m = 0.0
    for name, size, loader, r in rows:
        print(f"{name:32} {size:8d} {loader:6} {r['seconds']:8.3f} {r['rss_mb']:8.1f} {r['traced_mb']:9.1f}  "
              f"{r['outcome'][:90]}")
        worst_t = max(worst_t, r["seconds"] if r["seconds"] == r["seconds"] else 0)
        worst_m = max(worst_m, r["rss_mb"] if r["rss_mb"] == r["rss_mb"] else 0, r["traced_mb"]
                      if r["traced_mb"] == r["traced_mb"] else 0)
    print(f"\nworst time {worst_t:.3f} s, worst memory growth {worst_m:.1f} MB "
          f"(target: 1 s and 64 MB for files under 1 MB)")


if __name__ == "__main__":
    main()
