"""Keras's ``keras.config``: the global settings a Keras script reads or sets.

ranvier computes in float32 (and bfloat16 under the ``mixed_bfloat16`` policy) with Keras's
fuzz factor 1e-7, so ``floatx()`` is ``"float32"`` and ``epsilon()`` is ``1e-7``; setting
them to those values is accepted, any other value raises ValueError naming what is
supported. The dtype policy functions are the ones of ``ranvier.mixed_precision``.
"""
from __future__ import annotations

from . import mixed_precision as _mp

__all__ = ["floatx", "set_floatx", "epsilon", "set_epsilon", "image_data_format",
           "set_image_data_format", "dtype_policy", "set_dtype_policy", "backend",
           "enable_unsafe_deserialization"]

_EPSILON = 1e-7


def floatx() -> str:
    """The default float type: ``"float32"`` (Keras's default)."""
    return "float32"


def set_floatx(value) -> None:
    """Accepts ``"float32"`` (the only float type ranvier's weights have); ValueError for
    Keras's other values (for bfloat16 compute use ``set_dtype_policy("mixed_bfloat16")``)."""
    accepted = {"bfloat16", "float16", "float32", "float64"}
    if value not in accepted:
        raise ValueError(f"Unknown `floatx` value: {value}. Expected one of {sorted(accepted)}")
    if value != "float32":
        raise ValueError(f"set_floatx: ranvier computes in float32 (weights float32; bfloat16 compute "
                         f"through set_dtype_policy('mixed_bfloat16')); got value={value!r}")


def epsilon() -> float:
    """Keras's fuzz factor, 1e-7 (the one ranvier's losses and metrics use)."""
    return _EPSILON


def set_epsilon(value) -> None:
    """Accepts 1e-7 (the fuzz factor built into ranvier's C++ losses and metrics);
    ValueError for any other value."""
    if float(value) != _EPSILON:
        raise ValueError(f"set_epsilon: ranvier's losses and metrics use Keras's default fuzz factor "
                         f"1e-7, which cannot be changed; got value={value!r}")


def image_data_format() -> str:
    """``"channels_last"`` (Keras's default; ranvier's layers take features last)."""
    return "channels_last"


def set_image_data_format(data_format) -> None:
    """Accepts ``"channels_last"``; ValueError for ``"channels_first"`` or anything else."""
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError("The `data_format` argument must be one of {'channels_first', 'channels_last'}. "
                         f"Received: data_format={data_format}")
    if data_format != "channels_last":
        raise ValueError("set_image_data_format: ranvier's layers take features last ('channels_last'); "
                         f"got data_format={data_format!r}")


def backend() -> str:
    """The compute backend's name: ``"ranvier"`` (its C++ core)."""
    return "ranvier"


def enable_unsafe_deserialization() -> None:
    """Accepted for compatibility: ranvier's loaders never run code from a file (no
    ``Lambda`` layers), so there is nothing to unlock."""


dtype_policy = _mp.global_policy
set_dtype_policy = _mp.set_global_policy
