"""Saving and loading models: one safetensors file per model.

File layout (``format_version`` 1)::

    [8 bytes: N, little-endian u64][N bytes: JSON header, space-padded to 8][tensor data]

The header maps each tensor name to ``{"dtype": "F32", "shape": [...], "data_offsets":
[begin, end]}`` and ``"__metadata__"`` to a string -> string map:

- ``format`` = ``"ranvier"``, ``format_version`` = ``"1"``, ``ranvier_version``,
  ``contents`` = ``"model"`` (``model.save``) or ``"weights"`` (``save_weights``);
- ``architecture``: JSON ``{"module": "keras", "class_name": "Sequential", "config":
  model.get_config()}`` (model files only);
- ``weights``: JSON list, one entry per layer in model order, ``{"name", "class_name",
  "weights": [weight names]}`` (``load_weights`` matches layers by this topology);
- ``compile_config`` (JSON, when compiled), ``optimizer`` (JSON of the optimizer's
  current serialized config), ``optimizer_state`` (JSON: raw ``iterations``,
  ``learning_rate``, extra ``scalars``, the list of ``slots``), ``train_steps`` (the
  training step counter that keys Dropout masks) and ``layer_seeds`` (JSON: the seeds of
  Dropout layers created without one), so that training resumes exactly.

Tensors: ``layers/<layer name>/<weight name>`` (e.g. ``layers/dense/kernel``) in Keras
weight order, then ``optimizer/<slot>`` (e.g. ``optimizer/momentum``,
``optimizer/velocity``: flat float32 buffers over the model's trainable parameters).

The ``safetensors`` package reads these files (``safetensors.numpy.load_file``); ranvier
itself needs only NumPy. Every file that is read goes through the C++ validator
(``ranvier._core.io_parse_header``), the same one the C++ API uses: a truncated,
corrupted or hostile file raises ValueError naming the file and the problem. Before
anything is built, every size in the metadata (each layer's weights, for the model's
input width and for the layer's own ``build_config``; metric sizes such as AUC's
``num_thresholds``; at most 2048 layers) is checked against the file and a load budget
of 64 MiB beyond the file's weights (``_core.io_check_model_metadata``); parsing is
linear in the file's size.

Files are written by the C++ writer (``ranvier::io::write_file``, bound as
``_core.io_write_safetensors``), the one the C++ API uses, from the arrays' own memory.
Saving is atomic: the bytes go to a temporary file ``.<name>.ranvier-<pid>-<random>.tmp``
in the target's folder, which is locked while written, flushed, fsync'ed and renamed over
the target (then the folder is fsync'ed). Saving through a symbolic link writes the link's
target and keeps the link. On failure (full disk, unwritable folder) an OSError is raised,
the previous file is intact and the temporary file is removed; temporary files left by a
save that was killed (SIGKILL, SIGTERM) are removed by the next save to that folder (only
files of that name pattern that no live process holds locked). Paths may be str, bytes or
os.PathLike; an empty path is refused with ValueError.
"""
from __future__ import annotations

import io
import json
import os
import stat
import struct
import warnings
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import _checks, _core, _keras_format, _random

__all__ = ["save_model", "load_model", "save_weights", "load_weights", "model_to_bytes",
           "model_from_bytes", "export", "FORMAT", "FORMAT_VERSION"]

FORMAT = "ranvier"
FORMAT_VERSION = 1
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_MAX_HEADER = 100_000_000  # as the C++ validator (io::kMaxHeaderBytes)


# ======================================================================= bytes level
def _json(value: Any, what: str) -> str:
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


def _fs_path(filepath, what: str) -> bytes:
    """The path as the operating system's bytes (from str, bytes or os.PathLike), so the C++
    writer receives exactly the file name the caller gave; an empty path is refused."""
    if not isinstance(filepath, (str, bytes, os.PathLike)):
        raise TypeError(f"{what}: filepath must be a str, bytes or os.PathLike path, got "
                        f"{type(filepath).__name__}")
    path = os.fspath(filepath)
    if len(path) == 0:
        raise ValueError(f"{what}: the file path is empty; give the name of the file to write")
    return os.fsencode(path)


def _where(filepath) -> str:
    return f"'{os.fsdecode(os.fspath(filepath))}'"


def _write_atomic(filepath, chunks: Sequence[Any], what: str = "save") -> None:
    """Writes the buffers (bytes, memoryviews, arrays) to `filepath` with the C++ atomic
    writer, the one the C++ API uses (see the module docstring): no copy of the buffers."""
    _core.io_atomic_write(_fs_path(filepath, what), list(chunks), os.fsync)


def _tensor_list(tensors: Sequence[Tuple[str, np.ndarray]]) -> List[Tuple[str, np.ndarray]]:
    return [(name, np.asarray(arr, dtype=np.float32, order="C")) for name, arr in tensors]


def _write_model_file(filepath, tensors: Sequence[Tuple[str, np.ndarray]], metadata: Dict[str, str],
                      what: str) -> None:
    """The safetensors file of (tensors, metadata), written by the C++ writer (one writer per
    format: ranvier::io::write_file) from the arrays' own memory, atomically."""
    _core.io_write_safetensors(_fs_path(filepath, what), _tensor_list(tensors), list(metadata.items()), os.fsync)


def _validate(prefix: bytes, size: int, where: str, ranvier_format: bool = True) -> Dict[str, Any]:
    try:
        return _core.io_parse_header(prefix, size, ranvier_format)
    except ValueError as e:
        raise ValueError(f"{where}: {e}") from None


def _require_regular(path: str) -> None:
    """Refuses FIFOs, devices and folders before opening (opening a FIFO blocks until a
    writer appears). A missing file is left to open() (FileNotFoundError)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"'{path}' is not a regular file")


def _read_file(path) -> Tuple[Dict[str, Any], bytes]:
    """(validated header, data section) of a model file."""
    path = os.fspath(path)
    _require_regular(path)
    with open(path, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise ValueError(f"'{path}' is not a regular file")
        size = st.st_size
        first = f.read(8)
        prefix = first
        if len(first) == 8:
            n = struct.unpack("<Q", first)[0]
            prefix += f.read(max(0, min(n, size - 8, _MAX_HEADER)))  # what the file can hold, no more
        header = _validate(prefix, size, f"'{path}'")
        header["raw_prefix"], header["file_size"] = prefix, size  # for _core.io_check_model
        data = f.read(header["data_len"])
        if len(data) != header["data_len"]:
            raise ValueError(f"'{path}': the file changed while it was being read")
    return header, data


def _read_bytes(blob: bytes, where: str = "model bytes") -> Tuple[Dict[str, Any], memoryview]:
    blob = bytes(blob)
    header = _validate(blob, len(blob), where)
    header["raw_prefix"], header["file_size"] = blob[:header["data_start"]], len(blob)
    return header, memoryview(blob)[header["data_start"]:]


def _tensors(header: Dict[str, Any], data) -> Dict[str, np.ndarray]:
    out = {}
    for t in header["tensors"]:
        n = (t["end"] - t["begin"]) // 4
        a = np.frombuffer(data, dtype="<f4", count=n, offset=t["begin"]) if n else np.zeros(0, "<f4")
        out[t["name"]] = a.astype(np.float32).reshape(t["shape"])
    return out


def _meta_json(meta: Dict[str, str], key: str, where: str, required: bool = False):
    """json.loads of a metadata value, after the C++ strict parser accepted it (bounded
    nesting: a hostile value cannot exhaust the stack)."""
    text = meta.get(key)
    if text is None:
        if required:
            raise ValueError(f"{where}: metadata '{key}' is missing")
        return None
    try:
        _core.io_json_normalize(text.encode("utf-8"), True)
        return json.loads(text)
    except (ValueError, RecursionError) as e:
        raise ValueError(f"{where}: metadata '{key}' is not valid JSON: {e}") from None


# ======================================================================= model <-> payload
def _weight_listing(model) -> List[Dict[str, Any]]:
    return [{"name": l.name, "class_name": type(l).__name__, "weights": [v.name for v in l.weights]}
            for l in model.layers]


def _weight_tensors(model) -> List[Tuple[str, np.ndarray]]:
    out = []
    for l in model.layers:
        for v, arr in zip(l.weights, l.get_weights()):
            out.append((f"layers/{l.name}/{v.name}", arr))
    return out


def _base_metadata(contents: str) -> Dict[str, str]:
    from . import __version__
    return {"format": FORMAT, "format_version": str(FORMAT_VERSION), "ranvier_version": __version__,
            "contents": contents}


def _model_payload(model, include_optimizer: bool = True):
    """(tensors, metadata) of a whole model."""
    meta = _base_metadata("model")
    arch = {"module": "keras", "class_name": "Sequential", "config": model.get_config()}
    if model.built:
        arch["build_config"] = {"input_shape": list(model.input_shape)}
    meta["architecture"] = _json(arch, "the model's architecture (get_config)")
    tensors = []
    if model.built:
        meta["weights"] = _json(_weight_listing(model), "the weight listing")
        tensors = _weight_tensors(model)
        net = getattr(model, "_net", None)
        if net is not None:
            meta["train_steps"] = str(int(net.train_steps))
    seeds = _layer_seeds(model)
    if seeds:
        meta["layer_seeds"] = _json(seeds, "the Dropout seeds")
    cc = getattr(model, "_compile_config", None)
    if getattr(model, "compiled", False) and cc is not None:
        from . import optimizers as optimizers_module
        meta["compile_config"] = _json(cc, "the compile configuration (loss and metrics must be "
                                           "built-in names or serializable objects)")
        opt = model.optimizer
        if opt is not None:
            meta["optimizer"] = _json(optimizers_module.serialize(opt), "the optimizer's config")
            # Only state built for this very network (not for layers since replaced).
            if include_optimizer and opt.built and getattr(opt, "_ranvier_net", None) is getattr(model, "_net", 0):
                state = opt.get_state()
                slots = state.get("slots", {})
                meta["optimizer_state"] = _json(
                    {"iterations": int(state.get("iterations", 0)),
                     "learning_rate": state.get("learning_rate"),
                     "scalars": {k: float(v) for k, v in state.get("scalars", {}).items()},
                     "slots": list(slots)}, "the optimizer state")
                for k, v in slots.items():
                    tensors.append((f"optimizer/{k}", np.asarray(v, dtype=np.float32).reshape(-1)))
    return tensors, meta


def _layer_seeds(model) -> Dict[str, int]:
    """The seeds of the layers created without one (Dropout): saved so that training
    resumes with the same masks."""
    return {l.name: int(l._core_seed) for l in model.layers
            if getattr(l, "_core_seed", None) is not None and getattr(l, "seed", 0) is None}


def _seed_layer_configs(config: Dict[str, Any], seeds: Dict[str, Any]) -> List[str]:
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


def _weights_payload(model):
    if not model.built:
        raise ValueError("save_weights: the model is not built yet, it has no weights; "
                         "build it (fit, predict, build() or an Input first)")
    meta = _base_metadata("weights")
    meta["weights"] = _json(_weight_listing(model), "the weight listing")
    return _weight_tensors(model), meta


class _PreserveGlobalStream:
    """Rebuilding a model runs initializers whose values are overwritten at once: keep
    them from consuming the global random stream, so loading is invisible to it."""

    def __enter__(self):
        self._state = _random._generator.bit_generator.state

    def __exit__(self, *exc):
        _random._generator.bit_generator.state = self._state
        return False


def _build_optimizer_for(model) -> None:
    """Builds model.optimizer over the model's parameters exactly as fit would
    (Sequential._get_trainer: same segments, marks the optimizer as built for this
    network so fit keeps the restored state instead of rebuilding)."""
    net = model._net
    segments = [(t["offset"], t["size"], f"{model.layers[t['layer']].name}/{t['name']}")
                for t in net.tensors() if t["trainable"]]
    model.optimizer.build(int(net.params().size), segments)
    model.optimizer._ranvier_net = net


def _restore(header: Dict[str, Any], data, where: str, custom_objects=None, compile=True):
    """The model of a validated file. Whatever a hostile file makes go wrong while the
    model is rebuilt comes out as ValueError naming the file."""
    try:
        return _restore_unchecked(header, data, where, custom_objects, compile)
    except ValueError:
        raise
    except (TypeError, KeyError, AttributeError, IndexError, RecursionError, OverflowError) as e:
        raise ValueError(f"{where}: the saved model cannot be rebuilt: {type(e).__name__}: {e}") from None


def _restore_unchecked(header: Dict[str, Any], data, where: str, custom_objects=None, compile=True):
    from . import models as models_module
    from . import optimizers as optimizers_module
    meta = header["metadata"]
    if meta.get("contents") == "weights":
        raise ValueError(f"{where} holds weights only (written by save_weights): build the model "
                         f"and call model.load_weights() instead")
    arch = _meta_json(meta, "architecture", where, required=True)
    if not isinstance(arch, dict) or not isinstance(arch.get("config"), dict):
        raise ValueError(f"{where}: metadata 'architecture' must be a Sequential config object")
    if arch.get("class_name", "Sequential") != "Sequential":
        raise ValueError(f"{where}: cannot load a {arch.get('class_name')!r} model; ranvier has Sequential only")
    try:  # the C++ loader's own validation (one path for every loader): no layer may need more
        # weights than the file holds (for the model's input width and its own build_config),
        # widths and every weight's shape must agree, no metric more than the load budget
        if "raw_prefix" in header:
            _core.io_check_model(header["raw_prefix"], header["file_size"])
        else:
            _core.io_check_model_metadata(list(meta.items()), sum(
                (t["end"] - t["begin"]) // 4 for t in header["tensors"]))
    except ValueError as e:
        raise ValueError(f"{where}: {e}") from None
    config = json.loads(json.dumps(arch["config"]))  # private copy
    seeds = _meta_json(meta, "layer_seeds", where) or {}
    if not isinstance(seeds, dict):
        raise ValueError(f"{where}: metadata 'layer_seeds' must be an object")
    seeded = _seed_layer_configs(config, seeds)
    try:
        with _PreserveGlobalStream():
            model = models_module.Sequential.from_config(config, custom_objects=custom_objects)
            for name in seeded:
                model.get_layer(name).seed = None  # it was created without one: keep get_config as it was
            build = arch.get("build_config") or {}
            if not model.built and build.get("input_shape"):
                model.build(tuple(build["input_shape"]))
    except ValueError as e:
        raise ValueError(f"{where}: the saved architecture cannot be rebuilt: {e}") from None
    except (TypeError, KeyError, AttributeError, IndexError) as e:
        raise ValueError(f"{where}: the saved architecture cannot be rebuilt: {type(e).__name__}: {e}") from None
    tensors = _tensors(header, data)
    if model.built:
        _assign_by_name(model, tensors, where)
        net = getattr(model, "_net", None)
        if "train_steps" in meta and net is not None:
            try:
                net.train_steps = int(meta["train_steps"])
            except ValueError:
                raise ValueError(f"{where}: metadata 'train_steps' is not an integer") from None
    cc = _meta_json(meta, "compile_config", where)
    if compile and cc is not None:
        if not isinstance(cc, dict):
            raise ValueError(f"{where}: metadata 'compile_config' must be an object")
        opt_cfg = _meta_json(meta, "optimizer", where) or cc.get("optimizer")
        try:
            optimizer = optimizers_module.deserialize(opt_cfg, custom_objects=custom_objects) \
                if isinstance(opt_cfg, dict) else optimizers_module.get(opt_cfg or "rmsprop")
            model.compile(optimizer=optimizer, loss=_deserialize_loss(cc.get("loss"), custom_objects),
                          loss_weights=cc.get("loss_weights"),
                          metrics=_deserialize_metrics(cc.get("metrics"), custom_objects),
                          weighted_metrics=_deserialize_metrics(cc.get("weighted_metrics"), custom_objects))
        except ValueError as e:  # a refused argument (a metric's k, say): name the file
            raise ValueError(f"{where}: the saved compile configuration cannot be restored: {e}") from None
        except (TypeError, KeyError, AttributeError, IndexError) as e:
            raise ValueError(f"{where}: the saved compile configuration cannot be restored: "
                             f"{type(e).__name__}: {e}") from None
        state = _meta_json(meta, "optimizer_state", where)
        if state is not None and model.built:
            if not isinstance(state, dict) or not isinstance(state.get("slots", []), list):
                raise ValueError(f"{where}: metadata 'optimizer_state' is malformed")
            slots = {}
            for k in state.get("slots", []):
                key = f"optimizer/{k}"
                if key not in tensors:
                    raise ValueError(f"{where}: optimizer slot tensor '{key}' is missing")
                slots[k] = tensors[key].reshape(-1)
            _build_optimizer_for(model)
            st = {"iterations": int(state.get("iterations", 0)), "slots": slots,
                  "scalars": dict(state.get("scalars") or {})}
            if state.get("learning_rate") is not None:
                st["learning_rate"] = float(state["learning_rate"])
            optimizer = model.optimizer
            assert optimizer is not None, "_build_optimizer_for() needs model.optimizer"
            try:
                optimizer.set_state(st)
            except ValueError as e:
                raise ValueError(f"{where}: the optimizer state does not fit this model: {e}") from None
    return model


def _deserialize_loss(loss, custom_objects):
    if isinstance(loss, dict):
        from . import losses as losses_module
        return losses_module.deserialize(loss, custom_objects=custom_objects) \
            if _accepts_custom(losses_module.deserialize) else losses_module.deserialize(loss)
    if isinstance(loss, str) and custom_objects and loss in custom_objects:
        return custom_objects[loss]
    return loss


def _deserialize_metrics(metrics, custom_objects):
    if not metrics:
        return None
    from . import metrics as metrics_module
    out = []
    for m in metrics:
        if isinstance(m, dict):
            out.append(metrics_module.deserialize(m, custom_objects=custom_objects))
        elif isinstance(m, str) and custom_objects and m in custom_objects:
            out.append(custom_objects[m])
        else:
            out.append(m)
    return out


def _accepts_custom(fn) -> bool:
    import inspect
    try:
        return "custom_objects" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _assign_by_name(model, tensors: Dict[str, np.ndarray], where: str) -> None:
    """Weights of a model file: every layer weight must be present with its shape."""
    for l in model.layers:
        values = []
        for v in l.weights:
            key = f"layers/{l.name}/{v.name}"
            if key not in tensors:
                raise ValueError(f"{where}: weight '{key}' is missing from the file")
            a = tensors[key]
            if tuple(a.shape) != tuple(v.shape):
                raise ValueError(f"{where}: weight '{key}' has shape {tuple(a.shape)} in the file but "
                                 f"the model expects {tuple(v.shape)}")
            values.append(a)
        if values:
            l.set_weights(values)


# ======================================================================= public API
def save_model(model, filepath, overwrite: bool = True, include_optimizer: bool = True, **kwargs) -> None:
    """``model.save(filepath)``: the whole model (architecture, weights, compile config and
    optimizer state), written atomically. The name picks the format:

    - ``.keras``: Keras 3's archive (needs h5py), which ``keras.saving.load_model`` opens
      (:mod:`ranvier._keras_format`);
    - ``.h5`` / ``.hdf5``: refused (Keras's legacy HDF5 model format is not written);
    - anything else: ranvier's own format, one safetensors file (documented suffix
      ``.safetensors``; see the module doc), which the C and C++ API load.

    ``overwrite=False`` raises FileExistsError when the file exists."""
    _checks.check_bool(overwrite, "overwrite", "save")
    _checks.check_bool(include_optimizer, "include_optimizer", "save")
    if kwargs.pop("save_format", None) not in (None, "keras", "ranvier", "safetensors"):
        raise ValueError("save: ranvier writes its own safetensors format only")
    if kwargs:
        raise ValueError(f"save: unexpected arguments {sorted(kwargs)}")
    path = _fs_path(filepath, "save")
    if _keras_format.is_h5_name(path):
        raise ValueError(f"save: {_where(path)}: ranvier does not write Keras's legacy HDF5 model "
                         f"format (.h5); use a '.keras' name for Keras's format, or "
                         f"'.safetensors' for ranvier's own (which the C/C++ API loads)")
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"save: {_where(path)} exists and overwrite=False")
    if _keras_format.is_archive_name(path):
        _write_atomic(path, [_keras_format.archive_bytes(model, include_optimizer)], "save")
        return
    tensors, meta = _model_payload(model, include_optimizer)
    _write_model_file(path, tensors, meta, "save")


def load_model(filepath, custom_objects=None, compile: bool = True, safe_mode: bool = True):
    """Loads a model written by ``model.save`` (or by the C++ API): it predicts bit for bit
    as the saved one and, with ``compile=True``, resumes training exactly where it stopped
    (optimizer slots, iterations and learning rate restored). Raises ValueError for a file
    that is not a valid ranvier model (naming what is wrong), OSError if it cannot be read."""
    _checks.check_bool(compile, "compile", "load_model")
    _checks.check_bool(safe_mode, "safe_mode", "load_model")
    where = _where(filepath)
    kind = _sniff(filepath)
    if kind == "zip":
        return _keras_format.load_archive(filepath, where, custom_objects=custom_objects, compile=compile)
    if kind == "hdf5":
        raise ValueError(f"load_model: {where} is an HDF5 file: Keras weights only (.weights.h5) or a "
                         f"legacy Keras .h5 model, which ranvier does not load as a model; build the "
                         f"model and call model.load_weights() on it, or save it from Keras as '.keras'")
    header, data = _read_file(filepath)
    return _restore(header, data, where, custom_objects=custom_objects, compile=compile)


def _sniff(filepath) -> str:
    """'zip' (a Keras archive), 'hdf5', or 'other' (ranvier's format is validated later)."""
    filepath = os.fspath(filepath)
    _require_regular(filepath)
    with open(filepath, "rb") as f:
        magic = f.read(8)
    if magic.startswith(_keras_format.ZIP_MAGIC):
        return "zip"
    return "hdf5" if magic == _HDF5_MAGIC else "other"


def model_to_bytes(model, include_optimizer: bool = True) -> bytes:
    """The bytes ``model.save`` would write."""
    tensors, meta = _model_payload(model, include_optimizer)
    return _core.io_serialize_safetensors(_tensor_list(tensors), list(meta.items()))


def model_from_bytes(blob: bytes, custom_objects=None, compile: bool = True):
    """Inverse of :func:`model_to_bytes` (validated like a file)."""
    header, data = _read_bytes(blob)
    return _restore(header, data, "model bytes", custom_objects=custom_objects, compile=compile)


def save_weights(model, filepath, overwrite: bool = True, max_shard_size=None) -> None:
    """``model.save_weights(filepath)``: the weights only, atomically: Keras 3's HDF5 layout
    for a ``.weights.h5`` name (needs h5py; ``keras.Model.load_weights`` reads it), ranvier's
    safetensors format for any other name except ``.h5``/``.hdf5``/``.keras``, which are
    refused (as Keras refuses them)."""
    _checks.check_bool(overwrite, "overwrite", "save_weights")
    if max_shard_size is not None:
        raise ValueError("save_weights: sharding (max_shard_size) is not supported")
    path = _fs_path(filepath, "save_weights")
    name = os.fsdecode(path).lower()
    keras_h5 = name.endswith(".weights.h5")
    if not keras_h5 and (_keras_format.is_h5_name(path) or _keras_format.is_archive_name(path)):
        raise ValueError(f"save_weights: the filename must end in '.weights.h5' for Keras's weights "
                         f"format (or '.safetensors' for ranvier's own); received filepath={_where(path)}")
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"save_weights: {_where(path)} exists and overwrite=False")
    if keras_h5:
        if not model.built:
            _weights_payload(model)  # raises: not built
        buf = io.BytesIO()
        _keras_format.write_weights_h5(model, buf, include_optimizer=True)  # as Keras's save_weights
        _write_atomic(path, [buf.getbuffer()], "save_weights")
        return
    tensors, meta = _weights_payload(model)
    _write_model_file(path, tensors, meta, "save_weights")


def load_weights(model, filepath, skip_mismatch: bool = False, **kwargs) -> None:
    """``model.load_weights(filepath)``: from a ranvier file (``save_weights`` or ``save``)
    or, when h5py is installed, a Keras 3 ``.weights.h5`` file (or a legacy tf.keras HDF5
    weights file). Layers are matched by topology: the k-th layer holding weights in the
    file goes to the k-th such layer of the model (names may differ), and each weight's
    shape must match (ValueError naming the layer; ``skip_mismatch=True`` skips such layers
    with a warning instead)."""
    _checks.check_bool(skip_mismatch, "skip_mismatch", "load_weights")
    if kwargs:
        raise ValueError(f"load_weights: unexpected arguments {sorted(kwargs)}")
    filepath = os.fspath(filepath)
    _require_regular(filepath)
    with open(filepath, "rb") as f:
        magic = f.read(8)
    where = _where(filepath)
    if magic == _HDF5_MAGIC:
        from . import _keras_h5
        groups = _keras_h5.read_weights(filepath, model)
        _assign_groups(model, groups, where, skip_mismatch)
        return
    if magic.startswith(_keras_format.ZIP_MAGIC):  # a .keras archive: its weights
        from . import _keras_h5
        h5py = _keras_format.h5py_module("loading the weights of a Keras .keras file")
        _, weights, _ = _keras_format.read_archive(filepath, where)
        with h5py.File(io.BytesIO(weights), "r") as f:
            groups = _keras_h5.read_open(f, model, where)
        _assign_groups(model, groups, where, skip_mismatch)
        return
    header, data = _read_file(filepath)
    listing = _meta_json(header["metadata"], "weights", where, required=True)
    if not isinstance(listing, list):
        raise ValueError(f"{where}: metadata 'weights' must be a list")
    tensors = _tensors(header, data)
    groups = []
    for entry in listing:
        if not isinstance(entry, dict) or not isinstance(entry.get("weights"), list):
            raise ValueError(f"{where}: metadata 'weights' is malformed")
        names = entry["weights"]
        if not names:
            continue
        values = []
        for wn in names:
            key = f"layers/{entry.get('name')}/{wn}"
            if key not in tensors:
                raise ValueError(f"{where}: weight '{key}' is listed but missing")
            values.append(tensors[key])
        groups.append((str(entry.get("name")), str(entry.get("class_name")), values))
    _assign_groups(model, groups, where, skip_mismatch)


def _ensure_built_for(model, groups) -> None:
    if model.built:
        return
    raise ValueError("load_weights: the model is not built yet; build it first (an Input as first "
                     "element, model.build(input_shape), or one call on data) so its weights exist")


def _assign_groups(model, groups, where: str, skip_mismatch: bool) -> None:
    """groups: [(name, class_name, [arrays])] for the layers holding weights, in order."""
    _ensure_built_for(model, groups)
    targets = [l for l in model.layers if l.weights]
    if len(groups) != len(targets):
        raise ValueError(
            f"load_weights: {where} holds weights for {len(groups)} layers "
            f"({', '.join(g[0] for g in groups) or 'none'}) but the model has {len(targets)} layers with "
            f"weights ({', '.join(l.name for l in targets) or 'none'})")
    for layer, (name, cls_name, values) in zip(targets, groups):
        expected = [tuple(v.shape) for v in layer.weights]
        got = [tuple(np.shape(a)) for a in values]
        if expected != got:
            msg = (f"load_weights: layer '{layer.name}' ({type(layer).__name__}) expects weights of shapes "
                   f"{expected}, but the file's layer '{name}' ({cls_name}) holds shapes {got}")
            if skip_mismatch:
                warnings.warn(msg + "; skipped (skip_mismatch=True)", stacklevel=3)
                continue
            raise ValueError(msg)
        layer.set_weights([np.asarray(a, dtype=np.float32) for a in values])


# ---------------------------------------------------------------- pickling and copies
def getstate(model) -> Dict[str, Any]:
    """``Sequential.__getstate__``: the model as the bytes of its file."""
    return {"ranvier_model_bytes": model_to_bytes(model)}


def setstate(model, state: Dict[str, Any]) -> None:
    """``Sequential.__setstate__``: rebuilds from :func:`getstate`'s bytes into ``model``."""
    blob = state.get("ranvier_model_bytes") if isinstance(state, dict) else None
    if blob is None:
        raise ValueError("cannot unpickle: the state holds no ranvier model bytes")
    fresh = model_from_bytes(blob)
    model.__dict__.update(fresh.__dict__)
    model._claim_layers()  # the layers belong to `model` now, not to `fresh`


def deepcopy(model, memo=None):
    """A deep copy through the file format: weights, compile config and optimizer state."""
    return model_from_bytes(model_to_bytes(model))


# ---------------------------------------------------------------- export
def export(model, filepath, format: str = "onnx", verbose: bool = True, **kwargs) -> None:
    """``model.export(filepath, format="onnx")``: an ONNX graph of the model in inference
    mode (needs the optional ``onnx`` package: ``pip install onnx``)."""
    if format != "onnx":
        raise ValueError(f"export: unsupported format {format!r}; ranvier exports format='onnx' "
                         f"(use model.save() for ranvier's own file)")
    from .export import onnx as onnx_export
    onnx_export.export_onnx(model, filepath, verbose=verbose, **kwargs)
