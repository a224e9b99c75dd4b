"""A mixed numeric + categorical table whose labels come from a known function.

Used by examples/train_tabular.py and bench/bench_tabular.py (one definition: the benchmark
trains on exactly the example's data). Everything is drawn from NumPy generators seeded
from ``seed``, so the same call gives bit-identical arrays on every machine and in every
process.

The table (``load_data``):
- ``num``: 8 numeric columns on very different scales (offsets up to 30000, spreads from
  0.05 to 12000: what ``Normalization`` is for); columns 0 and 1 are correlated, columns 6
  and 7 carry no signal.
- three categorical columns of integer ids with a skewed (Zipf-like) frequency, as real
  ids are: ``store`` (1000 levels), ``product`` (100) and ``region`` (20). Every id in
  ``range(levels)`` is valid; rare ids are seen only a few times in 100k rows.
- a binary label ``y`` drawn as Bernoulli(sigmoid(logit)), with

      logit = 0.9 z0 - 0.7 z1 + 0.6 z2 z3 + 0.8 tanh(2 z4) + 0.4 (z5^2 - 1)
              + a_store[s] + a_product[p] + a_region[r]        (one effect per level)
              + b_store[s] * z0                                (id x numeric interaction)
              + u_product[p] . u_region[r]                     (id x id interaction, rank 2)
              - 0.3

  where z are the standardized numeric columns. The per-level effects are drawn once from
  ``seed``; the Bernoulli draw is the label noise, so no model can beat the generating
  probability (``true_probability``): its held-out AUC is the ceiling a score is read
  against.

The held-out rows come from their own generator: they are the same whatever ``n_train``.
"""
from __future__ import annotations

import numpy as np

NUMERIC_FEATURES = 8
CATEGORICAL_LEVELS = {"store": 1000, "product": 100, "region": 20}
# The embedding width the example and the benchmark give each categorical column.
EMBEDDING_DIMS = {"store": 16, "product": 8, "region": 4}

# numeric column i = LOC[i] + SCALE[i] * z_i
_LOC = np.array([0.0, 50.0, -3.0, 1000.0, 0.5, 20.0, 30000.0, 7.0])
_SCALE = np.array([1.0, 10.0, 0.1, 300.0, 0.05, 4.0, 12000.0, 2.0])
_MAIN_SD = {"store": 0.8, "product": 0.6, "region": 0.5}


def _structure(seed):
    """The per-level effects and frequencies: the part of the task fixed by the seed."""
    rng = np.random.default_rng([seed, 0])
    s = {}
    for name, levels in CATEGORICAL_LEVELS.items():
        freq = 1.0 / np.arange(1, levels + 1)          # Zipf(1) over a shuffled id order
        freq = freq[rng.permutation(levels)]
        s[name + "_p"] = freq / freq.sum()
        s[name + "_a"] = rng.normal(0.0, _MAIN_SD[name], levels)
    s["store_b"] = rng.normal(0.0, 0.7, CATEGORICAL_LEVELS["store"])
    s["product_u"] = rng.normal(0.0, 0.7, (CATEGORICAL_LEVELS["product"], 2))
    s["region_u"] = rng.normal(0.0, 0.7, (CATEGORICAL_LEVELS["region"], 2))
    return s


def _logit(z, ids, s):
    lg = (0.9 * z[:, 0] - 0.7 * z[:, 1] + 0.6 * z[:, 2] * z[:, 3] + 0.8 * np.tanh(2.0 * z[:, 4])
          + 0.4 * (z[:, 5] ** 2 - 1.0) - 0.3)
    for name in CATEGORICAL_LEVELS:
        lg = lg + s[name + "_a"][ids[name]]
    lg = lg + s["store_b"][ids["store"]] * z[:, 0]
    lg = lg + np.sum(s["product_u"][ids["product"]] * s["region_u"][ids["region"]], axis=1)
    return lg


def _sample(n, rng, s):
    z = rng.standard_normal((n, NUMERIC_FEATURES))
    z[:, 1] = 0.6 * z[:, 0] + 0.8 * z[:, 1]               # corr(z0, z1) = 0.6
    ids = {name: rng.choice(levels, size=n, p=s[name + "_p"])
           for name, levels in CATEGORICAL_LEVELS.items()}
    p = 1.0 / (1.0 + np.exp(-_logit(z, ids, s)))
    y = (rng.random(n) < p).astype(np.float32).reshape(n, 1)
    x = {"num": (_LOC + _SCALE * z).astype(np.float32)}
    for name in CATEGORICAL_LEVELS:
        x[name] = ids[name].astype(np.int64).reshape(n, 1)
    return x, y


def load_data(n_train=100_000, n_test=20_000, seed=0):
    """Returns ``(x_train, y_train), (x_test, y_test)``.

    x is a dict of NumPy arrays keyed by input name: ``"num"`` float32 (n, 8) and one int64
    (n, 1) array of ids per categorical column (``CATEGORICAL_LEVELS``); y is float32
    (n, 1) of 0/1 labels. The same seed gives the same arrays; the test rows do not depend
    on ``n_train``.
    """
    if int(n_train) < 1 or int(n_test) < 1:
        raise ValueError(f"n_train and n_test must be >= 1, got {n_train} and {n_test}")
    s = _structure(seed)
    train = _sample(int(n_train), np.random.default_rng([seed, 1]), s)
    test = _sample(int(n_test), np.random.default_rng([seed, 2]), s)
    return train, test


def true_probability(x, seed=0):
    """The probability the labels of ``load_data(seed=seed)`` were drawn with, for rows x
    (a dict as load_data returns): the best any model can predict. float64 (n,)."""
    s = _structure(seed)
    z = (np.asarray(x["num"], dtype=np.float64) - _LOC) / _SCALE
    ids = {name: np.asarray(x[name]).reshape(-1).astype(np.int64) for name in CATEGORICAL_LEVELS}
    return 1.0 / (1.0 + np.exp(-_logit(z, ids, s)))


def roc_auc(y, score):
    """The exact area under the ROC curve (the Mann-Whitney statistic, ties counted half)."""
    y = np.asarray(y).reshape(-1) > 0.5
    score = np.asarray(score, dtype=np.float64).reshape(-1)
    if y.shape != score.shape:
        raise ValueError(f"y has {y.shape[0]} rows but score has {score.shape[0]}")
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("roc_auc needs both classes in y")
    order = np.argsort(score, kind="mergesort")
    s = score[order]
    ranks = np.empty(s.size, dtype=np.float64)
    # average rank (1-based) over each run of equal scores
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    ends = np.r_[starts[1:], s.size]
    avg = (starts + ends + 1) / 2.0
    ranks[order] = np.repeat(avg, ends - starts)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))
