"""Fault and agreement scenarios for tests/test_distributed.py (run under mpiexec).

Usage: python faults.py MODE OUTDIR
Prints "RANK r ERROR: <type>: <message>" and exits 3 when fit raises; "RANK r DONE" when
it returns. MODE:
  kill          rank 1 kills itself (SIGKILL) at the start of epoch 2
  hang          rank 1 sleeps for 10 minutes at the start of epoch 2 (the others wait)
  layers        rank 1 builds Dense(33) where the others build Dense(32)
  length        rank 1 has 7 fewer samples
  batch         rank 1 asks for batch_size=48 instead of 64
  labels        rank 1's labels are out of range (fit fails on rank 1 before training)
  callbacks     ModelCheckpoint + CSVLogger on every rank (only rank 0 writes), EarlyStopping,
                and a batch callback on rank 1 only that stops training mid-epoch
"""
import os
import signal
import sys
import time

import numpy as np

import ranvier
from ranvier import distributed as dist


class AtEpoch(ranvier.callbacks.Callback):
    def __init__(self, epoch, fn):
        super().__init__()
        self.epoch, self.fn = epoch, fn

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            self.fn()


class StopAtBatch(ranvier.callbacks.Callback):
    def __init__(self, epoch, batch):
        super().__init__()
        self.target, self.epoch = (epoch, batch), -1

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.target:
            self.model.stop_training = True


def main():
    mode, out = sys.argv[1], sys.argv[2]
    rank, size = dist.init()
    rng = np.random.default_rng(0)
    n = 640 - (7 if (mode == "length" and rank == 1) else 0)
    x = rng.standard_normal((n, 12)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 0.5)
    if mode == "labels" and rank == 1:
        y = y + 10
    ranvier.utils.set_random_seed(7)
    units = 33 if (mode == "layers" and rank == 1) else 32
    model = ranvier.Sequential([ranvier.Input(shape=(12,)), ranvier.layers.Dense(units, activation="relu"),
                                ranvier.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    batch = 48 if (mode == "batch" and rank == 1) else 64
    cbs = []
    epochs = 4
    if mode == "kill" and rank == 1:
        cbs.append(AtEpoch(2, lambda: os.kill(os.getpid(), signal.SIGKILL)))
    if mode == "hang" and rank == 1:
        cbs.append(AtEpoch(2, lambda: time.sleep(600)))
    if mode == "callbacks":
        epochs = 3
        cbs += [ranvier.callbacks.ModelCheckpoint(os.path.join(out, f"ckpt-from-rank{rank}.rvr")),
                ranvier.callbacks.CSVLogger(os.path.join(out, f"log-from-rank{rank}.csv")),
                ranvier.callbacks.EarlyStopping(monitor="loss", patience=5)]
        if rank == 1:
            cbs.append(StopAtBatch(1, 3))
    try:
        hist = dist.DataParallel(model).fit(x, y, batch_size=batch, epochs=epochs, verbose=0, callbacks=cbs)
    except Exception as e:  # noqa: BLE001 - the test reads the message
        print(f"RANK {rank} ERROR: {type(e).__name__}: {e}", flush=True)
        sys.exit(3)
    if mode == "callbacks":
        np.savez(os.path.join(out, f"weights-rank{rank}.npz"), *model.get_weights(),
                 steps=np.array(model.optimizer.iterations), epochs=np.array(len(hist.history["loss"])))
    print(f"RANK {rank} DONE", flush=True)


if __name__ == "__main__":
    main()
