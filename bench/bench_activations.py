"""Activation and loss kernels: ranvier's C++ kernels vs the NumPy expression computing the
same thing, in one run.

    python bench/bench_activations.py                   # everything, 1 thread, 1M elements
    python bench/bench_activations.py --threads 2 --size 4194304
    python bench/bench_activations.py --only gelu softmax mse --repeats 11
    python bench/bench_activations.py --cpu-time        # busy machine: process CPU time

Activations: forward y = f(x) over a (rows x 1024) float32 array into a preallocated
output (and backward dx = dy * f'(.) for the main kinds), against the float32 NumPy
expression (``out=`` where NumPy has it). Losses: per-sample values AND the gradient in
one call over y_pred (rows x 128), against NumPy computing both. GB/s counts the bytes
the operation must move (activations: read x, write y, plus x/y/dy for backward; losses:
read y_true and y_pred, write the gradient); Melem/s = elements / time. Timings are
medians of interleaved repeats (numpy, ranvier, numpy, ...), so other load hits both.

The thread thresholds of cpp/src/ops/activations.cpp and cpp/src/losses/losses.cpp were
measured with bench/cpp/bench_vunary_threads.cpp (1 vs N threads below/above them).
"""
from __future__ import annotations

import argparse
import math
import statistics
import sys
import time

import numpy as np

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover
    sys.exit("bench_activations.py needs threadpoolctl: pip install threadpoolctl")

import ranvier
from ranvier import _core

try:  # NumPy has no erf; SciPy's float32 ufunc is the fair baseline for gelu
    from scipy.special import erf as _sp_erf
except ImportError:  # pragma: no cover
    _sp_erf = None

ACT = {n: i for i, n in enumerate(_core.activation_kind_names())}
LOSS = {n: i for i, n in enumerate(_core.loss_kind_names())}
f32 = np.float32
SELU_A, SELU_S = f32(1.6732632423543772), f32(1.0507009873554805)
C = f32(math.sqrt(2 / math.pi))


def np_gelu(x):
    return None if _sp_erf is None else f32(0.5) * x * (f32(1) + _sp_erf(x * f32(1 / math.sqrt(2))))


def np_gelu_grad(x, dy):
    if _sp_erf is None:
        return None
    return dy * (f32(0.5) * (f32(1) + _sp_erf(x * f32(1 / math.sqrt(2))))
                 + x * np.exp(f32(-0.5) * x * x) * f32(1 / math.sqrt(2 * math.pi)))


def softmax_np(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# name -> (kind, params, numpy forward(x, y_out))
ACTIVATIONS = {
    "linear": ("linear", {}, lambda x, y: np.copyto(y, x)),
    "relu": ("relu", {}, lambda x, y: np.maximum(x, f32(0), out=y)),
    "relu(0.1,6,0.5)": ("relu", {"negative_slope": 0.1, "max_value": 6.0, "threshold": 0.5},
                        lambda x, y: np.clip(np.where(x > 0.5, x, f32(0)), 0, 6) - f32(0.1) * np.maximum(f32(0.5) - x, 0)),
    "leaky_relu": ("leaky_relu", {"negative_slope": 0.2}, lambda x, y: np.where(x >= 0, x, f32(0.2) * x)),
    "relu6": ("relu6", {}, lambda x, y: np.clip(x, f32(0), f32(6), out=y)),
    "elu": ("elu", {}, lambda x, y: np.where(x > 0, x, np.expm1(np.minimum(x, f32(0))))),
    "selu": ("selu", {}, lambda x, y: SELU_S * np.where(x > 0, x, SELU_A * np.expm1(np.minimum(x, f32(0))))),
    "celu": ("celu", {}, lambda x, y: np.maximum(x, f32(0)) + np.expm1(np.minimum(x, f32(0)))),
    "gelu": ("gelu", {}, lambda x, y: np_gelu(x)),
    "gelu_approx": ("gelu_approx", {},
                    lambda x, y: f32(0.5) * x * (f32(1) + np.tanh(C * (x + f32(0.044715) * x * x * x)))),
    "sigmoid": ("sigmoid", {}, lambda x, y: np.divide(f32(1), f32(1) + np.exp(-x), out=y)),
    "hard_sigmoid": ("hard_sigmoid", {}, lambda x, y: np.clip(x + f32(3), 0, 6) / f32(6)),
    "hard_silu": ("hard_silu", {}, lambda x, y: x * np.clip(x + f32(3), 0, 6) / f32(6)),
    "tanh": ("tanh", {}, lambda x, y: np.tanh(x, out=y)),
    "softplus": ("softplus", {}, lambda x, y: np.logaddexp(x, f32(0), out=y)),
    "softsign": ("softsign", {}, lambda x, y: np.divide(x, f32(1) + np.abs(x), out=y)),
    "silu": ("silu", {}, lambda x, y: np.divide(x, f32(1) + np.exp(-x), out=y)),
    "mish": ("mish", {}, lambda x, y: x * np.tanh(np.logaddexp(x, f32(0)))),
    "exponential": ("exponential", {}, lambda x, y: np.exp(x, out=y)),
    "log_sigmoid": ("log_sigmoid", {}, lambda x, y: np.negative(np.logaddexp(f32(0), -x), out=y)),
    "softmax": ("softmax", {}, lambda x, y: softmax_np(x)),
    "log_softmax": ("log_softmax", {},
                    lambda x, y: (x - x.max(axis=1, keepdims=True))
                    - np.log(np.exp(x - x.max(axis=1, keepdims=True)).sum(axis=1, keepdims=True))),
}

# name -> (kind, numpy backward(x, y, dy))
BACKWARD = {
    "relu": ("relu", lambda x, y, dy: dy * (y > 0)),
    "sigmoid": ("sigmoid", lambda x, y, dy: dy * y * (f32(1) - y)),
    "tanh": ("tanh", lambda x, y, dy: dy * (f32(1) - y * y)),
    "gelu": ("gelu", lambda x, y, dy: np_gelu_grad(x, dy)),
    "silu": ("silu", lambda x, y, dy: (lambda s: dy * (s + x * s * (f32(1) - s)))(f32(1) / (f32(1) + np.exp(-x)))),
    "elu": ("elu", lambda x, y, dy: dy * np.where(x > 0, f32(1), y + f32(1))),
    "softmax": ("softmax", lambda x, y, dy: y * (dy - (dy * y).sum(axis=1, keepdims=True))),
}

EPS = f32(1e-7)


def clip01(p):
    return np.clip(p, EPS, f32(1) - EPS)


def np_bce(y, p, k):
    q = clip01(p)
    v = -(y * np.log(q) + (f32(1) - y) * np.log(f32(1) - q)).mean(axis=1)
    g = (q - y) / (q * (f32(1) - q)) * ((p > EPS) & (p < f32(1) - EPS)) / f32(k)
    return v, g


def np_cce(y, p, k):
    s = p.sum(axis=1, keepdims=True)
    r = p / s
    q = clip01(r)
    c = (r > EPS) & (r < f32(1) - EPS)
    v = -(y * np.log(q)).sum(axis=1)
    g = ((y * c).sum(axis=1, keepdims=True) - y * c / q) / s
    return v, g


def np_scce(lab, p, k):
    s = p.sum(axis=1, keepdims=True)
    rows = np.arange(p.shape[0])
    q = clip01(p[rows, lab] / s[:, 0])
    g = np.broadcast_to(f32(1) / s, p.shape).copy()
    g[rows, lab] -= f32(1) / (q * s[:, 0])
    return -np.log(q), g


def np_focal(y, p, k):
    q = clip01(p)
    b = -(y * np.log(q) + (f32(1) - y) * np.log(f32(1) - q))
    base = y * (f32(1) - p) + (f32(1) - y) * p
    f = base * base
    db = (q - y) / (q * (f32(1) - q))
    return (f * b).mean(axis=1), (f32(2) * base * (f32(1) - f32(2) * y) * b + f * db) / f32(k)


def np_cat_hinge(y, p, k):
    pos = (y * p).sum(axis=1)
    a = (f32(1) - y) * p
    neg = a.max(axis=1)
    v = neg - pos + f32(1)
    am = a.argmax(axis=1)
    g = -y.copy()
    g[np.arange(p.shape[0]), am] += f32(1) - y[np.arange(p.shape[0]), am]
    return np.maximum(v, 0), g * (v > 0)[:, None]


def np_cosine(y, p, k):
    ny = np.sqrt((y * y).sum(axis=1, keepdims=True))
    npp = np.sqrt((p * p).sum(axis=1, keepdims=True))
    ay, ap = np.minimum(f32(1) / ny, f32(1e7)), np.minimum(f32(1) / npp, f32(1e7))
    c = (y * p).sum(axis=1, keepdims=True) * ay * ap
    return -c[:, 0], -ap * (y * ay - c * p * ap)


def np_hinge(y, p, k, sq):
    yy = f32(2) * y - f32(1)
    h = np.maximum(f32(1) - yy * p, f32(0))
    if sq:
        return (h * h).mean(axis=1), f32(-2) * h * yy / f32(k)
    return h.mean(axis=1), np.where(h > 0, -yy, f32(0)) / f32(k)


# name -> (kind, params, inputs kind, numpy (y, p, k) -> (values, grad))
LOSSES = {
    "mse": ("mean_squared_error", {}, "real", lambda y, p, k: ((p - y) ** 2).mean(axis=1), ),
    "mae": ("mean_absolute_error", {}, "real", None),
    "mape": ("mean_absolute_percentage_error", {}, "real", None),
    "msle": ("mean_squared_logarithmic_error", {}, "pos", None),
    "bce": ("binary_crossentropy", {}, "prob", np_bce),
    "bce_logits": ("binary_crossentropy", {"from_logits": True}, "real", None),
    "cce": ("categorical_crossentropy", {}, "prob", np_cce),
    "cce_logits": ("categorical_crossentropy", {"from_logits": True}, "real", None),
    "scce": ("sparse_categorical_crossentropy", {}, "prob", np_scce),
    "scce_logits": ("sparse_categorical_crossentropy", {"from_logits": True}, "real", None),
    "binary_focal": ("binary_focal_crossentropy", {}, "prob", np_focal),
    "hinge": ("hinge", {}, "real", lambda y, p, k: np_hinge(y, p, k, False)),
    "squared_hinge": ("squared_hinge", {}, "real", lambda y, p, k: np_hinge(y, p, k, True)),
    "categorical_hinge": ("categorical_hinge", {}, "real", np_cat_hinge),
    "huber": ("huber", {}, "real", None),
    "log_cosh": ("log_cosh", {}, "real", None),
    "kld": ("kl_divergence", {}, "prob", None),
    "poisson": ("poisson", {}, "pos", None),
    "cosine": ("cosine_similarity", {}, "real", np_cosine),
}


def _np_loss(name):
    """NumPy value + gradient for the losses not given above (simple closed forms)."""
    def mse(y, p, k):
        e = p - y
        return (e * e).mean(axis=1), e * f32(2 / k)

    def mae(y, p, k):
        e = p - y
        return np.abs(e).mean(axis=1), np.sign(e) / f32(k)

    def mape(y, p, k):
        e = p - y
        d = f32(100) / np.maximum(np.abs(y), EPS)
        return (np.abs(e) * d).mean(axis=1), np.sign(e) * d / f32(k)

    def msle(y, p, k):
        p1 = np.maximum(p, EPS) + f32(1)
        e = np.log(p1) - np.log(np.maximum(y, EPS) + f32(1))
        return (e * e).mean(axis=1), f32(2) * e / p1 * (p > EPS) / f32(k)

    def bce_logits(y, z, k):
        e = np.exp(-np.abs(z))
        v = (np.maximum(z, 0) - z * y + np.log1p(e)).mean(axis=1)
        s = np.where(z >= 0, f32(1) / (f32(1) + e), e / (f32(1) + e))
        return v, (s - y) / f32(k)

    def cce_logits(y, z, k):
        m = z.max(axis=1, keepdims=True)
        e = np.exp(z - m)
        se = e.sum(axis=1, keepdims=True)
        v = -(y * ((z - m) - np.log(se))).sum(axis=1)
        return v, e / se * y.sum(axis=1, keepdims=True) - y

    def scce_logits(lab, z, k):
        m = z.max(axis=1, keepdims=True)
        e = np.exp(z - m)
        se = e.sum(axis=1, keepdims=True)
        rows = np.arange(z.shape[0])
        v = -((z[rows, lab] - m[:, 0]) - np.log(se[:, 0]))
        g = e / se
        g[rows, lab] -= f32(1)
        return v, g

    def huber(y, p, k):
        e = p - y
        a = np.abs(e)
        q = a <= 1
        return np.where(q, f32(0.5) * e * e, a - f32(0.5)).mean(axis=1), np.where(q, e, np.sign(e)) / f32(k)

    def log_cosh(y, p, k):
        e = p - y
        return (e + np.logaddexp(f32(-2) * e, f32(0)) - f32(math.log(2))).mean(axis=1), np.tanh(e) / f32(k)

    def kld(y, p, k):
        yc, pc = np.clip(y, EPS, 1), np.clip(p, EPS, 1)
        return (yc * np.log(yc / pc)).sum(axis=1), -yc / pc * ((p > EPS) & (p < 1))

    def poisson(y, p, k):
        pe = p + EPS
        return (p - y * np.log(pe)).mean(axis=1), (f32(1) - y / pe) / f32(k)

    return {"mse": mse, "mae": mae, "mape": mape, "msle": msle, "bce_logits": bce_logits,
            "cce_logits": cce_logits, "scce_logits": scce_logits, "huber": huber, "log_cosh": log_cosh,
            "kld": kld, "poisson": poisson}.get(name)


def calls_per_repeat(fn, target_s):
    fn()
    t0 = time.perf_counter()
    n = 0
    while True:
        fn()
        n += 1
        dt = time.perf_counter() - t0
        if dt > 0.03 or n >= 2000:
            break
    return max(1, int(n * target_s / dt))


def time_pair(f_np, f_rv, repeats, target_s, clock):
    """Median seconds per call of each, repeats interleaved (f_np may be None)."""
    fns = [(f, calls_per_repeat(f, target_s)) for f in (f_np, f_rv) if f is not None]
    out = [[] for _ in fns]
    for _ in range(repeats):
        for (fn, n), o in zip(fns, out):
            t0 = clock()
            for _ in range(n):
                fn()
            o.append((clock() - t0) / n)
    meds = [statistics.median(o) for o in out]
    return (meds[0] if f_np is not None else None), meds[-1]


def fmt_row(label, nbytes, nelem, t_np, t_rv):
    gb_rv = nbytes / t_rv * 1e-9
    me_rv = nelem / t_rv * 1e-6
    if t_np is None:
        return f"{label:24s} {'n/a':>9s} {gb_rv:9.2f} {'n/a':>10s} {me_rv:10.0f} {'n/a':>7s}"
    gb_np = nbytes / t_np * 1e-9
    me_np = nelem / t_np * 1e-6
    return f"{label:24s} {gb_np:9.2f} {gb_rv:9.2f} {me_np:10.0f} {me_rv:10.0f} {t_np / t_rv:7.2f}"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=1 << 20, help="elements per array (default 1M)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--target", type=float, default=0.05, help="seconds per repeat and library")
    p.add_argument("--cpu-time", action="store_true", help="time in process CPU time (1 thread, busy machine)")
    p.add_argument("--only", nargs="+", default=None, help="names to run (activations and/or losses)")
    args = p.parse_args()
    clock = time.process_time if args.cpu_time and args.threads == 1 else time.perf_counter

    rng = np.random.default_rng(0)
    cols = 1024
    rows = max(1, args.size // cols)
    n = rows * cols
    x = (rng.standard_normal((rows, cols)) * 3).astype(np.float32)
    y = np.empty_like(x)
    dy = rng.standard_normal((rows, cols)).astype(np.float32)
    dx = np.empty_like(x)
    print(f"ranvier {ranvier.__version__}: isa={ranvier.isa()} kernels={_core.kernel_names()['vunary']} "
          f"threads={args.threads} numpy {np.__version__}"
          f"{'' if _sp_erf is not None else ' (no scipy: gelu baseline n/a)'}")
    print(f"median of {args.repeats} interleaved repeats; ratio = numpy time / ranvier time (> 1: ranvier faster)")
    want = set(args.only) if args.only else None
    head = f"{'activation (' + str(rows) + 'x' + str(cols) + ')':24s} {'np GB/s':>9s} {'rv GB/s':>9s} " \
           f"{'np Mel/s':>10s} {'rv Mel/s':>10s} {'ratio':>7s}"
    with threadpool_limits(limits=args.threads), np.errstate(all="ignore"):
        ranvier.set_num_threads(args.threads)
        print("\n" + head + "\n" + "-" * len(head))
        for name, (kind, params, f_np) in ACTIVATIONS.items():
            if want and name not in want and kind not in want:
                continue
            k = ACT[kind]
            f_rv = lambda: _core.activation_forward(k, x, out=y, **params)  # noqa: E731
            has_np = f_np(x, np.empty_like(x)) is not None
            t_np, t_rv = time_pair((lambda: f_np(x, y)) if has_np else None, f_rv, args.repeats, args.target, clock)
            print(fmt_row(name, 8 * n, n, t_np, t_rv), flush=True)
        print("\n" + head.replace("activation", "backward  ") + "\n" + "-" * len(head))
        for name, (kind, f_np) in BACKWARD.items():
            if want and name not in want:
                continue
            k = ACT[kind]
            yy = _core.activation_forward(k, x)
            need_x, need_y = _core.activation_backward_needs(k)
            f_rv = lambda: _core.activation_backward(k, x if need_x else None, yy if need_y else None, dy,  # noqa: E731
                                                     out=dx)
            has_np = f_np(x, yy, dy) is not None
            nbytes = 4 * n * (2 + int(need_x) + int(need_y))
            t_np, t_rv = time_pair((lambda: f_np(x, yy, dy)) if has_np else None, f_rv, args.repeats, args.target,
                                   clock)
            print(fmt_row(name + "'", nbytes, n, t_np, t_rv), flush=True)

        k = 128
        lrows = max(1, args.size // k)
        ln = lrows * k
        real_p = (rng.standard_normal((lrows, k)) * 2).astype(np.float32)
        real_y = (rng.standard_normal((lrows, k)) * 2).astype(np.float32)
        prob_p = rng.uniform(0.01, 0.99, (lrows, k)).astype(np.float32)
        onehot = np.eye(k, dtype=np.float32)[rng.integers(0, k, lrows)]
        labels = rng.integers(0, k, lrows)
        binary = rng.integers(0, 2, (lrows, k)).astype(np.float32)
        pos_p = rng.uniform(0.01, 5, (lrows, k)).astype(np.float32)
        lhead = head.replace("activation (" + str(rows) + "x" + str(cols) + ")",
                             "loss (" + str(lrows) + "x" + str(k) + ")")
        print("\n" + lhead + "\n" + "-" * len(lhead))
        for name, (kind, params, inputs, f_np) in LOSSES.items():
            if want and name not in want and kind not in want:
                continue
            f_np = _np_loss(name) if (f_np is None or name == "mse") else f_np
            sparse = kind == "sparse_categorical_crossentropy"
            if inputs == "prob":
                yt, yp = (onehot if kind in ("categorical_crossentropy", "kl_divergence") else binary), prob_p
            elif inputs == "pos":
                yt, yp = np.abs(real_y), pos_p
            else:
                yt, yp = (binary if kind in ("binary_crossentropy", "hinge", "squared_hinge") else
                          onehot if kind in ("categorical_crossentropy", "categorical_hinge") else real_y), real_p
            yt_np = labels if sparse else yt
            if sparse:
                yt = labels[:, None].astype(np.float32)
            kk = LOSS[kind]
            f_rv = lambda: _core.loss_forward_backward(kk, yt, yp, None, 1.0, True, **params)  # noqa: E731
            t_np, t_rv = time_pair(lambda: f_np(yt_np, yp, k), f_rv, args.repeats, args.target, clock)
            nbytes = 4 * ln * (1 if sparse else 2) + 4 * ln + 4 * lrows
            print(fmt_row(name, nbytes, ln, t_np, t_rv), flush=True)
    ranvier.set_num_threads(0)


if __name__ == "__main__":
    main()
