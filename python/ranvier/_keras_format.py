"""Keras's own files: the ``.keras`` archive and the ``.weights.h5`` weights file.

``model.save("m.keras")`` writes what Keras 3 writes (``keras.saving.load_model`` opens it):
a zip archive holding

- ``config.json``: ``{"module": "keras", "class_name": "Sequential", "config": ...,
  "registered_name": null, "build_config": ..., "compile_config": ...}``, the model's
  ``get_config()`` with every nested object in Keras's ``{"module", "class_name", "config",
  "registered_name"}`` form (ranvier's classes are named as Keras names them, so the
  modules read ``keras.*``);
- ``metadata.json``: ``{"keras_version", "date_saved"}`` (plus ``ranvier_version``);
- ``model.weights.h5``: Keras's HDF5 layout, ``layers/<key>/vars/<i>`` with ``<key>`` the
  layer's class name in snake_case numbered per class in model order (``dense``,
  ``dense_1``, ...), ``vars`` (the model's own, empty) and ``optimizer/vars/<i>``:
  ``iterations``, ``learning_rate`` and the optimizer's slot variables in the order Keras 3
  builds them (one group of slots per ``add_optimizer_variables`` call, interleaved per
  trainable variable). Optimizers whose Keras state ranvier does not hold the same way
  (EMA, a learning-rate schedule) are saved without their variables: Keras
  then warns and starts them fresh, as it does for any optimizer whose variables differ.

``save_weights("w.weights.h5")`` writes the same ``layers/...`` layout alone.
``load_model`` reads archives written by Keras or ranvier (Sequential models of the layers
ranvier has); ``load_weights`` reads ``.weights.h5`` through :mod:`ranvier._keras_h5`.
h5py is an optional extra (``pip install h5py``, or ``".[h5]"`` in a checkout); without it these names raise an
ImportError that points to ranvier's own format (``.safetensors``), which needs nothing.

A hostile archive cannot make the reader allocate much: every member's declared size is
checked (config and metadata at most 64 MiB, the weights at most the machine's memory)
before it is read, and the weights go through the same HDF5 reader as ``load_weights``.
"""
from __future__ import annotations

import copy
import datetime
import io
import json
import os
import warnings
import zipfile
import zlib
from typing import Any, Dict, List, Mapping, Optional, Tuple

import numpy as np

from . import _core, _keras_h5, _random
from . import optimizers as optimizers_module
from . import _saving_common as common
from ._saving_common import layer_keys

CONFIG = "config.json"
METADATA = "metadata.json"
WEIGHTS = "model.weights.h5"
ZIP_MAGIC = b"PK\x03\x04"
# The Keras release whose file layout this module writes (recorded in metadata.json).
KERAS_FORMAT_VERSION = "3.15.1"
_MAX_JSON_BYTES = 64 << 20
_LOAD_BUDGET = 64 << 20  # what an archive may make the reader allocate beyond its own bytes
_MAX_RATIO = 16

# Keras 3's optimizer slot variables, in the order its ``build`` creates them: each inner
# tuple is one ``add_optimizer_variables`` call (interleaved per trainable variable).
def _slot_groups() -> Dict[str, List[Tuple[str, ...]]]:
    from . import _core  # the optimizer table (cpp/src/optimizers/optimizers.def)
    out: Dict[str, List[Tuple[str, ...]]] = {}
    for _kind, cls, _hypers, slots in _core.optimizer_kinds():
        groups: List[List[str]] = []
        for name, group in slots:
            while len(groups) <= group:
                groups.append([])
            groups[group].append(name)
        out[cls] = [tuple(g) for g in groups]
    return out


_SLOT_GROUPS: Dict[str, List[Tuple[str, ...]]] = _slot_groups()
# Scalar state variables Keras 3 creates after the slots (ranvier keeps them as "scalars").
_TRAILING_SCALARS: Dict[str, Tuple[str, ...]] = {"Nadam": ("u_product",)}


def is_archive_name(path) -> bool:
    """True for a Keras v3 archive name (``.keras``)."""
    return _name(path).lower().endswith(".keras")


def is_h5_name(path) -> bool:
    """True for an HDF5 name (``.h5``, ``.hdf5``; ``.weights.h5`` included)."""
    n = _name(path).lower()
    return n.endswith(".h5") or n.endswith(".hdf5")


def _name(path) -> str:
    p = os.fspath(path)
    return os.fsdecode(p) if isinstance(p, bytes) else p


def h5py_module(what: str):
    """h5py, or an ImportError that says what needs it and what to use instead."""
    try:
        import h5py
    except ImportError:
        raise ImportError(f"{what} needs the optional 'h5py' package: pip install h5py (or "
                          f"'ranvier[h5]'); or use ranvier's own format, which needs nothing: "
                          f"a '.safetensors' file name") from None
    return h5py


# ================================================================== config conversion
def _kerasify(obj: Any) -> Any:
    """A ranvier config with its nested objects in Keras's serialized form."""
    if isinstance(obj, list):
        return [_kerasify(v) for v in obj]
    if not isinstance(obj, dict):
        return obj
    out = {k: _kerasify(v) for k, v in obj.items()}
    mod = out.get("module")
    if isinstance(mod, str) and (mod == "ranvier" or mod.startswith("ranvier.")):
        out["module"] = "keras" + mod[len("ranvier"):]
    if "class_name" in out and "config" in out:
        out.setdefault("module", "keras.layers" if out["class_name"] == "InputLayer" else None)
        out.setdefault("registered_name", None)
    return out


# Keras config keys that ranvier's classes do not take, with the value under which they
# change nothing: dropped when a Keras-written config holds that value, refused otherwise.
_KERAS_ONLY_DEFAULTS: Dict[str, Any] = {
    "input_axes": None, "output_axes": None,          # initializers (Keras 3.12+)
    "quantization_config": None, "lora_rank": None,   # Dense
    "lora_alpha": None,
    "sparse": False, "ragged": False, "optional": False,  # InputLayer
    "shared_object_id": None,
}


def _from_keras(obj: Any, where: str) -> Any:
    """A Keras-written config with the keys ranvier's classes do not take removed (when
    they hold Keras's no-op value; any other value is refused, naming it)."""
    if isinstance(obj, list):
        return [_from_keras(v, where) for v in obj]
    if not isinstance(obj, dict):
        return obj
    out = {}
    for k, v in obj.items():
        if k in _KERAS_ONLY_DEFAULTS:
            if k != "shared_object_id" and v != _KERAS_ONLY_DEFAULTS[k]:
                raise ValueError(f"{where}: the Keras option {k}={v!r} is not supported by ranvier")
            continue
        out[k] = _from_keras(v, where)
    return out


def _compile_config(model) -> Optional[Dict[str, Any]]:
    cc = model._save_state(include_optimizer=False)["compile_config"]
    if cc is None:
        return None
    out = copy.deepcopy(cc)
    opt = model.optimizer
    if opt is not None:
        given = (cc.get("optimizer") or {}) if isinstance(cc.get("optimizer"), dict) else {}
        if isinstance(opt, optimizers_module.LossScaleOptimizer) and given.get("class_name") != "LossScaleOptimizer":
            opt = opt.inner_optimizer  # wrapped by compile (mixed_float16): Keras keeps what compile was given
        out["optimizer"] = optimizers_module.serialize(opt)
    out.setdefault("loss_weights", None)
    out["metrics"] = out.get("metrics") or None  # Keras writes null when compile got none
    out["weighted_metrics"] = out.get("weighted_metrics") or None
    out.update({"run_eagerly": False, "steps_per_execution": 1, "jit_compile": False})
    return _kerasify(json.loads(common.to_json(out, "the compile configuration")))


def compile_config(model) -> Dict[str, Any]:
    """Keras's ``model.get_compile_config()``: the arguments of ``compile`` in Keras's
    serialized form (optimizer, loss, loss_weights, metrics, weighted_metrics, run_eagerly,
    steps_per_execution, jit_compile); ``{}`` before compile."""
    return _compile_config(model) or {}


def compile_from_config(model, config, custom_objects=None) -> None:
    """Keras's ``model.compile_from_config(config)``: ``compile`` with what
    ``get_compile_config()`` gave (Keras's or ranvier's); ValueError when it cannot be."""
    if not isinstance(config, dict):
        raise TypeError(f"compile_from_config: config must be a dict (get_compile_config()'s), "
                        f"got {type(config).__name__}")
    cc = _from_keras(dict(config), "compile_from_config")
    try:
        common.compile_saved(model, cc, cc.get("optimizer"), custom_objects)
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as e:
        raise ValueError(f"compile_from_config: the model cannot be compiled with this configuration: "
                         f"{type(e).__name__}: {e}") from None


def model_config(model) -> Dict[str, Any]:
    """``config.json`` of a model, as Keras writes it."""
    state = model._save_state(False)
    graph = state["class_name"] == "Functional"  # a graph functional model (ranvier._functional_graph)
    functional = graph or state.get("functional_config") is not None  # a ranvier.Model: Keras's Functional
    cfg: Dict[str, Any] = {"module": "keras.src.models.functional" if functional else "keras",
                           "class_name": "Functional" if functional else state["class_name"],
                           "config": _kerasify(json.loads(common.to_json(model.get_config(), "the model's config"))),
                           "registered_name": "Functional" if functional else None}
    if graph:
        cfg["build_config"] = {"input_shape": None}  # as Keras writes a Functional's
    elif model.built:
        shape = list(state["input_shape"])
        if not functional:
            cfg["config"]["build_input_shape"] = shape
        cfg["build_config"] = {"input_shape": shape}
    cfg["compile_config"] = compile_config(model)  # {} when not compiled, as Keras writes it
    return cfg


# ================================================================== weights (HDF5)
def _optimizer_vars(model) -> Optional[List[np.ndarray]]:
    """Keras's ``optimizer/vars`` of the model's optimizer, or None when ranvier's state
    does not map onto Keras's variables one to one."""
    model_state = model._save_state()
    state = model_state["optimizer_state"]  # None unless built for this very network
    opt = model.optimizer
    if state is None or opt is None:
        return None
    own: List[np.ndarray] = []
    scalars = dict(state.get("scalars") or {})
    if isinstance(opt, optimizers_module.LossScaleOptimizer):
        # Keras: its own iteration and learning_rate (0), step_counter, dynamic_scale, then the inner's
        from .optimizers import loss_scale
        own = [np.asarray(0, dtype=np.int64), np.asarray(0.0, dtype=np.float32),
               np.asarray(int(scalars.pop(loss_scale.COUNTER_KEY, 0)), dtype=np.int64),
               np.asarray(scalars.pop(loss_scale.SCALE_KEY, opt.initial_scale), dtype=np.float32)]
        opt = opt.inner_optimizer
    groups = _SLOT_GROUPS.get(type(opt).__name__)
    cfg = opt.get_config()
    if groups is None or cfg.get("use_ema") or not isinstance(cfg.get("learning_rate"), (int, float)):
        return None
    slots = {k: np.asarray(v, dtype=np.float32).reshape(-1) for k, v in state.get("slots", {}).items()}
    trailing = _TRAILING_SCALARS.get(type(opt).__name__, ())
    if sorted(scalars) != sorted(trailing):
        return None
    order = [names for names in groups if all(n in slots for n in names)]
    if sorted(n for g in order for n in g) != sorted(slots):
        return None
    out: List[np.ndarray] = [np.asarray(int(state.get("iterations", 0)), dtype=np.int64),
                             np.asarray(state.get("learning_rate", cfg["learning_rate"]), dtype=np.float32)]
    for names in order:
        for v in model_state["trainable_segments"]:
            for n in names:
                off, size, shape = v
                out.append(slots[n][off:off + size].reshape(shape).copy())
    out += [np.asarray(scalars[n], dtype=np.float32) for n in trailing]
    return own + out


def write_weights_h5(model, target, include_optimizer: bool = False) -> None:
    """Keras 3's ``.weights.h5`` layout into ``target`` (a path or a binary file object)."""
    h5py = h5py_module("writing a Keras .weights.h5 / .keras file")
    with h5py.File(target, "w") as f:
        layers = f.create_group("layers")
        for key, layer in zip(layer_keys(model), common.file_layers(model)):
            g = layers.create_group(key).create_group("vars")
            g.attrs["name"] = layer.name
            for i, arr in enumerate(layer.get_weights()):
                g.create_dataset(str(i), data=np.asarray(arr))
            parts = key.split("/layers/")  # a layer of a nested model: that model's own (empty) vars
            for depth in range(1, len(parts)):
                outer = "/layers/".join(parts[:depth])
                if "vars" not in layers[outer]:
                    layers[outer].create_group("vars")
        f.create_group("vars").attrs["name"] = model.name
        if include_optimizer:
            values = _optimizer_vars(model)
            if values is not None and model.optimizer is not None:
                opt_group = f.create_group("optimizer")
                g = opt_group.create_group("vars")
                g.attrs["name"] = model.optimizer.name
                for i, arr in enumerate(values):
                    g.create_dataset(str(i), data=arr)
                if isinstance(model.optimizer, optimizers_module.LossScaleOptimizer):  # Keras's inner group
                    g = opt_group.create_group("inner_optimizer").create_group("vars")
                    g.attrs["name"] = model.optimizer.inner_optimizer.name
                    for i, arr in enumerate(values[4:]):
                        g.create_dataset(str(i), data=arr)


def archive_bytes(model, include_optimizer: bool = True) -> bytes:
    """The bytes of a ``.keras`` archive of ``model``."""
    from . import __version__
    if not model.built:
        raise ValueError("save: the model is not built yet, so Keras's format has no weights to hold; "
                         "build it (fit, predict, build() or an Input first)")
    config = model_config(model)
    config_text = json.dumps(config, allow_nan=False)
    # every archive ranvier writes loads back: the reader's own checks, before anything is
    # written (the weights file holds at least 4 bytes per weight value)
    try:
        if len(config_text.encode("utf-8")) > _MAX_JSON_BYTES:
            raise ValueError(f"'{CONFIG}' would take {len(config_text.encode('utf-8')):,} bytes, more than "
                             f"the {_MAX_JSON_BYTES:,} the reader accepts")
        _check_sizes(config, 4 * sum(int(np.size(w)) for w in model.get_weights()), f"'{CONFIG}'")
    except ValueError as e:
        raise common.unloadable("save", e) from None
    weights = io.BytesIO()
    write_weights_h5(model, weights, include_optimizer=include_optimizer)
    state = model._save_state(include_optimizer=False)
    meta: Dict[str, Any] = {"keras_version": KERAS_FORMAT_VERSION,
                            "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
                            "ranvier_version": __version__}
    # What resumes training exactly (Keras ignores these keys): the step counter that
    # keys Dropout masks and the seeds of layers created without one.
    meta["ranvier_train_steps"] = state["train_steps"]
    meta["ranvier_layer_seeds"] = state["layer_seeds"]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:  # stored, as Keras writes it
        zf.writestr(METADATA, json.dumps(meta))
        zf.writestr(CONFIG, config_text)
        zf.writestr(WEIGHTS, weights.getvalue())
    return out.getvalue()


# ================================================================== reading
def _read_member(zf: zipfile.ZipFile, name: str, limit: int, where: str) -> bytes:
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise ValueError(f"{where} is not a Keras archive: it has no '{name}' "
                         f"(members: {', '.join(zf.namelist()[:10])})") from None
    # A compressed member may expand at most 16 times plus the 64 MiB load budget: a small
    # archive cannot make the reader allocate gigabytes (a zip bomb).
    limit = min(limit, _LOAD_BUDGET + _MAX_RATIO * info.compress_size)
    if info.file_size > limit:
        raise ValueError(f"{where}: '{name}' declares {info.file_size} bytes, more than the "
                         f"{limit} this reader accepts")
    try:
        with zf.open(info) as f:
            data = f.read(limit + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, OSError) as e:
        # a damaged member (CRC mismatch, broken local header or deflate stream, an unknown or
        # encrypted compression): a ValueError naming the file and the member, as for the others
        raise ValueError(f"{where}: '{name}' in the archive is damaged: {type(e).__name__}: {e}") from None
    if len(data) > limit or len(data) != info.file_size:
        raise ValueError(f"{where}: '{name}' does not hold the {info.file_size} bytes it declares")
    return data


def _memory_budget() -> int:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def write_folder(path, blob: bytes, what: str) -> None:
    """Keras's ``save(..., zipped=False)``: the archive's members as files of the folder
    ``path`` (made if missing), each written atomically."""
    path = os.fsdecode(path)
    if os.path.exists(path) and not os.path.isdir(path):
        raise NotADirectoryError(f"{what}: {common.where(path)} is a file; with zipped=False the model is "
                                 "written as a folder (pass a folder path, or zipped=True for one file)")
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        raise type(e)(e.errno, f"{what}: cannot create the folder {common.where(path)}: {e.strerror}") from None
    # config.json marks the folder as a saved model (is_archive_folder): it goes first and
    # comes back last, so a save interrupted part-way never leaves a folder that loads a
    # mix of two saves (each file is itself written atomically)
    marker = os.path.join(path, CONFIG)
    if os.path.exists(marker):
        os.remove(marker)
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        names = sorted(zf.namelist(), key=lambda n: n == CONFIG)
        for name in names:
            common.write_atomic(os.path.join(path, name), [zf.read(name)], what)


def is_archive_folder(path) -> bool:
    """Whether ``path`` is a folder written by ``save(..., zipped=False)`` (it holds
    ``config.json``)."""
    try:
        path = os.fsdecode(os.fspath(path))
        return os.path.isdir(path) and os.path.isfile(os.path.join(path, CONFIG))
    except (TypeError, ValueError):
        return False


def folder_bytes(path, where: str) -> bytes:
    """The members of an unzipped archive folder, zipped in memory (what ``read_archive``
    reads), each checked against the same size limits first."""
    path, out = os.fsdecode(os.fspath(path)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
        for name, limit in ((CONFIG, _MAX_JSON_BYTES), (METADATA, _MAX_JSON_BYTES), (WEIGHTS, _memory_budget() // 2)):
            member = os.path.join(path, name)
            if not os.path.isfile(member):
                continue
            if os.path.getsize(member) > limit:
                raise ValueError(f"{where}: '{name}' is larger than the {limit} bytes it may hold")
            with open(member, "rb") as f:
                zf.writestr(name, f.read())
    return out.getvalue()


def read_archive(path, where: str) -> Tuple[Dict[str, Any], bytes, Dict[str, Any]]:
    """(config.json, the weights file's bytes, metadata.json) of a ``.keras`` archive."""
    try:
        zf = zipfile.ZipFile(path if not isinstance(path, (bytes, bytearray)) else io.BytesIO(path))
    except zipfile.BadZipFile as e:
        raise ValueError(f"{where} is not a valid Keras archive (zip): {e}") from None
    with zf:
        names = zf.namelist()
        twice = sorted(n for n in (CONFIG, METADATA, WEIGHTS) if names.count(n) > 1)
        if twice:  # which copy counts depends on the reader: refused, as ambiguous
            raise ValueError(f"{where}: the archive holds {', '.join(repr(n) for n in twice)} more than once "
                             f"(zip readers disagree on which copy counts)")
        try:
            config = json.loads(_read_member(zf, CONFIG, _MAX_JSON_BYTES, where))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
            raise ValueError(f"{where}: '{CONFIG}' is not valid JSON: {e}") from None
        if not isinstance(config, dict):
            raise ValueError(f"{where}: '{CONFIG}' must hold a JSON object")
        if WEIGHTS not in zf.namelist():
            other = [n for n in zf.namelist() if n.startswith("model.weights")]
            raise ValueError(f"{where}: the archive has no '{WEIGHTS}'" +
                             (f" (it has {other}: only the HDF5 weights layout is read)" if other else ""))
        weights = _read_member(zf, WEIGHTS, _memory_budget() // 2, where)
        meta: Dict[str, Any] = {}
        if METADATA in zf.namelist():
            try:
                meta = json.loads(_read_member(zf, METADATA, _MAX_JSON_BYTES, where))
            except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
                raise ValueError(f"{where}: '{METADATA}' is not valid JSON: {e}") from None
            if not isinstance(meta, dict):
                raise ValueError(f"{where}: '{METADATA}' must hold a JSON object")
    return config, weights, meta


def load_archive(path, where: str, classes: Mapping[str, Any], custom_objects=None, compile: bool = True):
    """The model of a ``.keras`` archive (written by Keras or by ranvier); ``classes``: the
    model classes by config class name."""
    h5py = h5py_module("loading a Keras .keras file")
    config, weights, meta = read_archive(path, where)
    cls = config.get("class_name")
    model_cls = classes.get(cls) if isinstance(cls, str) else None
    if model_cls is None:
        raise ValueError(f"{where}: cannot load a Keras {cls!r} model: ranvier builds Sequential "
                         f"and functional (chain-shaped) models only")
    inner = config.get("config")
    if not isinstance(inner, dict):
        raise ValueError(f"{where}: '{CONFIG}' has no Sequential 'config' object")
    _check_sizes(config, len(weights), where)
    inner = _from_keras(inner, where)
    seeds = meta.get("ranvier_layer_seeds") or {}
    seeded = common.seed_layer_configs(inner, seeds) if isinstance(seeds, dict) else []
    try:
        with _random.preserved_stream():
            model = model_cls.from_config(inner, custom_objects=custom_objects)
            common.unseed_layers(model, seeded)
            shape = (config.get("build_config") or {}).get("input_shape") or inner.get("build_input_shape")
            if not model.built and shape:
                model.build(tuple(shape))
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as e:
        raise ValueError(f"{where}: the archive's model cannot be built in ranvier: "
                         f"{type(e).__name__}: {e}") from None
    with h5py.File(io.BytesIO(weights), "r") as f:
        groups = _keras_h5.read_open(f, model, where)
        common.assign_groups(model, groups, where, skip_mismatch=False)
        steps = meta.get("ranvier_train_steps")
        if isinstance(steps, int) and steps >= 0:
            model._restore_state(train_steps=steps)
        cc = config.get("compile_config")
        if compile and isinstance(cc, dict) and cc:  # Keras writes {} for a model never compiled
            cc = _from_keras(cc, where)
            _compile_from(model, cc, where, custom_objects)
            restore_optimizer_vars(h5py, f, model, where)
    return model


def restore_optimizer_vars(h5py, f, model, where: str) -> None:
    """The ``optimizer/vars`` of an open Keras weights file into the model's optimizer
    (nothing when the file has none)."""
    opt_vars = _keras_h5.child(h5py, f, "optimizer/vars", where)
    if isinstance(opt_vars, h5py.Group) and len(opt_vars.keys()) > 0:
        # each variable is a scalar or one weight's shape: read none larger than that
        cap = max([int(np.prod(v.shape)) for v in model.weights] + [1])
        _restore_optimizer(model, [_keras_h5.read_capped(h5py, _keras_h5.child(h5py, opt_vars, k, where), where, cap)
                                   for k in sorted(opt_vars.keys(), key=_int_key)], where)


def _finite(obj: Any) -> Any:
    """obj with non-finite floats (json.loads accepts NaN/Infinity) made null, for the strict
    C++ checks; no size can be a non-finite float."""
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def _check_sizes(config: Dict[str, Any], weight_bytes: int, where: str) -> None:
    """The C++ checks every ranvier model file goes through (layers' weights, for the
    model's input and for each layer's own build_config, against what the archive's weights
    file can hold; metric sizes against the load budget), before anything is built."""
    inner = config.get("config")
    graph = config.get("class_name") in ("Functional", "Model") and isinstance(inner, dict) \
        and isinstance(inner.get("layers"), list) and "input_layers" in inner and "output_layers" in inner \
        and _functional_config().is_graph_config(inner)
    if not graph and config.get("class_name") in ("Functional", "Model") and isinstance(inner, dict) \
            and isinstance(inner.get("layers"), list):  # a chain: checked as the Sequential it runs as
        seq_layers = [{k: v for k, v in e.items() if k not in ("name", "inbound_nodes")} if isinstance(e, dict)
                      else e for e in inner["layers"]]
        seq = {k: v for k, v in inner.items() if k not in ("input_layers", "output_layers")}
        config = dict(config, class_name="Sequential", config=dict(seq, layers=seq_layers))
    try:
        meta = [("architecture", json.dumps(_finite(config), allow_nan=False))]
        cc = config.get("compile_config")
        if isinstance(cc, dict):
            meta.append(("compile_config", json.dumps(_finite(cc), allow_nan=False)))
        _core.io_check_model_metadata(meta, weight_bytes // 4)
    except RecursionError:
        raise ValueError(f"{where}: '{CONFIG}' is nested too deeply") from None
    except ValueError as e:
        raise ValueError(f"{where}: {e}") from None


def _functional_config():
    import importlib
    return importlib.import_module("ranvier._functional_config")


def _int_key(k: str) -> int:
    try:
        return int(k)
    except ValueError:
        return 1 << 62


def _compile_from(model, cc: Dict[str, Any], where: str, custom_objects) -> None:
    try:
        common.compile_saved(model, cc, cc.get("optimizer"), custom_objects)
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as e:
        raise ValueError(f"{where}: the archive's compile configuration cannot be restored: "
                         f"{type(e).__name__}: {e}") from None


def _restore_optimizer(model, values: List[np.ndarray], where: str) -> None:
    """Keras's optimizer variables into the model's optimizer; as Keras does, a layout that
    does not match is skipped with a warning (training then starts the optimizer fresh)."""
    opt = model.optimizer
    own: Dict[str, float] = {}
    if isinstance(opt, optimizers_module.LossScaleOptimizer):
        from .optimizers import loss_scale
        if len(values) < 4:
            warnings.warn(f"{where}: skipping the optimizer's saved variables ({len(values)} in the file; a "
                          f"LossScaleOptimizer has at least 4): the optimizer starts fresh", stacklevel=3)
            return
        own = {loss_scale.COUNTER_KEY: float(np.asarray(values[2])), loss_scale.SCALE_KEY: float(np.asarray(values[3]))}
        values = values[4:]
        opt = opt.inner_optimizer
    name = type(opt).__name__
    groups = _SLOT_GROUPS.get(name)
    model_state = model._save_state(include_optimizer=False)
    views = model_state["trainable_segments"]
    cfg = opt.get_config()
    order: List[Tuple[str, ...]] = []
    if groups is not None:
        present = {"momentum": True, "velocity": True, "velocity_hat": bool(cfg.get("amsgrad")),
                   "average_gradient": bool(cfg.get("centered"))}
        if name == "SGD":
            present["momentum"] = bool(cfg.get("momentum"))
        if name == "RMSprop":
            present["momentum"] = bool(cfg.get("momentum"))
        order = [g for g in groups if all(present.get(n, True) for n in g)]
    trailing = _TRAILING_SCALARS.get(name, ())
    expected = 2 + sum(len(g) for g in order) * len(views) + len(trailing)
    if groups is None or len(values) != expected or not isinstance(cfg.get("learning_rate"), (int, float)):
        warnings.warn(f"{where}: skipping the optimizer's saved variables ({len(values)} in the file; "
                      f"ranvier's {name} holds its state differently): the optimizer starts fresh",
                      stacklevel=3)
        return
    slots: Dict[str, np.ndarray] = {}
    total = model_state["param_count"]
    i = 2
    for g in order:
        for off, size, shape in views:
            for n in g:
                v = np.asarray(values[i], dtype=np.float32)
                i += 1
                if tuple(v.shape) != shape:
                    raise ValueError(f"{where}: optimizer variable {i - 1} ({n}) has shape {tuple(v.shape)}, "
                                     f"the model's weight has {shape}")
                buf = slots.setdefault(n, np.zeros(total, dtype=np.float32))
                buf[off:off + size] = v.reshape(-1)
    try:
        scalars = {n: float(np.asarray(values[i + j])) for j, n in enumerate(trailing)}
        scalars.update(own)
        model._restore_state(optimizer_state={"iterations": int(np.asarray(values[0])), "slots": slots, "scalars": scalars,
                       "learning_rate": float(np.asarray(values[1]))})
    except ValueError as e:
        raise ValueError(f"{where}: the optimizer state does not fit this model: {e}") from None
