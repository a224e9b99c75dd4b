"""``BackupAndRestore``: Keras 3's fault-tolerance callback (back up the weights and the
epoch reached; a later ``fit`` with the same ``backup_dir`` resumes from there)."""
from __future__ import annotations

import json
import os
import shutil
from typing import Any

from .. import _checks
from .. import _saving_common
from ._base import Callback


def _weights_name() -> str:
    """Keras's ``latest.weights.h5`` when h5py is there (Keras reads the backup), else
    ranvier's own weights file, which needs nothing but NumPy."""
    try:
        import h5py  # noqa: F401 - only probing for the optional extra
    except ImportError:
        return "latest.weights.safetensors"
    return "latest.weights.h5"


def _copy_atomic(src: str, dst: str) -> None:
    """A copy that is never half-written (a temporary file renamed over ``dst``)."""
    with open(src, "rb") as f:
        data = f.read()
    _saving_common.write_atomic(dst, [data], "BackupAndRestore")


class BackupAndRestore(Callback):
    """Backs the training state up in ``backup_dir`` (the weights in
    ``latest.weights.h5``, and ``training_metadata.json`` holding ``{"epoch", "batch"}``)
    at the end of every epoch, or every ``save_freq`` batches; a ``fit`` that starts while
    a backup is there loads its weights and continues from the epoch it reached (the
    epochs before it are not run again). The backup is deleted when ``fit`` completes
    (``delete_checkpoint=False`` keeps it). ``double_checkpoint=True`` keeps the previous
    backup beside it (``*.bkp``) and falls back to it when the latest cannot be read.

    ``keras.callbacks.BackupAndRestore(backup_dir, save_freq="epoch",
    double_checkpoint=False, delete_checkpoint=True)``; without h5py the weights go to
    ranvier's ``latest.weights.safetensors`` instead. As in Keras, the optimizer's state
    is not in the backup (it starts afresh on resume)."""

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint=False, delete_checkpoint=True):
        super().__init__()
        if not backup_dir:
            raise ValueError("Empty `backup_dir` argument passed")
        if not isinstance(backup_dir, (str, os.PathLike)):
            raise TypeError(f"BackupAndRestore: backup_dir must be a path (str or os.PathLike), "
                            f"got {type(backup_dir).__name__}")
        # False: no periodic backup (Keras documents it for preemption checkpointing)
        if save_freq is not False and save_freq != "epoch" and (
                isinstance(save_freq, bool) or not isinstance(save_freq, int) or save_freq < 1):
            raise ValueError(f"Invalid value for argument `save_freq`. Received: save_freq={save_freq}. "
                             f"Expected either 'epoch' or an integer value.")
        self.save_freq = save_freq
        self.double_checkpoint = _checks.check_bool(double_checkpoint, "double_checkpoint", "BackupAndRestore")
        self.delete_checkpoint = _checks.check_bool(delete_checkpoint, "delete_checkpoint", "BackupAndRestore")
        self.backup_dir = os.fspath(backup_dir)
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = 0
        self._current_epoch = 0
        self._weights_path = os.path.join(self.backup_dir, _weights_name())
        self._training_metadata_path = os.path.join(self.backup_dir, "training_metadata.json")
        self._prev_weights_path = f"{self._weights_path}.bkp"
        self._prev_training_metadata_path = f"{self._training_metadata_path}.bkp"

    def _requires_batch_hooks(self, kind: str) -> bool:
        return kind == "train" and self.save_freq not in ("epoch", False)

    def _check_backup_dir(self) -> None:
        if os.path.exists(self.backup_dir) and not os.path.isdir(self.backup_dir):
            raise NotADirectoryError(f"BackupAndRestore: backup_dir={self.backup_dir!r} exists and is not a "
                                     "directory; pass a directory path (created when missing)")

    def on_train_begin(self, logs=None):
        self._check_backup_dir()  # before the first epoch runs, not at its end
        try:
            self._load_model()
        except (OSError, ValueError) as e:
            # The latest backup cannot be read (an interruption while writing it): the
            # previous one, when double_checkpoint kept it.
            if not os.path.exists(self._prev_weights_path):
                kind = OSError if isinstance(e, OSError) else ValueError
                raise kind(f"BackupAndRestore: the backup in backup_dir={self.backup_dir!r} cannot be restored "
                           f"({e}); delete the directory to start afresh, or use double_checkpoint=True to keep "
                           "a previous backup") from e
            _copy_atomic(self._prev_weights_path, self._weights_path)
            if os.path.exists(self._prev_training_metadata_path):
                _copy_atomic(self._prev_training_metadata_path, self._training_metadata_path)
            elif os.path.exists(self._training_metadata_path):
                os.remove(self._training_metadata_path)
            self._load_model()

    def _load_model(self) -> None:
        if os.path.exists(self._weights_path):
            self.model.load_weights(self._weights_path)
        if os.path.exists(self._training_metadata_path):
            try:
                with open(self._training_metadata_path, "r", encoding="utf-8") as f:
                    metadata: Any = json.loads(f.read())
            except ValueError as e:  # a truncated or corrupted file (JSONDecodeError, UnicodeDecodeError)
                raise ValueError(f"BackupAndRestore: {self._training_metadata_path} is not valid JSON "
                                 f"({e})") from e
            epoch = metadata.get("epoch") if isinstance(metadata, dict) else None
            if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
                raise ValueError(f"BackupAndRestore: {self._training_metadata_path} holds no epoch "
                                 f"(a non-negative int): {metadata!r}")
            self._current_epoch = epoch
            self.model._initial_epoch = epoch  # fit continues from here (Keras's protocol)

    def on_epoch_end(self, epoch, logs=None):
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0
        if self.save_freq == "epoch":
            self._save_model()

    def on_train_batch_end(self, batch, logs=None):
        if self._should_save_on_batch(batch):
            self._save_model()

    def _should_save_on_batch(self, batch) -> bool:
        if self.save_freq == "epoch" or self.save_freq is False:
            return False
        if batch <= self._last_batch_seen:  # a new epoch
            add_batches = batch + 1
        else:
            add_batches = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += add_batches
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _save_model(self) -> None:
        self._check_backup_dir()
        try:
            os.makedirs(self.backup_dir, exist_ok=True)
        except OSError as e:
            raise type(e)(e.errno, f"BackupAndRestore: cannot create backup_dir={self.backup_dir!r}: "
                                   f"{e.strerror}") from e
        if self.double_checkpoint and os.path.exists(self._weights_path):
            _copy_atomic(self._weights_path, self._prev_weights_path)
        if self.double_checkpoint and os.path.exists(self._training_metadata_path):
            _copy_atomic(self._training_metadata_path, self._prev_training_metadata_path)
        self.model.save_weights(self._weights_path, overwrite=True)
        # never half-written: a temporary file renamed over the old one
        metadata = json.dumps({"epoch": self._current_epoch, "batch": self._last_batch_seen}).encode("utf-8")
        _saving_common.write_atomic(self._training_metadata_path, [metadata], "BackupAndRestore")

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and os.path.exists(self.backup_dir):
            shutil.rmtree(self.backup_dir)
