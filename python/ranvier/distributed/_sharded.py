"""The sharded trainer behind ``DataParallel`` (gradients summed across ranks in place),
the cross-rank consistency checks and the synchronised stop."""
from __future__ import annotations

import json
import zlib
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from .. import callbacks as callbacks_module
from ._mpi import _watch, _world


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


def _shape(a) -> Any:
    """The shape of an array; of a graph model's data (a list of arrays, one per input or
    output: ``Rows``), the list of their shapes."""
    if isinstance(a, (list, tuple)) and not isinstance(a, np.ndarray) and any(hasattr(v, "shape") for v in a):
        return [_shape(v) for v in a]
    return None if a is None else [int(d) for d in np.shape(a)]


def _crc(a: Any) -> Optional[str]:
    if a is None:
        return None
    if isinstance(a, (list, tuple)) and not isinstance(a, np.ndarray) and any(hasattr(v, "shape") for v in a):
        return ",".join(str(_crc(v)) for v in a)
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

    def __init__(self, dp: Any, trainer):
        self._dp = dp
        self._t = trainer
        self._reduced = False
        self._global_loss = 0.0
        self._global_out: List[float] = []  # the merged loss of each output (graph models)
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

    def output_mean_losses(self):
        return list(self._global_out) if self._reduced else self._t.output_mean_losses()

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
        # each output's loss, weighted by the rows as the total is (none without rows: a rank
        # with an empty shard adds zeros)
        outs = np.asarray(self._t.output_mean_losses(), dtype=np.float64) if rows > 0 else \
            np.zeros(len(self._t.output_mean_losses()), np.float64)
        buf = np.concatenate([np.array([loss_sum, float(rows)], dtype=np.float64), outs * rows] + states)
        if _world.size > 1:
            with _watch(what):
                _world.comm.Allreduce(_world.MPI.IN_PLACE, buf, op=_world.MPI.SUM)
        self._global_out = [float(v / buf[1]) if buf[1] > 0 else 0.0 for v in buf[2:2 + outs.size]]
        off = 2 + outs.size
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

    def __init__(self, dp: Any):
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
