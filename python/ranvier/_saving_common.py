"""What every model-file format shares (ranvier's safetensors file, Keras's ``.keras``
archive and ``.weights.h5``, ONNX export): strict JSON, paths, the one atomic writer,
Keras's layer keys, saved seeds, weight assignment by topology and the compile
configuration of a saved model. Nothing here knows a model class: models are reached
through their public methods and their ``_save_state`` / ``_restore_state``."""
from __future__ import annotations

import contextlib
import inspect
import json
import os
import threading
import warnings
from typing import Any, Dict, List, Sequence

import numpy as np

from . import _checks, _core
from . import losses as losses_module
from . import metrics as metrics_module
from . import optimizers as optimizers_module
from ._naming import to_snake_case


def to_json(value: Any, what: str) -> str:
    """Strict JSON text (no NaN/inf, no Python objects), with a message naming `what`."""
    def default(o):
        if isinstance(o, np.integer):
            return int(o)
        if isinstance(o, np.floating):
            return float(o)
        if isinstance(o, np.ndarray):
            return o.tolist()
        if isinstance(o, tuple):
            return list(o)
        raise TypeError(f"cannot save {what}: {o!r} (a {type(o).__name__}) is not serializable; "
                        f"only configs made of numbers, strings, lists and dicts can be saved")
    try:
        return json.dumps(value, default=default, allow_nan=False)
    except ValueError as e:
        raise ValueError(f"cannot save {what}: it contains a non-finite number (NaN or inf): {e}") from None


def fs_path(filepath, what: str) -> bytes:
    """The path as the operating system's bytes (from str, bytes or os.PathLike), so the C++
    writer receives exactly the file name the caller gave; an empty path is refused."""
    if not isinstance(filepath, (str, bytes, os.PathLike)):
        raise TypeError(f"{what}: filepath must be a str, bytes or os.PathLike path, got "
                        f"{type(filepath).__name__}")
    path = os.fspath(filepath)
    if len(path) == 0:
        raise ValueError(f"{what}: the file path is empty; give the name of the file to write")
    return os.fsencode(path)


def where(filepath) -> str:
    """The path quoted, for messages."""
    return f"'{os.fsdecode(os.fspath(filepath))}'"


def write_atomic(filepath, chunks: Sequence[Any], what: str = "save") -> None:
    """Writes the buffers (bytes, memoryviews, C-contiguous arrays) to `filepath` with the
    C++ atomic writer (``ranvier::io::atomic_write``, the one the C++ API uses), from
    their own memory, with the GIL released: a temporary file in the target's folder,
    fsync'ed and renamed over the target, so the file is never half-written."""
    _core.io_atomic_write(fs_path(filepath, what), list(chunks), os.fsync)


# Every JSON metadata entry of a ranvier model file (the loaders parse each under the limits
# of cpp/src/io/model_io.h: kMaxMetadataValues values, kMaxLayers layers).
JSON_METADATA = ("architecture", "functional_config", "sequential_config", "weights", "layer_seeds",
                 "compile_config", "optimizer", "optimizer_state")
# The safetensors header's byte limit (cpp/src/io/safetensors.h, kMaxHeaderBytes).
MAX_HEADER_BYTES = 100_000_000


def unloadable(what: str, reason: Any) -> ValueError:
    """The error of a save refused because the loaders would refuse the file it writes."""
    return ValueError(
        f"{what}: this model cannot be saved: the loaders would refuse its file ({reason}), so nothing "
        f"was written (an existing file is left as it was). A model file holds at most 2048 layers and a "
        f"bounded number of JSON values per metadata entry (16 MiB parsed); constants in layer configs "
        f"count one value each (a StringLookup/IntegerLookup vocabulary, Discretization bin_boundaries, "
        f"Normalization mean/variance passed as arguments: adapt() keeps the statistics as weights instead)")


def check_loadable(metadata: Dict[str, str], file_floats: int, what: str = "save") -> None:
    """Refuses (ValueError, before anything is written) model-file metadata that the loaders
    would refuse: each JSON entry parsed under the loaders' limits, the architecture and
    compile configuration through the C++ checks every loader runs, and the header's size.
    So every file ranvier writes loads back."""
    total = 0
    try:
        for key, text in metadata.items():
            raw = text.encode("utf-8")
            total += len(key) + len(raw) + 8
            if key in JSON_METADATA:
                try:
                    _core.io_json_normalize(raw, True)
                except ValueError as e:
                    raise ValueError(f"metadata '{key}': {e}") from None
        _core.io_check_model_metadata(list(metadata.items()), int(file_floats))
    except ValueError as e:
        raise unloadable(what, e) from None
    if total > MAX_HEADER_BYTES:
        raise unloadable(what, f"its metadata takes {total:,} bytes, more than a model file's header holds "
                               f"({MAX_HEADER_BYTES:,} bytes)")


def between_steps(model):
    """Holds the model's inference lock, which the C++ trainer holds through its steps, while
    its weights are read (get_weights, save, save_weights, pickling): from another thread
    while the model trains, the snapshot is the weights between two optimizer steps, never
    halfway through an update (a save during fit wrote rows of two different steps). A no-op
    for an unbuilt model and inside the model's own calls (its callbacks run between steps):
    the model's ``_hold_between_steps`` (models/_trainer.py), part of the saving protocol."""
    return model._hold_between_steps()


def file_layers(model) -> List[Any]:
    """The layers whose weights a model file holds, in network order (``_save_state``)."""
    return model._save_state(include_optimizer=False)["layers"]


def layer_keys(model) -> List[str]:
    """Keras's container keys of the model's layers: ``dense``, ``dense_1``, ... (a graph
    model's layers inside a nested model: ``sequential/layers/dense``, ``_save_state``'s
    ``layer_keys`` when the model gives them)."""
    given = model._save_state(include_optimizer=False).get("layer_keys")
    if given is not None:
        return list(given)
    used: Dict[str, int] = {}
    keys = []
    for layer in file_layers(model):
        key = to_snake_case(type(layer).__name__)
        if key in used:
            used[key] += 1
            key = f"{key}_{used[key]}"
        else:
            used[key] = 0
        keys.append(key)
    return keys


def seed_layer_configs(config: Dict[str, Any], seeds: Dict[str, Any]) -> List[str]:
    """Puts the saved seeds into the layer configs (in place); returns the layers seeded."""
    seeded = []
    layer_cfgs = config.get("layers") or []
    for lc in layer_cfgs if isinstance(layer_cfgs, list) else []:
        cfg = lc.get("config") if isinstance(lc, dict) else None
        name = cfg.get("name") if isinstance(cfg, dict) else None
        if isinstance(name, str) and name in seeds:
            lc["config"]["seed"] = int(seeds[name])  # the same Dropout masks as before saving
            seeded.append(name)
    return seeded


def unseed_layers(model, seeded: List[str]) -> None:
    """The layers that were created without a seed get ``seed = None`` back after a load
    (their masks keep the saved seed; ``get_config`` stays as it was)."""
    for name in seeded:
        model.get_layer(name).seed = None


def compile_saved(model, cc: Dict[str, Any], opt_cfg: Any, custom_objects) -> None:
    """``model.compile`` with a saved compile configuration (and optimizer config)."""
    optimizer = optimizers_module.deserialize(opt_cfg, custom_objects=custom_objects) \
        if isinstance(opt_cfg, dict) else optimizers_module.get(opt_cfg or "rmsprop")
    model.compile(optimizer=optimizer, loss=_deserialize_loss(cc.get("loss"), custom_objects),
                  loss_weights=cc.get("loss_weights"),
                  metrics=_deserialize_metrics(cc.get("metrics"), custom_objects),
                  weighted_metrics=_deserialize_metrics(cc.get("weighted_metrics"), custom_objects))


def _is_object_config(value) -> bool:
    return isinstance(value, dict) and "class_name" in value


def _deserialize_loss(loss, custom_objects):
    if isinstance(loss, dict) and not _is_object_config(loss):  # one per output, by name
        return {k: _deserialize_loss(v, custom_objects) for k, v in loss.items()}
    if isinstance(loss, list):  # one per output, by position
        return [_deserialize_loss(v, custom_objects) for v in loss]
    if isinstance(loss, dict):
        return losses_module.deserialize(loss, custom_objects=custom_objects) \
            if _accepts_custom(losses_module.deserialize) else losses_module.deserialize(loss)
    if isinstance(loss, str) and custom_objects and loss in custom_objects:
        return custom_objects[loss]
    return loss


def _deserialize_metrics(metrics, custom_objects):
    if not metrics:
        return None
    if isinstance(metrics, dict) and not _is_object_config(metrics):  # per output, by name
        return {k: (_deserialize_metrics(v, custom_objects) or []) if isinstance(v, list) else
                (None if v is None else _deserialize_metrics([v], custom_objects)[0]) for k, v in metrics.items()}
    out = []
    for m in metrics:
        if isinstance(m, list):  # one output's metrics (a list per output)
            out.append(_deserialize_metrics(m, custom_objects) or [])
        elif isinstance(m, dict):
            out.append(metrics_module.deserialize(m, custom_objects=custom_objects))
        elif isinstance(m, str) and custom_objects and m in custom_objects:
            out.append(custom_objects[m])
        else:
            out.append(m)
    return out


def _accepts_custom(fn) -> bool:
    try:
        return "custom_objects" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def assign_groups(model, groups, where: str, skip_mismatch: bool) -> None:
    """groups: [(name, class_name, [arrays])] for the layers holding weights, in order."""
    if not model.built:
        raise ValueError("load_weights: the model is not built yet; build it first (an Input as first "
                         "element, model.build(input_shape), or one call on data) so its weights exist")
    targets = [l for l in file_layers(model) if l.weights]
    if len(groups) != len(targets):
        raise ValueError(
            f"load_weights: {where} holds weights for {len(groups)} layers "
            f"({', '.join(g[0] for g in groups) or 'none'}) but the model has {len(targets)} layers with "
            f"weights ({', '.join(l.name for l in targets) or 'none'})")
    # All or nothing: every group is checked and converted before any layer changes, and a
    # set_weights refused midway puts back what the earlier layers held (a failed load left
    # the layers before the bad one holding the file's weights, the others their own).
    plan = []
    for layer, (name, cls_name, values) in zip(targets, groups):
        expected = [tuple(v.shape) for v in layer.weights]
        got = [tuple(np.shape(a)) for a in values]
        if expected != got:
            msg = (f"load_weights: layer '{layer.name}' ({type(layer).__name__}) expects weights of shapes "
                   f"{expected}, but the file's layer '{name}' ({cls_name}) holds shapes {got}")
            if skip_mismatch:
                warnings.warn(msg + "; skipped (skip_mismatch=True)", stacklevel=3)
                continue
            raise ValueError(msg + "; no weight was changed")
        plan.append((layer, [_checks.to_float32(np.asarray(a), f"weight '{name}/{v.name}'",
                                                f"load_weights: {where}").reshape(np.shape(a))
                             for v, a in zip(layer.weights, values)]))
    before = [(layer, [np.array(w, copy=True) for w in layer.get_weights()]) for layer, _ in plan]
    try:
        for layer, arrays in plan:
            layer.set_weights(arrays)
    except BaseException:
        for layer, old in before:
            layer.set_weights(old)
        raise

