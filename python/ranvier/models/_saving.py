"""Saving, loading and pickling of a model (``SavingMixin``), and the saving code's one
view of a model's internals: ``_save_state()`` / ``_restore_state()``. The file formats
live in ``ranvier._model_io`` (and the Keras modules it dispatches to), which never import
the models: loading takes ``MODEL_CLASSES``, the model classes by config class name."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional

from .. import _model_io, mixed_precision

MODEL_CLASSES: Dict[str, Any] = {}  # config class name -> model class (each class adds itself)


def model_classes() -> Dict[str, Any]:
    """``MODEL_CLASSES`` with every model class registered: the functional ``Model`` lives in
    ``ranvier._functional``, loaded by name (it imports the models, not the other way round)
    so that a file holding a functional model loads in a process that never touched
    ``ranvier.Model``."""
    if "Functional" not in MODEL_CLASSES:
        import importlib
        importlib.import_module("ranvier._functional")
    return MODEL_CLASSES


class SavingMixin:
    """save / save_weights / load_weights / export / pickling, and the saving protocol."""

    _config_class_name = "Model"  # the architecture's "class_name" in a model file
    _keras_functional = False  # True for the functional models (ranvier.Model and its graphs)

    if TYPE_CHECKING:
        _net: Any
        _layers: List[Any]
        _input_shape: Optional[tuple]
        optimizer: Any
        compiled: bool
        _compile_config: Optional[dict]
        dtype_policy: Any

        def get_config(self) -> Dict[str, Any]: ...
        def _build_optimizer(self) -> None: ...
        def _claim_layers(self) -> None: ...
        def build(self, input_shape: Any) -> None: ...
        def _param_segments(self) -> List[Any]: ...

    def compute_output_shape(self, input_shape) -> Any:
        """The output shape for ``input_shape`` (batch size carried over); ValueError when a
        built Sequential's input has another shape."""
        shape = tuple(input_shape)
        if type(self).__name__ not in ("Model", "Functional") and self._config_class_name == "Sequential":
            if self._input_shape is not None and tuple(shape[1:]) != tuple(self._input_shape[1:]):
                raise ValueError(f"compute_output_shape: the model expects inputs of shape "
                                 f"{(None,) + tuple(self._input_shape[1:])}, got input_shape={shape}")
            for layer in self._layers:
                shape = tuple(layer.compute_output_shape(shape))
            return shape
        out: Any = getattr(self, "output_shape")
        batch = shape[0] if shape and not isinstance(shape[0], (tuple, list)) else None
        if isinstance(out, list):
            return [(batch,) + tuple(o[1:]) for o in out]
        return (batch,) + tuple(out[1:])

    def save(self, filepath, overwrite=True, include_optimizer=True, **kwargs):
        """Writes the whole model to one file, atomically: ranvier's safetensors format, or
        Keras's archive for a ``.keras`` name (see ranvier.saving)."""
        _model_io.save_model(self, filepath, overwrite=overwrite, include_optimizer=include_optimizer, **kwargs)

    def get_compile_config(self) -> Dict[str, Any]:
        """Keras's ``get_compile_config()``: what ``compile`` was given, serialized
        (optimizer, loss, loss_weights, metrics, weighted_metrics, run_eagerly,
        steps_per_execution, jit_compile), as in a ``.keras`` file; ``{}`` before compile."""
        from .. import _keras_format
        return _keras_format.compile_config(self)

    def compile_from_config(self, config) -> None:
        """Keras's ``compile_from_config(config)``: compiles the model with a
        ``get_compile_config()`` dict (this model's, another's, or Keras's)."""
        from .. import _keras_format
        _keras_format.compile_from_config(self, config)

    def get_build_config(self) -> Optional[Dict[str, Any]]:
        """Keras's ``get_build_config()``: ``{"input_shape": ...}`` of a built Sequential
        (batch dimension None), None before it is built; a functional model's is
        ``{"input_shape": None}`` (its inputs define it), as in Keras."""
        if self._keras_functional:
            return {"input_shape": None}
        if self._input_shape is None or not self._layers:
            return None
        return {"input_shape": (None,) + tuple(self._input_shape[1:])}

    def build_from_config(self, config) -> None:
        """Keras's ``build_from_config(config)``: builds the model for
        ``config["input_shape"]`` (``get_build_config()``'s dict); nothing to do when the
        shape is None, the model is built already, or ``config`` is empty or None (as in
        Keras)."""
        if not config:
            return
        if not isinstance(config, dict):
            raise TypeError(f"build_from_config: config must be a dict ({{'input_shape': ...}}), "
                            f"got {type(config).__name__}")
        shape = config.get("input_shape")
        if shape is not None and not getattr(self, "built", False):
            self.build(shape)

    def save_weights(self, filepath, overwrite=True, max_shard_size=None):
        """Writes the weights only (ranvier's safetensors format, atomically); see
        ``ranvier.saving.save_weights``."""
        _model_io.save_weights(self, filepath, overwrite=overwrite, max_shard_size=max_shard_size)

    def load_weights(self, filepath, skip_mismatch=False, **kwargs):
        """Loads weights from a ranvier file or a Keras ``.weights.h5`` file (needs h5py),
        matching layers by position; see ``ranvier.saving.load_weights``."""
        _model_io.load_weights(self, filepath, skip_mismatch=skip_mismatch, **kwargs)

    def export(self, filepath, format="onnx", verbose=True, **kwargs):
        """Writes an ONNX graph of the model in inference mode (``format="onnx"`` only; needs
        the ``onnx`` package); see ``ranvier.saving.export``."""
        _model_io.export(self, filepath, format=format, verbose=verbose, **kwargs)

    def __getstate__(self):
        return {"ranvier_model_bytes": _model_io.model_to_bytes(self), "dtype_policy": self.dtype_policy.name}

    def __setstate__(self, state):
        blob = state.get("ranvier_model_bytes") if isinstance(state, dict) else None
        if blob is None:
            raise ValueError("cannot unpickle: the state holds no ranvier model bytes")
        fresh = _model_io.model_from_bytes(blob, model_classes())
        if isinstance(state.get("dtype_policy"), str):  # the model's policy (the global one when it was made)
            fresh.__dict__["_model_policy"] = mixed_precision.DTypePolicy(state["dtype_policy"])
        self.__dict__.update(fresh.__dict__)
        self._claim_layers()  # the layers belong to this model now, not to `fresh`

    def _save_state(self, include_optimizer: bool = True) -> Dict[str, Any]:
        """What a model file holds besides the config and the weights (the saving code's
        one view of the model's internals):

        - ``class_name`` and ``config``: the architecture a model file holds (the class name
          and ``get_config()``), ``input_shape`` (batch dimension None; None before build);
        - ``layers``: the layers whose weights the model holds, in network order (the file's
          weights, its weight listing and Keras's layer keys follow it);
        - ``train_steps``: the step counter that keys Dropout masks (0 before build);
        - ``layer_seeds``: the seeds of the layers created without one (Dropout), so that
          training resumes with the same masks;
        - ``compile_config``: the arguments of ``compile`` (None before compile);
        - ``optimizer_state``: ``optimizer.get_state()`` when ``include_optimizer`` and the
          optimizer was built for this very network (not for layers since replaced);
        - ``param_count`` and ``trainable_segments``: the size of the flat parameter
          buffer and ``(offset, size, shape)`` of every trainable weight in it, in network
          order (Keras's ``trainable_variables`` order);
        - ``param_order``: ``[layer, weight]`` of those weights in the same order (the
          layout of the optimizer's slots; a loader that lays the weights out otherwise
          moves each one's slots, see ``_restore_state``)."""
        net = self._net
        seeds = {l.name: int(l._core_seed) for l in self._layers
                 if getattr(l, "_core_seed", None) is not None and getattr(l, "seed", 0) is None}
        opt_state = None
        opt = self.optimizer
        if (include_optimizer and self.compiled and opt is not None and opt.built and net is not None
                and getattr(opt, "_ranvier_net", None) is net):
            opt_state = opt.get_state()
        segments = [] if net is None else [(int(t["offset"]), int(t["size"]), tuple(t["shape"]))
                                           for t in net.tensors() if t["trainable"]]
        return {"class_name": self._config_class_name,
                "config": self.get_config(),
                "input_shape": None if self._input_shape is None else (None,) + tuple(self._input_shape[1:]),
                "layers": list(self._layers),
                "train_steps": 0 if net is None else int(net.train_steps),
                "layer_seeds": seeds,
                "compile_config": self._compile_config if self.compiled else None,
                "optimizer_state": opt_state,
                "param_count": 0 if net is None else int(net.params().size),
                "trainable_segments": segments,
                "param_order": [] if net is None else [list(name.rsplit("/", 1)) for _, _, name in
                                                       sorted(self._param_segments(), key=lambda t: t[0])]}

    def _restore_state(self, train_steps: Optional[int] = None,
                       optimizer_state: Optional[Dict[str, Any]] = None) -> None:
        """Puts back what ``_save_state`` gave (after the weights were set): the step
        counter, and the optimizer state, building the optimizer for this network first
        exactly as fit would. ValueError when the state does not fit the model."""
        if train_steps is not None and self._net is not None:
            self._net.train_steps = int(train_steps)
        if optimizer_state is not None:
            if self.optimizer is None:
                raise ValueError("the model is not compiled: it has no optimizer to restore a state into")
            optimizer_state = dict(optimizer_state)
            order = optimizer_state.pop("param_order", None)
            if order is not None and self._net is not None:
                optimizer_state["slots"] = self._remap_slots(optimizer_state.get("slots") or {}, order)
            self._build_optimizer()
            self.optimizer.set_state(optimizer_state)

    def _remap_slots(self, slots: Dict[str, Any], order: Any) -> Dict[str, Any]:
        """Optimizer slots saved in the layout ``order`` (``[layer, weight]`` per trainable
        weight: the saving network's ``param_order``) moved to this network's layout, so a
        graph whose loader added its nodes in another order resumes exactly. ValueError
        naming what does not match."""
        import numpy as np
        if not isinstance(order, list) or not all(
                isinstance(e, (list, tuple)) and len(e) == 2 and all(isinstance(x, str) for x in e) for e in order):
            raise ValueError("the optimizer state's param_order must be a list of [layer, weight]")
        mine = {name: (int(off), int(size)) for off, size, name in self._param_segments()}
        names = [f"{layer}/{weight}" for layer, weight in order]
        if sorted(names) != sorted(mine):
            diff = sorted(set(names) ^ set(mine))
            raise ValueError(f"the optimizer state is for the trained weights {names[:8]}, not this model's "
                             f"(first difference: {diff[:1]})")
        if [mine[n][0] for n in names] == sorted(off for off, _ in mine.values()):
            return slots  # the same layout
        out = {}
        for k, v in slots.items():
            v = np.asarray(v).reshape(-1)
            dst = np.empty_like(v)
            at = 0
            for n in names:
                off, size = mine[n]
                if at + size > v.size or off + size > v.size:
                    raise ValueError(f"optimizer slot '{k}' is too small for the model's weights")
                dst[off:off + size] = v[at:at + size]
                at += size
            out[k] = dst
        return out
