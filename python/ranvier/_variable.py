"""``ranvier.Variable``: Keras 3's ``keras.Variable`` for code that drives an optimizer by
hand (``optimizer.apply_gradients(zip(grads, variables))``) or keeps state in NumPy. The
value is a NumPy array; ``assign`` / ``assign_add`` / ``assign_sub`` change it in place,
arithmetic and NumPy functions see the value."""
from __future__ import annotations

from typing import Any

import numpy as np

from ._naming import auto_name


def _binary(op: Any, reflected: bool = False) -> Any:
    """A binary operator of Variable on its value (``reflected``: ``other op value``)."""
    def method(self, other):
        other = other.value if isinstance(other, Variable) else other
        return op(other, self.value) if reflected else op(self.value, other)
    return method


class Variable:
    """``Variable(initializer, shape=None, dtype=None, trainable=True, autocast=True,
    aggregation="none", synchronization="auto", name=None)``, as Keras's.

    ``initializer`` is a value (array-like; Python floats become float32) or an
    initializer (a name such as ``"zeros"``, an ``Initializer`` or a callable) called with
    ``shape`` and ``dtype``. Attributes: ``value`` / ``numpy()``, ``shape``, ``dtype``,
    ``ndim``, ``name``, ``path``, ``trainable``. ``model.weights`` are not Variables
    (they are NumPy views of the C++ parameters).
    """

    __array_priority__ = 100

    def __init__(self, initializer, shape=None, dtype=None, trainable=True, autocast=True,
                 aggregation="none", synchronization="auto", name=None):
        if name is not None and (not isinstance(name, str) or "/" in name):
            raise ValueError(f"Argument `name` must be a string and cannot contain character `/`. "
                             f"Received: name={name!r}")
        self.name = name if name is not None else auto_name("variable")
        self.path = self.name
        self.trainable = bool(trainable)
        self.autocast = bool(autocast)
        self.aggregation = aggregation
        self.synchronization = synchronization
        if isinstance(initializer, str) or (callable(initializer) and not isinstance(initializer, np.ndarray)):
            if shape is None:
                raise ValueError(f"When creating a Variable from an initializer, the `shape` argument should "
                                 f"be specified. Received: initializer={initializer!r} and shape={shape}")
            from . import initializers
            value = np.asarray(initializers.get(initializer)(tuple(shape), dtype=dtype or "float32"))
        else:  # arrays keep their dtype; Python floats become float32, ints int32 (Keras)
            from ._ops_numpy import convert_to_numpy, convert_to_tensor
            value = convert_to_numpy(convert_to_tensor(np.asarray(initializer) if isinstance(initializer, Variable)
                                                       else initializer))
            if shape is not None and tuple(shape) != value.shape:
                raise ValueError(f"Initial value has shape {value.shape}, but the variable has shape={tuple(shape)}")
        if dtype is not None:
            value = value.astype(np.dtype(dtype))
        self._value = np.array(value, copy=True)

    # ---- value
    @property
    def value(self) -> np.ndarray:
        """The current value (a NumPy array)."""
        return self._value

    def numpy(self) -> np.ndarray:
        """A copy of the value."""
        return np.array(self.value, copy=True)

    @property
    def shape(self) -> tuple:
        """The value's shape."""
        return tuple(self.value.shape)

    @property
    def dtype(self) -> str:
        """The value's dtype name ("float32", ...)."""
        return str(self.value.dtype)

    @property
    def ndim(self) -> int:
        """The value's rank."""
        return self.value.ndim

    def assign(self, value) -> "Variable":
        """Sets the value (same shape; cast to the variable's dtype)."""
        v = np.asarray(value)
        if v.shape != self.value.shape:
            raise ValueError(f"The shape of the target variable and the shape of the target value in "
                             f"`variable.assign(value)` must match. variable.shape={self.shape}, "
                             f"Received: value.shape={v.shape}. Target variable: {self}")
        self.value[...] = v.astype(self.value.dtype, copy=False)
        return self

    def assign_add(self, value) -> "Variable":
        """Adds ``value`` to the variable."""
        return self.assign(self.value + np.asarray(value))

    def assign_sub(self, value) -> "Variable":
        """Subtracts ``value`` from the variable."""
        return self.assign(self.value - np.asarray(value))

    # ---- NumPy / Python protocols
    def __array__(self, dtype=None, copy=None):
        return self.value if dtype is None else self.value.astype(dtype)

    def __len__(self) -> int:
        return len(self.value)

    def __getitem__(self, idx) -> Any:
        return self.value[idx]

    def __float__(self) -> float:
        return float(self.value)

    def __int__(self) -> int:
        return int(self.value)

    def __bool__(self) -> bool:
        return bool(self.value)

    def __repr__(self) -> str:
        return f"<Variable path={self.path}, shape={self.shape}, dtype={self.dtype}, value={self.value}>"

    __add__ = _binary(np.add)
    __radd__ = _binary(np.add, True)
    __sub__ = _binary(np.subtract)
    __rsub__ = _binary(np.subtract, True)
    __mul__ = _binary(np.multiply)
    __rmul__ = _binary(np.multiply, True)
    __truediv__ = _binary(np.true_divide)
    __rtruediv__ = _binary(np.true_divide, True)
    __pow__ = _binary(np.power)
    __rpow__ = _binary(np.power, True)
    __matmul__ = _binary(np.matmul)
    __rmatmul__ = _binary(np.matmul, True)
    __lt__ = _binary(np.less)
    __le__ = _binary(np.less_equal)
    __gt__ = _binary(np.greater)
    __ge__ = _binary(np.greater_equal)

    def __neg__(self) -> np.ndarray:
        return -self.value

    def __abs__(self) -> np.ndarray:
        return np.abs(self.value)
