"""Interruptions and faults.

- Ctrl-C (SIGINT) during fit raises KeyboardInterrupt within a second, and the model holds
  exactly the weights of its last completed batch (replaying that many batches gives the
  same bits) and keeps working. Done in this process (a timer sends SIGINT to it), so no
  interpreter is started.
- A ModelCheckpoint file is never half-written: children forked from this process train
  with a checkpoint every epoch and are SIGKILLed ~20 times, at random moments and at the
  most dangerous one (the new file fully written but not yet renamed); after every kill the
  checkpoint either does not exist yet or loads and predicts, and a kill mid-save leaves the
  previous file byte for byte.
- A full disk or an unwritable folder during save raises OSError and leaves the earlier
  file intact: a real 64 KiB tmpfs (ENOSPC) and a read-only remount (EROFS) when we may
  mount (root); otherwise the write is made to fail with ENOSPC by a monkeypatch and the
  folder made read-only with chmod (RANVIER_TEST_NO_MOUNT=1 forces these fallbacks).
"""
from __future__ import annotations

import errno
import os
import random
import shutil
import signal
import subprocess
import threading
import time

import numpy as np
import pytest

import ranvier
from ranvier import layers, optimizers

pytestmark = pytest.mark.skipif(not hasattr(os, "fork") or os.name != "posix", reason="POSIX only")


def _classifier(seed=0, n_in=32, hidden=64):
    ranvier.utils.set_random_seed(seed)
    m = ranvier.Sequential([ranvier.Input(shape=(n_in,)), layers.Dense(hidden, activation="relu"),
                            layers.Dense(3, activation="softmax")])
    m.compile(optimizer=optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    return m


# ------------------------------------------------------------------ SIGINT
def test_sigint_during_fit_stops_within_a_second_at_a_batch_boundary():
    rng = np.random.default_rng(0)
    bs, steps = 16, 4000
    x = rng.standard_normal((bs * steps, 32)).astype(np.float32)
    y = rng.integers(0, 3, bs * steps)
    m = _classifier()
    start = m.get_weights()
    sent = {}

    class Arm(ranvier.callbacks.Callback):
        def on_train_begin(self, logs=None):
            def fire():
                sent["t"] = time.perf_counter()
                os.kill(os.getpid(), signal.SIGINT)
            threading.Timer(0.3, fire).start()

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            m.fit(x, y, batch_size=bs, epochs=1000, shuffle=False, verbose=0, callbacks=[Arm()])
        latency = time.perf_counter() - sent["t"]
    finally:
        signal.signal(signal.SIGINT, previous)
    assert latency < 1.0, latency

    k = int(m.optimizer.iterations)
    assert k >= 1
    got = m.get_weights()
    # the model is usable: predict, evaluate and train again (the training flag was released)
    assert np.all(np.isfinite(m.predict(x[:100], verbose=0)))
    m2 = _classifier()
    m2.set_weights(start)
    assert all(np.array_equal(a, b) for a, b in zip(m2.get_weights(), start))
    # replay exactly k batches from the same start: the same bits
    epochs, rest = divmod(k, steps)
    if epochs:
        m2.fit(x, y, batch_size=bs, epochs=epochs, shuffle=False, verbose=0)
    if rest:
        m2.fit(x[:rest * bs], y[:rest * bs], batch_size=bs, epochs=1, shuffle=False, verbose=0)
    assert int(m2.optimizer.iterations) == k
    assert all(np.array_equal(a, b) for a, b in zip(got, m2.get_weights())), \
        "the interrupted model does not hold the weights of its last completed batch"
    m.fit(x[:64], y[:64], verbose=0)


# ------------------------------------------------------------------ SIGKILL mid-checkpoint
def _checkpoint_child(path, seed, stop_at_fsync, wfd):
    """Runs in the forked child: trains with a checkpoint every epoch, forever."""
    try:
        ranvier.set_num_threads(1)  # OpenMP's pool does not survive fork: stay serial
        if stop_at_fsync:
            real_fsync = os.fsync

            def announce_then_fsync(fd):
                # the new file is fully written, not yet fsync'ed nor renamed: the parent
                # kills us now (the pause makes sure it lands here)
                if os.path.basename(os.readlink(f"/proc/self/fd/{fd}")).endswith(".tmp"):
                    os.write(wfd, b"s")
                    time.sleep(1.0)
                real_fsync(fd)

            os.fsync = announce_then_fsync
        m = _classifier(seed=seed, n_in=256, hidden=512)  # ~0.5 MB of weights per file
        rng = np.random.default_rng(seed)
        x = rng.standard_normal((8, 256)).astype(np.float32)
        y = rng.integers(0, 3, 8)
        os.write(wfd, b"r")
        cb = ranvier.callbacks.ModelCheckpoint(path, save_freq="epoch")
        m.fit(x, y, epochs=10**6, batch_size=8, verbose=0, callbacks=[cb])
    finally:
        os._exit(0)


def _kill_once(path, seed, stop_at_fsync, rnd):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        _checkpoint_child(path, seed, stop_at_fsync, w)
    os.close(w)
    try:
        assert os.read(r, 1) == b"r"  # the child is set up and about to train
        if stop_at_fsync:
            assert os.read(r, 1) == b"s"
        else:
            time.sleep(rnd.uniform(0.0, 0.4))
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    finally:
        os.close(r)


def test_checkpoint_survives_sigkill_at_random_times_and_mid_save(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    rnd = random.Random(1234)
    loads, mid_save = 0, 0
    previous = None
    for i in range(20):
        stop_at_fsync = i % 2 == 1
        _kill_once(path, seed=i % 3, stop_at_fsync=stop_at_fsync, rnd=rnd)
        mid_save += stop_at_fsync
        if not path.exists():
            assert previous is None, "a kill removed the checkpoint"
            continue
        data = path.read_bytes()
        try:
            model = ranvier.models.load_model(path)
        except Exception as e:  # noqa: BLE001 - the failure we test against
            pytest.fail(f"kill {i}: the checkpoint does not load: {e}")
        assert np.all(np.isfinite(model.predict(np.ones((2, 256), np.float32), verbose=0)))
        loads += 1
        previous = data
        # orphaned temporary files may stay (SIGKILL leaves no chance to clean): never the target
        for f in os.listdir(tmp_path):
            assert f == path.name or (f.startswith(f".{path.name}.") and f.endswith(".tmp")), f
    assert mid_save == 10 and loads >= 10, (mid_save, loads)


def test_kill_mid_save_keeps_the_previous_good_file_byte_for_byte(tmp_path):
    """The checkpoint exists (epoch k); the child is killed while writing epoch k+1's file:
    the target still holds epoch k's bytes exactly."""
    path = tmp_path / "ckpt.safetensors"
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            ranvier.set_num_threads(1)
            real_fsync = os.fsync
            state = {"saves": 0}

            def fsync(fd):
                if os.path.basename(os.readlink(f"/proc/self/fd/{fd}")).endswith(".tmp"):
                    state["saves"] += 1
                    if state["saves"] == 2:  # the first checkpoint is complete: freeze in the second
                        os.write(w, b"s")
                        time.sleep(5)
                real_fsync(fd)

            os.fsync = fsync
            m = _classifier(n_in=256, hidden=512)
            x = np.random.default_rng(0).standard_normal((8, 256)).astype(np.float32)
            m.fit(x, np.zeros(8), epochs=10, verbose=0,
                  callbacks=[ranvier.callbacks.ModelCheckpoint(path, save_freq="epoch")])
        finally:
            os._exit(0)
    os.close(w)
    try:
        assert os.read(r, 1) == b"s"
        first = path.read_bytes()
        tmp = [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]
        assert len(tmp) == 1 and os.path.getsize(tmp_path / tmp[0]) == len(first)  # written, not renamed
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    finally:
        os.close(r)
    assert path.read_bytes() == first
    ranvier.models.load_model(path)


# ------------------------------------------------------------------ full disk, read-only folder
def _can_mount():
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    probe = f"/tmp/ranvier-mount-probe-{os.getpid()}"
    os.makedirs(probe, exist_ok=True)
    try:
        ok = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", probe],
                            capture_output=True).returncode == 0
        if ok:
            subprocess.run(["umount", probe], capture_output=True)
        return ok
    finally:
        os.rmdir(probe)


CAN_MOUNT = _can_mount() and not os.environ.get("RANVIER_TEST_NO_MOUNT")


@pytest.fixture
def small_fs(tmp_path, monkeypatch):
    """(folder, kind): a 64 KiB tmpfs when we may mount; else a folder whose writes of more
    than 64 KiB in total fail with ENOSPC (monkeypatched os.write / file.write)."""
    folder = tmp_path / "small"
    folder.mkdir()
    if CAN_MOUNT:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], check=True)
        try:
            yield folder, "tmpfs"
        finally:
            subprocess.run(["umount", str(folder)], check=True)
        return
    budget = {"left": 64 * 1024}
    real_fdopen = os.fdopen

    class Limited:
        """A file whose writes fail with ENOSPC once 64 KiB were written to the folder."""

        def __init__(self, f):
            self._f = f

        def write(self, b):
            n = memoryview(b).nbytes
            if n > budget["left"]:
                raise OSError(errno.ENOSPC, "No space left on device (simulated)")
            budget["left"] -= n
            return self._f.write(b)

        def __getattr__(self, name):
            return getattr(self._f, name)

        def __enter__(self):
            self._f.__enter__()
            return self

        def __exit__(self, *exc):
            return self._f.__exit__(*exc)

    def fdopen(fd, *args, **kwargs):
        f = real_fdopen(fd, *args, **kwargs)
        if os.readlink(f"/proc/self/fd/{fd}").startswith(str(folder)) and "w" in getattr(f, "mode", ""):
            return Limited(f)
        return f

    monkeypatch.setattr(os, "fdopen", fdopen)  # what saving's atomic write opens its file with
    yield folder, "simulated"


def test_full_disk_raises_oserror_and_keeps_the_earlier_file(small_fs):
    folder, kind = small_fs
    path = folder / "m.safetensors"
    small = ranvier.Sequential([ranvier.Input(shape=(4,)), layers.Dense(8), layers.Dense(2)])
    small.save(path)
    good = path.read_bytes()
    big = ranvier.Sequential([ranvier.Input(shape=(64,)), layers.Dense(512), layers.Dense(2)])  # ~130 KiB
    with pytest.raises(OSError) as info:
        big.save(path)
    assert info.value.errno == errno.ENOSPC, (kind, info.value)
    assert path.read_bytes() == good, kind
    assert sorted(os.listdir(folder)) == ["m.safetensors"], (kind, os.listdir(folder))  # no temp left
    loaded = ranvier.models.load_model(path)
    x = np.ones((3, 4), np.float32)
    assert np.array_equal(loaded.predict(x, verbose=0), small.predict(x, verbose=0))
    # the checkpoint callback reports it too (a full disk must not pass silently)
    big.compile(optimizer="sgd", loss="mse")
    with pytest.raises(OSError):
        big.fit(np.ones((4, 64), np.float32), np.ones((4, 2), np.float32), verbose=0,
                callbacks=[ranvier.callbacks.ModelCheckpoint(path, save_freq="epoch")])
    assert path.read_bytes() == good


def test_unwritable_folder_raises_oserror_and_keeps_the_earlier_file(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "m.safetensors"
    m = ranvier.Sequential([ranvier.Input(shape=(4,)), layers.Dense(3)])
    m.save(path)
    good = path.read_bytes()
    m.set_weights([w + 1 for w in m.get_weights()])
    if CAN_MOUNT:  # root ignores permissions: make the folder a read-only file system instead
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], check=True)
        try:
            ranvier.Sequential([ranvier.Input(shape=(4,)), layers.Dense(3)]).save(path)
            good = path.read_bytes()
            subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
            with pytest.raises(OSError) as info:
                m.save(path)
            assert info.value.errno == errno.EROFS
            assert path.read_bytes() == good and os.listdir(folder) == ["m.safetensors"]
        finally:
            subprocess.run(["umount", str(folder)], check=True)
    elif os.geteuid() != 0:
        folder.chmod(0o500)
        try:
            with pytest.raises(PermissionError):
                m.save(path)
            assert path.read_bytes() == good and os.listdir(folder) == ["m.safetensors"]
        finally:
            folder.chmod(0o700)
    else:
        pytest.skip("root without mount: no way to make a folder unwritable")
