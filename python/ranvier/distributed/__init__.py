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

The package: ``_mpi.py`` (the world, ``init``, the watchdog), ``_sharded.py`` (the
sharded trainer, cross-rank checks, synchronised stop), ``_data_parallel.py``
(``DataParallel``).
"""
from __future__ import annotations

from ._data_parallel import DataParallel
from ._mpi import (DEFAULT_TIMEOUT, DistributedConfigError, DistributedError, barrier, comm, init, is_root, rank,
                   size)

__all__ = [
    "init", "rank", "size", "is_root", "comm", "barrier", "DataParallel", "DistributedError",
    "DistributedConfigError", "DEFAULT_TIMEOUT",
]

for _name in ("DataParallel", "DistributedError", "DistributedConfigError", "init", "rank", "size", "is_root",
              "comm", "barrier"):  # their public home, as before the split (reprs, pickles)
    globals()[_name].__module__ = __name__
del _name
