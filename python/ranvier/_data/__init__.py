"""Data the way Keras takes it: generators, iterables of batches, ``PyDataset`` and
batched datasets from other libraries, for ``fit`` / ``evaluate`` / ``predict``.

NumPy arrays (and anything array-like: pandas, lists, objects with ``__array__``)
keep the fast path in ``models``: whole epochs run in C++. Everything else goes
through here, one batch at a time:

- an *adapter* (``make_adapter``) recognises the source by its protocol (nothing is
  imported: a ``tf.data.Dataset`` or a torch ``DataLoader`` is recognised by its
  class's module and name) and gives a fresh iterator of raw batches per epoch, the
  number of batches when it is known, and the epoch hooks;
- an ``EpochIterator`` follows Keras's ``steps_per_epoch`` semantics exactly (see
  its docstring);
- a ``_Prefetcher`` thread pulls the next raw batch from the source and converts it
  (float32 C-contiguous rows, the same checks as for arrays) while the C++ core
  trains on the current one with the GIL released. It never fetches more batches
  than the epoch asks for, so a generator shared between epochs loses nothing;
- ``fit`` / ``evaluate`` / ``predict`` here drive ``Trainer.train_batch(...,
  reset=False)`` / ``Trainer.evaluate(..., reset=False)`` / ``Network.predict`` per
  batch, with the same callbacks, History, progress bar, ``class_weight`` and
  validation as the array path.

A batch is a tuple (or list) ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``; a bare
array is ``(x,)``. Every element must convert to a NumPy array of real numbers
(NumPy arrays, torch tensors, TensorFlow tensors, pandas objects).

The package: ``_adapters.py`` (sources and conversion), ``_epochs.py`` (prefetching,
``EpochIterator``), ``_loops.py`` (fit / evaluate / predict batch by batch).
"""
from __future__ import annotations

from ._adapters import (RAN_OUT, SUPPORTED, PyDataset, Sequence, _is_tf_dataset, _is_torch_dataloader,
                        batched_if_unbatched, is_array_like, is_data_source, make_adapter, to_numpy, unpack_batch)
from ._epochs import EpochIterator, _Prefetcher
from ._loops import cap_rows, evaluate, fit, predict, prepare_validation, run_validation

__all__ = ["PyDataset", "Sequence", "is_data_source", "make_adapter", "EpochIterator"]

_REEXPORTED = (RAN_OUT, SUPPORTED, Sequence, _is_tf_dataset, _is_torch_dataloader, batched_if_unbatched,
               is_array_like, to_numpy,
               unpack_batch, _Prefetcher, cap_rows, evaluate, fit, predict, prepare_validation, run_validation)
PyDataset.__module__ = __name__  # its home before the split (ranvier.utils.PyDataset)
