"""``DataParallel``: a model trained by every rank on its shard of the data."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

import numpy as np

from .. import callbacks as callbacks_module
from .. import layers as layers_module
from .. import metrics as metrics_module
from ._sharded import (_NO_STOP, _ROOT_ONLY, _ShardedTrainer, _StopSync, _compare, _crc, _jsonable, _shape,
                       _strip_names)
from ._mpi import DistributedConfigError, DistributedError, _abort, _ensure_init, _watch, _world


def _rows(v, lo: int, hi: int):
    """Rows lo:hi of data in a model's structure: an array, or a list / tuple / dict of
    arrays (a graph model's inputs or outputs), sliced together."""
    if v is None:
        return None
    if isinstance(v, dict):
        return {k: _rows(a, lo, hi) for k, a in v.items()}
    if isinstance(v, (list, tuple)) and any(hasattr(a, "shape") or isinstance(a, (list, tuple, dict)) for a in v):
        parts = [_rows(a, lo, hi) for a in v]
        return parts if isinstance(v, list) else tuple(parts)
    return np.asarray(v)[lo:hi]


def _n_rows(v) -> int:
    """The number of samples of data in a model's structure (its first array's rows)."""
    if isinstance(v, dict):
        return _n_rows(next(iter(v.values())))
    if isinstance(v, (list, tuple)) and v and any(hasattr(a, "shape") or isinstance(a, (list, tuple, dict))
                                                  for a in v):
        return _n_rows(v[0])
    return int(np.shape(v)[0])


# ------------------------------------------------------------- DataParallel
class DataParallel:
    """Trains ``model`` (a compiled ``ranvier.Sequential`` or ``ranvier.Model``, graphs with
    several inputs and outputs included) on every rank of the job.

    ``DataParallel(model, check_data=True)``; ``.fit(...)`` takes ``Sequential.fit``'s
    arguments (``batch_size`` is the global batch, split over ranks) and returns the
    History (the same merged values on every rank); ``.evaluate(...)`` is sharded and
    merged. ``check_data`` adds a CRC32 of x, y and sample weights to the start-of-fit
    configuration check (one pass over the data).
    """

    def __init__(self, model, check_data: bool = True):
        from .. import models
        if not isinstance(model, models.Sequential):
            raise TypeError(f"DataParallel: expected a ranvier.Sequential or ranvier.Model, got "
                            f"{type(model).__name__}")
        _ensure_init()
        self.model = model
        self.check_data = bool(check_data)
        self._fit_args: Dict[str, Any] = {}
        self._started = False
        self._proxy: Optional[_ShardedTrainer] = None
        self._stop_sync: Optional[_StopSync] = None

    @property
    def rank(self) -> int:
        """This process's MPI rank (0 ... size - 1)."""
        return _world.rank

    @property
    def size(self) -> int:
        """The number of MPI ranks training together."""
        return _world.size

    # ---------------------------------------------------------------- fit
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1):
        """``Sequential.fit`` on every rank, data-parallel (see the module documentation)."""
        from .. import _data
        for name, v in (("x", x), ("validation_data", validation_data)):
            if v is not None and _data.is_data_source(v):
                raise TypeError(f"DataParallel.fit: {name} is a {type(v).__name__}; data-parallel training "
                                f"shards NumPy arrays (each rank takes its rows of every batch). Pass "
                                f"arrays, or train on generators / datasets with Sequential.fit")
        model = self.model
        w = _world
        if callbacks is None:
            cbs: List[Any] = []
        elif isinstance(callbacks, callbacks_module.Callback):
            cbs = [callbacks]
        else:
            cbs = list(callbacks)
        if w.rank != 0:
            cbs = [cb for cb in cbs if not isinstance(cb, _ROOT_ONLY)]
            verbose = 0
        self._stop_sync = _StopSync(self)
        # May some callback stop training mid-epoch? (agreed over ranks at the start)
        self._local_batch_stop = any(
            isinstance(cb, callbacks_module.Callback) and not isinstance(cb, _NO_STOP)
            and cb._requires_batch_hooks("train") for cb in cbs)
        cbs.append(self._stop_sync)
        self._fit_args = {
            "batch_size": batch_size, "epochs": epochs, "shuffle": shuffle, "initial_epoch": initial_epoch,
            "steps_per_epoch": steps_per_epoch, "validation_split": validation_split,
            "validation_data shapes": None if validation_data is None else
            [_shape(a) for a in validation_data],
            "validation_batch_size": validation_batch_size, "validation_freq": validation_freq,
            "class_weight": None if class_weight is None else sorted((int(k), float(v))
                                                                     for k, v in class_weight.items()),
        }
        self._started = False
        model._get_trainer = self._get_trainer  # the fit loop asks for its trainer here
        try:
            return model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=verbose, callbacks=cbs,
                             validation_split=validation_split, validation_data=validation_data,
                             shuffle=shuffle, class_weight=class_weight, sample_weight=sample_weight,
                             initial_epoch=initial_epoch, steps_per_epoch=steps_per_epoch,
                             validation_steps=validation_steps, validation_batch_size=validation_batch_size,
                             validation_freq=validation_freq)
        except DistributedError:
            raise  # raised the same way on every rank
        except BaseException as e:
            if w.size > 1:
                if not self._started:
                    # Failed before the start-of-fit exchange: tell the others, who wait in it.
                    self._exchange({"error": f"{type(e).__name__}: {e}"})
                    raise
                _abort(e)
            raise
        finally:
            try:
                del model._get_trainer
            except AttributeError:
                pass
            proxy, self._proxy = self._proxy, None
            if proxy is not None:
                proxy._t.set_grad_hook(None)
                proxy._t.set_shard(0, 1)

    def _get_trainer(self):
        trainer = type(self.model)._get_trainer(self.model)  # the class's (a graph model has its own)
        self._proxy = _ShardedTrainer(self, trainer)
        return self._proxy

    # ---------------------------------------------------- the start of fit
    def _exchange(self, info: Dict[str, Any]) -> List[Dict[str, Any]]:
        with _watch("the start-of-fit configuration check"):
            return _world.comm.allgather(info)

    def _fingerprint(self, x, y, sw, batch_size) -> Dict[str, str]:
        from .. import __version__
        model = self.model
        # the layer of each network node (a graph's node order; a shared layer is several nodes)
        profile = getattr(model, "_profile_layers", None)
        node_layers = profile() if profile is not None else model._layers
        fp: Dict[str, Any] = {
            "ranvier version": __version__,
            "input shape": _jsonable(model.input_shape),
            "model": {f"layer {i} ({type(layer).__name__})": _jsonable(_strip_names(layers_module.serialize(layer)))
                      for i, layer in enumerate(model._layers)},
            "weight shapes": {
                f"layer {t['layer']} ({type(node_layers[t['layer']]).__name__}) {t['name']}"
                + ("" if t["trainable"] else " (non-trainable)"): list(t["shape"])
                for t in model._built_net().tensors()},
            "compile": _jsonable(_strip_names(model._compile_config)),
            "x.shape": _shape(x),
            "y.shape": _shape(y),
            "sample_weight.shape": _shape(sw),
            "batch_size": int(batch_size),
        }
        for k, v in self._fit_args.items():
            if k != "batch_size":
                fp[k] = _jsonable(v)
        if self.check_data:
            fp["x CRC32"] = _crc(x)
            fp["y CRC32"] = _crc(y)
            fp["sample_weight CRC32"] = _crc(sw)
        return fp

    def _start(self, trainer, x, y, sw, batch_size) -> None:
        """Start-of-fit: configuration check, broadcasts, sharding and the gradient hook."""
        w = _world
        model = self.model
        fp = self._fingerprint(x, y, sw, batch_size)
        infos = [{"fingerprint": fp, "batch_stop": self._local_batch_stop}]
        if w.size > 1:
            infos = self._exchange(infos[0])
        self._started = True
        errors = [(r, i["error"]) for r, i in enumerate(infos) if "error" in i]
        if errors:
            raise DistributedError(
                "ranvier.distributed: fit failed before training started on "
                + "; ".join(f"rank {r}: {msg}" for r, msg in errors))
        diffs = _compare([i["fingerprint"] for i in infos])
        if diffs:
            raise DistributedConfigError(
                "ranvier.distributed: the ranks disagree on the training configuration (every "
                "rank must build the same model and load the same data):\n" + "\n".join(diffs))
        for layer in model._layers:
            if getattr(layer, "activity_regularizer", None) is not None:
                raise DistributedConfigError(
                    f"ranvier.distributed: layer '{layer.name}' has an activity_regularizer, which "
                    f"data-parallel training does not support (the layer scales its penalty by the "
                    f"rank's local batch size)")
        assert self._stop_sync is not None, "fit() creates it before the first batch"
        self._stop_sync.batch_mode = any(i["batch_stop"] for i in infos)
        if w.size == 1:
            return
        self.broadcast_weights()
        trainer.set_shard(w.rank, w.size)
        grads = model._built_net().grads()
        MPI, comm_ = w.MPI, w.comm
        dog = w.watchdog
        in_place, op_sum = MPI.IN_PLACE, MPI.SUM

        def allreduce_grads():
            dog.arm("the gradient allreduce")
            comm_.Allreduce(in_place, grads, op=op_sum)
            dog.disarm()

        trainer.set_grad_hook(allreduce_grads)

    def broadcast_weights(self) -> None:
        """Copies rank 0's weights, non-trainable state, optimizer state and step counter
        to every rank (collective; fit does it at its start)."""
        w = _world
        model = self.model
        if w.size == 1 or model._net is None:
            return
        net = model._net
        with _watch("the broadcast of rank 0's weights"):
            w.comm.Bcast(net.params(), root=0)
            if net.state().size:
                w.comm.Bcast(net.state(), root=0)
            opt = model.optimizer
            opt_state = opt.get_state() if (w.rank == 0 and opt is not None and opt.built) else None
            extra = w.comm.bcast({"optimizer": opt_state, "train_steps": int(net.train_steps)}, root=0)
        if extra["optimizer"] is not None and opt is not None and opt.built:
            opt.set_state(extra["optimizer"])
        net.train_steps = extra["train_steps"]

    # ------------------------------------------------------------- stopping
    def _agree_stop(self, mid_epoch: bool) -> None:
        w = _world
        model = self.model
        if w.size > 1:
            flag = np.array([1 if model.stop_training else 0], dtype=np.int32)
            with _watch("agreeing on stop_training"):
                w.comm.Allreduce(w.MPI.IN_PLACE, flag, op=w.MPI.MAX)
            model.stop_training = bool(flag[0])
        if mid_epoch and model.stop_training and self._proxy is not None:
            self._proxy._ensure_reduced()  # the epoch ends early: merge its logs now

    # ------------------------------------------------------------- evaluate
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 return_dict=False):
        """``Sequential.evaluate`` sharded over ranks, merged: the same result on every rank."""
        model = self.model
        w = _world
        n = _n_rows(x)
        lo, hi = w.rank * n // w.size, (w.rank + 1) * n // w.size
        if w.rank != 0:
            verbose = 0
        sw = _rows(sample_weight, lo, hi)
        if hi > lo:
            logs = model.evaluate(_rows(x, lo, hi), _rows(y, lo, hi), batch_size=batch_size, verbose=verbose,
                                  sample_weight=sw, return_dict=True)
            loss_sum = logs["loss"] * (hi - lo)
        else:
            # Nothing to evaluate here: still resolve the metrics and join the merge.
            logs = model.evaluate(_rows(x, 0, 1), _rows(y, 0, 1), batch_size=1, verbose=0, return_dict=True)
            model._trainer.reset_metrics()
            loss_sum = 0.0
        proxy = _ShardedTrainer(self, model._trainer)
        proxy._merge(loss_sum, hi - lo, "merging evaluate's loss and metrics")
        out: Dict[str, Any] = model._logs(proxy)  # the merged loss (per output too) and metrics
        return model._format_results(out, return_dict)
