"""Training curves: ``history.plot()`` (matplotlib, an optional extra).

``plot_history(history)`` draws one panel per quantity in ``history.history`` (``loss``
first, then the metrics in the order they were logged), training and validation
(``val_<name>``) in the same axes, against the epoch number (1-based, as Keras's
progress lines count). ``History.plot(...)`` is this function. matplotlib is imported
only when a plot is made: ``pip install matplotlib`` (the ``plot`` extra:
``pip install ".[plot]"`` in a checkout).
"""
from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["plot_history"]

_VAL = "val_"


def _import_pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise ImportError(
            "history.plot() needs matplotlib, an optional extra: pip install ranvier[plot] "
            f"(or pip install matplotlib); the import failed with: {e}") from e
    return plt


def _series(history: Any) -> Tuple[Dict[str, List[float]], List[int]]:
    """``(name -> values, epochs)`` from a History, or a plain ``{name: values}`` dict."""
    logs = getattr(history, "history", history)
    if not isinstance(logs, Mapping):
        raise TypeError(f"plot_history: expected a ranvier History or a dict of lists, "
                        f"got {type(history).__name__}")
    flat: Dict[str, List[float]] = {}
    for k, vals in logs.items():
        arrays = [np.asarray(v, dtype=np.float64).reshape(-1) for v in vals]
        if any(a.size != 1 for a in arrays):
            # an array-valued metric (confusion counts at several thresholds, per-class
            # F-scores): one curve per component, "name[i]"
            width = max(a.size for a in arrays)
            for i in range(width):
                flat[f"{k}[{i}]"] = [float(a[i]) if i < a.size else float("nan") for a in arrays]
        else:
            flat[str(k)] = [float(a[0]) for a in arrays]
    logs = flat
    if not logs or not any(logs.values()):
        raise ValueError("plot_history: the history is empty (no epoch was logged)")
    n = max(len(v) for v in logs.values())
    epoch = list(getattr(history, "epoch", None) or range(n))
    if len(epoch) != n:
        epoch = list(range(n))
    return logs, [e + 1 for e in epoch]


def _panels(names: Sequence[str], metrics: Optional[Sequence[str]]) -> List[str]:
    """Base names (without ``val_``), ``loss`` first, then in logging order."""
    bases: List[str] = []
    for k in names:
        base = k[len(_VAL):] if k.startswith(_VAL) else k
        if base not in bases:
            bases.append(base)
    if metrics is not None:
        wanted = [m[len(_VAL):] if m.startswith(_VAL) else m for m in metrics]
        missing = [m for m in wanted if m not in bases]
        if missing:
            raise ValueError(f"plot_history: no logged values for {missing}; the history has "
                             f"{sorted(names)}")
        return list(dict.fromkeys(wanted))
    return sorted(bases, key=lambda b: (b != "loss", bases.index(b)))


def plot_history(history: Any, metrics: Optional[Sequence[str]] = None,
                 path: Optional[Union[str, "os.PathLike[str]"]] = None, *, ncols: Optional[int] = None,
                 figsize: Optional[Tuple[float, float]] = None, title: Optional[str] = None,
                 dpi: int = 100, logy: Union[bool, Sequence[str]] = False) -> "Figure":
    """Draws the per-epoch curves of ``history`` and returns the matplotlib Figure.

    Args:
        history: the ``History`` returned by ``model.fit`` (or its ``.history`` dict).
        metrics: names to draw (``"loss"``, ``"accuracy"``, ...; ``val_`` partners are
            added); default: every logged quantity.
        path: when given, the figure is also written there (PNG unless the suffix says
            otherwise) at ``dpi``.
        ncols: panels per row (default: up to 3).
        figsize: inches; default 4.6 x 3.4 per panel.
        title: a title over the panels.
        dpi: resolution of the saved file.
        logy: True for a log y-axis in every panel, or the names of the panels to draw so.

    Returns:
        The ``matplotlib.figure.Figure`` (shown inline in notebooks; call
        ``matplotlib.pyplot.show()`` in scripts).
    """
    logs, epochs = _series(history)
    bases = _panels(list(logs), metrics)
    plt = _import_pyplot()
    ncols = ncols or min(3, len(bases))
    nrows = math.ceil(len(bases) / ncols)
    figsize = figsize or (4.6 * ncols, 3.4 * nrows)
    fig, axes = plt.subplots(nrows, ncols, figsize=figsize, squeeze=False)
    for i, base in enumerate(bases):
        ax = axes[i // ncols][i % ncols]
        for key, label, style in ((base, "training", "-"), (_VAL + base, "validation", "--")):
            vals = logs.get(key)
            if vals:
                ax.plot(epochs[:len(vals)], vals, style, marker="o" if len(vals) <= 30 else None,
                        markersize=3, label=label)
        ax.set_title(base)
        ax.set_xlabel("epoch")
        if logy is True or (not isinstance(logy, bool) and base in logy):
            ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
        if _VAL + base in logs:
            ax.legend()
    for j in range(len(bases), nrows * ncols):
        axes[j // ncols][j % ncols].set_visible(False)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if path is not None:
        fig.savefig(os.fspath(path), dpi=dpi)
    return fig
