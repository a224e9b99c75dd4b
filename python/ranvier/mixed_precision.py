"""Mixed precision, as ``keras.mixed_precision``: dtype policies for layers, and
``LossScaleOptimizer``.

ranvier computes three policies:

- ``"float32"`` (the default): everything in float32.
- ``"mixed_bfloat16"``: the matrix inputs of every ``Dense`` GEMM, forward and backward
  (``x @ W``, ``dY @ W^T``, ``X^T @ dY``), are rounded to bfloat16 (round to nearest even),
  and the products are summed in float32. Master weights, optimizer slots, losses,
  normalization statistics, activations (softmax included) stay float32, and ``predict``
  returns float32 arrays. On CPUs with AVX512_BF16 (ranvier's ``avx512bf16`` kernel tier)
  the GEMMs run on ``vdpbf16ps`` at about twice the float32 rate; on every other CPU the
  same rounding is emulated with the float32 kernels (same results within float32
  summation error, no speed-up). No loss scaling is needed (bfloat16 has float32's range).
- ``"mixed_float16"``: Keras's GPU policy, for programs written for it. The matrix inputs
  of every ``Dense`` GEMM, forward and backward, are rounded to IEEE half precision (round
  to nearest even; past 65504 is inf; half subnormals kept) and summed in float32, and
  each ``Dense`` output is rounded to half as Keras's float16 outputs are (a value past
  65504 is ``inf``, one below 2**-25 is 0), and so are its gradients (``dz``, ``dW``,
  ``db``, ``dx``), as Keras's float16 ones; weights, optimizer slots, losses,
  normalization statistics and activations stay float32. ``predict`` returns float16
  arrays (float32 when the last layer has ``dtype="float32"``), as Keras does. CPUs have
  no float16 arithmetic that would help: this is an emulation (F16C conversions around
  the float32 kernels) with float16's range and underflow, and **no speed-up** (about
  float32's speed); use ``"mixed_bfloat16"`` for speed. ``compile`` wraps the
  optimizer in a :class:`LossScaleOptimizer` when the model was made under this policy
  (``auto_scale_loss=True``, the default), as Keras does: small gradients that would
  underflow in half precision are kept by scaling the loss.

Usage::

    import ranvier as keras
    keras.mixed_precision.set_global_policy("mixed_bfloat16")   # layers made after this
    dense = keras.layers.Dense(64, dtype="float32")             # a per-layer override

Layers capture the global policy when they are constructed (as in Keras); the policy is
part of each layer's config, so it survives ``save``/``load_model`` and the C/C++ loaders
compute the same thing. Keras's plain dtype policies (``"float16"``, ``"bfloat16"``,
``"float64"``: weights in that dtype) can be named in a ``DTypePolicy`` but are refused by
layers and ``set_global_policy`` with an error that says what is supported: ranvier's
weights are float32.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Tuple, Union

__all__ = ["DTypePolicy", "Policy", "FloatDTypePolicy", "set_global_policy", "global_policy",
           "SUPPORTED_POLICIES", "LossScaleOptimizer"]

#: The policies ranvier's layers compute.
SUPPORTED_POLICIES = ("float32", "mixed_bfloat16", "mixed_float16")

_FLOAT_ALIASES = {"float16": "float16", "half": "float16", "bfloat16": "bfloat16", "float32": "float32",
                  "float": "float32", "single": "float32", "float64": "float64", "double": "float64"}


def _parse(name: str) -> Tuple[str, str]:
    """(compute dtype, variable dtype) of a Keras policy name."""
    if name == "mixed_float16":
        return "float16", "float32"
    if name == "mixed_bfloat16":
        return "bfloat16", "float32"
    dtype = _FLOAT_ALIASES.get(name)
    if dtype is None:
        raise ValueError(f"Cannot convert '{name}' to a mixed precision DTypePolicy. Valid policies include "
                         "'mixed_float16', 'mixed_bfloat16', and the name of any float dtype such as 'float32'.")
    return dtype, dtype


class DTypePolicy:
    """A dtype policy (Keras's ``DTypePolicy``): the dtype layers compute in
    (``compute_dtype``) and the dtype of their variables (``variable_dtype``).

    ``DTypePolicy(None)`` takes the global policy's name. Names follow Keras:
    ``"mixed_bfloat16"`` (bfloat16 compute, float32 variables), ``"mixed_float16"``, or
    a float dtype name used for both. ranvier's layers accept ``"float32"``,
    ``"mixed_bfloat16"`` and ``"mixed_float16"`` (see the module docstring).
    """

    def __init__(self, name: Optional[str] = None):
        if isinstance(name, DTypePolicy):
            name = name.name
        if name is None:
            name = global_policy().name
        if not isinstance(name, str):
            raise TypeError(f"'name' must be a string, such as 'mixed_bfloat16'. Received: name={name!r} "
                            f"(of type {type(name).__name__})")
        self._compute_dtype, self._variable_dtype = _parse(name)
        self._name = name

    @property
    def name(self) -> str:
        """The policy's name, e.g. ``"mixed_bfloat16"``."""
        return self._name

    @property
    def compute_dtype(self) -> str:
        """The dtype of the layers' computations: ``"bfloat16"`` under mixed_bfloat16,
        ``"float16"`` under mixed_float16 (for ranvier: the inputs of its GEMMs, and the
        Dense outputs under mixed_float16), else the variable dtype."""
        return self._compute_dtype

    @property
    def variable_dtype(self) -> str:
        """The dtype of the layers' weights (``"float32"`` for every supported policy)."""
        return self._variable_dtype

    @property
    def quantization_mode(self) -> None:
        """Always None (ranvier has no quantized policies)."""
        return None

    def get_config(self) -> Dict[str, Any]:
        """``{"name": name}``, as Keras."""
        return {"name": self._name}

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "DTypePolicy":
        """The policy of ``get_config()``'s dict."""
        return cls(**config)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DTypePolicy) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self._name)

    def __repr__(self) -> str:
        return f'<DTypePolicy "{self._name}">'


Policy = DTypePolicy
FloatDTypePolicy = DTypePolicy

_global: Optional[DTypePolicy] = None


_HINTS = {
    "float16": "float16 weights are not supported; use 'mixed_float16' (float16 compute, float32 weights) or "
               "'mixed_bfloat16' (faster on CPUs with AVX512_BF16)",
    "bfloat16": "bfloat16 weights are not supported; use 'mixed_bfloat16' (bfloat16 compute, float32 weights)",
    "float64": "float64 is not supported; ranvier computes in float32",
}


def _unsupported_message(name: str, what: str) -> str:
    hint = _HINTS.get(_FLOAT_ALIASES.get(name, ""))
    return (f"ranvier layers compute in float32, mixed_bfloat16 or mixed_float16; got {what}={name!r}"
            + (f" ({hint})" if hint else "") + f". Supported policies: {', '.join(SUPPORTED_POLICIES)}")


def _supported(policy: DTypePolicy, what: str) -> DTypePolicy:
    if policy.name in SUPPORTED_POLICIES:
        return policy
    if policy.compute_dtype == "float32" and policy.variable_dtype == "float32":  # "float", "single"
        return DTypePolicy("float32")
    raise ValueError(_unsupported_message(policy.name, what))


def resolve(dtype: Any, what: str = "dtype") -> DTypePolicy:
    """The supported policy a layer's ``dtype=`` argument names: None (the global
    policy), a name, a ``DTypePolicy``, or a serialized DTypePolicy dict (a layer config).
    ValueError for anything ranvier does not compute."""
    if dtype is None:
        return global_policy()
    if isinstance(dtype, dict):
        name = (dtype.get("config") or {}).get("name", dtype.get("name"))
        if name is None:
            return global_policy()
        dtype = name
    if not isinstance(dtype, (str, DTypePolicy)):
        try:  # a NumPy dtype or type (np.float32)
            import numpy as np
            dtype = np.dtype(dtype).name
        except TypeError:
            raise ValueError(f"{what} must be a policy name, a DTypePolicy or a dtype, got {what}={dtype!r}") from None
    if isinstance(dtype, str) and dtype not in ("mixed_float16", "mixed_bfloat16") and dtype not in _FLOAT_ALIASES:
        raise ValueError(_unsupported_message(dtype, what))
    policy = dtype if isinstance(dtype, DTypePolicy) else DTypePolicy(dtype)
    return _supported(policy, what)


def set_global_policy(policy: Union[str, DTypePolicy, None]) -> None:
    """Sets the policy of layers constructed from now on (Keras's
    ``keras.mixed_precision.set_global_policy``): ``"mixed_bfloat16"``,
    ``"mixed_float16"``, ``"float32"``, a ``DTypePolicy``, or None (back to
    ``"float32"``). ValueError for a policy ranvier does not compute."""
    global _global
    if policy is None:
        _global = None
        return
    if not isinstance(policy, (str, DTypePolicy)):
        raise ValueError("Invalid `policy` argument. Expected the string name of a policy (such as "
                         f"'mixed_bfloat16') or a `DTypePolicy` instance. Received: policy={policy!r} "
                         f"(of type {type(policy)})")
    p = policy if isinstance(policy, DTypePolicy) else DTypePolicy(policy)
    _global = _supported(p, "policy")


def global_policy() -> DTypePolicy:
    """The global policy (``"float32"`` unless ``set_global_policy`` changed it)."""
    return _global if _global is not None else DTypePolicy("float32")


set_dtype_policy = set_global_policy
dtype_policy = global_policy


def __getattr__(name: str) -> Any:
    # keras.mixed_precision.LossScaleOptimizer (defined with the optimizers; imported on use,
    # as the optimizers import nothing from here)
    if name == "LossScaleOptimizer":
        from .optimizers import LossScaleOptimizer
        return LossScaleOptimizer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def to_float16(x: Any) -> Any:
    """``x`` (a float32 array) as float16, as Keras's float16 outputs: past 65504 is inf,
    silently (NumPy would warn about the overflow)."""
    import numpy as np
    with np.errstate(over="ignore"):
        return x.astype(np.float16)


def output_is_float16(layer: Any) -> bool:
    """Whether ``layer``'s output is float16 (Keras's mixed_float16 compute dtype). A model
    used as a layer answers for its own output layer."""
    for _ in range(64):  # nested models, bounded
        try:
            inner = getattr(layer, "outputs", None) if hasattr(layer, "layers") else None
        except (ValueError, RuntimeError):  # a model not built yet
            inner = None
        if inner:
            hist = getattr(inner[0], "_keras_history", None)
            if hist is None:
                break
            layer = hist[0]
            continue
        if hasattr(layer, "layers") and getattr(layer, "layers", None):
            layer = layer.layers[-1]
            continue
        break
    return getattr(layer, "compute_dtype", "float32") == "float16"
