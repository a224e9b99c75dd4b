"""Boston housing prices (``keras.datasets.boston_housing``): 506 rows of 13 features."""
from __future__ import annotations

import numpy as np

from ._files import ORIGIN, get_file
from ._split import check_test_split, shuffle_split

__all__ = ["load_data"]

SHA256 = "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"


def load_data(path="boston_housing.npz", test_split=0.2, seed=113):
    """``(x_train, y_train), (x_test, y_test)``: rows shuffled with ``RandomState(seed)``,
    the first ``int(n * (1 - test_split))`` for training (404 / 102 by default)."""
    check_test_split(test_split)
    path = get_file(path, origin=f"{ORIGIN}boston_housing.npz", file_hash=SHA256)
    with np.load(path, allow_pickle=False) as f:
        x, y = f["x"], f["y"]
    return shuffle_split(x, y, test_split, seed)
