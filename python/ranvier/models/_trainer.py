"""Training and inference of a model (Keras's ``Trainer``): compile, fit, evaluate,
predict, the per-batch calls, the data preparation and the C++ trainer handle.

The training loop runs in C++: ``fit`` hands the whole data set (NumPy arrays,
never copied when they are already C-contiguous float32) to a ``_core.Trainer``
that shuffles, gathers batches, runs forward, loss, backward, the optimizer step
and the metrics for many batches per call with the GIL released. Python gets
control back at a bounded rate (at most every ``_TIME_SLICE`` seconds, at least
one batch) for the progress bar, batch-level callbacks and Ctrl-C, and at every
epoch end.

Input conversions (the only copies ``fit``/``predict`` may make, once per call,
never per epoch): ``x`` that is not C-contiguous float32 (float64, ints, lists,
DataFrames, anything with ``__array__``) is converted with
``np.ascontiguousarray(x, dtype=np.float32)``; targets ``y`` are converted to a
float32 (n, k) array (labels for sparse losses as (n, 1)); sample weights to
float32 (n,).

The mixin needs from the model's structure: ``_net`` / ``_built_net()`` (the C++
network), ``_input_shape``, ``output_shape``, ``_input_rows`` / ``_ensure_built`` /
``_check_input`` (the input checks), ``_param_segments()`` (what the optimizer updates)
and ``_forward_training(x)`` (``model(x, training=True)``).
"""
from __future__ import annotations

import contextlib
import math
import numbers
import threading
import warnings
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

import numpy as np

from .. import _checks, _core, _data, _profile, _random, _surface, _tensor
from .. import callbacks as callbacks_module
from .. import losses as losses_module
from .. import metrics as metrics_module
from .. import mixed_precision as _mixed_precision
from .. import optimizers as optimizers_module
from ..layers import _base as layers_base
from ._guards import registers

_TIME_SLICE = 0.05  # seconds of C++ work between returns to Python during fit

_SPARSE_LOSSES = {"sparse_categorical_crossentropy"}


class TrainingMixin:
    """compile / fit / evaluate / predict and the per-batch calls (Keras's ``Trainer``)."""

    name: str
    _net: Optional[_core.Network]
    _input_shape: Optional[tuple]

    if TYPE_CHECKING:  # what the model's structure provides (see the module docstring)
        @property
        def output_shape(self) -> tuple: ...
        @property
        def built(self) -> bool: ...
        @property
        def dtype_policy(self) -> Any: ...

        def _built_net(self) -> _core.Network: ...
        def _input_rows(self, x: Any, name: str, what: str) -> np.ndarray: ...
        def _ensure_built(self, x: np.ndarray) -> None: ...
        def _check_input(self, x: np.ndarray, name: str, what: str) -> np.ndarray: ...
        def _param_segments(self) -> List[Tuple[int, int, str]]: ...
        def _keras_trainable_offsets(self) -> List[int]: ...
        def _weight_path(self, name: str) -> str: ...
        def _forward_training(self, x: np.ndarray) -> np.ndarray: ...
        def _capture_trainable(self) -> None: ...
        def _structural(self, what: str) -> Any: ...

    def _init_training(self) -> None:
        """The state of a model that is not compiled yet."""
        self._trainer: Optional[_core.Trainer] = None
        self._trainer_key: Optional[tuple] = None
        self._trainer_owner: Optional[int] = None  # the thread inside _using_trainer
        self.optimizer: Optional[optimizers_module.Optimizer] = None
        self.loss: Any = None
        self.compiled = False
        self._compile_error: Optional[ValueError] = None  # raised by fit/evaluate (see compile)
        self._compile_config: Optional[dict] = None
        self._metric_objects: List[Any] = []
        self._weighted_metric_objects: List[Any] = []
        self._metrics_resolved = False
        self._resolved_metrics: List[metrics_module.ResolvedMetric] = []
        self.stop_training = False
        self.history = None
        self._model_policy = _mixed_precision.global_policy()  # Keras's model dtype policy, at construction

    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution=1,
                jit_compile="auto", auto_scale_loss=True) -> None:
        """Configures training (Keras defaults: RMSprop, no metrics). ``layer.trainable``
        changes take effect here (Keras captures the trainable state at compile time).
        RuntimeError while a fit/evaluate/predict of this model runs (see ``add``). With
        ``auto_scale_loss``, a mixed_float16 model's optimizer gets a ``LossScaleOptimizer``.
        As in Keras, an unknown optimizer or a ``metrics`` that is not a list fails here,
        while a loss, loss weights or metrics that do not fit the model raise their
        ValueError from the next fit/evaluate/train_on_batch/test_on_batch."""
        with self._structural("compile"):
            optimizer = optimizers_module.get(optimizer)  # as Keras: a bad optimizer fails here
            self._compile_error = None
            try:
                self._compile(optimizer, loss, loss_weights, metrics, weighted_metrics)
            except ValueError as err:
                if isinstance(err, (TypeError, _checks.UnsupportedCompileError)):
                    raise  # a wrong type (metrics="mae", as Keras), or what ranvier cannot train
                # Keras 3 checks the loss, its weights and the metrics against the model's
                # outputs when fit/evaluate/train_on_batch/test_on_batch first run: the same
                # ValueError, raised there (and every time until the next compile)
                self.optimizer, self.compiled, self._compile_error = optimizer, False, err
                self._trainer = self._trainer_key = None
            self.optimizer = optimizers_module.loss_scale.wrap_for_policy(
                self.optimizer, self.dtype_policy.name, bool(auto_scale_loss))

    def _compile(self, optimizer, loss, loss_weights, metrics, weighted_metrics) -> None:
        self.optimizer = optimizers_module.get(optimizer)
        self._capture_trainable()  # `layer.trainable` takes effect at compile time, as in Keras
        if loss is None:
            raise ValueError("compile: loss is required (ranvier has no add_loss)")
        if isinstance(loss, str) and loss.lower() not in ("crossentropy", "ce"):
            losses_module.get(loss)  # an unknown name fails here, listing the valid ones
        _surface.check_core_loss(loss)  # a Python loss function: say so now, with what is supported
        self.loss = loss
        self._has_compile_metrics = metrics is not None or weighted_metrics is not None
        if loss_weights is None:
            self._loss_weight = 1.0
        elif _checks.is_real(loss_weights) and math.isfinite(loss_weights):
            self._loss_weight = float(loss_weights)
        elif (isinstance(loss_weights, (list, tuple)) and len(loss_weights) == 1
              and _checks.is_real(loss_weights[0]) and math.isfinite(loss_weights[0])):
            self._loss_weight = float(loss_weights[0])
        else:
            raise ValueError(f"compile: loss_weights must be a finite float for a single-output model, "
                             f"got {loss_weights!r}")
        for arg, val in (("metrics", metrics), ("weighted_metrics", weighted_metrics)):
            if val is not None and not isinstance(val, (list, tuple)):
                raise _checks.ArgumentTypeError(f"compile: {arg} must be a list, got {type(val).__name__}")
        self._metrics_arg = list(metrics or [])
        self._weighted_metrics_arg = list(weighted_metrics or [])
        self._metrics_resolved = False
        self._resolved_metrics = []
        self._metric_objects = []
        self._weighted_metric_objects = []
        self._loss_obj = None
        self._compile_config = {
            "optimizer": optimizers_module.serialize(self.optimizer),
            "loss": losses_module.serialize(loss) if not isinstance(loss, str) else loss,
            "loss_weights": loss_weights,
            "metrics": [m if isinstance(m, str) else metrics_module.serialize(m) for m in self._metrics_arg],
            "weighted_metrics": [m if isinstance(m, str) else metrics_module.serialize(m)
                                 for m in self._weighted_metrics_arg],
        }
        self.compiled = True
        self._trainer = None
        self._trainer_key = None

    def _require_compiled(self, what: str) -> None:
        err = self.__dict__.get("_compile_error")
        if err is not None:
            raise err.with_traceback(None)
        if not self.compiled:
            raise _checks.NotCompiledError(f"{what}: you must call `compile()` before using the model for "
                                           f"training or evaluation")

    def _resolve_loss(self, y_shape) -> None:
        """Resolves the loss (and "crossentropy"/"ce") once the output shape is known."""
        if self._loss_obj is not None:
            return
        loss = self.loss
        out_dim = self.output_shape[-1]
        if isinstance(loss, str) and loss.lower() in ("crossentropy", "ce"):
            if out_dim == 1:
                loss = "binary_crossentropy"
            elif len(y_shape) == 1 or (len(y_shape) == 2 and y_shape[-1] == 1):
                loss = "sparse_categorical_crossentropy"
            else:
                loss = "categorical_crossentropy"
        obj = losses_module.get(loss)
        kind, params = losses_module.core_spec(obj)
        self._loss_obj = obj
        self._loss_kind = kind
        self._loss_params = params

    def _resolve_metrics(self, y_shape) -> None:
        if self._metrics_resolved:
            return
        y_pred_shape = (int(y_shape[0]), int(self.output_shape[-1]))
        resolved = metrics_module.resolve_all(self._metrics_arg, self._weighted_metrics_arg,
                                              y_shape, y_pred_shape)
        # Built-in metrics run in C++ inside the epoch; Python ones (a user's function or
        # Metric subclass) are called back per batch by it (metrics_module.trainer_metric).
        self._resolved_metrics = resolved
        self._metric_objects = [r.metric for r in resolved if not r.weighted]
        self._weighted_metric_objects = [r.metric for r in resolved if r.weighted]
        self._metrics_resolved = True

    def _metric_direction(self, name: str) -> Optional[str]:
        """"max"/"min" for a compiled metric's name (with or without ``val_``), else None."""
        return metrics_module.metric_direction(getattr(self, "_resolved_metrics", []), name)

    @property
    def metrics_names(self) -> List[str]:
        """Keras 3's ``[m.name for m in model.metrics]``: ``[]`` before compile, ``["loss"]``,
        or ``["loss", "compile_metrics"]`` when compile got metrics. (The log keys, e.g.
        ``"mae"``, are those of ``evaluate(..., return_dict=True)`` and History.)"""
        return [m.name for m in self.metrics]

    @property
    def metrics(self) -> List[Any]:
        """Keras 3's ``model.metrics``: the loss tracker (``name="loss"``) and, when compile
        got metrics, the ``compile_metrics`` container (its ``.metrics`` are the compiled
        metric objects once fit/evaluate resolved them); [] before compile."""
        return _surface.model_metrics(self)

    @property
    def losses(self) -> List[float]:
        """Keras's ``model.losses``: the regularization penalties of every layer (weight
        penalties of the current weights, then each layer's last activity penalty)."""
        return _surface.model_losses(self)

    def _prepare_y(self, y, n: int, what: str, name: str = "y") -> np.ndarray:
        if len(self.output_shape) > 2:  # e.g. a model ending in Embedding, RepeatVector or Reshape
            raise ValueError(
                f"{what}: the model's output has shape {tuple(self.output_shape)}; ranvier computes losses on 2-D "
                f"(batch, units) outputs: add a Flatten() at the end (and flatten {name} to (n, "
                f"{math.prod(self.output_shape[1:])})), or a Flatten() and a Dense")
        y = _checks.as_float_rows(y, name, what)
        if y.shape[0] != n:
            raise ValueError(f"{what}: x and {name} have different lengths: x has {n} samples, "
                             f"{name}.shape={y.shape}")
        out_dim = self.output_shape[-1]
        if self._loss_kind in _SPARSE_LOSSES:
            if not (y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1)):
                raise ValueError(
                    f"{what}: {self._loss_kind} expects integer labels of shape (n,) or (n, 1), got "
                    f"{name}.shape={y.shape}; for one-hot targets use categorical_crossentropy")
            y = y.reshape(n, 1)
            _checks.check_finite(y, name, what)
            if np.any(y != np.floor(y)) or y.min() < 0 or y.max() >= out_dim:
                bad = y[(y != np.floor(y)) | (y < 0) | (y >= out_dim)][0]
                raise ValueError(
                    f"{what}: {name} holds label {bad:g}, but {self._loss_kind} needs integer labels in "
                    f"[0, {out_dim}) for a model with {out_dim} outputs")
            return y
        if y.ndim == 1:
            y = y.reshape(n, 1)
        elif y.ndim > 2:
            y = y.reshape(n, -1)
        if y.shape[1] != out_dim:
            raise ValueError(
                f"{what}: {name}.shape={y.shape} does not match the model's output shape (None, {out_dim}) "
                f"for loss {self._loss_kind}")
        _checks.check_finite(y, name, what)
        return y

    def _prepare_sample_weight(self, sw, n: int, what: str, name: str = "sample_weight") -> Optional[np.ndarray]:
        return _checks.prepare_sample_weight(sw, n, what, name)

    def _class_weight_to_sample_weight(self, class_weight, y: np.ndarray) -> np.ndarray:
        return _checks.class_weight_to_sample_weight(class_weight, y)

    def _prepare_xy(self, x, y, sample_weight, what: str):
        x = self._input_rows(x, "x", what)
        self._ensure_built(x)
        x = self._check_input(x, "x", what)
        _checks.check_finite(x, "x", what)
        if y is not None and not isinstance(y, np.ndarray):  # ragged lists: a ValueError naming y
            y = _checks.as_numeric_array(y, "y", what)
        self._resolve_loss(np.shape(y) if y is not None else (x.shape[0],))
        if y is None:
            raise ValueError(f"{what}: y is required for training and evaluation")
        y = self._prepare_y(y, x.shape[0], what)
        sw = self._prepare_sample_weight(sample_weight, x.shape[0], what)
        self._resolve_metrics(y.shape if self._loss_kind not in _SPARSE_LOSSES else (y.shape[0],))
        return x, y, sw

    def _get_trainer(self):
        key = (id(self._net), id(self.optimizer), id(self._loss_obj),
               tuple(id(m) for m in self._metric_objects + self._weighted_metric_objects))
        if self._trainer is not None and self._trainer_key == key:
            return self._trainer
        opt = self.optimizer
        if getattr(opt, "_ranvier_net", None) is not self._net or not opt.built:
            self._build_optimizer()
        self._trainer = _core.Trainer(
            self._net, opt._core, _core.loss_kind_names().index(self._loss_kind), self._loss_params,
            self._loss_weight,
            [metrics_module.trainer_metric(m) for m in self._metric_objects],
            [metrics_module.trainer_metric(m) for m in self._weighted_metric_objects])
        self._trainer.set_loss_scaler(opt._loss_scaler())  # a LossScaleOptimizer's, else None
        self._trainer_key = key
        return self._trainer

    def _build_optimizer(self) -> None:
        """Builds the optimizer over the network's trainable parameters (one segment per
        trainable weight, named ``<layer>/<weight>``) and marks it as built for this network,
        so fit keeps its state instead of building it again."""
        net = self._built_net()
        opt: Any = self.optimizer
        shapes = {int(t["offset"]): tuple(t["shape"]) for t in net.tensors() if t["trainable"]}
        rank = {off: i for i, off in enumerate(self._keras_trainable_offsets())}
        opt.build(int(net.params().size), [
            {"offset": off, "size": size, "name": name, "shape": shapes.get(int(off)), "path": self._weight_path(name),
             "order": rank.get(int(off), len(rank) + j)}  # the order of optimizer.variables
            for j, (off, size, name) in enumerate(self._param_segments())])
        opt._ranvier_net = net

    def _logs(self, trainer, prefix: str = "") -> Dict[str, Any]:
        logs = {prefix + "loss": float(trainer.mean_loss())}
        for r in self._resolved_metrics:
            logs[prefix + r.key] = metrics_module.log_value(r.metric.result())
        return dict(sorted(logs.items()))

    @registers("fit")
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1):
        """Trains the model (Keras semantics; whole epochs run in C++)."""
        self._require_compiled("fit")
        batch_size = _checks.check_batch_size(batch_size, "fit")
        if not _checks.is_int(epochs) or epochs < 0:
            raise ValueError(f"fit: epochs must be a non-negative int, got {epochs!r}")
        if not isinstance(validation_split, numbers.Real) or not (0.0 <= validation_split < 1.0):
            raise ValueError(f"fit: validation_split must be a float in [0, 1), got {validation_split!r}")
        if class_weight is not None and sample_weight is not None:
            raise ValueError("fit: class_weight and sample_weight cannot be used together")
        if shuffle not in (True, False, "batch"):
            raise ValueError(f"fit: shuffle must be True, False or 'batch', got {shuffle!r}")
        if not _checks.is_int(initial_epoch) or initial_epoch < 0:
            raise ValueError(f"fit: initial_epoch must be a non-negative int, got {initial_epoch!r}")
        if steps_per_epoch is not None and (not _checks.is_int(steps_per_epoch) or steps_per_epoch < 1):
            raise ValueError(f"fit: steps_per_epoch must be a positive int or None, got {steps_per_epoch!r}")
        if _checks.is_int(validation_freq):
            if validation_freq < 1:
                raise ValueError(f"fit: validation_freq must be a positive int or a list of epochs, "
                                 f"got {validation_freq!r}")
        elif isinstance(validation_freq, (str, bytes)) or not hasattr(validation_freq, "__contains__"):
            raise ValueError(f"fit: validation_freq must be a positive int or a list of epochs, "
                             f"got {validation_freq!r}")
        verbose = _checks.check_verbose(verbose, "fit", auto=True)
        if _data.is_data_source(x):  # a generator, PyDataset or dataset: batch by batch (ranvier._data)
            return _data.fit(self, x, y, sample_weight, batch_size, epochs, verbose, callbacks,
                             validation_split, validation_data, shuffle, class_weight, initial_epoch,
                             steps_per_epoch, validation_steps, validation_batch_size, validation_freq)

        x, y, sw = self._prepare_xy(x, y, sample_weight, "fit")
        if class_weight is not None:
            sw = self._class_weight_to_sample_weight(class_weight, y)
        n = x.shape[0]
        val: Any = None
        val_split = None
        if validation_data is None and validation_split:
            split_at = int(math.floor(n * (1.0 - validation_split)))
            if split_at == 0 or split_at == n:
                raise ValueError(f"fit: validation_split={validation_split} leaves no "
                                 f"{'training' if split_at == 0 else 'validation'} samples out of {n}")
            val_split = (x[split_at:], y[split_at:], None if sw is None else sw[split_at:])
            x, y = x[:split_at], y[:split_at]
            sw = None if sw is None else sw[:split_at]
            n = split_at
        if steps_per_epoch is not None:
            if batch_size is None:
                batch_size = int(math.ceil(n / steps_per_epoch))
        if batch_size is None:
            batch_size = 32
        val_batch = _checks.check_batch_size(validation_batch_size, "fit", "validation_batch_size") or batch_size
        # validation_data (arrays, or a generator / dataset) or the validation_split rows
        val = _data.prepare_validation(self, validation_data if val_split is None else val_split,
                                       val_batch, validation_steps)

        trainer = self._get_trainer()
        with self._using_trainer("fit", nested_ok=False):
            try:
                return self._fit_loop(trainer, x, y, sw, n, batch_size, epochs, verbose, callbacks,
                                      val, shuffle, initial_epoch, steps_per_epoch, validation_freq)
            finally:
                trainer.clear_train_data()
                if isinstance(val, _data.EpochIterator):
                    val.close()

    @contextlib.contextmanager
    def _using_trainer(self, what: str, nested_ok: bool):
        """One fit / evaluate / train_on_batch / test_on_batch at a time per model: they share
        the trainer's workspaces and its loss and metric accumulators, so a second thread's
        call would corrupt both results. It is refused with a RuntimeError; the thread that
        runs fit may still evaluate (``nested_ok``) from its callbacks, as in Keras."""
        me = threading.get_ident()
        net = self._built_net()
        if net.try_acquire_training():
            self._trainer_owner = me
            self._trainer_what = what
            trainer = self._trainer if _profile.active() else None  # ranvier.utils.profile()
            try:
                if trainer is not None:
                    trainer.reset_profile()
                    trainer.set_profiling(True)
                yield
            finally:
                if trainer is not None:
                    trainer.set_profiling(False)
                    _profile.record(self, trainer.profile())
                self._trainer_owner = None
                net.release_training()
        elif getattr(self, "_trainer_owner", None) == me:
            if nested_ok:
                yield
                return
            running = getattr(self, "_trainer_what", "fit")
            raise RuntimeError(f"{what}: called from inside this model's own {running} in the same thread "
                               f"(a nested call, e.g. from one of its callbacks); {what} cannot run while "
                               f"{running} is running: call it after {running} returns")
        else:
            raise RuntimeError(f"{what}: this model is already being trained or evaluated in another "
                               f"thread; wait for that call to finish (predict may run concurrently)")

    def _fit_loop(self, trainer, x, y, sw, n, batch_size, epochs, verbose, callbacks, val,
                  shuffle, initial_epoch, steps_per_epoch, validation_freq):
        trainer.set_train_data(x, y, sw, batch_size)
        steps_total = steps = trainer.steps_per_epoch()
        if steps_per_epoch is not None:
            steps = min(steps, int(steps_per_epoch))
        # Keras's steps_per_epoch on arrays: the pass over the data continues across epochs
        # and a new (reshuffled) pass starts only once every batch was seen; an epoch that
        # reaches the end of a pass before steps_per_epoch batches ends early, with Keras's
        # "ran out of data" warning. (DataParallel's trainer keeps one pass per epoch.)
        continue_passes = steps_per_epoch is not None and isinstance(trainer, _core.Trainer)
        new_pass = True
        cbs = callbacks_module.CallbackList(
            callbacks, add_history=True, add_progbar=verbose != 0, model=self,
            verbose=verbose, epochs=epochs, steps=steps)
        history = cbs.history
        self.history = history
        batch_hooks = cbs.needs_batch_hooks("train")
        python_lr = self.optimizer._needs_python_lr()
        progress = cbs.wants_batch_progress("train")
        self.stop_training = False
        initial_epoch = cbs.begin_training(initial_epoch)  # on_train_begin; BackupAndRestore may resume
        logs: Dict[str, Any] = {}
        training_logs: Optional[Dict[str, Any]] = None
        for epoch in range(initial_epoch, epochs):
            cbs.on_epoch_begin(epoch)
            if new_pass or not continue_passes:
                trainer.begin_epoch(bool(shuffle), _random.next_seed())
            else:
                trainer.reset_metrics()
            target = steps
            if continue_passes:
                target = min(int(steps_per_epoch), steps_total - int(trainer.step_in_epoch()))
                if target < steps_per_epoch:
                    warnings.warn(_data.RAN_OUT, stacklevel=3)
            done = 0
            while done < target:
                if batch_hooks or python_lr:
                    if batch_hooks:
                        cbs.on_train_batch_begin(done)
                    if python_lr:
                        self.optimizer._prepare_step()
                    ran = trainer.run(1, 0.0)
                else:
                    ran = trainer.run(target - done, _TIME_SLICE)
                done += ran
                if ran and (batch_hooks or progress or done == target):
                    logs = self._logs(trainer)
                    cbs.on_train_batch_end(done - 1, logs)
                if self.stop_training or not ran:
                    break
            new_pass = int(trainer.step_in_epoch()) >= steps_total
            logs = self._logs(trainer)
            epoch_logs = dict(logs)
            if val is not None and self._should_validate(epoch, validation_freq):
                # on_test_begin / test batch hooks / on_test_end, as Keras's evaluate in fit
                epoch_logs.update(_data.run_validation(self, trainer, val, cbs))
            cbs.on_epoch_end(epoch, epoch_logs)
            training_logs = epoch_logs
            if self.stop_training:
                break
        if getattr(self.optimizer, "use_ema", False):
            self.optimizer._core.finalize_ema(self._net.params())
        cbs.on_train_end(training_logs)  # the last epoch's logs, val_* included (Keras)
        return history

    @staticmethod
    def _should_validate(epoch: int, freq) -> bool:
        if isinstance(freq, numbers.Integral):
            return (epoch + 1) % int(freq) == 0
        return (epoch + 1) in freq

    @registers("evaluate")
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False):
        """Loss and metrics in inference mode (Keras return conventions)."""
        self._require_compiled("evaluate")
        batch_size = _checks.check_batch_size(batch_size, "evaluate") or 32
        verbose = _checks.check_verbose(verbose, "evaluate", auto=True)
        steps = _checks.check_steps(steps, "evaluate")
        if _data.is_data_source(x):  # a generator, PyDataset or dataset: batch by batch (ranvier._data)
            if y is not None or sample_weight is not None:
                _data.make_adapter(x, y, sample_weight, what="evaluate")  # raises Keras's error
            return _data.evaluate(self, x, batch_size, verbose, steps, callbacks, return_dict)
        x, y, sw = self._prepare_xy(x, y, sample_weight, "evaluate")
        rows = _data.cap_rows(x.shape[0], batch_size, steps)  # steps: at most that many batches
        if rows < x.shape[0]:
            x, y, sw = x[:rows], y[:rows], None if sw is None else sw[:rows]
        trainer = self._get_trainer()
        with self._using_trainer("evaluate", nested_ok=True):
            return self._evaluate(trainer, x, y, sw, batch_size, verbose, callbacks, return_dict)

    def _evaluate(self, trainer, x, y, sw, batch_size, verbose, callbacks, return_dict):
        steps_n = int(math.ceil(x.shape[0] / batch_size))
        cbs = callbacks_module.CallbackList(callbacks, add_progbar=verbose != 0, model=self,
                                            verbose=verbose, epochs=1, steps=steps_n)
        cbs.on_test_begin()
        if cbs.needs_batch_hooks("test"):
            trainer.reset_metrics()
            for i, s in enumerate(range(0, x.shape[0], batch_size)):
                cbs.on_test_batch_begin(i)
                trainer.evaluate(x[s:s + batch_size], y[s:s + batch_size],
                                 None if sw is None else sw[s:s + batch_size], batch_size, reset=False)
                cbs.on_test_batch_end(i, self._logs(trainer))
        else:
            trainer.evaluate(x, y, sw, batch_size)
            cbs.on_test_batch_end(steps_n - 1, self._logs(trainer))
        logs = self._logs(trainer)
        cbs.on_test_end(logs)
        return self._format_results(logs, return_dict)

    def _format_results(self, logs: Dict[str, float], return_dict: bool):
        if return_dict:
            return dict(sorted(logs.items()))
        names = [r.key for r in self._resolved_metrics]
        if not names:
            return logs["loss"]
        return [logs["loss"]] + [logs[n] for n in names]

    @registers("predict")
    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None) -> np.ndarray:
        """Outputs for ``x`` in inference mode, as a float32 NumPy array."""
        if (batch_size is None and steps is None and not callbacks
                and (verbose == 0 if verbose.__class__ is int  # the common call, checked cheaply
                     else _checks.check_verbose(verbose, "predict", auto=True) == 0)):
            out = self._predict_fast(x, 32)
            if out is not None:
                return out
        batch_size = _checks.check_batch_size(batch_size, "predict") or 32
        verbose = _checks.check_verbose(verbose, "predict", auto=True)
        steps = _checks.check_steps(steps, "predict")
        if _data.is_data_source(x):  # a generator, PyDataset or dataset: batch by batch (ranvier._data)
            return _data.predict(self, x, batch_size, verbose, steps, callbacks)
        x = self._input_rows(x, "x", "predict")
        rows = _data.cap_rows(x.shape[0], batch_size, steps)
        if rows < x.shape[0]:
            x = x[:rows]
        self._ensure_built(x)
        x = self._check_input(x, "x", "predict")
        _checks.check_finite(x, "x", "predict")
        if not verbose and not callbacks:  # the fast path: one C++ call
            return self._shaped_output(self._built_net().predict(x, batch_size))
        steps_n = int(math.ceil(x.shape[0] / batch_size))
        cbs = callbacks_module.CallbackList(callbacks, add_progbar=verbose != 0, model=self,
                                            verbose=verbose, epochs=1, steps=steps_n)
        cbs.on_predict_begin()
        if cbs.needs_batch_hooks("predict"):
            parts = []
            for i, s in enumerate(range(0, x.shape[0], batch_size)):
                cbs.on_predict_batch_begin(i)
                parts.append(self._built_net().predict(x[s:s + batch_size], batch_size))
                cbs.on_predict_batch_end(i, {"outputs": parts[-1]})
            out = np.concatenate(parts, axis=0)
        else:
            out = self._built_net().predict(x, batch_size)
            cbs.on_predict_batch_end(steps_n - 1, {"outputs": out})
        cbs.on_predict_end()
        return self._shaped_output(out)

    def _fast_info(self, net) -> tuple:
        """``(net, sample_shape, general, float16)`` for the built network ``net``, cached per
        network: the model's per-sample output shape when it is N-D (else None), whether its
        input needs the general path: raw keys (a lookup layer encodes them first), or values
        held to an Input's integer dtype (``_input_values_checked``), and whether its output
        is float16 (the last layer computes under mixed_float16: predict returns float16, as
        Keras). The predict paths read it with one dictionary lookup."""
        cached = self.__dict__.get("_fast_path_info")
        if cached is None or cached[0] is not net:
            try:
                shape = tuple(self.output_shape[1:])
            except (AttributeError, ValueError, TypeError):
                shape = ()
            ok = len(shape) > 1 and all(isinstance(d, (int, np.integer)) and d > 0 for d in shape)
            raw = (getattr(self, "_raw_input_encoder", lambda: None)() is not None
                   or bool(getattr(self, "_input_values_checked", False)))
            layers = getattr(self, "layers", None) or []
            f16 = bool(layers) and _mixed_precision.output_is_float16(layers[-1])
            cached = (net, tuple(int(d) for d in shape) if ok else None, raw, f16)
            self.__dict__["_fast_path_info"] = cached
        return cached

    def _shaped_output(self, out: np.ndarray) -> np.ndarray:
        """``out`` (rows of the flattened per-sample output the network computes) in the
        model's output shape, as Keras returns it: ``(n, 2, 3)`` for a model ending in
        ``Reshape((2, 3))`` or ``RepeatVector``."""
        info = self._fast_info(self._net)
        out, shape = _mixed_precision.to_float16(out) if info[3] else out, info[1]
        if shape is None or out.ndim != 2:
            return out
        return out.reshape((out.shape[0],) + shape)

    def _predict_fast(self, x, batch_size: int) -> Optional[np.ndarray]:
        """The common case in one C++ call, with only the checks it needs: a built model
        and a finite, C-contiguous float32 ndarray of its input width (what the general path
        would convert ``x`` to anyway), in batches of ``batch_size``. ``None`` when the
        general path must run (it converts, checks and raises)."""
        net = self._net
        if net is None or self._input_shape is None or len(self._input_shape) != 2:
            return None
        info = self.__dict__.get("_fast_path_info")
        if info is None or info[0] is not net:
            info = self._fast_info(net)
        if info[2]:  # raw keys: encoded first, on the general path
            return None
        out = net.predict_fast(x, batch_size)  # None unless all of the above holds (C++)
        if out is not None and info[3]:
            out = _mixed_precision.to_float16(out)  # mixed_float16: Keras's float16 output
        if out is None or info[1] is None:
            return out
        return out.reshape((out.shape[0],) + info[1])

    def __call__(self, x, training=None):
        """The model on ``x``; ``training=True`` runs the layers in training mode (dropout on,
        BatchNormalization on batch statistics, updating its moving statistics). On a
        symbolic tensor (``ranvier.Input``), a symbolic tensor: the model as a layer of a
        functional model (inlined there)."""
        if layers_base._is_symbolic(x):
            # Outside the call registry: a model not built yet builds itself for the
            # symbolic shape, a structural change a registered call would refuse.
            return layers_base.symbolic_hook("call_symbolic")(self, x, training, {})
        return _tensor.eager_structure(self._call_data(x, training))

    @registers("call")
    def _call_data(self, x, training=None):
        if not training:
            out = self._predict_fast(x, 1 << 30)  # one batch, as below
            if out is not None:
                return out
        x = self._input_rows(x, "x", "call")
        self._ensure_built(x)
        x = self._check_input(x, "x", "call")
        if training:
            # It changes the model's state (moving statistics, dropout steps) and uses the
            # layers' workspaces: one at a time with fit/train_on_batch (refused while another
            # thread trains, allowed from fit's own callbacks), and never during a predict.
            with self._using_trainer("call(training=True)", nested_ok=True), self._inference_lock():
                return self._shaped_output(self._forward_training(x))
        return self._shaped_output(self._built_net().predict(x, max(1, x.shape[0])))

    @registers("predict_on_batch")
    def predict_on_batch(self, x) -> np.ndarray:
        """The model's output for ``x`` as one batch (inference mode), a float32 array."""
        out = self._predict_fast(x, 1 << 30)
        if out is not None:
            return out
        x = self._input_rows(x, "x", "predict_on_batch")
        self._ensure_built(x)
        x = self._check_input(x, "x", "predict_on_batch")
        return self._shaped_output(self._built_net().predict(x, max(1, x.shape[0])))

    @registers("train_on_batch")
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One optimizer step on one batch; returns the batch's loss/metrics before the update."""
        self._require_compiled("train_on_batch")
        if class_weight is not None and sample_weight is not None:
            raise ValueError("train_on_batch: class_weight and sample_weight cannot be used together")
        x, y, sw = self._prepare_xy(x, y, sample_weight, "train_on_batch")
        if class_weight is not None:
            sw = self._class_weight_to_sample_weight(class_weight, y)
        trainer = self._get_trainer()
        with self._using_trainer("train_on_batch", nested_ok=False):
            if self.optimizer._needs_python_lr():
                self.optimizer._prepare_step()
            trainer.train_batch(x, y, sw)
            return self._format_results(self._logs(trainer), return_dict)

    @registers("test_on_batch")
    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """Loss and metrics of one batch in inference mode, without updating anything: a
        scalar (loss only), a list ``[loss, <compiled metrics in compile order>]``, or a dict with
        ``return_dict=True``."""
        self._require_compiled("test_on_batch")
        x, y, sw = self._prepare_xy(x, y, sample_weight, "test_on_batch")
        trainer = self._get_trainer()
        with self._using_trainer("test_on_batch", nested_ok=True):
            trainer.evaluate(x, y, sw, x.shape[0])
            return self._format_results(self._logs(trainer), return_dict)
