"""California housing prices (``keras.datasets.california_housing``): 20,640 rows of 8
features; the target is the median house value in dollars."""
from __future__ import annotations

import numpy as np

from ._files import ORIGIN, get_file
from ._split import check_test_split, shuffle_split

__all__ = ["load_data"]

SHA256 = "1a2e3a52e0398de6463aebe6f4a8da34fb21fbb6b934cf88c3425e766f2a1a6f"


def load_data(version="large", path="california_housing.npz", test_split=0.2, seed=113):
    """``(x_train, y_train), (x_test, y_test)``; ``version="small"`` keeps the first 600
    rows (before shuffling). Shuffled and split as ``boston_housing``."""
    check_test_split(test_split)
    path = get_file(path, origin=f"{ORIGIN}california_housing.npz", file_hash=SHA256)
    with np.load(path, allow_pickle=False) as f:
        x, y = f["x"], f["y"]
    if version == "small":
        x, y = x[:600], y[:600]
    elif version != "large":
        raise ValueError(f"Argument `version` must be one of 'small', 'large'. Received: version={version}")
    return shuffle_split(x, y, test_split, seed)
