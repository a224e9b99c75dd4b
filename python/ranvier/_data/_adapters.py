"""Data sources, recognised by their protocol: ``PyDataset``, the adapters (generators,
iterables, torch ``DataLoader``, ``tf.data``), batch unpacking and conversion to NumPy."""
from __future__ import annotations

import collections
import concurrent.futures
import itertools
import random
import warnings
from typing import Any, Iterator, List, Optional, Tuple

import numpy as np


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
        if not self.shuffle:  # lazily: a long (or effectively endless) data set read for a few steps
            return iter(range(n))  # allocates nothing per batch
        idx = list(range(n))
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


def batched_if_unbatched(data):
    """A ``tf.data.Dataset`` whose elements are single samples of rank 1 (an unbatched
    ``from_tensor_slices`` of a 2-D array), batched by 128, as Keras's
    ``Normalization.adapt`` does; any other source unchanged."""
    spec = getattr(data, "element_spec", None)
    batch = getattr(data, "batch", None)
    if spec is None or not callable(batch):
        return data
    first = spec[0] if isinstance(spec, (tuple, list)) and spec else spec
    shape = getattr(first, "shape", None)
    rank = getattr(shape, "rank", None)
    return batch(128) if rank == 1 else data
