"""The framework runners of bench/train_worker.py: ranvier, the NumPy MLP, PyTorch, Keras and
scikit-learn, each behind one small interface (setup / unit / predict / latency_fns /
batch_fns). train_worker.py imports this module after it has set the MXCSR flags and
redirected stdout, so nothing here may run before that; the settings below are read from
the same command line and environment as the worker's."""
from __future__ import annotations

import os
import sys
import time

import numpy as np

import train_workloads as TW

FRAMEWORK = sys.argv[1] if len(sys.argv) > 1 else ""
FTZ = "--ftz" in sys.argv[2:]
THREADS = int(os.environ.get("BENCH_THREADS", "1"))
PRECISION = os.environ.get("BENCH_PRECISION", "float32")
MIXED = PRECISION == "mixed_bfloat16"

def _status_kb(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return -1


def _median(v):
    v = sorted(v)
    n = len(v)
    return v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2])


def _onehot(y, k):
    out = np.zeros((y.shape[0], k), dtype=np.float32)
    out[np.arange(y.shape[0]), y] = 1.0
    return out


# ====================================================================== frameworks
class Runner:
    """setup() builds the model on (x, y); unit() trains one epoch; predict(x) returns
    outputs as NumPy; latency_fns()/batch_fns() name the predict paths to time."""

    def versions(self):
        return {"numpy": np.__version__}

    def gemm(self, a, b):
        return a @ b


def _blas_info():
    """The BLAS/OpenMP libraries loaded in this process (threadpoolctl), for the JSON."""
    try:
        from threadpoolctl import threadpool_info
        return [{k: d.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
                for d in threadpool_info()]
    except Exception:  # pragma: no cover
        return []


class RanvierRunner(Runner):
    def __init__(self):
        import ranvier
        self.rv = ranvier
        ranvier.set_num_threads(THREADS)
        if MIXED:
            ranvier.mixed_precision.set_global_policy("mixed_bfloat16")

    def versions(self):
        return {"ranvier": getattr(self.rv, "__version__", "?"), "isa": self.rv.isa(),
                "numpy": np.__version__}

    def setup(self, name, x, y, units):
        rv, w = self.rv, TW.WORKLOADS[name]
        dims = w["dims"]
        m = TW.ranvier_model(rv, name)
        self.m, self.batch = m, w["batch"]
        # labels as float32 rows (what ranvier takes without a conversion)
        if w["task"] == "sparse":
            self.y = y.astype(np.float32)
        elif w["task"] == "categorical":
            self.y = _onehot(y, dims[-1])
        else:
            self.y = y
        self.x = x

    def unit(self):
        h = self.m.fit(self.x, self.y, batch_size=self.batch, epochs=1, verbose=0, shuffle=True)
        return float(h.history["loss"][-1])

    def predict(self, x):
        return self.m.predict(x, batch_size=1024, verbose=0)

    def step_on(self, idx):
        """One training step on rows idx (the same-batches control); returns its loss."""
        return float(np.ravel(self.m.train_on_batch(self.x[idx], self.y[idx]))[0])

    def latency_fns(self):
        m = self.m
        return {"predict": lambda x: m.predict(x, verbose=0),
                "__call__": lambda x: m(x),
                "predict_on_batch": lambda x: m.predict_on_batch(x)}

    def batch_fns(self):
        m = self.m
        return {"predict": lambda x: m.predict(x, batch_size=x.shape[0], verbose=0),
                "predict_on_batch": lambda x: m.predict_on_batch(x)}

    def gemm(self, a, b):
        if MIXED:
            c = np.empty((a.shape[0], b.shape[1]), np.float32)
            self.rv._core._bgemm_full(a, b, c)
            return c
        return self.rv.ops.matmul(a, b)

    def save(self, path):
        self.m.save(path)


class NumpyRunner(Runner):
    """A hand-written float32 MLP: forward, backward and the optimizer in NumPy, written with
    care (preallocated buffers, in-place ops, np.take into a reused batch buffer, the
    optimizer over one flat parameter buffer) - a strong NumPy baseline, not a naive one.
    NumpyRunner64 runs the same code in float64: the reference of the same-batches control."""

    DTYPE = np.float32

    def setup(self, name, x, y, units):
        TW.plain_mlp_only(name)
        w = TW.WORKLOADS[name]
        self.w, self.dims = w, w["dims"]
        dims = self.dims
        init = TW.initial_weights(name)
        sizes = [a.size for a in init]
        self.P = np.zeros(sum(sizes), dtype=self.DTYPE)
        self.G = np.zeros_like(self.P)
        self.Ws, self.bs, self.gWs, self.gbs = [], [], [], []
        off = 0
        for i, a in enumerate(init):
            p = self.P[off:off + a.size].reshape(a.shape)
            g = self.G[off:off + a.size].reshape(a.shape)
            p[...] = a
            (self.Ws if i % 2 == 0 else self.bs).append(p)
            (self.gWs if i % 2 == 0 else self.gbs).append(g)
            off += a.size
        B = w["batch"]
        self.acts = [np.empty((B, d), dtype=self.DTYPE) for d in dims]      # a_0 = x batch, a_i
        self.deltas = [np.empty((B, d), dtype=self.DTYPE) for d in dims]    # dL/dz_i
        self.mask = [np.empty((B, d), dtype=bool) for d in dims]
        self.yb = np.empty((B,) + y.shape[1:], dtype=y.dtype)
        if w["task"] == "categorical":
            y = _onehot(y, dims[-1]).astype(self.DTYPE)
            self.yb = np.empty((B, dims[-1]), dtype=self.DTYPE)
        self.x, self.y = (x if x.dtype == self.DTYPE else x.astype(self.DTYPE)), y
        self.t = 0
        self.s1 = np.zeros_like(self.P)
        self.s2 = np.zeros_like(self.P) if w["optimizer"] == "adam" else None
        self.tmp = np.empty_like(self.P)
        self.tmp2 = np.empty_like(self.P)
        self.rng = np.random.default_rng(TW.SEED)
        self.arange = np.arange(B)

    def _forward(self, m, train=True):
        L = len(self.Ws)
        a = self.acts
        for i in range(L):
            z = a[i + 1][:m]
            np.matmul(a[i][:m], self.Ws[i], out=z)
            z += self.bs[i]
            if i < L - 1:
                np.maximum(z, 0.0, out=z)
        out = a[L][:m]
        if self.w["task"] != "mse":
            out -= out.max(axis=1, keepdims=True)
            np.exp(out, out=out)
            out /= out.sum(axis=1, keepdims=True)
        return out

    def _step(self, m):
        L, task = len(self.Ws), self.w["task"]
        out = self._forward(m)
        yb = self.yb[:m]
        d = self.deltas[L][:m]
        if task == "sparse":
            rows = self.arange[:m]
            p = out[rows, yb]
            loss = -np.mean(np.log(np.maximum(p, 1e-7)))
            np.copyto(d, out)
            d[rows, yb] -= 1.0
            d *= self.DTYPE(1.0 / m)
        elif task == "categorical":
            loss = -np.sum(yb * np.log(np.maximum(out, 1e-7))) / m
            np.subtract(out, yb, out=d)
            d *= self.DTYPE(1.0 / m)
        else:
            np.subtract(out, yb, out=d)
            loss = float(np.mean(d * d))
            d *= self.DTYPE(2.0 / (m * out.shape[1]))
        for i in range(L - 1, -1, -1):
            a_prev = self.acts[i][:m]
            np.matmul(a_prev.T, d, out=self.gWs[i])
            np.sum(d, axis=0, out=self.gbs[i])
            if i > 0:
                dp = self.deltas[i][:m]
                np.matmul(d, self.Ws[i].T, out=dp)
                mk = self.mask[i][:m]
                np.less_equal(a_prev, 0.0, out=mk)
                np.copyto(dp, 0.0, where=mk)
                d = dp
        self._update()
        return loss

    def _update(self):
        w, P, G, tmp = self.w, self.P, self.G, self.tmp
        self.t += 1
        if w["optimizer"] == "adam":
            b1, b2, eps = TW.ADAM["beta_1"], TW.ADAM["beta_2"], TW.ADAM["epsilon"]
            m1, m2, tmp2 = self.s1, self.s2, self.tmp2
            m1 *= self.DTYPE(b1)
            np.multiply(G, self.DTYPE(1 - b1), out=tmp)
            m1 += tmp
            m2 *= self.DTYPE(b2)
            np.multiply(G, G, out=tmp)
            tmp *= self.DTYPE(1 - b2)
            m2 += tmp
            lr_t = w["lr"] * np.sqrt(1 - b2 ** self.t) / (1 - b1 ** self.t)
            np.sqrt(m2, out=tmp)
            tmp += self.DTYPE(eps)
            np.divide(m1, tmp, out=tmp2)
            tmp2 *= self.DTYPE(lr_t)
            P -= tmp2
        else:  # Keras SGD momentum: v = mu*v - lr*g; w += v
            v = self.s1
            v *= self.DTYPE(w["momentum"])
            np.multiply(G, self.DTYPE(w["lr"]), out=tmp)
            v -= tmp
            P += v

    def step_on(self, idx):
        """One training step on rows idx (the same-batches control); returns its loss."""
        m = idx.shape[0]
        np.take(self.x, idx, axis=0, out=self.acts[0][:m])
        np.take(self.y, idx, axis=0, out=self.yb[:m])
        return float(self._step(m))

    def unit(self):
        n, B = self.x.shape[0], self.w["batch"]
        perm = self.rng.permutation(n)
        total = 0.0
        for s in range(0, n, B):
            idx = perm[s:s + B]
            m = idx.shape[0]
            np.take(self.x, idx, axis=0, out=self.acts[0][:m])
            np.take(self.y, idx, axis=0, out=self.yb[:m])
            total += float(self._step(m)) * m
        return total / n

    def _infer(self, x):
        a = x
        L = len(self.Ws)
        for i in range(L):
            a = a @ self.Ws[i]
            a += self.bs[i]
            if i < L - 1:
                np.maximum(a, 0.0, out=a)
        if self.w["task"] != "mse":
            a -= a.max(axis=1, keepdims=True)
            np.exp(a, out=a)
            a /= a.sum(axis=1, keepdims=True)
        return a

    def predict(self, x):
        return np.concatenate([self._infer(x[s:s + 1024]) for s in range(0, x.shape[0], 1024)])

    def latency_fns(self):
        return {"x@W+b chain": self._infer}

    def batch_fns(self):
        return {"x@W+b chain": self._infer}


class NumpyRunner64(NumpyRunner):
    """The NumPy MLP in float64 (the same-batches control's reference: float32 rounding of
    a whole training step, amplified by a few of W3's unstable first Adam steps, reached
    4.8e-4 relative in the float32 runner against 5e-6 for ranvier, both against this)."""

    DTYPE = np.float64


class TorchRunner(Runner):
    """PyTorch eager, tuned: tensors shared with NumPy (from_numpy), batches gathered by
    index_select on a randperm (no DataLoader), zero_grad(set_to_none=True), the fused
    CPU Adam/SGD when this torch has it, losses with fused softmax (CrossEntropyLoss)."""

    def __init__(self):
        import torch
        self.torch = torch
        torch.set_num_threads(THREADS)
        try:
            torch.set_num_interop_threads(THREADS)
        except RuntimeError:
            pass
        if FTZ:
            torch.set_flush_denormal(True)
        torch.manual_seed(TW.SEED)

    def versions(self):
        return {"torch": self.torch.__version__, "numpy": np.__version__,
                "torch_parallel": self.torch.__config__.parallel_info().splitlines()[0:3]}

    def setup(self, name, x, y, units):
        torch, w = self.torch, TW.WORKLOADS[name]
        dims = w["dims"]
        mods = []
        for i in range(len(dims) - 1):
            mods.append(torch.nn.Linear(dims[i], dims[i + 1]))
            if i < len(dims) - 2:
                mods.append(torch.nn.ReLU())
                if w.get("batchnorm"):  # Keras's momentum m is PyTorch's 1 - m
                    mods.append(torch.nn.BatchNorm1d(dims[i + 1], eps=w["batchnorm"]["epsilon"],
                                                     momentum=1.0 - w["batchnorm"]["momentum"]))
                if w.get("dropout"):
                    mods.append(torch.nn.Dropout(w["dropout"]))
        self.model = torch.nn.Sequential(*mods)
        init = TW.initial_weights(name)
        lin = [mm for mm in mods if isinstance(mm, torch.nn.Linear)]
        with torch.no_grad():
            for i, l in enumerate(lin):
                l.weight.copy_(torch.from_numpy(init[2 * i].T.copy()))
                l.bias.copy_(torch.from_numpy(init[2 * i + 1]))
        params = list(self.model.parameters())
        self.fused = False
        if w["optimizer"] == "adam":
            mk = lambda **kw: torch.optim.Adam(params, lr=w["lr"], betas=(TW.ADAM["beta_1"], TW.ADAM["beta_2"]),  # noqa: E731
                                               eps=TW.ADAM["epsilon"], **kw)
        elif w["optimizer"] == "adamw":
            mk = lambda **kw: torch.optim.AdamW(params, lr=w["lr"], betas=(TW.ADAM["beta_1"], TW.ADAM["beta_2"]),  # noqa: E731
                                                eps=TW.ADAM["epsilon"], weight_decay=w["weight_decay"], **kw)
        else:
            mk = lambda **kw: torch.optim.SGD(params, lr=w["lr"], momentum=w["momentum"], **kw)  # noqa: E731
        try:
            self.opt = mk(fused=True)
            self.fused = True
        except (RuntimeError, TypeError, ValueError):
            self.opt = mk()
        self.task = w["task"]
        self.x = torch.from_numpy(x)
        if w["task"] == "sparse":
            self.y = torch.from_numpy(y)                   # int64 class indices
            self.loss_fn = torch.nn.CrossEntropyLoss()
        elif w["task"] == "categorical":
            self.y = torch.from_numpy(_onehot(y, dims[-1]))  # probabilities target
            self.loss_fn = torch.nn.CrossEntropyLoss()
        else:
            self.y = torch.from_numpy(y)
            self.loss_fn = torch.nn.MSELoss()
        self.batch = w["batch"]

    def unit(self):
        torch = self.torch
        n, B = self.x.shape[0], self.batch
        perm = torch.randperm(n)
        model, opt, loss_fn, X, Y = self.model, self.opt, self.loss_fn, self.x, self.y
        model.train()
        total = torch.zeros(())
        for s in range(0, n, B):
            idx = perm[s:s + B]
            xb = X.index_select(0, idx)
            yb = Y.index_select(0, idx)
            opt.zero_grad(set_to_none=True)
            if MIXED:
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    loss = loss_fn(model(xb), yb)
            else:
                loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.detach() * idx.shape[0]
        return float(total) / n

    def _out(self, xt):
        if MIXED:
            with self.torch.autocast("cpu", dtype=self.torch.bfloat16):
                o = self.model(xt)
            o = o.float()
        else:
            o = self.model(xt)
        return o if self.task == "mse" else self.torch.softmax(o, dim=1)

    def predict(self, x):
        self.model.eval()
        with self.torch.inference_mode():
            return self._out(self.torch.from_numpy(x)).numpy()

    def latency_fns(self):
        torch = self.torch
        self.model.eval()

        def no_grad(x):
            with torch.no_grad():
                return self._out(torch.from_numpy(x)).numpy()

        def inference_mode(x):
            with torch.inference_mode():
                return self._out(torch.from_numpy(x)).numpy()
        return {"no_grad": no_grad, "inference_mode": inference_mode}

    batch_fns = latency_fns

    def gemm(self, a, b):
        if MIXED:
            with self.torch.autocast("cpu", dtype=self.torch.bfloat16):
                return (self.torch.from_numpy(a) @ self.torch.from_numpy(b)).float()
        return self.torch.from_numpy(a) @ self.torch.from_numpy(b)


class KerasRunner(Runner):
    """Keras 3 on TensorFlow (CPU), its defaults (compile's jit_compile="auto"). All epochs
    run inside ONE model.fit call (a background thread) that a callback pauses at each
    epoch start until the driver asks for the next epoch: the timed epoch is exactly Keras's
    own epoch (on_epoch_begin to on_epoch_end), with no per-fit-call set-up in it."""

    def __init__(self):
        import tensorflow as tf
        tf.config.threading.set_intra_op_parallelism_threads(THREADS)
        tf.config.threading.set_inter_op_parallelism_threads(THREADS)
        import keras
        self.tf, self.keras = tf, keras
        if MIXED:
            keras.mixed_precision.set_global_policy("mixed_bfloat16")

    def versions(self):
        return {"tensorflow": self.tf.__version__, "keras": self.keras.__version__,
                "numpy": np.__version__}

    def setup(self, name, x, y, units):
        import queue
        import threading
        keras, w = self.keras, TW.WORKLOADS[name]
        dims = w["dims"]
        keras.utils.set_random_seed(TW.SEED)
        layers = [keras.Input(shape=(dims[0],))]
        dense = []
        for h in dims[1:-1]:
            dense.append(keras.layers.Dense(h, activation="relu"))
            layers.append(dense[-1])
            if w.get("batchnorm"):
                layers.append(keras.layers.BatchNormalization(**w["batchnorm"]))
            if w.get("dropout"):
                layers.append(keras.layers.Dropout(w["dropout"]))
        dense.append(keras.layers.Dense(dims[-1], activation="linear" if w["task"] == "mse" else "softmax"))
        layers.append(dense[-1])
        m = keras.Sequential(layers)
        if w["optimizer"] == "adam":
            opt = keras.optimizers.Adam(learning_rate=w["lr"], **TW.ADAM)
        elif w["optimizer"] == "adamw":
            opt = keras.optimizers.AdamW(learning_rate=w["lr"], weight_decay=w["weight_decay"], **TW.ADAM)
        else:
            opt = keras.optimizers.SGD(learning_rate=w["lr"], momentum=w["momentum"])
        loss = {"sparse": "sparse_categorical_crossentropy", "categorical": "categorical_crossentropy",
                "mse": "mse"}[w["task"]]
        m.compile(optimizer=opt, loss=loss)
        init = TW.initial_weights(name)
        for i, l in enumerate(dense):
            l.set_weights(init[2 * i:2 * i + 2])
        self.m = m
        if w["task"] == "categorical":
            y = _onehot(y, dims[-1])
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
                m.fit(x, y, batch_size=w["batch"], epochs=units, verbose=0, shuffle=True, callbacks=[Gate()])
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

    def _finish(self):
        """Ends the fit thread; epochs the driver did not ask for are cut short (one more
        epoch may run: Keras checks stop_training at epoch ends)."""
        t = getattr(self, "thread", None)
        while t is not None and t.is_alive():
            self.go.put("stop")
            t.join(timeout=1.0)
        self.thread = None

    def predict(self, x):
        self._finish()
        return self.m.predict(x, batch_size=1024, verbose=0)

    def latency_fns(self):
        self._finish()
        m = self.m
        return {"predict": lambda x: m.predict(x, verbose=0),
                "__call__": lambda x: m(x, training=False).numpy(),
                "predict_on_batch": lambda x: m.predict_on_batch(x)}

    def batch_fns(self):
        self._finish()
        m = self.m
        return {"predict": lambda x: m.predict(x, batch_size=x.shape[0], verbose=0),
                "__call__": lambda x: m(x, training=False).numpy(),
                "predict_on_batch": lambda x: m.predict_on_batch(x)}

    def gemm(self, a, b):
        return self.tf.linalg.matmul(a, b).numpy()


class SklearnRunner(Runner):
    """scikit-learn MLPClassifier/MLPRegressor, one partial_fit per epoch (shuffles inside),
    alpha=0 (no L2, like the others), float32 data (sklearn keeps float32). W3's one-hot
    targets are given to sklearn as class indices: with one-hot y sklearn would switch to
    independent sigmoid outputs, while softmax + cross-entropy is what W3 specifies.
    MLPRegressor minimises squared error / 2 (gradient half of Keras's MSE)."""

    def __init__(self):
        import sklearn
        self.sk = sklearn

    def versions(self):
        import scipy
        return {"sklearn": self.sk.__version__, "scipy": scipy.__version__, "numpy": np.__version__}

    def setup(self, name, x, y, units):
        from sklearn.neural_network import MLPClassifier, MLPRegressor
        TW.plain_mlp_only(name)
        w = TW.WORKLOADS[name]
        dims = w["dims"]
        common = dict(hidden_layer_sizes=tuple(dims[1:-1]), activation="relu", alpha=0.0,
                      batch_size=w["batch"], learning_rate_init=w["lr"], shuffle=True,
                      random_state=TW.SEED, max_iter=1)
        if w["optimizer"] == "adam":
            common.update(solver="adam", beta_1=TW.ADAM["beta_1"], beta_2=TW.ADAM["beta_2"],
                          epsilon=TW.ADAM["epsilon"])
        else:
            common.update(solver="sgd", momentum=w["momentum"], nesterovs_momentum=False,
                          learning_rate="constant")
        if w["task"] == "mse":
            self.m = MLPRegressor(**common)
            self.y = y.reshape(-1)
            self.classes = None
        else:
            self.m = MLPClassifier(**common)
            self.y = y
            self.classes = np.arange(dims[-1])
        self.x, self.task = x, w["task"]

    def unit(self):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if self.classes is not None:
                self.m.partial_fit(self.x, self.y, classes=self.classes)
            else:
                self.m.partial_fit(self.x, self.y)
        return float(self.m.loss_)

    def predict(self, x):
        return self.m.predict(x) if self.task == "mse" else self.m.predict_proba(x)

    def latency_fns(self):
        return {"predict" if self.task == "mse" else "predict_proba": self.predict}

    batch_fns = latency_fns


RUNNERS = {"ranvier": RanvierRunner, "numpy": NumpyRunner, "torch": TorchRunner,
           "keras": KerasRunner, "sklearn": SklearnRunner}
