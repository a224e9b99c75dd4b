"""Synchronous data-parallel training over MPI: ``ranvier.distributed``.

The same script, launched with ``mpiexec -n N python train.py``, trains one model on
N processes (ranks)::

    import ranvier
    from ranvier import distributed as dist

    rank, size = dist.init()                      # MPI via mpi4py; (this rank, ranks)
    model = ranvier.Sequential([...])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = dist.DataParallel(model).fit(x, y, batch_size=256, epochs=10)
    if dist.is_root():
        model.save("model.safetensors")

Every rank loads the same (whole) data set; ``DataParallel(model).fit`` takes the
arguments of ``Sequential.fit`` and:

- checks at the start that every rank has the same configuration (model layers and
  sizes, compile settings, data shapes and, by default, a CRC of the data, batch size,
  epochs, validation settings...) and raises the same clear error on every rank
  otherwise;
- broadcasts rank 0's weights, non-trainable state and optimizer state, and every
  epoch's shuffling seed, so all ranks walk the same permutation;
- ``batch_size`` is the GLOBAL batch: rank r trains on rows ``[r*b//N, (r+1)*b//N)`` of
  every batch of b rows. The loss gradient is scaled by 1/b (the whole batch) in C++
  and the flat gradient buffer is summed with ONE ``MPI_Allreduce`` per step, so every
  rank gets the gradient the single process would compute for the whole batch (up to
  float32 summation order) and applies the same optimizer step: the replicas stay
  identical;
- the epoch's loss and metrics are merged over ranks at the end of the epoch (metric
  states are sums: they are added), validation is sharded the same way and merged, and
  BatchNormalization moving statistics are averaged over ranks at each epoch end;
- callbacks run on every rank (so EarlyStopping, ReduceLROnPlateau, LearningRateScheduler
  decide the same everywhere: they see the same merged epoch logs), except that only
  rank 0 draws progress and writes files: ProgbarLogger, ModelCheckpoint and CSVLogger
  are dropped on the other ranks. ``model.stop_training`` is agreed over ranks at every
  epoch end, and after every batch when a callback hooks batches;
- faults: a rank that dies makes mpiexec end the job; in addition every collective is
  watched: a rank that waits more than ``timeout`` seconds (default 300, or
  ``RANVIER_MPI_TIMEOUT``) for the others prints a clear error and aborts the whole
  job. An exception on one rank during training aborts the job (MPI_Abort) rather than
  leaving the others waiting.

Batch-level logs (the live progress bar, ``on_train_batch_end``) show rank 0's running
values; epoch logs and History hold the merged values, identical on every rank.
Not the single-process result exactly: Dropout masks are drawn per rank (keyed by step
and rank), and BatchNormalization normalizes with each rank's shard statistics (as
PyTorch DDP without SyncBatchNorm). Layers with an activity_regularizer are rejected (the
layer scales its penalty by the local batch size).

This module imports mpi4py on first use only; ``import ranvier`` never does.
Install mpi4py and an MPI with ``pip install mpi4py mpich`` (the ``mpi`` extra:
``pip install ".[mpi]"`` in a checkout).
"""
from __future__ import annotations

import json
import os
import sys
import threading
import time
import traceback
import zlib
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from . import callbacks as callbacks_module
from . import layers as layers_module
from . import metrics as metrics_module

__all__ = [
    "init", "rank", "size", "is_root", "comm", "barrier", "DataParallel", "DistributedError",
    "DistributedConfigError", "DEFAULT_TIMEOUT",
]

DEFAULT_TIMEOUT = 300.0  # seconds a rank may wait for the others in one collective

_INSTALL_HINT = ("ranvier.distributed needs mpi4py and an MPI library; install them with "
                 "pip install 'ranvier[mpi]' (mpi4py plus the MPICH wheels), or "
                 "pip install mpi4py mpich")


class DistributedError(RuntimeError):
    """A failure of distributed training that every rank reports the same way."""


class DistributedConfigError(DistributedError, ValueError):
    """The ranks disagree on the training configuration (raised on every rank)."""


def _import_mpi():
    try:
        from mpi4py import MPI  # noqa: WPS433 (lazy on purpose)
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(f"{_INSTALL_HINT} ({e})") from e
    return MPI


class _World:
    """The process-wide distributed state set by :func:`init`."""

    def __init__(self):
        self.MPI = None
        self.comm = None
        self.rank = 0
        self.size = 1
        self.timeout = DEFAULT_TIMEOUT
        self.watchdog: Optional[_Watchdog] = None


_world = _World()


def _env_timeout() -> Optional[float]:
    v = os.environ.get("RANVIER_MPI_TIMEOUT")
    if not v:
        return None
    try:
        t = float(v)
    except ValueError:
        raise ValueError(f"RANVIER_MPI_TIMEOUT must be a number of seconds, got {v!r}") from None
    if not t > 0:
        raise ValueError(f"RANVIER_MPI_TIMEOUT must be > 0 seconds, got {v!r}")
    return t


def init(comm=None, timeout: Optional[float] = None, num_threads="auto") -> Tuple[int, int]:
    """Initializes MPI (through mpi4py) and returns ``(rank, size)``.

    ``comm``: an mpi4py communicator (default ``MPI.COMM_WORLD``).
    ``timeout``: seconds a rank waits in one collective before it reports that another
    rank died or hangs and aborts the job (default ``RANVIER_MPI_TIMEOUT`` or 300).
    ``num_threads``: ``"auto"`` gives each rank ``cores // ranks on this node`` ranvier
    threads (at least 1) unless ``OMP_NUM_THREADS`` is set, so that N ranks on one
    machine do not oversubscribe its cores; an int sets that many; None leaves it.
    Calling it again replaces the communicator and timeout.
    """
    MPI = _import_mpi()
    if comm is None:
        comm = MPI.COMM_WORLD
    if timeout is None:
        timeout = _env_timeout() or DEFAULT_TIMEOUT
    if not (isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and timeout > 0):
        raise ValueError(f"init: timeout must be a number of seconds > 0, got {timeout!r}")
    _world.MPI = MPI
    _world.comm = comm
    _world.rank = comm.Get_rank()
    _world.size = comm.Get_size()
    _world.timeout = float(timeout)
    if _world.watchdog is None:
        _world.watchdog = _Watchdog()
    if num_threads == "auto":
        if not os.environ.get("OMP_NUM_THREADS"):
            local = comm.Split_type(MPI.COMM_TYPE_SHARED)
            n_local = local.Get_size()
            local.Free()
            if n_local > 1:
                from . import _runtime
                _runtime.set_num_threads(max(1, _cpu_count() // n_local))
    elif num_threads is not None:
        from . import _runtime
        _runtime.set_num_threads(int(num_threads))
    return _world.rank, _world.size


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        return os.cpu_count() or 1


def _ensure_init():
    if _world.comm is None:
        init()


def rank() -> int:
    """This process's rank (0 before :func:`init` is called)."""
    return _world.rank


def size() -> int:
    """The number of ranks (1 before :func:`init` is called)."""
    return _world.size


def is_root() -> bool:
    """True on rank 0 (the rank that prints and writes files)."""
    return _world.rank == 0


def comm():
    """The mpi4py communicator in use (initializes MPI if needed)."""
    _ensure_init()
    return _world.comm


def barrier() -> None:
    """Waits for every rank (watched by the timeout)."""
    _ensure_init()
    with _watch("barrier"):
        _world.comm.Barrier()


# ----------------------------------------------------------------- the watchdog
class _Watchdog:
    """A daemon thread that aborts the job when a collective waits longer than the timeout.

    mpi4py releases the GIL while an MPI call blocks, so this thread runs while the main
    thread waits for a rank that died or hangs. It prints which collective was waiting
    and calls MPI_Abort (the whole job ends; mpiexec reports it)."""

    def __init__(self):
        self._since: Optional[float] = None
        self._what = ""
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="ranvier-mpi-watchdog", daemon=True)
        self._thread.start()

    def arm(self, what: str) -> None:
        self._what = what
        self._since = time.monotonic()

    def disarm(self) -> None:
        self._since = None

    def _loop(self) -> None:
        while True:
            timeout = _world.timeout
            time.sleep(max(0.05, min(1.0, timeout / 20.0)))
            since = self._since
            if since is None or time.monotonic() - since <= timeout:
                continue
            msg = (f"ranvier.distributed: rank {_world.rank} of {_world.size} waited more than "
                   f"{timeout:g} s in {self._what} for the other ranks: one of them died, hangs, or "
                   f"is far behind. Aborting the job (set the limit with init(timeout=...) or "
                   f"RANVIER_MPI_TIMEOUT).\n")
            try:
                sys.stderr.write(msg)
                sys.stderr.flush()
            finally:
                try:
                    _world.comm.Abort(70)
                finally:
                    os._exit(70)


class _watch:
    """``with _watch("what"):`` arms the watchdog around one collective."""

    __slots__ = ("what",)

    def __init__(self, what: str):
        self.what = what

    def __enter__(self):
        _world.watchdog.arm(self.what)

    def __exit__(self, *exc):
        _world.watchdog.disarm()
        return False


def _abort(exc: BaseException) -> None:
    """Prints the exception with this rank's number and aborts every rank."""
    sys.stderr.write(f"ranvier.distributed: rank {_world.rank} of {_world.size} raised during "
                     f"distributed training; aborting the job so the other ranks do not wait:\n")
    traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    sys.stderr.flush()
    try:
        _world.comm.Abort(1)
    finally:
        os._exit(1)


# --------------------------------------------------------------- fingerprints
def _jsonable(obj):
    """``obj`` as plain JSON data (objects that are not, e.g. callables, by type name)."""
    return json.loads(json.dumps(obj, sort_keys=True, default=lambda o: f"<{type(o).__name__}>"))


def _strip_names(obj):
    if isinstance(obj, dict):
        return {k: _strip_names(v) for k, v in obj.items() if k != "name"}
    if isinstance(obj, list):
        return [_strip_names(v) for v in obj]
    return obj


def _shape(a) -> Optional[List[int]]:
    return None if a is None else [int(d) for d in np.shape(a)]


def _crc(a: Optional[np.ndarray]) -> Optional[str]:
    if a is None:
        return None
    a = np.ascontiguousarray(a)
    return f"{zlib.crc32(a.data.cast('B')):08x}"


def _short(v, limit: int = 120) -> str:
    t = v if isinstance(v, str) else json.dumps(v, sort_keys=True, default=str)
    return t if len(t) <= limit else t[:limit - 3] + "..."


def _diff(a, b, path: str, out: List[Tuple[str, Any, Any]]) -> None:
    """The leaves where ``a`` and ``b`` (JSON-like) differ, as (path, a, b)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            _diff(a.get(k), b.get(k), f"{path}.{k}" if path else str(k), out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (u, v) in enumerate(zip(a, b)):
            _diff(u, v, f"{path}[{i}]", out)
    elif a != b:
        out.append((path, a, b))


def _compare(fps: List[Dict[str, Any]], max_lines: int = 12) -> List[str]:
    """Lines describing where ranks differ from rank 0 (empty when they agree)."""
    ref = fps[0]
    lines: List[str] = []
    for r, fp in enumerate(fps[1:], start=1):
        for key in ref:
            leaves: List[Tuple[str, Any, Any]] = []
            _diff(fp.get(key), ref[key], "", leaves)
            for path, mine, root in leaves:
                where = f"{key}: {path}" if path else key
                lines.append(f"  {where}: rank {r} has {_short(mine)}, rank 0 has {_short(root)}")
    if len(lines) > max_lines:
        lines = lines[:max_lines] + [f"  ... and {len(lines) - max_lines} more differences"]
    return lines


# ---------------------------------------------------------------- the trainer
class _ShardedTrainer:
    """Stands in for the model's ``_core.Trainer`` during ``DataParallel.fit``.

    The model's own fit loop drives it; it forwards to the C++ trainer (sharded, with the
    allreduce hook installed) and adds the collectives at the points every rank reaches
    together: the start (configuration check, broadcasts), each epoch's start (the
    shuffling seed), the end of an epoch's last step (merging loss and metrics) and
    validation (sharded, merged)."""

    def __init__(self, dp: "DataParallel", trainer):
        self._dp = dp
        self._t = trainer
        self._reduced = False
        self._global_loss = 0.0
        self._steps = 0
        self._n = 0
        self._batch = 0

    # --- training data and the start of fit
    def set_train_data(self, x, y, sw, batch_size):
        self._t.set_train_data(x, y, sw, batch_size)
        self._n = int(x.shape[0])
        self._batch = int(min(batch_size, self._n))
        steps = int(self._t.steps_per_epoch())
        if self._dp._fit_args.get("steps_per_epoch") is not None:
            steps = min(steps, int(self._dp._fit_args["steps_per_epoch"]))
        self._steps = steps
        self._dp._start(self._t, x, y, sw, batch_size)

    def clear_train_data(self):
        self._t.clear_train_data()

    def steps_per_epoch(self):
        return self._t.steps_per_epoch()

    def step_in_epoch(self):
        return self._t.step_in_epoch()

    def begin_epoch(self, shuffle, seed):
        w = _world
        if w.size > 1:
            buf = np.array([seed], dtype=np.uint64)
            with _watch("the broadcast of the epoch's shuffling seed"):
                w.comm.Bcast(buf, root=0)
            seed = int(buf[0])
        self._reduced = False
        self._t.begin_epoch(shuffle, seed)

    def run(self, max_steps, budget):
        ran = self._t.run(max_steps, budget)
        if self._t.step_in_epoch() >= self._steps and not self._reduced:
            self._reduce_epoch()
        return ran

    # --- loss and metrics
    def mean_loss(self):
        return self._global_loss if self._reduced else self._t.mean_loss()

    def reset_metrics(self):
        self._reduced = False
        self._t.reset_metrics()

    def train_batch(self, *args, **kwargs):  # pragma: no cover - not reached from fit
        raise NotImplementedError("DataParallel does not run train_on_batch")

    def _local_rows(self, steps: int) -> int:
        """Rows this rank trained on in the epoch's first ``steps`` steps."""
        if steps <= 0:
            return 0
        r, n_ranks = _world.rank, _world.size
        starts = np.arange(steps, dtype=np.int64) * self._batch
        b = np.minimum(self._batch, self._n - starts)
        return int(np.sum((r + 1) * b // n_ranks - r * b // n_ranks))

    def _metrics(self):
        seen, out = set(), []
        for r in self._dp.model._resolved_metrics:
            if id(r.metric) not in seen:
                seen.add(id(r.metric))
                out.append(r.metric)
        return out

    def _merge(self, loss_sum: float, rows: int, what: str) -> None:
        """Sums (loss_sum, rows, every metric's state) over ranks and installs the result."""
        metrics = self._metrics()
        states = [np.asarray(m._state(), dtype=np.float64) for m in metrics]
        buf = np.concatenate([np.array([loss_sum, float(rows)], dtype=np.float64)] + states)
        if _world.size > 1:
            with _watch(what):
                _world.comm.Allreduce(_world.MPI.IN_PLACE, buf, op=_world.MPI.SUM)
        off = 2
        for m, s in zip(metrics, states):
            m._set_state(buf[off:off + s.size].tolist())
            off += s.size
        self._global_loss = float(buf[0] / buf[1]) if buf[1] > 0 else 0.0
        self._reduced = True

    def _reduce_epoch(self) -> None:
        rows = self._local_rows(int(self._t.step_in_epoch()))
        self._merge(float(self._t.mean_loss()) * rows, rows, "merging the epoch's loss and metrics")
        state = self._dp.model._built_net().state()
        if _world.size > 1 and state.size:
            with _watch("averaging the non-trainable state (BatchNormalization statistics)"):
                _world.comm.Allreduce(_world.MPI.IN_PLACE, state, op=_world.MPI.SUM)
            state /= np.float32(_world.size)

    def _ensure_reduced(self) -> None:
        if not self._reduced:
            self._reduce_epoch()

    # --- validation: sharded, merged
    def evaluate(self, x, y, sw, batch_size, reset=True):
        if not reset:  # pragma: no cover - the fit loop always resets
            raise NotImplementedError("DataParallel: batch-by-batch evaluate is not supported")
        n = int(x.shape[0])
        lo, hi = _world.rank * n // _world.size, (_world.rank + 1) * n // _world.size
        if hi > lo:
            loss = float(self._t.evaluate(x[lo:hi], y[lo:hi], None if sw is None else sw[lo:hi],
                                          batch_size))
        else:
            self._t.reset_metrics()
            loss = 0.0
        self._merge(loss * (hi - lo), hi - lo, "merging the validation loss and metrics")
        return self._global_loss


# ------------------------------------------------------------ stop agreement
class _StopSync(callbacks_module.Callback):
    """The last user callback on every rank: agrees on ``model.stop_training``.

    At every epoch end (after the user's callbacks decided), and, when some rank has a
    callback that hooks training batches (and so may stop mid-epoch), after every batch."""

    def __init__(self, dp: "DataParallel"):
        super().__init__()
        self._dp = dp
        self.batch_mode = False

    def _requires_batch_hooks(self, kind: str) -> bool:
        return kind == "train" and self.batch_mode

    def on_train_batch_end(self, batch, logs=None):
        if self.batch_mode:
            self._dp._agree_stop(mid_epoch=True)

    def on_epoch_end(self, epoch, logs=None):
        self._dp._agree_stop(mid_epoch=False)


_ROOT_ONLY = (callbacks_module.ProgbarLogger, callbacks_module.ModelCheckpoint, callbacks_module.CSVLogger)
_NO_STOP = _ROOT_ONLY + (callbacks_module.History,)


# ------------------------------------------------------------- DataParallel
class DataParallel:
    """Trains ``model`` (a compiled ``ranvier.Sequential``) on every rank of the job.

    ``DataParallel(model, check_data=True)``; ``.fit(...)`` takes ``Sequential.fit``'s
    arguments (``batch_size`` is the global batch, split over ranks) and returns the
    History (the same merged values on every rank); ``.evaluate(...)`` is sharded and
    merged. ``check_data`` adds a CRC32 of x, y and sample weights to the start-of-fit
    configuration check (one pass over the data).
    """

    def __init__(self, model, check_data: bool = True):
        from . import models
        if not isinstance(model, models.Sequential):
            raise TypeError(f"DataParallel: expected a ranvier.Sequential, got {type(model).__name__}")
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
        from . import _data
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
        from . import models
        trainer = models.Sequential._get_trainer(self.model)
        self._proxy = _ShardedTrainer(self, trainer)
        return self._proxy

    # ---------------------------------------------------- the start of fit
    def _exchange(self, info: Dict[str, Any]) -> List[Dict[str, Any]]:
        with _watch("the start-of-fit configuration check"):
            return _world.comm.allgather(info)

    def _fingerprint(self, x, y, sw, batch_size) -> Dict[str, str]:
        from . import __version__
        model = self.model
        fp: Dict[str, Any] = {
            "ranvier version": __version__,
            "input shape": _jsonable(model.input_shape),
            "model": {f"layer {i} ({type(layer).__name__})": _jsonable(_strip_names(layers_module.serialize(layer)))
                      for i, layer in enumerate(model.layers)},
            "weight shapes": {
                f"layer {t['layer']} ({type(model.layers[t['layer']]).__name__}) {t['name']}"
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
        for layer in model.layers:
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
        x_all = np.asarray(x) if not hasattr(x, "shape") else x
        n = int(np.shape(x_all)[0])
        lo, hi = w.rank * n // w.size, (w.rank + 1) * n // w.size
        if w.rank != 0:
            verbose = 0
        sw = None if sample_weight is None else np.asarray(sample_weight)[lo:hi]
        if hi > lo:
            logs = model.evaluate(x_all[lo:hi], np.asarray(y)[lo:hi], batch_size=batch_size, verbose=verbose,
                                  sample_weight=sw, return_dict=True)
            loss_sum = logs["loss"] * (hi - lo)
        else:
            # Nothing to evaluate here: still resolve the metrics and join the merge.
            logs = model.evaluate(x_all[:1], np.asarray(y)[:1], batch_size=1, verbose=0, return_dict=True)
            model._trainer.reset_metrics()
            loss_sum = 0.0
        proxy = _ShardedTrainer(self, model._trainer)
        proxy._merge(loss_sum, hi - lo, "merging evaluate's loss and metrics")
        out: Dict[str, Any] = {"loss": proxy._global_loss}
        for r in model._resolved_metrics:
            out[r.key] = metrics_module.log_value(r.metric.result())
        out = dict(sorted(out.items()))
        return model._format_results(out, return_dict)
