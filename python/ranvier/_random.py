"""ranvier's global random stream.

Everything random that is not given an explicit seed (initializers, Dropout masks,
shuffling in fit) draws its seed from here, so ``ranvier.utils.set_random_seed(s)``
makes a whole run reproducible. Streams are NumPy PCG64 (same numbers on every
machine) and, in C++, counter-based hashes keyed by these seeds (independent of
the thread count).
"""
from __future__ import annotations

import random as _pyrandom
from typing import Optional

import numpy as np

_generator = np.random.default_rng()


def seed(value: int) -> None:
    """Re-seeds the global stream (and Python's and NumPy's legacy global ones)."""
    global _generator
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"set_random_seed: seed must be an int, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"set_random_seed: seed must be >= 0, got {value}")
    value = int(value)
    _pyrandom.seed(value)
    np.random.seed(value % (2**32))
    _generator = np.random.default_rng(value)


def next_seed() -> int:
    """A fresh 63-bit seed from the global stream."""
    return int(_generator.integers(0, 2**63 - 1))


def generator(seed_value: Optional[int] = None) -> np.random.Generator:
    """A NumPy Generator: seeded by ``seed_value`` when given, else from the global stream."""
    if seed_value is None:
        seed_value = next_seed()
    return np.random.default_rng(int(seed_value))
