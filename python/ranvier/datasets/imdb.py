"""IMDB movie reviews (``keras.datasets.imdb``): 25,000 + 25,000 reviews as word-index
sequences, labelled positive (1) or negative (0)."""
from __future__ import annotations

import json

import numpy as np

from . import _sequences
from ._files import ORIGIN, get_file, load_npz

__all__ = ["load_data", "get_word_index"]

SHA256 = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"
WORD_INDEX_MD5 = "bfafd718b763782e994055a2d397834f"


def load_data(path="imdb.npz", num_words=None, skip_top=0, maxlen=None, seed=113, start_char=1, oov_char=2,
              index_from=3, **kwargs):
    """``(x_train, y_train), (x_test, y_test)`` as Keras: x are object arrays of int lists.

    Steps (Keras's): shuffle train then test with one ``RandomState(seed)``; prefix
    ``start_char`` and add ``index_from`` to every index; with ``maxlen`` keep the
    sequences shorter than it (ValueError when none is left); indices outside
    ``skip_top <= w < num_words`` become ``oov_char`` (or are dropped when it is None).
    Extra keyword arguments are ignored, as in Keras.
    """
    path = get_file(fname=path, origin=f"{ORIGIN}imdb.npz", file_hash=SHA256)
    f = load_npz(path)
    x_train, labels_train = f["x_train"], f["y_train"]
    x_test, labels_test = f["x_test"], f["y_test"]
    rng = np.random.RandomState(seed)
    idx = np.arange(len(x_train))
    rng.shuffle(idx)
    x_train, labels_train = x_train[idx], labels_train[idx]
    idx = np.arange(len(x_test))
    rng.shuffle(idx)
    x_test, labels_test = x_test[idx], labels_test[idx]
    xs_train = _sequences.shift(x_train, start_char, index_from)
    xs_test = _sequences.shift(x_test, start_char, index_from)
    if maxlen:
        xs_train, labels_train = _sequences.remove_long(maxlen, xs_train, labels_train)
        xs_test, labels_test = _sequences.remove_long(maxlen, xs_test, labels_test)
        if not xs_train or not xs_test:
            raise ValueError(f"After filtering for sequences shorter than maxlen={maxlen}, no sequence was "
                             f"kept. Increase maxlen.")
    xs = _sequences.limit_words(xs_train + xs_test, num_words, skip_top, oov_char)
    labels = np.concatenate([labels_train, labels_test])
    n = len(xs_train)
    return (_objects(xs[:n]), labels[:n]), (_objects(xs[n:]), labels[n:])


def _objects(seqs) -> np.ndarray:
    out = np.empty(len(seqs), dtype=object)
    for i, s in enumerate(seqs):
        out[i] = s
    return out


def get_word_index(path="imdb_word_index.json"):
    """The dict word -> index (rank by frequency) of the IMDB data set."""
    path = get_file(fname=path, origin=f"{ORIGIN}imdb_word_index.json", file_hash=WORD_INDEX_MD5)
    with open(path) as f:
        return json.load(f)
