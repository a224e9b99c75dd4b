"""Keras's small data sets (``keras.datasets``): ``mnist``, ``fashion_mnist``, ``imdb``,
``reuters``, ``boston_housing``, ``california_housing``.

Each module has Keras's ``load_data(...)`` with the same arguments, file names, origin
URLs and checksums. Files are downloaded once (with ``urllib``, on first use) into
Keras's cache folder, ``~/.keras/datasets`` (or ``$KERAS_HOME/datasets``; a temporary
``.keras`` folder when that is not writable), so a machine that already has Keras's
copies reuses them. Offline, the error names the file to download and where to put it.
"""
from __future__ import annotations

import importlib
from typing import Any

from ._files import get_file

__all__ = ["mnist", "fashion_mnist", "imdb", "reuters", "boston_housing", "california_housing",
           "get_file"]

_MODULES = ("mnist", "fashion_mnist", "imdb", "reuters", "boston_housing", "california_housing")


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'ranvier.datasets' has no attribute '{name}'")


def __dir__():
    return sorted(set(globals()) | set(__all__))
