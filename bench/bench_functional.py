"""A functional ranvier.Model against the same Sequential, on W1 (bench/train_workloads.py).

Both run the same C++ network (the functional chain is lowered onto it), so they should
train at the same speed and to bit-identical weights; "graph" builds the same chain on the
graph path (``ranvier._functional_graph.Functional``: add_input/add_node on the DAG network,
what a model with several inputs or outputs runs on), the issue's W1 target being within 3%
of Sequential. This prints the median epoch time of each, interleaved, and checks the
weights agree. Run on a quiet machine:

    PYTHONPATH=python python bench/bench_functional.py [--quick] [--repeats 5]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_workloads as W  # noqa: E402

import ranvier  # noqa: E402
from ranvier import layers  # noqa: E402


def build(kind: str, dims):
    acts = ["relu"] * (len(dims) - 2) + ["softmax"]
    if kind == "sequential":
        model = ranvier.Sequential([ranvier.Input(shape=(dims[0],))] +
                                   [layers.Dense(u, activation=a) for u, a in zip(dims[1:], acts)])
    else:
        inp = ranvier.Input(shape=(dims[0],))
        x = inp
        for u, a in zip(dims[1:], acts):
            x = layers.Dense(u, activation=a)(x)
        if kind == "graph":
            from ranvier._functional_graph import Functional
            model = Functional(inp, x)  # the chain on the DAG path
        else:
            model = ranvier.Model(inp, x)
    model.set_weights(W.initial_weights("W1"))
    model.compile(optimizer=ranvier.optimizers.Adam(learning_rate=1e-3, epsilon=1e-8),
                  loss="sparse_categorical_crossentropy")
    return model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer rows (a smoke run, not a measurement)")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    cfg = W.WORKLOADS["W1"]
    n = W.QUICK_N["W1"][0] if args.quick else cfg["n"]
    x, y = W.make_data("W1", n=n)
    models = {k: build(k, cfg["dims"]) for k in ("sequential", "functional", "graph")}
    times = {k: [] for k in models}
    for _ in range(args.repeats):  # interleaved
        for k, m in models.items():
            ranvier.utils.set_random_seed(1)
            t0 = time.perf_counter()
            m.fit(x, y, batch_size=cfg["batch"], epochs=1, verbose=0)
            times[k].append(time.perf_counter() - t0)
    same = all(np.array_equal(a, b) for a, b in zip(models["sequential"].get_weights(),
                                                     models["functional"].get_weights()))
    same_graph = all(np.array_equal(a, b) for a, b in zip(models["sequential"].get_weights(),
                                                           models["graph"].get_weights()))
    seq, fn = statistics.median(times["sequential"]), statistics.median(times["functional"])
    gr = statistics.median(times["graph"])
    print(f"W1 n={n}, {args.repeats} interleaved epochs each, {ranvier.get_num_threads()} threads, isa={ranvier.isa()}")
    print(f"  Sequential : {seq:.4f} s/epoch ({n / seq:,.0f} samples/s)")
    print(f"  functional : {fn:.4f} s/epoch ({n / fn:,.0f} samples/s), ratio {fn / seq:.3f}")
    print(f"  graph path : {gr:.4f} s/epoch ({n / gr:,.0f} samples/s), ratio {gr / seq:.3f}")
    print(f"  weights bit-identical after training: functional {same}, graph path {same_graph}")


if __name__ == "__main__":
    main()
