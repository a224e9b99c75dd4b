"""``keras.utils.plot_model`` / ``model_to_dot`` for ranvier's Sequential models, through
``pydot`` and Graphviz's ``dot`` program (both optional: ``pip install pydot`` and a
Graphviz install). Without them the error says what to install, as Keras does."""
from __future__ import annotations

import os
import sys
from typing import Any

__all__ = ["model_to_dot", "plot_model"]


def _pydot() -> Any:
    try:
        import pydot
    except ImportError:
        pydot = None
    if pydot is None:
        raise ImportError("You must install pydot (`pip install pydot`) for `plot_model` to work.")
    try:
        pydot.Dot.create(pydot.Dot())  # runs Graphviz's dot once
    except (OSError, Exception) as e:  # noqa: BLE001 - pydot raises various errors without dot
        raise ImportError("You must install graphviz (see instructions at https://graphviz.gitlab.io/download/) "
                          f"for `plot_model` to work (running `dot` failed: {e}).") from None
    return pydot


def _shape_text(shape) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def model_to_dot(model, show_shapes=False, show_dtype=False, show_layer_names=True, rankdir="TB",
                 expand_nested=False, dpi=200, subgraph=False, show_layer_activations=False,
                 show_trainable=False, **kwargs):
    """A ``pydot.Dot`` graph of the model: one node per layer (name, class, and with the
    flags its output shape, dtype, activation and trainable state), in order."""
    if rankdir not in ("TB", "LR"):
        raise ValueError(f"rankdir must be 'TB' or 'LR', got {rankdir!r}")
    pydot = _pydot()
    dot = pydot.Dot(graph_type="digraph", rankdir=rankdir, dpi=dpi, concentrate=True)
    dot.set_node_defaults(shape="record")
    shape = getattr(model, "input_shape", None)
    prev = None
    if shape is not None:
        prev = "input"
        label = "InputLayer" + (f"|{_shape_text(shape)}" if show_shapes else "")
        dot.add_node(pydot.Node(prev, label=label))
    for i, layer in enumerate(model._layers):
        parts = [f"{layer.name} ({type(layer).__name__})" if show_layer_names else type(layer).__name__]
        if show_layer_activations and hasattr(layer, "activation"):
            act = getattr(layer, "activation")
            parts.append(f"activation: {getattr(act, '__name__', act)}")
        if show_dtype:
            parts.append(f"dtype: {layer.dtype}")
        if show_shapes and shape is not None:
            shape = layer.compute_output_shape(shape)
            parts.append(f"output: {_shape_text(shape)}")
        if show_trainable:
            parts.append("Trainable" if layer.trainable else "Non-trainable")
        node = f"layer_{i}"
        dot.add_node(pydot.Node(node, label="|".join(p.replace("|", "/") for p in parts)))
        if prev is not None:
            dot.add_edge(pydot.Edge(prev, node))
        prev = node
    return dot


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False, show_layer_names=True,
               rankdir="TB", expand_nested=False, dpi=200, show_layer_activations=False, show_trainable=False,
               **kwargs):
    """Draws the model with Graphviz into ``to_file`` (the extension picks the format:
    png, svg, pdf, dot, ...), as ``keras.utils.plot_model``. Needs pydot and Graphviz;
    without them: ImportError saying what to install (in IPython the message is printed
    instead). Returns an ``IPython.display.Image`` in IPython for image formats, else None."""
    try:
        dot = model_to_dot(model, show_shapes=show_shapes, show_dtype=show_dtype,
                           show_layer_names=show_layer_names, rankdir=rankdir, expand_nested=expand_nested,
                           dpi=dpi, show_layer_activations=show_layer_activations,
                           show_trainable=show_trainable)
    except ImportError as e:
        if "IPython.core.magics.namespace" in sys.modules:
            print(str(e))
            return None
        raise
    to_file = os.fspath(to_file)
    _, ext = os.path.splitext(to_file)
    fmt = ext[1:].lower() if ext else "png"
    if not ext:
        to_file += ".png"
    dot.write(to_file, format="raw" if fmt == "dot" else fmt)
    if fmt not in ("pdf", "dot") and "IPython" in sys.modules:
        try:
            from IPython import display
            return display.Image(filename=to_file)
        except ImportError:
            return None
    return None
