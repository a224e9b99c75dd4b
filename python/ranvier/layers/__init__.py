"""Keras-shaped layers over ranvier's C++ core.

``Dense``, ``Dropout``, ``GaussianNoise``, ``BatchNormalization``, ``LayerNormalization``,
``Flatten``, ``Activation``, ``ReLU``, ``LeakyReLU``, ``ELU``, ``Softmax``, the tabular layers
(``Normalization`` and ``Discretization`` with ``adapt``, ``Rescaling``, ``Identity``, ``UnitNormalization``,
``ActivityRegularization``, ``GaussianDropout``, ``AlphaDropout``), the id and shape layers
(``Embedding``, ``CategoryEncoding``, ``Reshape``, ``RepeatVector``), the global pooling layers
(``GlobalAveragePooling1D``, ``GlobalMaxPooling1D`` and their aliases ``GlobalAvgPool1D``,
``GlobalMaxPool1D``), the lookup layers
(``IntegerLookup``, ``StringLookup``: raw keys encoded before the network), ``Hashing`` (on raw
data, before the network), the merge layers
(``Concatenate``, ``Add``, ``Subtract``, ``Multiply``, ``Average``, ``Maximum``, ``Minimum``,
``Dot`` and their functional forms ``concatenate``, ``add``, ...: a list of inputs), ``InputLayer`` and
``Input(shape=...)``, with Keras's arguments, defaults, automatic names ("dense",
"dense_1", ...), ``get_config``/``from_config``, ``get_weights``/``set_weights`` (Keras
order and shapes: a Dense kernel is (input_dim, units)), ``weights`` /
``trainable_weights`` / ``non_trainable_weights`` (``Variable`` views), ``count_params``.
A layer can be called on a NumPy array: ``layer(x, training=None)`` builds it on first
use, checks the feature count and returns a float32 array.

Protocol between a layer and the model (``ranvier.models.Sequential``)
----------------------------------------------------------------------
1. ``layer.build(input_shape)`` (batch dimension first, may be None) creates
   ``layer._core_layer``: the C++ layer, a ``_core.Layer`` subclass held by
   ``std::shared_ptr`` (``_core.Network.add`` takes it), already built for
   ``in_features`` inputs, and initializes its weights (initializers run in NumPy,
   float32) into arrays the layer owns and has bound to the C++ layer. Flatten's
   ``in_features`` is the product of the non-batch dimensions, and so is that of a layer
   with ``_flat_input`` True (Reshape, Embedding, one_hot CategoryEncoding, the global
   pooling layers) and, in a
   Sequential, of an elementwise layer given N-D samples; every other layer works on the
   last axis (the model hands N-D samples over flattened to rows).
2. ``layer._weight_specs()`` -> ``[(name, shape, trainable), ...]`` in Keras weight
   order, identical to ``layer._core_layer.param_specs()``. ``trainable`` is False for
   BatchNormalization's moving statistics and for every weight of a layer whose
   ``trainable`` is False (the C++ layer then computes no gradients and no
   regularization, and BatchNormalization runs in inference mode). Changing
   ``layer.trainable`` changes the specs: the model must rebuild its buffers (Keras:
   "recompile after changing trainable").
3. ``layer._adopt_storage(params, grads)``: ``params[i]`` / ``grads[i]`` are
   writeable, C-contiguous float32 arrays of ``_weight_specs()[i]``'s shape (views into
   the model's flat buffers); ``grads[i]`` is None for non-trainable weights. The
   layer copies its current values into ``params``, keeps both lists as its storage
   from then on (``get_weights``/``set_weights``/``weights`` read and write them in
   place) and re-binds the C++ layer to them. The caller must keep the buffers alive
   (a NumPy view whose base owns the memory does).
4. ``layer.output_activation_kind`` -> the lower-case ActKind name of the activation
   the layer applies last ("linear" when none), for loss fusion; the same as
   ``ACT_KINDS[layer._core_layer.output_activation]``.
5. ``layer._input_shape_hint``: ``(batch, *input_shape)`` when the layer was given
   Keras's ``input_shape=``/``input_dim=``/``batch_input_shape=`` (else None).
6. ``serialize(layer)`` / ``deserialize(config, custom_objects=None)`` use Keras's
   dict layout ``{"module", "class_name", "config", "registered_name", "build_config"}``.

A layer added to a second model is shared with it, as in Keras (its weights live in one
model's buffers at a time; see ``Sequential._check_not_shared``). Calling a layer directly uses the C++
workspaces of the model holding it: the call takes that model's inference lock, so it waits
for a running batch of the model's fit / predict in another thread instead of racing it.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Type

from .. import _registry
from ._base import (  # noqa: F401 (reset_uids: clear_session)
    ACT_KINDS,
    BUILTIN_LAYER_NAMES,
    Layer,
    Variable,
    reset_uids,
    to_snake_case,
)
from ._core_layers import ELU, Activation, Dense, Dropout, Flatten, GaussianNoise, LeakyReLU, ReLU, Softmax
from ._embedding import CategoryEncoding, Embedding, RepeatVector, Reshape
from ._hashing import Hashing
from ._input import Input, InputLayer, KerasTensor
from ._lookup import IntegerLookup, StringLookup
from ._merge import (
    Add,
    Average,
    Concatenate,
    Dot,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    add,
    average,
    concatenate,
    dot,
    maximum,
    minimum,
    multiply,
    subtract,
)
from ._normalization import BatchNormalization, LayerNormalization
from ._pooling import GlobalAveragePooling1D, GlobalAvgPool1D, GlobalMaxPool1D, GlobalMaxPooling1D
from ._tabular import (
    ActivityRegularization,
    AlphaDropout,
    Discretization,
    GaussianDropout,
    Identity,
    Normalization,
    Rescaling,
    UnitNormalization,
)

__all__ = [
    "Layer", "Variable", "Dense", "Dropout", "GaussianNoise", "BatchNormalization", "LayerNormalization", "Flatten",
    "Activation", "ReLU", "LeakyReLU", "ELU", "Softmax", "InputLayer", "Input", "KerasTensor",
    "Normalization", "Discretization", "Rescaling", "Identity", "UnitNormalization", "ActivityRegularization", "GaussianDropout",
    "AlphaDropout", "Embedding", "CategoryEncoding", "Reshape", "RepeatVector", "IntegerLookup", "StringLookup",
    "Hashing", "Concatenate", "Add", "Subtract", "Multiply", "Average",
    "Maximum", "Minimum", "Dot", "concatenate", "add", "subtract", "multiply", "average", "maximum", "minimum",
    "dot", "GlobalAveragePooling1D", "GlobalMaxPooling1D", "GlobalAvgPool1D", "GlobalMaxPool1D",
    "serialize", "deserialize",
]

# One Python class per row of the C++ layer table (cpp/src/layers/layers.def), by its name.
_CLASSES = tuple(globals()[name] for name in BUILTIN_LAYER_NAMES) + (InputLayer,)
_REGISTRY: Dict[str, Type[Layer]] = {cls.__name__: cls for cls in _CLASSES}
_REGISTRY.update(GlobalAvgPool1D=GlobalAveragePooling1D, GlobalMaxPool1D=GlobalMaxPooling1D)  # Keras's aliases
_REGISTRY["Hashing"] = Hashing  # runs on raw data, outside the C++ network


def _valid_names() -> str:
    return f"{', '.join(sorted(_REGISTRY))} (pass custom layers in custom_objects)"


def serialize(layer: Layer) -> Dict[str, Any]:
    """Keras's layer dict: module, class_name, config, registered_name, build_config."""
    out: Any = _registry.serialize(layer, kind="layer", base=Layer, builtin=_CLASSES + (Hashing,), functions=False)
    build = layer.get_build_config() if not isinstance(layer, InputLayer) else None
    if build is not None:
        out["build_config"] = build
    return out


def deserialize(config: Dict[str, Any], custom_objects: Optional[Dict[str, Any]] = None) -> Layer:
    """Rebuilds a layer from ``serialize``'s dict (built when it has a build_config)."""
    layer = _registry.deserialize(config, custom_objects, kind="layer", registry=_REGISTRY,
                                  valid_names=_valid_names, get=None)
    build = config.get("build_config")
    if build and not isinstance(layer, InputLayer):
        layer.build_from_config(build)
    return layer
