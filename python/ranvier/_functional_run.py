"""Running a graph functional model (``ranvier._functional_graph.Functional``): x and y
matched to the inputs and outputs (Keras's rules, keras-spec section "Matching x"), the
loss, loss weight and metrics of each output, the log keys (``loss``, ``<output>_loss``,
``<output>_<metric>``), and predict returning the outputs' structure.

Data travel as ``Rows``: a list holding one float32 array per input (or output), all with
the same number of samples, that slices all of them at once (``rows[a:b]``) and has
``shape[0]``; so ``Sequential``'s fit / evaluate loops (validation split, batch-wise
evaluation) run unchanged, and the C++ trainer receives one array per input/output.
"""
from __future__ import annotations

import math
import numbers
import warnings
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import _checks, _core, _data, _surface, _tensor
from . import callbacks as callbacks_module
from . import losses as losses_module
from . import metrics as metrics_module
from . import mixed_precision
from . import optimizers as optimizers_module
from . import models as models_module
from .models._guards import registers
from .models._trainable import live_trainable

_SPARSE = {"sparse_categorical_crossentropy"}


class Rows(list):
    """One array (or None) per input/output, sliced together; ``shape[0]`` is the number
    of samples."""

    def __init__(self, arrays: Sequence[Optional[np.ndarray]], n: int):
        super().__init__(arrays)
        self.n = int(n)

    @property
    def shape(self) -> Tuple[int]:
        """``(samples,)``."""
        return (self.n,)

    def __getitem__(self, i):
        if isinstance(i, slice):
            start, stop, step = i.indices(self.n)
            n = len(range(start, stop, step))
            return Rows([None if a is None else a[i] for a in self], n)
        return list.__getitem__(self, i)


def _is_data(v) -> bool:
    return hasattr(v, "shape") and hasattr(v, "dtype")


def _sample_rank_adapt(arr: np.ndarray, shape: tuple) -> np.ndarray:
    """Keras's ``_adjust_input_rank``: rank + 1 with a last dim of 1 is squeezed; rank - 1
    is expanded when the Input's last dim is 1."""
    want = len(shape) + 1
    if arr.ndim == want + 1 and arr.shape[-1] == 1:
        return arr.reshape(arr.shape[:-1])
    if arr.ndim == want - 1 and shape and shape[-1] == 1:
        return arr.reshape(arr.shape + (1,))
    return arr


class FunctionalRunMixin:
    """fit / evaluate / predict of a graph functional model (see the module doc)."""

    # ---- matching a structure to the inputs/outputs
    def _match(self, value, which: str, argname: str, what: str, strict_keys: bool,
               optional: Sequence[int] = ()) -> List[Any]:
        """``value`` as one entry per input (``which="input"``) or output: a dict by name (or
        the model's own dict key), a list/tuple by position, or one array for one slot."""
        m: Any = self
        if which == "input":
            names = m.input_names
            keys = m._inputs_struct[1][1] or []
        else:
            names = m._out_names
            keys = m.output_names
        n = len(names)
        if isinstance(value, dict):
            out: List[Any] = []
            aliases = [[names[i]] + ([keys[i]] if i < len(keys) and keys[i] != names[i] else []) for i in range(n)]
            for i in range(n):
                hit = next((k for k in aliases[i] if k in value), None)
                if hit is None and i in optional:
                    out.append(None)
                    continue
                if hit is None:
                    raise ValueError(f'{what}: Missing data for {which} "{names[i]}" of model \'{m.name}\'. Expected '
                                     f"the following keys: {names}. Received: {argname}.keys()={list(value)}")
                out.append(value[hit])
            known = {k for a in aliases for k in a}
            extra = [k for k in value if k not in known]
            if extra:
                msg = (f"{what}: {argname} has key(s) {extra} that match no {which} of model '{m.name}' "
                       f"(its {which}s: {names})")
                if strict_keys:
                    raise ValueError(msg)
                warnings.warn(msg + "; they are ignored", stacklevel=4)
            return out
        if isinstance(value, (list, tuple)) and not _is_data(value):
            if n == 1:
                if len(value) == 1 and (_is_data(value[0]) or isinstance(value[0], (list, tuple))):
                    return [value[0]]
                return [value]
            if len(value) != n:
                raise ValueError(f"{what}: model '{m.name}' has {n} {which}s ({names}), but {argname} is a "
                                 f"{type(value).__name__} of {len(value)}; give one array per {which}, or a dict "
                                 f"keyed by their names")
            return list(value)
        if n != 1:
            raise ValueError(f"{what}: model '{m.name}' has {n} {which}s ({names}), but {argname} is a single "
                             f"{type(value).__name__}; give a list of {n} arrays, or a dict keyed by their names")
        return [value]

    def _input_rows(self, x, name: str, what: str) -> Any:
        """x as ``Rows``: one float32 (n, width) array per input, checked per input (shape,
        dtype, finite values, equal sample counts), raw inputs of lookup layers encoded."""
        if isinstance(x, Rows):
            return x
        m: Any = self
        if x is None:
            raise ValueError(f"{what}: {name} is required, got None")
        parts = self._match(x, "input", name, what, strict_keys=False)
        arrays = []
        count = None
        for i, (il, v) in enumerate(zip(m._input_layers, parts)):
            label = f"{name}['{il.name}']" if len(parts) > 1 or isinstance(x, dict) else name
            arr = self._one_input(i, il, v, label, what)
            if count is None:
                count = (il.name, arr.shape[0])
            elif arr.shape[0] != count[1]:
                raise ValueError(f"{what}: the inputs have different numbers of samples: '{count[0]}' has "
                                 f"{count[1]}, '{il.name}' has {arr.shape[0]}")
            arrays.append(arr)
        assert count is not None
        return Rows(arrays, count[1])

    def _one_input(self, i: int, il, v, label: str, what: str) -> np.ndarray:
        shape = tuple(il.batch_shape[1:])
        dtype = str(getattr(il, "dtype", "float32") or "float32")
        encoder = self._raw_encoder(i)
        if v is None:
            raise ValueError(f"{what}: input '{il.name}' is not optional, but None was passed ({label})")
        if encoder is not None:
            try:
                arr = np.asarray(v)
            except ValueError as e:  # ragged nested lists of keys
                raise ValueError(f"{what}: {label} could not be converted to an array: {e}") from None
            arr = _sample_rank_adapt(arr, shape)
            arr = np.asarray(encoder(arr, label, what), dtype=np.float32)
        else:
            if isinstance(v, (str, bytes)):
                raise _checks.NotNumericDataError(f"{what}: input '{il.name}' takes numbers, got {type(v).__name__} "
                                                  f"for {label}")
            raw = _checks.as_numeric_array(v, label, what)
            if raw.dtype == object or raw.dtype.kind not in "fiub":
                raise _checks.NotNumericDataError(f"{what}: input '{il.name}' (dtype {dtype}) takes real numbers, got "
                                f"{label} of dtype={raw.dtype}")
            raw = _sample_rank_adapt(raw, shape)
            _checks.check_int_input_values(raw, dtype, il.name, label, what)
            arr = _checks.as_float_rows(raw, label, what) if raw.ndim else raw
        if arr.ndim == 0:
            raise ValueError(f"{what}: input '{il.name}' needs an array of samples, got a scalar for {label}")
        if arr.ndim != len(shape) + 1 or any(d is not None and int(a) != int(d) for a, d in zip(arr.shape[1:], shape)):
            raise ValueError(f"{what}: input '{il.name}' expects data of shape "
                             f"({', '.join(['None'] + [str(d) for d in shape])}), got {label}.shape={arr.shape}")
        if arr.shape[0] == 0:
            raise ValueError(f"{what}: {label} has no samples")
        arr = np.ascontiguousarray(arr.reshape(arr.shape[0], -1), dtype=np.float32)
        _checks.check_finite(arr, label, what)
        return arr

    def _raw_encoder(self, i: int):
        """The encoder of input ``i`` when its consumers are lookup layers (one layer may
        encode a raw input; Python runs it on the whole column before the graph)."""
        m: Any = self
        users = {id(g.layer): g.layer for g in m._gnodes if i in g.inputs}
        enc = [l for l in users.values() if hasattr(l, "_encode_raw_input")]
        if not enc:
            return None
        if len(users) != 1:
            names = ", ".join(f"'{l.name}'" for l in users.values())
            raise ValueError(f"input '{m._input_layers[i].name}' feeds a lookup layer and other layers ({names}); "
                             f"a raw input can feed one lookup layer only: give each its own Input")
        return enc[0]._encode_raw_input

    def _ensure_built(self, x) -> None:
        return None

    # ---- batches of a generator / dataset (ranvier._data): x, y in the model's structures
    def _unwrap_xy(self, x, y, what: str):
        """One batch's x and y as ``Rows`` (what ``_data``'s batch loops pass on unchanged)."""
        from ._data._adapters import to_numpy
        conv = (lambda v: {k: to_numpy(a, "x", what) for k, a in v.items()} if isinstance(v, dict) else
                [to_numpy(a, "x", what) for a in v] if isinstance(v, (list, tuple)) else to_numpy(v, "x", what))
        x = self._input_rows(conv(x), "x", what)
        if y is not None and getattr(self, "_out_kinds", None) is not None:
            y = self._prepare_y(conv(y), x.shape[0], what)
        elif y is not None:
            self._resolve_outputs()
            y = self._prepare_y(conv(y), x.shape[0], what)
        return x, y

    def _resolve_loss(self, y_shape) -> None:
        self._resolve_outputs()

    def _resolve_metrics(self, y_shape) -> None:
        last = getattr(self, "_last_y", None)
        if last is not None:
            self._resolve_metrics_for(last)

    def _check_input(self, x, name: str, what: str):
        return x

    def _predict_fast(self, x, batch_size: int):
        return None

    # ---- compile: a loss, loss weight and metrics per output
    def _compile(self, optimizer, loss, loss_weights, metrics, weighted_metrics) -> None:
        m: Any = self
        names = m._out_names
        n = len(names)
        if loss is None:
            raise ValueError("compile: loss is required (ranvier has no add_loss)")
        per = self._per_output(loss, "loss", exact=True)
        if all(lo is None for lo in per):
            raise ValueError("compile: loss is required for at least one output (ranvier has no add_loss)")
        for j, lo in enumerate(per):
            if lo is None:  # Keras: no loss (and no gradient) for this output
                continue
            if isinstance(lo, str) and lo.lower() not in ("crossentropy", "ce"):
                losses_module.get(lo)
            _surface.check_core_loss(lo)
        weights = self._loss_weights(loss_weights, n)
        mets = self._per_output_metrics(metrics, "metrics")
        wmets = self._per_output_metrics(weighted_metrics, "weighted_metrics")
        seq: Any = models_module.Sequential
        for j, lo in enumerate(per):
            if lo is None and (mets[j] or wmets[j]):
                raise _checks.UnsupportedCompileError(
                    f"compile: output '{names[j]}' has metrics but no loss; ranvier reads an output's targets "
                    f"only for its loss: give it a loss (loss_weights=0 keeps it out of training) to compute "
                    f"its metrics")
        seq._compile(self, optimizer, next(lo for lo in per if lo is not None), None, mets[0], wmets[0])
        m._has_compile_metrics = metrics is not None or weighted_metrics is not None  # Keras's compile_metrics
        self.loss = loss
        self._out_losses = per
        self._out_weights = weights
        self._out_metrics_arg, self._out_weighted_arg = mets, wmets
        m._metrics_arg = metrics if isinstance(metrics, (list, dict)) else list(metrics or [])
        m._weighted_metrics_arg = weighted_metrics if isinstance(weighted_metrics, (list, dict)) else \
            list(weighted_metrics or [])
        cc: Dict[str, Any] = dict(m._compile_config)
        cc["loss"] = _serialize_struct(loss, losses_module.serialize)
        cc["loss_weights"] = loss_weights
        cc["metrics"] = _serialize_struct(metrics, metrics_module.serialize) if metrics is not None else []
        cc["weighted_metrics"] = (_serialize_struct(weighted_metrics, metrics_module.serialize)
                                  if weighted_metrics is not None else [])
        m._compile_config = cc
        self._out_resolved: Optional[List[Tuple[str, Any, Any]]] = None

    def _per_output(self, value, arg: str, exact: bool) -> List[Any]:
        m: Any = self
        names = m._out_names
        n = len(names)
        if isinstance(value, dict) and not ("class_name" in value and "config" in value):
            keys = list(value)
            accepted = set(names) | set(m.output_names)
            if any(k not in accepted for k in keys) or (exact and len(keys) != n):
                raise ValueError(f"compile: Expected keys {names} in {arg} dict, but found {arg}.keys()={keys}")
            out: List[Any] = []
            for j, name in enumerate(names):
                alias = m.output_names[j]
                out.append(value.get(name, value.get(alias)))
            return out
        if isinstance(value, (list, tuple)):
            if len(value) != n:
                raise ValueError(f"compile: {arg} is a list of {len(value)}, but model '{m.name}' has {n} outputs "
                                 f"({names}); give one entry per output, or a dict keyed by output name")
            return list(value)
        return [value] * n

    def _loss_weights(self, loss_weights, n: int) -> List[float]:
        if loss_weights is None:
            return [1.0] * n
        if _checks.is_real(loss_weights):
            vals = [loss_weights] * n
        else:
            if isinstance(loss_weights, (list, tuple)) and len(loss_weights) != n:
                raise ValueError(f"compile: `loss_weights` must match the number of losses ({n}), got a list of "
                                 f"{len(loss_weights)}")
            vals = self._per_output(loss_weights, "loss_weights", exact=False)
        out = []
        for j, v in enumerate(vals):
            v = 1.0 if v is None else v
            if not _checks.is_real(v) or not math.isfinite(v):
                raise ValueError(f"compile: loss_weights must be finite numbers, got {v!r} for output "
                                 f"'{self._out_name(j)}'")
            out.append(float(v))
        return out

    def _out_name(self, j: int) -> str:
        m: Any = self
        return m._out_names[j]

    def _per_output_metrics(self, metrics, arg: str) -> List[List[Any]]:
        m: Any = self
        n = len(m._out_names)
        if metrics is None or (isinstance(metrics, (list, tuple, dict)) and not metrics):
            return [[] for _ in range(n)]
        if isinstance(metrics, dict):
            per = self._per_output(metrics, arg, exact=False)
        elif isinstance(metrics, (list, tuple)):
            if n == 1:
                per = [list(metrics)]
            elif len(metrics) == n:
                per = list(metrics)
            else:
                raise ValueError(f"compile: Invalid `{arg}`: a list of {len(metrics)} for a model with {n} outputs "
                                 f"({m._out_names}); give one entry per output (nest to apply several, e.g. "
                                 f"[['mae', 'mse'], ['accuracy']]) or a dict keyed by output name")
        else:
            raise TypeError(f"compile: {arg} must be a list or a dict, got {type(metrics).__name__}")
        out: List[List[Any]] = []
        for v in per:
            if v is None:
                out.append([])
            elif isinstance(v, (list, tuple)):
                out.append(list(v))
            else:
                out.append([v])
        return out

    # ---- resolving per output (once the shapes are known)
    def _resolve_outputs(self) -> None:
        m: Any = self
        if getattr(self, "_out_resolved", None) is not None:
            return
        shapes = m._output_shapes()
        kinds: List[Any] = []
        for j, lo in enumerate(m._out_losses):
            if lo is None:
                kinds.append(None)
                continue
            width = _checks_width(shapes[j])
            if isinstance(lo, str) and lo.lower() in ("crossentropy", "ce"):
                lo = "binary_crossentropy" if width == 1 else "categorical_crossentropy"
            obj = losses_module.get(lo)
            kind, params = losses_module.core_spec(obj)
            kinds.append((kind, params, obj))
        self._out_kinds = kinds
        self._out_resolved = []
        first = next(k for k in kinds if k is not None)
        self._loss_kind, self._loss_obj = first[0], first[2]

    def _resolve_metrics_for(self, y: "Rows") -> None:
        m: Any = self
        if m._metrics_resolved:
            return
        names = m._out_names
        shapes = m._output_shapes()
        several = len(names) > 1
        resolved: List[Tuple[int, Any]] = []
        for j in range(len(names)):
            yj = y[j]
            if yj is None:  # an output without a loss (and so without metrics)
                continue
            y_shape = (yj.shape[0],) if self._out_kinds[j][0] in _SPARSE else yj.shape
            pred = (int(yj.shape[0]), _checks_width(shapes[j]))
            for r in metrics_module.resolve_all(m._out_metrics_arg[j], m._out_weighted_arg[j], y_shape, pred):
                key = f"{names[j]}_{r.key}" if several else r.key
                resolved.append((j, metrics_module.ResolvedMetric(key, r.metric, r.weighted)))
        m._per_output_resolved = resolved
        m._resolved_metrics = [r for _, r in resolved]
        m._metric_objects = [r.metric for r in m._resolved_metrics if not r.weighted]
        m._weighted_metric_objects = [r.metric for r in m._resolved_metrics if r.weighted]
        m._metrics_resolved = True

    # ---- y and sample weights
    def _prepare_y(self, y, n: int, what: str, name: str = "y") -> Any:
        if isinstance(y, Rows):
            return y
        m: Any = self
        if y is None:
            raise ValueError(f"{what}: {name} is required for training and evaluation")
        parts = self._match(y, "output", name, what, strict_keys=True, optional=self._no_loss())
        shapes = m._output_shapes()
        out = []
        for j, v in enumerate(parts):
            label = f"{name}['{m._out_names[j]}']" if len(parts) > 1 or isinstance(y, dict) else name
            out.append(self._one_y(v, n, what, label, j, shapes[j]))
        rows = Rows(out, n)
        self._last_y = rows  # the shapes metrics resolve from (a generator's first batch)
        return rows

    def _no_loss(self) -> List[int]:
        """The outputs compiled without a loss (their targets are not needed)."""
        return [j for j, k in enumerate(getattr(self, "_out_kinds", [])) if k is None]

    def _one_y(self, y, n: int, what: str, name: str, j: int, shape) -> Optional[np.ndarray]:
        if self._out_kinds[j] is None:
            return None  # no loss: the targets are not read
        kind = self._out_kinds[j][0]
        width = _checks_width(shape)
        y = _checks.as_float_rows(y, name, what)
        if y.shape[0] != n:
            raise ValueError(f"{what}: x and {name} have different lengths: x has {n} samples, {name}.shape={y.shape}")
        if kind in _SPARSE:
            if not (y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1)):
                raise ValueError(f"{what}: {kind} expects integer labels of shape (n,) or (n, 1), got "
                                 f"{name}.shape={y.shape}; for one-hot targets use categorical_crossentropy")
            y = y.reshape(n, 1)
            _checks.check_finite(y, name, what)
            bad = (y != np.floor(y)) | (y < 0) | (y >= width)
            if np.any(bad):
                raise ValueError(f"{what}: {name} holds label {y[bad][0]:g}, but {kind} needs integer labels in "
                                 f"[0, {width}) for output '{self._out_name(j)}' with {width} units")
            return y
        y = y.reshape(n, -1) if y.ndim != 1 else y.reshape(n, 1)
        if y.shape[1] != width:
            raise ValueError(f"{what}: {name} has {y.shape[1]} values per sample, but output '{self._out_name(j)}' "
                             f"has shape {tuple(shape)} ({width} per sample) for loss {kind}")
        _checks.check_finite(y, name, what)
        return np.ascontiguousarray(y, dtype=np.float32)

    def _prepare_sample_weight(self, sw, n: int, what: str, name: str = "sample_weight") -> Any:
        if sw is None or isinstance(sw, Rows):
            return sw
        m: Any = self
        k = len(m._out_names)
        one: Any = models_module.Sequential._prepare_sample_weight
        if isinstance(sw, (dict, list, tuple)) and not (_is_data(sw)) and (isinstance(sw, dict) or k > 1 or (
                len(sw) == 1 and _is_data(sw[0]))):
            parts = self._match(sw, "output", "sample_weight", what, strict_keys=True,
                                optional=range(k))
            names = [f"sample_weight[{self._out_name(j)!r}]" if isinstance(sw, dict) else f"sample_weight[{j}]"
                     for j in range(k)]
            return Rows([None if p is None else one(self, p, n, what, names[j]) for j, p in enumerate(parts)], n)
        arr = one(self, sw, n, what)
        return Rows([arr] * k, n)

    def _prepare_xy(self, x, y, sample_weight, what: str):
        x = self._input_rows(x, "x", what)
        if y is None:
            raise ValueError(f"{what}: y is required for training and evaluation")
        self._resolve_outputs()
        y = self._prepare_y(y, x.shape[0], what)
        sw = self._prepare_sample_weight(sample_weight, x.shape[0], what)
        self._resolve_metrics_for(y)
        return x, y, sw

    def _class_weight_to_sample_weight(self, class_weight, y):
        m: Any = self
        if len(m._out_names) != 1:
            raise ValueError(f"fit: class_weight is only supported for models with one output; model '{m.name}' has "
                             f"{len(m._out_names)} ({m._out_names}): give sample_weight per output instead")
        seq: Any = models_module.Sequential
        sw = seq._class_weight_to_sample_weight(self, class_weight, y[0])
        return Rows([sw], y.shape[0])

    # ---- the trainer and the logs
    def _get_trainer(self):
        m: Any = self
        key = (id(m._net), id(m.optimizer), tuple(id(k[2]) if k is not None else 0 for k in self._out_kinds),
               tuple(id(r.metric) for r in m._resolved_metrics))
        if m._trainer is not None and m._trainer_key == key:
            return m._trainer
        opt = m.optimizer
        if getattr(opt, "_ranvier_net", None) is not m._net or not opt.built:
            m._build_optimizer()
        names = _core.loss_kind_names()
        losses = [None if k is None else (names.index(k[0]), k[1], w) for k, w in zip(self._out_kinds, self._out_weights)]
        n = len(m._out_names)
        plain: List[List[Any]] = [[] for _ in range(n)]
        weighted: List[List[Any]] = [[] for _ in range(n)]
        for j, r in m._per_output_resolved:
            (weighted if r.weighted else plain)[j].append(metrics_module.trainer_metric(r.metric))
        m._trainer = _core.Trainer(m._net, opt._core, losses=losses, metrics=plain, weighted=weighted)
        m._trainer.set_loss_scaler(opt._loss_scaler())  # a LossScaleOptimizer's, else None
        m._trainer_key = key
        return m._trainer

    def _logs(self, trainer, prefix: str = "") -> Dict[str, Any]:
        m: Any = self
        logs = {prefix + "loss": float(trainer.mean_loss())}
        with_loss = self._loss_outputs()
        if len(with_loss) > 1:  # Keras: per-output loss trackers only with two losses or more
            means = trainer.output_mean_losses()
            for j, name in with_loss:
                logs[f"{prefix}{name}_loss"] = float(means[j])
        for r in m._resolved_metrics:
            logs[prefix + r.key] = metrics_module.log_value(r.metric.result())
        return dict(sorted(logs.items()))

    def _format_results(self, logs: Dict[str, float], return_dict: bool):
        m: Any = self
        if return_dict:
            return dict(sorted(logs.items()))
        names = m._out_names
        if len(names) == 1:
            keys = [r.key for r in m._resolved_metrics]
            return logs["loss"] if not keys else [logs["loss"]] + [logs[k] for k in keys]
        head = ["loss"] + [f"{n}_loss" for _, n in self._loss_outputs()]
        head = [k for k in head if k in logs]
        return [logs[k] for k in head] + [logs[k] for k in sorted(logs) if k not in head]

    def _loss_outputs(self) -> List[Tuple[int, str]]:
        """(index, name) of the outputs with a loss."""
        m: Any = self
        kinds = getattr(self, "_out_kinds", None) or [True] * len(m._out_names)
        return [(j, n) for j, (n, k) in enumerate(zip(m._out_names, kinds)) if k is not None]

    # ---- the public calls (Model's chain-specific unwrapping is bypassed)
    def fit(self, x=None, y=None, *args, **kwargs):
        """Trains the model; x/y (and validation_data's) in the structure of the inputs /
        outputs, as lists by position, or dicts keyed by name."""
        return models_module.Sequential.fit(self, x, y, *args, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        """Loss and metrics (``loss``, ``<output>_loss`` per output, then the metrics)."""
        return models_module.Sequential.evaluate(self, x, y, *args, **kwargs)

    def train_on_batch(self, x, y=None, *args, **kwargs):
        """One optimizer step on one batch (x/y as in ``fit``)."""
        return models_module.Sequential.train_on_batch(self, x, y, *args, **kwargs)

    def test_on_batch(self, x, y=None, *args, **kwargs):
        """Loss and metrics of one batch (x/y as in ``fit``)."""
        return models_module.Sequential.test_on_batch(self, x, y, *args, **kwargs)

    def _run_predict(self, x: Rows, batch_size: int) -> List[np.ndarray]:
        m: Any = self
        return list(m._built_net().predict_multi(list(x), int(batch_size)))

    def _predict_rows(self, x: Rows) -> Any:
        """One batch's outputs (a list, one array per output): ``_data.predict``'s step."""
        return self._run_predict(x, max(1, x.shape[0]))

    def _join_outputs(self, parts: List[List[np.ndarray]]) -> Any:
        """The batches' outputs joined, in the structure of the model's outputs."""
        return self._shape_outputs([np.concatenate([p[j] for p in parts], axis=0) for j in range(len(parts[0]))])

    def _shape_outputs(self, outs: List[np.ndarray]):
        m: Any = self
        f16 = m.__dict__.get("_f16_outputs")
        if f16 is None or f16[0] is not m._net:  # per output: Keras's float16 under mixed_float16
            f16 = (m._net, [mixed_precision.output_is_float16(t._keras_history[0])
                            if getattr(t, "_keras_history", None) else False for t in m.outputs])
            m.__dict__["_f16_outputs"] = f16
        outs = [mixed_precision.to_float16(o) if h else o for o, h in zip(outs, f16[1])]
        shaped = [o.reshape((o.shape[0],) + tuple(s[1:])) for o, s in zip(outs, m._output_shapes())]
        kind = m._outputs_struct[1]
        if kind[0] == "dict":  # in the order of the dict given as outputs, as Keras
            flat = dict(zip(kind[1], shaped))
            return {k: flat[k] for k in kind[2]} if len(kind) > 2 else flat
        if len(shaped) == 1:
            return shaped[0]
        return shaped

    @registers("predict")
    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """The outputs for ``x`` (inference mode): an array, a list of arrays, or a dict, in
        the structure of the model's outputs."""
        m: Any = self
        batch_size = _checks.check_batch_size(batch_size, "predict") or 32
        verbose = _checks.check_verbose(verbose, "predict", auto=True)
        steps = _checks.check_steps(steps, "predict")
        if _data.is_data_source(x) and not isinstance(x, (list, tuple)):
            return _data.predict(self, x, batch_size, verbose, steps, callbacks)  # batch by batch
        x = self._input_rows(x, "x", "predict")
        rows = _data.cap_rows(x.shape[0], batch_size, steps)
        if rows < x.shape[0]:
            x = x[:rows]
        steps_n = int(math.ceil(x.shape[0] / batch_size))
        cbs = callbacks_module.CallbackList(callbacks, add_progbar=verbose != 0, model=m, verbose=verbose,
                                            epochs=1, steps=steps_n)
        cbs.on_predict_begin()
        if cbs.needs_batch_hooks("predict"):
            parts = []
            for i, s in enumerate(range(0, x.shape[0], batch_size)):
                cbs.on_predict_batch_begin(i)
                parts.append(self._run_predict(x[s:s + batch_size], batch_size))
                cbs.on_predict_batch_end(i, {"outputs": self._shape_outputs(parts[-1])})
            outs = [np.concatenate([p[j] for p in parts], axis=0) for j in range(len(parts[0]))]
        else:
            outs = self._run_predict(x, batch_size)
            cbs.on_predict_batch_end(steps_n - 1, {"outputs": self._shape_outputs(outs)})
        cbs.on_predict_end()
        return self._shape_outputs(outs)

    @registers("predict_on_batch")
    def predict_on_batch(self, x):
        """The outputs for ``x`` as one batch (inference mode)."""
        x = self._input_rows(x, "x", "predict_on_batch")
        return self._shape_outputs(self._run_predict(x, max(1, x.shape[0])))

    def __call__(self, x, training=None, **kwargs):
        """On symbolic tensors: the model as a layer of another functional model (its nodes
        are inlined there). On data: the outputs for ``x`` (one array, a list or a dict, as
        for ``predict``) in the structure of the model's outputs; ``training=True`` runs the
        layers in training mode (Dropout draws a fresh mask per call, BatchNormalization
        normalizes with the batch's statistics and updates its moving statistics), as
        Keras's ``model(x, training=True)``; otherwise inference mode (``predict_on_batch``)."""
        from .layers import _base as layers_base
        if layers_base._is_symbolic(x) or (isinstance(x, dict) and any(
                layers_base._is_symbolic(v) for v in x.values())):
            return layers_base.symbolic_hook("call_symbolic")(self, x, training, kwargs)
        kwargs.pop("mask", None)
        if kwargs:
            raise TypeError(f"Model.__call__ got unexpected arguments {sorted(kwargs)}")
        return _tensor.eager_structure(self._call_data(x, training))

    @registers("call")
    def _call_data(self, x, training=None):
        if not training:
            return self.predict_on_batch(x)
        m: Any = self
        x = self._input_rows(x, "x", "call")
        # As Sequential's: it changes the model's state (moving statistics, dropout steps) and
        # uses the layers' workspaces: one at a time with fit / train_on_batch (refused while
        # another thread trains, allowed from fit's own callbacks), never during a predict.
        with m._using_trainer("call(training=True)", nested_ok=True), m._inference_lock():
            return self._shaped_output(self._forward_training(x))

    def _shaped_output(self, outs):
        """The network's outputs (one (n, width) array per output) in the model's output
        structure and shapes."""
        return self._shape_outputs(list(outs))

    def _forward_training(self, x) -> Any:
        """The graph's nodes on ``x`` in training mode (``model(x, training=True)``), one
        (n, width) float32 array per output. ``x``: ``Rows`` (or anything ``predict`` takes).
        Each node runs the C++ core the network runs for it (so shared layers use one set of
        weights and merge layers get their inputs in order) on the flattened rows; every call
        of a layer gets its own step (a Dropout called twice draws two masks). The caller
        holds the trainer and the inference lock (``_call_data``)."""
        m: Any = self
        x = self._input_rows(x, "x", "call")
        n = x.shape[0]
        nodes = m._built_net().nodes()
        if len(nodes) != len(m._gnodes):  # the network is built from _gnodes, node for node
            raise RuntimeError(f"model '{m.name}': its network has {len(nodes)} nodes for {len(m._gnodes)} calls")
        acts: Dict[int, np.ndarray] = {i: np.ascontiguousarray(a, dtype=np.float32) for i, a in enumerate(x)}
        activity: Dict[int, float] = {}
        with live_trainable([(g.layer, nd["layer"]) for g, nd in zip(m._gnodes, nodes)], m.trainable):
            for g, nd in zip(m._gnodes, nodes):
                core, layer = nd["layer"], g.layer
                core.reserve(n)  # grows only: the layer's (or the trainer's) workspaces stay
                out = np.empty((n, int(core.out_features)), dtype=np.float32)
                layer._step = int(getattr(layer, "_step", 0)) + 1
                if len(g.inputs) == 1:
                    loss = core.forward(acts[g.inputs[0]], out, True, layer._step)
                else:
                    loss = core.forward_inputs([acts[k] for k in g.inputs], out, True, layer._step)
                activity[id(layer)] = activity.get(id(layer), 0.0) + float(loss or 0.0)
                if hasattr(layer, "_last_activity_loss"):
                    layer._last_activity_loss = activity[id(layer)]  # Keras's layer.losses: this call's
                acts[g.output] = out
        outs, seen = [], set()
        for k in m._out_keys:  # an input given back as an output, or one output twice: a copy
            a = acts[k]
            outs.append(a.copy() if k < m._n_inputs or k in seen else a)
            seen.add(k)
        return outs


def _checks_width(shape) -> int:
    dims = tuple(shape)[1:]
    return int(np.prod([int(d) for d in dims], dtype=np.int64)) if dims else 1


def _serialize_struct(value, serialize):
    """compile's argument (one, a list, or a dict per output) with objects serialized."""
    if value is None or isinstance(value, (str, numbers.Real)):
        return value
    if isinstance(value, dict) and not ("class_name" in value and "config" in value):
        return {k: _serialize_struct(v, serialize) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_serialize_struct(v, serialize) for v in value]
    return serialize(value)


_ = optimizers_module  # (imported for type checkers of callers)
