"""ranvier: train neural networks (MLPs) on the CPU, fast, with a Keras-shaped API.

The compute core is C++ (SIMD kernels chosen at run time, OpenMP threads); this
package is the thin Python face over it.
"""
from __future__ import annotations

from . import _core
from ._runtime import (
    build_info,
    get_num_threads,
    isa,
    set_num_threads,
    supported_isas,
)
from . import ops

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "build_info",
    "get_num_threads",
    "isa",
    "ops",
    "set_num_threads",
    "supported_isas",
]
