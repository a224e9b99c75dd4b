"""``Hashing``: Keras's hashing preprocessing layer, bin for bin. Values become bytes as
TensorFlow's ``tf.as_string`` writes them (strings as UTF-8; integers in decimal; floats are
first truncated to int64; bools as "true"/"false"), then go to bin
``FarmHash Fingerprint64(bytes) % num_bins`` (``tf.strings.to_hash_bucket_fast``), or with
a ``salt`` ``SipHash-2-4(salt, bytes) % num_bins`` (``to_hash_bucket_strong``). The hashes
are the C++ core's (cpp/src/layers/lookup_hash.cpp, which the lookup layers' OOV buckets
use too). The layer runs on raw data before the network: ``bins = Hashing(16)(column)``."""
from __future__ import annotations

from typing import Any, Dict, Optional

import numpy as np

from .. import _core
from ._base import Layer
from ._lookup import _as_array

_OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count")
_U64 = 1 << 64


def _as_bytes(v) -> bytes:
    if isinstance(v, bytes):
        return v
    if isinstance(v, str):
        return v.encode("utf-8")
    if isinstance(v, (bool, np.bool_)):
        return b"true" if v else b"false"
    if isinstance(v, (float, np.floating)):
        if not np.isfinite(v):
            raise ValueError(f"Hashing: cannot hash the float {v!r} (floats are truncated to int64 first)")
        return str(int(v)).encode("ascii")
    return str(int(v)).encode("ascii")


class Hashing(Layer):
    """``keras.layers.Hashing(num_bins, mask_value=None, salt=None, output_mode="int",
    sparse=False)``: each value's hash bin, as Keras computes it (see the module docstring).

    ``mask_value``: values equal to it go to bin 0 and the others to bins
    ``1..num_bins-1`` (with ``num_bins > 1``). ``salt``: an int or a pair of ints (the
    SipHash key; an int ``s`` is ``[s, s]``). ``output_mode``: ``"int"`` (int64 bins, the
    input's shape; ``dtype="int32"`` for int32), ``"one_hot"`` (a trailing size-1 axis
    replaced by ``num_bins``), ``"multi_hot"`` / ``"count"`` (the last axis is one sample),
    float32. ``sparse=True`` is refused (dense outputs only). Inputs: strings, bytes,
    integers, floats (truncated to int64, as Keras) or bools, any shape.

    It runs on data (``layer(x)`` returns an array); a model cannot hold it (ranvier's
    networks run on float32 in C++): hash the column first and feed the bins to the model
    (an ``Embedding``, or ``output_mode="one_hot"`` features).
    """

    def __init__(self, num_bins, mask_value=None, salt=None, output_mode="int", sparse=False, **kwargs):
        dtype = kwargs.pop("dtype", None)
        if isinstance(dtype, dict):
            dtype = (dtype.get("config") or {}).get("name")
        if dtype is None:
            dtype = "int64" if output_mode == "int" else "float32"
        super().__init__(**kwargs)
        if isinstance(num_bins, bool) or not isinstance(num_bins, (int, np.integer)) or num_bins <= 0:
            raise ValueError(f"The `num_bins` for `Hashing` cannot be `None` or non-positive values. "
                             f"Received: num_bins={num_bins}.")
        if output_mode not in _OUTPUT_MODES:
            raise ValueError(f"Invalid value for argument `output_mode`. Expected one of {_OUTPUT_MODES}. "
                             f"Received: output_mode={output_mode}")
        if output_mode == "int" and dtype not in ("int32", "int64"):
            raise ValueError(f'When `output_mode="int"`, `dtype` should be an integer type, \'int32\' or '
                             f"'in64'. Received: dtype={dtype}")
        if output_mode != "int" and dtype not in ("float32",):
            raise ValueError(f"Hashing: ranvier computes output_mode={output_mode!r} in float32, got dtype={dtype!r}")
        if sparse and output_mode == "int":
            raise ValueError(f'`sparse` may only be true if `output_mode` is `"one_hot"`, `"multi_hot"`, or '
                             f'`"count"`. Received: sparse={sparse} and output_mode={output_mode}')
        if sparse:
            raise ValueError(f"`sparse=True` cannot be used with ranvier (dense outputs only). Received: sparse={sparse}")
        self.num_bins = int(num_bins)
        self.mask_value = mask_value
        self.output_mode = output_mode
        self.sparse = False
        self._out_dtype = dtype
        self.salt: Optional[list] = None
        if salt is not None:
            if isinstance(salt, (tuple, list)) and len(salt) == 2 and all(
                    isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in salt):
                self.salt = [int(s) for s in salt]
            elif isinstance(salt, (int, np.integer)) and not isinstance(salt, bool):
                self.salt = [int(salt), int(salt)]
            else:
                raise ValueError(f"The `salt` argument for `Hashing` can only be a tuple of size 2 integers, or a "
                                 f"single integer. Received: salt={salt}.")
            if any(not -(1 << 63) <= s < _U64 for s in self.salt):
                raise ValueError(f"Hashing: `salt` values must fit in 64 bits. Received: salt={self.salt}")
        self.strong_hash = self.salt is not None

    def _make_core(self):
        raise NotImplementedError(
            "Hashing runs on the raw data, before the network (ranvier's networks take float32 in C++): "
            "hash the column first, bins = keras.layers.Hashing(...)(column), and feed the bins to the model "
            "(an Embedding, or output_mode='one_hot' features)")

    def _bins(self, values: np.ndarray) -> np.ndarray:
        """int64 bins of ``values`` (any shape), as Keras's ``_hash_values_to_bins``."""
        hash_bins = self.num_bins
        mask = None
        if self.mask_value is not None and hash_bins > 1:
            hash_bins -= 1
            mask = values == self.mask_value
            if values.dtype == object:
                mask = np.array([v == self.mask_value for v in values.reshape(-1)], dtype=bool).reshape(values.shape)
        flat = values.reshape(-1)
        if flat.dtype.kind == "f":
            if not np.all(np.isfinite(flat)):
                raise ValueError("Hashing: the input holds NaN or inf (floats are truncated to int64 first)")
            flat = flat.astype(np.int64)
        uniq, inverse = np.unique(flat, return_inverse=True) if flat.dtype != object else _unique_objects(flat)
        if self.strong_hash:
            assert self.salt is not None
            k0, k1 = (s % _U64 for s in self.salt)
            hashed = [_core._siphash24(k0, k1, _as_bytes(v)) for v in uniq]
        else:
            hashed = [_core._fingerprint64(_as_bytes(v)) for v in uniq]
        bins = np.array([h % hash_bins for h in hashed], dtype=np.int64)[inverse].reshape(values.shape)
        if mask is not None:
            bins = np.where(mask, 0, bins + 1)
        return bins

    def __call__(self, x, training=None, **kwargs) -> Any:
        values = _as_array(x, "Hashing: ")
        if values.dtype.kind == "U" or values.dtype.kind == "S":
            values = values.astype(object)
        if values.dtype.kind not in "biufO":
            raise TypeError(f"Hashing: expected strings, bytes, integers, floats or bools, got dtype={values.dtype}")
        if self.output_mode == "one_hot" and values.ndim >= 1 and values.shape[-1] == 1:
            values = values[..., 0]
        bins = self._bins(values)
        if self.output_mode == "int":
            return bins.astype(self._out_dtype)
        depth = self.num_bins
        if self.output_mode == "one_hot":
            return np.eye(depth, dtype=np.float32)[bins]
        rows = bins.reshape(-1, bins.shape[-1]) if bins.ndim >= 1 else bins.reshape(1, 1)
        out = np.zeros((rows.shape[0], depth), dtype=np.float32)
        for i, r in enumerate(rows):
            counts = np.bincount(r, minlength=depth).astype(np.float32)
            out[i] = counts if self.output_mode == "count" else (counts > 0)
        return out.reshape(bins.shape[:-1] + (depth,)) if bins.ndim >= 1 else out.reshape(depth)

    def compute_output_shape(self, input_shape):
        """The input's shape in "int" mode; else the last axis replaced by ``num_bins``."""
        if self.output_mode == "int":
            return tuple(input_shape)
        if len(input_shape) == 0:
            return (self.num_bins,)
        return tuple(input_shape[:-1]) + (self.num_bins,)

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config["dtype"] = dict(config["dtype"], config={"name": self._out_dtype})
        config.update({"num_bins": self.num_bins, "salt": self.salt, "mask_value": self.mask_value,
                       "output_mode": self.output_mode, "sparse": self.sparse})
        return config


def _unique_objects(flat: np.ndarray):
    """``np.unique`` for an object array (mixed str/bytes/ints do not sort): first-seen order."""
    index: Dict[Any, int] = {}
    inverse = np.empty(flat.shape[0], dtype=np.int64)
    uniq: list = []
    for i, v in enumerate(flat):
        key = (type(v).__name__, v)
        j = index.get(key)
        if j is None:
            j = index[key] = len(uniq)
            uniq.append(v)
        inverse[i] = j
    return uniq, inverse
