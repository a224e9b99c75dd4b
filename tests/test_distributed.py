"""Data-parallel training over MPI (ranvier.distributed).

The MPI tests launch ``mpiexec -n N python tests/mpi_scripts/<script>.py`` on localhost
(2 and 4 ranks; 4 oversubscribe a 2-core machine, which MPICH allows) with a bounded
timeout each, and are skipped when mpi4py or mpiexec is missing (install the extra:
``pip install 'ranvier[mpi]'``). The first two tests need no MPI.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
SCRIPTS = HERE / "mpi_scripts"
LAUNCH_TIMEOUT = 240  # seconds for one mpiexec run (a hang fails the test, never blocks CI)


def _mpiexec():
    beside = Path(sys.executable).with_name("mpiexec")
    return str(beside) if beside.exists() else shutil.which("mpiexec")


def _have_mpi() -> bool:
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return _mpiexec() is not None


needs_mpi = pytest.mark.skipif(not _have_mpi(), reason="needs mpi4py and mpiexec: pip install 'ranvier[mpi]'")


def _mpi_flavour() -> str:
    out = subprocess.run([_mpiexec(), "--version"], capture_output=True, text=True, timeout=30)
    return "openmpi" if "Open MPI" in (out.stdout + out.stderr) else "mpich"


def _run(cmd, env_extra=None, timeout=LAUNCH_TIMEOUT):
    """Runs cmd in its own process group; kills the whole group if it outlives timeout."""
    env = dict(os.environ)
    env.update(env_extra or {})
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                         start_new_session=True)
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, _ = p.communicate()
        pytest.fail(f"{' '.join(map(str, cmd))} hung for more than {timeout} s; output:\n{out[-4000:]}")
    return p.returncode, out, time.monotonic() - t0


def mpirun(n, script, *args, env=None, launcher_args=(), timeout=LAUNCH_TIMEOUT):
    cmd = [_mpiexec()]
    if _mpi_flavour() == "openmpi":
        cmd += ["--oversubscribe", "--allow-run-as-root"]
    cmd += list(launcher_args) + ["-n", str(n), sys.executable, str(SCRIPTS / script)] + [str(a) for a in args]
    return _run(cmd, env, timeout)


# ------------------------------------------------------------------ no MPI needed
def test_import_ranvier_does_not_import_mpi4py():
    code = ("import sys, ranvier; ranvier.Sequential; ranvier.models; import ranvier.distributed; "
            "print('mpi4py' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_without_mpi4py_the_error_says_how_to_install():
    code = ("import sys; sys.modules['mpi4py'] = None\n"
            "from ranvier import distributed\n"
            "try:\n    distributed.init()\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "pip install 'ranvier[mpi]'" in out.stdout


# ------------------------------- the C++ hook and sharding, in one process (no MPI)
def _captured_grads(model, x, y, batch, shard):
    """Runs one epoch with the trainer sharded as ``shard`` (rank, size) and a gradient hook
    that records each step's gradient and then zeroes it (so SGD leaves the weights alone
    and every shard sees the same weights). Returns the list of per-step gradients."""
    trainer = model._get_trainer()
    grads = model._net.grads()
    seen = []

    def hook():
        seen.append(grads.copy())
        grads[:] = 0.0

    trainer.set_train_data(x, y, None, batch)
    trainer.set_shard(*shard)
    trainer.set_grad_hook(hook)
    try:
        trainer.begin_epoch(True, 42)
        assert trainer.run(10**6, 0.0) == trainer.steps_per_epoch()
    finally:
        trainer.set_grad_hook(None)
        trainer.set_shard(0, 1)
        trainer.clear_train_data()
    return seen


@pytest.mark.parametrize("n_shards", [2, 3, 4])
def test_shard_gradients_sum_to_the_whole_batch_gradient(n_shards):
    """The Trainer's hook sees each step's gradient before the optimizer; with set_shard the
    shards' gradients (loss scaled by 1/global batch) sum to the whole batch's gradient.
    35 rows with batch 16: batches of 16, 16 and 3 rows, so shard sizes differ with 3
    shards (16 = 5 + 5 + 6) and with 4 shards shard 0 has no row of the last batch (it
    must still call the hook, with zeros, and take the step).
    Tolerance: float32 sums over at most 16 rows in another grouping, relative to the
    largest gradient entry: 1e-5."""
    import ranvier
    rng = np.random.default_rng(3)
    x = rng.standard_normal((35, 6)).astype(np.float32)
    y = rng.integers(0, 3, 35).astype(np.float32).reshape(-1, 1)
    ranvier.utils.set_random_seed(5)
    model = ranvier.Sequential([ranvier.Input(shape=(6,)), ranvier.layers.Dense(8, activation="tanh"),
                                ranvier.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=ranvier.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=0)  # resolves the loss; builds nothing else
    before = model.get_weights()
    whole = _captured_grads(model, x, y, 16, (0, 1))
    shards = [_captured_grads(model, x, y, 16, (r, n_shards)) for r in range(n_shards)]
    for w0, w1 in zip(before, model.get_weights()):
        np.testing.assert_array_equal(w0, w1)
    assert len(whole) == 3 and all(len(s) == 3 for s in shards)
    for step in range(3):
        total = np.sum([s[step] for s in shards], axis=0, dtype=np.float64)
        scale = float(np.max(np.abs(whole[step])))
        assert scale > 0
        np.testing.assert_allclose(total, whole[step], rtol=0, atol=1e-5 * scale)
    # 35 = 16 + 16 + 3: with 4 shards, shard 0 has no row of the last batch.
    if n_shards == 4:
        assert not np.any(shards[0][2])


def _graph_model():
    """Two inputs, two outputs (regression and classification), a shared Dense, Concatenate
    and Add: the DAG network's trainer."""
    import ranvier
    L = ranvier.layers
    a, b = ranvier.Input(shape=(4,), name="a"), ranvier.Input(shape=(3,), name="b")
    shared = L.Dense(5, activation="tanh", name="shared")
    h = L.Concatenate()([shared(L.Dense(5)(a)), L.Add()([shared(L.Dense(5)(b)), L.Dense(5)(a)])])
    return ranvier.Model([a, b], [L.Dense(2, name="reg")(h), L.Dense(3, activation="softmax", name="cls")(h)])


@pytest.mark.parametrize("n_shards", [2, 3, 4])
def test_graph_model_shard_gradients_sum_to_the_whole_batch_gradient(n_shards):
    """As above for a graph model (two inputs, two outputs, a shared layer): its trainer
    shards every input and output by the same rows, so the shards' gradients sum to the
    whole batch's. Tolerance as above (1e-5 of the largest entry: float32 sums over at most
    16 rows in another grouping)."""
    import ranvier
    from ranvier._functional_run import Rows
    rng = np.random.default_rng(4)
    n = 35
    x = Rows([rng.standard_normal((n, 4)).astype(np.float32), rng.standard_normal((n, 3)).astype(np.float32)], n)
    y = Rows([rng.standard_normal((n, 2)).astype(np.float32), rng.integers(0, 3, (n, 1)).astype(np.float32)], n)
    ranvier.utils.set_random_seed(5)
    model = _graph_model()
    model.compile(optimizer=ranvier.optimizers.SGD(0.1), loss=["mse", "sparse_categorical_crossentropy"])
    model.fit(list(x), list(y), epochs=0)
    before = model.get_weights()
    whole = _captured_grads(model, x, y, 16, (0, 1))
    shards = [_captured_grads(model, x, y, 16, (r, n_shards)) for r in range(n_shards)]
    for w0, w1 in zip(before, model.get_weights()):
        np.testing.assert_array_equal(w0, w1)
    assert len(whole) == 3 and all(len(s) == 3 for s in shards)
    for step in range(3):
        total = np.sum([s[step] for s in shards], axis=0, dtype=np.float64)
        scale = float(np.max(np.abs(whole[step])))
        assert scale > 0
        np.testing.assert_allclose(total, whole[step], rtol=0, atol=1e-5 * scale)
        if n_shards == 2:  # each shard contributes (the test would pass with one shard doing all)
            assert all(np.any(s[step]) for s in shards)
    if n_shards == 4:
        assert not np.any(shards[0][2])


def test_data_parallel_slices_graph_model_data_together():
    """DataParallel.evaluate's rows of a graph model's x / y (lists, tuples or dicts of
    arrays) are the same rows of every array."""
    from ranvier.distributed._data_parallel import _n_rows, _rows
    a, b = np.arange(10).reshape(5, 2), np.arange(5)
    assert _n_rows({"a": a, "b": b}) == 5 and _n_rows([a, b]) == 5 and _n_rows(a) == 5
    got = _rows({"a": a, "b": [a, b]}, 1, 3)
    np.testing.assert_array_equal(got["a"], a[1:3])
    np.testing.assert_array_equal(got["b"][0], a[1:3])
    np.testing.assert_array_equal(got["b"][1], b[1:3])
    np.testing.assert_array_equal(_rows((a, b), 2, 4)[1], b[2:4])
    np.testing.assert_array_equal(_rows([1.0, 2.0, 3.0], 0, 2), [1.0, 2.0])  # a plain list is one column
    assert _rows(None, 0, 1) is None


def test_set_shard_checks_its_arguments():
    import ranvier
    model = ranvier.Sequential([ranvier.Input(shape=(2,)), ranvier.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.zeros((4, 2), np.float32), np.zeros((4, 1), np.float32), epochs=0)
    trainer = model._get_trainer()
    for rank, size in ((0, 0), (2, 2), (-1, 2)):
        with pytest.raises(ValueError, match="set_shard: need 0 <= rank < size"):
            trainer.set_shard(rank, size)


# ------------------------------------------------- equality with one process
_single_cache = {}


def _single(tmp_root: Path, case: str, batch=None):
    key = (case, batch)
    if key not in _single_cache:
        d = tmp_root / f"single-{case}-{batch}"
        d.mkdir(parents=True, exist_ok=True)
        args = [sys.executable, str(SCRIPTS / "train_equiv.py"), d, "s", case, "--single"]
        if batch:
            args += ["--batch", batch]
        rc, out, _ = _run([str(a) for a in args])
        assert rc == 0, out
        _single_cache[key] = (np.load(d / "s-rank0.npz"), json.loads((d / "s-rank0.json").read_text()))
    return _single_cache[key]


@pytest.fixture(scope="module")
def tmp_root(tmp_path_factory):
    return tmp_path_factory.mktemp("dist")


@needs_mpi
@pytest.mark.parametrize("n", [2, 4])
@pytest.mark.parametrize("case,batch", [("adam_ce", 64), ("sgd_mse", 32), ("graph", 32)])
def test_weights_equal_single_process_and_replicas_identical(tmp_root, case, batch, n):
    """After 2 epochs the N replicas are bitwise identical (weights, optimizer slots and
    step count), and equal to one process trained with the same global batch.

    adam_ce: Adam, softmax cross-entropy (fused), an L2 kernel regularizer (its gradient
    must be added once, after the allreduce), accuracy, validation_split=0.2, shuffling
    (rank 0's seed), 961 rows. sgd_mse: SGD with momentum, MSE, sample weights, no
    shuffling, 481 rows with batch 32, so the last batch has one row and all ranks but one
    have an empty shard. Ranks > 0 start from other random weights (rank 0's are
    broadcast).

    Tolerance: the per-step gradients differ from one process's only in float32
    summation order (partial sums per rank, then the allreduce), about 1e-7 relative;
    over these 24-32 steps the largest difference measured is 6e-7 of the tensor's
    largest value, so every tensor must agree within 1e-5 of its max-abs. The same
    training with the per-rank batch (batch/N, a wrong implementation of the global
    batch) is checked to differ by far more than that tolerance.
    """
    d = tmp_root / f"{case}-n{n}"
    d.mkdir()
    rc, out, _ = mpirun(n, "train_equiv.py", d, "dist", case)
    assert rc == 0, out
    ranks = [np.load(d / f"dist-rank{r}.npz") for r in range(n)]
    logs = [json.loads((d / f"dist-rank{r}.json").read_text()) for r in range(n)]
    ref, ref_logs = _single(tmp_root, case)

    for r in range(1, n):  # replicas: bitwise identical, logs identical
        for k in ranks[0].files:
            assert ranks[r][k].tobytes() == ranks[0][k].tobytes(), f"rank {r} differs from rank 0 in {k}"
        assert logs[r] == logs[0]

    assert int(ranks[0]["iterations"]) == int(ref["iterations"])
    for k in ref.files:
        tol = 1e-5 * max(1.0, float(np.max(np.abs(ref[k]))))
        np.testing.assert_allclose(ranks[0][k], ref[k], rtol=0, atol=tol, err_msg=k)

    # Epoch logs (loss and metrics merged over ranks) and the sharded evaluate match.
    hist, ref_hist = logs[0]["history"], ref_logs["history"]
    assert sorted(hist) == sorted(ref_hist)
    for key in ref_hist:
        np.testing.assert_allclose(hist[key], ref_hist[key], rtol=1e-5, err_msg=key)
    for key, v in ref_logs["evaluate"].items():
        np.testing.assert_allclose(logs[0]["evaluate"][key], v, rtol=1e-5, err_msg=key)

    # The tolerance discriminates: training with the per-rank batch is far away.
    if n == 2:
        wrong, _ = _single(tmp_root, case, batch // n)
        far = max(float(np.max(np.abs(wrong[k] - ref[k])) / max(1.0, float(np.max(np.abs(ref[k])))))
                  for k in ref.files if k.startswith("w"))
        assert far > 100 * 1e-5


@needs_mpi
def test_batchnorm_and_dropout_replicas_identical(tmp_root):
    """BatchNormalization (shard statistics; moving statistics averaged at each epoch end)
    and Dropout (masks keyed by step and rank) keep the replicas bitwise identical."""
    d = tmp_root / "bn"
    d.mkdir()
    rc, out, _ = mpirun(2, "train_equiv.py", d, "dist", "bn_dropout")
    assert rc == 0, out
    a, b = (np.load(d / f"dist-rank{r}.npz") for r in range(2))
    for k in a.files:
        assert a[k].tobytes() == b[k].tobytes(), k
    la, lb = (json.loads((d / f"dist-rank{r}.json").read_text()) for r in range(2))
    assert la == lb
    assert la["history"]["loss"][1] < la["history"]["loss"][0]


# ------------------------------------------------------------------ faults
@needs_mpi
def test_a_killed_rank_ends_the_job():
    """Rank 1 kills itself (SIGKILL) at epoch 2: mpiexec ends the job, nobody waits forever."""
    rc, out, elapsed = mpirun(2, "faults.py", "kill", ".", env={"RANVIER_MPI_TIMEOUT": "20"})
    assert rc != 0, out
    assert "DONE" not in out
    assert elapsed < 120, f"took {elapsed:.0f} s"


@needs_mpi
@pytest.mark.skipif(_have_mpi() and _mpi_flavour() != "mpich", reason="-disable-auto-cleanup is MPICH's")
# Seen once on a 2-core machine at load ~10: MPICH ended the job (signal 9) before rank 0's
# watchdog printed. The job still ended with an error (no hang); the message is timing-bound.
@pytest.mark.xfail(strict=False, reason="under heavy load mpiexec may end the job before the watchdog speaks")
def test_a_killed_rank_is_caught_by_the_watchdog_when_mpiexec_does_not_clean_up():
    """Without mpiexec's cleanup the survivors would wait forever in the gradient
    allreduce: the watchdog reports it and aborts the job after RANVIER_MPI_TIMEOUT."""
    rc, out, elapsed = mpirun(2, "faults.py", "kill", ".", env={"RANVIER_MPI_TIMEOUT": "3"},
                              launcher_args=["-disable-auto-cleanup"])
    assert rc != 0, out
    assert "rank 0 of 2 waited more than 3 s in the gradient allreduce" in out, out
    assert elapsed < 120, f"took {elapsed:.0f} s"


@needs_mpi
def test_a_hung_rank_makes_the_others_abort_with_a_clear_error():
    rc, out, elapsed = mpirun(2, "faults.py", "hang", ".", env={"RANVIER_MPI_TIMEOUT": "3"})
    assert rc != 0, out
    assert "rank 0 of 2 waited more than 3 s in the gradient allreduce" in out, out
    assert "died, hangs, or is far behind" in out
    assert elapsed < 120, f"took {elapsed:.0f} s (the rank sleeps 600 s)"


@needs_mpi
@pytest.mark.parametrize("mode,expected", [
    ("layers", "model: layer 0 (Dense).config.units: rank 1 has 33, rank 0 has 32"),
    ("length", "x.shape: [0]: rank 1 has 633, rank 0 has 640"),
    ("batch", "batch_size: rank 1 has 48, rank 0 has 64"),
])
def test_mismatched_configuration_is_a_clear_error_on_every_rank(mode, expected):
    rc, out, _ = mpirun(2, "faults.py", mode, ".")
    assert rc != 0
    for r in range(2):
        assert f"RANK {r} ERROR: DistributedConfigError: ranvier.distributed: the ranks disagree" in out, out
    assert out.count(expected) == 2, out


@needs_mpi
def test_an_error_on_one_rank_before_training_reaches_every_rank():
    rc, out, _ = mpirun(2, "faults.py", "labels", ".")
    assert rc != 0
    assert "RANK 1 ERROR: ValueError: fit: y holds label" in out, out
    assert ("RANK 0 ERROR: DistributedError: ranvier.distributed: fit failed before training started "
            "on rank 1: ValueError: fit: y holds label") in out, out


@needs_mpi
def test_only_rank0_writes_files_and_ranks_agree_to_stop(tmp_path):
    """ModelCheckpoint and CSVLogger given on every rank write only on rank 0; a callback on
    rank 1 alone stops training at batch 3 of epoch 1: every rank stops after that same
    step (10 + 4 steps) and the replicas stay identical."""
    rc, out, _ = mpirun(2, "faults.py", "callbacks", tmp_path)
    assert rc == 0, out
    names = sorted(p.name for p in tmp_path.iterdir())
    assert "ckpt-from-rank0.rvr" in names and "log-from-rank0.csv" in names
    assert not any("from-rank1" in n for n in names), names
    a, b = (np.load(tmp_path / f"weights-rank{r}.npz") for r in range(2))
    for k in a.files:
        assert a[k].tobytes() == b[k].tobytes(), k
    assert int(a["steps"]) == 14 and int(a["epochs"]) == 2
    assert len((tmp_path / "log-from-rank0.csv").read_text().strip().splitlines()) == 3
