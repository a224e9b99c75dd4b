"""Finite differences for the gradient tests: the central difference of a scalar function."""
from __future__ import annotations

from typing import Callable

import numpy as np


def central_differences(f: Callable[[np.ndarray], float], x: np.ndarray, h: float) -> np.ndarray:
    """d f / d x by central differences, (f(x + h e_i) - f(x - h e_i)) / 2h for every element
    i of ``x`` (any shape), as a float64 array of x's shape. ``x`` is left unchanged."""
    fd = np.zeros(x.shape)
    for idx in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += h
        xm[idx] -= h
        fd[idx] = (f(xp) - f(xm)) / (2 * h)
    return fd
