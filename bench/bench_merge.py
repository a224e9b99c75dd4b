"""Merge layers (cpp/src/layers/merge.cpp, merge_dot.cpp on the f32-vmerge kernels): each
layer's forward and backward through its C++ layer, against the float32 NumPy expression
computing the same thing, per ISA tier, in one run.

    python bench/bench_merge.py                          # 2 inputs of (4096 x 256), 1 thread
    python bench/bench_merge.py --inputs 3 --rows 8192 --cols 64 --threads 2
    python bench/bench_merge.py --only Add Concatenate --isa avx512 --repeats 21
    python bench/bench_merge.py --cpu-time               # busy machine: process CPU time

GB/s counts the bytes the operation must move (forward: read the k inputs, write the
output; backward: read dy (and the inputs where the gradient needs them), write the k
gradients). Timings are medians of interleaved repeats (numpy, ranvier, numpy, ...), so
other load hits both. The NumPy side runs single-threaded (it is single-threaded anyway).
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import ranvier
from ranvier import _core

LAYERS = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot"]


def numpy_forward(name, xs, out):
    if name == "Concatenate":
        return np.concatenate(xs, axis=1, out=out)
    if name == "Dot":
        return np.einsum("ij,ij->i", xs[0], xs[1], out=out[:, 0])
    op = {"Add": np.add, "Subtract": np.subtract, "Multiply": np.multiply, "Average": np.add,
          "Maximum": np.maximum, "Minimum": np.minimum}[name]
    np.copyto(out, xs[0])
    for x in xs[1:]:
        op(out, x, out=out)
    if name == "Average":
        np.divide(out, np.float32(len(xs)), out=out)
    return out


def numpy_backward(name, xs, dy, dxs):
    k = len(xs)
    if name in ("Add",):
        for d in dxs:
            np.copyto(d, dy)
    elif name == "Subtract":
        np.copyto(dxs[0], dy)
        np.negative(dy, out=dxs[1])
    elif name == "Average":
        for d in dxs:
            np.divide(dy, np.float32(k), out=d)
    elif name == "Multiply":
        for i, d in enumerate(dxs):
            np.copyto(d, dy)
            for j, x in enumerate(xs):
                if j != i:
                    np.multiply(d, x, out=d)
    elif name in ("Maximum", "Minimum"):
        y = numpy_forward(name, xs, np.empty_like(xs[0]))
        taken = np.zeros(y.shape, bool)
        for x, d in zip(xs, dxs):
            hit = (x == y) & ~taken
            np.multiply(dy, hit, out=d)
            taken |= hit
    elif name == "Concatenate":
        c = 0
        for d in dxs:
            np.copyto(d, dy[:, c:c + d.shape[1]])
            c += d.shape[1]
    elif name == "Dot":
        np.multiply(xs[1], dy, out=dxs[0])
        np.multiply(xs[0], dy, out=dxs[1])


def timed(fn, repeats, clock):
    ts = []
    for _ in range(repeats):
        t = clock()
        fn()
        ts.append(clock() - t)
    return statistics.median(ts)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=4096)
    p.add_argument("--cols", type=int, default=256)
    p.add_argument("--inputs", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=11)
    p.add_argument("--only", nargs="*", default=LAYERS)
    p.add_argument("--isa", nargs="*", default=[i for i in ranvier.supported_isas() if i != "avx512bf16"])
    p.add_argument("--cpu-time", action="store_true")
    a = p.parse_args()
    clock = time.process_time if a.cpu_time else time.perf_counter
    ranvier.set_num_threads(a.threads)
    rng = np.random.default_rng(0)
    print(f"{a.rows} x {a.cols} per input, {a.inputs} inputs, {a.threads} thread(s), median of {a.repeats}")
    print(f"{'layer':<12}{'isa':<8}{'pass':<9}{'numpy ms':>10}{'ranvier ms':>12}{'GB/s':>8}{'speed-up':>10}")
    for name in a.only:
        k = 2 if name in ("Subtract", "Dot") else a.inputs
        xs = [rng.standard_normal((a.rows, a.cols)).astype(np.float32) for _ in range(k)]
        for isa in a.isa:
            _core.set_isa(isa)
            core = _core.layer_from_config(name, {"axes": 1} if name == "Dot" else {},
                                           input_shapes=[[a.cols]] * k)
            out_w = core.build_inputs([a.cols] * k)
            core.reserve(a.rows)
            y = np.empty((a.rows, out_w), np.float32)
            ny = np.empty_like(y)
            dy = rng.standard_normal(y.shape).astype(np.float32)
            dxs = [np.empty_like(x) for x in xs]
            ndxs = [np.empty_like(x) for x in xs]
            core.forward_inputs(xs, y)
            numpy_forward(name, xs, ny)
            fwd = [timed(lambda: numpy_forward(name, xs, ny), a.repeats, clock),
                   timed(lambda: core.forward_inputs(xs, y), a.repeats, clock)]
            bwd = [timed(lambda: numpy_backward(name, xs, dy, ndxs), a.repeats, clock),
                   timed(lambda: core.backward_inputs(xs, y, dy, dxs), a.repeats, clock)]
            elems = a.rows * a.cols * k
            for what, (tn, tr), nbytes in (("forward", fwd, 4 * (elems + y.size)),
                                           ("backward", bwd, 4 * (dy.size + elems * (2 if name in (
                                               "Multiply", "Maximum", "Minimum", "Dot") else 1)))):
                print(f"{name:<12}{isa:<8}{what:<9}{tn * 1e3:>10.3f}{tr * 1e3:>12.3f}"
                      f"{nbytes / tr / 1e9:>8.1f}{tn / tr:>9.2f}x")
    ranvier.set_num_threads(0)


if __name__ == "__main__":
    main()
