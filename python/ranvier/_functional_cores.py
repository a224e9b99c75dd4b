"""The C++ core of a later call of a layer in a graph functional model (a layer called
twice, or through a model called twice): the same config as the layer's own core, bound by
the network to the first call's weights (``Network.add_node(..., shares_with)``)."""
from __future__ import annotations

from typing import List

import numpy as np

from . import _core

__all__ = ["second_core"]


def _width(shape) -> int:
    return int(np.prod([int(d) for d in tuple(shape)[1:]], dtype=np.int64)) if len(tuple(shape)) > 1 else 1


def second_core(layer, in_shapes: List[tuple], trains: bool, call: int):
    """A second C++ core of ``layer`` for its ``call``-th call (1, 2, ...) on tensors of
    ``in_shapes``; ``trains``: the layer's effective trainable flag in the model. A random
    layer (Dropout, GaussianNoise, ...) gets the seed ``_core.call_seed(seed, call)``, so each
    call draws its own mask or noise, as Keras's seed generator advances per call (the C++
    file loader derives the same seeds)."""
    seed = getattr(layer, "_core_seed", None)
    if seed is not None:
        layer._core_seed = int(_core.call_seed(int(seed), int(call)))
    try:
        make = getattr(layer, "_make_shared_core", None)
        if make is not None:
            return make(in_shapes)
        if len(in_shapes) == 1:
            core = layer._make_core()
            core.trainable = trains
            core.build(layer._in_features(in_shapes[0]))
            return core
        maker = getattr(layer, "_make_core_for", None)
        core = maker(in_shapes) if maker is not None else layer._make_core()
        core.trainable = trains
        core.build_inputs([_width(s) for s in in_shapes])
        return core
    finally:
        if seed is not None:
            layer._core_seed = seed
