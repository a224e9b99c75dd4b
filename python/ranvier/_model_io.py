"""ranvier's model file (one safetensors file; the layout is documented in
:mod:`ranvier.saving`) and the dispatch of ``save`` / ``save_weights`` / ``load_weights``
by file name to Keras's formats. Models are reached through their public methods and
``_save_state()`` / ``_restore_state()``; loading takes the model classes by config class
name (``classes``), so this module never imports the models."""
from __future__ import annotations

import errno
import io
import json
import os
import stat
import struct
from typing import Any, Dict, List, Mapping, Sequence, Tuple

import numpy as np

from . import _checks, _core, _keras_format, _keras_h5, _random
from . import optimizers as optimizers_module
from . import _saving_common as common

FORMAT = "ranvier"
FORMAT_VERSION = 1
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_MAX_HEADER = 100_000_000  # as the C++ validator (io::kMaxHeaderBytes)


def _tensor_list(tensors: Sequence[Tuple[str, np.ndarray]]) -> List[Tuple[str, np.ndarray]]:
    return [(name, np.asarray(arr, dtype=np.float32, order="C")) for name, arr in tensors]


def _write_model_file(filepath, tensors: Sequence[Tuple[str, np.ndarray]], metadata: Dict[str, str],
                      what: str) -> None:
    """The safetensors file of (tensors, metadata), written by the C++ writer (one writer per
    format: ranvier::io::write_file) from the arrays' own memory, atomically."""
    _core.io_write_safetensors(common.fs_path(filepath, what), _tensor_list(tensors), list(metadata.items()), os.fsync)


def _validate(prefix: bytes, size: int, where: str, ranvier_format: bool = True) -> Dict[str, Any]:
    try:
        return _core.io_parse_header(prefix, size, ranvier_format)
    except ValueError as e:
        raise ValueError(f"{where}: {e}") from None


class MissingFileError(FileNotFoundError, ValueError):
    """A model or weights file that does not exist: a FileNotFoundError, and a ValueError
    as Keras's ``load_model`` / ``load_weights`` raise for it."""


def _require_regular(path: str) -> None:
    """Refuses FIFOs, devices and folders before opening (opening a FIFO blocks until a
    writer appears), and a missing file (``MissingFileError``)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise MissingFileError(errno.ENOENT, "File not found (No such file or directory)", path) from None
    if stat.S_ISDIR(st.st_mode):  # a zipped=False folder has config.json (written last by save)
        raise ValueError(f"'{path}' is not a regular file but a directory with no config.json (a model saved "
                         "with zipped=False is a directory holding one, written last: none there, or the save "
                         "did not finish)")
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
            for l in common.file_layers(model)]


def _weight_tensors(model) -> List[Tuple[str, np.ndarray]]:
    """Every weight under its file name, as views of the model's own buffers (``Variable.value``):
    the C++ writer reads them in place, nothing is copied."""
    return [(f"layers/{l.name}/{v.name}", v.value) for l in common.file_layers(model) for v in l.weights]


def _base_metadata(contents: str) -> Dict[str, str]:
    from . import __version__
    return {"format": FORMAT, "format_version": str(FORMAT_VERSION), "ranvier_version": __version__,
            "contents": contents}


def _seed_nested(config: Dict[str, Any], seeds: Dict[str, Any]) -> List[str]:
    """``seed_layer_configs`` through a Sequential config and the Sequential configs of the
    models added to it as layers."""
    seeded = common.seed_layer_configs(config, seeds)
    for entry in config.get("layers") or []:
        if isinstance(entry, dict) and entry.get("class_name") == "Sequential" and isinstance(entry.get("config"), dict):
            seeded += _seed_nested(entry["config"], seeds)
    return seeded


def _model_payload(model, include_optimizer: bool = True):
    """(tensors, metadata) of a whole model."""
    meta = _base_metadata("model")
    state = model._save_state(include_optimizer)
    arch = {"module": "keras", "class_name": state["class_name"], "config": state["config"]}
    if model.built:
        arch["build_config"] = {"input_shape": list(state["input_shape"])}
    meta["architecture"] = common.to_json(arch, "the model's architecture (get_config)")
    if state.get("functional_config") is not None:  # a functional Model: read by Python's loader only
        meta["functional_config"] = common.to_json(state["functional_config"], "the functional model's config")
    if state.get("sequential_config") is not None:  # a Sequential holding models: read by Python's loader only
        meta["sequential_config"] = common.to_json(state["sequential_config"], "the model's config")
    tensors = []
    if model.built:
        meta["weights"] = common.to_json(_weight_listing(model), "the weight listing")
        tensors = _weight_tensors(model)
        meta["train_steps"] = str(state["train_steps"])
    if state["layer_seeds"]:
        meta["layer_seeds"] = common.to_json(state["layer_seeds"], "the Dropout seeds")
    cc = state["compile_config"]
    if cc is not None:
        meta["compile_config"] = common.to_json(cc, "the compile configuration (loss and metrics must "
                                                    "be built-in names or serializable objects)")
        opt = model.optimizer
        if opt is not None:
            meta["optimizer"] = common.to_json(optimizers_module.serialize(opt), "the optimizer's config")
            opt_state = state["optimizer_state"]  # only one built for this very network
            if opt_state is not None:
                slots = opt_state.get("slots", {})
                meta["optimizer_state"] = common.to_json(
                    {"iterations": int(opt_state.get("iterations", 0)),
                     "learning_rate": opt_state.get("learning_rate"),
                     "scalars": {k: float(v) for k, v in opt_state.get("scalars", {}).items()},
                     "slots": list(slots), "param_order": state.get("param_order")}, "the optimizer state")
                for k, v in slots.items():
                    tensors.append((f"optimizer/{k}", np.asarray(v, dtype=np.float32).reshape(-1)))
    return tensors, meta


def _weights_payload(model):
    if not model.built:
        raise ValueError("save_weights: the model is not built yet, it has no weights; "
                         "build it (fit, predict, build() or an Input first)")
    meta = _base_metadata("weights")
    meta["weights"] = common.to_json(_weight_listing(model), "the weight listing")
    return _weight_tensors(model), meta


def _restore(header: Dict[str, Any], data, where: str, classes: Mapping[str, Any], custom_objects=None,
             compile=True):
    """The model of a validated file (``classes``: the model classes by config class name).
    Whatever a hostile file makes go wrong while the model is rebuilt comes out as
    ValueError naming the file."""
    try:
        return _restore_unchecked(header, data, where, classes, custom_objects, compile)
    except ValueError:
        raise
    except (TypeError, KeyError, AttributeError, IndexError, RecursionError, OverflowError) as e:
        raise ValueError(f"{where}: the saved model cannot be rebuilt: {type(e).__name__}: {e}") from None


def _restore_unchecked(header: Dict[str, Any], data, where: str, classes: Mapping[str, Any],
                       custom_objects=None, compile=True):
    meta = header["metadata"]
    if meta.get("contents") == "weights":
        raise ValueError(f"{where} holds weights only (written by save_weights): build the model "
                         f"and call model.load_weights() instead")
    arch = _meta_json(meta, "architecture", where, required=True)
    if not isinstance(arch, dict) or not isinstance(arch.get("config"), dict):
        raise ValueError(f"{where}: metadata 'architecture' must be a Sequential config object")
    model_cls = classes.get(arch.get("class_name", "Sequential"))
    if model_cls is None:
        raise ValueError(f"{where}: cannot load a {arch.get('class_name')!r} model; ranvier builds "
                         f"{', '.join(sorted(classes))} models")
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
    seeded = common.seed_layer_configs(config, seeds)
    nested = _meta_json(meta, "sequential_config", where)
    if isinstance(nested, dict) and arch.get("class_name") == "Sequential":
        # the models added as layers, as entries of `layers` again: the same layers (names,
        # seeds, weights) as the flat chain the C and C++ loaders read
        config = json.loads(json.dumps(nested))
        seeded = _seed_nested(config, seeds)
    try:
        with _random.preserved_stream():
            model = model_cls.from_config(config, custom_objects=custom_objects)
            common.unseed_layers(model, seeded)
            build = arch.get("build_config") or {}
            if not model.built and build.get("input_shape"):
                model.build(tuple(build["input_shape"]))
            functional = _meta_json(meta, "functional_config", where)
            if functional is not None and "Functional" in classes:  # the same layers, as a functional Model
                model = classes["Functional"].from_sequential(model, functional)
    except ValueError as e:
        raise ValueError(f"{where}: the saved architecture cannot be rebuilt: {e}") from None
    except (TypeError, KeyError, AttributeError, IndexError) as e:
        raise ValueError(f"{where}: the saved architecture cannot be rebuilt: {type(e).__name__}: {e}") from None
    tensors = _tensors(header, data)
    if model.built:
        _assign_by_name(model, tensors, where)
        if "train_steps" in meta:
            try:
                steps = int(meta["train_steps"])
            except ValueError:
                raise ValueError(f"{where}: metadata 'train_steps' is not an integer") from None
            model._restore_state(train_steps=steps)
    cc = _meta_json(meta, "compile_config", where)
    if compile and cc is not None:
        if not isinstance(cc, dict):
            raise ValueError(f"{where}: metadata 'compile_config' must be an object")
        opt_cfg = _meta_json(meta, "optimizer", where) or cc.get("optimizer")
        try:
            common.compile_saved(model, cc, opt_cfg, custom_objects)
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
            st = {"iterations": int(state.get("iterations", 0)), "slots": slots,
                  "param_order": state.get("param_order"),
                  "scalars": dict(state.get("scalars") or {})}
            if state.get("learning_rate") is not None:
                st["learning_rate"] = float(state["learning_rate"])
            try:
                model._restore_state(optimizer_state=st)
            except ValueError as e:
                raise ValueError(f"{where}: the optimizer state does not fit this model: {e}") from None
    return model


def _assign_by_name(model, tensors: Dict[str, np.ndarray], where: str) -> None:
    """Weights of a model file: every layer weight must be present with its shape."""
    for l in common.file_layers(model):
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
    zipped = _checks.check_bool(kwargs.pop("zipped", True), "zipped", "save")
    if kwargs.pop("save_format", None) not in (None, "keras", "ranvier", "safetensors"):
        raise ValueError("save: ranvier writes its own safetensors format only")
    if kwargs:
        raise ValueError(f"save: unexpected arguments {sorted(kwargs)}")
    path = common.fs_path(filepath, "save")
    if _keras_format.is_h5_name(path):
        raise ValueError(f"save: {common.where(path)}: ranvier does not write Keras's legacy HDF5 model "
                         f"format (.h5); use a '.keras' name for Keras's format, or "
                         f"'.safetensors' for ranvier's own (which the C/C++ API loads)")
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"save: {common.where(path)} exists and overwrite=False")
    if not zipped:  # Keras's unzipped archive: a folder of config.json, metadata.json, model.weights.h5
        if _keras_format.is_archive_name(path):
            raise ValueError(f"When using `zipped=False`, the `filepath` argument should not end in `.keras`. "
                             f"Received: filepath={os.fsdecode(path)}")
        with common.between_steps(model):
            blob = _keras_format.archive_bytes(model, include_optimizer)
        _keras_format.write_folder(path, blob, "save")
        return
    if _keras_format.is_archive_name(path):
        with common.between_steps(model):
            blob = _keras_format.archive_bytes(model, include_optimizer)
        common.write_atomic(path, [blob], "save")
        return
    with common.between_steps(model):  # (the writer reads the weights' own memory)
        tensors, meta = _model_payload(model, include_optimizer)
        # every file ranvier writes loads back: the loaders' own checks, before anything is written
        common.check_loadable(meta, sum(int(np.size(a)) for _, a in tensors), "save")
        _write_model_file(path, tensors, meta, "save")


def load_model(filepath, classes: Mapping[str, Any], custom_objects=None, compile: bool = True,
               safe_mode: bool = True):
    """Loads a model written by ``model.save`` (or by the C++ API): it predicts bit for bit
    as the saved one and, with ``compile=True``, resumes training exactly where it stopped
    (optimizer slots, iterations and learning rate restored). ``classes``: the model classes
    by the architecture's class name (``ranvier.models.MODEL_CLASSES``). Raises ValueError for
    a file that is not a valid ranvier model (naming what is wrong), OSError if it cannot be
    read."""
    _checks.check_bool(compile, "compile", "load_model")
    _checks.check_bool(safe_mode, "safe_mode", "load_model")
    where = common.where(filepath)
    if _keras_format.is_archive_folder(filepath):  # saved with zipped=False
        return _keras_format.load_archive(_keras_format.folder_bytes(filepath, where), where, classes,
                                          custom_objects=custom_objects, compile=compile)
    kind = _sniff(filepath)
    if kind == "zip":
        return _keras_format.load_archive(filepath, where, classes, custom_objects=custom_objects,
                                          compile=compile)
    if kind == "hdf5":
        raise ValueError(f"load_model: {where} is an HDF5 file: Keras weights only (.weights.h5) or a "
                         f"legacy Keras .h5 model, which ranvier does not load as a model; build the "
                         f"model and call model.load_weights() on it, or save it from Keras as '.keras'")
    header, data = _read_file(filepath)
    return _restore(header, data, where, classes, custom_objects=custom_objects, compile=compile)


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
    with common.between_steps(model):
        tensors, meta = _model_payload(model, include_optimizer)
        common.check_loadable(meta, sum(int(np.size(a)) for _, a in tensors), "model_to_bytes")
        return _core.io_serialize_safetensors(_tensor_list(tensors), list(meta.items()))


def model_from_bytes(blob: bytes, classes: Mapping[str, Any], custom_objects=None, compile: bool = True):
    """Inverse of :func:`model_to_bytes` (validated like a file)."""
    header, data = _read_bytes(blob)
    return _restore(header, data, "model bytes", classes, custom_objects=custom_objects, compile=compile)


def save_weights(model, filepath, overwrite: bool = True, max_shard_size=None) -> None:
    """``model.save_weights(filepath)``: the weights only, atomically: Keras 3's HDF5 layout
    for a ``.weights.h5`` name (needs h5py; ``keras.Model.load_weights`` reads it), ranvier's
    safetensors format for any other name except ``.h5``/``.hdf5``/``.keras``, which are
    refused (as Keras refuses them)."""
    _checks.check_bool(overwrite, "overwrite", "save_weights")
    if max_shard_size is not None:
        raise ValueError("save_weights: sharding (max_shard_size) is not supported")
    path = common.fs_path(filepath, "save_weights")
    name = os.fsdecode(path).lower()
    keras_h5 = name.endswith(".weights.h5")
    if not keras_h5 and (_keras_format.is_h5_name(path) or _keras_format.is_archive_name(path)):
        raise ValueError(f"save_weights: the filename must end in '.weights.h5' for Keras's weights "
                         f"format (or '.safetensors' for ranvier's own); received filepath={common.where(path)}")
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"save_weights: {common.where(path)} exists and overwrite=False")
    if keras_h5:
        if not model.built:
            _weights_payload(model)  # raises: not built
        buf = io.BytesIO()
        with common.between_steps(model):
            _keras_format.write_weights_h5(model, buf, include_optimizer=True)  # as Keras's save_weights
        common.write_atomic(path, [buf.getbuffer()], "save_weights")
        return
    with common.between_steps(model):  # (the writer reads the weights' own memory)
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
    where = common.where(filepath)
    if magic == _HDF5_MAGIC:
        groups = _keras_h5.read_weights(filepath, model)
        common.assign_groups(model, groups, where, skip_mismatch)
        opt = getattr(model, "optimizer", None)
        if getattr(model, "compiled", False) and opt is not None and opt.built:
            # Keras: a built optimizer takes the file's optimizer variables too
            h5py = _keras_format.h5py_module("loading a Keras weights file")
            with h5py.File(filepath, "r") as f:
                _keras_format.restore_optimizer_vars(h5py, f, model, where)
        return
    if magic.startswith(_keras_format.ZIP_MAGIC):  # a .keras archive: its weights
        h5py = _keras_format.h5py_module("loading the weights of a Keras .keras file")
        _, weights, _ = _keras_format.read_archive(filepath, where)
        with h5py.File(io.BytesIO(weights), "r") as f:
            groups = _keras_h5.read_open(f, model, where)
        common.assign_groups(model, groups, where, skip_mismatch)
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
    common.assign_groups(model, groups, where, skip_mismatch)


# ---------------------------------------------------------------- export
def export(model, filepath, format: str = "onnx", verbose: bool = True, **kwargs) -> None:
    """``model.export(filepath, format="onnx")``: an ONNX graph of the model in inference
    mode (needs the optional ``onnx`` package: ``pip install onnx``)."""
    if format != "onnx":
        raise ValueError(f"export: unsupported format {format!r}; ranvier exports format='onnx' "
                         f"(use model.save() for ranvier's own file)")
    from .export import onnx as onnx_export
    onnx_export.export_onnx(model, filepath, verbose=verbose, **kwargs)
