"""The shuffle-and-split of boston_housing and california_housing (Keras's)."""
from __future__ import annotations

import numpy as np


def check_test_split(test_split) -> None:
    """ValueError unless 0 <= test_split < 1."""
    if not (0 <= test_split < 1):
        raise ValueError(f"Invalid `test_split` argument: {test_split}. It must be between 0 and 1 "
                         f"(exclusive of 1).")


def shuffle_split(x, y, test_split, seed):
    """Rows shuffled with ``RandomState(seed)``; the first ``int(n * (1 - test_split))``
    are the training set."""
    rng = np.random.RandomState(seed)
    idx = np.arange(len(x))
    rng.shuffle(idx)
    x, y = x[idx], y[idx]
    n = int(len(x) * (1 - test_split))
    return (np.array(x[:n]), np.array(y[:n])), (np.array(x[n:]), np.array(y[n:]))
