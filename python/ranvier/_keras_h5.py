"""Reading Keras weight files (HDF5) for ``model.load_weights``; needs h5py (optional).

Two layouts:

- Keras 3 ``.weights.h5`` (``model.save_weights`` / inside ``.keras``):
  ``layers/<path>/vars/<i>`` datasets "0", "1", ... in the layer's weight order, where
  ``<path>`` is Keras's container key: the layer's class name in snake_case, numbered
  per class in model order ("dense", "dense_1", "batch_normalization", ...; Keras does
  not use the layer names, which change between processes). Groups of layers without
  weights, "optimizer/..." and the top-level "vars" are ignored.
- legacy tf.keras HDF5 (``save_weights("x.h5")`` in TF 2, or ``model_weights`` inside a
  full ``.h5`` model): root attribute ``layer_names``, each layer group with a
  ``weight_names`` attribute listing its datasets in weight order.

Returns ``[(name, class_name, [arrays])]`` for the layers that hold weights, in order.

Hostile files: external links, soft links leading through one, virtual datasets and
external raw storage are refused (ValueError naming the file and the object), so a
weights file cannot make the loader read other files; a dataset is read only when its
declared shape is the model's weight shape (else the shape alone is reported), so a
small file cannot make the loader allocate more than the model's own weights.
"""
from __future__ import annotations

import os
from typing import Any, List, Tuple

import numpy as np

from ._saving_common import file_layers, layer_keys


def _h5py():
    try:
        import h5py
    except ImportError:
        raise ImportError("loading a Keras .weights.h5 / .h5 file needs the optional 'h5py' package: "
                          "pip install h5py (or ranvier[h5])") from None
    return h5py



def _decode(v) -> str:
    return v.decode("utf-8") if isinstance(v, bytes) else str(v)


# Every object is reached through _child, which refuses what would make a weights file read
# other files (external links, soft links that lead through one, virtual datasets, external
# raw storage), and every dataset through _read, which looks at its declared shape and dtype
# before reading: only a dataset of the shape the model's weight has is read (so a small file
# cannot make the loader allocate more than the model's own weights); another shape comes
# back as a zero-strided placeholder of that shape, for the mismatch message.
_MAX_LINK_HOPS = 16
_MAX_ATTR_ELEMS = 1_000_000


def _refuse(where: str, msg: str):
    raise ValueError(f"load_weights: {where}: {msg}; a weights file may not refer to other files")


def _child(h5py, group, key: str, where: str, hops: int = 0):
    """group[key] through hard links only (soft links resolved the same way); None if absent."""
    link = group.get(key, getlink=True)
    if link is None:
        return None
    name = f"{group.name.rstrip('/')}/{key}"
    if isinstance(link, h5py.ExternalLink):
        _refuse(where, f"'{name}' is an external link to '{link.filename}:{link.path}'")
    if isinstance(link, h5py.SoftLink):
        if hops >= _MAX_LINK_HOPS:
            raise ValueError(f"load_weights: {where}: '{name}': too many levels of soft links")
        path = link.path
        obj = group.file if path.startswith("/") else group
        for part in (p for p in path.split("/") if p and p != "."):
            if not isinstance(obj, h5py.Group):
                return None
            obj = _child(h5py, obj, part, where, hops + 1)
            if obj is None:
                return None
        return obj
    if not isinstance(link, h5py.HardLink):
        raise ValueError(f"load_weights: {where}: '{name}' is a link of an unknown kind")
    return group[key]


def _group(h5py, group, key: str, where: str):
    obj = _child(h5py, group, key, where)
    return obj if isinstance(obj, h5py.Group) else None


def _read(h5py, ds, where: str, expected) -> Any:
    """The dataset's values if its shape is `expected` (a weight's shape), else a placeholder."""
    if not isinstance(ds, h5py.Dataset):
        raise ValueError(f"load_weights: {where}: '{getattr(ds, 'name', ds)}' is not a dataset")
    if ds.is_virtual:
        _refuse(where, f"dataset '{ds.name}' is a virtual dataset (its values come from other files)")
    if ds.external:
        _refuse(where, f"dataset '{ds.name}' keeps its values in external files {[e[0] for e in ds.external]}")
    if ds.dtype.kind not in "fiub" or ds.dtype.itemsize > 8:
        raise ValueError(f"load_weights: {where}: dataset '{ds.name}' holds {ds.dtype}, not numbers")
    if ds.shape is None:  # an HDF5 null dataspace (h5py.Empty): no values at all
        raise ValueError(f"load_weights: {where}: dataset '{ds.name}' is empty (a null dataspace), not a "
                         f"weight's values")
    shape = tuple(int(d) for d in ds.shape)
    if expected is None or shape != tuple(expected):
        return np.broadcast_to(np.zeros((), np.float32), shape)  # not read: the shapes differ
    values = np.asarray(ds[()])
    if values.dtype.kind == "f" and values.dtype.itemsize > 4:  # float64: checked for float32 overflow
        return values  # by the caller, which names the layer (it became inf here)
    return np.asarray(values, dtype=np.float32)


def read_capped(h5py, ds, where: str, max_elems: int) -> Any:
    """A dataset's values when it is safe (no external storage, numbers) and declares at
    most `max_elems` elements; ValueError naming it otherwise."""
    if not isinstance(ds, h5py.Dataset):
        raise ValueError(f"load_weights: {where}: '{getattr(ds, 'name', ds)}' is not a dataset")
    if ds.shape is None:  # an HDF5 null dataspace (h5py.Empty)
        raise ValueError(f"load_weights: {where}: dataset '{ds.name}' is empty (a null dataspace), not values")
    shape = tuple(int(d) for d in ds.shape)
    n = int(np.prod(shape, dtype=np.float64)) if shape else 1
    if n > max_elems:
        raise ValueError(f"load_weights: {where}: dataset '{ds.name}' declares {n} values, more than "
                         f"the {max_elems} the model's largest weight holds")
    _read(h5py, ds, where, None)  # the checks only (links, storage, dtype): nothing is read
    return ds[()]  # in its own dtype (an int64 iteration count stays exact)


def child(h5py, group, path: str, where: str):
    """group[path] ('a/b/c') through hard links and in-file soft links only; None if absent."""
    obj = group
    for part in (p for p in path.split("/") if p):
        if not isinstance(obj, h5py.Group):
            return None
        obj = _child(h5py, obj, part, where)
        if obj is None:
            return None
    return obj


def _attr_names(obj, key: str, where: str) -> List[str]:
    if key not in obj.attrs:
        return []
    aid = obj.attrs.get_id(key)
    n = int(np.prod(aid.shape, dtype=np.float64)) if aid.shape else 1
    if n > _MAX_ATTR_ELEMS:
        raise ValueError(f"load_weights: {where}: attribute '{key}' of '{obj.name}' lists {n} names")
    return [_decode(v) for v in np.atleast_1d(obj.attrs[key])]


def _keras3(h5py, f, model, where: str) -> List[Tuple[str, str, List[Any]]]:
    layers = _group(h5py, f, "layers", where)
    out = []
    for key, layer in zip(layer_keys(model), file_layers(model)):
        group = child(h5py, layers, key, where)  # a path inside a nested model's container
        group = group if isinstance(group, h5py.Group) else None
        if group is None:
            group = _group(h5py, layers, layer.name, where)  # files written by other tools with layer names
        if not layer.weights:
            continue
        vars_ = _group(h5py, group, "vars", where) if group is not None else None
        if vars_ is None:
            names = sorted(layers.keys())
            shown = ", ".join(names[:20]) + (f", ... ({len(names)} in all)" if len(names) > 20 else "")
            raise ValueError(f"load_weights: {where} has no weights for layer '{layer.name}' "
                             f"({type(layer).__name__}) at 'layers/{key}/vars'; the file's layers: {shown}")
        try:
            keys = sorted(vars_.keys(), key=int)
        except ValueError:
            raise ValueError(f"load_weights: {where}: 'layers/{key}/vars' holds non-numbered datasets "
                             f"{sorted(vars_.keys())[:20]}") from None
        expected = [tuple(v.shape) for v in layer.weights]
        # One dataset past the weight count is enough to report a count mismatch.
        keys = keys[:len(expected) + 1]
        values = [_read(h5py, _child(h5py, vars_, k, where), where, expected[i] if i < len(expected) else None)
                  for i, k in enumerate(keys)]
        out.append((key, type(layer).__name__, values))
    return out


def _legacy(h5py, f, model, where: str) -> List[Tuple[str, str, List[Any]]]:
    root = f
    if "layer_names" not in f.attrs:
        root = _group(h5py, f, "model_weights", where)
    targets = [[tuple(v.shape) for v in l.weights] for l in file_layers(model) if l.weights]
    out: List[Tuple[str, str, List[Any]]] = []
    for lname in _attr_names(root, "layer_names", where):
        g = _group(h5py, root, lname, where)
        if g is None:
            raise ValueError(f"load_weights: {where}: layer group '{lname}' is missing")
        names = _attr_names(g, "weight_names", where)
        if not names:
            continue
        k = len(out)
        if k > len(targets):  # the count already differs: _assign_groups reports it
            out.append((lname, "", []))
            continue
        expected = targets[k] if k < len(targets) else []
        values = []
        for i, n in enumerate(names[:len(expected) + 1]):
            ds = _child(h5py, g, n, where)
            if ds is None:
                raise ValueError(f"load_weights: {where}: weight '{lname}/{n}' is missing")
            values.append(_read(h5py, ds, where, expected[i] if i < len(expected) else None))
        out.append((lname, "", values))
    return out


def read_weights(path, model) -> List[Tuple[str, str, List[Any]]]:
    h5py = _h5py()
    with h5py.File(path, "r") as f:
        return read_open(f, model, f"'{os.fsdecode(path)}'")


def read_open(f, model, where: str) -> List[Tuple[str, str, List[Any]]]:
    """:func:`read_weights` of an open h5py File (``where`` names it in errors)."""
    h5py = _h5py()
    if _group(h5py, f, "layers", where) is not None:
        return _keras3(h5py, f, model, where)
    mw = None if "layer_names" in f.attrs else _group(h5py, f, "model_weights", where)
    if "layer_names" in f.attrs or (mw is not None and "layer_names" in mw.attrs):
        return _legacy(h5py, f, model, where)
    raise ValueError(f"load_weights: {where} is an HDF5 file but neither a Keras 3 .weights.h5 "
                     f"(no 'layers' group) nor a legacy tf.keras weights file (no 'layer_names')")
