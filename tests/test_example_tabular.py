"""examples/train_tabular.py and its table (examples/tabular_data.py, also bench/bench_tabular.py's):
the generator is deterministic and has the structure it documents, the exact AUC helper agrees
with the pairwise definition, the example runs end to end on a small table (train, held-out
score, save, reload), and the C example predicts the saved rows as Python does."""
import glob
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")
sys.path.insert(0, EXAMPLES)
import tabular_data as TD  # noqa: E402


def test_the_table_is_deterministic_and_shaped_as_documented():
    (a, ya), (at, yat) = TD.load_data(3000, 1000, seed=5)
    (b, yb), (bt, ybt) = TD.load_data(3000, 1000, seed=5)
    (_, _), (ct, yct) = TD.load_data(500, 1000, seed=5)     # other n_train: same test rows
    (d, yd), (_, _) = TD.load_data(3000, 1000, seed=6)
    assert set(a) == {"num", *TD.CATEGORICAL_LEVELS}
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
        np.testing.assert_array_equal(at[k], bt[k])
        np.testing.assert_array_equal(at[k], ct[k])
    np.testing.assert_array_equal(ya, yb)
    np.testing.assert_array_equal(yat, yct)
    assert not np.array_equal(a["num"], d["num"]) and not np.array_equal(a["store"], d["store"])
    assert a["num"].dtype == np.float32 and a["num"].shape == (3000, TD.NUMERIC_FEATURES)
    assert ya.dtype == np.float32 and ya.shape == (3000, 1) and set(np.unique(ya)) == {0.0, 1.0}
    for name, levels in TD.CATEGORICAL_LEVELS.items():
        assert a[name].dtype == np.int64 and a[name].shape == (3000, 1)
        assert a[name].min() >= 0 and a[name].max() < levels
    # the numeric columns are on very different scales (what Normalization is for)
    sd = a["num"].std(axis=0)
    assert sd.max() / sd.min() > 1e4
    with pytest.raises(ValueError, match="n_train"):
        TD.load_data(0, 10)


def test_the_labels_follow_the_generating_probability():
    (x, y), _ = TD.load_data(40000, 10, seed=1)
    p = TD.true_probability(x, seed=1)
    assert p.shape == (40000,) and np.all((p > 0) & (p < 1))
    # calibration per decile of p: the label frequency is p within 4 binomial standard errors
    order = np.argsort(p)
    for part in np.array_split(order, 10):
        pp, yy = p[part], y[part, 0]
        se = np.sqrt(np.sum(pp * (1 - pp))) / len(part)
        assert abs(yy.mean() - pp.mean()) < 4 * se + 1e-12
    # the ids and the interactions matter: the ids alone and the numeric columns alone each
    # carry signal, and together more than either
    def auc_of(mask_ids, mask_num):
        z = {k: v.copy() for k, v in x.items()}
        if mask_ids:
            for name in TD.CATEGORICAL_LEVELS:
                z[name][:] = 0
        if mask_num:
            z["num"][:] = TD._LOC
        return TD.roc_auc(y, TD.true_probability(z, seed=1))
    full, ids_only, num_only = auc_of(False, False), auc_of(False, True), auc_of(True, False)
    assert full > max(ids_only, num_only) > 0.6


def _pairwise_auc(y, s):
    pos, neg = s[y > 0.5], s[y <= 0.5]
    diff = pos[:, None] - neg[None, :]
    return (np.sum(diff > 0) + 0.5 * np.sum(diff == 0)) / (len(pos) * len(neg))


def test_roc_auc_is_the_pairwise_statistic():
    rng = np.random.default_rng(0)
    for n in (2, 7, 300):
        y = rng.random(n) < 0.4
        y[0], y[-1] = True, False
        s = np.round(rng.standard_normal(n), 1)  # many ties
        assert TD.roc_auc(y, s) == pytest.approx(_pairwise_auc(y, s), abs=1e-12)
    assert TD.roc_auc([0, 1], [0.2, 0.9]) == 1.0 and TD.roc_auc([1, 0], [0.2, 0.9]) == 0.0
    with pytest.raises(ValueError, match="both classes"):
        TD.roc_auc([1, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match="rows"):
        TD.roc_auc([1, 0, 1], [0.1, 0.2])


@pytest.fixture(scope="module")
def example_run(tmp_path_factory):
    """The example on a small table: 6000 rows, 3 epochs (seconds)."""
    out = tmp_path_factory.mktemp("tabular")
    env = dict(os.environ)  # the ranvier the tests import (installed, or the developer's PYTHONPATH)
    p = subprocess.run([sys.executable, os.path.join(EXAMPLES, "train_tabular.py"), "--rows", "6000",
                        "--test-rows", "2000", "--epochs", "3", "--out", str(out), "--c-rows", "37"],
                       capture_output=True, text=True, env=env, timeout=600)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-3000:]
    return out, p.stdout


def test_the_example_trains_scores_saves_and_reloads(example_run):
    import ranvier
    out, stdout = example_run
    assert "held-out: loss" in stdout and "identically" in stdout
    model = ranvier.models.load_model(os.path.join(out, "tabular.safetensors"))
    assert sorted(t.name for t in model.inputs) == sorted(["num", *TD.CATEGORICAL_LEVELS])
    _, (xt, yt) = TD.load_data(10, 2000, seed=0)
    rows = {k: v[:37] for k, v in xt.items()}
    # the rows written for the C app are the first held-out rows, ids as exact floats
    for k, v in rows.items():
        np.testing.assert_array_equal(np.fromfile(os.path.join(out, "rows", f"{k}.f32"), dtype="<f4"),
                                      v.astype(np.float32).reshape(-1))
    expected = np.loadtxt(os.path.join(out, "rows", "python.txt"), ndmin=2).astype(np.float32)
    np.testing.assert_array_equal(model.predict(rows, verbose=0), expected)  # %.9g round-trips float32
    # it learned: 3 epochs on 6000 rows reach a held-out AUC near 0.70 (the generating
    # probability's is 0.86, chance 0.5)
    p = model.predict(xt, verbose=0)
    assert TD.roc_auc(yt, p) > 0.65


def test_the_c_example_predicts_the_saved_rows_as_python(example_run, tmp_path):
    """examples/c/tabular.c against a local build's static library (skipped when there is
    none or no C compiler; CI builds it against the installed package in .ci/embed.sh)."""
    out, _ = example_run
    libs = sorted(glob.glob(os.path.join(ROOT, "build", "*", "libranvier_core.a")), key=os.path.getmtime)
    cc = shutil.which("cc") or shutil.which("gcc")
    if not libs or cc is None:
        pytest.skip("no local build of libranvier_core.a, or no C compiler")
    app = tmp_path / "predict_tabular_c"
    build = subprocess.run([cc, "-O1", "-std=c99", "-Wall", "-Wextra", os.path.join(EXAMPLES, "c", "tabular.c"),
                            "-I", os.path.join(ROOT, "cpp", "include"), libs[-1], "-lstdc++", "-fopenmp", "-lm",
                            "-o", str(app)], capture_output=True, text=True)
    if build.returncode != 0:
        pytest.skip(f"the C example does not link against {libs[-1]} here: {build.stderr[-500:]}")
    got = subprocess.run([str(app), os.path.join(out, "tabular.safetensors"), os.path.join(out, "rows")],
                         capture_output=True, text=True, check=True).stdout
    with open(os.path.join(out, "rows", "python.txt")) as f:
        assert got == f.read()
    # a missing input file is refused with its path
    bad = tmp_path / "rows"
    bad.mkdir()
    for name in ("num", "store", "product"):
        shutil.copy(os.path.join(out, "rows", f"{name}.f32"), bad / f"{name}.f32")
    p = subprocess.run([str(app), os.path.join(out, "tabular.safetensors"), str(bad)], capture_output=True, text=True)
    assert p.returncode != 0 and "region.f32" in p.stderr


def test_the_tabular_benchmark_runs_ranvier(tmp_path):
    """bench/bench_tabular.py end to end with ranvier alone on a small table (its workers are
    subprocesses; the peers are left out here: they live in the benchmark's own environment)."""
    import json
    out = tmp_path / "tabular.json"
    env = dict(os.environ)  # the ranvier the tests import (installed, or the developer's PYTHONPATH)
    p = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "bench_tabular.py"), "--quick", "--rows", "2048",
                        "--frameworks", "ranvier", "--json", str(out)], capture_output=True, text=True, env=env,
                       timeout=600)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    res = json.loads(out.read_text())
    e = res["runs"]["1"]["ranvier"]
    assert "error" not in e and len(e["unit_seconds"]) == 1 and e["samples_per_s"] > 0
    assert 0.5 < e["score"]["auc"] <= 1 and e["score"]["finite"]
    # the generating probability's held-out AUC, the ceiling the table prints
    _, (xt, yt) = TD.load_data(1, res["n_test"])
    assert res["reference"]["auc"] == pytest.approx(TD.roc_auc(yt, TD.true_probability(xt)), abs=1e-12)
    assert "held-out AUC" in p.stdout and "L2 per core" in p.stdout
