"""The trainable flags of a model (``TrainableMixin``, a base of ``Sequential`` and so of
every model): the model's own ``trainable`` (setting it sets every layer's, as Keras), the
trainable / non-trainable weight lists, and when a changed flag takes effect (at compile,
as Keras captures them; at once for a training-mode call, ``live_trainable``)."""
from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, List

from .. import layers as layers_module
from ..layers import _base as layers_base

__all__ = ["TrainableMixin", "live_trainable"]


@contextlib.contextmanager
def live_trainable(pairs, model_trainable: bool = True):
    """For a call in training mode (``model(x, training=True)``): each ``(layer, core)``'s
    C++ flag set to the layer's ``trainable`` now, restored after. A model applies a changed
    flag to training at its next compile, but Keras's call reads it at once (a frozen
    BatchNormalization runs in inference mode and keeps its moving statistics)."""
    changed = []
    try:
        for layer, core in pairs:
            want = bool(layer.trainable) and model_trainable
            if core is not None and bool(core.trainable) != want:
                changed.append((core, bool(core.trainable)))
                core.trainable = want
        yield
    finally:
        for core, flag in changed:
            core.trainable = flag


class TrainableMixin:
    """``trainable``, ``trainable_weights`` / ``non_trainable_weights`` and the capture of the
    layers' flags (the host model has ``_layers``, ``weights``, ``built`` and ``_build_layers``);
    the model's ``dtype_policy``."""

    @property
    def dtype_policy(self) -> Any:
        """The model's ``DTypePolicy``: the global policy when it was constructed (Keras's
        rule; ``compile`` wraps the optimizer for loss scaling when it is mixed_float16)."""
        from .. import mixed_precision
        return self.__dict__.get("_model_policy") or mixed_precision.DTypePolicy("float32")

    if TYPE_CHECKING:
        _layers: List[Any]
        name: str

        def _built_net(self) -> Any: ...
        @property
        def built(self) -> bool: ...
        @property
        def weights(self) -> List[Any]: ...
        def _build_layers(self) -> None: ...

    def _keras_trainable_offsets(self) -> List[int]:
        """The flat-buffer offsets of the trainable weights in Keras's
        ``trainable_variables`` order (the network's order; a graph model overrides it)."""
        return [int(t["offset"]) for t in self._built_net().tensors() if t["trainable"]]

    def _weight_path(self, name: str) -> str:
        """Keras's path of the weight ``<layer>/<weight>``: ``sequential/dense/kernel`` (a
        Sequential builds its layers in its scope; a functional model overrides it)."""
        return f"{self.name}/{name}"

    @property
    def trainable(self) -> bool:
        """Whether the model's weights are trained. Setting it sets ``trainable`` on every
        layer (nested models included), as Keras does: ``base.trainable = False`` freezes a
        whole model for transfer learning. A model constructed with ``trainable=False`` keeps
        its layers' own flags but trains none of them. Recompile after changing it."""
        return self.__dict__.get("_model_trainable", True)

    @trainable.setter
    def trainable(self, value: bool) -> None:
        value = layers_base.check_bool(value, "trainable")
        for layer in self.__dict__.get("_layers", ()):
            layer.trainable = value
        if "_layers" in self.__dict__:  # the nested models' own flags too, as Keras's recursion
            nested = [g[0] for g in self.__dict__.get("_nested_groups") or ()]
            nested += [e for e in getattr(self, "layers", ()) if isinstance(e, TrainableMixin)]
            for inner in {id(m): m for m in nested if m is not self}.values():
                inner.trainable = value
        self.__dict__["_model_trainable"] = value

    def _trains(self, layer) -> bool:
        """Whether ``layer``'s weights are trained in this model (its flag and the model's)."""
        return bool(layer.trainable) and self.trainable

    @property
    def trainable_weights(self) -> List[layers_module.Variable]:
        """The weights the optimizer updates, layer by layer."""
        if not self.trainable:
            return []
        out = []
        for l in self._layers:
            out.extend(l.trainable_weights)
        return out

    @property
    def non_trainable_weights(self) -> List[layers_module.Variable]:
        """The weights the optimizer leaves alone (moving statistics, frozen layers)."""
        if not self.trainable:
            return list(self.weights)
        out = []
        for l in self._layers:
            out.extend(l.non_trainable_weights)
        return out

    def _trainable_state(self):
        # a layer whose C++ layer was remade (`layer.activation = ...`) counts as a change too
        return (self.trainable,) + tuple((bool(getattr(l, "trainable", True)), getattr(l, "_core_generation", 0))
                                         for l in self._layers)

    def _capture_trainable(self) -> None:
        """Rebuilds the network when a layer's ``trainable`` changed since the last build
        (Keras captures the flags at compile time)."""
        if self.built and getattr(self, "_trainable_signature", None) != self._trainable_state():
            self._build_layers()
