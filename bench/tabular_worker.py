"""One framework in one process for bench/bench_tabular.py (the driver), over a pipe.

    python bench/tabular_worker.py FRAMEWORK        (FRAMEWORK: ranvier torch keras)

The same wide-and-deep model in each framework (the driver's docstring has the spec):
Normalization of the 8 numeric columns (mean and variance adapted on the training rows),
an Embedding per categorical column (flattened), Concatenate, Dense 64 relu, Dense 32 relu,
Dense 1 sigmoid, binary cross-entropy, Adam (lr 1e-3, Keras's betas, eps 1e-7 as Keras's
default), batch 256, shuffled every epoch. All three start from the same initial weights
(Keras's initializers, drawn once here from a fixed seed): embeddings uniform(-0.05, 0.05),
Glorot-uniform kernels, zero biases.

Protocol: as bench/train_worker.py's (one JSON line in, one JSON line out on the original
stdout; everything the libraries print goes to stderr). Commands:
  {"cmd": "setup", "n": N, "n_test": M, "units": K, "batch": B}   data + model
  {"cmd": "unit"}     train one epoch, reply {"seconds", "loss"}
  {"cmd": "eval"}     held-out AUC / accuracy / log loss of the model trained so far
  {"cmd": "quit"}
"""
from __future__ import annotations

import json
import os
import sys
import time
import traceback

FRAMEWORK = sys.argv[1] if len(sys.argv) > 1 else ""
THREADS = int(os.environ.get("BENCH_THREADS", "1"))

_proto = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(2, 1)
sys.stdout = sys.stderr
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "examples"))

import numpy as np  # noqa: E402

import tabular_data as TD  # noqa: E402

try:
    from threadpoolctl import threadpool_limits
    _limits = threadpool_limits(THREADS)
except ImportError:  # pragma: no cover
    _limits = None

SEED = 20260607
LR = 1e-3
ADAM = dict(beta_1=0.9, beta_2=0.999, epsilon=1e-7)
HIDDEN = (64, 32)
CATS = list(TD.CATEGORICAL_LEVELS)


def initial_weights():
    """{name: array} for every trainable weight, Keras's default initializers, one seed."""
    rng = np.random.default_rng(SEED)
    w = {}
    for c in CATS:
        w[f"{c}_embedding"] = rng.uniform(-0.05, 0.05, (TD.CATEGORICAL_LEVELS[c], TD.EMBEDDING_DIMS[c])).astype(np.float32)
    dims = [TD.NUMERIC_FEATURES + sum(TD.EMBEDDING_DIMS.values()), *HIDDEN, 1]
    for i in range(len(dims) - 1):
        lim = np.sqrt(6.0 / (dims[i] + dims[i + 1]))
        w[f"dense_{i}_kernel"] = rng.uniform(-lim, lim, (dims[i], dims[i + 1])).astype(np.float32)
        w[f"dense_{i}_bias"] = np.zeros(dims[i + 1], np.float32)
    return w


def _status_kb(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return -1


# ====================================================================== frameworks
class KerasLike:
    """The functional model, written once for Keras 3 and for ranvier (`ranvier as keras`)."""

    def build(self, keras, x):
        num = keras.Input(shape=(TD.NUMERIC_FEATURES,), name="num")
        norm = keras.layers.Normalization(name="norm")
        norm.adapt(x["num"])
        inputs, parts = {"num": num}, [norm(num)]
        emb = []
        for c in CATS:
            inp = keras.Input(shape=(1,), name=c, dtype="int64")
            e = keras.layers.Embedding(TD.CATEGORICAL_LEVELS[c], TD.EMBEDDING_DIMS[c], name=f"{c}_embedding")
            inputs[c] = inp
            emb.append(e)
            parts.append(keras.layers.Flatten()(e(inp)))
        h = keras.layers.Concatenate()(parts)
        dense = []
        for i, units in enumerate(HIDDEN):
            dense.append(keras.layers.Dense(units, activation="relu", name=f"dense_{i}"))
            h = dense[-1](h)
        dense.append(keras.layers.Dense(1, activation="sigmoid", name=f"dense_{len(HIDDEN)}"))
        model = keras.Model(inputs, dense[-1](h))
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=LR, **ADAM), loss="binary_crossentropy")
        w = initial_weights()
        for c, e in zip(CATS, emb):
            e.set_weights([w[f"{c}_embedding"]])
        for i, d in enumerate(dense):
            d.set_weights([w[f"dense_{i}_kernel"], w[f"dense_{i}_bias"]])
        return model


class RanvierRunner(KerasLike):
    def __init__(self):
        import ranvier
        self.rv = ranvier
        ranvier.set_num_threads(THREADS)

    def versions(self):
        return {"ranvier": getattr(self.rv, "__version__", "?"), "isa": self.rv.isa(), "numpy": np.__version__}

    def setup(self, x, y, units, batch):
        self.rv.utils.set_random_seed(SEED)
        self.m = self.build(self.rv, x)
        self.x, self.y, self.batch = x, y, batch

    def unit(self):
        h = self.m.fit(self.x, self.y, batch_size=self.batch, epochs=1, verbose=0, shuffle=True)
        return float(h.history["loss"][-1])

    def predict(self, x):
        return self.m.predict(x, batch_size=1024, verbose=0)


class KerasRunner(KerasLike):
    """Keras 3 on TensorFlow (CPU) with its defaults. As in bench/train_runners.py, all epochs
    run inside ONE fit call (a background thread) paused by a callback at each epoch start
    until the driver asks for the next one: the timed epoch is Keras's own epoch."""

    def __init__(self):
        import tensorflow as tf
        tf.config.threading.set_intra_op_parallelism_threads(THREADS)
        tf.config.threading.set_inter_op_parallelism_threads(THREADS)
        import keras
        self.tf, self.keras = tf, keras

    def versions(self):
        return {"tensorflow": self.tf.__version__, "keras": self.keras.__version__, "numpy": np.__version__}

    def setup(self, x, y, units, batch):
        import queue
        import threading
        keras = self.keras
        keras.utils.set_random_seed(SEED)
        m = self.build(keras, x)
        self.m = m
        go, done = queue.Queue(), queue.Queue()
        self.go, self.done = go, done

        class Gate(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                if go.get() == "stop":
                    self.model.stop_training = True
                self.t0 = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                done.put((time.perf_counter() - self.t0, float(logs["loss"])))

        def run():
            try:
                m.fit(x, y, batch_size=batch, epochs=units, verbose=0, shuffle=True, callbacks=[Gate()])
            except BaseException as e:  # report to the waiting unit()
                done.put(e)
        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def unit(self):
        self.go.put(1)
        r = self.done.get()
        if isinstance(r, BaseException):
            raise r
        self.last_seconds = r[0]
        return r[1]

    def predict(self, x):
        t = getattr(self, "thread", None)
        while t is not None and t.is_alive():
            self.go.put("stop")
            t.join(timeout=1.0)
        self.thread = None
        return self.m.predict(x, batch_size=1024, verbose=0)


class TorchRunner:
    """PyTorch eager, tuned as bench/train_runners.py's: an nn.Module with nn.Embedding per
    column, tensors shared with NumPy, batches gathered by index_select on a randperm (no
    DataLoader), zero_grad(set_to_none=True), the fused CPU Adam, and the sigmoid fused into
    the loss (BCEWithLogitsLoss; predict applies torch.sigmoid)."""

    def __init__(self):
        import torch
        self.torch = torch
        torch.set_num_threads(THREADS)
        try:
            torch.set_num_interop_threads(THREADS)
        except RuntimeError:
            pass
        torch.manual_seed(SEED)

    def versions(self):
        return {"torch": self.torch.__version__, "numpy": np.__version__}

    def _module(self, mean, std):
        torch = self.torch
        nn = torch.nn

        class WideDeep(nn.Module):
            def __init__(self):
                super().__init__()
                self.register_buffer("mean", torch.from_numpy(mean))
                self.register_buffer("std", torch.from_numpy(std))
                self.emb = nn.ModuleList([nn.Embedding(TD.CATEGORICAL_LEVELS[c], TD.EMBEDDING_DIMS[c]) for c in CATS])
                dims = [TD.NUMERIC_FEATURES + sum(TD.EMBEDDING_DIMS.values()), *HIDDEN, 1]
                mods = []
                for i in range(len(dims) - 1):
                    mods.append(nn.Linear(dims[i], dims[i + 1]))
                    if i < len(dims) - 2:
                        mods.append(nn.ReLU())
                self.mlp = nn.Sequential(*mods)

            def forward(self, num, ids):  # ids: (batch, 3) int64, one column per Embedding
                parts = [(num - self.mean) / self.std]
                parts += [e(ids[:, j]) for j, e in enumerate(self.emb)]
                return self.mlp(torch.cat(parts, dim=1))  # logits
        return WideDeep()

    def setup(self, x, y, units, batch):
        torch = self.torch
        xn = x["num"].astype(np.float64)
        mean = xn.mean(axis=0).astype(np.float32)                   # Keras's adapt: population
        std = np.maximum(np.sqrt(xn.var(axis=0)), 1e-7).astype(np.float32)  # moments, max(sd, 1e-7)
        self.model = self._module(mean, std)
        w = initial_weights()
        lin = [m for m in self.model.mlp if isinstance(m, torch.nn.Linear)]
        with torch.no_grad():
            for c, e in zip(CATS, self.model.emb):
                e.weight.copy_(torch.from_numpy(w[f"{c}_embedding"]))
            for i, l in enumerate(lin):
                l.weight.copy_(torch.from_numpy(w[f"dense_{i}_kernel"].T.copy()))
                l.bias.copy_(torch.from_numpy(w[f"dense_{i}_bias"]))
        params = list(self.model.parameters())
        mk = lambda **kw: torch.optim.Adam(params, lr=LR, betas=(ADAM["beta_1"], ADAM["beta_2"]),  # noqa: E731
                                           eps=ADAM["epsilon"], **kw)
        try:
            self.opt = mk(fused=True)
        except (RuntimeError, TypeError, ValueError):
            self.opt = mk()
        self.loss_fn = torch.nn.BCEWithLogitsLoss()
        self.num = torch.from_numpy(np.ascontiguousarray(x["num"]))
        self.ids = torch.from_numpy(np.ascontiguousarray(np.concatenate([x[c] for c in CATS], axis=1)))
        self.y = torch.from_numpy(y)
        self.batch = batch

    def unit(self):
        torch = self.torch
        n, B = self.num.shape[0], self.batch
        perm = torch.randperm(n)
        model, opt, loss_fn = self.model, self.opt, self.loss_fn
        model.train()
        total = torch.zeros(())
        for s in range(0, n, B):
            idx = perm[s:s + B]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(self.num.index_select(0, idx), self.ids.index_select(0, idx)),
                           self.y.index_select(0, idx))
            loss.backward()
            opt.step()
            total += loss.detach() * idx.shape[0]
        return float(total) / n

    def predict(self, x):
        torch = self.torch
        self.model.eval()
        ids = np.ascontiguousarray(np.concatenate([x[c] for c in CATS], axis=1))
        with torch.inference_mode():
            return torch.sigmoid(self.model(torch.from_numpy(np.ascontiguousarray(x["num"])),
                                            torch.from_numpy(ids))).numpy()


RUNNERS = {"ranvier": RanvierRunner, "torch": TorchRunner, "keras": KerasRunner}


def score(p, y):
    """Held-out AUC (exact), accuracy at 0.5 and log loss of probabilities p for labels y."""
    p = np.asarray(p, dtype=np.float64).reshape(-1)
    t = np.asarray(y).reshape(-1) > 0.5
    pc = np.clip(p, 1e-7, 1 - 1e-7)
    return {"auc": TD.roc_auc(t, p), "accuracy": float(np.mean((p > 0.5) == t)),
            "log_loss": float(-np.mean(np.where(t, np.log(pc), np.log(1 - pc)))),
            "finite": bool(np.all(np.isfinite(p)))}


# ====================================================================== loop
def main():
    state = {}
    runner, err = None, None
    try:
        runner = RUNNERS[FRAMEWORK]()
    except Exception as e:  # not installed / cannot start: the driver skips this framework
        err = f"{type(e).__name__}: {e}"
    info = {"ready": err is None, "error": err, "pid": os.getpid(),
            "versions": runner.versions() if runner else {}, "rss_kb": _status_kb("VmRSS")}
    _proto.write(json.dumps(info) + "\n")
    if err:
        return
    for line in sys.stdin:
        msg = json.loads(line)
        cmd = msg["cmd"]
        try:
            if cmd == "quit":
                _proto.write(json.dumps({"ok": True}) + "\n")
                break
            if cmd == "setup":
                (x, y), (xt, yt) = TD.load_data(msg["n"], msg["n_test"], seed=msg.get("seed", 0))
                state["test"] = (xt, yt)
                runner.setup(x, y, int(msg.get("units", 1)), int(msg["batch"]))
                reply = {"ok": True, "n": int(y.shape[0]), "rss_kb": _status_kb("VmRSS")}
            elif cmd == "unit":
                t0 = time.perf_counter()
                loss = runner.unit()
                dt = getattr(runner, "last_seconds", time.perf_counter() - t0)  # Keras: its own epoch time
                reply = {"seconds": dt, "loss": loss}
            elif cmd == "eval":
                xt, yt = state["test"]
                reply = score(runner.predict(xt), yt)
            else:
                raise ValueError(f"unknown command {cmd!r}")
        except Exception as e:
            reply = {"error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc(limit=6)}
        _proto.write(json.dumps(reply) + "\n")


if __name__ == "__main__":
    main()
