"""What the guide's pages (docs/guide) claim, checked with the guide's own functions.

The scripts under docs/guide are imported (not copied), so a change to a script that
breaks a claim of its page fails here. The checked-in figures themselves are compared with
what the scripts draw by ``python docs/guide/make_figures.py --check`` (CI, .ci/extras).
"""
import importlib.util
import os
import re

import numpy as np
import pytest

import ranvier
import c_api_ctypes

GUIDE = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "docs", "guide")


def _load(name):
    """docs/guide/<name>.py as the module ``ranvier_guide_<name>`` (no sys.path change)."""
    spec = importlib.util.spec_from_file_location(f"ranvier_guide_{name}", os.path.join(GUIDE, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _page(name):
    with open(os.path.join(GUIDE, f"{name}.md"), encoding="utf-8") as f:
        return f.read()


perceptron = _load("perceptron")
activations = _load("activations")
losses = _load("losses")
optimizers = _load("optimizers")
mlp = _load("mlp")


# ----------------------------------------------------------------------------- the perceptron
def test_perceptron_final_accuracy_and_the_sum_by_hand():
    model, before, x, y, accuracy_before, accuracy = perceptron.train()
    # The page: the random start classifies badly, 40 epochs of SGD reach >= 0.95.
    assert accuracy_before < 0.5
    assert accuracy >= 0.95
    # evaluate's accuracy is the share of thresholded predictions that match
    p = model.predict(x, verbose=0)[:, 0]
    assert accuracy == pytest.approx(np.mean((p > 0.5) == (y == 1)), abs=1e-6)
    # The neuron is sigmoid(x . w + b): NumPy in float64 agrees with the float32 kernels
    # to float32 rounding (a 2-term dot product and a sigmoid: 1e-6 absolute is ample).
    np.testing.assert_allclose(p, perceptron.by_hand(model.get_weights(), x)[:, 0], rtol=0, atol=1e-6)
    # training moved the weights; `before` is the model's real starting point
    assert not np.allclose(before[0], model.get_weights()[0])


# ----------------------------------------------------------------------------- activations
def test_every_activation_kernel_is_drawn_and_the_rest_are_named():
    drawn = activations.kinds()
    assert drawn == list(ranvier.activations.KIND_NAMES)  # the registry, in its order
    numpy_only = activations.numpy_only()
    assert set(numpy_only).isdisjoint(drawn)
    # every public activation function either has a kernel (drawn) or is listed as NumPy-only
    public = {n for n in ranvier.activations.__all__ if callable(getattr(ranvier.activations, n))}
    public -= {"get", "serialize", "deserialize", "core_spec", "core_kind"}
    for name in public - set(numpy_only):
        assert ranvier.activations.core_spec(name)[0] in drawn, name


@pytest.mark.parametrize("kind", list(ranvier.activations.KIND_NAMES))
def test_plotted_derivative_matches_finite_differences(kind, isa):
    # on every kernel tier (the `isa` fixture), not only the one the figure was drawn with
    x = activations.grid()
    y, dy = activations.forward(kind, x), activations.derivative(kind, x)
    np.testing.assert_array_equal(activations.curves()[kind][2], dy)  # what the figure draws
    assert x.dtype == y.dtype == dy.dtype == np.float32
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(dy))
    # Central differences of the forward kernel. The kernels are float32 only, so the
    # forward values are float32; x +- h is exact (x on a 1/64 grid, h = 2^-7) and the
    # quotient is formed in float64. Error budget: rounding of f, about
    # 2 * 6e-8 * |f| / (2h) = 8e-6 |f|, plus truncation h^2/6 |f'''| <= 1e-5 |f'''|
    # (exponential at x = 4: |f| = |f'''| = 55, so 1e-3 absolute there): tolerance
    # 1e-3 * (1 + |f| + |f'|). No plotted x lies within h of a corner (see grid()).
    h = 2.0 ** -7
    fd = (activations.forward(kind, x + np.float32(h)).astype(np.float64)
          - activations.forward(kind, x - np.float32(h)).astype(np.float64)) / (2 * h)
    tol = 1e-3 * (1.0 + np.abs(y) + np.abs(fd))
    err = np.abs(dy.astype(np.float64) - fd)
    worst = int(np.argmax(err / tol))
    assert np.all(err <= tol), f"{kind}: at x={x[worst]} backward {dy[worst]} vs finite difference {fd[worst]}"


def test_plotted_activation_is_the_public_function():
    # The figure's forward values are the ones ranvier.activations.<name> returns.
    x = activations.grid()
    for kind in activations.kinds():
        if kind in ("gelu_approx", "softmax", "log_softmax"):
            continue
        np.testing.assert_array_equal(activations.forward(kind, x), getattr(ranvier.activations, kind)(x))
    np.testing.assert_array_equal(activations.forward("gelu_approx", x),
                                  ranvier.activations.gelu(x, approximate=True))
    z = np.stack([x, np.zeros_like(x)], axis=-1)
    np.testing.assert_array_equal(activations.forward("softmax", x), ranvier.activations.softmax(z)[:, 0])


def test_activation_table_names_resolve():
    rows = _table(_page("activations"))
    assert len(rows) >= 5
    activation_names = set().union(*(_names(r["Activation"]) for r in rows))
    assert {"linear", "sigmoid", "softmax"} <= activation_names
    for name in activation_names:
        ranvier.activations.core_spec(name)  # a name a layer accepts (it runs in C++)
    for name in set().union(*(_names(r["Loss"]) for r in rows)):
        ranvier.losses.get(name)


# ----------------------------------------------------------------------------- losses
def _table(page):
    """The rows of the page's Markdown table, as {column header: cell text}."""
    lines = [line for line in page.splitlines() if line.startswith("|")]
    cells = [[c.strip() for c in line.strip().strip("|").split("|")] for line in lines]
    header, body = cells[0], [c for c in cells[1:] if not set("".join(c)) <= set("-: ")]
    return [dict(zip(header, row)) for row in body]


def _names(cell):
    """The names in a cell's `code` spans (quotes dropped); `Dense(1)` and the like are skipped."""
    return set(re.findall(r"`\"?([a-z_0-9]+)\"?`", cell))


def test_loss_curves_are_the_textbook_formulas():
    # The curves come from ranvier's loss objects; here they are checked against the
    # formulas the page names (NumPy, float64; float32 results: rtol 1e-5, atol 1e-6).
    curves = losses.regression_curves()
    e = curves["mean_squared_error"][0].astype(np.float64)
    ref = {"mean_squared_error": e ** 2, "mean_absolute_error": np.abs(e),
           "huber (delta=1)": np.where(np.abs(e) <= 1, 0.5 * e ** 2, np.abs(e) - 0.5),
           "log_cosh": np.log(np.cosh(e))}
    assert set(curves) == set(ref)
    for name, (_, got) in curves.items():
        np.testing.assert_allclose(got, ref[name], rtol=1e-5, atol=1e-6, err_msg=name)
    curves = losses.classification_curves()
    p = curves["binary_crossentropy"][0].astype(np.float64)
    ref = {"binary_crossentropy": -np.log(p),
           "binary_focal_crossentropy (gamma=2)": -(1 - p) ** 2 * np.log(p),
           "hinge (on the score 2p - 1)": np.maximum(0.0, 1.0 - (2 * p - 1))}
    assert set(curves) == set(ref)
    for name, (_, got) in curves.items():
        np.testing.assert_allclose(got, ref[name], rtol=1e-5, atol=1e-6, err_msg=name)


def test_loss_table_names_are_keras_names_ranvier_knows():
    rows = _table(_page("losses"))
    assert len(rows) >= 8
    loss_names = set().union(*(_names(r["Loss (Keras name)"]) for r in rows))
    assert {"mean_squared_error", "mse", "binary_crossentropy", "categorical_crossentropy",
            "sparse_categorical_crossentropy", "binary_focal_crossentropy", "huber", "log_cosh"} <= loss_names
    for name in loss_names:
        ranvier.losses.get(name)
        model = ranvier.Sequential([ranvier.Input(shape=(2,)), ranvier.layers.Dense(2)])
        model.compile(optimizer="sgd", loss=name)  # accepted by compile, as the page says
    for name in set().union(*(_names(r["Output activation"]) for r in rows)):
        ranvier.activations.core_spec(name)


# ----------------------------------------------------------------------------- optimizers
def test_optimizer_ranking_stated_on_the_page():
    results = optimizers.run_all()
    stated = re.search(r"^Ranking on this seed: (.+)$", _page("optimizers"), re.M)
    assert stated, "optimizers.md must state its ranking on a line 'Ranking on this seed: A < B < ...'"
    order = [s.strip().strip("*`") for s in stated.group(1).split("<")]
    assert optimizers.ranking(results) == order
    assert set(order) == set(optimizers.optimizers())
    # The order means something: each final loss is >= 1% above the previous one.
    final = [results[name][0][-1] for name in order]
    for a, b in zip(final, final[1:]):
        assert b > 1.01 * a, (order, final)
    # Same start for every optimizer, and every path has one point per step plus the start.
    for losses_, path in results.values():
        assert len(losses_) == optimizers.STEPS and path.shape == (optimizers.STEPS + 1, 2)
        assert tuple(path[0]) == optimizers.START


def test_loss_surface_is_the_training_loss():
    # The surface drawn under the paths is the loss fit() minimises: at the start point the
    # grid's value equals the first logged loss (float32 sums over 200 samples: rtol 1e-5).
    results = optimizers.run_all()
    w0, b0 = optimizers.START
    surface = optimizers.loss_surface(np.array([w0]), np.array([b0]))
    for losses_, _ in results.values():
        assert surface[0, 0] == pytest.approx(losses_[0], rel=1e-5)


# ----------------------------------------------------------------------------- the MLP
@pytest.fixture(scope="module")
def spiral_results():
    return mlp.train_all()


def test_spirals_are_solved_by_the_deeper_networks_only(spiral_results):
    accuracy = {config: acc for config, (_, _, acc) in spiral_results.items()}
    for (depth, units), acc in accuracy.items():
        if depth >= 2:
            assert acc >= mlp.SOLVED, (depth, units, acc)
        else:
            assert acc < mlp.FAILED, (depth, units, acc)
    assert {1, 2, 3} == {d for d, _ in accuracy}


def test_spiral_model_in_the_c_api_predicts_as_python(spiral_results, tmp_path):
    # The C example calls ranvier_model_load / ranvier_model_predict; the compiled module
    # exposes those same C functions' addresses (CI also runs the built app: .ci/embed.sh).
    model = spiral_results[(3, 16)][0]
    p = mlp.export(model, str(tmp_path))
    x = np.fromfile(tmp_path / "x.f32", dtype="<f4").reshape(-1, 2)
    out = c_api_ctypes.predict_file(tmp_path / "spiral.safetensors", x)
    np.testing.assert_array_equal(out, p)
    # python.txt holds the same numbers, printed as the C app prints them
    printed = np.loadtxt(tmp_path / "python.txt", dtype=np.float64, ndmin=2).astype(np.float32)
    np.testing.assert_array_equal(printed, p)
    # and the file reloads in Python to the same predictions
    np.testing.assert_array_equal(ranvier.models.load_model(tmp_path / "spiral.safetensors").predict(x, verbose=0), p)


# ----------------------------------------------------------------------------- the CI figure check
def test_figure_check_reports_a_changed_pixel_a_missing_file_and_a_changed_number(tmp_path):
    # make_figures.py --check (CI) compares with compare(): a one-pixel change must fail it.
    pytest.importorskip("matplotlib")
    import matplotlib.image

    make_figures = _load("make_figures")
    expected, got = tmp_path / "expected", tmp_path / "got"
    expected.mkdir()
    got.mkdir()
    image = np.zeros((8, 8, 3), dtype=np.float32)
    matplotlib.image.imsave(expected / "a.png", image)
    matplotlib.image.imsave(got / "a.png", image)
    (expected / "a.txt").write_text("accuracy 0.965\n")
    (got / "a.txt").write_text("accuracy 0.965\n")
    assert make_figures.compare(str(expected), str(got)) == []
    image[3, 4, 1] = 1.0
    matplotlib.image.imsave(got / "a.png", image)
    (got / "a.txt").write_text("accuracy 0.960\n")
    (expected / "b.png").write_bytes((expected / "a.png").read_bytes())
    problems = make_figures.compare(str(expected), str(got))
    assert problems == ["b.png: checked in but no script writes it",
                        "a.png: differs from what the scripts draw now",
                        "a.txt: differs from what the scripts draw now"]
