"""Callbacks that record or react to logs: ``CSVLogger``, ``TerminateOnNaN``,
``LambdaCallback``, ``TensorBoard``."""
from __future__ import annotations

import collections.abc
import csv
import os
import time
import warnings
from typing import Any, Dict

import numpy as np

from .. import _checks
from ._base import Callback, _print


class CSVLogger(Callback):
    """Streams epoch results to a CSV file: header ``epoch,<sorted keys>`` (plus ``val_<key>``
    columns, written ``NA``, when the first epoch has no ``val_`` keys); 0-based epochs."""

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        if not isinstance(separator, str) or len(separator) != 1:
            raise TypeError(f"CSVLogger: separator must be a one-character string, got separator={separator!r}")
        self.sep = separator
        self.filename = os.fspath(filename)
        if not isinstance(self.filename, str):
            raise TypeError(f"CSVLogger: filename must be a str or os.PathLike, got {filename!r}")
        self.append = _checks.check_bool(append, "append", "CSVLogger")
        self.writer = None
        self.keys = None
        self.append_header = True
        self.csv_file = None

    def on_train_begin(self, logs=None):
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename, "r") as f:
                    self.append_header = not bool(len(f.readline()))
            mode = "a"
        else:
            mode = "w"
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.csv_file = open(self.filename, mode, newline="")
        self.writer = None
        self.keys = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}

        def handle_value(k):
            is_zero_dim = isinstance(k, np.ndarray) and k.ndim == 0
            if isinstance(k, str):
                return k
            if isinstance(k, collections.abc.Iterable) and not is_zero_dim:
                return f'"[{", ".join(map(str, k))}]"'
            return k

        if self.keys is None:
            self.keys = sorted(logs.keys())
            if not any(key.startswith("val_") for key in self.keys):
                self.keys.extend(["val_" + k for k in self.keys])

        if not self.writer:
            class _Dialect(csv.excel):
                delimiter = self.sep

            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch"] + self.keys,
                                         dialect=_Dialect)
            if self.append_header:
                self.writer.writeheader()
        row = {"epoch": epoch}
        row.update((key, handle_value(logs.get(key, "NA"))) for key in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None


class TerminateOnNaN(Callback):
    """Stops training (or raises RuntimeError) when the running loss is NaN or infinite."""

    def __init__(self, raise_error: bool = False):
        super().__init__()
        self.raise_error = _checks.check_bool(raise_error, "raise_error", "TerminateOnNaN")

    def on_batch_end(self, batch, logs=None):
        logs = logs or {}
        loss = logs.get("loss")
        if loss is not None and (np.isnan(loss) or np.isinf(loss)):
            if self.raise_error:
                raise RuntimeError(
                    f"NaN or Inf loss encountered at batch {batch}. Loss value: {loss}. "
                    "Terminating training immediately.")
            _print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class LambdaCallback(Callback):
    """A callback built from functions: ``LambdaCallback(on_epoch_end=lambda epoch, logs: ...)``;
    any other hook may be given as a keyword (``on_test_end=fn``)."""

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None,
                 on_train_end=None, on_train_batch_begin=None, on_train_batch_end=None, **kwargs):
        super().__init__()
        hooks = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end, on_train_begin=on_train_begin,
                     on_train_end=on_train_end, on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end, **kwargs)
        for name, fn in hooks.items():
            if name.startswith("on_"):
                _checks.check_callable(fn, name, "LambdaCallback", none_ok=True)
        self.__dict__.update({k: v for k, v in kwargs.items() if v is not None})
        if on_epoch_begin is not None:
            self.on_epoch_begin = on_epoch_begin
        if on_epoch_end is not None:
            self.on_epoch_end = on_epoch_end
        if on_train_begin is not None:
            self.on_train_begin = on_train_begin
        if on_train_end is not None:
            self.on_train_end = on_train_end
        if on_train_batch_begin is not None:
            self.on_train_batch_begin = on_train_batch_begin
        if on_train_batch_end is not None:
            self.on_train_batch_end = on_train_batch_end


# ----------------------------------------------------------------------------- TensorBoard
class TensorBoard(Callback):
    """Writes TensorBoard logs (Keras 3's names and steps; needs the ``tensorboard``
    package: ``pip install tensorboard``, or ``pip install ".[tensorboard]"`` in a checkout).

    ``TensorBoard(log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
    write_steps_per_second=False, update_freq="epoch", profile_batch=0, embeddings_freq=0,
    embeddings_metadata=None)``. Event files go to ``<log_dir>/train`` and
    ``<log_dir>/validation``:

    - every epoch end (step = epoch index): ``epoch_<key>`` for the training logs and
      ``epoch_learning_rate`` (plus ``epoch_steps_per_second`` with
      ``write_steps_per_second``) in train; the ``val_`` logs, without the prefix, in
      validation;
    - every ``on_test_end`` (fit's validation, or evaluate with this callback):
      ``evaluation_<key>_vs_iterations`` at step = the optimizer's iterations;
    - ``update_freq="batch"`` (every batch) or an int N: ``batch_<key>`` in train at the
      global 1-based batch count, every N batches;
    - ``histogram_freq=N``: a histogram of every weight, ``<model>/<layer>/<weight>/histogram``,
      every N epochs (from epoch 0).

    ``write_graph``, ``write_images``, ``profile_batch``, ``embeddings_freq`` and
    ``embeddings_metadata`` are accepted; ranvier has no graph, images, profiler or
    embedding projector to write (a non-zero profile_batch or embeddings_freq warns).
    """

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0, embeddings_freq=0,
                 embeddings_metadata=None):
        super().__init__()
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = _checks.check_int(histogram_freq, "histogram_freq", "TensorBoard", 0)
        self.write_graph = write_graph
        self.write_images = write_images
        self.write_steps_per_second = bool(write_steps_per_second)
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch":
            update_freq = _checks.check_int(update_freq, "update_freq", "TensorBoard", 1)
        self.update_freq = update_freq
        self.profile_batch = profile_batch
        self.embeddings_freq = embeddings_freq
        self.embeddings_metadata = embeddings_metadata
        if profile_batch not in (0, None, "0", (0, 0)) or embeddings_freq:
            warnings.warn("TensorBoard: ranvier writes scalars and histograms; profile_batch and "
                          "embeddings_freq are ignored", stacklevel=2)
        _tb_modules()  # ImportError now, not at the first epoch, when tensorboard is missing
        self._writers: Dict[str, Any] = {}
        self._global_batch = 0
        self._epoch_start = 0.0
        self._epoch_batches = 0

    def _requires_batch_hooks(self, kind: str) -> bool:
        return kind == "train" and (self.update_freq != "epoch" or self.write_steps_per_second)

    # ---- writing
    def _writer(self, which: str):
        w = self._writers.get(which)
        if w is None:
            writer_cls = _tb_modules()[0]
            w = writer_cls(os.path.join(self.log_dir, which))
            self._writers[which] = w
        return w

    def _scalar(self, which: str, tag: str, value, step: int) -> None:
        try:
            v = float(value)
        except (TypeError, ValueError):
            return  # not a scalar (a vector metric): TensorBoard scalars need one number
        _, event_pb2, summary_pb2 = _tb_modules()
        summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, simple_value=v)])
        self._writer(which).add_event(event_pb2.Event(wall_time=time.time(), step=int(step), summary=summary))

    def _histogram(self, tag: str, values: np.ndarray, step: int) -> None:
        _, event_pb2, summary_pb2 = _tb_modules()
        v = np.asarray(values, dtype=np.float64).ravel()
        if v.size == 0:
            return
        counts, edges = np.histogram(v, bins=30 if v.min() < v.max() else 1)
        hist = summary_pb2.HistogramProto(min=float(v.min()), max=float(v.max()), num=float(v.size),
                                          sum=float(v.sum()), sum_squares=float(np.dot(v, v)),
                                          bucket_limit=[float(e) for e in edges[1:]],
                                          bucket=[float(c) for c in counts])
        summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, histo=hist)])
        self._writer("train").add_event(event_pb2.Event(wall_time=time.time(), step=int(step), summary=summary))

    def _flush(self) -> None:
        for w in self._writers.values():
            w.flush()

    def _close(self) -> None:
        for w in self._writers.values():
            w.close()
        self._writers = {}

    # ---- hooks
    def on_train_begin(self, logs=None):
        self._global_batch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.time()
        self._epoch_batches = 0

    def on_train_batch_end(self, batch, logs=None):
        self._global_batch += 1
        self._epoch_batches += 1
        if self.update_freq == "epoch" or self._global_batch % int(self.update_freq):
            return
        for key, value in (logs or {}).items():
            self._scalar("train", f"batch_{key}", value, self._global_batch)
        if self.write_steps_per_second:
            dt = time.time() - self._epoch_start
            if dt > 0:
                self._scalar("train", "batch_steps_per_second", self._epoch_batches / dt, self._global_batch)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        for key, value in logs.items():
            if key.startswith("val_"):
                self._scalar("validation", f"epoch_{key[4:]}", value, epoch)
            else:
                self._scalar("train", f"epoch_{key}", value, epoch)
        opt = getattr(self.model, "optimizer", None)
        if opt is not None and "learning_rate" not in logs:
            try:
                self._scalar("train", "epoch_learning_rate", float(opt.learning_rate), epoch)
            except (TypeError, ValueError, AttributeError):
                pass
        if self.write_steps_per_second:
            dt = time.time() - self._epoch_start
            steps = self._epoch_batches or (self.params or {}).get("steps") or 0
            if dt > 0 and steps:
                self._scalar("train", "epoch_steps_per_second", steps / dt, epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0 and self.model is not None:
            prefix = getattr(self.model, "name", "")
            for v in getattr(self.model, "weights", []):
                path = v.path.replace(":", "_")
                # <model>/<layer>/<weight>: a Sequential's weight paths start with its name already
                tag = f"{prefix}/{path}/histogram" if prefix and not path.startswith(prefix + "/") else f"{path}/histogram"
                self._histogram(tag, np.asarray(v), epoch)
        self._flush()

    def on_test_end(self, logs=None):
        opt = getattr(self.model, "optimizer", None)
        step = int(getattr(opt, "iterations", 0) or 0) if opt is not None else 0
        for key, value in (logs or {}).items():
            self._scalar("validation", f"evaluation_{key}_vs_iterations", value, step)
        self._flush()

    def on_train_end(self, logs=None):
        self._close()


def _tb_modules():
    """(EventFileWriter, event_pb2, summary_pb2) from the ``tensorboard`` package; an
    ImportError naming the extra when it is missing."""
    try:
        from tensorboard.compat.proto import event_pb2, summary_pb2
        from tensorboard.summary.writer.event_file_writer import EventFileWriter
    except ImportError as e:
        raise ImportError(
            "callbacks.TensorBoard needs the `tensorboard` package, an optional extra: pip install "
            f"ranvier[tensorboard] (or pip install tensorboard); the import failed with: {e}") from e
    return EventFileWriter, event_pb2, summary_pb2
