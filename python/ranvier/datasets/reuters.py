"""Reuters newswires (``keras.datasets.reuters``): 11,228 wires as word-index sequences,
in 46 topics."""
from __future__ import annotations

import json

import numpy as np

from . import _sequences
from ._files import ORIGIN, get_file, load_npz
from .imdb import _objects

__all__ = ["load_data", "get_word_index", "get_label_names"]

SHA256 = "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"
WORD_INDEX_MD5 = "4d44cc38712099c9e383dc6e5f11a921"

_LABELS = ("cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing", "money-supply", "coffee",
           "sugar", "trade", "reserves", "ship", "cotton", "carcass", "crude", "nat-gas", "cpi", "money-fx",
           "interest", "gnp", "meal-feed", "alum", "oilseed", "gold", "tin", "strategic-metal", "livestock",
           "retail", "ipi", "iron-steel", "rubber", "heat", "jobs", "lei", "bop", "zinc", "orange", "pet-chem",
           "dlr", "gas", "silver", "wpi", "hog", "lead")


def load_data(path="reuters.npz", num_words=None, skip_top=0, maxlen=None, test_split=0.2, seed=113,
              start_char=1, oov_char=2, index_from=3):
    """``(x_train, y_train), (x_test, y_test)`` as Keras: every wire is shuffled with
    ``RandomState(seed)``, transformed as in ``imdb.load_data``, then split at
    ``int(n * (1 - test_split))``."""
    path = get_file(fname=path, origin=f"{ORIGIN}reuters.npz", file_hash=SHA256)
    f = load_npz(path)
    xs, labels = f["x"], f["y"]
    rng = np.random.RandomState(seed)
    idx = np.arange(len(xs))
    rng.shuffle(idx)
    xs, labels = xs[idx], labels[idx]
    seqs = _sequences.shift(xs, start_char, index_from)
    labels_l = list(labels)
    if maxlen:
        seqs, labels_l = _sequences.remove_long(maxlen, seqs, labels_l)
    seqs = _sequences.limit_words(seqs, num_words, skip_top, oov_char)
    n = int(len(seqs) * (1 - test_split))
    return (_objects(seqs[:n]), np.array(labels_l[:n])), (_objects(seqs[n:]), np.array(labels_l[n:]))


def get_word_index(path="reuters_word_index.json"):
    """The dict word -> index of the Reuters data set."""
    path = get_file(path, origin=f"{ORIGIN}reuters_word_index.json", file_hash=WORD_INDEX_MD5)
    with open(path) as f:
        return json.load(f)


def get_label_names():
    """The 46 topic names, in label order."""
    return _LABELS
