"""Trains a small model data-parallel (under mpiexec) or in one process (--single), and
saves the weights, optimizer state and History to OUT/<tag>-rank<r>.npz.

Usage: python train_equiv.py OUT TAG CASE [--single] [--batch B]
CASE picks the model and fit arguments (see CASES). Every rank but 0 initializes its
weights from a different seed, so equality with the single process also shows that
rank 0's weights are broadcast.
"""
import json
import sys

import numpy as np

import ranvier


def data(n, f, classes, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, f)).astype(np.float32)
    w = rng.standard_normal((f, classes)).astype(np.float32)
    logits = x @ w + 0.5 * rng.standard_normal((n, classes)).astype(np.float32)
    return x, logits


def build(case, seed):
    ranvier.utils.set_random_seed(seed)
    L = ranvier.layers
    if case == "adam_ce":
        model = ranvier.Sequential([
            ranvier.Input(shape=(20,)),
            L.Dense(32, activation="relu", kernel_regularizer=ranvier.regularizers.L2(1e-3)),
            L.Dense(16, activation="tanh"),
            L.Dense(5, activation="softmax"),
        ])
        model.compile(optimizer=ranvier.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
    elif case == "sgd_mse":
        model = ranvier.Sequential([
            ranvier.Input(shape=(20,)),
            L.Dense(24, activation="relu"),
            L.Dense(3),
        ])
        model.compile(optimizer=ranvier.optimizers.SGD(0.05, momentum=0.9), loss="mse", metrics=["mae"])
    elif case == "bn_dropout":  # not comparable with one process: replicas must still agree
        model = ranvier.Sequential([
            ranvier.Input(shape=(20,)),
            L.Dense(32, activation="relu"),
            L.BatchNormalization(),
            L.Dropout(0.3),
            L.Dense(5, activation="softmax"),
        ])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    elif case == "graph":  # two inputs, two outputs, a shared Dense, Concatenate and Add
        a, b = ranvier.Input(shape=(12,), name="a"), ranvier.Input(shape=(8,), name="b")
        shared = L.Dense(10, activation="tanh", name="shared")
        h = L.Concatenate()([shared(L.Dense(10)(a)), L.Add()([shared(L.Dense(10)(b)), L.Dense(10)(a)])])
        model = ranvier.Model([a, b], [L.Dense(3, name="reg")(h), L.Dense(5, activation="softmax", name="cls")(h)])
        # SGD: Adam divides by sqrt(v), which turns float32 summation-order differences of
        # near-zero gradient entries (a bias feeding Add) into step differences above 1e-5
        model.compile(optimizer=ranvier.optimizers.SGD(0.05, momentum=0.9),
                      loss=["mse", "sparse_categorical_crossentropy"],
                      metrics=[["mae"], ["accuracy"]])
    else:
        raise SystemExit(f"unknown case {case}")
    return model


def fit_kwargs(case, x, y, batch):
    if case == "graph":
        # 481 rows, batch 32: a last batch of one row; shuffling with rank 0's seed.
        return dict(batch_size=batch, epochs=2, shuffle=True)
    if case in ("adam_ce", "bn_dropout"):
        # 961 rows, validation_split 0.2 -> 768 training rows; with batch 64: 12 full batches.
        return dict(batch_size=batch, epochs=2, validation_split=0.2, shuffle=True)
    # 481 rows, batch 32: the last batch has ONE row (empty shards on all ranks but one),
    # consecutive rows (shuffle=False), sample weights.
    sw = np.linspace(0.5, 1.5, x.shape[0]).astype(np.float32)
    return dict(batch_size=batch, epochs=2, shuffle=False, sample_weight=sw)


def main():
    out, tag, case = sys.argv[1], sys.argv[2], sys.argv[3]
    single = "--single" in sys.argv
    batch = int(sys.argv[sys.argv.index("--batch") + 1]) if "--batch" in sys.argv else None
    if case == "graph":  # x: the 20 columns as two inputs; y: a regression and a class target
        x, logits = data(481, 20, 5, seed=2)
        x = {"a": x[:, :12], "b": x[:, 12:]}  # a dict keyed by input name (evaluate slices it per key)
        y = [np.tanh(logits[:, :3]), np.argmax(logits, axis=1).astype(np.int64)]
        batch = batch or 32
    elif case in ("adam_ce", "bn_dropout"):
        x, logits = data(961, 20, 5)
        y = np.argmax(logits, axis=1).astype(np.int64)
        batch = batch or 64
    else:
        x, logits = data(481, 20, 3, seed=1)
        y = np.tanh(logits)
        batch = batch or 32
    if single:
        rank = 0
        model = build(case, 1234)
        hist = model.fit(x, y, verbose=0, **fit_kwargs(case, x, y, batch))
        ev = model.evaluate(x, y, batch_size=50, verbose=0, return_dict=True)
    else:
        from ranvier import distributed as dist
        rank, size = dist.init()
        model = build(case, 1234 if rank == 0 else 999 + rank)
        dp = dist.DataParallel(model)
        hist = dp.fit(x, y, verbose=0, **fit_kwargs(case, x, y, batch))
        ev = dp.evaluate(x, y, batch_size=50, verbose=0, return_dict=True)
    opt_state = model.optimizer.get_state()
    arrays = {f"w{i}": w for i, w in enumerate(model.get_weights())}
    arrays.update({f"slot_{k}": v for k, v in opt_state["slots"].items()})
    arrays["iterations"] = np.array(opt_state["iterations"])
    np.savez(f"{out}/{tag}-rank{rank}.npz", **arrays)
    with open(f"{out}/{tag}-rank{rank}.json", "w") as f:
        json.dump({"history": hist.history, "evaluate": ev}, f)


if __name__ == "__main__":
    main()
