"""Names, as Keras gives them: one ``to_snake_case`` and one session-wide counter behind the
automatic names of layers, metrics, optimizers and models ("dense", "dense_1", "adam_2").
``clear_session`` (``ranvier.utils.clear_session``) restarts the counter."""
from __future__ import annotations

import collections
import re
from typing import Dict

_uids: Dict[str, int] = collections.defaultdict(int)


def to_snake_case(name: str) -> str:
    """Keras's ``to_snake_case``: "BatchNormalization" -> "batch_normalization",
    "ReLU" -> "re_lu", "RootMeanSquaredError" -> "root_mean_squared_error"."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def uniquify(name: str) -> str:
    """``name`` the first time, then ``name_1``, ``name_2``, ... (one counter per name)."""
    n = _uids[name]
    _uids[name] = n + 1
    return name if n == 0 else f"{name}_{n}"


def auto_name(class_name: str) -> str:
    """Keras's ``auto_name``: the snake case of a class name, made unique in the session."""
    return uniquify(to_snake_case(class_name))


def reset() -> None:
    """Forgets every name handed out (what ``clear_session`` does)."""
    _uids.clear()
