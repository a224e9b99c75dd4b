"""history.plot() / ranvier.plotting.plot_history (matplotlib is optional: skipped without it)."""
import subprocess
import sys

import numpy as np
import pytest

import ranvier as keras
from ranvier.plotting import plot_history

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")  # no display in tests
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def history():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.random((200, 5), dtype=np.float32)
    y = (x[:, 0] + x[:, 1] > 1).astype(np.int64)
    model = keras.Sequential([keras.Input(shape=(5,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model.fit(x, y, epochs=4, validation_split=0.25, verbose=0)


def _lines(ax):
    return {line.get_label(): (list(line.get_xdata()), list(line.get_ydata())) for line in ax.get_lines()}


def test_panels_pair_training_and_validation(history):
    fig = plot_history(history)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == ["loss", "accuracy"]
    for ax, name in zip(axes, ["loss", "accuracy"]):
        lines = _lines(ax)
        assert set(lines) == {"training", "validation"}
        assert lines["training"] == ([1, 2, 3, 4], history.history[name])
        assert lines["validation"] == ([1, 2, 3, 4], history.history["val_" + name])
        assert ax.get_xlabel() == "epoch" and ax.get_legend() is not None


def test_history_plot_method_and_png(history, tmp_path):
    path = tmp_path / "curves.png"
    fig = history.plot(path=path, title="run")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and 5_000 < len(data) < 150_000
    assert fig._suptitle.get_text() == "run"


def test_metric_selection_dicts_and_errors(history):
    fig = plot_history(history, metrics=["val_accuracy"], logy=True)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == ["accuracy"] and visible[0].get_yscale() == "log"
    # a plain dict without validation: one line, no legend
    fig = plot_history({"loss": [3.0, 2.0, 1.5], "mae": [1.0, 0.8, 0.7]}, ncols=1)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == ["loss", "mae"]
    assert _lines(visible[0]) == {"training": ([1, 2, 3], [3.0, 2.0, 1.5])}
    assert visible[0].get_legend() is None
    with pytest.raises(ValueError, match="no logged values for \\['auc'\\]"):
        plot_history(history, metrics=["auc"])
    with pytest.raises(ValueError, match="empty"):
        plot_history({})
    with pytest.raises(TypeError, match="History"):
        plot_history([1, 2, 3])


def test_missing_matplotlib_message():
    code = ("import sys; sys.modules['matplotlib'] = None; sys.modules['matplotlib.pyplot'] = None\n"
            "from ranvier.plotting import plot_history\n"
            "try:\n    plot_history({'loss': [1.0]})\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "pip install ranvier[plot]" in out.stdout, out.stdout + out.stderr
