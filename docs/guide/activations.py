"""Every activation ranvier's layers can use, with its derivative, both computed by the C++
kernels a Dense layer runs in its forward and backward passes.

    python docs/guide/activations.py [OUTDIR]   # writes activations.png and activations.txt

The list comes from the library (``ranvier.activations.KIND_NAMES``, the names of the C++
kernels), so a new activation shows up here without editing this file.
"""
from __future__ import annotations

import math
import sys

import numpy as np

from ranvier import _core, activations

X_MIN, X_MAX, STEP = -4.0, 4.0, 1.0 / 32

# The softmax kinds act on a whole row; they are drawn for the two logits (x, 0).
ALONG_LAST_AXIS = ("softmax", "log_softmax")


def grid():
    """x = -4 + (k + 1/2)/32: exact in float32, and never an integer (the piecewise
    activations have their corners at integers: relu at 0, relu6 at 0 and 6, hard_sigmoid
    at -3 and 3), so every plotted point has a derivative."""
    return ((np.arange(X_MIN / STEP, X_MAX / STEP) + 0.5) * STEP).astype(np.float32)


def kinds():
    """The names of ranvier's activation kernels, in the library's order."""
    return list(activations.KIND_NAMES)


def numpy_only():
    """Keras activations ranvier can call (in NumPy) but no layer can use: no C++ kernel."""
    names = []
    for name in activations.__all__:
        fn = getattr(activations, name)
        if name in ("get", "serialize", "deserialize", "core_spec", "core_kind") or not callable(fn):
            continue
        try:
            activations.core_spec(name)
        except ValueError:
            names.append(name)
    return names


def params(kind):
    """The kernel's parameters as a layer with ``activation=kind`` uses them."""
    try:
        return activations.core_spec(kind)[1]
    except ValueError:  # a kernel with no name of its own: "gelu_approx" is gelu(approximate=True)
        return dict(activations.PARAM_DEFAULTS)


def _rows(kind, x):
    x = np.asarray(x, dtype=np.float32)
    if kind in ALONG_LAST_AXIS:
        return np.ascontiguousarray(np.stack([x, np.zeros_like(x)], axis=-1))
    return np.ascontiguousarray(x)


def forward(kind, x):
    """f(x) from the forward kernel (float32)."""
    y = _core.activation_forward(activations.core_kind(kind), _rows(kind, x), **params(kind))
    return y[..., 0] if kind in ALONG_LAST_AXIS else y


def derivative(kind, x):
    """f'(x) from the backward kernel: the dL/dx it returns for dL/df = 1 (float32)."""
    k, p = activations.core_kind(kind), params(kind)
    z = _rows(kind, x)
    y = _core.activation_forward(k, z, **p)
    needs_x, needs_y = _core.activation_backward_needs(k, **p)
    dy = np.ones_like(z)
    if kind in ALONG_LAST_AXIS:
        dy[..., 1] = 0.0  # the derivative of the first output ...
    dx = _core.activation_backward(k, z if needs_x else None, y if needs_y else None, dy, **p)
    return dx[..., 0] if kind in ALONG_LAST_AXIS else dx  # ... with respect to the first logit


def curves():
    """``{kind: (x, f(x), f'(x))}`` for every kernel: what the figure draws."""
    x = grid()
    return {kind: (x, forward(kind, x), derivative(kind, x)) for kind in kinds()}


def plot(data, outdir):
    """One panel per activation: f solid, f' dashed."""
    import _plot

    ncols = 6
    nrows = math.ceil(len(data) / ncols)
    with _plot.style():
        fig = _plot.figure(7.6, 1.55 * nrows)
        axes = fig.subplots(nrows, ncols, sharex=True).ravel()
        for ax, (kind, (x, y, dy)) in zip(axes, data.items()):
            ax.plot(x, y, color="C0", label="f(x)")
            ax.plot(x, dy, "--", color="C3", label="f'(x)")
            ax.tick_params(labelbottom=True, labelsize=7)
            ax.set_title(kind if kind not in ALONG_LAST_AXIS else f"{kind}([x, 0])[0]")
            lo, hi = float(min(y.min(), dy.min())), float(max(y.max(), dy.max()))
            if hi - lo > 8:  # exponential: keep the small values readable
                ax.set_ylim(max(lo, -2.0), 8.0)
        for ax in axes[len(data):]:
            ax.set_visible(False)
        axes[0].legend(loc="upper left")
        return _plot.save(fig, outdir, "activations.png")


def main(outdir="."):
    """Writes activations.png and activations.txt into outdir."""
    import _plot

    data = curves()
    text = (f"{len(data)} kernels, drawn above: {', '.join(data)}\n"
            f"NumPy only (callable, not usable in a layer): {', '.join(numpy_only())}")
    print(text)
    _plot.write_text(outdir, "activations.txt", text)
    plot(data, outdir)


if __name__ == "__main__":
    main(*sys.argv[1:])
