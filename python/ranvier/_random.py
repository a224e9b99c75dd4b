"""ranvier's global random stream.

Everything random that is not given an explicit seed (initializers, Dropout masks,
shuffling in fit) draws its seed from here, so ``ranvier.utils.set_random_seed(s)``
makes a whole run reproducible. Streams are NumPy PCG64 (same numbers on every
machine) and, in C++, counter-based hashes keyed by these seeds (independent of
the thread count).
"""
from __future__ import annotations

import contextlib
import random as _pyrandom
import threading
from typing import Iterator, Optional

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


# Fits that use a seeded private stream swap the global stream for their duration; the
# lock keeps two such fits (in two threads) from interleaving.
_STREAM_LOCK = threading.RLock()


@contextlib.contextmanager
def private_stream(seed_value: int) -> Iterator[None]:
    """Makes the global stream a private one seeded by ``seed_value`` for the duration,
    then restores the caller's stream (sklearn's ``random_state``)."""
    global _generator
    with _STREAM_LOCK:
        saved = _generator
        _generator = np.random.default_rng(seed_value)
        try:
            yield
        finally:
            _generator = saved


@contextlib.contextmanager
def preserved_stream() -> Iterator[None]:
    """Leaves the global stream where it was: what runs inside (rebuilding a model whose
    initial weights are overwritten at once, as loading does) does not consume it."""
    state = _generator.bit_generator.state
    try:
        yield
    finally:
        _generator.bit_generator.state = state
