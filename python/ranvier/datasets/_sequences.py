"""What imdb and reuters do to their word-index sequences (Keras's steps, in order)."""
from __future__ import annotations

from typing import List, Sequence, Tuple


def shift(xs, start_char, index_from) -> List[List[int]]:
    """Each sequence becomes ``[start_char] + [w + index_from ...]`` (no start mark when
    ``start_char`` is None)."""
    if start_char is not None:
        return [[start_char] + [int(w) + index_from for w in x] for x in xs]
    if index_from:
        return [[int(w) + index_from for w in x] for x in xs]
    return [[int(w) for w in x] for x in xs]


def remove_long(maxlen, xs: Sequence[List[int]], labels) -> Tuple[List[List[int]], list]:
    """Keeps the sequences strictly shorter than ``maxlen`` (Keras's remove_long_seq)."""
    keep_x, keep_y = [], []
    for x, y in zip(xs, labels):
        if len(x) < maxlen:
            keep_x.append(x)
            keep_y.append(y)
    return keep_x, keep_y


def limit_words(xs, num_words, skip_top, oov_char) -> List[List[int]]:
    """Indices outside ``skip_top <= w < num_words`` become ``oov_char`` (dropped when it
    is None); ``num_words`` None or 0 means the largest index."""
    if not num_words:
        num_words = max(max(x) for x in xs if len(x)) if any(len(x) for x in xs) else 0
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    return [[w for w in x if skip_top <= w < num_words] for x in xs]
