"""Small parts of Keras's model surface: ``model.metrics`` / ``metrics_names`` objects
(Keras 3's loss tracker and ``compile_metrics`` container), ``model.losses``, and the
message for a Python loss function."""
from __future__ import annotations

from typing import Any, Dict, List

from . import _checks
from . import losses as losses_module
from . import metrics as metrics_module

__all__ = ["LossTracker", "CompileMetrics", "model_metrics", "model_losses", "check_core_loss"]


class LossTracker(metrics_module.Mean):
    """Keras 3's loss tracker (a ``Mean`` named "loss"): the running loss of the current
    fit epoch / evaluate, read from the model's C++ trainer (0.0 before any)."""

    _direction = "down"

    def __init__(self, model):
        super().__init__(name="loss")
        self._model = model

    def update_state(self, *args, **kwargs):
        """Not used: fit and evaluate update the loss in C++."""
        raise NotImplementedError("the loss tracker is updated by fit/evaluate (in C++)")

    def result(self) -> float:
        """The running mean loss since the last reset (0.0 when none)."""
        trainer = getattr(self._model, "_trainer", None)
        return 0.0 if trainer is None else float(trainer.mean_loss())

    def reset_state(self) -> None:
        """Resets the trainer's running loss and metrics."""
        trainer = getattr(self._model, "_trainer", None)
        if trainer is not None:
            trainer.reset_metrics()


class OutputLossTracker(metrics_module.Mean):
    """Keras 3's per-output loss tracker of a model with two or more losses (a ``Mean``
    named ``"<output>_loss"``): output ``index``'s running loss, read from the C++ trainer."""

    _direction = "down"

    def __init__(self, model, index: int, name: str):
        super().__init__(name=f"{name}_loss")
        self._model = model
        self._index = int(index)

    def update_state(self, *args, **kwargs):
        """Not used: fit and evaluate update the loss in C++."""
        raise NotImplementedError("the loss tracker is updated by fit/evaluate (in C++)")

    def result(self) -> float:
        """The output's running mean loss since the last reset (0.0 when none)."""
        trainer = getattr(self._model, "_trainer", None)
        return 0.0 if trainer is None else float(trainer.output_mean_losses()[self._index])

    def reset_state(self) -> None:
        """Resets the trainer's running loss and metrics."""
        trainer = getattr(self._model, "_trainer", None)
        if trainer is not None:
            trainer.reset_metrics()


class CompileMetrics(metrics_module.Metric):
    """Keras 3's container of the metrics given to ``compile`` (name "compile_metrics");
    ``metrics`` lists them once resolved (at the first fit/evaluate), ``result()`` is a
    dict of their values."""

    def __init__(self, model):
        super().__init__(name="compile_metrics")
        self._model = model

    @property
    def metrics(self) -> List[Any]:
        """The compiled metric objects (empty until the first fit/evaluate resolves them)."""
        return [r.metric for r in getattr(self._model, "_resolved_metrics", [])]

    def update_state(self, *args, **kwargs):
        """Not used: fit and evaluate update the metrics in C++."""
        raise NotImplementedError("the compiled metrics are updated by fit/evaluate (in C++)")

    def result(self) -> Dict[str, Any]:
        """{log key: value} of every compiled metric (a float, or an array for array-valued ones)."""
        return {r.key: metrics_module.log_value(r.metric.result())
                for r in getattr(self._model, "_resolved_metrics", [])}

    def reset_state(self) -> None:
        """Resets every compiled metric."""
        for m in self.metrics:
            m.reset_state()


def model_metrics(model) -> List[Any]:
    """Keras 3's ``model.metrics``: [] before compile; then the loss tracker, the
    ``compile_metrics`` container when compile got ``metrics`` or ``weighted_metrics``, and
    (a model with two or more losses, once it has run) a ``"<output>_loss"`` tracker each."""
    if not getattr(model, "compiled", False):
        return []
    cache = getattr(model, "_surface_metrics", None)
    if cache is None or cache[0] is not getattr(model, "_compile_config", None):
        out: List[Any] = [LossTracker(model)]
        if getattr(model, "_has_compile_metrics", False):
            out.append(CompileMetrics(model))
        cache = (getattr(model, "_compile_config", None), out, {})
        model._surface_metrics = cache
    out = list(cache[1])
    loss_outputs = getattr(model, "_loss_outputs", None)
    if loss_outputs is not None and getattr(model, "_trainer", None) is not None:
        # Keras: a model with two or more losses adds a tracker per output once it has run
        with_loss = loss_outputs()
        if len(with_loss) > 1:
            trackers: Dict[int, OutputLossTracker] = cache[2]
            for j, name in with_loss:
                if j not in trackers:
                    trackers[j] = OutputLossTracker(model, j, name)
                out.append(trackers[j])
    return out


def metrics_result(model) -> Dict[str, Any]:
    """``model.get_metrics_result()``: each metric of ``model.metrics`` by name (the compiled
    metrics container flattened into its log keys), as floats or arrays."""
    out: Dict[str, Any] = {}
    for m in model.metrics:
        value = m.result()
        if isinstance(value, dict):
            out.update(value)
        else:
            out[m.name] = metrics_module.log_value(value)
    return out


def model_losses(model) -> List[float]:
    """Keras's ``model.losses``: every layer's regularization penalties (weights, then the
    activity penalty of the last call), layer by layer."""
    out: List[float] = []
    for layer in getattr(model, "layers", []):
        out.extend(layer.losses)
    return out


def check_core_loss(loss) -> None:
    """ValueError at compile time for a loss the C++ training loop cannot compute (a Python
    function or a ``Loss`` subclass with its own ``call``), saying what is supported."""
    if loss is None or isinstance(loss, str):
        return
    try:
        losses_module.core_spec(loss)
    except ValueError as e:
        if "Could not interpret" in str(e):  # not a loss at all: Keras's ValueError, at fit time
            raise ValueError(f"compile: {e}") from None
        if "is a Python loss with no C++ kernel" not in str(e):  # a built-in loss with an option the
            raise _checks.UnsupportedCompileError(f"compile: {e}") from None  # kernels lack (ignore_class)
        name = getattr(loss, "name", None) or getattr(loss, "__name__", None) or type(loss).__name__
        raise _checks.UnsupportedCompileError(
            f"compile: the loss {name!r} is Python code. ranvier computes the loss and its gradient in C++ "
            f"inside the training loop, so a Python loss function (or a Loss subclass with its own call()) "
            f"cannot train a model. Supported: the built-in losses by name, function or class, with their "
            f"arguments (e.g. \"mse\", losses.Huber(delta=2.0), losses.BinaryCrossentropy(from_logits=True, "
            f"label_smoothing=0.1)), weighted with sample_weight, class_weight and loss_weights. Details: {e}"
        ) from None
