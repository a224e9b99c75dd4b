"""Reading Keras weight files (HDF5) for ``model.load_weights``; needs h5py (optional).

Two layouts:

- Keras 3 ``.weights.h5`` (``model.save_weights`` / inside ``.keras``; keras-spec 7.10):
  ``layers/<path>/vars/<i>`` datasets "0", "1", ... in the layer's weight order, where
  ``<path>`` is Keras's container key: the layer's class name in snake_case, numbered
  per class in model order ("dense", "dense_1", "batch_normalization", ...; Keras does
  not use the layer names, which change between processes). Groups of layers without
  weights, "optimizer/..." and the top-level "vars" are ignored.
- legacy tf.keras HDF5 (``save_weights("x.h5")`` in TF 2, or ``model_weights`` inside a
  full ``.h5`` model): root attribute ``layer_names``, each layer group with a
  ``weight_names`` attribute listing its datasets in weight order.

Returns ``[(name, class_name, [arrays])]`` for the layers that hold weights, in order.
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Tuple


def _h5py():
    try:
        import h5py
    except ImportError:
        raise ImportError("loading a Keras .weights.h5 / .h5 file needs the optional 'h5py' package: "
                          "pip install h5py (or ranvier[h5])") from None
    return h5py


def _snake(name: str) -> str:
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _decode(v) -> str:
    return v.decode("utf-8") if isinstance(v, bytes) else str(v)


def _keras3(f, model, where: str) -> List[Tuple[str, str, List[Any]]]:
    layers = f["layers"]
    used: Dict[str, int] = {}
    out = []
    for layer in model.layers:
        key = _snake(type(layer).__name__)
        if key in used:
            used[key] += 1
            key = f"{key}_{used[key]}"
        else:
            used[key] = 0
        group = layers.get(key)
        if group is None:
            group = layers.get(layer.name)  # files written by other tools with layer names
        if not layer.weights:
            continue
        if group is None or "vars" not in group:
            raise ValueError(f"load_weights: {where} has no weights for layer '{layer.name}' "
                             f"({type(layer).__name__}) at 'layers/{key}/vars'; the file's layers: "
                             f"{', '.join(sorted(layers.keys()))}")
        vars_ = group["vars"]
        try:
            keys = sorted(vars_.keys(), key=int)
        except ValueError:
            raise ValueError(f"load_weights: {where}: 'layers/{key}/vars' holds non-numbered datasets "
                             f"{sorted(vars_.keys())}") from None
        out.append((key, type(layer).__name__, [vars_[k][()] for k in keys]))
    return out


def _legacy(f, where: str) -> List[Tuple[str, str, List[Any]]]:
    root = f["model_weights"] if "model_weights" in f and "layer_names" not in f.attrs else f
    out = []
    for lname in (_decode(n) for n in root.attrs["layer_names"]):
        g = root[lname]
        names = [_decode(n) for n in g.attrs.get("weight_names", [])]
        if names:
            out.append((lname, "", [g[n][()] for n in names]))
    return out


def read_weights(path, model) -> List[Tuple[str, str, List[Any]]]:
    h5py = _h5py()
    with h5py.File(path, "r") as f:
        return read_open(f, model, f"'{path}'")


def read_open(f, model, where: str) -> List[Tuple[str, str, List[Any]]]:
    """:func:`read_weights` of an open h5py File (``where`` names it in errors)."""
    h5py = _h5py()
    if "layers" in f and isinstance(f["layers"], h5py.Group):
        return _keras3(f, model, where)
    if "layer_names" in f.attrs or ("model_weights" in f and "layer_names" in f["model_weights"].attrs):
        return _legacy(f, where)
    raise ValueError(f"load_weights: {where} is an HDF5 file but neither a Keras 3 .weights.h5 "
                     f"(no 'layers' group) nor a legacy tf.keras weights file (no 'layer_names')")
