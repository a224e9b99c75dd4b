"""The catalogue of bad inputs: every public entry point, fed wrong dtypes,
wrong ranks, empty arrays, mismatched lengths, odd layouts, NaN/inf, absurd sizes, bad
hyperparameters, unknown names and wrong types.

Each row of the tables below is ``(id, call, expected, message regex)``:

- ``expected`` an exception type: the call must raise it (a ``ValueError``, ``TypeError``,
  ``MemoryError``, ``OSError`` or ``RuntimeError`` subclass) with a message matching the
  regex, which names the argument and what was expected;
- ``expected`` a :class:`Same`: the input is one that ranvier documents as accepted after a
  conversion (float16/int -> float32, strided/F-order/read-only/byte-swapped views): the call
  must return exactly (bit for bit, NaNs in the same places) what it returns for a contiguous
  float32 copy of the same input. "Works" is never allowed to mean "silently different".

Calls take a fresh :class:`Ctx` (new models, data, a temporary folder) so rows are
independent. Model rows also check that a refused call left the weights untouched. Rows marked
``huge`` run with the address space capped a few GiB above its current size, so an allocation
that slipped through would fail cleanly here instead of swapping out the machine.

To grow the catalogue add a row; it is a plain list.
"""
from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import math
import os
import re
import resource
import threading

import numpy as np
import pytest

import ranvier
from ranvier import _core, activations, layers, losses, ops, optimizers


# ============================================================================ infrastructure
class Same:
    """Expected outcome: the call works and equals ``ref(ctx)`` bit for bit."""

    def __init__(self, ref):
        self.ref = ref


class Row:
    def __init__(self, id, call, expected, match=None, huge=False, asan_ok=False):
        self.id, self.call, self.expected, self.huge, self.asan_ok = id, call, expected, huge, asan_ok
        self.match = match or None  # r"" rows check the type only (e.g. MemoryError's text is the allocator's)

    def __repr__(self):
        return self.id


F32 = np.float32
RNG = np.random.default_rng(20240601)


def _arr(*shape, dtype=F32, lo=-2.0, hi=2.0):
    return RNG.uniform(lo, hi, size=shape).astype(dtype)


A34 = _arr(3, 4)
B45 = _arr(4, 5)
X_ACT = _arr(5, 6)


def bad_dtype_arrays(base: np.ndarray):
    """Arrays of the wrong dtype kind with ``base``'s shape."""
    return {
        "int": base.astype(np.int64),
        "bool": base > 0,
        "object": base.astype(object),
        "complex": base.astype(np.complex128),
        "str": base.astype(str),
    }


def layouts(base: np.ndarray):
    """(name, view) pairs: arrays of ``base``'s shape in every layout and convertible dtype
    ranvier documents as accepted (each is compared with its C-contiguous float32 copy)."""
    r, c = base.shape
    ro = base.copy()
    ro.flags.writeable = False
    raw = np.zeros(base.size * 4 + 1, np.uint8)
    unaligned = raw[1:].view(F32).reshape(base.shape)
    unaligned[...] = base
    return [
        ("strided", np.repeat(base, 2, axis=1)[:, ::2]),
        ("row-slice", np.repeat(base, 2, axis=0)[::2]),
        ("reversed", np.repeat(base[::-1, ::-1], 2, axis=1)[::-1, ::-2]),
        ("fortran", np.asfortranarray(base)),
        ("transposed", np.ascontiguousarray(base.T).T),
        ("broadcast-rows", np.broadcast_to(base[:1], base.shape)),
        ("readonly", ro),
        ("unaligned", unaligned),
        ("bigendian", base.astype(">f4")),
        ("float16", base.astype(np.float16)),
        ("float64", base.astype(np.float64)),
    ]


def contiguous_f32(a):
    return np.ascontiguousarray(np.asarray(a), dtype=F32)


class Ctx:
    """Fresh objects for one row (created lazily)."""

    def __init__(self, tmp_path):
        self.tmp = tmp_path
        self._model = None
        self.x = _arr(24, 4)
        self.y = RNG.integers(0, 3, 24)
        self.xr = _arr(24, 4)
        self.yr = _arr(24, 2)

    @property
    def model(self):
        """Compiled classifier 4 -> 8 (relu) -> 3 (softmax), sparse CE, accuracy."""
        if self._model is None:
            ranvier.utils.set_random_seed(3)
            m = ranvier.Sequential([ranvier.Input(shape=(4,)), layers.Dense(8, activation="relu"),
                                    layers.Dense(3, activation="softmax")])
            m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
            self._model = m
        return self._model

    def regressor(self):
        ranvier.utils.set_random_seed(4)
        m = ranvier.Sequential([ranvier.Input(shape=(4,)), layers.Dense(6, activation="tanh"), layers.Dense(2)])
        m.compile(optimizer="sgd", loss="mse")
        return m

    def uncompiled(self):
        return ranvier.Sequential([ranvier.Input(shape=(4,)), layers.Dense(3)])

    def saved(self):
        p = self.tmp / "model.safetensors"
        if not p.exists():
            self.model.save(p)
        return p


def _vm_size() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize")


@contextlib.contextmanager
def address_space_cap(extra=3 << 30):
    """RLIMIT_AS = current size + ``extra`` for the duration (restored after)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = _vm_size() + extra
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _equal(a, b) -> bool:
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(_equal(u, v) for u, v in zip(a, b))
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)


def run_row(row: Row, ctx: Ctx):
    model_before = None
    if isinstance(row.expected, (type, tuple)):
        guard = address_space_cap() if row.huge else contextlib.nullcontext()
        with guard:
            with pytest.raises(row.expected, match=row.match) as info:
                row.call(ctx)
        # the exception must be raised by ranvier or on its behalf, never a bare
        # IndexError/KeyError/ZeroDivisionError/AttributeError from deep inside
        assert isinstance(info.value, (ValueError, TypeError, MemoryError, OSError, RuntimeError)), info.value
        return info.value
    assert isinstance(row.expected, Same)
    got = row.call(ctx)
    want = row.expected.ref(ctx)
    assert _equal(got, want), (got, want)
    return got


# ============================================================================ ops.matmul
def _matmul_rows():
    rows = []
    for kind, bad in bad_dtype_arrays(A34).items():
        if kind == "str":
            continue
        rows.append(Row(f"matmul/a-{kind}", lambda c, bad=bad: ops.matmul(bad, B45), TypeError,
                        rf"matmul: a must be a floating-point array, got dtype={bad.dtype}.*a.shape=\(3, 4\)"))
        rows.append(Row(f"matmul/b-{kind}", lambda c, bad=bad: ops.matmul(A34, bad.T), TypeError,
                        rf"matmul: b must be a floating-point array, got dtype={bad.dtype}"))
    rows += [
        Row("matmul/a-str", lambda c: ops.matmul("abc", B45), TypeError, r"a must be a NumPy array, got str"),
        Row("matmul/a-list", lambda c: ops.matmul([[1.0, 2.0]], B45), TypeError, r"a must be a NumPy array, got list"),
        Row("matmul/b-None", lambda c: ops.matmul(A34, None), TypeError, r"b must be a NumPy array, got NoneType"),
        Row("matmul/a-1d", lambda c: ops.matmul(A34[0], B45), ValueError, r"a must be 2-D, got a.shape=\(4,\)"),
        Row("matmul/a-3d", lambda c: ops.matmul(A34[None], B45), ValueError, r"a must be 2-D, got a.shape=\(1, 3, 4\)"),
        Row("matmul/a-0d", lambda c: ops.matmul(np.float32(1)[()], B45), TypeError, r"a must be a NumPy array"),
        Row("matmul/a-empty-rows", lambda c: ops.matmul(A34[:0], B45), ValueError, r"a must not be empty, got a.shape=\(0, 4\)"),
        Row("matmul/b-empty-cols", lambda c: ops.matmul(A34, B45[:, :0]), ValueError, r"b must not be empty, got b.shape=\(4, 0\)"),
        Row("matmul/inner-mismatch", lambda c: ops.matmul(A34, B45[:3]), ValueError,
            r"inner dimensions differ.*a.shape=\(3, 4\).*b.shape=\(3, 5\).*4 != 3"),
        Row("matmul/inner-mismatch-transposed", lambda c: ops.matmul(A34, B45, transpose_a=True), ValueError,
            r"op\(a\) is a.T.*3 != 4"),
        Row("matmul/transpose-str", lambda c: ops.matmul(A34, B45, transpose_a="yes"), TypeError, r"transpose_a"),
        # absurd sizes: zero-stride views of one float claim 2**33 rows (a copy would be 32 GiB)
        Row("matmul/huge-broadcast", lambda c: ops.matmul(np.broadcast_to(F32(1), (2**33, 4)), B45),
            MemoryError, r"", huge=True),
    ]
    # documented conversions: must equal the contiguous float32 computation
    for name, view in layouts(MAT_A):
        rows.append(Row(f"matmul/a-{name}", lambda c, v=view: ops.matmul(v, MAT_B),
                        Same(lambda c, v=view: ops.matmul(contiguous_f32(v), MAT_B))))
        rows.append(Row(f"matmul/aT-{name}", lambda c, v=view: ops.matmul(v.T, MAT_B, transpose_a=True),
                        Same(lambda c, v=view: ops.matmul(contiguous_f32(v), MAT_B))))
    for name, view in layouts(MAT_B):
        rows.append(Row(f"matmul/b-{name}", lambda c, v=view: ops.matmul(MAT_A, v),
                        Same(lambda c, v=view: ops.matmul(MAT_A, contiguous_f32(v)))))
        rows.append(Row(f"matmul/bT-{name}", lambda c, v=view: ops.matmul(MAT_A, v.T, transpose_b=True),
                        Same(lambda c, v=view: ops.matmul(MAT_A, contiguous_f32(v)))))
    return rows


MAT_A = _arr(5, 3)  # MAT_A @ MAT_B
MAT_B = _arr(3, 7)


# ============================================================================ activations
ACTIVATION_FUNCTIONS = [n for n in activations.__all__
                        if n not in ("get", "serialize", "deserialize", "core_spec", "core_kind")]


def _act_call(name, x):
    f = getattr(activations, name)
    if name == "threshold":
        return f(x, 0.1, -1.0)
    return f(x)


def _activation_rows():
    rows = []
    for name in ACTIVATION_FUNCTIONS:
        for kind, bad in bad_dtype_arrays(X_ACT).items():
            rows.append(Row(f"activations.{name}/{kind}", lambda c, n=name, b=bad: _act_call(n, b), TypeError,
                            rf"{name if name not in ('swish', 'hard_swish') else ''}.*x must be a floating-point array"))
        rows.append(Row(f"activations.{name}/None", lambda c, n=name: _act_call(n, None), TypeError, r"x must be"))
        for lname, view in layouts(X_ACT):
            rows.append(Row(f"activations.{name}/{lname}", lambda c, n=name, v=view: _act_call(n, v),
                            Same(lambda c, n=name, v=view: _act_call(n, contiguous_f32(v)))))
        if name not in ("glu",):  # glu halves the last axis: an empty one is fine, (0, 6) too
            rows.append(Row(f"activations.{name}/empty", lambda c, n=name: _act_call(n, np.zeros((0, 6), F32)),
                            Same(lambda c: np.zeros((0, 6), F32))))
    rows += [
        Row("activations.relu/negative_slope-str", lambda c: activations.relu(X_ACT, negative_slope="a"), TypeError,
            r"relu: negative_slope must be a real number"),
        Row("activations.relu/max_value-list", lambda c: activations.relu(X_ACT, max_value=[1]), TypeError,
            r"relu: max_value must be a real number or None"),
        Row("activations.elu/alpha-None", lambda c: activations.elu(X_ACT, alpha=None), TypeError,
            r"elu: alpha must be a real number"),
        Row("activations.leaky_relu/negative_slope-bool", lambda c: activations.leaky_relu(X_ACT, negative_slope=True), TypeError,
            r"negative_slope must be a real number"),
        Row("activations.softmax/axis-out-of-range", lambda c: activations.softmax(X_ACT, axis=2), ValueError,
            r"softmax: axis=2 is out of range for an input of rank 2"),
        Row("activations.softmax/axis-str", lambda c: activations.softmax(X_ACT, axis="last"), TypeError,
            r"softmax: axis must be an int"),
        Row("activations.log_softmax/axis-float", lambda c: activations.log_softmax(X_ACT, axis=1.0), TypeError,
            r"log_softmax: axis must be an int"),
        Row("activations.glu/odd-axis", lambda c: activations.glu(_arr(2, 5)), ValueError, r"glu: .*must be even"),
        Row("activations.get/unknown", lambda c: activations.get("relu7"), ValueError,
            r"Could not interpret activation function identifier: 'relu7'.*valid names are:.*relu6"),
        Row("activations.get/int", lambda c: activations.get(3), ValueError, r"Could not interpret activation"),
        Row("activations.deserialize/unknown", lambda c: activations.deserialize({"class_name": "nope", "config": {}}),
            ValueError, r"nope"),
    ]
    return rows


# ============================================================================ losses
def _loss_inputs(name):
    """Valid (y_true, y_pred) for a loss function name, batch of 6 with 3 outputs."""
    p = _probs(6, 3)
    if name == "sparse_categorical_crossentropy":
        return np.array([0, 2, 1, 1, 0, 2]), p
    if name in ("binary_crossentropy", "binary_focal_crossentropy"):
        return (RNG.random((6, 3)) > 0.5).astype(F32), p
    if name in ("categorical_crossentropy", "kl_divergence", "categorical_hinge"):
        return np.eye(3, dtype=F32)[[0, 2, 1, 1, 0, 2]], p
    if name in ("hinge", "squared_hinge"):
        return np.sign(_arr(6, 3)).astype(F32), _arr(6, 3)
    if name in ("mean_squared_logarithmic_error", "poisson"):
        return _arr(6, 3, lo=0.0, hi=2.0), _arr(6, 3, lo=0.1, hi=2.0)
    return _arr(6, 3), _arr(6, 3)


def _probs(n, k):
    p = RNG.uniform(0.05, 1.0, size=(n, k))
    return (p / p.sum(axis=1, keepdims=True)).astype(F32)


LOSS_FUNCTIONS = ["mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
                  "mean_squared_logarithmic_error", "binary_crossentropy", "categorical_crossentropy",
                  "sparse_categorical_crossentropy", "binary_focal_crossentropy", "hinge", "squared_hinge",
                  "categorical_hinge", "huber", "log_cosh", "kl_divergence", "poisson", "cosine_similarity"]
LOSS_CLASSES = {"MeanSquaredError": "mean_squared_error", "MeanAbsoluteError": "mean_absolute_error",
                "MeanAbsolutePercentageError": "mean_absolute_percentage_error",
                "MeanSquaredLogarithmicError": "mean_squared_logarithmic_error",
                "BinaryCrossentropy": "binary_crossentropy", "CategoricalCrossentropy": "categorical_crossentropy",
                "SparseCategoricalCrossentropy": "sparse_categorical_crossentropy",
                "BinaryFocalCrossentropy": "binary_focal_crossentropy", "Hinge": "hinge",
                "SquaredHinge": "squared_hinge", "CategoricalHinge": "categorical_hinge", "Huber": "huber",
                "LogCosh": "log_cosh", "KLDivergence": "kl_divergence", "Poisson": "poisson",
                "CosineSimilarity": "cosine_similarity"}


def _loss_rows():
    rows = []
    for name in LOSS_FUNCTIONS:
        f = getattr(losses, name)
        yt, yp = _loss_inputs(name)
        for kind, bad in bad_dtype_arrays(yp).items():
            if kind in ("int", "bool"):  # documented: real numeric arrays are converted
                continue
            rows.append(Row(f"losses.{name}/y_pred-{kind}", lambda c, f=f, yt=yt, b=bad: f(yt, b), TypeError,
                            rf"{name}: y_pred must be a real numeric array"))
            rows.append(Row(f"losses.{name}/y_true-{kind}",
                            lambda c, f=f, b=bad, yt=yt, yp=yp: f(b if b.ndim == yt.ndim else b[:, 0], yp),
                            TypeError, rf"{name}: y_true must be a .*numeric array"))
        rows.append(Row(f"losses.{name}/length-mismatch", lambda c, f=f, yt=yt, yp=yp: f(yt[:4], yp), ValueError,
                        rf"{name}: y_true and y_pred have incompatible shapes|{name}:.*shape"))
        rows.append(Row(f"losses.{name}/y_pred-python-str", lambda c, f=f, yt=yt: f(yt, "abc"), TypeError,
                        rf"{name}: y_pred must be"))
        wide = np.repeat(yp, 2, axis=1)  # (6, 6): wide[:, ::2] == yp
        ro = yp.copy()
        ro.flags.writeable = False
        raw = np.zeros(yp.nbytes + 1, np.uint8)
        unaligned = raw[1:].view(F32).reshape(yp.shape)
        unaligned[...] = yp
        for lname, view in [("strided", wide[:, ::2]), ("fortran", np.asfortranarray(yp)), ("readonly", ro),
                            ("unaligned", unaligned),
                            ("float16", yp.astype(np.float16)), ("float64", yp.astype(np.float64)),
                            ("bigendian", yp.astype(">f4"))]:
            rows.append(Row(f"losses.{name}/y_pred-{lname}", lambda c, f=f, yt=yt, v=view: f(yt, v),
                            Same(lambda c, f=f, yt=yt, v=view: f(yt, contiguous_f32(v)))))
        if name not in ("sparse_categorical_crossentropy", "binary_crossentropy", "binary_focal_crossentropy",
                        "categorical_crossentropy", "kl_divergence", "categorical_hinge", "hinge", "squared_hinge"):
            rows.append(Row(f"losses.{name}/y_true-int", lambda c, f=f, yp=yp: f(np.arange(18).reshape(6, 3) % 3, yp),
                            Same(lambda c, f=f, yp=yp: f((np.arange(18).reshape(6, 3) % 3).astype(F32), yp))))
    rows += [
        Row("losses.sparse_categorical_crossentropy/label-out-of-range",
            lambda c: losses.sparse_categorical_crossentropy(np.array([0, 3]), _probs(2, 3)), ValueError,
            r"y_true holds label 3.*3 classes.*valid labels are integers 0..2"),
        Row("losses.sparse_categorical_crossentropy/label-negative",
            lambda c: losses.sparse_categorical_crossentropy(np.array([0, -1]), _probs(2, 3)), ValueError,
            r"label -1"),
        Row("losses.sparse_categorical_crossentropy/label-fraction",
            lambda c: losses.sparse_categorical_crossentropy(np.array([0.5, 1]), _probs(2, 3)), ValueError,
            r"label 0.5"),
        Row("losses.sparse_categorical_crossentropy/label-nan",
            lambda c: losses.sparse_categorical_crossentropy(np.array([0, np.nan]), _probs(2, 3)), ValueError,
            r"label nan"),
        Row("losses.binary_crossentropy/label_smoothing-str",
            lambda c: losses.binary_crossentropy(*_loss_inputs("binary_crossentropy"), label_smoothing="a"),
            TypeError, r"label_smoothing"),
        Row("losses.get/unknown", lambda c: losses.get("msee"), ValueError,
            r"Could not interpret loss identifier: 'msee'.*valid names are"),
        Row("losses.get/int", lambda c: losses.get(3), (ValueError, TypeError), r"loss"),
        Row("losses.deserialize/unknown", lambda c: losses.get({"class_name": "Nope", "config": {}}), ValueError,
            r"unknown class_name 'Nope'"),
    ]
    # classes: construction and __call__
    for cls_name, fname in LOSS_CLASSES.items():
        cls = getattr(losses, cls_name)
        yt, yp = _loss_inputs(fname)
        rows += [
            Row(f"losses.{cls_name}/reduction-unknown", lambda c, cls=cls: cls(reduction="average"), ValueError,
                r"reduction.*Received: reduction='average'"),
            Row(f"losses.{cls_name}/name-int", lambda c, cls=cls: cls(name=3), TypeError, r"name must be a string"),
            Row(f"losses.{cls_name}/dtype-float16", lambda c, cls=cls: cls(dtype="float16"), ValueError,
                r"float32; got dtype='float16'"),
            Row(f"losses.{cls_name}/unknown-kwarg", lambda c, cls=cls: cls(fooo=1), TypeError, r"fooo"),
            Row(f"losses.{cls_name}()/sample_weight-length", lambda c, cls=cls, yt=yt, yp=yp:
                cls()(yt, yp, sample_weight=np.ones(5)), ValueError, r"sample_weight.shape=\(5,\)"),
            Row(f"losses.{cls_name}()/sample_weight-str", lambda c, cls=cls, yt=yt, yp=yp:
                cls()(yt, yp, sample_weight="abc"), TypeError, r"sample_weight"),
            Row(f"losses.{cls_name}()/y_pred-object", lambda c, cls=cls, yt=yt, yp=yp:
                cls()(yt, yp.astype(object)), TypeError, r"y_pred must be"),
            Row(f"losses.{cls_name}()/y_pred-strided", lambda c, cls=cls, yt=yt, yp=yp:
                cls()(yt, np.repeat(yp, 2, axis=1)[:, ::2], sample_weight=np.arange(6.0)),
                Same(lambda c, cls=cls, yt=yt, yp=yp: cls()(yt, yp, sample_weight=np.arange(6.0)))),
        ]
    rows += [
        Row("losses.Huber/delta-negative", lambda c: losses.Huber(delta=-1.0), ValueError, r"Huber: delta must be"),
        Row("losses.Huber/delta-nan", lambda c: losses.Huber(delta=math.nan), ValueError, r"delta=nan"),
        Row("losses.Huber/delta-str", lambda c: losses.Huber(delta="a"), TypeError, r"Huber: delta must be a real"),
        Row("losses.BinaryCrossentropy/label_smoothing-2", lambda c: losses.BinaryCrossentropy(label_smoothing=2.0),
            ValueError, r"label_smoothing must be in \[0.0, 1.0\]"),
        Row("losses.CategoricalCrossentropy/label_smoothing-negative",
            lambda c: losses.CategoricalCrossentropy(label_smoothing=-0.1), ValueError, r"label_smoothing"),
        Row("losses.BinaryCrossentropy/from_logits-str", lambda c: losses.BinaryCrossentropy(from_logits="yes"),
            TypeError, r"from_logits must be True or False"),
        Row("losses.BinaryFocalCrossentropy/gamma-negative", lambda c: losses.BinaryFocalCrossentropy(gamma=-1),
            ValueError, r"gamma"),
        Row("losses.SparseCategoricalCrossentropy/ignore_class-str",
            lambda c: losses.SparseCategoricalCrossentropy(ignore_class="a"), TypeError, r"ignore_class"),
        Row("losses.CosineSimilarity/axis-str", lambda c: losses.CosineSimilarity(axis="a")(
            *_loss_inputs("cosine_similarity")), TypeError, r"cosine_similarity: axis must be an int"),
    ]
    return rows


# ============================================================================ layers
# Layers that compute element by element (or softmax along the last axis): they take input
# of any rank, as Keras's do.
ELEMENTWISE_LAYERS = ("Dropout", "Activation", "ReLU", "LeakyReLU", "ELU", "Softmax")
# the layers whose weights do not depend on the input width take data of any width, as Keras's
WIDTH_FREE_LAYERS = ELEMENTWISE_LAYERS


def _built(layer, features=4):
    layer.build((None, features))
    return layer


# Physical memory: below 40 GiB, a Dense(2**30) on 4 inputs (40 GiB of weights and gradients)
# is refused by ranvier's own size check rather than by the allocator.
_PHYS = layers._base.physical_memory()
_SMALL_MACHINE = _PHYS is not None and _PHYS < 40 * 2**30


def _seeded(make):
    def build():
        ranvier.utils.set_random_seed(0)
        return make()
    return build


LAYER_FACTORIES = {
    "Dense": lambda: layers.Dense(3, activation="tanh"),
    "Dropout": lambda: layers.Dropout(0.5, seed=1),
    "BatchNormalization": lambda: layers.BatchNormalization(),
    "LayerNormalization": lambda: layers.LayerNormalization(),
    "Activation": lambda: layers.Activation("gelu"),
    "ReLU": lambda: layers.ReLU(max_value=1.0),
    "LeakyReLU": lambda: layers.LeakyReLU(),
    "ELU": lambda: layers.ELU(),
    "Softmax": lambda: layers.Softmax(),
}


def _layer_rows():
    rows = [
        Row("layers.Dense/units-0", lambda c: layers.Dense(0), ValueError, r"`units`.*positive integer.*units=0"),
        Row("layers.Dense/units-negative", lambda c: layers.Dense(-3), ValueError, r"units=-3"),
        Row("layers.Dense/units-str", lambda c: layers.Dense("8"), ValueError, r"units='8'"),
        Row("layers.Dense/units-float", lambda c: layers.Dense(2.5), ValueError, r"units=2.5"),
        Row("layers.Dense/units-bool", lambda c: layers.Dense(True), ValueError, r"units=True"),
        Row("layers.Dense/activation-unknown", lambda c: layers.Dense(3, activation="relu7"), ValueError,
            r"activation: Could not interpret activation function identifier: 'relu7'"),
        Row("layers.Dense/initializer-unknown", lambda c: layers.Dense(3, kernel_initializer="glorot"), ValueError,
            r"kernel_initializer: Could not interpret initializer identifier: 'glorot'. Valid names"),
        Row("layers.Dense/regularizer-unknown", lambda c: layers.Dense(3, kernel_regularizer="l3"), ValueError,
            r"kernel_regularizer: .*'l3'"),
        Row("layers.Dense/constraint-unknown", lambda c: layers.Dense(3, kernel_constraint="positive"), ValueError,
            r"kernel_constraint"),
        Row("layers.Dense/use_bias-str", lambda c: layers.Dense(3, use_bias="yes"), TypeError,
            r"use_bias must be True or False"),
        Row("layers.Dense/name-int", lambda c: layers.Dense(3, name=5), ValueError, r"name must be a non-empty string"),
        Row("layers.Dense/dtype-float16", lambda c: layers.Dense(3, dtype="float16"), ValueError,
            r"mixed_float16; got dtype='float16' \(float16 weights are not supported"),
        Row("layers.Dense/unknown-kwarg", lambda c: layers.Dense(3, unitz=4), (TypeError, ValueError), r"unitz"),
        # ---- absurd sizes on a standalone layer: refused by the size check Sequential runs too,
        # naming the layer and its size, before anything is allocated
        Row("layers.Dense/huge-units-build", lambda c: _built(layers.Dense(2**40)), MemoryError,
            r"Dense\.build: the weights and gradients need .* GiB but this machine has .*"
            r"Dense\(1099511627776\) 'dense\w*' on \(4,\) inputs: 5,497,558,138,880 weights",
            huge=True, asan_ok=True),
        Row("layers.Dense/huge-units-int64-overflow", lambda c: _built(layers.Dense(2**62), 8), MemoryError,
            r"Dense\(4611686018427387904\) .* on \(8,\) inputs", huge=True, asan_ok=True),
        Row("layers.Dense/huge-input-build", lambda c: _built(layers.Dense(4), 2**40), MemoryError,
            r"Dense\(4\) .* on \(1099511627776,\) inputs: 4,398,046,511,108 weights", huge=True, asan_ok=True),
        Row("layers.Dense/huge-units-2**36-build", lambda c: _built(layers.Dense(2**36)), MemoryError,
            r"Dense\(68719476736\) 'dense\w*' on \(4,\) inputs: 343,597,383,680 weights", huge=True, asan_ok=True),
        # the case that used to zero-fill an 8 GiB bias workspace first (40 GiB of weights and
        # gradients: refused by the check where the machine has less, by the allocator otherwise)
        Row("layers.Dense/2**30-units-build", lambda c: _built(layers.Dense(2**30)), MemoryError,
            r"Dense\(1073741824\) 'dense\w*' on \(4,\) inputs: 5,368,709,120 weights" if _SMALL_MACHINE else r"",
            huge=True, asan_ok=_SMALL_MACHINE),
        Row("layers.Dense/huge-units-3-D-input", lambda c: layers.Dense(2**40).build((None, 3, 4)), MemoryError,
            r"Dense\(1099511627776\) 'dense\w*' on \(3, 4\) inputs", huge=True, asan_ok=True),
        Row("layers.BatchNormalization/huge-features-build", lambda c: _built(layers.BatchNormalization(), 2**40),
            MemoryError, r"BatchNormalization\.build: .*BatchNormalization 'batch_normalization\w*' on "
            r"\(1099511627776,\) inputs: 4,398,046,511,104 weights", huge=True, asan_ok=True),
        Row("layers.LayerNormalization/huge-features-build", lambda c: _built(layers.LayerNormalization(), 2**40),
            MemoryError, r"LayerNormalization\.build: .* 2,199,023,255,552 weights", huge=True, asan_ok=True),
        # ---- constructor arguments of the wrong type or range
        Row("layers.Dense/trainable-str", lambda c: layers.Dense(3, trainable="no"), TypeError,
            r"trainable must be True or False, got 'no'"),
        Row("layers.Dense/input_dim-negative", lambda c: layers.Dense(3, input_dim=-2), ValueError,
            r"Dense: input_dim must be an int >= 1, got input_dim=-2"),
        Row("layers.Dense/input_dim-str", lambda c: layers.Dense(3, input_dim="4"), TypeError,
            r"input_dim must be an int >= 1, got input_dim='4'"),
        Row("layers.Dense/batch_size-0", lambda c: layers.Dense(3, input_shape=(4,), batch_size=0), ValueError,
            r"batch_size must be an int >= 1, got batch_size=0"),
        Row("layers.Dropout/noise_shape-str", lambda c: layers.Dropout(0.5, noise_shape="ab"), ValueError,
            r"noise_shape must have 2 entries .* got noise_shape='ab'"),
        Row("layers.Dropout/noise_shape-3-entries", lambda c: layers.Dropout(0.5, noise_shape=(1, 4, 4)), ValueError,
            r"noise_shape must have 2 entries"),
        Row("layers.Dropout/noise_shape-negative", lambda c: layers.Dropout(0.5, noise_shape=(None, -4)), ValueError,
            r"each a positive int or None, got noise_shape=\(None, -4\)"),
        Row("layers.Dropout/seed-str", lambda c: layers.Dropout(0.5, seed="7"), ValueError, r"seed must be a non-negative int"),
        Row("layers.BatchNormalization/axis-str", lambda c: layers.BatchNormalization(axis="last"), TypeError,
            r"BatchNormalization: axis must be an int, got axis='last'"),
        Row("layers.BatchNormalization/center-str", lambda c: layers.BatchNormalization(center="yes"), TypeError,
            r"center must be True or False"),
        Row("layers.BatchNormalization/renorm-str", lambda c: layers.BatchNormalization(renorm="no"), TypeError,
            r"renorm must be True or False, got 'no'"),
        Row("layers.BatchNormalization/synchronized-int", lambda c: layers.BatchNormalization(synchronized=1),
            TypeError, r"synchronized must be True or False"),
        Row("layers.LayerNormalization/axis-float", lambda c: layers.LayerNormalization(axis=-1.0), TypeError,
            r"LayerNormalization: axis must be an int"),
        Row("layers.LayerNormalization/scale-str", lambda c: layers.LayerNormalization(scale="a"), TypeError,
            r"scale must be True or False"),
        Row("layers.LayerNormalization/rms_scaling-str", lambda c: layers.LayerNormalization(rms_scaling="no"),
            TypeError, r"rms_scaling must be True or False, got 'no'"),
        Row("layers.Softmax/axis-str", lambda c: layers.Softmax(axis="last"), ValueError, r"axis must be an int"),
        Row("layers.ReLU/negative_slope-str", lambda c: layers.ReLU(negative_slope="a"), ValueError,
            r"negative_slope must be a finite number"),
        Row("layers.Flatten/data_format-unknown", lambda c: layers.Flatten(data_format="NHWC"), ValueError,
            r"data_format must be None, 'channels_last' or 'channels_first'"),
        Row("layers.Dropout/rate-1.5", lambda c: layers.Dropout(1.5), ValueError, r"`rate`.*between 0 and 1.*rate=1.5"),
        Row("layers.Dropout/rate-negative", lambda c: layers.Dropout(-0.1), ValueError, r"rate=-0.1"),
        Row("layers.Dropout/rate-str", lambda c: layers.Dropout("half"), ValueError, r"rate='half'"),
        Row("layers.Dropout/rate-nan", lambda c: layers.Dropout(math.nan), ValueError, r"rate=nan"),
        Row("layers.BatchNormalization/momentum-str", lambda c: layers.BatchNormalization(momentum="a"), ValueError,
            r"momentum must be a finite number"),
        Row("layers.BatchNormalization/epsilon-negative", lambda c: layers.BatchNormalization(epsilon=-1e-3),
            ValueError, r"epsilon must be > 0"),
        Row("layers.BatchNormalization/epsilon-inf", lambda c: layers.BatchNormalization(epsilon=math.inf),
            ValueError, r"epsilon must be a finite number"),
        Row("layers.BatchNormalization/axis-5", lambda c: _built(layers.BatchNormalization(axis=5), 3), ValueError,
            r"axis=5"),
        Row("layers.LayerNormalization/epsilon-0", lambda c: layers.LayerNormalization(epsilon=0), ValueError,
            r"epsilon must be > 0"),
        Row("layers.Activation/unknown", lambda c: layers.Activation("nope"), ValueError, r"'nope'"),
        Row("layers.Activation/int", lambda c: layers.Activation(3), ValueError, r"Could not interpret"),
        Row("layers.LeakyReLU/negative-slope", lambda c: layers.LeakyReLU(negative_slope=-1), ValueError,
            r"negative_slope"),
        Row("layers.ReLU/max_value-negative", lambda c: layers.ReLU(max_value=-1), ValueError, r"max_value"),
        Row("layers.ELU/alpha-str", lambda c: layers.ELU(alpha="a"), ValueError, r"alpha must be a finite number"),
        Row("layers.Input/shape-negative", lambda c: ranvier.Input(shape=(-1,)), ValueError,
            r"shape must hold positive ints"),
        Row("layers.Input/shape-zero", lambda c: ranvier.Input(shape=(0,)), ValueError, r"shape=\(0,\)"),
        Row("layers.Input/shape-str", lambda c: ranvier.Input(shape=("a",)), ValueError, r"shape"),
    ]
    for lname, make in LAYER_FACTORIES.items():
        make = _seeded(make)
        x = _arr(5, 4)
        for kind, bad in bad_dtype_arrays(x).items():
            if kind in ("int", "bool"):
                rows.append(Row(f"layers.{lname}()/x-{kind}", lambda c, m=make, b=bad: _built(m())(b),
                                Same(lambda c, m=make, b=bad: _built(m())(b.astype(F32)))))
            else:
                rows.append(Row(f"layers.{lname}()/x-{kind}", lambda c, m=make, b=bad: _built(m())(b), TypeError,
                                r"x must be an array of real numbers"))
        if lname in ELEMENTWISE_LAYERS:  # rank 1 is accepted as Keras does: the same numbers
            rows.append(Row(f"layers.{lname}()/x-1d", lambda c, m=make, x=x: _built(m())(x[0]),
                            Same(lambda c, m=make, x=x: _built(m())(x[:1]).reshape(-1))))
        else:
            rows.append(Row(f"layers.{lname}()/x-1d", lambda c, m=make, x=x: _built(m())(x[0]), ValueError,
                            r"rank >= 2 \(batch, features\), got x.shape=\(4,\)"))
        if lname in WIDTH_FREE_LAYERS:  # no width-bound weights: any width, as Keras (the same numbers)
            a57 = _arr(5, 7)
            rows.append(Row(f"layers.{lname}()/x-wrong-features", lambda c, m=make, a=a57: _built(m())(a),
                            Same(lambda c, m=make, a=a57: m()(a))))
        else:
            rows.append(Row(f"layers.{lname}()/x-wrong-features", lambda c, m=make: _built(m())(_arr(5, 7)),
                            ValueError, r"expected input with 4 features, got x.shape=\(5, 7\)"))
        rows += [
            Row(f"layers.{lname}()/x-zero-features", lambda c, m=make: m()(np.zeros((5, 0), F32)), ValueError, r""),
            Row(f"layers.{lname}()/x-python-str", lambda c, m=make: _built(m())("abc"), TypeError, r"real numbers"),
            Row(f"layers.{lname}()/x-empty-batch", lambda c, m=make: _built(m())(np.zeros((0, 4), F32)),
                Same(lambda c, m=make: np.zeros((0, _built(m()).compute_output_shape((None, 4))[-1]), F32))),
            Row(f"layers.{lname}()/unknown-kwarg", lambda c, m=make: _built(m())(x, trainingg=True), TypeError,
                r"trainingg"),
        ]
        for vname, view in layouts(x):
            rows.append(Row(f"layers.{lname}()/x-{vname}", lambda c, m=make, v=view: _built(m())(v),
                            Same(lambda c, m=make, v=view: _built(m())(contiguous_f32(v)))))
    return rows


# ============================================================================ optimizers
OPTIMIZERS = ["SGD", "RMSprop", "Adagrad", "Adadelta", "Adam", "AdamW", "Adamax", "Nadam", "Lion", "Ftrl"]


def _optimizer_rows():
    rows = []
    for name in OPTIMIZERS:
        cls = getattr(optimizers, name)
        rows += [
            Row(f"optimizers.{name}/learning_rate-negative", lambda c, cls=cls: cls(learning_rate=-0.1), ValueError,
                r"learning_rate"),
            Row(f"optimizers.{name}/learning_rate-str", lambda c, cls=cls: cls(learning_rate="fast"), ValueError,
                r"learning_rate"),
            Row(f"optimizers.{name}/learning_rate-nan", lambda c, cls=cls: cls(learning_rate=math.nan), ValueError,
                r"learning_rate.*nan"),
            Row(f"optimizers.{name}/learning_rate-inf", lambda c, cls=cls: cls(learning_rate=math.inf), ValueError,
                r"learning_rate"),
            Row(f"optimizers.{name}/learning_rate-overflows-float32", lambda c, cls=cls: cls(learning_rate=1e300),
                ValueError, r"learning_rate"),
            Row(f"optimizers.{name}/clipnorm-negative", lambda c, cls=cls: cls(clipnorm=-1.0), ValueError,
                r"clipnorm"),
            Row(f"optimizers.{name}/clipvalue-nan", lambda c, cls=cls: cls(clipvalue=math.nan), ValueError,
                r"clipvalue"),
            Row(f"optimizers.{name}/two-clips", lambda c, cls=cls: cls(clipnorm=1.0, clipvalue=1.0), ValueError,
                r"Only one of"),
            Row(f"optimizers.{name}/unknown-kwarg", lambda c, cls=cls: cls(learnin_rate=0.1), (ValueError, TypeError),
                r"learnin_rate"),
            Row(f"optimizers.{name}/use_ema-str", lambda c, cls=cls: cls(use_ema="a"), ValueError,
                rf"{name}: `use_ema` must be a bool. Received: use_ema='a'"),
            Row(f"optimizers.{name}/use_ema-int", lambda c, cls=cls: cls(use_ema=1), ValueError, r"use_ema.*must be a bool"),
        ]
    rows += [
        Row("optimizers.SGD/momentum-negative", lambda c: optimizers.SGD(momentum=-0.5), ValueError, r"momentum"),
        Row("optimizers.SGD/nesterov-str", lambda c: optimizers.SGD(nesterov="yes"), ValueError,
            r"nesterov.*must be a bool"),
        Row("optimizers.RMSprop/rho-1.5", lambda c: optimizers.RMSprop(rho=1.5), ValueError, r"rho.*\[0, 1\]"),
        Row("optimizers.Adagrad/accumulator-negative", lambda c: optimizers.Adagrad(initial_accumulator_value=-1.0),
            ValueError, r"initial_accumulator_value"),
        Row("optimizers.Adam/beta_1-2", lambda c: optimizers.Adam(beta_1=2.0), ValueError, r"beta_1.*\[0, 1\)"),
        Row("optimizers.Adam/beta_2-negative", lambda c: optimizers.Adam(beta_2=-0.1), ValueError, r"beta_2"),
        Row("optimizers.Adam/epsilon-negative", lambda c: optimizers.Adam(epsilon=-1e-7), ValueError, r"epsilon"),
        Row("optimizers.Adam/epsilon-str", lambda c: optimizers.Adam(epsilon="small"), ValueError, r"epsilon"),
        Row("optimizers.Adam/amsgrad-str", lambda c: optimizers.Adam(amsgrad="no"), ValueError, r"amsgrad"),
        Row("optimizers.AdamW/amsgrad-None", lambda c: optimizers.AdamW(amsgrad=None), ValueError,
            r"AdamW: `amsgrad` must be a bool"),
        Row("optimizers.RMSprop/centered-str", lambda c: optimizers.RMSprop(centered="yes"), ValueError,
            r"RMSprop: `centered` must be a bool. Received: centered='yes'"),
        Row("optimizers.SGD/nesterov-int", lambda c: optimizers.SGD(momentum=0.9, nesterov=1), ValueError,
            r"nesterov.*must be a bool"),
        Row("optimizers.Lion/beta_1-nan", lambda c: optimizers.Lion(beta_1=math.nan), ValueError, r"beta_1.*nan"),
        Row("optimizers.Ftrl/learning_rate_power-nan", lambda c: optimizers.Ftrl(learning_rate_power=math.nan),
            ValueError, r"learning_rate_power.*nan"),
        Row("optimizers.Ftrl/learning_rate_power-minus-inf",
            lambda c: optimizers.Ftrl(learning_rate_power=-math.inf), ValueError, r"learning_rate_power"),
        Row("optimizers.AdamW/weight_decay-negative", lambda c: optimizers.AdamW(weight_decay=-1.0), ValueError,
            r"weight_decay"),
        Row("optimizers.Lion/beta_1-0", lambda c: optimizers.Lion(beta_1=0.0), ValueError, r"beta_1"),
        Row("optimizers.Ftrl/power-positive", lambda c: optimizers.Ftrl(learning_rate_power=0.5), ValueError,
            r"learning_rate_power"),
        Row("optimizers.get/unknown", lambda c: optimizers.get("adamm"), ValueError,
            r"Could not interpret optimizer identifier: 'adamm'. Valid names:.*adam"),
        Row("optimizers.get/int", lambda c: optimizers.get(3), ValueError, r"Could not interpret optimizer"),
        Row("optimizers.get/dict-bad-config", lambda c: optimizers.get({"class_name": "Adam",
                                                                      "config": {"learning_rate": "a"}}),
            ValueError, r"learning_rate"),
    ]
    return rows


# ============================================================================ callbacks
def _callback_rows():
    from ranvier import callbacks as C
    rows = []
    for cls_name in ("EarlyStopping", "ReduceLROnPlateau", "ModelCheckpoint"):
        cls = getattr(C, cls_name)
        make = (lambda cls=cls, **kw: cls("ckpt.rvr", **kw)) if cls_name == "ModelCheckpoint" else \
            (lambda cls=cls, **kw: cls(**kw))
        rows += [
            Row(f"callbacks.{cls_name}/monitor-None", lambda c, m=make: m(monitor=None), TypeError,
                rf"{cls_name}: monitor must be a string, got monitor=None"),
            Row(f"callbacks.{cls_name}/monitor-list", lambda c, m=make: m(monitor=["loss"]), TypeError,
                r"monitor must be a string"),
            Row(f"callbacks.{cls_name}/mode-int", lambda c, m=make: m(mode=1), TypeError,
                rf"{cls_name}: mode must be a string, got mode=1"),
            Row(f"callbacks.{cls_name}/verbose-str", lambda c, m=make: m(verbose="loud"), TypeError,
                r"verbose must be an int >= 0"),
            Row(f"callbacks.{cls_name}/verbose-negative", lambda c, m=make: m(verbose=-1), ValueError,
                r"verbose must be an int >= 0, got verbose=-1"),
        ]
    rows += [
        Row("callbacks.EarlyStopping/patience-negative", lambda c: C.EarlyStopping(patience=-1), ValueError,
            r"EarlyStopping: patience must be an int >= 0, got patience=-1"),
        Row("callbacks.EarlyStopping/patience-str", lambda c: C.EarlyStopping(patience="3"), TypeError,
            r"patience must be an int >= 0, got patience='3'"),
        Row("callbacks.EarlyStopping/patience-float", lambda c: C.EarlyStopping(patience=2.5), TypeError,
            r"patience=2.5"),
        Row("callbacks.EarlyStopping/min_delta-str", lambda c: C.EarlyStopping(min_delta="a"), TypeError,
            r"EarlyStopping: min_delta must be a finite number, got min_delta='a'"),
        Row("callbacks.EarlyStopping/min_delta-nan", lambda c: C.EarlyStopping(min_delta=math.nan), ValueError,
            r"min_delta must be a finite number, got min_delta=nan"),
        Row("callbacks.EarlyStopping/baseline-str", lambda c: C.EarlyStopping(baseline="0.5"), TypeError,
            r"baseline must be a finite number"),
        Row("callbacks.EarlyStopping/restore_best_weights-str",
            lambda c: C.EarlyStopping(restore_best_weights="yes"), TypeError,
            r"EarlyStopping: restore_best_weights must be True or False, got 'yes'"),
        Row("callbacks.EarlyStopping/start_from_epoch-negative", lambda c: C.EarlyStopping(start_from_epoch=-2),
            ValueError, r"start_from_epoch must be an int >= 0"),
        Row("callbacks.ReduceLROnPlateau/factor-1", lambda c: C.ReduceLROnPlateau(factor=1.0), ValueError,
            r"does not support a factor >= 1.0"),
        Row("callbacks.ReduceLROnPlateau/factor-negative", lambda c: C.ReduceLROnPlateau(factor=-0.5), ValueError,
            r"ReduceLROnPlateau: factor must be a finite number >= 0, got factor=-0.5"),
        Row("callbacks.ReduceLROnPlateau/factor-str", lambda c: C.ReduceLROnPlateau(factor="half"), TypeError,
            r"factor must be a finite number"),
        Row("callbacks.ReduceLROnPlateau/patience-negative", lambda c: C.ReduceLROnPlateau(patience=-1), ValueError,
            r"patience must be an int >= 0"),
        Row("callbacks.ReduceLROnPlateau/cooldown-negative", lambda c: C.ReduceLROnPlateau(cooldown=-1), ValueError,
            r"cooldown must be an int >= 0"),
        Row("callbacks.ReduceLROnPlateau/min_lr-negative", lambda c: C.ReduceLROnPlateau(min_lr=-1e-3), ValueError,
            r"min_lr must be a finite number >= 0"),
        Row("callbacks.ReduceLROnPlateau/unknown-kwarg", lambda c: C.ReduceLROnPlateau(patiense=3), TypeError,
            r"unexpected arguments \['patiense'\]"),
        Row("callbacks.TensorBoard/histogram_freq-negative", lambda c: C.TensorBoard(histogram_freq=-1), ValueError,
            r"histogram_freq"),
        Row("callbacks.TensorBoard/update_freq-str", lambda c: C.TensorBoard(update_freq="often"), TypeError,
            r"update_freq"),
        Row("callbacks.TensorBoard/log_dir-int", lambda c: C.TensorBoard(log_dir=3), TypeError, r""),
        Row("callbacks.ModelCheckpoint/filepath-int", lambda c: C.ModelCheckpoint(3), TypeError,
            r"str, bytes or os.PathLike"),
        Row("callbacks.ModelCheckpoint/filepath-bytes", lambda c: C.ModelCheckpoint(b"ckpt"), TypeError,
            r"filepath must be a str or os.PathLike"),
        Row("callbacks.ModelCheckpoint/save_best_only-str", lambda c: C.ModelCheckpoint("m", save_best_only="yes"),
            TypeError, r"ModelCheckpoint: save_best_only must be True or False, got 'yes'"),
        Row("callbacks.ModelCheckpoint/save_weights_only-int", lambda c: C.ModelCheckpoint("m", save_weights_only=1),
            TypeError, r"save_weights_only must be True or False"),
        Row("callbacks.ModelCheckpoint/save_freq-0", lambda c: C.ModelCheckpoint("m", save_freq=0), ValueError,
            r"save_freq: 0.*'epoch' or integer values \(a number of batches >= 1\)"),
        Row("callbacks.ModelCheckpoint/save_freq-str", lambda c: C.ModelCheckpoint("m", save_freq="batch"),
            ValueError, r"save_freq: 'batch'"),
        Row("callbacks.ModelCheckpoint/initial_value_threshold-str",
            lambda c: C.ModelCheckpoint("m", initial_value_threshold="0.1"), TypeError,
            r"initial_value_threshold must be a finite number"),
        Row("callbacks.LearningRateScheduler/schedule-int", lambda c: C.LearningRateScheduler(3), TypeError,
            r"LearningRateScheduler: schedule must be callable, got int 3"),
        Row("callbacks.LearningRateScheduler/schedule-None", lambda c: C.LearningRateScheduler(None), TypeError,
            r"schedule must be callable"),
        Row("callbacks.LearningRateScheduler/verbose-str", lambda c: C.LearningRateScheduler(lambda e: 0.1, "yes"),
            TypeError, r"verbose"),
        Row("callbacks.CSVLogger/separator-long", lambda c: C.CSVLogger("log.csv", separator=";;"), TypeError,
            r"CSVLogger: separator must be a one-character string, got separator=';;'"),
        Row("callbacks.CSVLogger/separator-None", lambda c: C.CSVLogger("log.csv", separator=None), TypeError,
            r"separator"),
        Row("callbacks.CSVLogger/append-str", lambda c: C.CSVLogger("log.csv", append="yes"), TypeError,
            r"CSVLogger: append must be True or False"),
        Row("callbacks.CSVLogger/filename-None", lambda c: C.CSVLogger(None), TypeError, r"os.PathLike"),
        Row("callbacks.TerminateOnNaN/raise_error-str", lambda c: C.TerminateOnNaN(raise_error="yes"), TypeError,
            r"TerminateOnNaN: raise_error must be True or False, got 'yes'"),
        Row("callbacks.BackupAndRestore/backup_dir-empty", lambda c: C.BackupAndRestore(""), ValueError,
            r"Empty `backup_dir` argument passed"),
        Row("callbacks.BackupAndRestore/backup_dir-int", lambda c: C.BackupAndRestore(3), TypeError,
            r"BackupAndRestore: backup_dir must be a path"),
        Row("callbacks.BackupAndRestore/save_freq-str", lambda c: C.BackupAndRestore("d", save_freq="batch"),
            ValueError, r"Invalid value for argument `save_freq`"),
        Row("callbacks.BackupAndRestore/delete_checkpoint-str",
            lambda c: C.BackupAndRestore("d", delete_checkpoint="no"), TypeError,
            r"BackupAndRestore: delete_checkpoint must be True or False"),
        Row("callbacks.LambdaCallback/on_epoch_end-int", lambda c: C.LambdaCallback(on_epoch_end=3), TypeError,
            r"LambdaCallback: on_epoch_end must be callable or None, got int 3"),
        Row("callbacks.LambdaCallback/on_test_end-str", lambda c: C.LambdaCallback(on_test_end="print"), TypeError,
            r"on_test_end must be callable"),
        Row("callbacks.History/positional-arg", lambda c: C.History(3), TypeError, r"positional argument"),
        Row("callbacks.ProgbarLogger/positional-arg", lambda c: C.ProgbarLogger("steps"), TypeError,
            r"positional argument"),
        # refused at construction, before fit runs an epoch with them
        Row("fit/callbacks-bad-EarlyStopping", lambda c: _fit(c, callbacks=[C.EarlyStopping(patience=-1)]),
            ValueError, r"patience"),
    ]
    return rows


# ============================================================================ metrics
def _metric_value(cls, yt, yp, sw=None, **kw):
    m = cls(**kw)
    m.update_state(yt, yp, sample_weight=sw)
    return m.result()


def _metric_rows():
    from ranvier import metrics
    yt, yp = np.eye(3, dtype=F32)[[0, 2, 1, 1, 0, 2]], _probs(6, 3)
    rows = []
    for name in ("MeanSquaredError", "CategoricalAccuracy", "AUC", "Precision", "TopKCategoricalAccuracy"):
        cls = getattr(metrics, name)
        kw = {"k": 2} if name == "TopKCategoricalAccuracy" else {}
        rows += [
            Row(f"metrics.{name}/y_pred-object", lambda c, cls=cls, kw=kw: _metric_value(cls, yt, yp.astype(object), **kw),
                TypeError, r"y_pred must be numeric, got dtype=object"),
            Row(f"metrics.{name}/length-mismatch", lambda c, cls=cls, kw=kw: _metric_value(cls, yt, yp[:5], **kw),
                ValueError, r"different numbers of samples"),
            Row(f"metrics.{name}/sample_weight-length", lambda c, cls=cls, kw=kw:
                _metric_value(cls, yt, yp, np.ones(4), **kw), ValueError, r"sample_weight must have shape"),
        ]
        for vname, view in layouts(yp):
            rows.append(Row(f"metrics.{name}/y_pred-{vname}", lambda c, cls=cls, v=view, kw=kw:
                            _metric_value(cls, yt, v, np.arange(6.0), **kw),
                            Same(lambda c, cls=cls, v=view, kw=kw: _metric_value(cls, yt, contiguous_f32(v),
                                                                                 np.arange(6.0), **kw))))
    rows += [
        Row("metrics.get/unknown", lambda c: metrics.get("accurasy"), ValueError,
            r"Could not interpret metric identifier: 'accurasy'. Valid names"),
        Row("metrics.AUC/num_thresholds-1", lambda c: metrics.AUC(num_thresholds=1), ValueError, r"num_thresholds"),
        Row("metrics.TopKCategoricalAccuracy/k-0", lambda c: _metric_value(metrics.TopKCategoricalAccuracy, yt, yp, k=0),
            ValueError, r"k must be >= 1"),
    ]
    return rows


# ============================================================================ the model
def _fit(c, **kw):
    args = dict(x=c.x, y=c.y, verbose=0)
    args.update(kw)
    return c.model.fit(**args)


def _model_rows():
    X, Y = _arr(24, 4), RNG.integers(0, 3, 24)
    rows = [
        # ---- compile
        Row("compile/optimizer-unknown", lambda c: c.model.compile(optimizer="adamm", loss="mse"), ValueError,
            r"optimizer identifier: 'adamm'"),
        Row("compile/optimizer-int", lambda c: c.model.compile(optimizer=3, loss="mse"), ValueError,
            r"optimizer identifier: 3"),
        Row("compile/loss-unknown", lambda c: (c.model.compile(optimizer="sgd", loss="msee"), _fit(c)), ValueError,
            r"loss identifier: 'msee'"),
        Row("compile/loss-int", lambda c: (c.model.compile(optimizer="sgd", loss=3), _fit(c)), (ValueError, TypeError),
            r"loss"),
        Row("compile/loss-None", lambda c: (c.model.compile(optimizer="sgd", loss=None), _fit(c)), ValueError,
            r"loss is required"),
        Row("compile/metrics-str", lambda c: c.model.compile(optimizer="sgd", loss="mse", metrics="accuracy"),
            TypeError, r"metrics must be a list"),
        Row("compile/metric-unknown", lambda c: (c.model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
                                                                 metrics=["accurasy"]), _fit(c)),
            ValueError, r"metric identifier: 'accurasy'"),
        Row("compile/loss_weights-str", lambda c: (c.model.compile(optimizer="sgd", loss="mse", loss_weights="a"), _fit(c)),
            ValueError, r"loss_weights"),
        Row("compile/loss_weights-nan", lambda c: (c.model.compile(optimizer="sgd", loss="mse", loss_weights=math.nan), _fit(c)),
            ValueError, r"loss_weights"),
        # ---- fit: data
        Row("fit/x-object", lambda c: _fit(c, x=c.x.astype(object)), TypeError,
            r"fit: x must hold real numbers \(float or int\), got dtype=object"),
        Row("fit/x-complex", lambda c: _fit(c, x=c.x.astype(complex)), TypeError, r"x must hold real numbers"),
        Row("fit/x-str", lambda c: _fit(c, x="data.csv"), TypeError, r"fit: x must be an array of numbers"),
        Row("fit/x-str-array", lambda c: _fit(c, x=c.x.astype(str)), TypeError, r"x must hold real numbers"),
        Row("fit/x-None", lambda c: _fit(c, x=None), ValueError, r"x is required"),
        Row("fit/x-scalar", lambda c: _fit(c, x=3.0), ValueError, r"x must have a batch dimension"),
        Row("fit/x-1d", lambda c: _fit(c, x=c.x[:, 0]), ValueError,
            r"expected input with shape \(batch, 4\), got x.shape=\(24,\)"),
        Row("fit/x-3d", lambda c: _fit(c, x=c.x.reshape(24, 2, 2)), ValueError, r"x.shape=\(24, 2, 2\)"),
        Row("fit/x-wrong-features", lambda c: _fit(c, x=_arr(24, 5)), ValueError, r"x.shape=\(24, 5\)"),
        Row("fit/x-ragged-list", lambda c: _fit(c, x=[[1.0, 2.0, 3.0, 4.0], [1.0]], y=[0, 1]), ValueError, r"x"),
        Row("fit/x-empty", lambda c: _fit(c, x=c.x[:0], y=c.y[:0]), ValueError, r"x is empty \(x.shape=\(0, 4\)\)"),
        Row("fit/x-nan", lambda c: _fit(c, x=np.where(c.x > 1.5, np.nan, c.x)), ValueError, r"x contains NaN or inf"),
        Row("fit/x-inf", lambda c: _fit(c, x=np.where(c.x > 1.5, -np.inf, c.x)), ValueError, r"x contains NaN or inf"),
        Row("fit/x-float64-overflowing-float32", lambda c: _fit(c, x=c.x.astype(np.float64) * 1e300), ValueError,
            r"x holds finite values that overflow float32"),
        Row("fit/y-length", lambda c: _fit(c, y=c.y[:23]), ValueError,
            r"x and y have different lengths: x has 24 samples, y.shape=\(23,\)"),
        Row("fit/y-None", lambda c: _fit(c, y=None), ValueError, r"y is required"),
        Row("fit/y-object", lambda c: _fit(c, y=c.y.astype(object)), TypeError, r"y must hold real numbers"),
        Row("fit/y-nan", lambda c: _fit(c, y=np.where(c.y > 1, np.nan, c.y)), ValueError, r"y contains NaN or inf"),
        Row("fit/y-label-out-of-range", lambda c: _fit(c, y=c.y + 1), ValueError,
            r"y holds label 3.*integer labels in \[0, 3\)"),
        Row("fit/y-label-negative", lambda c: _fit(c, y=c.y - 1), ValueError, r"label -1"),
        Row("fit/y-one-hot-for-sparse", lambda c: _fit(c, y=np.eye(3)[c.y]), ValueError,
            r"labels of shape \(n,\) or \(n, 1\), got y.shape=\(24, 3\)"),
        Row("fit/y-wrong-width-regression", lambda c: c.regressor().fit(c.xr, c.yr[:, :1].repeat(3, 1), verbose=0),
            ValueError, r"y.shape=\(24, 3\) does not match the model's output shape \(None, 2\)"),
        Row("fit/sample_weight-length", lambda c: _fit(c, sample_weight=np.ones(5)), ValueError,
            r"sample_weight must have shape \(24,\), got \(5,\)"),
        Row("fit/sample_weight-nan", lambda c: _fit(c, sample_weight=np.full(24, np.nan)), ValueError,
            r"sample_weight contains NaN"),
        Row("fit/sample_weight-str", lambda c: _fit(c, sample_weight="balanced"), TypeError, r"sample_weight"),
        Row("fit/sample_weight-unaligned", lambda c: _fit_weights(c, X, sample_weight=_unaligned(np.arange(24.0, dtype=F32))),
            Same(lambda c: _fit_weights(c, X, sample_weight=np.arange(24.0, dtype=F32)))),
        Row("fit/class_weight-list", lambda c: _fit(c, class_weight=[1.0, 2.0, 3.0]), TypeError,
            r"class_weight must be a dict"),
        Row("fit/class_weight-str-value", lambda c: _fit(c, class_weight={0: "heavy"}), ValueError,
            r"class_weight.*'heavy'"),
        Row("fit/class_weight-nan", lambda c: _fit(c, class_weight={0: math.nan, 1: 1.0}), ValueError,
            r"class_weight"),
        Row("fit/class_weight-str-key", lambda c: _fit(c, class_weight={"cat": 2.0}), ValueError,
            r"class_weight keys"),
        Row("fit/class_and_sample_weight", lambda c: _fit(c, class_weight={0: 1.0}, sample_weight=np.ones(24)),
            ValueError, r"cannot be used together"),
        Row("fit/validation_data-1-tuple", lambda c: _fit(c, validation_data=(c.x,)), ValueError,
            r"validation_data must be a tuple"),
        Row("fit/validation_data-length", lambda c: _fit(c, validation_data=(c.x, c.y[:5])), ValueError,
            r"y_val.shape=\(5,\)"),
        Row("fit/validation_data-features", lambda c: _fit(c, validation_data=(c.x[:, :3], c.y)), ValueError,
            r"x_val.shape=\(24, 3\)"),
        Row("fit/validation_data-nan", lambda c: _fit(c, validation_data=(c.x * np.nan, c.y)), ValueError,
            r"x_val contains NaN"),
        # ---- fit: hyperparameters
        Row("fit/batch_size-0", lambda c: _fit(c, batch_size=0), ValueError, r"batch_size must be a positive int"),
        Row("fit/batch_size-negative", lambda c: _fit(c, batch_size=-32), ValueError, r"batch_size.*-32"),
        Row("fit/batch_size-str", lambda c: _fit(c, batch_size="32"), ValueError, r"batch_size.*'32'"),
        Row("fit/batch_size-float", lambda c: _fit(c, batch_size=32.0), ValueError, r"batch_size.*32.0"),
        Row("fit/epochs-negative", lambda c: _fit(c, epochs=-1), ValueError, r"epochs must be a non-negative int"),
        Row("fit/epochs-str", lambda c: _fit(c, epochs="10"), ValueError, r"epochs.*'10'"),
        Row("fit/epochs-float", lambda c: _fit(c, epochs=2.5), ValueError, r"epochs"),
        Row("fit/validation_split-1", lambda c: _fit(c, validation_split=1.0), ValueError,
            r"validation_split must be a float in \[0, 1\)"),
        Row("fit/validation_split-negative", lambda c: _fit(c, validation_split=-0.2), ValueError,
            r"validation_split"),
        Row("fit/validation_split-nan", lambda c: _fit(c, validation_split=math.nan), ValueError, r"validation_split"),
        Row("fit/validation_split-str", lambda c: _fit(c, validation_split="0.2"), ValueError, r"validation_split"),
        Row("fit/validation_split-leaves-nothing", lambda c: _fit(c, x=c.x[:1], y=c.y[:1], validation_split=0.5),
            ValueError, r"validation_split=0.5 leaves no training samples out of 1"),
        Row("fit/verbose-5", lambda c: _fit(c, verbose=5), ValueError, r"verbose must be 'auto', 0, 1 or 2"),
        Row("fit/shuffle-str", lambda c: _fit(c, shuffle="yes"), ValueError, r"shuffle must be True, False or 'batch'"),
        Row("fit/initial_epoch-str", lambda c: _fit(c, initial_epoch="1"), ValueError, r"initial_epoch"),
        Row("fit/initial_epoch-negative", lambda c: _fit(c, initial_epoch=-1), ValueError, r"initial_epoch"),
        Row("fit/steps_per_epoch-0", lambda c: _fit(c, steps_per_epoch=0), ValueError, r"steps_per_epoch"),
        Row("fit/steps_per_epoch-negative", lambda c: _fit(c, steps_per_epoch=-2), ValueError, r"steps_per_epoch"),
        Row("fit/steps_per_epoch-str", lambda c: _fit(c, steps_per_epoch="2"), ValueError, r"steps_per_epoch"),
        Row("fit/validation_freq-0", lambda c: _fit(c, validation_split=0.25, validation_freq=0), ValueError,
            r"validation_freq"),
        Row("fit/validation_freq-str", lambda c: _fit(c, validation_split=0.25, validation_freq="1"), ValueError,
            r"validation_freq"),
        Row("fit/validation_batch_size-0", lambda c: _fit(c, validation_split=0.25, validation_batch_size=0),
            ValueError, r"batch_size must be a positive int"),
        Row("fit/callbacks-int", lambda c: _fit(c, callbacks=[3]), TypeError,
            r"callbacks must be callback objects .*got int"),
        Row("fit/callbacks-str", lambda c: _fit(c, callbacks="early_stopping"), TypeError, r"callbacks"),
        Row("fit/uncompiled", lambda c: c.uncompiled().fit(c.x, c.y, verbose=0), RuntimeError,
            r"must call `compile\(\)`"),
        # ---- fit: documented conversions train exactly as float32 C-contiguous data would
        *[Row(f"fit/x-{name}", lambda c, v=view: _fit_weights(c, v), Same(lambda c, v=view: _fit_weights(c, contiguous_f32(v))))
          for name, view in layouts(X)],
        Row("fit/x-int", lambda c: _fit_weights(c, (X * 10).astype(np.int32)),
            Same(lambda c: _fit_weights(c, (X * 10).astype(np.int32).astype(F32)))),
        Row("fit/x-bool", lambda c: _fit_weights(c, X > 0), Same(lambda c: _fit_weights(c, (X > 0).astype(F32)))),
        Row("fit/x-list", lambda c: _fit_weights(c, X.tolist()), Same(lambda c: _fit_weights(c, X))),
        Row("fit/y-float-labels", lambda c: _fit_weights(c, X, Y.astype(np.float64)), Same(lambda c: _fit_weights(c, X, Y))),
        Row("fit/y-column-labels", lambda c: _fit_weights(c, X, Y[:, None]), Same(lambda c: _fit_weights(c, X, Y))),
        Row("fit/batch_size-huge", lambda c: _fit_weights(c, X, batch_size=2**70),
            Same(lambda c: _fit_weights(c, X, batch_size=24))),
        # ---- evaluate
        Row("evaluate/y-length", lambda c: c.model.evaluate(c.x, c.y[:5], verbose=0), ValueError,
            r"evaluate: x and y have different lengths"),
        Row("evaluate/batch_size-0", lambda c: c.model.evaluate(c.x, c.y, batch_size=0, verbose=0), ValueError,
            r"evaluate: batch_size must be a positive int"),
        Row("evaluate/x-nan", lambda c: c.model.evaluate(c.x * np.nan, c.y, verbose=0), ValueError,
            r"evaluate: x contains NaN"),
        Row("evaluate/x-empty", lambda c: c.model.evaluate(c.x[:0], c.y[:0], verbose=0), ValueError,
            r"evaluate: x is empty"),
        Row("evaluate/x-complex", lambda c: c.model.evaluate(c.x.astype(complex), c.y, verbose=0), TypeError,
            r"evaluate: x must hold real numbers"),
        Row("evaluate/labels-out-of-range", lambda c: c.model.evaluate(c.x, c.y + 5, verbose=0), ValueError,
            r"evaluate: y holds label"),
        Row("evaluate/uncompiled", lambda c: c.uncompiled().evaluate(c.x, c.y, verbose=0), RuntimeError, r"compile"),
        Row("evaluate/sample_weight-length", lambda c: c.model.evaluate(c.x, c.y, sample_weight=np.ones(3), verbose=0),
            ValueError, r"sample_weight must have shape \(24,\)"),
        Row("evaluate/batch_size-huge", lambda c: c.model.evaluate(X, Y, batch_size=2**70, verbose=0),
            Same(lambda c: c.model.evaluate(X, Y, batch_size=24, verbose=0))),
        Row("evaluate/x-strided", lambda c: c.model.evaluate(np.repeat(X, 2, axis=1)[:, ::2], Y, verbose=0),
            Same(lambda c: c.model.evaluate(X, Y, verbose=0))),
        # ---- predict, predict_on_batch, __call__
        Row("predict/x-wrong-features", lambda c: c.model.predict(_arr(3, 5), verbose=0), ValueError,
            r"predict: Dense '.*' \(the first layer\) expected input with shape \(batch, 4\), got x.shape=\(3, 5\)"),
        Row("predict/x-empty", lambda c: c.model.predict(c.x[:0], verbose=0), ValueError, r"predict: x is empty"),
        Row("predict/x-nan", lambda c: c.model.predict(c.x * np.nan, verbose=0), ValueError, r"predict: x contains NaN"),
        Row("predict/x-inf", lambda c: c.model.predict(c.x * np.inf, verbose=0), ValueError, r"NaN or inf"),
        Row("predict/x-object", lambda c: c.model.predict(c.x.astype(object), verbose=0), TypeError,
            r"predict: x must hold real numbers"),
        Row("predict/x-str", lambda c: c.model.predict("abc", verbose=0), TypeError, r"predict: x must be an array"),
        Row("predict/x-None", lambda c: c.model.predict(None, verbose=0), ValueError, r"predict: x is required"),
        Row("predict/x-scalar", lambda c: c.model.predict(np.float32(1), verbose=0), ValueError,
            r"x must have a batch dimension"),
        Row("predict/x-1d", lambda c: c.model.predict(c.x[0], verbose=0), ValueError, r"x.shape=\(4,\)"),
        Row("predict/batch_size-0", lambda c: c.model.predict(c.x, batch_size=0, verbose=0), ValueError,
            r"predict: batch_size must be a positive int"),
        Row("predict/batch_size-str", lambda c: c.model.predict(c.x, batch_size="8", verbose=0), ValueError,
            r"batch_size"),
        Row("predict/verbose-str", lambda c: c.model.predict(c.x, verbose="loud"), ValueError, r"verbose"),
        Row("predict/no-layers", lambda c: ranvier.Sequential().predict(c.x, verbose=0), ValueError, r"no layers"),
        Row("predict_on_batch/x-wrong-features", lambda c: c.model.predict_on_batch(_arr(3, 5)), ValueError,
            r"predict_on_batch: .*x.shape=\(3, 5\)"),
        Row("predict_on_batch/x-object", lambda c: c.model.predict_on_batch(c.x.astype(object)), TypeError,
            r"real numbers"),
        Row("__call__/x-wrong-features", lambda c: c.model(_arr(3, 5)), ValueError, r"x.shape=\(3, 5\)"),
        Row("__call__/x-complex", lambda c: c.model(c.x.astype(complex)), TypeError, r"real numbers"),
        Row("predict/batch_size-huge", lambda c: c.model.predict(X, batch_size=2**70, verbose=0),
            Same(lambda c: c.model.predict(X, batch_size=24, verbose=0))),
        *[Row(f"predict/x-{name}", lambda c, v=view: c.model.predict(v, verbose=0),
              Same(lambda c, v=view: c.model.predict(contiguous_f32(v), verbose=0)))
          for name, view in layouts(X)],
        Row("predict/x-int", lambda c: c.model.predict((X * 4).astype(np.int64), verbose=0),
            Same(lambda c: c.model.predict((X * 4).astype(np.int64).astype(F32), verbose=0))),
        Row("predict_on_batch/x-strided", lambda c: c.model.predict_on_batch(np.repeat(X, 2, axis=1)[:, ::2]),
            Same(lambda c: c.model.predict_on_batch(X))),
        Row("__call__/x-fortran", lambda c: c.model(np.asfortranarray(X)), Same(lambda c: c.model(X))),
        # ---- train_on_batch / test_on_batch
        Row("train_on_batch/y-length", lambda c: c.model.train_on_batch(c.x, c.y[:3]), ValueError,
            r"train_on_batch: x and y have different lengths"),
        Row("train_on_batch/x-nan", lambda c: c.model.train_on_batch(c.x * np.nan, c.y), ValueError,
            r"train_on_batch: x contains NaN"),
        Row("train_on_batch/x-empty", lambda c: c.model.train_on_batch(c.x[:0], c.y[:0]), ValueError,
            r"train_on_batch: x is empty"),
        Row("train_on_batch/x-object", lambda c: c.model.train_on_batch(c.x.astype(object), c.y), TypeError,
            r"real numbers"),
        Row("train_on_batch/x-wrong-features", lambda c: c.model.train_on_batch(_arr(24, 2), c.y), ValueError,
            r"x.shape=\(24, 2\)"),
        Row("train_on_batch/uncompiled", lambda c: c.uncompiled().train_on_batch(c.x, c.y), RuntimeError,
            r"compile"),
        Row("train_on_batch/class_weight-and-sample_weight",
            lambda c: c.model.train_on_batch(c.x, c.y, sample_weight=np.ones(24), class_weight={0: 1.0}), ValueError,
            r"cannot be used together"),
        Row("train_on_batch/x-strided", lambda c: _tob_weights(c, np.repeat(X, 2, axis=1)[:, ::2]),
            Same(lambda c: _tob_weights(c, X))),
        Row("test_on_batch/y-length", lambda c: c.model.test_on_batch(c.x, c.y[:3]), ValueError,
            r"test_on_batch: x and y have different lengths"),
        Row("test_on_batch/x-inf", lambda c: c.model.test_on_batch(c.x * np.inf, c.y), ValueError, r"NaN or inf"),
        # ---- weights
        Row("set_weights/count", lambda c: c.model.set_weights([np.ones((4, 8))]), ValueError,
            r"the model has 4 weights, got a list of 1"),
        Row("set_weights/shape", lambda c: c.model.set_weights([np.ones((8, 4))] + c.model.get_weights()[1:]),
            ValueError, r"\(4, 8\).*\(8, 4\)"),
        Row("set_weights/object", lambda c: c.model.set_weights([w.astype(object) for w in c.model.get_weights()]),
            ValueError, r"must be numeric, got dtype=object"),
        Row("set_weights/complex", lambda c: c.model.set_weights([w.astype(complex) for w in c.model.get_weights()]),
            ValueError, r"must be numeric"),
        Row("Sequential.add/int", lambda c: ranvier.Sequential().add(3), TypeError, r"expected a ranvier layer, got int"),
        Row("Sequential/layer-str", lambda c: ranvier.Sequential(["dense"]), TypeError, r"got str"),
        # ---- absurd model sizes: refused cleanly, nothing huge allocated
        Row("Sequential/Dense-2**40", lambda c: ranvier.Sequential([ranvier.Input(shape=(4,)), layers.Dense(2**40)]),
            MemoryError, r"need [\d,.]+ GiB but this machine has .*Dense\(1099511627776\) 'dense.*' on \(4,\) inputs: "
            r"5,497,558,138,880 weights", huge=True, asan_ok=True),
        Row("Sequential/Input-2**40", lambda c: ranvier.Sequential([ranvier.Input(shape=(2**40,)), layers.Dense(2)]),
            MemoryError, r"Dense\(2\) .* on \(1099511627776,\) inputs", huge=True, asan_ok=True),
        Row("Sequential/Dense-2**31-by-2**33", lambda c: ranvier.Sequential([ranvier.Input(shape=(2**33,)),
                                                                             layers.Dense(2**31)]),
            MemoryError, r"GiB but this machine has", huge=True, asan_ok=True),
        Row("Sequential/Dense-2**30-first-fit", lambda c: _unbuilt_huge_fit(c), MemoryError,
            r"Dense\(1073741824\)", huge=True, asan_ok=True),
    ]
    return rows


def _fit_weights(c, x, y=None, **kw):
    """Weights after 2 epochs of SGD from a fixed start (shuffle off: exact comparisons)."""
    ranvier.utils.set_random_seed(9)
    m = ranvier.Sequential([ranvier.Input(shape=(4,)), layers.Dense(8, activation="relu"),
                            layers.Dense(3, activation="softmax")])
    m.compile(optimizer=optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    y = np.asarray(_Y_FIT if y is None else y)
    args = dict(epochs=2, batch_size=5, shuffle=False, verbose=0)
    args.update(kw)
    m.fit(x, y, **args)
    return m.get_weights()


def _unaligned(a):
    raw = np.zeros(a.nbytes + 1, np.uint8)
    out = raw[1:].view(a.dtype).reshape(a.shape)
    out[...] = a
    return out


def _tob_weights(c, x):
    ranvier.utils.set_random_seed(9)
    m = ranvier.Sequential([ranvier.Input(shape=(4,)), layers.Dense(8, activation="relu"), layers.Dense(3)])
    m.compile(optimizer="adam", loss="mse")
    m.train_on_batch(x, _arr_fixed_y3)
    return m.get_weights()


_Y_FIT = RNG.integers(0, 3, 24)
_arr_fixed_y3 = _arr(24, 3)


def _unbuilt_huge_fit(c):
    m = ranvier.Sequential([layers.Dense(2**30), layers.Dense(1)])
    m.compile(optimizer="sgd", loss="mse")
    m.fit(c.x, np.zeros(24), verbose=0)


# ============================================================================ save / load
def _fifo(c):
    p = c.tmp / "fifo"
    os.mkfifo(p)
    return p


def _load_with_timeout(path, timeout=5.0):
    """load_model(path) in a thread; a loader that blocks (e.g. opening a FIFO) fails the row
    instead of hanging the suite (the thread is released by opening the FIFO's other end)."""
    box = {}

    def work():
        try:
            box["value"] = ranvier.models.load_model(path)
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            box["error"] = e

    t = threading.Thread(target=work, daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        t.join(5)
        raise AssertionError(f"load_model({path}) blocked for {timeout} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


def _save_load_rows():
    return [
        Row("save/path-None", lambda c: c.model.save(None), TypeError, r"path|str, bytes or os.PathLike"),
        Row("save/path-int", lambda c: c.model.save(3), TypeError, r"path|str, bytes or os.PathLike"),
        Row("save/path-folder", lambda c: c.model.save(c.tmp), IsADirectoryError, r"it is a folder"),
        Row("save/missing-folder", lambda c: c.model.save(c.tmp / "nope" / "m.safetensors"), FileNotFoundError,
            r"No such file or directory"),
        Row("save/overwrite-False-existing", lambda c: (c.saved(), c.model.save(c.saved(), overwrite=False)),
            (FileExistsError, ValueError, OSError), r"exists"),
        Row("save/overwrite-str", lambda c: c.model.save(c.tmp / "m.rvr", overwrite="a"), TypeError,
            r"save: overwrite must be True or False, got 'a'"),
        Row("save/overwrite-str-existing", lambda c: c.model.save(c.saved(), overwrite="no"), TypeError,
            r"overwrite must be True or False"),
        Row("save/include_optimizer-int", lambda c: c.model.save(c.tmp / "m.rvr", include_optimizer=0), TypeError,
            r"save: include_optimizer must be True or False, got 0"),
        Row("save_weights/overwrite-str", lambda c: c.model.save_weights(c.tmp / "w.rvr", overwrite="a"), TypeError,
            r"save_weights: overwrite must be True or False"),
        Row("load_model/compile-str", lambda c: ranvier.models.load_model(c.saved(), compile="no"), TypeError,
            r"load_model: compile must be True or False, got 'no'"),
        Row("load_weights/skip_mismatch-str", lambda c: c.model.load_weights(c.saved(), skip_mismatch="yes"),
            TypeError, r"load_weights: skip_mismatch must be True or False"),
        Row("save_weights/path-folder", lambda c: c.model.save_weights(c.tmp), IsADirectoryError, r"folder"),
        Row("load_model/missing", lambda c: ranvier.models.load_model(c.tmp / "missing.safetensors"),
            FileNotFoundError, r"No such file"),
        Row("load_model/path-None", lambda c: ranvier.models.load_model(None), TypeError, r"str, bytes or os.PathLike"),
        Row("load_model/path-float", lambda c: ranvier.models.load_model(3.5), TypeError, r"os.PathLike"),
        Row("load_model/folder", lambda c: ranvier.models.load_model(c.tmp), (IsADirectoryError, ValueError),
            r"directory|not a regular file"),
        Row("load_model/dev-zero", lambda c: ranvier.models.load_model("/dev/zero"), ValueError,
            r"not a regular file"),
        Row("load_model/fifo", lambda c: _load_with_timeout(_fifo(c)), ValueError, r"not a regular file"),
        Row("load_model/empty-file", lambda c: (c.tmp.joinpath("e").write_bytes(b""),
                                                ranvier.models.load_model(c.tmp / "e")), ValueError,
            r"invalid model file: the file is 0 bytes long"),
        Row("load_model/truncated", lambda c: (c.tmp.joinpath("t").write_bytes(c.saved().read_bytes()[:-7]),
                                               ranvier.models.load_model(c.tmp / "t")), ValueError,
            r"invalid model file"),
        Row("load_model/header-length-huge", lambda c: (c.tmp.joinpath("h").write_bytes(b"\xff" * 8 + b"{}"),
                                                        ranvier.models.load_model(c.tmp / "h")), ValueError,
            r"header length field says \d+ bytes"),
        Row("load_weights/wrong-model", lambda c: ranvier.Sequential([ranvier.Input(shape=(4,)), layers.Dense(2)])
            .load_weights(c.saved()), ValueError, r""),
        Row("load_model/bytes-path-missing", lambda c: ranvier.models.load_model(str(c.tmp / "x").encode()),
            (FileNotFoundError, TypeError), r""),
    ]


# ============================================================================ the C API
_CA = _core._c_api_addresses()
_P = ctypes.c_void_p
_c_load = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char_p, ctypes.POINTER(_P))(_CA["ranvier_model_load"])
_c_in = ctypes.CFUNCTYPE(ctypes.c_int64, _P)(_CA["ranvier_model_input_size"])
_c_out = ctypes.CFUNCTYPE(ctypes.c_int64, _P)(_CA["ranvier_model_output_size"])
_c_predict = ctypes.CFUNCTYPE(ctypes.c_int, _P, ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p,
                              ctypes.c_int64)(_CA["ranvier_model_predict"])
_c_free = ctypes.CFUNCTYPE(None, _P)(_CA["ranvier_model_free"])
_c_error = ctypes.CFUNCTYPE(ctypes.c_char_p)(_CA["ranvier_last_error"])
C_OK, C_INVALID, C_IO, C_OOM = 0, 1, 2, 3


def c_load(path):
    h = _P()
    status = _c_load(None if path is None else os.fsencode(path), ctypes.byref(h))
    return status, h


@contextlib.contextmanager
def c_model(path):
    status, h = c_load(path)
    assert status == C_OK, _c_error()
    try:
        yield h
    finally:
        _c_free(h)


def _c_predict_rows():
    """(id, call(ctx) -> status, expected status, message regex)."""
    x = np.ones((8, 4), F32)
    out = np.zeros((8, 3), F32)

    def pred(c, n, out_len, xp=None, op=None):
        with c_model(c.saved()) as h:
            return _c_predict(h, x.ctypes.data if xp is None else xp, n, out.ctypes.data if op is None else op,
                              out_len)

    return [
        ("load/path-NULL", lambda c: c_load(None)[0], C_INVALID, r"path is NULL"),
        ("load/out-NULL", lambda c: _c_load(os.fsencode(c.saved()), None), C_INVALID, r"out is NULL"),
        ("load/missing", lambda c: c_load(c.tmp / "missing")[0], C_IO, r"cannot open .*No such file"),
        ("load/empty-path", lambda c: c_load("")[0], C_IO, r"cannot open"),
        ("load/folder", lambda c: c_load(c.tmp)[0], C_INVALID, r"not a regular file"),
        ("load/dev-zero", lambda c: c_load("/dev/zero")[0], C_INVALID, r"not a regular file"),
        ("load/fifo", lambda c: _c_load_fifo(c), C_INVALID, r"not a regular file"),
        ("load/empty-file", lambda c: (c.tmp.joinpath("e").write_bytes(b""), c_load(c.tmp / "e")[0])[1],
         C_INVALID, r"invalid model file: the file is 0 bytes long"),
        ("load/truncated", lambda c: (c.tmp.joinpath("t").write_bytes(c.saved().read_bytes()[:-7]),
                                      c_load(c.tmp / "t")[0])[1], C_INVALID, r"invalid model file"),
        ("predict/model-NULL", lambda c: _c_predict(None, x.ctypes.data, 8, out.ctypes.data, 24), C_INVALID,
         r"model is NULL"),
        ("predict/n-negative", lambda c: pred(c, -1, 24), C_INVALID, r"n is negative"),
        ("predict/x-NULL", lambda c: pred(c, 8, 24, xp=0), C_INVALID, r"x or out is NULL"),
        ("predict/out-NULL", lambda c: pred(c, 8, 24, op=0), C_INVALID, r"x or out is NULL"),
        ("predict/out-too-small", lambda c: pred(c, 8, 23), C_INVALID,
         r"out holds 23 floats but 8 rows need n \* output_size = 24"),
        ("predict/out_len-negative", lambda c: pred(c, 8, -24), C_INVALID, r"out holds -24 floats"),
        ("predict/n-overflows-int64", lambda c: pred(c, 2**62, 2**63 - 1), C_INVALID, r"n \* output_size = more"),
    ]


def _c_load_fifo(c):
    p = _fifo(c)
    box = {}
    t = threading.Thread(target=lambda: box.setdefault("status", c_load(p)), daemon=True)
    t.start()
    t.join(5)
    if t.is_alive():
        fd = os.open(p, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        t.join(5)
        raise AssertionError("ranvier_model_load blocked on a FIFO for 5 s")
    status, h = box["status"]
    if h.value:
        _c_free(h)
    # the message is the calling thread's: read it there
    return status


# ============================================================================ limits, float32 range,
# hyperparameters, pandas dtypes, loss shapes, rank-1 activation layers, Flatten data_format
BIG_INTS = {"2**31-1": 2**31 - 1, "2**31": 2**31, "2**31+1": 2**31 + 1, "2**63-1": 2**63 - 1, "2**63": 2**63,
            "2**64": 2**64}
F32_OVER = 1e39  # finite in float64, beyond float32's range
_OVERFLOW = r"overflows? float32"


def _int_limit_rows():
    """Every int that crosses the binding: past its C++ type's limit it is a ValueError
    naming the argument and the limit (never pybind11's "incompatible function arguments")."""
    rows = []
    int32_args = {
        "metrics/AUC-num_thresholds": (lambda v: ranvier.metrics.AUC(num_thresholds=v), "num_thresholds"),
        "metrics/TopK-k": (lambda v: ranvier.metrics.TopKCategoricalAccuracy(k=v), "k"),
        "metrics/SparseTopK-k": (lambda v: ranvier.metrics.SparseTopKCategoricalAccuracy(k=v), "k"),
        "metrics/Precision-top_k": (lambda v: ranvier.metrics.Precision(top_k=v), "top_k"),
        "metrics/Precision-class_id": (lambda v: ranvier.metrics.Precision(class_id=v), "class_id"),
        "metrics/Recall-top_k": (lambda v: ranvier.metrics.Recall(top_k=v), "top_k"),
        "metrics/Recall-class_id": (lambda v: ranvier.metrics.Recall(class_id=v), "class_id"),
    }
    for rid, (make, arg) in int32_args.items():
        for vname in ("2**31", "2**31+1", "2**63-1", "2**64"):
            v = BIG_INTS[vname]
            rows.append(Row(f"{rid}/{vname}", lambda c, make=make, v=v: make(v), ValueError,
                            rf"{arg} is too large: it must be at most 2147483647"))
    int64_args = {
        "optimizers/Adam-gradient_accumulation_steps":
            (lambda v: optimizers.Adam(gradient_accumulation_steps=v), "gradient_accumulation_steps"),
        "optimizers/Adam-ema_overwrite_frequency":
            (lambda v: optimizers.Adam(use_ema=True, ema_overwrite_frequency=v), "ema_overwrite_frequency"),
        "optimizers/SGD-iterations": (lambda v: setattr(optimizers.SGD(), "iterations", v), "iterations"),
    }
    for rid, (make, arg) in int64_args.items():
        for vname in ("2**63", "2**64"):
            v = BIG_INTS[vname]
            rows.append(Row(f"{rid}/{vname}", lambda c, make=make, v=v: make(v), ValueError,
                            rf"{arg} is too large: it must be at most 9223372036854775807"))
    for vname in ("2**64", "2**64+1"):
        v = 2**64 if vname == "2**64" else 2**64 + 1
        rows.append(Row(f"layers/Dropout-seed/{vname}", lambda c, v=v: layers.Dropout(0.5, seed=v), ValueError,
                        r"seed is too large: it must be at most 18446744073709551615"))
    # shape products: exact (no int64 wrap-around to 0) and within what a model file holds
    for dims in ((2**21, 2**20), (2**32, 2**32), (2**40, 2**40, 2**40), (3, 2**39)):
        rows.append(Row(f"layers/Flatten-product/{'x'.join(map(str, dims))}",
                        lambda c, dims=dims: layers.Flatten().build((None,) + dims), ValueError,
                        r"Flatten: input_shape\[1:\]=.* values per sample, more than the 1099511627776"))
        rows.append(Row(f"model/Input-Flatten-product/{'x'.join(map(str, dims))}",
                        lambda c, dims=dims: ranvier.Sequential([ranvier.Input(shape=dims), layers.Flatten(),
                                                                 layers.ReLU()]),
                        ValueError, r"more than the 1099511627776"))
    for d in (2**40 + 1, 2**63 - 1, 2**64):
        rows.append(Row(f"layers/ReLU-features/{d}", lambda c, d=d: layers.ReLU().build((None, d)), ValueError,
                        r"features, more than the 1099511627776"))
    return rows


def _float32_rows():
    """Finite float64 values beyond float32's range are reported as overflowing float32."""
    x_over = _arr(24, 4).astype(np.float64)
    x_over[5, 2] = -F32_OVER
    rows = [
        Row("predict/x-overflow", lambda c: c.model.predict(x_over, verbose=0), ValueError,
            r"predict: x holds finite values that overflow float32.*x\[5, 2\]"),
        Row("fit/x-overflow", lambda c: _fit(c, x=x_over), ValueError, r"fit: x holds finite values that overflow"),
        Row("evaluate/x-overflow", lambda c: c.model.evaluate(x_over, c.y, verbose=0), ValueError, _OVERFLOW),
        Row("fit/y-overflow", lambda c: c.regressor().fit(c.xr, np.full((24, 2), F32_OVER), verbose=0),
            ValueError, r"fit: y holds finite values that overflow float32"),
        Row("fit/sample_weight-overflow", lambda c: _fit(c, sample_weight=np.full(24, F32_OVER)), ValueError,
            r"fit: sample_weight holds finite values that overflow float32"),
        Row("fit/class_weight-overflow", lambda c: _fit(c, class_weight={0: 1.0, 1: F32_OVER}), ValueError,
            r"class_weight\[1\]=1e\+39 overflows float32"),
        Row("set_weights/overflow", lambda c: c.model.set_weights(
            [np.full(w.shape, F32_OVER) if i == 0 else w for i, w in enumerate(c.model.get_weights())]),
            ValueError, r"set_weights: weight kernel holds finite values that overflow float32"),
        Row("__call__/Dense-overflow", lambda c: layers.Dense(2)(np.full((2, 3), F32_OVER)), ValueError, _OVERFLOW),
        Row("layers/Variable-assign-overflow", lambda c: c.model.layers[0].kernel.assign(
            np.full((4, 8), F32_OVER)), ValueError, _OVERFLOW),
        Row("matmul/a-overflow", lambda c: ops.matmul(np.full((3, 4), F32_OVER), B45.astype(np.float64)),
            ValueError, r"matmul: a holds finite values that overflow float32"),
        Row("matmul/b-overflow", lambda c: ops.matmul(A34, np.full((4, 5), -F32_OVER)), ValueError,
            r"matmul: b holds finite values that overflow float32"),
        Row("optimizers/Adam-lr-overflow", lambda c: optimizers.Adam(learning_rate=F32_OVER), ValueError,
            r"Adam: `learning_rate`=1e\+39 overflows float32"),
        Row("optimizers/SGD-clipnorm-overflow", lambda c: optimizers.SGD(clipnorm=F32_OVER), ValueError,
            _OVERFLOW),
        Row("optimizers/lr-setter-overflow", lambda c: setattr(optimizers.SGD(), "learning_rate", F32_OVER),
            ValueError, _OVERFLOW),
        Row("schedules/ExponentialDecay-lr-overflow", lambda c: optimizers.schedules.ExponentialDecay(
            F32_OVER, 10, 0.5), ValueError, _OVERFLOW),
        Row("regularizers/L2-overflow", lambda c: ranvier.regularizers.L2(F32_OVER), ValueError, _OVERFLOW),
        Row("constraints/MaxNorm-overflow", lambda c: ranvier.constraints.MaxNorm(F32_OVER), ValueError,
            _OVERFLOW),
        Row("losses/Huber-delta-overflow", lambda c: losses.Huber(delta=F32_OVER), ValueError, _OVERFLOW),
        Row("initializers/Constant-overflow", lambda c: ranvier.initializers.Constant(F32_OVER), ValueError,
            _OVERFLOW),
        Row("initializers/RandomNormal-stddev-overflow", lambda c: ranvier.initializers.RandomNormal(
            stddev=F32_OVER), ValueError, _OVERFLOW),
        Row("layers/ReLU-max_value-overflow", lambda c: layers.ReLU(max_value=F32_OVER), ValueError, _OVERFLOW),
        Row("layers/BatchNormalization-epsilon-overflow", lambda c: layers.BatchNormalization(epsilon=F32_OVER),
            ValueError, _OVERFLOW),
    ]
    return rows


def _hyper_rows():
    """NaN, inf and (where meaningless) negative hyperparameters, refused in every family."""
    nan, inf = float("nan"), float("inf")
    cases = {
        "constraints/MaxNorm-nan": (lambda: ranvier.constraints.MaxNorm(nan), r"max_value"),
        "constraints/MaxNorm-negative": (lambda: ranvier.constraints.MaxNorm(-1.0), r"max_value"),
        "constraints/MaxNorm-inf": (lambda: ranvier.constraints.MaxNorm(inf), r"max_value"),
        "constraints/MinMaxNorm-rate-nan": (lambda: ranvier.constraints.MinMaxNorm(rate=nan), r"rate"),
        "constraints/MinMaxNorm-rate-2": (lambda: ranvier.constraints.MinMaxNorm(rate=2.0), r"rate"),
        "constraints/MinMaxNorm-min-above-max": (lambda: ranvier.constraints.MinMaxNorm(2.0, 1.0), r"max_value"),
        "schedules/ExponentialDecay-negative-rate": (
            lambda: optimizers.schedules.ExponentialDecay(0.1, 10, -0.5), r"decay_rate"),
        "schedules/ExponentialDecay-nan-rate": (
            lambda: optimizers.schedules.ExponentialDecay(0.1, 10, nan), r"decay_rate"),
        "schedules/ExponentialDecay-negative-lr": (
            lambda: optimizers.schedules.ExponentialDecay(-0.1, 10, 0.5), r"initial_learning_rate"),
        "schedules/InverseTimeDecay-negative-rate": (
            lambda: optimizers.schedules.InverseTimeDecay(0.1, 10, -2.0), r"decay_rate"),
        "schedules/PolynomialDecay-negative-power": (
            lambda: optimizers.schedules.PolynomialDecay(0.1, 10, power=-1.0), r"power"),
        "schedules/PolynomialDecay-negative-end": (
            lambda: optimizers.schedules.PolynomialDecay(0.1, 10, end_learning_rate=-1.0), r"end_learning_rate"),
        "schedules/CosineDecay-negative-alpha": (
            lambda: optimizers.schedules.CosineDecay(0.1, 10, alpha=-0.5), r"alpha"),
        "schedules/CosineDecay-negative-warmup_target": (
            lambda: optimizers.schedules.CosineDecay(0.1, 10, warmup_target=-1.0, warmup_steps=2), r"warmup_target"),
        "schedules/CosineDecayRestarts-negative-m_mul": (
            lambda: optimizers.schedules.CosineDecayRestarts(0.1, 10, m_mul=-1.0), r"m_mul"),
        "schedules/PiecewiseConstantDecay-negative-value": (
            lambda: optimizers.schedules.PiecewiseConstantDecay([5], [0.1, -0.1]), r"values\[1\]"),
        "initializers/RandomNormal-nan-mean": (lambda: ranvier.initializers.RandomNormal(mean=nan), r"mean"),
        "initializers/RandomNormal-negative-stddev": (
            lambda: ranvier.initializers.RandomNormal(stddev=-1.0), r"stddev"),
        "initializers/TruncatedNormal-nan-stddev": (
            lambda: ranvier.initializers.TruncatedNormal(stddev=nan), r"stddev"),
        "initializers/RandomUniform-inf": (lambda: ranvier.initializers.RandomUniform(maxval=inf), r"maxval"),
        "initializers/Constant-nan": (lambda: ranvier.initializers.Constant(nan), r"value"),
        "initializers/Identity-nan": (lambda: ranvier.initializers.Identity(nan), r"gain"),
        "initializers/Orthogonal-inf": (lambda: ranvier.initializers.Orthogonal(inf), r"gain"),
        "metrics/BinaryAccuracy-nan-threshold": (lambda: ranvier.metrics.BinaryAccuracy(threshold=nan), r"threshold"),
        "metrics/Precision-nan-threshold": (lambda: ranvier.metrics.Precision(thresholds=nan), r"[Tt]hreshold"),
    }
    return [Row(rid, lambda c, make=make: make(), ValueError, match) for rid, (make, match) in cases.items()]


def _pandas_rows():
    """pandas columns that are not numbers are refused by name, like their NumPy twins."""
    if importlib.util.find_spec("pandas") is None:
        return []
    import pandas as pd

    def frame(kind):
        base = {f"f{i}": RNG.uniform(-1, 1, 24) for i in range(3)}
        col = {
            "datetime": pd.date_range("2020-01-01", periods=24),
            "datetime-tz": pd.date_range("2020-01-01", periods=24, tz="UTC"),
            "timedelta": pd.to_timedelta(np.arange(24), unit="s"),
            "string": pd.array([str(i) for i in range(24)], dtype="string"),
            "object": pd.Series([float(i) for i in range(24)], dtype=object),
            "category-str": pd.Categorical(["a", "b"] * 12),
            "period": pd.period_range("2020-01", periods=24, freq="M"),
        }[kind]
        base["bad"] = col
        return pd.DataFrame(base)

    rows = []
    for kind in ("datetime", "datetime-tz", "timedelta", "string", "object", "category-str", "period"):
        rows.append(Row(f"predict/pandas-{kind}", lambda c, kind=kind: c.model.predict(frame(kind), verbose=0),
                        TypeError, r"predict: x must hold real numbers .* these columns do not: 'bad'"))
        rows.append(Row(f"fit/pandas-{kind}", lambda c, kind=kind: _fit(c, x=frame(kind)), TypeError,
                        r"fit: x must hold real numbers .* columns do not: 'bad'"))
    rows.append(Row("fit/pandas-y-datetime", lambda c: _fit(c, y=pd.Series(pd.date_range("2020", periods=24),
                                                                                name="when")),
                    TypeError, r"fit: y .*'when' \(datetime64"))
    rows.append(Row("fit/pandas-sample_weight-timedelta", lambda c: _fit(
        c, sample_weight=pd.Series(pd.to_timedelta(np.arange(24), unit="s"), name="w")), TypeError,
        r"sample_weight .*'w' \(timedelta64"))
    rows.append(Row("__call__/pandas-Dense-datetime", lambda c: layers.Dense(2)(frame("datetime")), TypeError,
                    r"'bad' \(datetime64"))
    rows.append(Row("losses/pandas-mse-datetime", lambda c: losses.mean_squared_error(
        pd.Series(pd.date_range("2020", periods=3), name="t"), np.zeros(3)), TypeError, r"'t' \(datetime64"))
    nullable = pd.DataFrame({"a": pd.array([1, None] + [2] * 22, dtype="Int64"),
                             **{f"f{i}": RNG.uniform(-1, 1, 24) for i in range(3)}})
    rows.append(Row("predict/pandas-nullable-NA", lambda c: c.model.predict(nullable, verbose=0), ValueError,
                    r"x contains NaN or inf"))
    rows.append(Row("fit/pandas-nullable-NA-y", lambda c: c.regressor().fit(
        c.xr, pd.DataFrame({"a": pd.array([1.5, None] + [0.5] * 22, dtype="Float64"), "b": np.ones(24)}),
        verbose=0), ValueError, r"y contains NaN or inf"))
    ok = pd.DataFrame({"a": pd.array(np.arange(24), dtype="Int64"), "b": pd.Categorical(np.arange(24) % 3),
                       "c": pd.array(np.arange(24) % 2 == 0, dtype="boolean"), "d": np.ones(24)})
    ok_np = np.stack([np.arange(24), np.arange(24) % 3, np.arange(24) % 2 == 0, np.ones(24)], 1).astype(F32)
    rows.append(Row("predict/pandas-nullable-no-NA", lambda c: c.model.predict(ok, verbose=0),
                    Same(lambda c: c.model.predict(ok_np, verbose=0))))
    return rows


def _loss_shape_rows():
    """Keras's binary/categorical cross-entropies take y_true of y_pred's shape only."""
    yt31, yp33 = np.ones((3, 1), F32), np.full((3, 3), 0.5, F32)
    rows = []
    for name, make in (("BinaryCrossentropy", losses.BinaryCrossentropy),
                       ("CategoricalCrossentropy", losses.CategoricalCrossentropy),
                       ("BinaryFocalCrossentropy", losses.BinaryFocalCrossentropy)):
        for tag, yt, yp in (("3x1-vs-3x3", yt31, yp33), ("3x3-vs-3x1", yp33, yt31.copy()),
                            ("3x2-vs-3x3", np.ones((3, 2), F32), yp33)):
            rows.append(Row(f"losses/{name}-shape-{tag}", lambda c, make=make, yt=yt, yp=yp: make()(yt, yp),
                            ValueError, r"y_true and y_pred must have the same shape"))
    for fname in ("binary_crossentropy", "categorical_crossentropy"):
        rows.append(Row(f"losses/{fname}-shape-3x1-vs-3x3", lambda c, f=fname: getattr(losses, f)(yt31, yp33),
                        ValueError, r"must have the same shape.*y_true.shape=\(3, 1\), y_pred.shape=\(3, 3\)"))
    # the rank alignment Keras does is kept: (3,) against (3, 1) is (3, 1) against (3, 1)
    rows.append(Row("losses/BinaryCrossentropy-rank-aligned", lambda c: losses.BinaryCrossentropy()(
        np.ones(3, F32), np.full((3, 1), 0.25, F32)),
        Same(lambda c: losses.BinaryCrossentropy()(np.ones((3, 1), F32), np.full((3, 1), 0.25, F32)))))
    for mname in ("AUC", "Precision", "Recall"):
        rows.append(Row(f"metrics/{mname}-shape-3x1-vs-3x3",
                        lambda c, m=mname: getattr(ranvier.metrics, m)().update_state(yt31, yp33), ValueError,
                        r"y_true and y_pred must have the same shape"))
    return rows


def _rank1_layer_rows():
    """Activation and other elementwise layers take rank-1 (and rank-0) input as Keras's do."""
    x1 = _arr(7).astype(np.float64)
    makes = {"ReLU": layers.ReLU, "LeakyReLU": layers.LeakyReLU, "ELU": layers.ELU, "Softmax": layers.Softmax,
             "Activation-tanh": lambda: layers.Activation("tanh"), "Activation-gelu": lambda: layers.Activation("gelu"),
             "ReLU-capped": lambda: layers.ReLU(max_value=1.0, threshold=0.2)}
    rows = []
    for name, make in makes.items():
        # rank 1: the same numbers as the row (1, n) through a built layer, in the input's shape
        rows.append(Row(f"__call__/{name}-rank1", lambda c, make=make: make()(x1),
                        Same(lambda c, make=make: make()(x1.reshape(1, -1)).reshape(-1))))
        if name != "Softmax":
            rows.append(Row(f"__call__/{name}-rank0", lambda c, make=make: make()(np.float64(x1[2])),
                            Same(lambda c, make=make: make()(x1[2:3].reshape(1, 1)).reshape(()))))
    rows.append(Row("__call__/Dropout-rank1-inference", lambda c: layers.Dropout(0.5)(x1),
                    Same(lambda c: x1.astype(F32))))
    rows.append(Row("__call__/Dropout-rate1-training", lambda c: layers.Dropout(1.0)(_arr(5, 3), training=True),
                    Same(lambda c: np.zeros((5, 3), F32))))
    return rows


def _flatten_rows():
    """Flatten(data_format="channels_first") gives the same numbers everywhere."""
    x = _arr(6, 3, 2, 4)

    def model():
        ranvier.utils.set_random_seed(11)
        m = ranvier.Sequential([ranvier.Input(shape=(3, 2, 4)), layers.Flatten(data_format="channels_first"),
                                layers.Dense(5)])
        m.compile(optimizer="sgd", loss="mse")
        return m

    def by_hand(c):
        m = model()
        k, b = m.layers[1].get_weights()
        return (np.moveaxis(x, 1, -1).reshape(6, -1).astype(np.float64) @ k + b).astype(F32)

    def saved_and_loaded(c):
        m = model()
        p = c.tmp / "cf.safetensors"
        m.save(p)
        return ranvier.load_model(p).predict(x, verbose=0)

    def layer_then_dense(c):
        m = model()
        k, b = m.layers[1].get_weights()
        flat = layers.Flatten(data_format="channels_first")(x)
        return m.layers[1](flat)

    return [
        Row("__call__/Flatten-channels_first", lambda c: layers.Flatten(data_format="channels_first")(x),
            Same(lambda c: np.ascontiguousarray(np.moveaxis(x, 1, -1).reshape(6, -1)))),
        Row("predict/Flatten-channels_first-vs-layer", lambda c: model().predict(x, verbose=0),
            Same(layer_then_dense)),
        Row("predict/Flatten-channels_first-saved", saved_and_loaded,
            Same(lambda c: model().predict(x, verbose=0))),
        Row("__call__/Flatten-channels_first-other-shape", lambda c: _built_flatten_other_shape(x), ValueError,
            r"expected input with 24 features per sample of shape \(3, 2, 4\)"),
    ]


def _built_flatten_other_shape(x):
    f = layers.Flatten(data_format="channels_first")
    f(x)
    return f(x.reshape(6, 2, 3, 4))


# ---------------------------------------------------------------------------- core robustness rows
def _robust_core_rows():
    """Layers built for another width, one model per layer, structural changes from fit's own
    callbacks, nested fit, AUC buckets and thread counts (tests/test_structure_guards.py and
    tests/test_alloc_faults.py hold the property tests of these classes)."""
    import json as _json
    import struct as _struct

    kinds = {"Dense": lambda: layers.Dense(3), "BatchNormalization": lambda: layers.BatchNormalization(),
             "LayerNormalization": lambda: layers.LayerNormalization(), "Dropout": lambda: layers.Dropout(0.5),
             "ReLU": lambda: layers.ReLU(), "Softmax": lambda: layers.Softmax()}

    def built(kind, n=7):
        layer = kinds[kind]()
        layer.build((None, n))
        return layer

    def compiled(layer):
        m = ranvier.Sequential([layer])
        m.compile(optimizer="sgd", loss="mse")
        return m

    entries = {
        "Input": lambda k: ranvier.Sequential([ranvier.Input((4,)), built(k)]),
        "add": lambda k: ranvier.Sequential([ranvier.Input((4,))]).add(built(k)),
        "build": lambda k: compiled(built(k)).build((None, 4)),
        "predict": lambda k: compiled(built(k)).predict(_arr(5, 4), verbose=0),
        "fit": lambda k: compiled(built(k)).fit(_arr(5, 4), _arr(5, 3 if k == "Dense" else 4), verbose=0),
    }
    rows = [Row(f"Sequential/{kind}-built-for-7-given-4-at-{where}", lambda c, k=kind, f=fn: f(k), ValueError,
                r"built for 7 input features, but the model gives it 4")
            for kind in kinds for where, fn in entries.items()]

    # a layer of another model is shared with it, as in Keras (test_structure_guards)

    def fit_calling(c, change):
        class Change(ranvier.callbacks.Callback):
            def on_train_begin(self, logs=None):
                change(self.model)

        c.model.fit(c.x, c.y, epochs=1, verbose=0, callbacks=[Change()])

    changes = {"fit": lambda m: m.fit(_arr(4, 4), np.zeros(4), verbose=0),
               "train_on_batch": lambda m: m.train_on_batch(_arr(4, 4), np.zeros(4)),
               "compile": lambda m: m.compile(optimizer="sgd", loss="mse"),
               "add": lambda m: m.add(layers.Dense(2)), "pop": lambda m: m.pop(),
               "build": lambda m: m.build((None, 4)), "layer.build": lambda m: m.layers[0].build((None, 4))}
    rows += [Row(f"fit/{name}-from-its-own-callback", lambda c, ch=ch: fit_calling(c, ch), RuntimeError,
                 r"nested") for name, ch in changes.items()]

    for t in (2**24 + 1, 2**24 + 4, 2**30, 2**31 - 1):  # above 2**31 - 1: the "too large" rows
        rows.append(Row(f"metrics.AUC/num_thresholds-{t}", lambda c, t=t: ranvier.metrics.AUC(num_thresholds=t),
                        ValueError, r"num_thresholds=\d+ is above ranvier's limit"))
    limit = ranvier._runtime.max_num_threads()
    for n in (limit + 1, 10**9, 2**31 - 1, 2**31, 2**31 + 1, 2**63 - 1):
        rows.append(Row(f"set_num_threads/{n}", lambda c, n=n: ranvier.set_num_threads(n), ValueError,
                        rf"n={n} is far above .* the limit is {limit}"))

    def width_file(c, where):
        raw = c.saved().read_bytes()
        n = _struct.unpack("<Q", raw[:8])[0]
        header = _json.loads(raw[8:8 + n])
        arch = _json.loads(header["__metadata__"]["architecture"])
        if where == "input":
            arch["config"]["layers"][0]["config"]["batch_shape"] = [None, 9]
            arch["build_config"] = {"input_shape": [None, 9]}
            arch["config"]["build_input_shape"] = [None, 9]
        else:
            arch["config"]["layers"][1]["build_config"] = {"input_shape": [None, 9]}
        header["__metadata__"]["architecture"] = _json.dumps(arch)
        text = _json.dumps(header).encode()
        text += b" " * (-len(text) % 8)
        p = c.tmp / f"width-{where}.safetensors"
        p.write_bytes(_struct.pack("<Q", len(text)) + text + raw[8 + n:])
        return p

    rows += [
        Row("load_model/first-layer-built-for-4-input-says-9", lambda c: ranvier.load_model(width_file(c, "input")),
            ValueError, r"(?s)(?=.*\b4\b)(?=.*\b9\b)"),
        Row("load_model/first-layer-build_config-says-9", lambda c: ranvier.load_model(width_file(c, "build")),
            ValueError, r"built for 9 input features \(its build_config\), but the model's input gives it 4"),
        Row("load_model/cpp-first-layer-build_config-says-9",
            lambda c: _core.io_cpp_load_check(str(width_file(c, "build"))),
            ValueError, r"built for 9 input features \(its build_config\), but the model's input gives it 4"),
    ]
    return rows


# ============================================================================ the tests
ALL_ROWS = (_matmul_rows() + _activation_rows() + _loss_rows() + _layer_rows() + _optimizer_rows()
            + _callback_rows() + _metric_rows() + _model_rows() + _save_load_rows()
            + _int_limit_rows() + _float32_rows() + _hyper_rows() + _pandas_rows() + _loss_shape_rows()
            + _rank1_layer_rows() + _flatten_rows())
ALL_ROWS += _robust_core_rows()  # one block, last

_XFAIL = {
    # id -> reason (strict: they must fail until fixed)
}


def _param(row):
    marks = []
    if row.huge and not row.asan_ok and os.environ.get("RANVIER_UNDER_SANITIZER"):
        marks.append(pytest.mark.skip(reason="under ASan an operator new that cannot be satisfied aborts "
                                             "instead of throwing std::bad_alloc"))
    if row.id in _XFAIL:
        marks.append(pytest.mark.xfail(strict=True, reason=_XFAIL[row.id]))
    return pytest.param(row, id=row.id, marks=marks)


@pytest.mark.parametrize("row", [_param(r) for r in ALL_ROWS])
def test_catalogue(row, tmp_path):
    ctx = Ctx(tmp_path)
    before = None
    if row.id.split("/")[0] in ("compile", "fit", "evaluate", "predict", "train_on_batch", "test_on_batch",
                                "set_weights", "save", "__call__", "predict_on_batch"):
        before = [w.copy() for w in ctx.model.get_weights()]
    run_row(row, ctx)
    if before is not None and isinstance(row.expected, (type, tuple)):
        after = ctx.model.get_weights()
        assert all(np.array_equal(a, b) for a, b in zip(before, after)), "a refused call changed the weights"


@pytest.mark.parametrize("case", _c_predict_rows(), ids=lambda c: c[0])
def test_c_api_catalogue(case, tmp_path):
    name, call, status, match = case
    ctx = Ctx(tmp_path)
    got = call(ctx)
    msg = ""
    if name != "load/fifo":
        msg = _c_error().decode()
    assert got == status, (got, msg)
    if msg:
        assert re.search(match, msg), msg


def test_catalogue_covers_every_entry_point():
    """The table reaches every public family (guards against a family silently dropping out)."""
    families = {r.id.split("/")[0].split("(")[0].rstrip(")") for r in ALL_ROWS}
    prefixes = {f.split(".")[0] for f in families}
    for needed in ("matmul", "activations", "losses", "layers", "optimizers", "compile", "fit", "evaluate",
                   "predict", "predict_on_batch", "__call__", "train_on_batch", "test_on_batch", "save",
                   "load_model", "Sequential", "callbacks"):
        assert needed in prefixes, needed
    for name in ACTIVATION_FUNCTIONS:
        assert f"activations.{name}" in families
    for name in LOSS_FUNCTIONS + list(LOSS_CLASSES):
        assert f"losses.{name}" in families
    for name in OPTIMIZERS:
        assert f"optimizers.{name}" in families
    for name in ranvier.callbacks.__all__:
        if name not in ("Callback", "CallbackList"):
            assert f"callbacks.{name}" in families, name
    assert len(ALL_ROWS) == len({r.id for r in ALL_ROWS}), "row ids must be unique"


# ---------------------------------------------------------------------------- NaN / inf semantics
KERNEL_ACTIVATIONS = ["linear", "relu", "leaky_relu", "relu6", "elu", "selu", "celu", "gelu", "sigmoid",
                      "hard_sigmoid", "hard_silu", "tanh", "softplus", "softsign", "silu", "mish", "exponential",
                      "log_sigmoid"]


@pytest.mark.parametrize("name", KERNEL_ACTIVATIONS)
def test_activation_nan_propagates_and_inf_is_the_limit(name):
    """NaN in -> NaN out (a SIMD max/min must not turn it into 0); +-inf give the function's limits."""
    import reference.activations as ref
    x = np.array([np.nan, np.inf, -np.inf, 1.0, -1.0, 0.0, np.nan, 3.0, -3.0], F32)
    x = np.tile(x, 5)  # longer than one SIMD register, NaNs at every lane position
    got = getattr(activations, name)(x)
    assert np.all(np.isnan(got[np.isnan(x)])), got
    fin = ~np.isnan(x)
    want = getattr(ref, name)(x[fin].astype(np.float64))
    assert np.array_equal(np.isnan(got[fin]), np.isnan(want)), (got[fin], want)
    ok = ~np.isnan(want)
    np.testing.assert_allclose(got[fin][ok], want[ok], rtol=2e-6, atol=1e-7)  # float32 rounding of the reference


def test_softmax_row_with_nan_is_nan_and_other_rows_untouched():
    x = _arr(4, 9)
    x[1, 3] = np.nan
    for f in (activations.softmax, activations.log_softmax):
        got = f(x)
        assert np.all(np.isnan(got[1]))
        clean = f(np.delete(x, 1, axis=0))
        assert np.array_equal(np.delete(got, 1, axis=0), clean)


def test_matmul_nan_and_inf_propagate_to_exactly_their_rows_and_columns():
    a = _arr(37, 19)
    b = _arr(19, 23)
    a[5, 7] = np.nan
    b[3, 11] = np.inf
    got = ops.matmul(a, b)
    want = a.astype(np.float64) @ b.astype(np.float64)
    assert np.array_equal(np.isnan(got), np.isnan(want))
    assert np.array_equal(np.isinf(got), np.isinf(want))
    fin = np.isfinite(want)
    np.testing.assert_allclose(got[fin], want[fin], rtol=1e-5, atol=1e-5)  # K=19: float32 accumulation


def test_predict_row_independence_from_a_bad_row_in_the_c_api(tmp_path):
    """The C API does not check values: a NaN row gives a NaN output row and nothing else changes."""
    ctx = Ctx(tmp_path)
    x = _arr(10, 4)
    want = ctx.model.predict(x, batch_size=256, verbose=0)
    x[6, 2] = np.nan
    out = np.zeros((10, 3), F32)
    with c_model(ctx.saved()) as h:
        assert _c_predict(h, x.ctypes.data, 10, out.ctypes.data, out.size) == C_OK
    assert np.all(np.isnan(out[6]))
    assert np.array_equal(np.delete(out, 6, axis=0), np.delete(want, 6, axis=0))


def test_c_api_and_python_loader_give_the_same_message(tmp_path):
    """Both loaders run the same validator: the C message is the Python message's core."""
    ctx = Ctx(tmp_path)
    raw = ctx.saved().read_bytes()
    cases = {"truncated": raw[:-7], "garbage": b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\": [1, 2}    ",
             "short": b"abc", "bad-json": b"\x08\x00\x00\x00\x00\x00\x00\x00{{{{{{{{"}
    for name, content in cases.items():
        p = tmp_path / name
        p.write_bytes(content)
        with pytest.raises(ValueError) as info:
            ranvier.models.load_model(p)
        status, h = c_load(p)
        assert status == C_INVALID and not h.value, name
        cmsg = _c_error().decode()
        pmsg = str(info.value)
        core = cmsg.split("invalid model file: ", 1)[-1]
        assert core and core in pmsg, (name, cmsg, pmsg)


# ---------------------------------------------------------------------------- workspaces
@pytest.mark.skipif(bool(os.environ.get("RANVIER_UNDER_SANITIZER")),
                    reason="ASan aborts instead of raising when the address space runs out")
def test_dense_build_allocates_no_workspace_sized_by_its_inputs():
    """Dense sized its bias-gradient workspace max(units, inputs) doubles and zero-filled it at
    build: Dense(1) on 2**27 inputs touched 1 GiB for nothing. Now it is ``units`` doubles, and
    none without a bias or constraint. Under a cap of 1.5 GiB more address space, building
    (0.5 GiB of zero weights plus 0.5 GiB of gradients, untouched) must succeed (the old
    workspace made it 2 GiB); the layer then computes."""
    n_in = 2**27
    for use_bias in (False, True):
        with address_space_cap(extra=3 << 29):
            layer = layers.Dense(1, use_bias=use_bias, kernel_initializer="zeros")
            layer.build((None, n_in))
        out = layer(np.ones((1, n_in), F32))
        assert out.shape == (1, 1) and out[0, 0] == 0.0
        del layer, out
