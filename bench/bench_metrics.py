"""What metrics cost inside fit: the same small MLP trained with no metric, with sets of the
built-in metrics (computed in C++ inside the epoch), and with a Python metric function (the
slower path: the C++ epoch calls back into Python once per batch).

    python bench/bench_metrics.py                      # 20000 x 20, batch 32, 5 timed epochs
    python bench/bench_metrics.py --rows 60000 --batch-size 128 --epochs 3 --threads 1

Per configuration: the median seconds per epoch over interleaved repeats (every
configuration once per round, so other load hits all of them), and the cost per step
relative to training without metrics. Run it on a quiet machine for figures to report.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np

try:
    import ranvier
    from ranvier import metrics as M
except ImportError:  # pragma: no cover - run from a source tree
    sys.path.insert(0, "python")
    import ranvier
    from ranvier import metrics as M


def py_mae(y_true, y_pred):
    """A user's metric function: runs in Python once per batch."""
    return np.mean(np.abs(y_true - y_pred), axis=-1)


CONFIGS = {
    "none": lambda: [],
    "accuracy": lambda: ["accuracy"],
    "auc+precision+recall": lambda: [M.AUC(), M.Precision(), M.Recall()],
    "probabilistic+hinge": lambda: ["bce", "kl_divergence", "hinge", "poisson"],
    "scores": lambda: [M.F1Score(), M.R2Score(), M.PrecisionAtRecall(0.5), M.TruePositives(thresholds=[0.3, 0.7])],
    "python fn": lambda: [py_mae],
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--features", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=5, help="timed rounds (one epoch per config each)")
    ap.add_argument("--threads", type=int, default=0, help="0: ranvier's default")
    args = ap.parse_args()
    if args.threads:
        ranvier.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.rows, args.features)).astype(np.float32)
    y = (x[:, :1] + 0.5 * rng.standard_normal((args.rows, 1)) > 0).astype(np.float32)
    models = {}
    for name, make in CONFIGS.items():
        ranvier.utils.set_random_seed(0)
        model = ranvier.Sequential([ranvier.Input(shape=(args.features,)),
                                    ranvier.layers.Dense(32, activation="relu"),
                                    ranvier.layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=make())
        model.fit(x, y, epochs=1, batch_size=args.batch_size, verbose=0)  # warm-up
        models[name] = model
    times = {name: [] for name in CONFIGS}
    for _ in range(args.epochs):
        for name, model in models.items():
            t = time.perf_counter()
            model.fit(x, y, epochs=1, batch_size=args.batch_size, verbose=0)
            times[name].append(time.perf_counter() - t)
    steps = -(-args.rows // args.batch_size)
    base = statistics.median(times["none"])
    print(f"{args.rows} rows x {args.features}, batch {args.batch_size} ({steps} steps/epoch), "
          f"{ranvier.get_num_threads()} threads, isa {ranvier.isa()}")
    print(f"{'metrics':24s} {'s/epoch':>9s} {'us/step':>9s} {'+us/step':>9s}")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:24s} {med:9.4f} {med / steps * 1e6:9.1f} {(med - base) / steps * 1e6:9.1f}")


if __name__ == "__main__":
    main()
