"""Optimizer step throughput: ranvier's fused update vs the same update in NumPy, next to
the machine's memory bandwidth measured in the same run.

For each buffer size and thread count it times one optimizer step over a flat float32
buffer (medians of several repeats) and reports GB/s counted as the bytes the update
must move per element (read w, g and every slot; write w and every slot). The yardstick
is an in-place triad (a = a + s*c, 12 bytes/element, the optimizer's own access pattern:
in place, no write-allocate) over the same number of elements and over 10M elements
(DRAM), with the same kernels and threads; STREAM's a = b + s*c is printed too.

    python bench/bench_optimizers.py                 # 100K, 1M, 10M floats, 1 and 2 threads
    python bench/bench_optimizers.py --sizes 1e5 1e6 --optimizers adam sgd
    python bench/bench_optimizers.py --sweep         # where do 2 threads start to pay off?
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import ranvier
from ranvier import _core
from ranvier import optimizers as O

# bytes moved per element: 4 * (reads + writes) with reads = w, g, slots; writes = w, slots
SLOTS = {"sgd": 0, "sgd_momentum": 1, "rmsprop": 1, "adagrad": 1, "adadelta": 2, "adam": 2, "adamw": 2,
         "adamax": 2, "nadam": 2, "lion": 1, "ftrl": 2}
MAKE = {
    "sgd": lambda: O.SGD(),
    "sgd_momentum": lambda: O.SGD(momentum=0.9),
    "rmsprop": lambda: O.RMSprop(),
    "adagrad": lambda: O.Adagrad(),
    "adadelta": lambda: O.Adadelta(),
    "adam": lambda: O.Adam(),
    "adamw": lambda: O.AdamW(),
    "adamax": lambda: O.Adamax(),
    "nadam": lambda: O.Nadam(),
    "lion": lambda: O.Lion(),
    "ftrl": lambda: O.Ftrl(),
}


def bytes_per_element(name: str) -> int:
    return 4 * (2 + SLOTS[name] + 1 + SLOTS[name])


class NumpyStep:
    """The same Keras update written in NumPy the way a user would (float32, in place
    where natural; NumPy runs it on one thread)."""

    def __init__(self, name, n):
        self.name, self.t = name, 0
        z = lambda: np.zeros(n, np.float32)  # noqa: E731
        self.s = [z() for _ in range(SLOTS[name])]
        if name in ("adagrad", "ftrl"):
            self.s[0][:] = 0.1

    def __call__(self, w, g):
        s, lr, t = self.s, np.float32(0.001), self.t + 1
        self.t = t
        n = self.name
        if n == "sgd":
            w -= lr * g
        elif n == "sgd_momentum":
            m = s[0]
            m *= np.float32(0.9)
            m -= lr * g
            w += m
        elif n == "rmsprop":
            v = s[0]
            v *= np.float32(0.9)
            v += np.float32(0.1) * g * g
            w -= lr * g / np.sqrt(v + np.float32(1e-7))
        elif n == "adagrad":
            a = s[0]
            a += g * g
            w -= lr * g / np.sqrt(a + np.float32(1e-7))
        elif n == "adadelta":
            eg, ex = s
            eg *= np.float32(0.95)
            eg += np.float32(0.05) * g * g
            d = -np.sqrt(ex + np.float32(1e-7)) * g / np.sqrt(eg + np.float32(1e-7))
            ex *= np.float32(0.95)
            ex += np.float32(0.05) * d * d
            w += lr * d
        elif n in ("adam", "adamw"):
            m, v = s
            if n == "adamw":
                w -= w * np.float32(0.004 * 0.001)
            alpha = np.float32(0.001 * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t))
            m += (g - m) * np.float32(0.1)
            v += (g * g - v) * np.float32(0.001)
            w -= alpha * m / (np.sqrt(v) + np.float32(1e-7))
        elif n == "adamax":
            m, u = s
            m += (g - m) * np.float32(0.1)
            np.maximum(np.float32(0.999) * u, np.abs(g), out=u)
            w -= lr * m / (np.float32(1 - 0.9 ** t) * (u + np.float32(1e-7)))
        elif n == "nadam":
            m, v = s
            u_t, u_t1 = 0.9 * (1 - 0.5 * 0.96 ** t), 0.9 * (1 - 0.5 * 0.96 ** (t + 1))
            self.u_prod = getattr(self, "u_prod", 1.0) * u_t
            c1, c2 = np.float32(u_t1 / (1 - self.u_prod * u_t1)), np.float32((1 - u_t) / (1 - self.u_prod))
            m += (g - m) * np.float32(0.1)
            v += (g * g - v) * np.float32(0.001)
            m_hat = c1 * m + c2 * g
            w -= lr * m_hat / (np.sqrt(v / np.float32(1 - 0.999 ** t)) + np.float32(1e-7))
        elif n == "lion":
            m = s[0]
            w -= lr * np.sign(np.float32(0.9) * m + np.float32(0.1) * g)
            m *= np.float32(0.99)
            m += np.float32(0.01) * g
        elif n == "ftrl":
            acc, z = s
            new = acc + g * g
            z += g - (np.sqrt(new) - np.sqrt(acc)) / lr * w
            q = np.sqrt(new) / lr
            w[...] = (np.clip(z, 0, 0) - z) / q
            acc[...] = new


def median_time(fn, min_repeats=5, budget=0.6):
    """Median seconds of fn() over >= min_repeats runs (more while under `budget` s)."""
    fn()  # warm-up (page faults, caches)
    times = []
    start = time.perf_counter()
    while len(times) < min_repeats or (time.perf_counter() - start < budget and len(times) < 200):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def triad_gbs(n, threads, inplace=True):
    """GB/s of a = b + s*c (12 B/elt counted). In place (b is a) it moves exactly the
    counted bytes, like the optimizer's in-place update; into a separate array the CPU
    also reads `a` before writing it (write-allocate), so STREAM's count undercounts."""
    a = np.zeros(n, np.float32)
    b = a if inplace else np.ones(n, np.float32)
    c = np.full(n, 1e-6, np.float32)
    t = median_time(lambda: _core.update_triad(a, b, c, 0.5, threads))
    return 12 * n / t / 1e9


def numpy_copy_gbs(n):
    a = np.ones(n, np.float32)
    b = np.empty_like(a)
    t = median_time(lambda: np.copyto(b, a))
    return 8 * n / t / 1e9


def bench_step(name, n, threads):
    ranvier.set_num_threads(threads)
    opt = MAKE[name]()
    opt.build(n)
    rng = np.random.default_rng(0)
    w = rng.standard_normal(n).astype(np.float32)
    g = (rng.standard_normal(n) * 1e-3).astype(np.float32)
    core = opt._core
    t = median_time(lambda: core.apply(w, g))
    return t


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", nargs="*", type=float, default=[1e5, 1e6, 1e7])
    ap.add_argument("--threads", nargs="*", type=int, default=[1, 2])
    ap.add_argument("--optimizers", nargs="*", default=["sgd", "sgd_momentum", "rmsprop", "adagrad", "adam",
                                                        "nadam", "lion", "ftrl"])
    ap.add_argument("--no-numpy", action="store_true")
    ap.add_argument("--sweep", action="store_true", help="time Adam at 1 vs 2 threads across sizes")
    args = ap.parse_args()
    saved = ranvier.get_num_threads()
    info = ranvier.build_info()
    print(f"ranvier {info['version']}  isa={ranvier.isa()}  openmp={info['openmp']}  "
          f"update kernels={_core.kernel_names()['update']}  "
          f"parallel threshold={_core.optimizer_parallel_threshold()} elements")

    if args.sweep:
        _core.set_optimizer_parallel_threshold(1)
        print("\nAdam step, 1 vs 2 threads (threshold forced to 1 element), median us")
        print(f"{'elements':>10} {'1 thread':>10} {'2 threads':>10} {'speedup':>8}")
        for n in [4096, 8192, 16384, 32768, 65536, 131072, 262144]:
            t1 = bench_step("adam", n, 1)
            t2 = bench_step("adam", n, 2)
            print(f"{n:>10} {t1 * 1e6:>10.1f} {t2 * 1e6:>10.1f} {t1 / t2:>8.2f}")
        _core.set_optimizer_parallel_threshold(0)
        ranvier.set_num_threads(saved)
        return

    dram = {th: triad_gbs(10_000_000, th) for th in args.threads}
    stream = {th: triad_gbs(10_000_000, th, inplace=False) for th in args.threads}
    print("memory bandwidth, 10M floats (DRAM), 12 B/elt counted:\n  in-place triad a=a+s*c: " +
          ", ".join(f"{th} thr {dram[th]:.1f} GB/s" for th in args.threads) +
          "\n  STREAM triad a=b+s*c:   " + ", ".join(f"{th} thr {stream[th]:.1f} GB/s" for th in args.threads) +
          f"\n  NumPy copy (1 thread): {numpy_copy_gbs(10_000_000):.1f} GB/s (8 B/elt)")
    print()
    hdr = (f"{'elements':>9} {'thr':>3} {'optimizer':<13} {'B/elt':>5} {'ranvier ms':>10} {'GB/s':>6} "
           f"{'NumPy ms':>9} {'GB/s':>6} {'vs NumPy':>8} {'triad GB/s':>10} {'of triad':>8}")
    print(hdr)
    print("-" * len(hdr))
    for size in args.sizes:
        n = int(size)
        npt = {}
        if not args.no_numpy:
            rng = np.random.default_rng(0)
            w = rng.standard_normal(n).astype(np.float32)
            g = (rng.standard_normal(n) * 1e-3).astype(np.float32)
            for name in args.optimizers:
                step = NumpyStep(name, n)
                npt[name] = median_time(lambda: step(w, g), min_repeats=3)
        for th in args.threads:
            tri = triad_gbs(n, th)
            for name in args.optimizers:
                t = bench_step(name, n, th)
                b = bytes_per_element(name)
                gbs = b * n / t / 1e9
                if name in npt:
                    np_gbs = b * n / npt[name] / 1e9
                    np_cols = f"{npt[name] * 1e3:>9.3f} {np_gbs:>6.1f} {npt[name] / t:>7.1f}x"
                else:
                    np_cols = f"{'-':>9} {'-':>6} {'-':>8}"
                print(f"{n:>9} {th:>3} {name:<13} {b:>5} {t * 1e3:>10.3f} {gbs:>6.1f} {np_cols} "
                      f"{tri:>10.1f} {gbs / tri:>7.0%}")
        print()
    ranvier.set_num_threads(saved)
    print("GB/s = bytes the update must move (read w, g, slots; write w, slots) / median step time.\n"
          "'of triad': the step's GB/s over the in-place triad's at the same element count and threads\n"
          "(small sizes run from cache, so the triad there is a cache-bandwidth yardstick).")


if __name__ == "__main__":
    main()
