"""Where ranvier's training time goes, per workload of bench/ (ranvier.utils.profile()).

    python bench/profile_workloads.py                      # W1, W2, W3, W5 at 1 thread
    python bench/profile_workloads.py --threads 2 --workloads W2 W5 --rows 16384
    python bench/profile_workloads.py --quick              # smoke test

For each workload (bench/train_workloads.py: the same data, network, optimizer and batch
size as bench/bench_train.py) the script trains one warm-up epoch, then profiles --epochs
epochs with ranvier.utils.profile() and prints a table per workload: every layer's forward
and backward seconds, the phases outside the layers (gathering the shuffled rows, the loss
and its gradient, metrics, the optimizer step) and what is left to Python.

"GEMM" is the time the epoch's matrix products take on their own: each Dense layer's
forward X @ W, its dW = X^T @ dZ and (except the first layer) dX = dZ @ W^T, on the
workload's shapes, timed with the GEMM driver alone (the fastest of --gemm-repeats passes
of as many calls as the epoch makes, less the measured cost of a call on a 1x1x1 problem)
at the same thread count. "not GEMM" is the epoch's time less that: bias, activations and
their derivatives, BatchNormalization, Dropout, column sums, the loss, the optimizer,
data gathering and Python. Times are medians over --epochs epochs' profiles ... of one
process on a machine that may be busy: read them as shares, not as records.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import train_workloads as TW  # noqa: E402


def cpu_info():
    model, flags, l2 = platform.processor() or "?", set(), "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and model in ("?", "x86_64", ""):
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags") and not flags:
                    flags = set(line.split(":", 1)[1].split())
        with open("/sys/devices/system/cpu/cpu0/cache/index2/size") as f:
            l2 = f.read().strip()
    except OSError:
        pass
    simd = [f for f in ("avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_bf16", "avx512_vnni") if f in flags]
    return f"{model}, {os.cpu_count()} CPUs, L2 {l2} per core, flags: {' '.join(simd) or 'none of interest'}"


def gemm_calls(name, n):
    """(m, n, k, ta, tb, calls) of every GEMM one epoch of n rows makes in the Dense layers."""
    w = TW.WORKLOADS[name]
    dims, B = w["dims"], w["batch"]
    full, last = divmod(n, B)
    out = []
    for rows, steps in ((B, full), (last, 1 if last else 0)):
        if not steps:
            continue
        for i in range(len(dims) - 1):
            k, u = dims[i], dims[i + 1]
            out.append((rows, u, k, False, False, steps))       # forward  X @ W
            out.append((k, u, rows, True, False, steps))        # dW = X^T @ dZ
            if i > 0:
                out.append((rows, k, u, False, True, steps))    # dX = dZ @ W^T
    return out


def time_gemms(core, calls, threads, repeats):
    """Seconds the GEMM driver alone takes for these calls (best of `repeats` passes)."""
    rng = np.random.default_rng(0)
    tiny = [np.ones((1, 1), np.float32)] * 3

    def per_call_overhead(reps=2000):
        t0 = time.perf_counter()
        for _ in range(reps):
            core._sgemm_full(tiny[0], tiny[1], tiny[2], False, False, 1.0, 0.0, None, False, threads)
        return (time.perf_counter() - t0) / reps

    total = 0.0
    over = min(per_call_overhead() for _ in range(3))
    for (m, n, k, ta, tb, count) in calls:
        a = rng.random((k, m) if ta else (m, k), dtype=np.float32)
        b = rng.random((n, k) if tb else (k, n), dtype=np.float32)
        c = np.empty((m, n), np.float32)
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            for _ in range(count):
                core._sgemm_full(a, b, c, ta, tb, 1.0, 0.0, None, False, threads)
            best = min(best, time.perf_counter() - t0)
        total += max(0.0, best - count * over)
    return total


def profile_workload(rv, name, n, epochs, threads, gemm_repeats):
    x, y = TW.make_data(name, n, "train")
    w = TW.WORKLOADS[name]
    if w["task"] == "sparse":
        y = y.astype(np.float32)
    elif w["task"] == "categorical":
        y = np.eye(w["dims"][-1], dtype=np.float32)[y]
    m = TW.ranvier_model(rv, name)
    m.fit(x, y, batch_size=w["batch"], epochs=1, verbose=0)  # warm-up
    profs = []
    for _ in range(epochs):
        with rv.utils.profile() as p:
            m.fit(x, y, batch_size=w["batch"], epochs=1, verbose=0)
        profs.append(p.as_dict())
    med = lambda v: float(np.median(v))  # noqa: E731
    layers = [(l["layer"], l["type"], med([p["layers"][i]["forward_s"] for p in profs]),
               med([p["layers"][i]["backward_s"] for p in profs])) for i, l in enumerate(profs[0]["layers"])]
    phases = {k: med([p["phases"][k] for p in profs]) for k in profs[0]["phases"]}
    wall = med([p["wall_s"] for p in profs])
    gemm = time_gemms(rv._core, gemm_calls(name, n), threads, gemm_repeats)
    return {"wall": wall, "layers": layers, "phases": phases, "gemm": gemm, "n": n}


def table(name, r):
    wall = r["wall"]
    pct = lambda s: f"{100.0 * s / wall:6.1f}%"  # noqa: E731
    w = TW.WORKLOADS[name]
    lines = [f"{name}: {r['n']} rows, batch {w['batch']}, {w['optimizer']}, "
             f"{r['wall']:.3f} s per epoch ({r['n'] / wall:,.0f} samples/s)",
             f"  {'layer / phase':<46}{'forward s':>10}{'backward s':>11}{'total s':>10}{'share':>8}"]
    for lname, ltype, f, b in r["layers"]:
        lines.append(f"  {lname + ' (' + ltype + ')':<46}{f:>10.4f}{b:>11.4f}{f + b:>10.4f}{pct(f + b)}")
    labels = {"data": "data (gather shuffled rows)", "loss": "loss and its gradient", "metrics": "metrics",
              "update": "update (optimizer step)", "python_and_other": "python and other"}
    for k, s in r["phases"].items():
        lines.append(f"  {labels.get(k, k):<46}{'':>10}{'':>11}{s:>10.4f}{pct(s)}")
    g = min(r["gemm"], wall)
    lines.append(f"  {'GEMM (the epoch`s products alone)':<46}{'':>10}{'':>11}{g:>10.4f}{pct(g)}")
    lines.append(f"  {'not GEMM':<46}{'':>10}{'':>11}{wall - g:>10.4f}{pct(wall - g)}")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workloads", nargs="+", default=["W1", "W2", "W3", "W5"], choices=sorted(TW.WORKLOADS))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rows", type=int, default=None, help="rows per epoch (default: W3 8192, others 16384)")
    ap.add_argument("--epochs", type=int, default=3, help="profiled epochs (medians)")
    ap.add_argument("--gemm-repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="small data, 1 profiled epoch")
    args = ap.parse_args(argv)
    import ranvier as rv
    rv.set_num_threads(args.threads)
    print(f"profile_workloads: ranvier {getattr(rv, '__version__', '?')} ({rv.isa()} kernels), "
          f"{args.threads} thread(s); {cpu_info()}; load average {os.getloadavg()[0]:.1f}")
    for name in args.workloads:
        n = args.rows or (1024 if args.quick else (8192 if name == "W3" else 16384))
        r = profile_workload(rv, name, n, 1 if args.quick else args.epochs, args.threads,
                             1 if args.quick else args.gemm_repeats)
        print()
        print(table(name, r))
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
