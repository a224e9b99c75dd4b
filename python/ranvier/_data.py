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
"""
from __future__ import annotations

import collections
import concurrent.futures
import itertools
import random
import threading
import time
import warnings
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import numpy as np

from . import _checks

__all__ = ["PyDataset", "Sequence", "is_data_source", "make_adapter", "EpochIterator"]

RAN_OUT = ("Your input ran out of data; interrupting training. Make sure that your dataset or "
            "generator can generate at least `steps_per_epoch * epochs` batches. You may need to "
            "use the `.repeat()` function when building your dataset.")

SUPPORTED = ("NumPy arrays (or array-likes: lists, pandas objects, tensors with __array__), "
             "a Python generator or any iterable of (x, y) / (x, y, sample_weight) batches, "
             "a ranvier.utils.PyDataset (or keras.utils.PyDataset / Sequence), a batched "
             "tf.data.Dataset, or a torch DataLoader")


# ----------------------------------------------------------------------------- PyDataset
class PyDataset:
    """Keras's ``PyDataset`` (alias ``Sequence``): a data set of batches, indexed.

    Subclasses call ``super().__init__(**kwargs)`` and implement ``__len__`` (the
    number of batches) and ``__getitem__(index)`` (a full batch: ``(x, y)``,
    ``(x, y, sample_weight)``, ``(x,)`` or a bare ``x``); optionally
    ``on_epoch_begin()``, ``on_epoch_end()`` and a ``num_batches`` property (None for an
    infinite data set). ``workers`` > 1 fetches batches with that many threads, in
    order, at most ``max_queue_size`` ahead; ``use_multiprocessing`` is accepted and
    uses threads too (ranvier trains in C++ with the GIL released, so threads already
    overlap the data work with training). ``fit(shuffle=True)`` shuffles the batch
    order each epoch; evaluate and predict go in order.
    """

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        self._workers = workers
        self._use_multiprocessing = use_multiprocessing
        self._max_queue_size = max_queue_size

    def _warn_if_super_not_called(self) -> None:
        warn = False
        for attr, default in (("_workers", 1), ("_use_multiprocessing", False), ("_max_queue_size", 10)):
            if not hasattr(self, attr):
                setattr(self, attr, default)
                warn = True
        if warn:
            warnings.warn("Your `PyDataset` class should call `super().__init__(**kwargs)` in its "
                          "constructor. `**kwargs` can include `workers`, `use_multiprocessing`, "
                          "`max_queue_size`. Do not pass these arguments to `fit()`, as they will "
                          "be ignored.", stacklevel=3)

    @property
    def workers(self) -> int:
        """The number of threads that fetch batches (1: the prefetch thread alone)."""
        self._warn_if_super_not_called()
        return self._workers

    @workers.setter
    def workers(self, value) -> None:
        self._workers = value

    @property
    def use_multiprocessing(self) -> bool:
        """Accepted for Keras compatibility; ranvier fetches with threads."""
        self._warn_if_super_not_called()
        return self._use_multiprocessing

    @use_multiprocessing.setter
    def use_multiprocessing(self, value) -> None:
        self._use_multiprocessing = value

    @property
    def max_queue_size(self) -> int:
        """How many batches the worker threads may fetch ahead."""
        self._warn_if_super_not_called()
        return self._max_queue_size

    @max_queue_size.setter
    def max_queue_size(self, value) -> None:
        self._max_queue_size = value

    def __getitem__(self, index):
        """The batch at position ``index`` (subclasses implement it)."""
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__(index)")

    def __iter__(self):
        n = self.num_batches
        for index in (range(n) if n is not None else itertools.count()):
            yield self[index]

    @property
    def num_batches(self) -> Optional[int]:
        """The number of batches (``len(self)``), or None for an infinite data set."""
        if hasattr(self, "__len__"):
            return len(self)
        raise NotImplementedError("You need to implement the `num_batches` property:\n\n"
                                  "@property\ndef num_batches(self):\n  return ...")

    def on_epoch_begin(self) -> None:
        """Called at the beginning of every epoch."""

    def on_epoch_end(self) -> None:
        """Called at the end of every epoch."""


Sequence = PyDataset


# ----------------------------------------------------------------------------- detection
def _mro_names(x) -> List[Tuple[str, str]]:
    return [(getattr(c, "__module__", "") or "", c.__name__) for c in type(x).__mro__]


def _is_tf_dataset(x) -> bool:
    return any(mod.startswith("tensorflow") and "Dataset" in name for mod, name in _mro_names(x))


def _is_torch_dataloader(x) -> bool:
    return any(name == "DataLoader" and "torch.utils.data" in mod for mod, name in _mro_names(x))


def _is_py_dataset(x) -> bool:
    if isinstance(x, PyDataset):
        return True
    if any(name in ("PyDataset", "Sequence") and mod.startswith(("keras", "tf_keras", "tensorflow"))
           for mod, name in _mro_names(x)):
        return True
    # duck typing: indexable batches with Keras's epoch hook
    return (hasattr(x, "__getitem__") and hasattr(x, "__len__") and callable(getattr(x, "on_epoch_end", None))
            and not isinstance(x, (list, tuple, dict, np.ndarray)) and not hasattr(x, "__array__"))


numbers_types = (int, float, complex, bool, np.generic)


def is_array_like(x) -> bool:
    """True for what the array fast path takes: ndarrays, lists/tuples, pandas objects,
    numbers, anything with ``__array__``."""
    if x is None or isinstance(x, (np.ndarray, list, tuple, numbers_types)):
        return True
    if hasattr(x, "__array__") or hasattr(x, "__array_interface__"):
        return True
    if hasattr(x, "to_numpy") and hasattr(x, "shape"):  # pandas
        return True
    return False


def is_data_source(x) -> bool:
    """True when ``x`` must go through the batch-by-batch path (not an array-like)."""
    if is_array_like(x) or isinstance(x, (str, bytes, dict)):
        return False
    return (_is_tf_dataset(x) or _is_torch_dataloader(x) or _is_py_dataset(x)
            or hasattr(x, "__next__") or hasattr(x, "__iter__"))


# ----------------------------------------------------------------------------- conversion
def to_numpy(v, name: str, what: str):
    """A NumPy array from a batch element (torch/TF tensors, pandas, arrays)."""
    if v is None or isinstance(v, np.ndarray):
        return v
    if isinstance(v, dict):
        raise TypeError(f"{what}: a batch's {name} is a dict; ranvier's Sequential models take one "
                        f"input array per batch (dict inputs need a functional model)")
    detach = getattr(v, "detach", None)  # torch
    if callable(detach) and hasattr(v, "cpu") and hasattr(v, "numpy"):
        return v.detach().cpu().numpy()
    if hasattr(v, "numpy") and callable(v.numpy) and not hasattr(v, "to_numpy"):  # TF eager tensors
        try:
            return v.numpy()
        except Exception:  # noqa: BLE001 - fall back to the array protocol
            pass
    return v


def unpack_batch(batch, what: str) -> Tuple[Any, Any, Any]:
    """(x, y, sample_weight) of one batch; ValueError naming the accepted forms."""
    if isinstance(batch, list):
        batch = tuple(batch)
    if not isinstance(batch, tuple):
        if isinstance(batch, dict):
            raise ValueError(f"{what}: a batch is a dict ({sorted(map(str, batch))[:5]}); ranvier takes "
                             f"batches as tuples (x,), (x, y) or (x, y, sample_weight)")
        batch = (batch,)
    if len(batch) not in (1, 2, 3):
        raise ValueError(f"{what}: each batch must be a tuple (x,), (x, y) or (x, y, sample_weight), "
                         f"got a tuple of {len(batch)} elements")
    x = batch[0]
    y = batch[1] if len(batch) > 1 else None
    sw = batch[2] if len(batch) > 2 else None
    return x, y, sw


# ----------------------------------------------------------------------------- adapters
class _Adapter:
    """A source of raw batches: ``iterator()`` gives a fresh iterator for an epoch."""

    kind = "iterable"
    single_pass = False

    def __init__(self, x):
        self.x = x
        self._pending: Optional[Iterator] = None  # the iterator the first batch was peeked from

    @property
    def num_batches(self) -> Optional[int]:
        return None

    def _new_iterator(self) -> Iterator:
        return iter(self.x)

    def iterator(self) -> Iterator:
        if self._pending is not None:
            it, self._pending = self._pending, None
            return it
        return self._new_iterator()

    def peek(self, what: str):
        """The first raw batch, without losing it: the next ``iterator()`` yields it first."""
        it = self.iterator()
        try:
            first = next(it)
        except StopIteration:
            raise ValueError(f"{what}: the {self.describe()} yielded no batch; it must yield at least "
                             f"one (x, y) batch") from None
        self._pending = itertools.chain([first], it)
        return first

    def describe(self) -> str:
        return self.kind

    def on_epoch_begin(self) -> None:
        pass

    def on_epoch_end(self) -> None:
        pass

    def close(self) -> None:
        pass


class _GeneratorAdapter(_Adapter):
    kind = "generator"
    single_pass = True

    def __init__(self, x):
        super().__init__(x)
        self._it = iter(x)  # an iterator: every epoch continues it

    def _new_iterator(self) -> Iterator:
        return self._it


class _IterableAdapter(_Adapter):
    kind = "iterable"

    @property
    def num_batches(self) -> Optional[int]:
        try:
            n = len(self.x)
        except TypeError:
            return None
        return int(n) if n > 0 else None


class _TorchAdapter(_IterableAdapter):
    kind = "torch DataLoader"


class _TFAdapter(_Adapter):
    kind = "tf.data.Dataset"

    @property
    def num_batches(self) -> Optional[int]:
        try:
            n = int(self.x.cardinality())
        except Exception:  # noqa: BLE001 - unknown
            return None
        return n if n > 0 else None  # -1 infinite, -2 unknown

    def _new_iterator(self) -> Iterator:
        as_np = getattr(self.x, "as_numpy_iterator", None)
        return as_np() if callable(as_np) else iter(self.x)

    def check_batched(self, what: str) -> None:
        spec = getattr(self.x, "element_spec", None)
        if spec is None:
            return
        first = spec[0] if isinstance(spec, (tuple, list)) else spec
        shape = getattr(first, "shape", None)
        rank = getattr(shape, "rank", None)
        if rank is None and shape is not None:
            try:
                rank = len(shape)
            except TypeError:
                rank = None
        if isinstance(spec, (tuple, list)) and len(spec) > 1:
            yshape = getattr(spec[1], "shape", None)
            yrank = getattr(yshape, "rank", None)
            if yrank == 0:
                raise ValueError(f"{what}: the tf.data.Dataset yields single samples (its targets are "
                                 f"scalars); batch it first, e.g. dataset.batch(32)")
        if rank == 0:
            raise ValueError(f"{what}: the tf.data.Dataset yields scalars; batch it first, e.g. "
                             f"dataset.batch(32)")


class _PyDatasetAdapter(_Adapter):
    kind = "PyDataset"

    def __init__(self, x, shuffle: bool):
        super().__init__(x)
        self.shuffle = bool(shuffle)
        self._epoch = 0
        self._cached_first: Optional[Any] = None
        ds = x
        workers = getattr(ds, "workers", 1)  # (ranvier's and Keras's PyDataset warn without super().__init__)
        try:
            self.workers = max(1, int(workers or 1))
        except (TypeError, ValueError):
            raise ValueError(f"PyDataset: workers must be a positive int, got {workers!r}") from None
        qs = getattr(ds, "max_queue_size", 10)
        try:
            self.max_queue_size = max(1, int(qs or 10))
        except (TypeError, ValueError):
            raise ValueError(f"PyDataset: max_queue_size must be a positive int, got {qs!r}") from None
        self._pool: Optional[concurrent.futures.ThreadPoolExecutor] = None

    @property
    def num_batches(self) -> Optional[int]:
        n = getattr(self.x, "num_batches", None) if hasattr(type(self.x), "num_batches") else len(self.x)
        if n is None:
            return None
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"PyDataset {type(self.x).__name__}: the number of batches (__len__ or "
                             f"num_batches) must be an int >= 0, or None for an infinite data set; got {n!r}")
        return int(n)

    def describe(self) -> str:
        return f"PyDataset {type(self.x).__name__}"

    def peek(self, what: str):
        n = self.num_batches
        if n == 0:
            raise ValueError(f"{what}: the PyDataset {type(self.x).__name__} has length 0")
        first = self.x[0]
        self._cached_first = first  # used once, when index 0 is first asked for
        return first

    def _get(self, i: int):
        if i == 0 and self._cached_first is not None:
            first, self._cached_first = self._cached_first, None
            return first
        return self.x[i]

    def _indices(self) -> Iterator[int]:
        n = self.num_batches
        if n is None:
            return itertools.count()
        idx = list(range(n))
        if self.shuffle:
            random.Random(self._epoch).shuffle(idx)
        return iter(idx)

    def _new_iterator(self) -> Iterator:
        indices = self._indices()
        if self.workers <= 1:
            return (self._get(i) for i in indices)
        return self._pooled(indices)

    def _pooled(self, indices: Iterator[int]) -> Iterator:
        if self._pool is None:
            self._pool = concurrent.futures.ThreadPoolExecutor(self.workers, thread_name_prefix="ranvier-pydataset")
        pool = self._pool
        pending: collections.deque = collections.deque()
        for i in itertools.islice(indices, self.max_queue_size):
            pending.append(pool.submit(self._get, i))
        while pending:
            fut = pending.popleft()
            nxt = next(indices, None)
            if nxt is not None:
                pending.append(pool.submit(self._get, nxt))
            yield fut.result()

    def on_epoch_begin(self) -> None:
        hook = getattr(self.x, "on_epoch_begin", None)
        if callable(hook):
            hook()

    def on_epoch_end(self) -> None:
        hook = getattr(self.x, "on_epoch_end", None)
        if callable(hook):
            hook()
        self._epoch += 1

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None


def make_adapter(x, y, sample_weight, *, what: str, shuffle=False, class_weight=None,
                 for_fit: bool = False) -> _Adapter:
    """The adapter for a non-array ``x``; ValueError/TypeError as Keras for what it refuses."""
    if _is_tf_dataset(x):
        adapter: _Adapter = _TFAdapter(x)
        adapter.check_batched(what)  # type: ignore[attr-defined]
    elif _is_py_dataset(x):
        adapter = _PyDatasetAdapter(x, shuffle=bool(shuffle) and for_fit)
    elif _is_torch_dataloader(x):
        adapter = _TorchAdapter(x)
    elif hasattr(x, "__next__"):
        adapter = _GeneratorAdapter(x)
    elif hasattr(x, "__iter__"):
        adapter = _IterableAdapter(x)
    else:
        raise TypeError(f"{what}: unrecognized data type: x={type(x).__name__}. Supported: {SUPPORTED}")
    kind = adapter.kind if not isinstance(adapter, _PyDatasetAdapter) else "PyDataset"
    if y is not None:
        raise ValueError(f"{what}: when providing `x` as a {kind}, `y` should not be passed. Instead, the "
                         f"targets should be included as part of the {kind}.")
    if sample_weight is not None:
        raise ValueError(f"{what}: when providing `x` as a {kind}, `sample_weights` should not be passed. "
                         f"Instead, the sample weights should be included as part of the {kind}.")
    if for_fit and shuffle and isinstance(adapter, (_GeneratorAdapter, _TFAdapter, _TorchAdapter, _IterableAdapter)):
        warnings.warn(f"`shuffle=True` was passed, but will be ignored since the data `x` was provided as "
                      f"a {kind}. The {kind} is expected to yield already-shuffled data.", stacklevel=4)
    if class_weight is not None and not hasattr(class_weight, "items"):
        raise ValueError(f"{what}: class_weight must be a dict {{class index: weight}}, "
                         f"got {type(class_weight).__name__}")
    return adapter


# ----------------------------------------------------------------------------- prefetching
class _Prefetcher:
    """Pulls raw batches from ``source`` in a background thread and converts them with
    ``convert``; at most ``depth`` ready batches and never more batches than ``allow``
    granted (None: until the source ends). ``get()`` returns the next converted batch,
    raises StopIteration at the end of the source, or re-raises the thread's error.

    The hand-over is cheap when the thread is ahead: ``get`` pops without locking (a
    deque's append/popleft are atomic) and wakes the thread only when the queue has
    drained to half, so the thread converts batches in bursts while the C++ step runs
    with the GIL released, instead of one wake-up per batch."""

    def __init__(self, source: Iterator, convert: Callable[[Any], Any], depth: int = 4):
        self._source = source
        self._convert = convert
        self._depth = max(1, int(depth))
        self._low = self._depth // 2
        self._cv = threading.Condition()
        self._ready: collections.deque = collections.deque()
        self._credits: Optional[int] = 0
        self._stop = False
        self._consumer_waiting = False
        self._producer_waiting = False
        self._last: Optional[Tuple[str, Any]] = None  # the end/err item, kept for later gets
        self._thread = threading.Thread(target=self._run, name="ranvier-prefetch", daemon=True)
        self._thread.start()

    def allow(self, n: Optional[int]) -> None:
        with self._cv:
            if n is None:
                self._credits = None
            elif self._credits is not None:
                self._credits += int(n)
            self._cv.notify_all()

    def _can_fetch(self) -> bool:
        return (self._credits is None or self._credits > 0) and len(self._ready) < self._depth

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._stop and not self._can_fetch():
                    self._producer_waiting = True
                    self._cv.wait()
                self._producer_waiting = False
                if self._stop:
                    return
                if self._credits is not None:
                    self._credits -= 1
            try:
                item: Tuple[str, Any] = ("ok", self._convert(next(self._source)))
            except StopIteration:
                item = ("end", None)
            except BaseException as e:  # noqa: BLE001 - handed to the consumer
                item = ("err", e)
            self._ready.append(item)
            if self._consumer_waiting or item[0] != "ok":
                with self._cv:
                    self._cv.notify_all()
            if item[0] != "ok":
                return

    def get(self):
        if self._last is not None:
            kind, value = self._last
        else:
            try:
                kind, value = self._ready.popleft()
            except IndexError:
                with self._cv:
                    self._consumer_waiting = True
                    try:
                        while not self._ready:
                            if not self._thread.is_alive() and not self._ready:
                                raise StopIteration
                            self._cv.notify_all()  # the thread may be waiting for room
                            self._cv.wait(0.1)  # a timeout so Ctrl-C reaches the main thread
                    finally:
                        self._consumer_waiting = False
                    kind, value = self._ready.popleft()
            if kind != "ok":
                self._last = (kind, value)
            elif self._producer_waiting and len(self._ready) <= self._low:
                with self._cv:
                    self._cv.notify_all()
        if kind == "end":
            raise StopIteration
        if kind == "err":
            raise value
        return value

    def close(self, wait: bool = True) -> None:
        """Stops the thread; waits for it (``wait``), or at most a second when an error or
        Ctrl-C is on its way (a source blocked in ``next()`` must not hang it)."""
        with self._cv:
            self._stop = True
            self._cv.notify_all()
        if self._thread is not threading.current_thread():
            self._thread.join(None if wait else 1.0)


# ----------------------------------------------------------------------------- epochs
class EpochIterator:
    """Keras's EpochIterator semantics (``steps_per_execution`` = 1).

    - ``steps`` None and a known number of batches: a fresh iterator each epoch, all of it.
    - ``steps`` None, unknown size (a generator, an iterable without ``len``): each epoch
      runs until the source is exhausted (a generator continues where it stopped, so a
      finite one gives later epochs no batch: a warning says so).
    - ``steps`` given: the same iterator continues across epochs; it is rebuilt only
      after a known-size source has yielded all its batches. When data runs out
      mid-epoch Keras's warning "Your input ran out of data..." is issued and the epoch
      ends early (the loop goes on).
    ``reset()`` (at the start of fit / evaluate) calls the source's ``on_epoch_end`` as
    Keras does.
    """

    def __init__(self, adapter: _Adapter, steps: Optional[int], convert: Callable[[Any], Any],
                 depth: int = 4):
        self.adapter = adapter
        self.steps = steps
        self.convert = convert
        self.depth = depth
        self.num_batches = adapter.num_batches
        self._cur: Optional[_Prefetcher] = None
        self._seen = 0
        self.last_epoch_batches = 0

    @property
    def steps_for_progress(self) -> Optional[int]:
        return self.steps or self.num_batches

    def _close_current(self, wait: bool = True) -> None:
        if self._cur is not None:
            self._cur.close(wait)
            self._cur = None

    def _open(self) -> _Prefetcher:
        self._close_current()
        self._cur = _Prefetcher(self.adapter.iterator(), self.convert, self.depth)
        self._seen = 0
        return self._cur

    def reset(self) -> None:
        self._close_current()
        self._seen = 0
        self.num_batches = self.adapter.num_batches
        self.adapter.on_epoch_end()

    def close(self, wait: bool = True) -> None:
        self._close_current(wait)
        self.adapter.close()

    def epoch(self):
        """Yields (step, converted batch) for one epoch."""
        self.adapter.on_epoch_begin()
        self.last_epoch_batches = 0
        known = self.num_batches
        if self.steps is None and known is None:
            cur = self._open()
            cur.allow(None)
            step = 0
            while True:
                try:
                    batch = cur.get()
                except StopIteration:
                    break
                self.last_epoch_batches += 1
                yield step, batch
                step += 1
            self._close_current()
            if step == 0:
                warnings.warn(RAN_OUT, stacklevel=3)
            self.adapter.on_epoch_end()
            return
        steps = self.steps if self.steps is not None else known
        assert steps is not None
        if self._cur is None or self.steps is None:
            cur = self._open()
        else:
            cur = self._cur
        grant = steps if known is None else max(0, min(steps, known - self._seen))
        cur.allow(grant)
        for step in range(steps):
            if known is not None and self._seen >= known:
                if self.steps is not None:
                    warnings.warn(RAN_OUT, stacklevel=3)
                break
            self._seen += 1
            try:
                batch = cur.get()
            except StopIteration:
                if self.steps is not None or known is not None:
                    warnings.warn(RAN_OUT, stacklevel=3)
                self._close_current()
                self.adapter.on_epoch_end()
                return
            self.last_epoch_batches += 1
            yield step, batch
        if known is not None and self._seen >= known:
            self._close_current()
        self.adapter.on_epoch_end()


# ----------------------------------------------------------------------------- the loops
def _batch_converter(model, what: str, need_y: bool, class_weight) -> Callable[[Any], Tuple]:
    def convert(batch):
        x, y, sw = unpack_batch(batch, what)
        x = model._input_rows(to_numpy(x, "x", what), "x", what)
        x = model._check_input(x, "x", what)
        _checks.check_finite(x, "x", what)
        if not need_y:
            return x, None, None
        if y is None:
            raise ValueError(f"{what}: the batches have no targets; each batch must be a tuple (x, y) or "
                             f"(x, y, sample_weight)")
        y = model._prepare_y(to_numpy(y, "y", what), x.shape[0], what)
        sw = model._prepare_sample_weight(to_numpy(sw, "sample_weight", what), x.shape[0], what)
        if class_weight is not None:
            if sw is not None:
                raise ValueError(f"{what}: you cannot specify `class_weight` and `sample_weight` at the same "
                                 f"time (the batches carry sample weights)")
            sw = model._class_weight_to_sample_weight(class_weight, y)
        return x, y, sw

    return convert


def _first_batch_setup(model, adapter: _Adapter, what: str, need_y: bool) -> None:
    """Builds the model and resolves the loss and metrics from the first batch."""
    x, y, _ = unpack_batch(adapter.peek(what), what)
    x = model._input_rows(to_numpy(x, "x", what), "x", what)
    model._ensure_built(x)
    model._check_input(x, "x", what)
    if need_y:
        if y is None:
            raise ValueError(f"{what}: the batches have no targets; each batch must be a tuple (x, y) or "
                             f"(x, y, sample_weight)")
        y = to_numpy(y, "y", what)
        model._resolve_loss(np.shape(y))
        yy = model._prepare_y(y, x.shape[0], what)
        model._resolve_metrics(yy.shape if model._loss_kind not in ("sparse_categorical_crossentropy",)
                               else (yy.shape[0],))


def _depth(adapter: _Adapter) -> int:
    if isinstance(adapter, _PyDatasetAdapter):
        return max(2, min(adapter.max_queue_size, 16))
    return 4


class _Reporter:
    """Calls ``on_<kind>_batch_end`` for every batch (batch hooks) or at most every 0.05 s
    (a live progress bar), and for the last batch of the epoch in any case, so the bar's
    count is right even when its target was unknown."""

    def __init__(self, cbs, kind: str, enabled: bool = True):
        self.cbs = cbs
        self.kind = kind
        self.hooks = enabled and cbs.needs_batch_hooks(kind)
        self.progress = enabled and cbs.wants_batch_progress(kind)
        self._last_t = 0.0
        self._reported = -1
        self._pending: Optional[Tuple[int, Callable[[], Dict[str, Any]]]] = None

    def begin(self, step: int) -> None:
        if self.hooks:
            getattr(self.cbs, f"on_{self.kind}_batch_begin")(step)

    def end(self, step: int, logs: Callable[[], Dict[str, Any]]) -> None:
        now = time.monotonic()
        if self.hooks or (self.progress and now - self._last_t >= 0.05):
            self._last_t = now
            self._reported = step
            self._pending = None
            getattr(self.cbs, f"on_{self.kind}_batch_end")(step, logs())
        elif self.progress:
            self._pending = (step, logs)

    def finish(self) -> None:
        if self._pending is not None:
            step, logs = self._pending
            self._pending = None
            getattr(self.cbs, f"on_{self.kind}_batch_end")(step, logs())
        self._reported = -1


def _run_test(model, trainer, it: "EpochIterator", cbs, progress_ok: bool = True) -> Dict[str, float]:
    """One pass of evaluation over ``it`` with the test batch hooks; returns the logs."""
    rep = _Reporter(cbs, "test")
    if not progress_ok:
        rep.progress = False
    trainer.reset_metrics()
    for step, (x, y, sw) in it.epoch():
        rep.begin(step)
        trainer.evaluate(x, y, sw, x.shape[0], reset=False)
        rep.end(step, lambda: model._logs(trainer))
    rep.finish()
    return model._logs(trainer)


def prepare_validation(model, validation_data, batch_size: int, validation_steps: Optional[int]):
    """fit's ``validation_data``, ready to run once per validating epoch: None, a tuple
    ``(x, y, sample_weight, batch_size)`` of checked arrays (capped to
    ``validation_steps`` batches), or an ``EpochIterator`` over a generator / dataset
    (built once per fit and reset before each validation, as Keras caches it)."""
    what = "fit"
    if validation_data is None:
        return None
    if validation_steps is not None and (not _checks.is_int(validation_steps) or validation_steps < 1):
        raise ValueError(f"fit: validation_steps must be a positive int or None, got {validation_steps!r}")
    if is_data_source(validation_data):
        adapter = make_adapter(validation_data, None, None, what=what)
        return EpochIterator(adapter, validation_steps, _batch_converter(model, what, True, None),
                             _depth(adapter))
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        raise ValueError("fit: validation_data must be a tuple (x_val, y_val) or (x_val, y_val, "
                         f"sample_weight_val), or a generator / dataset of such batches; got "
                         f"{type(validation_data).__name__}"
                         + (f" of length {len(validation_data)}" if isinstance(validation_data, (tuple, list))
                            else ""))
    vx, vy = validation_data[0], validation_data[1]
    vsw = validation_data[2] if len(validation_data) == 3 else None
    vx = model._check_input(model._input_rows(vx, "x_val", what), "x_val", what)
    _checks.check_finite(vx, "x_val", what)
    vy = model._prepare_y(vy, vx.shape[0], what, "y_val")
    vsw = model._prepare_sample_weight(vsw, vx.shape[0], what)
    n = cap_rows(vx.shape[0], batch_size, validation_steps)
    if n < vx.shape[0]:
        vx, vy = vx[:n], vy[:n]
        vsw = None if vsw is None else vsw[:n]
    return (vx, vy, vsw, int(batch_size))


def run_validation(model, trainer, val, cbs) -> Dict[str, float]:
    """One validation inside fit, as Keras's ``evaluate(..., callbacks=<fit's list>)``:
    ``on_test_begin``, the test batch hooks, ``on_test_end(logs)`` with unprefixed keys;
    returns the ``val_`` logs."""
    cbs.on_test_begin()
    if isinstance(val, EpochIterator):
        val.reset()
        logs = _run_test(model, trainer, val, cbs, progress_ok=False)
    else:
        vx, vy, vsw, bs = val
        from . import _core
        # batch by batch when a callback hooks test batches (not for DataParallel's trainer,
        # which shards one whole-set evaluate over the ranks)
        if cbs.needs_batch_hooks("test") and isinstance(trainer, _core.Trainer):
            trainer.reset_metrics()
            for i, s in enumerate(range(0, vx.shape[0], bs)):
                cbs.on_test_batch_begin(i)
                trainer.evaluate(vx[s:s + bs], vy[s:s + bs], None if vsw is None else vsw[s:s + bs], bs,
                                 reset=False)
                cbs.on_test_batch_end(i, model._logs(trainer))
        else:
            trainer.evaluate(vx, vy, vsw, bs)
        logs = model._logs(trainer)
    cbs.on_test_end(dict(logs))
    return {"val_" + k: v for k, v in logs.items()}


def fit(model, x, y, sample_weight, batch_size, epochs, verbose, callbacks, validation_split, validation_data, shuffle,
        class_weight, initial_epoch, steps_per_epoch, validation_steps, validation_batch_size,
        validation_freq):
    """``Sequential.fit`` for a non-array ``x`` (arguments already checked by the model)."""
    from . import callbacks as callbacks_module

    what = "fit"
    if validation_split:
        raise ValueError("fit: validation_split is only supported for NumPy arrays (or array-likes); "
                         f"with a {type(x).__name__} pass validation_data instead")
    adapter = make_adapter(x, y, sample_weight, what=what, shuffle=shuffle, class_weight=class_weight,
                           for_fit=True)
    _first_batch_setup(model, adapter, what, need_y=True)
    convert = _batch_converter(model, what, True, class_weight)
    train_it = EpochIterator(adapter, steps_per_epoch, convert, _depth(adapter))
    val = prepare_validation(model, validation_data, validation_batch_size or batch_size or 32, validation_steps)
    trainer = model._get_trainer()
    ok = False
    try:
        with model._using_trainer("fit", nested_ok=False):
            train_it.reset()
            cbs = callbacks_module.CallbackList(
                callbacks, add_history=True, add_progbar=verbose != 0, model=model,
                verbose=verbose, epochs=epochs, steps=train_it.steps_for_progress)
            history = cbs.history
            model.history = history
            python_lr = model.optimizer._needs_python_lr()
            model.stop_training = False
            cbs.on_train_begin()
            training_logs: Optional[Dict[str, float]] = None
            for epoch in range(initial_epoch, epochs):
                trainer.reset_metrics()
                cbs.on_epoch_begin(epoch)
                rep = _Reporter(cbs, "train")
                for step, (bx, by, bsw) in train_it.epoch():
                    rep.begin(step)
                    if python_lr:
                        model.optimizer._prepare_step()
                    trainer.train_batch(bx, by, bsw, reset=False)
                    rep.end(step, lambda: model._logs(trainer))
                    if model.stop_training:
                        break
                rep.finish()
                epoch_logs = dict(model._logs(trainer))
                if val is not None and model._should_validate(epoch, validation_freq):
                    epoch_logs.update(run_validation(model, trainer, val, cbs))
                cbs.on_epoch_end(epoch, epoch_logs)
                training_logs = epoch_logs
                if model.stop_training:
                    break
            if getattr(model.optimizer, "use_ema", False):
                model.optimizer._core.finalize_ema(model._net.params())
            cbs.on_train_end(training_logs)
            ok = True
            return history
    finally:
        train_it.close(wait=ok)
        if isinstance(val, EpochIterator):
            val.close(wait=ok)


def evaluate(model, x, batch_size, verbose, steps, callbacks, return_dict):
    """``Sequential.evaluate`` for a non-array ``x``."""
    from . import callbacks as callbacks_module

    what = "evaluate"
    adapter = make_adapter(x, None, None, what=what)
    _first_batch_setup(model, adapter, what, need_y=True)
    it = EpochIterator(adapter, steps, _batch_converter(model, what, True, None), _depth(adapter))
    trainer = model._get_trainer()
    ok = False
    try:
        with model._using_trainer("evaluate", nested_ok=True):
            it.reset()
            cbs = callbacks_module.CallbackList(callbacks, add_progbar=verbose != 0, model=model,
                                                verbose=verbose, epochs=1, steps=it.steps_for_progress)
            cbs.on_test_begin()
            logs = _run_test(model, trainer, it, cbs)
            cbs.on_test_end(logs)
            ok = True
            return model._format_results(logs, return_dict)
    finally:
        it.close(wait=ok)


def predict(model, x, batch_size, verbose, steps, callbacks):
    """``Sequential.predict`` for a non-array ``x``: the outputs of every batch, concatenated."""
    from . import callbacks as callbacks_module

    what = "predict"
    adapter = make_adapter(x, None, None, what=what)
    _first_batch_setup(model, adapter, what, need_y=False)
    it = EpochIterator(adapter, steps, _batch_converter(model, what, False, None), _depth(adapter))
    net = model._built_net()
    cbs = callbacks_module.CallbackList(callbacks, add_progbar=verbose != 0, model=model,
                                        verbose=verbose, epochs=1, steps=it.steps_for_progress)
    rep = _Reporter(cbs, "predict")
    parts: List[np.ndarray] = []
    model.stop_predicting = False
    ok = False
    try:
        cbs.on_predict_begin()
        for step, (bx, _, _) in it.epoch():
            rep.begin(step)
            out = net.predict(bx, max(1, bx.shape[0]))
            parts.append(out)
            rep.end(step, lambda out=out: {"outputs": out})
            if getattr(model, "stop_predicting", False):
                break
        rep.finish()
        cbs.on_predict_end()
        ok = True
    finally:
        it.close(wait=ok)
    if not parts:
        raise ValueError("predict: the input yielded no batch (an exhausted generator?)")
    return np.concatenate(parts, axis=0)


def cap_rows(n: int, batch_size: int, steps: Optional[int]) -> int:
    """How many rows ``steps`` batches of ``batch_size`` cover (arrays with ``steps``)."""
    if steps is None:
        return n
    return min(n, int(steps) * int(batch_size))

