"""What small hostile model files may cost, and the rules of the one file writer.

1. Every file of tests/hostile_files.py (each under 1 MB: many keys, duplicate keys, deep
   nesting, huge declared sizes, long strings, layer build_configs, metric sizes, HDF5
   links and declared shapes) makes each loader (Python load_model, the C++ loader, the
   .h5 weights loader) raise ValueError or load, while allocating at most 64 MB: measured
   in a child process per loader as the growth of the peak resident set (VmHWM, reset
   before each file) and, for Python, tracemalloc's peak.
2. Hypothesis mutations that stress the parsers' cost and every size-like field of a
   model file (2**31 +- 1, 2**63 - 1, ...): ValueError or a loaded model, never another
   exception, and a Python allocation peak under the budget.
3. The writer: saving through a symbolic link writes the target and keeps the link; a
   save killed by SIGTERM leaves its temporary file only until the next save to that
   folder, one interrupted by SIGINT leaves none; the target stays intact; paths may be
   str, bytes or os.PathLike, an empty one is refused.

No assertion depends on time: the time per file is what bench/bench_hostile_files.py
reports.
"""
import json
import os
import pathlib
import signal
import struct
import subprocess
import sys
import tempfile
import textwrap
import time
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hostile_files
import ranvier
from ranvier import _core

BUDGET_MB = 64
UNDER_SANITIZER = bool(os.environ.get("RANVIER_UNDER_SANITIZER"))
HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = int(os.environ.get("RANVIER_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])

try:
    import h5py
except ImportError:  # the .h5 tests are skipped
    h5py = None

# ------------------------------------------------------------------ 1. the worst files, measured
_CHILD = r"""
import ctypes, json, os, sys, tracemalloc
import numpy as np
import ranvier
from ranvier import _core
kind, loader, folder = sys.argv[1:4]
names = json.loads(sys.argv[4])
try:
    libc = ctypes.CDLL("libc.so.6")
    trim = lambda: libc.malloc_trim(0)
except OSError:
    trim = lambda: None

def hwm():  # (current RSS, peak RSS since the last reset), in kB
    f = dict(l.split(":", 1) for l in open("/proc/self/status") if ":" in l)
    return int(f["VmRSS"].split()[0]), int(f["VmHWM"].split()[0])

def reset():
    trim()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM to the current RSS

def load(path):
    if kind == "h5":
        m = ranvier.Sequential([ranvier.Input(shape=(4,)), ranvier.layers.Dense(3)])
        m.load_weights(path)
    elif loader == "py":
        ranvier.models.load_model(path)
    else:
        _core.io_cpp_load_check(path)

out = {}
warm = os.path.join(folder, "warm.safetensors")
load(warm) if kind != "h5" else None
for name in names:
    path = os.path.join(folder, name)
    reset()
    rss0, _ = hwm()
    outcome = "loaded"
    try:
        load(path)
    except Exception as e:
        outcome = type(e).__name__ + ": " + str(e)[:2000]
    _, peak = hwm()
    traced = 0
    if loader == "py":  # a second load under tracemalloc (which itself adds to the resident set)
        tracemalloc.start()
        try:
            load(path)
        except Exception:
            pass
        traced = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    out[name] = {"rss_mb": (peak - rss0) / 1024, "traced_mb": traced / 2**20, "outcome": outcome}
print(json.dumps(out))
"""


def _measure(kind, loader, folder, names):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([HERE] + sys.path))
    r = subprocess.run([sys.executable, "-c", _CHILD, kind, loader, str(folder), json.dumps(names)],
                       capture_output=True, text=True, env=env, timeout=900)
    assert r.returncode == 0, f"the {loader} loader crashed: {r.stderr[-2000:]}"
    return json.loads(r.stdout.strip().splitlines()[-1])


def _check(results, allowed_ok):
    for name, r in results.items():
        outcome = r["outcome"]
        assert outcome == "loaded" or outcome.startswith("ValueError"), f"{name}: {outcome}"
        if outcome != "loaded":
            assert "'" in outcome, f"{name}: the error must name the file: {outcome}"
        if name.split(".")[0] not in allowed_ok:
            assert outcome != "loaded", f"{name} was accepted"
        if not UNDER_SANITIZER:  # ASan's shadow memory and quarantine change the resident set
            assert r["rss_mb"] <= BUDGET_MB, f"{name}: the peak resident set grew {r['rss_mb']:.1f} MB"
            assert r["traced_mb"] <= BUDGET_MB, f"{name}: Python allocations peaked at {r['traced_mb']:.1f} MB"


@pytest.mark.skipif(not os.path.exists("/proc/self/clear_refs"), reason="needs Linux's /proc peak-RSS reset")
@pytest.mark.parametrize("loader", ["py", "cpp"])
def test_hostile_safetensors_files_stay_within_the_budget(tmp_path, loader):
    names = []
    (tmp_path / "warm.safetensors").write_bytes(hostile_files.small_model_file())
    for name, make in hostile_files.SAFETENSORS.items():
        data = make()
        assert len(data) < hostile_files.LIMIT, f"{name} is {len(data)} bytes"
        (tmp_path / (name + ".safetensors")).write_bytes(data)
        names.append(name + ".safetensors")
    if h5py is not None:  # Keras .keras archives: load_model reads them (the C++ loader refuses them)
        for name, make in hostile_files.KERAS.items():
            data = make()
            assert len(data) < hostile_files.LIMIT, f"{name} is {len(data)} bytes"
            (tmp_path / (name + ".keras")).write_bytes(data)
            names.append(name + ".keras")
    # Files that are valid models (nothing in them is too large): they load.
    ok = {"many_metadata_keys", "many_tensor_keys", "model_build_config_only", "layers_at_the_limit", "many_seeds",
          "many_metrics"}
    if loader == "cpp":  # the C++ loader ignores metrics' configs and the optimizer state
        ok |= {"top_k_accuracy", "many_optimizer_scalars", "many_optimizer_slots"}
    else:
        ok |= set()
    _check(_measure("st", loader, tmp_path, names), ok)


@pytest.mark.skipif(h5py is None or not os.path.exists("/proc/self/clear_refs"),
                    reason="needs h5py and Linux's /proc peak-RSS reset")
def test_hostile_h5_files_stay_within_the_budget(tmp_path):
    names = []
    for name, make in hostile_files.H5.items():
        path = tmp_path / (name + ".weights.h5")
        make(str(path))
        assert path.stat().st_size < hostile_files.LIMIT, f"{name} is {path.stat().st_size} bytes"
        names.append(path.name)
    results = _measure("h5", "py", tmp_path, names)
    _check(results, {"h5_many_groups"})
    for name in ["h5_external_link", "h5_external_group_link", "h5_soft_link_to_external", "h5_virtual_dataset",
                 "h5_external_storage"]:
        assert "other files" in results[name + ".weights.h5"]["outcome"], results[name + ".weights.h5"]


@pytest.mark.skipif(h5py is None, reason="needs h5py")
def test_h5_link_inside_the_file_still_works(tmp_path):
    """Soft links that stay inside the file are followed (only what leaves it is refused)."""
    path = tmp_path / "w.weights.h5"
    k = np.arange(12, dtype=np.float32).reshape(4, 3)
    with h5py.File(path, "w") as f:
        f.create_dataset("store/k", data=k)
        v = f.require_group("layers/dense/vars")
        v["0"] = h5py.SoftLink("/store/k")
        v.create_dataset("1", data=np.ones(3, np.float32))
    m = hostile_files.h5_target_model()
    m.load_weights(path)
    assert np.array_equal(m.get_weights()[0], k)


# ------------------------------------------------------------------ 2. hypothesis mutations
SIZES = st.one_of(st.sampled_from([0, 1, 2, 2 ** 31 - 1, 2 ** 31, 2 ** 31 + 1, 2 ** 32, 2 ** 40, 2 ** 53 + 1,
                                   2 ** 63 - 1, 2 ** 63, 2 ** 64 - 1, 2 ** 64, 10 ** 30, 3e9, 1e300, -1, 2.5]),
                  st.integers(0, 2 ** 64))


def _traced_peak(fn):
    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak / 2 ** 20


def _load_both(data, folder):
    """Python and C++ loaders on one file: ValueError or loaded, Python's allocation peak."""
    path = os.path.join(folder, "m.safetensors")
    with open(path, "wb") as f:
        f.write(data)

    def py():
        try:
            ranvier.models.load_model(path)
        except ValueError as e:
            assert str(e)

    peak = _traced_peak(py)
    try:
        _core.io_cpp_load_check(path)
    except ValueError as e:
        assert str(e)
    return peak


def _model_meta(units=3, build_in=None, input_dim=4, metric=None, **extra):
    layer = hostile_files.dense("dense", units, build_in=build_in)
    meta = hostile_files.base_meta(hostile_files.seq([layer], input_dim=input_dim))
    meta["weights"] = json.dumps([{"name": "dense", "class_name": "Dense", "weights": ["kernel", "bias"]}])
    if metric is not None:
        meta["compile_config"] = json.dumps({"optimizer": "adam", "loss": "mse", "metrics": [metric]})
    meta.update(extra)
    return meta


def _small_tensors():
    return [("layers/dense/kernel", "F32", (4, 3), bytes(48)), ("layers/dense/bias", "F32", (3,), bytes(12))]


FIELDS = ["units", "build_in", "input_dim", "auc", "top_k", "k", "train_steps", "seed", "shape"]


@FUZZ
@given(field=st.sampled_from(FIELDS), value=SIZES)
def test_every_size_field_is_bounded(field, value):
    kw = {}
    tensors = _small_tensors()
    extra = {}
    if field in ("units", "build_in", "input_dim"):
        kw[field] = value
    elif field == "auc":
        kw["metric"] = {"class_name": "AUC", "config": {"name": "auc", "num_thresholds": value}}
    elif field == "top_k":
        kw["metric"] = {"class_name": "Precision", "config": {"name": "p", "top_k": value}}
    elif field == "k":
        kw["metric"] = {"class_name": "TopKCategoricalAccuracy", "config": {"name": "t", "k": value}}
    elif field == "train_steps":
        extra["train_steps"] = str(value)
    elif field == "seed":
        extra["layer_seeds"] = json.dumps({"dense": value})
    else:
        tensors = [("layers/dense/kernel", "F32", (int(abs(value)) if isinstance(value, int) else 7, 3), b"")] + \
            tensors[1:]
    try:
        meta = _model_meta(**kw)
    except (TypeError, ValueError):
        return
    meta.update(extra)
    data = hostile_files.st_file(meta, tensors)
    with tempfile.TemporaryDirectory() as d:
        peak = _load_both(data, d)
    assert peak <= BUDGET_MB, f"{field}={value}: Python allocations peaked at {peak:.1f} MB"


@FUZZ
@given(n_keys=st.integers(0, 30_000), depth=st.integers(0, 3000), str_len=st.integers(0, 300_000),
       dup=st.booleans(), where=st.sampled_from(["header", "architecture", "compile_config", "layer_config"]))
def test_parser_cost_mutations(n_keys, depth, str_len, dup, where):
    """Many keys, deep nesting, long strings and duplicate keys, placed in the header or in
    one of the metadata JSON values: a clear ValueError or a loaded model, bounded peak."""
    keys = {f"x{i}": 0 for i in range(n_keys)}
    nested = "[" * depth + "]" * depth if depth else "0"
    long = "s" * str_len
    meta = _model_meta()
    if where == "header":
        body = json.dumps({"__metadata__": meta})[:-1]
        body += "".join(f',"h{i}":{{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}' for i in range(n_keys // 8))
        body += f',"deep":{nested}' if depth else ""
        body += ',"__metadata__":{}' if dup else ""
        body += "}"
        data = hostile_files.st_file(None, raw_header=body.encode())
    else:
        if where == "architecture":
            arch = json.loads(meta["architecture"])
            arch["config"].update(keys)
            arch["config"]["long"] = long
            text = json.dumps(arch)[:-1] + (f',"deep":{nested}' if depth else "") + \
                (',"class_name":"Sequential"' if dup else "") + "}"
            meta["architecture"] = text
        elif where == "compile_config":
            cc = {"optimizer": "adam", "loss": "mse", "metrics": ["mse"], "extra": keys, "long": long}
            meta["compile_config"] = json.dumps(cc)[:-1] + (f',"deep":{nested}' if depth else "") + \
                (',"loss":"mae"' if dup else "") + "}"
        else:
            arch = json.loads(meta["architecture"])
            cfg = arch["config"]["layers"][1]["config"]
            cfg.update(keys)
            cfg["long"] = long
            meta["architecture"] = json.dumps(arch).replace('"units": 3', '"units": 3, "units": 3' if dup else
                                                            '"units": 3')
        data = hostile_files.st_file(meta, _small_tensors())
    if len(data) >= hostile_files.LIMIT:
        return
    try:
        _core.io_parse_header(data, len(data), True)
    except ValueError as e:
        assert str(e)
    with tempfile.TemporaryDirectory() as d:
        peak = _load_both(data, d)
    assert peak <= BUDGET_MB


@pytest.mark.skipif(h5py is None, reason="needs h5py")
@FUZZ
@given(shape=st.lists(st.sampled_from([1, 3, 4, 2 ** 10, 2 ** 16, 2 ** 31 - 1, 2 ** 31 + 1]), min_size=0, max_size=4),
       dtype=st.sampled_from(["f4", "f8", "i8", "u1", "S16", "c8"]),
       link=st.sampled_from(["hard", "soft_inside", "external", "soft_to_external"]),
       legacy=st.booleans())
def test_h5_mutations(shape, dtype, link, legacy):
    """Declared shapes and dtypes the file never stores, and links of every kind: the .h5
    loader raises ValueError or loads, reads nothing outside the file, and allocates little."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "w.h5")
        other = os.path.join(d, "other.h5")
        with h5py.File(other, "w") as g:
            g.create_dataset("k", data=np.ones((4, 3), np.float32))
        with h5py.File(path, "w") as f:
            if legacy:
                f.attrs["layer_names"] = [b"dense"]
                grp = f.require_group("dense")
                grp.attrs["weight_names"] = [b"0", b"1"]
            else:
                grp = f.require_group("layers/dense/vars")
            try:
                store = f.create_dataset("store/k", shape=tuple(shape), dtype=dtype,
                                         chunks=tuple(min(s, 64) for s in shape) if shape else None)
            except (ValueError, TypeError, OSError):
                return
            if link == "hard":
                grp["0"] = store
            elif link == "soft_inside":
                grp["0"] = h5py.SoftLink("/store/k")
            elif link == "external":
                grp["0"] = h5py.ExternalLink(other, "/k")
            else:
                f["ext"] = h5py.ExternalLink(other, "/")
                grp["0"] = h5py.SoftLink("/ext/k")
            grp.create_dataset("1", data=np.zeros(3, np.float32))
        m = hostile_files.h5_target_model()
        before = [w.copy() for w in m.get_weights()]

        def load():
            try:
                m.load_weights(path)
            except ValueError as e:
                assert str(e)
                if link in ("external", "soft_to_external"):
                    assert "other files" in str(e)

        peak = _traced_peak(load)
        assert peak <= BUDGET_MB
        if link in ("external", "soft_to_external"):  # nothing of the other file came in
            assert all(np.array_equal(a, b) for a, b in zip(before, m.get_weights()))


# ------------------------------------------------------------------ 3. the writer
def _model(d=4, units=3):
    ranvier.utils.set_random_seed(0)
    return ranvier.Sequential([ranvier.Input(shape=(d,)), ranvier.layers.Dense(units)])


def _temporaries(folder):
    return sorted(f for f in os.listdir(folder) if f.endswith(".tmp"))


def test_save_through_symlinks_writes_the_target_and_keeps_the_link(tmp_path):
    m = _model()
    x = np.ones((2, 4), np.float32)
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "m.safetensors"
    link = tmp_path / "link.safetensors"
    chain = tmp_path / "chain.safetensors"
    link.symlink_to("real/m.safetensors")  # relative, dangling until the first save
    chain.symlink_to(link)
    m.save(chain)
    assert chain.is_symlink() and link.is_symlink() and target.is_file() and not target.is_symlink()
    assert np.array_equal(ranvier.models.load_model(target).predict(x, verbose=0), m.predict(x, verbose=0))
    m2 = _model(units=3)
    m2.layers[0].set_weights([np.full((4, 3), 2.0, np.float32), np.zeros(3, np.float32)])
    m2.save(link)
    assert link.is_symlink() and target.is_file()
    assert np.array_equal(ranvier.models.load_model(link).get_weights()[0], np.full((4, 3), 2.0))
    m2.save_weights(link)
    assert link.is_symlink()
    assert _temporaries(tmp_path) == [] and _temporaries(tmp_path / "real") == []


def test_save_takes_bytes_and_pathlike_paths_and_refuses_empty_ones(tmp_path):
    m = _model()
    raw = os.fsencode(str(tmp_path / "b\xe9.safetensors"))
    m.save(raw)
    assert os.path.exists(raw)
    assert np.array_equal(ranvier.models.load_model(raw).get_weights()[0], m.get_weights()[0])
    m.save_weights(raw + b".w")
    m.load_weights(raw + b".w")
    m.save(pathlib.PurePosixPath(str(tmp_path / "p.safetensors")) if os.name == "posix" else tmp_path / "p.safetensors")
    for bad in ("", b""):
        with pytest.raises(ValueError, match="empty"):
            m.save(bad)
        with pytest.raises(ValueError, match="empty"):
            m.save_weights(bad)
    with pytest.raises(TypeError, match="filepath"):
        m.save(3)


_KILLED_SAVE = textwrap.dedent(r"""
    import os, sys, time
    import numpy as np
    import ranvier
    m = ranvier.Sequential([ranvier.Input(shape=(256,)), ranvier.layers.Dense(256)])
    def stuck(fd):  # the save is written and locked: it waits here to be signalled
        print("in-save", flush=True)
        time.sleep(120)
    os.fsync = stuck
    m.save(sys.argv[1])
""")


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL, signal.SIGINT])
def test_a_killed_save_leaves_no_temporary_file_after_the_next_save(tmp_path, sig):
    target = tmp_path / "m.safetensors"
    good = _model()
    good.save(target)
    before = target.read_bytes()
    p = subprocess.Popen([sys.executable, "-c", _KILLED_SAVE, str(target)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "in-save", p.stderr.read()
        assert len(_temporaries(tmp_path)) == 1  # the killed save's file, written and locked
        p.send_signal(sig)
        p.wait(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert target.read_bytes() == before  # the target is intact either way
    if sig == signal.SIGINT:  # KeyboardInterrupt unwinds through the writer, which cleans up
        assert _temporaries(tmp_path) == []
    other = tmp_path / "other.safetensors"
    good.save(other)  # any save to that folder removes what a dead save left
    assert _temporaries(tmp_path) == []
    assert np.array_equal(ranvier.models.load_model(target).get_weights()[0], good.get_weights()[0])


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_a_save_in_progress_is_not_removed_by_another_save(tmp_path):
    target = tmp_path / "m.safetensors"
    p = subprocess.Popen([sys.executable, "-c", _KILLED_SAVE, str(target)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "in-save", p.stderr.read()
        live = _temporaries(tmp_path)
        assert len(live) == 1
        _model().save(tmp_path / "other.safetensors")
        assert _temporaries(tmp_path) == live  # held locked by a live process: left alone
    finally:
        p.kill()
        p.wait()


def test_one_writer_the_python_copies_are_gone():
    from ranvier import saving
    for name in ("_encode", "_atomic_write", "_fsync_dir", "_umask"):
        assert not hasattr(saving, name), name


def test_model_bytes_equal_the_file_written(tmp_path):
    m = _model()
    m.compile(optimizer="adam", loss="mse")
    m.fit(np.ones((8, 4), np.float32), np.ones((8, 3), np.float32), epochs=1, verbose=0)
    m.save(tmp_path / "m.safetensors")
    blob = ranvier.saving.model_to_bytes(m)
    assert (tmp_path / "m.safetensors").read_bytes() == blob
    n = struct.unpack("<Q", blob[:8])[0]
    assert (8 + n) % 8 == 0 and blob[8:9] == b"{"
