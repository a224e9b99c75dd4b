"""Workload definitions shared by bench/bench_train.py (the driver) and bench/train_worker.py.

Every worker process builds its data itself from the same seed, so all frameworks train on
bit-identical float32 arrays without passing them through pipes. Data are made in row
chunks so that no full-size temporary inflates the worker's peak memory.

W1  X (60000, 784) in [0,1), 784-256-128-10 relu, softmax + sparse categorical
    cross-entropy, Adam lr 1e-3 eps 1e-8, batch 128.
W2  X (50000, 32) in [0,1), 32-64-64-1 relu, linear output, MSE, SGD momentum 0.9
    lr 0.01, batch 32.
W3  X (16384, 1024) in [0,1), 1024-2048-2048-10 relu, softmax + categorical
    cross-entropy (one-hot labels), Adam lr 1e-3 eps 1e-8, batch 512.
W4  the trained W1 model: single-sample predict latency and batch-1024 throughput.
W5  W1's data and shapes with the layers a regularized network adds: 784-256-128-10, each
    hidden Dense(relu) followed by BatchNormalization (Keras defaults: momentum 0.99, epsilon
    1e-3) and Dropout(0.2); AdamW lr 1e-3 weight_decay 0.004 (Keras's default, decoupled,
    on every variable) eps 1e-8, batch 128. The frameworks without these layers (the NumPy
    MLP, scikit-learn) skip it.

Labels come from a random linear teacher: a Gaussian matrix T (features x outputs) applied
to the centred inputs (X - 0.5); classification takes the argmax of X'T, regression the
value X'T scaled to unit variance. Held-out sets come from the same teacher on fresh rows.
Initial weights: Glorot-uniform kernels and zero biases (Keras's defaults), drawn once from
the workload seed and loaded into every framework that allows it (ranvier, NumPy, PyTorch,
Keras), so their held-out scores differ only by shuffling order and rounding.
scikit-learn draws its own Glorot-uniform weights (its API has no clean way to set them
before the first partial_fit).
"""
from __future__ import annotations

import numpy as np

SEED = 20240607

WORKLOADS = {
    "W1": dict(n=60000, n_test=10000, dims=(784, 256, 128, 10), task="sparse",
               optimizer="adam", lr=1e-3, batch=128),
    "W2": dict(n=50000, n_test=10000, dims=(32, 64, 64, 1), task="mse",
               optimizer="sgd_momentum", lr=0.01, momentum=0.9, batch=32),
    "W3": dict(n=16384, n_test=4096, dims=(1024, 2048, 2048, 10), task="categorical",
               optimizer="adam", lr=1e-3, batch=512),
    "W5": dict(n=60000, n_test=10000, dims=(784, 256, 128, 10), task="sparse",
               optimizer="adamw", lr=1e-3, weight_decay=0.004, batch=128,
               batchnorm=dict(momentum=0.99, epsilon=1e-3), dropout=0.2),
}
ADAM = dict(beta_1=0.9, beta_2=0.999, epsilon=1e-8)

# --quick: the same networks and optimizers on fewer rows (a smoke test, not a measurement)
QUICK_N = {"W1": (2048, 1024), "W2": (2048, 1024), "W3": (512, 256), "W5": (2048, 1024)}


def plain_mlp_only(name):
    """Refuses a workload with BatchNormalization/Dropout/AdamW in a framework whose runner
    only has plain Dense layers (the driver then skips that framework for it)."""
    w = WORKLOADS[name]
    if w.get("batchnorm") or w.get("dropout") or w["optimizer"] not in ("adam", "sgd_momentum"):
        raise NotImplementedError(f"{name} needs BatchNormalization/Dropout/AdamW, which this runner lacks")


def flops_per_sample(dims) -> int:
    """Exact matmul FLOPs of one training sample: forward X@W, backward dW = X^T@dZ and
    dX = dZ@W^T, counted 2*m*n*k per GEMM; the first layer needs no dX."""
    f = 0
    for i in range(len(dims) - 1):
        mk = 2 * dims[i] * dims[i + 1]
        f += mk * (3 if i > 0 else 2)
    return f


def forward_flops_per_sample(dims) -> int:
    return sum(2 * dims[i] * dims[i + 1] for i in range(len(dims) - 1))


def _rows(rng, n, d, chunk=4096):
    x = np.empty((n, d), dtype=np.float32)
    for s in range(0, n, chunk):
        x[s:s + chunk] = rng.random((min(chunk, n - s), d), dtype=np.float32)
    return x


def _teacher(name, dims):
    rng = np.random.default_rng([SEED, 7, int(name[1])])
    return rng.standard_normal((dims[0], dims[-1])).astype(np.float32)


def _labels(x, t, task, chunk=4096):
    n = x.shape[0]
    if task == "mse":
        y = np.empty((n, 1), dtype=np.float32)
        scale = np.float32(np.sqrt(12.0 / x.shape[1]))  # Var(x - 0.5) = 1/12 per feature
        for s in range(0, n, chunk):
            y[s:s + chunk] = ((x[s:s + chunk] - np.float32(0.5)) @ t) * scale
        return y
    y = np.empty(n, dtype=np.int64)
    for s in range(0, n, chunk):
        y[s:s + chunk] = np.argmax((x[s:s + chunk] - np.float32(0.5)) @ t, axis=1)
    return y


def make_data(name, n=None, which="train"):
    """(x, y) for a workload: x float32 (n, d); y int64 class indices (n,) for
    classification (one-hot is the worker's business), float32 (n, 1) for regression."""
    w = WORKLOADS[name]
    dims = w["dims"]
    if n is None:
        n = w["n"] if which == "train" else w["n_test"]
    rng = np.random.default_rng([SEED, 1 if which == "train" else 2, int(name[1])])
    x = _rows(rng, n, dims[0])
    y = _labels(x, _teacher(name, dims), w["task"])
    return x, y


def initial_weights(name):
    """Keras-ordered [W0, b0, W1, b1, ...]: Glorot-uniform (fan_in, fan_out) kernels,
    zero biases, float32."""
    dims = WORKLOADS[name]["dims"]
    rng = np.random.default_rng([SEED, 3, int(name[1])])
    out = []
    for i in range(len(dims) - 1):
        lim = np.sqrt(6.0 / (dims[i] + dims[i + 1]))
        out.append(rng.uniform(-lim, lim, (dims[i], dims[i + 1])).astype(np.float32))
        out.append(np.zeros(dims[i + 1], dtype=np.float32))
    return out


def score(name, pred, y):
    """Held-out quality: accuracy for classification, MSE and R^2 for regression."""
    task = WORKLOADS[name]["task"]
    pred = np.asarray(pred)
    if task == "mse":
        p = pred.reshape(-1).astype(np.float64)
        t = y.reshape(-1).astype(np.float64)
        mse = float(np.mean((p - t) ** 2))
        return {"mse": mse, "r2": 1.0 - mse / float(np.var(t))}
    return {"accuracy": float(np.mean(np.argmax(pred, axis=1) == y))}


def ranvier_model(rv, name):
    """The workload's network in ranvier, compiled, with the shared initial Dense weights
    (BatchNormalization at its defaults), as the benchmark worker and
    bench/profile_workloads.py train it."""
    w = WORKLOADS[name]
    dims = w["dims"]
    rv.utils.set_random_seed(SEED)
    layers = [rv.Input(shape=(dims[0],))]
    dense = []
    for h in dims[1:-1]:
        dense.append(rv.layers.Dense(h, activation="relu"))
        layers.append(dense[-1])
        if w.get("batchnorm"):
            layers.append(rv.layers.BatchNormalization(**w["batchnorm"]))
        if w.get("dropout"):
            layers.append(rv.layers.Dropout(w["dropout"]))
    dense.append(rv.layers.Dense(dims[-1], activation="linear" if w["task"] == "mse" else "softmax"))
    layers.append(dense[-1])
    m = rv.Sequential(layers)
    if w["optimizer"] == "adam":
        opt = rv.optimizers.Adam(learning_rate=w["lr"], **ADAM)
    elif w["optimizer"] == "adamw":
        opt = rv.optimizers.AdamW(learning_rate=w["lr"], weight_decay=w["weight_decay"], **ADAM)
    else:
        opt = rv.optimizers.SGD(learning_rate=w["lr"], momentum=w["momentum"])
    loss = {"sparse": "sparse_categorical_crossentropy", "categorical": "categorical_crossentropy",
            "mse": "mse"}[w["task"]]
    m.compile(optimizer=opt, loss=loss)
    init = initial_weights(name)
    for i, layer in enumerate(dense):
        layer.set_weights(init[2 * i:2 * i + 2])
    return m
