"""GEMM benchmark: ranvier.ops.matmul vs numpy.matmul (its BLAS) in one run.

    python bench/bench_gemm.py                    # the full table at 1 and 2 threads
    python bench/bench_gemm.py --threads 1 --repeats 11 --shapes small fwd784
    python bench/bench_gemm.py --threads 1 --cpu-time   # busy machine: CPU time, 1 thread
    python bench/bench_gemm.py --ukernel avx2-6x16      # force one f32 tile (gemm_config.h)

For every shape, thread count and ISA, the numpy and ranvier timings are interleaved
(repeat r times numpy, then ranvier, ...) and the median of the repeats is reported,
so load from other processes hits both alike. Both libraries are limited to the same
thread count with threadpoolctl.threadpool_limits, which limits NumPy's BLAS and
(through libgomp) ranvier alike. GFLOP/s = 2*m*n*k / time.

Shapes are the dense-layer products a training loop runs: the forward product
X@W, and for backprop dW = X^T@dY ("A^T@B") and dX = dY@W^T ("A@B^T").
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np

try:
    from threadpoolctl import threadpool_info, threadpool_limits
except ImportError:  # pragma: no cover
    sys.exit("bench_gemm.py needs threadpoolctl: pip install threadpoolctl")

import ranvier
from ranvier import _core, _runtime, ops

# name -> (m, k, n, transpose_a, transpose_b, label); op(A) is m x k, op(B) is k x n.
SHAPES = {
    "fwd784": (128, 784, 256, False, False, "(128x784)@(784x256)"),
    "fwd784_dW": (784, 128, 256, True, False, "A^T@B (784x128)@(128x256)"),
    "fwd784_dX": (128, 256, 784, False, True, "A@B^T (128x256)@(256x784)"),
    "fwd2048": (512, 2048, 2048, False, False, "(512x2048)@(2048x2048)"),
    "fwd2048_dW": (2048, 512, 2048, True, False, "A^T@B (2048x512)@(512x2048)"),
    "fwd2048_dX": (512, 2048, 2048, False, True, "A@B^T (512x2048)@(2048x2048)"),
    "sq2048": (2048, 2048, 2048, False, False, "2048^3"),
    "small": (32, 64, 64, False, False, "(32x64)@(64x64)"),
}


def operands(m, k, n, ta, tb, rng):
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float32)
    return a, b


def calls_per_repeat(fn, target_s):
    fn()
    t0 = time.perf_counter()
    n = 0
    while True:
        fn()
        n += 1
        dt = time.perf_counter() - t0
        if dt > 0.05 or n >= 1000:
            break
    return max(1, int(n * target_s / dt))


def time_pair(f_np, f_rv, repeats, target_s, settle_s, clock=time.perf_counter):
    """Median seconds per call of each, repeats interleaved.

    settle_s: pause before each timed block, so that the other library's worker threads,
    which spin for a while after a call (OpenBLAS ~0.1 s, libgomp less), have gone to
    sleep and do not steal a core from the library being timed (matters at 2 threads on 2 cores).
    """
    n_np = calls_per_repeat(f_np, target_s)
    n_rv = calls_per_repeat(f_rv, target_s)
    t_np, t_rv = [], []
    for _ in range(repeats):
        for fn, n, out in ((f_np, n_np, t_np), (f_rv, n_rv, t_rv)):
            if settle_s:
                time.sleep(settle_s)
                fn()  # wake the pool up again
            t0 = clock()
            for _ in range(n):
                fn()
            out.append((clock() - t0) / n)
    return statistics.median(t_np), statistics.median(t_rv)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--target", type=float, default=0.1, help="seconds per repeat and library")
    p.add_argument("--settle", type=float, default=0.2,
                   help="seconds to pause before each timed block when threads > 1")
    p.add_argument("--cpu-time", action="store_true",
                   help="time 1-thread rows in process CPU time (steadier on a busy machine; "
                        "2-thread rows always use wall time)")
    p.add_argument("--shapes", nargs="+", default=list(SHAPES), choices=list(SHAPES))
    p.add_argument("--ukernel", default="config",
                   help="f32 micro-kernel for ranvier: scalar-4x8, avx2-6x16, avx512-12x32 (capped by "
                        "the ISA tier), or config: the per-CPU table's choice per shape (default)")
    p.add_argument("--isas", nargs="+", default=None,
                   help="ranvier ISAs to run (default: avx2 and the best one, if supported)")
    args = p.parse_args()

    supported = ranvier.supported_isas()
    isas = args.isas or sorted({i for i in ("avx2", supported[-1]) if i in supported},
                               key=supported.index)
    best = supported[-1]
    print(f"ranvier {ranvier.__version__}: isa={ranvier.isa()} supported={supported} "
          f"openmp={ranvier.build_info()['openmp']} gemm kernels: ", end="")
    print(", ".join(f"{i}={_kernel_name(i)}" for i in isas))
    tune = _core._gemm_tuning(ukernel=args.ukernel)
    try:
        load = open("/proc/loadavg").read().split()[:3]
    except OSError:
        load = ["n/a"]
    print(f"f32 tile: {tune['ukernel']} (per-CPU table row: {tune['config']}); "
          f"load average {' '.join(load)}")
    for info in threadpool_info():
        print(f"threadpoolctl: {info.get('user_api')}/{info.get('internal_api')} "
              f"{info.get('version')} arch={info.get('architecture')} "
              f"threading={info.get('threading_layer')} num_threads={info.get('num_threads')} "
              f"{info.get('filepath')}")
    print(f"median of {args.repeats} interleaved repeats (~{args.target}s each); ratio = ranvier/numpy "
          f"GFLOP/s (> 1: ranvier faster)\n")

    rng = np.random.default_rng(0)
    head = f"{'shape':32s} {'thr':>3s} {'isa':>7s} {'numpy GF/s':>11s} {'ranvier GF/s':>13s} {'ratio':>6s}"
    if len(isas) > 1:
        head += f" {'vs ' + best:>10s}"
    print(head)
    print("-" * len(head))
    previous_isa = ranvier.isa()
    try:
        for threads in args.threads:
            with threadpool_limits(limits=threads):
                # threadpool_limits reaches ranvier through libgomp, as it reaches BLAS
                assert ranvier.get_num_threads() == threads, ranvier.get_num_threads()
                for name in args.shapes:
                    m, k, n, ta, tb, label = SHAPES[name]
                    a, b = operands(m, k, n, ta, tb, rng)
                    opa = a.T if ta else a
                    opb = b.T if tb else b
                    flops = 2.0 * m * n * k
                    rows = {}
                    for isa in isas:
                        _runtime._force_isa(isa)
                        t_np, t_rv = time_pair(lambda: np.matmul(opa, opb),
                                               lambda: ops.matmul(a, b, ta, tb),
                                               args.repeats, args.target,
                                               args.settle if threads > 1 else 0.0,
                                               time.process_time if args.cpu_time and threads == 1
                                               else time.perf_counter)
                        rows[isa] = (flops / t_np * 1e-9, flops / t_rv * 1e-9)
                    for isa in isas:
                        g_np, g_rv = rows[isa]
                        line = (f"{label:32s} {threads:3d} {isa:>7s} {g_np:11.1f} {g_rv:13.1f} "
                                f"{g_rv / g_np:6.2f}")
                        if len(isas) > 1:
                            line += f" {g_rv / rows[best][1]:10.2f}"
                        print(line, flush=True)
    finally:
        _runtime._force_isa(previous_isa)
        _core._gemm_tuning(ukernel="config")


def _kernel_name(isa):
    prev = ranvier.isa()
    _runtime._force_isa(isa)
    try:
        return ranvier._core.kernel_names()["gemm"]
    finally:
        _runtime._force_isa(prev)


if __name__ == "__main__":
    main()
