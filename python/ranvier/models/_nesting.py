"""How a ``Sequential`` shows the models added to it as layers (``Sequential([model,
Softmax()])``): its network runs their layers inlined (``_layers`` holds them one by one),
while ``layers``, ``get_layer``, ``pop``, the summary, the config and Keras's weight-file keys
show each such model as one entry, as Keras does. ``_nested_groups`` (set by
``ranvier._functional.add_nested``) lists ``(model, its layers)``."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional

from .. import _naming
from ._summary import shape_text


class NestingMixin:
    """``_entries`` (Keras's ``layers``), the summary rows and the weight-file keys of a
    model whose ``_layers`` may hold the layers of models added to it."""

    _layers: List[Any]
    _input_shape: Any
    _implicit_input_name: Optional[str] = None  # the InputLayer Keras's Sequential makes at its build
    if TYPE_CHECKING:
        def _build_layers(self) -> None: ...

    def _keras_build(self) -> None:
        """``_build_layers()`` where Keras's Sequential (re)builds itself: there it makes an
        inner ``Functional`` each time, which takes the next automatic "functional" name, so
        the next ``keras.Model`` is named as in Keras (``functional_2`` after two builds)."""
        self._build_layers()
        self._keras_rebuilt()
        if (not getattr(self, "_keras_functional", False) and self.__dict__.get("_input_origin") is None
                and not self.__dict__.get("_implicit_input_name")):
            self._implicit_input_name = _naming.uniquify("input_layer")  # Keras's InputLayer, made once

    def _keras_rebuilt(self, times: int = 1) -> None:
        if not getattr(self, "_keras_functional", False):  # a functional model is its own
            for _ in range(max(int(times), 0)):
                _naming.uniquify("functional")

    def _entries(self) -> List[Any]:
        """Keras's ``layers``: each layer, and each model added as a layer as one entry (its
        layers run inlined in this model's network; ``_layers`` holds them one by one)."""
        groups = self.__dict__.get("_nested_groups")
        if not groups:
            return list(self._layers)
        out: List[Any] = []
        flat = self._layers
        i = 0
        while i < len(flat):
            for inner, leaves in groups:
                k = len(leaves)
                if (k and i + k <= len(flat) and all(a is b for a, b in zip(flat[i:i + k], leaves))
                        and len(inner._layers) == k and all(a is b for a, b in zip(inner._layers, leaves))):
                    out.append(inner)
                    i += k
                    break
            else:
                out.append(flat[i])
                i += 1
        return out

    def _summary_rows(self) -> List[List[str]]:
        rows = []
        shape = self._input_shape
        for l in self._entries():
            nested = isinstance(l, NestingMixin)
            cname = ("Functional" if type(l).__name__ in ("Model", "Functional") else type(l).__name__) \
                if nested else l.__class__.__name__
            if shape is not None and getattr(self, "built", False):
                for leaf in (l._layers if nested else [l]):
                    shape = leaf.compute_output_shape(shape)
                params = sum(leaf.count_params() for leaf in l._layers) if nested else l.count_params()
                rows.append([f"{l.name} ({cname})", shape_text(shape), f"{params:,}"])
                if nested and self.__dict__.get("_expand_nested"):  # Keras's expand_nested rows
                    rows += [["   └ " + child[0]] + child[1:] for child in l._summary_rows()
                             if not child[0].endswith("(InputLayer)")]
            elif l.built and not nested:  # an adapted or built layer in an unbuilt model: Keras counts it
                rows.append([f"{l.name} ({cname})", "?", f"{l.count_params():,}"])
            else:
                rows.append([f"{l.name} ({cname})", "?", "0 (unbuilt)"])
        return rows

    def _nested_layer_keys(self) -> List[str]:
        """Keras's weight-file keys of ``_layers`` when models were added as layers: each
        entry of ``layers`` gets ``snake_case(class)`` made unique (``dense``, ``dense_1``,
        ``sequential``), a nested model's layers sit under ``<its key>/layers/``."""
        from .._saving_common import layer_keys
        used: Dict[str, int] = {}
        out: List[str] = []
        for obj in self._entries():
            nested = isinstance(obj, NestingMixin)
            cname = type(obj).__name__
            if nested and cname in ("Model", "Functional"):
                cname = "Functional"
            key = _naming.to_snake_case(cname)
            if key in used:
                used[key] += 1
                key = f"{key}_{used[key]}"
            else:
                used[key] = 0
            if nested:
                out.extend(f"{key}/layers/{inner}" for inner in layer_keys(obj))
            else:
                out.append(key)
        return out

    def get_layer(self, name: Optional[str] = None, index: Optional[int] = None):
        """The entry of ``layers`` at ``index`` (when given) or the one named ``name`` (a
        layer inside a model added as a layer is found by its name too); ValueError when no
        layer has that name."""
        entries = self._entries()
        if name is not None and index is not None:  # Keras's checks and messages
            raise ValueError(f"get_layer: provide only a layer name or a layer index, got name={name!r} and "
                             f"index={index!r}")
        if index is not None:
            if len(entries) <= index:
                raise ValueError(f"get_layer: was asked to retrieve layer at index {index} but model only has "
                                 f"{len(entries)} layers")
            return entries[index]
        if name is None:
            raise ValueError("get_layer: provide either a layer name or a layer index")
        for l in entries + self._layers:
            if l.name == name:
                return l
        raise ValueError(f"get_layer: no layer named '{name}'; layers: {[l.name for l in entries]}")
