"""fit on the same data given as arrays, a generator, a PyDataset and a torch DataLoader:
seconds per epoch for ranvier, and for Keras 3 on the same inputs where it is installed.

    python bench/bench_data_inputs.py              # 50000 x 32 -> 64 -> 64 -> 1, batch 32 and 256
    python bench/bench_data_inputs.py --quick      # a smoke run (< 30 s)
    /work/venv-peers/bin/python bench/bench_data_inputs.py   # with Keras and torch available

Each case trains one warm-up epoch and then --epochs timed epochs inside one fit call (the
median epoch comes from a callback's clock); the generator is infinite with
steps_per_epoch, the PyDataset slices the arrays, the DataLoader wraps a TensorDataset. The
array case is ranvier's whole-epoch C++ path; the other cases go batch by batch with the
next batch prefetched by a background thread, so the gap to arrays is the per-batch cost.
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))


class _Clock:
    def __init__(self):
        self.times = []

    def on_epoch_begin(self, epoch, logs=None):
        self._t = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self._t)


def _data(n, d, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype(np.float32)
    y = np.tanh(x @ rng.normal(size=(d, 1)).astype(np.float32) / math.sqrt(d))
    return x, y


def _sources(lib, x, y, bs):
    n = len(x)
    steps = math.ceil(n / bs)

    def gen():
        while True:
            for i in range(0, n, bs):
                yield x[i:i + bs], y[i:i + bs]

    base = lib.utils.PyDataset

    class Slices(base):
        def __init__(self):
            super().__init__()

        def __len__(self):
            return steps

        def __getitem__(self, i):
            return x[i * bs:(i + 1) * bs], y[i * bs:(i + 1) * bs]

    out = {"arrays": (dict(x=x, y=y, batch_size=bs, shuffle=False), None),
           "generator": (dict(x=gen(), steps_per_epoch=steps), None),
           "PyDataset": (dict(x=Slices(), shuffle=False), None)}
    try:
        import torch
        ds = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
        out["DataLoader"] = (dict(x=torch.utils.data.DataLoader(ds, batch_size=bs)), None)
    except ImportError:
        pass
    return out


def _run(lib, name, x, y, bs, epochs):
    results = {}
    for case, (kwargs, _) in _sources(lib, x, y, bs).items():
        if hasattr(lib.utils, "set_random_seed"):
            lib.utils.set_random_seed(0)
        model = lib.Sequential([lib.Input((x.shape[1],)), lib.layers.Dense(64, activation="relu"),
                                lib.layers.Dense(64, activation="relu"), lib.layers.Dense(1)])
        model.compile(lib.optimizers.SGD(0.01, momentum=0.9), "mse")
        clock = _Clock()
        cb = type("Clock", (lib.callbacks.Callback,), {"on_epoch_begin": _Clock.on_epoch_begin,
                                                       "on_epoch_end": _Clock.on_epoch_end})()
        cb.times = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            h = model.fit(epochs=epochs + 1, verbose=0, callbacks=[cb], **kwargs)
        med = statistics.median(cb.times[1:])
        results[case] = (med, float(h.history["loss"][-1]))
        print(f"{name:8s} batch {bs:4d}  {case:10s}  {med * 1000:9.1f} ms/epoch  "
              f"({med / math.ceil(len(x) / bs) * 1e6:7.1f} us/step)  final loss {results[case][1]:.4f}",
              flush=True)
        del clock
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 256])
    ap.add_argument("--no-keras", action="store_true")
    args = ap.parse_args()
    n = 5000 if args.quick else 50000
    epochs = 1 if args.quick else args.epochs
    x, y = _data(n, 32)
    import ranvier
    libs = [("ranvier", ranvier)]
    if not args.no_keras:
        try:
            os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
            import keras
            libs.append(("keras", keras))
        except ImportError:
            print("(keras is not installed: ranvier only)")
    for bs in args.batch_sizes:
        for name, lib in libs:
            _run(lib, name, x, y, bs, epochs)


if __name__ == "__main__":
    main()
