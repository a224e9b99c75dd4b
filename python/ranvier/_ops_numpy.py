"""NumPy versions of the ``keras.ops`` functions that Python metrics, losses and callbacks
written for Keras use (``keras.ops.sum``, ``mean``, ``cast``, ``where``, ...), re-exported by
``ranvier.ops``. They compute eagerly with NumPy and return arrays that have the ``numpy()``
method of Keras's eager tensors. Python numbers and lists convert as Keras converts them
(floats to float32, ints to int32); NumPy arrays keep their dtype. Reductions and
element-wise functions follow Keras's signatures and dtype rules for the common cases:
``mean``/``var``/``std`` and the float functions (``sqrt``, ``exp``, ``log``, ...) of integer
or bool input give float32."""
from __future__ import annotations

from typing import Any

import numpy as np

from . import _tensor

__all__ = [
    "convert_to_tensor", "convert_to_numpy", "cast", "shape", "size", "reshape", "squeeze", "expand_dims",
    "transpose", "concatenate", "stack", "zeros", "ones", "zeros_like", "ones_like", "full", "arange",
    "sum", "mean", "max", "min", "prod", "var", "std", "any", "all", "argmax", "argmin", "count_nonzero",
    "cumsum", "abs", "absolute", "square", "sqrt", "exp", "log", "log1p", "sign", "round", "floor", "ceil",
    "negative", "power", "clip", "maximum", "minimum", "add", "subtract", "multiply", "divide",
    "divide_no_nan", "true_divide", "equal", "not_equal", "greater", "greater_equal", "less", "less_equal",
    "logical_and", "logical_or", "logical_not", "where", "isnan", "isfinite", "nan_to_num", "dot", "sort",
    "take", "one_hot", "sigmoid", "relu", "tanh", "softmax", "log_softmax",
]


def _in(x) -> np.ndarray:
    """An input as an array: arrays keep their dtype; Python floats become float32 and
    Python ints int32 (Keras's conversion)."""
    if isinstance(x, np.ndarray):
        return np.asarray(x)  # drops an EagerArray view to the base class
    arr = np.asarray(x)
    if isinstance(x, (np.generic,)):
        return arr
    if arr.dtype == np.float64:
        return arr.astype(np.float32)
    if arr.dtype == np.int64:
        return arr.astype(np.int32)
    return arr


def _is_python_number(v) -> bool:
    return isinstance(v, (bool, int, float)) and not isinstance(v, np.generic)


def _pair(x1, x2):
    """Two operands with Keras's dtype rules: a Python number is weak (it takes the other
    operand's dtype: ``float32 array + 1`` is float32; a float with an integer array gives
    float32), and an integer array with a float array gives the float array's dtype."""
    p1, p2 = _is_python_number(x1), _is_python_number(x2)
    if p1 == p2:
        a, b = _in(x1), _in(x2)
        # two arrays, or two numbers (float32 and int32 after conversion)
        if a.dtype.kind == "f" and b.dtype.kind in "iub":
            b = b.astype(a.dtype)
        elif b.dtype.kind == "f" and a.dtype.kind in "iub":
            a = a.astype(b.dtype)
        return a, b
    arr, num = (_in(x2), x1) if p1 else (_in(x1), x2)
    if isinstance(num, float) and arr.dtype.kind in "iub":
        arr = arr.astype(np.float32)
    elif not isinstance(num, bool) and arr.dtype.kind == "b":
        arr = arr.astype(np.int32)
    weak = np.asarray(num, dtype=arr.dtype)
    return (weak, arr) if p1 else (arr, weak)


def _out(value) -> Any:
    return _tensor.eager(np.asarray(value))


def _floating(x: np.ndarray) -> np.ndarray:
    return x if x.dtype.kind in "fc" else x.astype(np.float32)


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    """``x`` as an array (with ``numpy()``), cast to ``dtype`` when given."""
    a = _in(x)
    return _out(a if dtype is None else a.astype(dtype))


def convert_to_numpy(x) -> np.ndarray:
    """``x`` as a plain NumPy array."""
    return np.array(x, subok=False)


def cast(x, dtype):
    """``x`` converted to ``dtype`` (a name such as ``"float32"`` or a NumPy dtype)."""
    return _out(_in(x).astype(dtype))


def shape(x):
    """The shape as a tuple of ints."""
    return tuple(_in(x).shape)


def size(x):
    """The number of elements."""
    return _out(_in(x).size)


def reshape(x, newshape):
    """``x`` with the shape ``newshape`` (one -1 allowed)."""
    return _out(np.reshape(_in(x), newshape))


def squeeze(x, axis=None):
    """``x`` without its size-1 axes (or only ``axis``)."""
    return _out(np.squeeze(_in(x), axis=axis))


def expand_dims(x, axis):
    """``x`` with a size-1 axis inserted at ``axis``."""
    return _out(np.expand_dims(_in(x), axis))


def transpose(x, axes=None):
    """``x`` with its axes permuted (reversed by default)."""
    return _out(np.transpose(_in(x), axes))


def concatenate(xs, axis=0):
    """The arrays of ``xs`` joined along ``axis``."""
    return _out(np.concatenate([_in(x) for x in xs], axis=axis))


def stack(x, axis=0):
    """The arrays of ``x`` stacked along a new ``axis``."""
    return _out(np.stack([_in(a) for a in x], axis=axis))


def zeros(shape, dtype=None):
    """An array of zeros (float32 by default)."""
    return _out(np.zeros(shape, dtype=dtype or "float32"))


def ones(shape, dtype=None):
    """An array of ones (float32 by default)."""
    return _out(np.ones(shape, dtype=dtype or "float32"))


def zeros_like(x, dtype=None):
    """Zeros of ``x``'s shape (and dtype unless given)."""
    return _out(np.zeros_like(_in(x), dtype=dtype))


def ones_like(x, dtype=None):
    """Ones of ``x``'s shape (and dtype unless given)."""
    return _out(np.ones_like(_in(x), dtype=dtype))


def full(shape, fill_value, dtype=None):
    """An array of ``shape`` filled with ``fill_value``."""
    return _out(np.full(shape, fill_value, dtype=dtype or _in(fill_value).dtype))


def arange(start, stop=None, step=1, dtype=None):
    """Evenly spaced values in [start, stop) (int32 for int arguments, else float32)."""
    a = np.arange(start, stop, step) if stop is not None else np.arange(start, step=step)
    if dtype is None:
        dtype = "int32" if a.dtype.kind in "iu" else "float32"
    return _out(a.astype(dtype))


def sum(x, axis=None, keepdims=False):
    """The sum over ``axis`` (all axes by default)."""
    return _out(np.sum(_in(x), axis=axis, keepdims=keepdims))


def mean(x, axis=None, keepdims=False):
    """The mean over ``axis``; integer and bool input give float32."""
    return _out(np.mean(_floating(_in(x)), axis=axis, keepdims=keepdims))


def max(x, axis=None, keepdims=False, initial=None):
    """The maximum over ``axis``."""
    kw = {} if initial is None else {"initial": initial}
    return _out(np.max(_in(x), axis=axis, keepdims=keepdims, **kw))


def min(x, axis=None, keepdims=False, initial=None):
    """The minimum over ``axis``."""
    kw = {} if initial is None else {"initial": initial}
    return _out(np.min(_in(x), axis=axis, keepdims=keepdims, **kw))


def prod(x, axis=None, keepdims=False, dtype=None):
    """The product over ``axis``."""
    return _out(np.prod(_in(x), axis=axis, keepdims=keepdims, dtype=dtype))


def var(x, axis=None, keepdims=False):
    """The population variance over ``axis`` (float32 for integer input)."""
    return _out(np.var(_floating(_in(x)), axis=axis, keepdims=keepdims))


def std(x, axis=None, keepdims=False):
    """The population standard deviation over ``axis`` (float32 for integer input)."""
    return _out(np.std(_floating(_in(x)), axis=axis, keepdims=keepdims))


def any(x, axis=None, keepdims=False):
    """Whether any element over ``axis`` is true."""
    return _out(np.any(_in(x), axis=axis, keepdims=keepdims))


def all(x, axis=None, keepdims=False):
    """Whether every element over ``axis`` is true."""
    return _out(np.all(_in(x), axis=axis, keepdims=keepdims))


def argmax(x, axis=None, keepdims=False):
    """The index of the maximum over ``axis`` (of the flattened array by default), int32."""
    return _out(np.argmax(_in(x), axis=axis, keepdims=keepdims).astype(np.int32))


def argmin(x, axis=None, keepdims=False):
    """The index of the minimum over ``axis`` (of the flattened array by default), int32."""
    return _out(np.argmin(_in(x), axis=axis, keepdims=keepdims).astype(np.int32))


def count_nonzero(x, axis=None):
    """The number of non-zero elements over ``axis``, int32."""
    return _out(np.asarray(np.count_nonzero(_in(x), axis=axis)).astype(np.int32))


def cumsum(x, axis=None, dtype=None):
    """The cumulative sum along ``axis`` (of the flattened array by default)."""
    return _out(np.cumsum(_in(x), axis=axis, dtype=dtype))


def abs(x):
    """The absolute value, element-wise."""
    return _out(np.abs(_in(x)))


absolute = abs


def square(x):
    """``x * x``, element-wise."""
    return _out(np.square(_in(x)))


def sqrt(x):
    """The square root, element-wise (float32 for integer input)."""
    return _out(np.sqrt(_floating(_in(x))))


def exp(x):
    """``e ** x``, element-wise (float32 for integer input)."""
    return _out(np.exp(_floating(_in(x))))


def log(x):
    """The natural logarithm, element-wise (float32 for integer input)."""
    return _out(np.log(_floating(_in(x))))


def log1p(x):
    """``log(1 + x)``, element-wise (float32 for integer input)."""
    return _out(np.log1p(_floating(_in(x))))


def sign(x):
    """-1, 0 or 1 by the sign of each element."""
    return _out(np.sign(_in(x)))


def round(x, decimals=0):
    """Rounds half to even, to ``decimals`` places."""
    return _out(np.round(_in(x), decimals))


def floor(x):
    """The floor, element-wise (float32 for integer input)."""
    return _out(np.floor(_floating(_in(x))))


def ceil(x):
    """The ceiling, element-wise (float32 for integer input)."""
    return _out(np.ceil(_floating(_in(x))))


def negative(x):
    """``-x``, element-wise."""
    return _out(np.negative(_in(x)))


def power(x1, x2):
    """``x1 ** x2``, element-wise."""
    return _out(np.power(*_pair(x1, x2)))


def clip(x, x_min, x_max):
    """``x`` limited to [x_min, x_max], element-wise."""
    return _out(np.clip(_in(x), x_min, x_max))


def maximum(x1, x2):
    """The larger of ``x1`` and ``x2``, element-wise."""
    return _out(np.maximum(*_pair(x1, x2)))


def minimum(x1, x2):
    """The smaller of ``x1`` and ``x2``, element-wise."""
    return _out(np.minimum(*_pair(x1, x2)))


def add(x1, x2):
    """``x1 + x2``, element-wise."""
    return _out(np.add(*_pair(x1, x2)))


def subtract(x1, x2):
    """``x1 - x2``, element-wise."""
    return _out(np.subtract(*_pair(x1, x2)))


def multiply(x1, x2):
    """``x1 * x2``, element-wise."""
    return _out(np.multiply(*_pair(x1, x2)))


def divide(x1, x2):
    """``x1 / x2``, element-wise (float32 for integer input)."""
    return _out(np.divide(_floating(_in(x1)), _floating(_in(x2))))


true_divide = divide


def divide_no_nan(x1, x2):
    """``x1 / x2``, element-wise, with 0 where ``x2`` is 0."""
    a, b = _floating(_in(x1)), _floating(_in(x2))
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.divide(a, b)
    return _out(np.where(b == 0, np.zeros((), q.dtype), q))


def equal(x1, x2):
    """``x1 == x2``, element-wise (bool)."""
    return _out(np.equal(*_pair(x1, x2)))


def not_equal(x1, x2):
    """``x1 != x2``, element-wise (bool)."""
    return _out(np.not_equal(*_pair(x1, x2)))


def greater(x1, x2):
    """``x1 > x2``, element-wise (bool)."""
    return _out(np.greater(*_pair(x1, x2)))


def greater_equal(x1, x2):
    """``x1 >= x2``, element-wise (bool)."""
    return _out(np.greater_equal(*_pair(x1, x2)))


def less(x1, x2):
    """``x1 < x2``, element-wise (bool)."""
    return _out(np.less(*_pair(x1, x2)))


def less_equal(x1, x2):
    """``x1 <= x2``, element-wise (bool)."""
    return _out(np.less_equal(*_pair(x1, x2)))


def logical_and(x1, x2):
    """``x1 and x2``, element-wise (bool)."""
    return _out(np.logical_and(_in(x1), _in(x2)))


def logical_or(x1, x2):
    """``x1 or x2``, element-wise (bool)."""
    return _out(np.logical_or(_in(x1), _in(x2)))


def logical_not(x):
    """``not x``, element-wise (bool)."""
    return _out(np.logical_not(_in(x)))


def where(condition, x1=None, x2=None):
    """``x1`` where ``condition`` holds, else ``x2``; with only ``condition``, the indices
    of its true elements (one array per axis)."""
    if x1 is None and x2 is None:
        return tuple(_out(i.astype(np.int32)) for i in np.nonzero(_in(condition)))
    if x1 is None or x2 is None:
        raise ValueError("where: x1 and x2 must be given together (or neither)")
    return _out(np.where(_in(condition), *_pair(x1, x2)))


def isnan(x):
    """Whether each element is NaN (bool)."""
    return _out(np.isnan(_in(x)))


def isfinite(x):
    """Whether each element is finite (bool)."""
    return _out(np.isfinite(_in(x)))


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """``x`` with NaN and infinities replaced."""
    return _out(np.nan_to_num(_in(x), nan=nan, posinf=posinf, neginf=neginf))


def dot(x1, x2):
    """The dot product (``np.dot`` semantics: matrix product for 2-D)."""
    return _out(np.dot(_in(x1), _in(x2)))


def sort(x, axis=-1):
    """``x`` sorted along ``axis``."""
    return _out(np.sort(_in(x), axis=axis))


def take(x, indices, axis=None):
    """The elements of ``x`` at ``indices`` along ``axis`` (of the flattened array by default)."""
    return _out(np.take(_in(x), _in(indices), axis=axis))


def one_hot(x, num_classes, axis=-1, dtype=None):
    """One-hot rows of length ``num_classes`` for the integer ids ``x`` (ids outside
    [0, num_classes) give a zero row), float32 by default."""
    ids = _in(x).astype(np.int64)
    out = (ids[..., None] == np.arange(int(num_classes))).astype(dtype or "float32")
    if axis != -1:
        out = np.moveaxis(out, -1, axis)
    return _out(out)


def sigmoid(x):
    """``1 / (1 + exp(-x))``, element-wise."""
    a = _floating(_in(x))
    return _out(0.5 * (np.tanh(0.5 * a) + 1))


def relu(x):
    """``max(x, 0)``, element-wise."""
    return _out(np.maximum(_in(x), 0))


def tanh(x):
    """The hyperbolic tangent, element-wise."""
    return _out(np.tanh(_floating(_in(x))))


def softmax(x, axis=-1):
    """``exp(x) / sum(exp(x))`` along ``axis`` (shifted by the maximum)."""
    a = _floating(_in(x))
    e = np.exp(a - np.max(a, axis=axis, keepdims=True))
    return _out(e / np.sum(e, axis=axis, keepdims=True))


def log_softmax(x, axis=-1):
    """``log(softmax(x))`` along ``axis``, computed stably."""
    a = _floating(_in(x))
    s = a - np.max(a, axis=axis, keepdims=True)
    return _out(s - np.log(np.sum(np.exp(s), axis=axis, keepdims=True)))

