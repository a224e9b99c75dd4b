"""Batches per epoch: the ``_Prefetcher`` thread and ``EpochIterator`` (Keras's
``steps_per_epoch`` semantics)."""
from __future__ import annotations

import collections
import threading
import warnings
from typing import Any, Callable, Iterator, Optional, Tuple

from ._adapters import RAN_OUT, _Adapter


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
