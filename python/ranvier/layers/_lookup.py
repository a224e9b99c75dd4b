"""IntegerLookup and StringLookup (Keras's index lookup layers) over the C++ layer in
cpp/src/layers/lookup.cpp.

Raw keys (strings, int64) do not enter the float32 network: the layer's C++ ``encode`` maps
them to indices first (``_encode_raw_input``, which a model calls on its raw input column
once per fit / predict), and the layer inside the network maps indices to its
``output_mode``. The vocabulary is part of the layer's config (so a saved model file holds
it, for Python and for C/C++ apps alike)."""
from __future__ import annotations

import collections
import numbers
import re
import warnings
from typing import Any, Dict, Optional

import numpy as np

from .. import _checks, _core
from ._base import Layer, _shown

_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")
# Terms a model file's vocabulary may hold: the loaders parse at most 2^21 JSON values per
# metadata entry, one per 4 bytes of its text (cpp/src/io/model_io.h, metadata_value_limit);
# a term is one value, and the rest of a model's architecture takes some.
_FILE_VOCAB_LIMIT = 2_000_000


def _check_string_arg(value, allowed, cls: str, arg: str) -> None:
    if not (isinstance(value, str) and value in allowed):
        raise ValueError(f"Unknown value for `{arg}` argument of {cls}. Allowed values are: {allowed}. "
                         f"Received: {arg}={value}")


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))


def _as_array(x, where: str = "") -> np.ndarray:
    """``x`` (an array, a list, a pandas object, a scalar, anything with ``__array__``) as an ndarray;
    ragged nested lists raise a ValueError that starts with ``where``."""
    if hasattr(x, "to_numpy") and callable(x.to_numpy):  # pandas
        x = x.to_numpy()
    if isinstance(x, np.ndarray):
        return x
    if isinstance(x, (str, bytes)):
        return np.array(x, dtype=object)
    try:
        return np.asarray(x)
    except ValueError as e:  # ragged nested lists
        raise ValueError(f"{where}the keys could not be converted to an array: {e}") from None


class EncodedInput(np.ndarray):
    """The float32 indices ``_encode_raw_input`` returns: a model that receives them again (a
    slice taken by ``validation_split``, say) does not encode them twice."""

    _ranvier_encoded = True


class _IndexLookup(Layer):
    """The shared part of IntegerLookup and StringLookup (Keras's ``IndexLookup``)."""

    _strings = True
    _raw_input_dtype = "string"  # Keras's dtype of the Input feeding the layer

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=None, vocabulary=None,
                 idf_weights=None, invert=False, output_mode="int", sparse=False, pad_to_max_tokens=False,
                 oov_method="floormod", salt=None, **kwargs):
        cls = type(self).__name__
        if max_tokens is not None and (not _is_int(max_tokens) or max_tokens <= 1):
            raise ValueError(f"If set, `max_tokens` must be greater than 1. Received: max_tokens={max_tokens}")
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(f"If pad_to_max_tokens is True, must set `max_tokens`. Received: max_tokens={max_tokens}")
        if not _is_int(num_oov_indices) or num_oov_indices < 0:
            raise ValueError(f"`num_oov_indices` must be greater than or equal to 0. Received: "
                             f"num_oov_indices={num_oov_indices}")
        if num_oov_indices >= 1 << 24:  # the OOV indices alone would pass float32's exact integers
            raise ValueError(f"{cls}: `num_oov_indices` is too large: at most {(1 << 24) - 1} (2**24 - 1: indices "
                             f"travel through the network as exact float32), got num_oov_indices={num_oov_indices}")
        if pad_to_max_tokens and max_tokens > 1 << 24:
            raise ValueError(f"{cls}: `max_tokens` is too large for pad_to_max_tokens=True: at most {1 << 24} "
                             f"(2**24: indices travel through the network as exact float32), got "
                             f"max_tokens={max_tokens}")
        _check_string_arg(oov_method, ("floormod", "farmhash"), cls, "oov_method")
        if salt is not None:
            if not self._strings and oov_method != "farmhash":
                raise ValueError(f"`salt` can only be used when `oov_method='farmhash'`. Received: oov_method={oov_method}")
            if isinstance(salt, (tuple, list)) and len(salt) == 2 and all(_is_int(s) for s in salt):
                salt = [int(s) for s in salt]
            elif _is_int(salt):
                salt = [int(salt), int(salt)]
            else:
                raise ValueError(f"The `salt` argument for `IndexLookup` can only be a tuple of 2 integers, or a "
                                 f"single integer. Received: salt={salt}.")
            if any(not -2 ** 63 <= s < 2 ** 64 for s in salt):
                raise ValueError(f"`salt` values must fit in 64 bits. Received: salt={salt}")
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode == "tf-idf":
            output_mode = "tf_idf"
        _check_string_arg(output_mode, _MODES, cls, "output_mode")
        if invert and output_mode != "int":
            raise ValueError(f"`output_mode` must be `'int'` when `invert` is true. Received: output_mode={output_mode}")
        if sparse and output_mode == "int":
            raise ValueError(f"`sparse` may only be true if `output_mode` is `'one_hot'`, `'multi_hot'`, `'count'` or "
                             f"`'tf_idf'`. Received: sparse={sparse} and output_mode={output_mode}")
        if sparse:
            raise ValueError(f"`sparse=True` cannot be used with ranvier (dense outputs only). Received: sparse={sparse} "
                             f"and output_mode={output_mode}")
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError(f"`idf_weights` should only be set if `output_mode` is `'tf_idf'`. Received: "
                             f"idf_weights={_shown(idf_weights)} and output_mode={output_mode}")
        dtype = kwargs.pop("dtype", None)  # Keras drops it (a lookup computes on its key dtype)
        if isinstance(dtype, dict) or (isinstance(dtype, str) and dtype in ("float32", "mixed_bfloat16", "mixed_float16")):
            kwargs["dtype"] = dtype  # a float policy (what a saved config holds) is kept for the config
        frozen = kwargs.pop("vocabulary_size", None)
        has_input = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        super().__init__(**kwargs)
        self.invert = bool(invert)
        self.max_tokens = None if max_tokens is None else int(max_tokens)
        self.num_oov_indices = int(num_oov_indices)
        self.mask_token = self._token(mask_token, "mask_token")
        self.oov_token = self._token(oov_token, "oov_token")
        self.output_mode = output_mode
        self.sparse = False
        self.pad_to_max_tokens = bool(pad_to_max_tokens)
        self.oov_method = oov_method
        self.salt = salt
        self._has_input_vocabulary = bool(has_input)
        self._tokens: Optional[list] = None          # the vocabulary without special tokens
        self._idf: Optional[np.ndarray] = None       # tf_idf: one weight per index (special slots included)
        self._config_vocab: Optional[list] = None    # what get_config stores under "vocabulary"
        self._config_idf: Optional[list] = None
        self._frozen_vocab_size: Optional[int] = None
        self._encoder: Optional[_core.Layer] = None
        if isinstance(vocabulary, str):  # a file path, one token per line (Keras)
            vocabulary = self._read_vocabulary_file(vocabulary)
        if output_mode == "tf_idf" and self._has_input_vocabulary and idf_weights is None and vocabulary is not None:
            raise ValueError("When specifying the `vocabulary` argument, in TF-IDF output mode, the `idf_weights` "
                             "argument must also be provided.")
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)
        if frozen is not None and self._frozen_vocab_size is None:
            self._frozen_vocab_size = int(frozen)

    def __getstate__(self) -> Dict[str, Any]:
        """Copies and pickles leave out the cached C++ encoder (rebuilt on first use)."""
        state = dict(self.__dict__)
        state["_encoder"] = None
        return state

    # ---- tokens
    def _token(self, value, argument: str):
        """A special token as the key type (None allowed)."""
        if value is None:
            return None
        if self._strings:
            if not isinstance(value, (bytes, str)):
                raise ValueError(f"{type(self).__name__}: `{argument}` must be a string or None, got {value!r}")
            return self._utf8_text(value, argument)
        if not _is_int(value) or not -2 ** 63 <= int(value) < 2 ** 63:
            raise ValueError(f"{type(self).__name__}: `{argument}` must be an integer (int64) or None, got {value!r}")
        return int(value)

    def _tokens_of(self, vocabulary, argument: str = "vocabulary") -> list:
        """A vocabulary (list, tuple, 1-D array) as a list of Python str / int."""
        arr = vocabulary.numpy() if hasattr(vocabulary, "numpy") and not isinstance(vocabulary, np.ndarray) else vocabulary
        if isinstance(arr, np.ndarray):
            if arr.ndim != 1:
                raise ValueError(f"{type(self).__name__}: `{argument}` must be 1-D, got shape {arr.shape}")
            if not self._strings and arr.dtype.kind in "i" or (self._strings and arr.dtype.kind == "U"):
                return self._utf8_checked(arr.tolist(), argument)  # already the key type
            items = arr.tolist()
        elif isinstance(arr, (list, tuple)):
            items = list(arr)
        else:
            raise ValueError(f"{type(self).__name__}: `{argument}` must be a list, a tuple or a 1-D array, got "
                             f"{type(vocabulary).__name__}")
        kind = str if self._strings else int
        if all(type(v) is kind for v in items):  # the common case, without the per-item checks
            if kind is int and items and not -2 ** 63 <= min(items) <= max(items) < 2 ** 63:
                raise ValueError(f"{type(self).__name__}: every `{argument}` entry must be an integer (int64)")
            return self._utf8_checked(list(items), argument)
        return [self._token_item(v, argument) for v in items]

    def _utf8_checked(self, items: list, argument: str) -> list:
        """``items``; for a StringLookup, each non-ASCII str is checked to be UTF-8 text (a lone
        surrogate is not)."""
        if self._strings:
            for v in items:
                if not v.isascii():
                    self._utf8_text(v, argument)
        return items

    def _utf8_text(self, v, argument: str) -> str:
        """A str or UTF-8 bytes key as str; ValueError naming ``argument`` for bytes that are not
        UTF-8 and for a str that cannot be UTF-8 (a lone surrogate): the vocabulary is kept as
        UTF-8 (the model file's JSON, the C++ encoder)."""
        try:
            text = bytes(v).decode("utf-8") if isinstance(v, (bytes, np.bytes_)) else str(v)
            if not text.isascii():  # (isascii is a flag read: adapt calls this per token)
                text.encode("utf-8")
        except UnicodeError:
            raise ValueError(f"{type(self).__name__}: `{argument}` entry {v!r} is not valid UTF-8 text (the "
                             f"vocabulary is kept as UTF-8)") from None
        return text

    def _token_item(self, v, argument: str):
        if self._strings:
            if isinstance(v, (bytes, np.bytes_, str)):
                return self._utf8_text(v, argument)
            raise ValueError(f"{type(self).__name__}: every `{argument}` entry must be a string, got {v!r}")
        if _is_int(v) and -2 ** 63 <= int(v) < 2 ** 63:
            return int(v)
        raise ValueError(f"{type(self).__name__}: every `{argument}` entry must be an integer (int64), got {v!r}")

    def _read_vocabulary_file(self, path: str) -> list:
        try:
            with open(path, "r", encoding="utf-8") as f:
                lines = f.read().splitlines()
        except OSError:
            raise ValueError(f"Vocabulary file {path} does not exist.") from None
        except UnicodeDecodeError as e:
            raise ValueError(f"{type(self).__name__}: the vocabulary file {path} is not UTF-8 text: {e}") from None
        while lines and lines[-1] == "":
            lines.pop()
        return lines if self._strings else [int(v) for v in lines]

    def _oov_start_index(self) -> int:
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start_index(self) -> int:
        return self._oov_start_index() + self.num_oov_indices

    def _special_tokens(self) -> list:
        return [self.mask_token] * self._oov_start_index() + [self.oov_token] * self.num_oov_indices

    # ---- vocabulary
    def get_vocabulary(self, include_special_tokens=True) -> list:
        """The vocabulary, index by index: with ``include_special_tokens`` (default) the mask
        token (int mode, when set), the OOV token per OOV index, then the terms, so a term's
        position is its index; otherwise the terms only."""
        tokens = list(self._tokens or [])
        if not include_special_tokens:
            return tokens
        return self._special_tokens() + tokens

    def vocabulary_size(self) -> int:
        """The vocabulary's size, mask and OOV indices included."""
        return self._token_start_index() + len(self._tokens or [])

    def set_vocabulary(self, vocabulary, idf_weights=None) -> None:
        """Sets the vocabulary (a list, tuple or 1-D array of terms, or a text file path with one
        term per line), optionally starting with exactly the special tokens (mask, then the OOV
        token per OOV index); ``idf_weights`` for ``output_mode="tf_idf"`` (one per entry)."""
        if self.output_mode == "tf_idf":
            if idf_weights is None:
                raise ValueError("`idf_weights` must be set if output_mode is 'tf_idf'.")
        elif idf_weights is not None:
            raise ValueError(f"`idf_weights` should only be set if output_mode is `'tf_idf'`. Received: "
                             f"output_mode={self.output_mode} and idf_weights={_shown(idf_weights)}")
        if isinstance(vocabulary, str):
            vocabulary = self._read_vocabulary_file(vocabulary)
        vocab = self._tokens_of(vocabulary)
        if not vocab:
            raise ValueError(f"Cannot set an empty vocabulary. Received: vocabulary={vocabulary}")
        start = self._token_start_index()
        special = self._special_tokens()
        found = vocab[:start] == special and len(vocab) >= start
        tokens = vocab[start:] if found else vocab
        repeated = [t for t, c in collections.Counter(tokens).items() if c > 1]
        if repeated:
            raise ValueError(f"The passed vocabulary has at least one repeated term. Please uniquify your dataset. "
                             f"The repeated terms are: {repeated}")
        if self.mask_token is not None and self.mask_token in tokens:
            index = len(vocab) - 1 - vocab[::-1].index(self.mask_token)
            raise ValueError(
                "Found reserved mask token at unexpected location in `vocabulary`. Note that passed `vocabulary` "
                "does not need to include the OOV and mask tokens. Either remove all mask and OOV tokens, or "
                f"include them only at the start of the vocabulary in precisely this order: {special}. Received: "
                f"mask_token={self.mask_token} at vocabulary index {index}")
        if self.oov_token is not None and self.invert and self.oov_token in tokens:
            index = len(vocab) - 1 - vocab[::-1].index(self.oov_token)
            raise ValueError(
                "Found reserved OOV token at unexpected location in `vocabulary`. Note that passed `vocabulary` "
                "does not need to include the OOV and mask tokens. Either remove all mask and OOV tokens, or "
                f"include them only at the start of the vocabulary in precisely this order: {special}. Received: "
                f"oov_token={self.oov_token} at vocabulary index {index}")
        size = start + len(tokens)
        if self.max_tokens is not None and size > self.max_tokens:
            raise ValueError(f"Attempted to set a vocabulary larger than the maximum vocab size. Received vocabulary "
                             f"size is {size}; `max_tokens` is {self.max_tokens}.")
        if size > 1 << 24:
            raise ValueError(f"{type(self).__name__}: a vocabulary of {size} indices is more than ranvier's 2**24 "
                             f"(indices travel through the network as exact float32)")
        idf = None
        if self.output_mode == "tf_idf":
            try:
                w = np.asarray(idf_weights, dtype=np.float64)
            except (TypeError, ValueError):
                raise ValueError(f"{type(self).__name__}: `idf_weights` must be numbers, one per vocabulary entry; "
                                 f"got {_shown(idf_weights)}") from None
            if w.ndim == 1 and not np.all(np.isfinite(w)):
                raise ValueError(f"{type(self).__name__}: `idf_weights` must be finite numbers, got "
                                 f"{_shown(idf_weights)}")
            if w.ndim != 1:
                raise ValueError(f"TF-IDF data must be a 1-index array. Received: type(idf_weights)={type(idf_weights)}")
            if len(w) != len(vocab):
                raise ValueError(f"`idf_weights` must be the same length as vocabulary. len(idf_weights) is {len(w)}; "
                                 f"len(vocabulary) is {len(vocab)}")
            front = [] if found else [float(np.average(w))] * start
            idf = np.asarray(front + w.tolist(), dtype=np.float32)
        self._set_state(tokens, idf, vocab, None if idf_weights is None else np.asarray(idf_weights).tolist())

    def _set_state(self, tokens: list, idf: Optional[np.ndarray], config_vocab: list,
                   config_idf: Optional[list]) -> None:
        """The new vocabulary (and idf weights) everywhere: the config, the encoder, the C++
        layer of a built layer (its model rebuilds its network)."""
        size = self._token_start_index() + len(tokens)
        if (self.output_mode != "int" and not self.pad_to_max_tokens and self._frozen_vocab_size is not None
                and size != self._frozen_vocab_size):
            raise RuntimeError(
                f"When using `output_mode={self.output_mode}` and `pad_to_max_tokens=False`, the vocabulary size "
                f"cannot be changed after the layer is called. Old vocab size is {self._frozen_vocab_size}, new "
                f"vocab size is {size}")
        if len(config_vocab) > _FILE_VOCAB_LIMIT:
            warnings.warn(
                f"{type(self).__name__} '{self.name}': a vocabulary of {len(config_vocab)} terms is more than a ranvier "
                f"model file holds (about {_FILE_VOCAB_LIMIT:,} terms: the vocabulary is in the layer's config, and "
                f"the loaders parse at most 2^21 metadata values); the layer works, but a model holding it "
                f"cannot be loaded from its file", stacklevel=3)
        self._tokens, self._idf = tokens, idf
        self._config_vocab, self._config_idf = config_vocab, config_idf
        self._frozen_vocab_size = size
        self._encoder = None
        if self.built and self._build_input_shape is not None:
            self.build(self._build_input_shape)  # the new vocabulary: a new C++ layer

    # ---- adapt
    def adapt(self, data, steps=None) -> None:
        """Builds the vocabulary from ``data`` (an array or list: one batch, every element a
        term; or an iterable of batches, ``steps`` limiting them): the terms by descending
        count, ties by descending term (Keras's order), the mask and OOV tokens left out,
        at most ``max_tokens`` indices in all. ``tf_idf`` also learns each term's inverse
        document frequency (a row is a document). Each adapt replaces the vocabulary."""
        if self._has_input_vocabulary:
            raise ValueError(f"Cannot adapt layer '{self.name}' after setting a static vocabulary via `vocabulary` "
                             f"argument or `set_vocabulary()` method.")
        if steps is not None:
            steps = _checks.check_int(steps, "steps", f"{type(self).__name__}.adapt", 1)
        counts: Dict[Any, int] = collections.Counter()
        docs: Dict[Any, int] = collections.Counter()
        n_docs = 0
        if isinstance(data, (list, tuple, np.ndarray, str, bytes)) or hasattr(data, "to_numpy") \
                or not hasattr(data, "__iter__"):
            arr = self._keys(data, "adapt")
            if arr.ndim <= 1:
                arr = arr.reshape(-1, 1)  # Keras: a 1-D array is one column (each element a document)
            batches: Any = [arr]
        else:
            batches = data
        for i, batch in enumerate(batches):
            if steps is not None and i >= steps:
                break
            if isinstance(batch, tuple):
                batch = batch[0]
            arr = self._keys(batch, "adapt")
            if arr.ndim <= 1:
                arr = arr.reshape(1, -1)  # a 1-D batch is one document
            if arr.dtype.kind in ("U" if self._strings else "i"):  # already the key type: counted in NumPy
                uniq, cnt = np.unique(arr.reshape(-1), return_counts=True)
                for t, c in zip(uniq.tolist(), cnt.tolist()):
                    counts[t] += c
            else:
                counts.update(self._token_item(v, "data") for v in arr.reshape(-1).tolist())
            if self.output_mode == "tf_idf":
                rows = arr.reshape(arr.shape[0], -1).tolist()
                for row in rows:
                    docs.update(set(self._token_item(v, "data") for v in row))
                n_docs += arr.shape[0]
        if not counts:
            return
        for special in (self.mask_token, self.oov_token):
            if special is not None:
                counts.pop(special, None)
        toks = list(counts)
        if self._strings:
            key_of = [t.encode("utf-8") for t in toks]  # Keras sorts the UTF-8 bytes
            order = sorted(range(len(toks)), key=lambda j: (counts[toks[j]], key_of[j]), reverse=True)
        else:
            order = sorted(range(len(toks)), key=lambda j: (counts[toks[j]], toks[j]), reverse=True)
        if self.max_tokens:
            order = order[:max(self.max_tokens - self._token_start_index(), 0)]
        tokens = [toks[j] for j in order]
        idf = None
        config_idf = None
        if self.output_mode == "tf_idf":
            dc = np.asarray([docs[t] for t in tokens], dtype=np.float64)
            w = np.log(1.0 + n_docs / (1.0 + dc)).astype(np.float32)
            mean = np.float32(w.mean()) if w.size else np.float32(0)
            idf = np.concatenate([np.full(self._token_start_index(), mean, np.float32), w])
            config_idf = idf.tolist()
        config_vocab = self._special_tokens() + tokens
        self._set_state(tokens, idf, config_vocab, config_idf)

    # ---- keys and encoding
    def _keys(self, x, what: str) -> np.ndarray:
        """``x`` as an array of keys: str/bytes/object (StringLookup) or int64 (IntegerLookup)."""
        cls = type(self).__name__
        arr = _as_array(x, f"{cls} '{self.name}' ({what}): ")
        kind = arr.dtype.kind
        if self._strings:
            if kind in "US":
                return arr
            if kind == "O":
                return arr
            if kind == "T":  # NumPy's StringDType
                return arr.astype(object)
            raise TypeError(f"{cls} '{self.name}' ({what}): the keys must be strings (str or bytes), got "
                            f"dtype={arr.dtype}")
        if kind in "iu":
            if kind == "u" and arr.size and int(arr.max()) >= 2 ** 63:
                raise ValueError(f"{cls} '{self.name}' ({what}): keys must fit in int64, got {int(arr.max())}")
            return arr.astype(np.int64, copy=False)
        if kind == "b":
            return arr.astype(np.int64)
        if kind == "f":
            if arr.size and (not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr))):
                bad = arr[~(np.isfinite(arr) & (arr == np.round(arr)))].reshape(-1)[0]
                raise ValueError(f"{cls} '{self.name}' ({what}): the keys must be integers, got {bad!r}")
            if arr.size and (arr.min() < -2.0 ** 63 or arr.max() >= 2.0 ** 63):
                raise ValueError(f"{cls} '{self.name}' ({what}): keys must fit in int64")
            return arr.astype(np.int64)
        if kind == "O":
            try:
                items = [self._token_item(v, "keys") for v in arr.reshape(-1).tolist()]
            except ValueError as e:
                raise TypeError(f"{cls} '{self.name}' ({what}): {e}") from None
            return np.asarray(items, dtype=np.int64).reshape(arr.shape)
        raise TypeError(f"{cls} '{self.name}' ({what}): the keys must be integers, got dtype={arr.dtype}")

    def _core_config(self) -> Dict[str, Any]:
        cfg = self.get_config()
        cfg.pop("name", None)
        return cfg

    def _encoding_core(self) -> _core.Layer:
        if self._encoder is None:
            self._encoder = _core.layer_from_config(type(self).__name__, self._core_config())
        return self._encoder

    def _encode(self, x, what: str, indices: bool) -> np.ndarray:
        keys = self._keys(x, what)
        flat = np.ascontiguousarray(keys.reshape(-1))
        try:
            out = _core.lookup_encode(self._encoding_core(), flat, indices)
        except (TypeError, ValueError) as e:
            # the core names the flat key ("key 7 is a NoneType"): add the layer, the call and
            # the key's position in x and value
            cls, msg = type(self).__name__, str(e)
            found = re.match(rf"{cls}: (.*\bkey (\d+)\b.*)$", msg, re.S)
            if found is None or keys.ndim == 0:
                raise
            k = int(found.group(2))
            pos = ", ".join(str(int(i)) for i in np.unravel_index(k, keys.shape))
            label = what.split(": ", 1)[1] if ": " in what else "x"  # "predict: x['s']" -> "x['s']"
            raise type(e)(f"{cls} '{self.name}' ({what}): {found.group(1)} ({label}[{pos}]={flat[k]!r})") from None
        return out.reshape(keys.shape)

    def _encode_raw_input(self, x, name: str = "x", what: str = "call") -> np.ndarray:
        """The raw keys ``x`` (any shape) as the float32 indices the network takes (same shape):
        what a model runs on its raw input column before the network (Keras's index layout
        and OOV rules; the mask gives 0 in "int" mode, -1 (dropped) otherwise)."""
        if self.invert:
            raise ValueError(f"{type(self).__name__} '{self.name}': invert=True cannot be part of a model")
        if x is None:
            raise ValueError(f"{what}: {name} is required, got None")
        if getattr(x, "_ranvier_encoded", False):
            return x
        return self._encode(x, f"{what}: {name}", indices=False).view(EncodedInput)

    def _make_core(self):
        if self.invert:
            raise ValueError(f"{type(self).__name__} '{self.name}': invert=True maps indices back to keys, which do "
                             f"not flow through ranvier's float32 network; call the layer directly instead (an "
                             f"inverted layer cannot be part of a model)")
        return _core.layer_from_config(type(self).__name__, self._core_config())

    # ---- calling
    def _depth(self) -> Optional[int]:
        if self.pad_to_max_tokens:
            return self.max_tokens
        return self._frozen_vocab_size

    def compute_output_shape(self, input_shape):
        """The input shape ("int"); one_hot: a trailing 1 replaced by (or another last axis
        followed by) depth; multi_hot / count / tf_idf: the last axis replaced by depth."""
        shape = tuple(input_shape)
        if self.output_mode == "int":
            return shape
        depth = self._depth()
        if self.output_mode == "one_hot":
            return shape[:-1] + (depth,) if len(shape) > 1 and shape[-1] == 1 else shape + (depth,)
        return shape[:-1] + (depth,)

    def _ensure_known_vocab_size(self) -> None:
        if self._tokens is None and (self.output_mode == "int" or self.pad_to_max_tokens):
            raise RuntimeError(f"{type(self).__name__} '{self.name}' has no vocabulary yet: pass `vocabulary` to the "
                               f"layer or call `adapt(data)` before calling it")
        if self._tokens is None:
            raise RuntimeError(
                f"When using `output_mode={self.output_mode}` and `pad_to_max_tokens=False`, you must set the "
                f"layer's vocabulary before calling it. Either pass a `vocabulary` argument to the layer, or call "
                f"`adapt` with some sample data.")

    def build(self, input_shape) -> None:
        """Builds the C++ layer for ``input_shape`` (the raw keys' shape; its last axis is the
        keys per sample)."""
        self._ensure_known_vocab_size()
        super().build(input_shape)

    def __call__(self, x, training=None, **kwargs):
        """The layer on raw keys (NumPy arrays of str / bytes / object, or integers): int64
        indices of the same shape in "int" mode; int64 one_hot / multi_hot / count encodings
        and float32 tf_idf (Keras's eager dtypes); with ``invert=True`` the terms of indices."""
        kwargs.pop("mask", None)
        if kwargs:
            raise TypeError(f"{type(self).__name__}.__call__ got unexpected arguments {sorted(kwargs)}")
        self._ensure_known_vocab_size()
        if self.invert:
            return self._invert(x)
        idx = self._encode(x, "call", indices=True)
        if self.output_mode == "int":
            return idx
        depth = int(self._depth() or 0)
        if idx.ndim == 0:
            idx = idx.reshape(1)
        if self.output_mode == "one_hot":
            if idx.ndim > 1 and idx.shape[-1] == 1:
                idx = idx.reshape(idx.shape[:-1])
            out = np.zeros(idx.shape + (depth,), np.int64)
            flat = idx.reshape(-1)
            rows = np.nonzero((flat >= 0) & (flat < depth))[0]
            out.reshape(-1, depth)[rows, flat[rows]] = 1
            return out
        lead = idx.shape[:-1]
        flat = idx.reshape(int(np.prod(lead, dtype=np.int64)), idx.shape[-1])  # (-1 is ambiguous for 0 keys per row)
        valid = (flat >= 0) & (flat < depth)  # the mask (-1) is dropped
        cells = np.nonzero(valid)[0] * depth + flat[valid]
        out = np.zeros((flat.shape[0], depth), np.int64)
        np.add.at(out.reshape(-1), cells, 1)
        if self.output_mode == "multi_hot":
            out = (out > 0).astype(np.int64)
        out = out.reshape(lead + (depth,))
        if self.output_mode == "tf_idf":
            idf = np.zeros(depth, np.float32)
            w = self._idf if self._idf is not None else np.zeros(0, np.float32)
            idf[:min(depth, len(w))] = w[:depth]
            return out.astype(np.float32) * idf
        return out

    def _invert(self, x):
        arr = _as_array(x, f"{type(self).__name__} '{self.name}' (invert=True): ")
        if arr.dtype.kind == "f" and arr.size and np.any(arr != np.round(arr)):
            raise TypeError(f"{type(self).__name__} '{self.name}' (invert=True): the inputs must be integer indices")
        if arr.dtype.kind not in "iuf" and not (arr.dtype.kind == "b"):
            raise TypeError(f"{type(self).__name__} '{self.name}' (invert=True): the inputs must be integer indices, "
                            f"got dtype={arr.dtype}")
        idx = arr.astype(np.int64)
        vocab = self.get_vocabulary()
        start = self._token_start_index()
        table = [self.oov_token] * start + vocab[start:]
        if self.mask_token is not None:
            table[0] = self.mask_token
        out = np.empty(idx.shape, dtype=object)
        flat_out = out.reshape(-1)
        for i, k in enumerate(idx.reshape(-1).tolist()):
            flat_out[i] = table[k] if 0 <= k < len(table) else self.oov_token
        return out if self._strings else out.astype(np.int64)

    # ---- config
    def get_config(self) -> Dict[str, Any]:
        """Keras's config; the vocabulary (as given, or the adapted one with its special
        tokens) is in it, so a saved model holds it."""
        config = super().get_config()
        config.update({
            "invert": self.invert, "max_tokens": self.max_tokens, "num_oov_indices": self.num_oov_indices,
            "oov_token": self.oov_token, "mask_token": self.mask_token, "output_mode": self.output_mode,
            "sparse": self.sparse, "pad_to_max_tokens": self.pad_to_max_tokens,
        })
        if not self._strings:
            config["vocabulary_dtype"] = "int64"
        config.update({"idf_weights": self._config_idf, "vocabulary": self._config_vocab,
                       "vocabulary_size": self._frozen_vocab_size, "oov_method": self.oov_method, "salt": self.salt})
        if not self._has_input_vocabulary and self._config_vocab is not None:
            config["has_input_vocabulary"] = False  # adapted: adapt may run again after from_config (Keras reads it)
        return config


class IntegerLookup(_IndexLookup):
    """``keras.layers.IntegerLookup(max_tokens=None, num_oov_indices=1, mask_token=None,
    oov_token=-1, vocabulary=None, vocabulary_dtype="int64", idf_weights=None, invert=False,
    output_mode="int", sparse=False, pad_to_max_tokens=False, oov_method="floormod",
    salt=None)``: integer keys to indices, Keras's layout: ``[mask (int mode, if set)]
    [num_oov_indices OOV indices] [vocabulary]``. Out-of-vocabulary keys go to the OOV index;
    with several, to ``floormod(key, num_oov_indices)`` (``oov_method="farmhash"``: the
    FarmHash64 of the key's decimal text, or SipHash with ``salt``); with none they raise.
    ``output_mode``: "int", "one_hot", "multi_hot", "count", "tf_idf". ``adapt(data)``
    learns the vocabulary (descending count, ties by descending key). In a model the raw
    integer keys are encoded before the network (the vocabulary is in the model file); the
    gradient is zero. ``invert=True`` (index to key) works on direct calls only."""

    _strings = False
    _raw_input_dtype = "int64"

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=-1, vocabulary=None,
                 vocabulary_dtype="int64", idf_weights=None, invert=False, output_mode="int", sparse=False,
                 pad_to_max_tokens=False, oov_method="floormod", salt=None, name=None, **kwargs):
        if max_tokens is not None and _is_int(max_tokens) and max_tokens <= 1:
            raise ValueError(f"If `max_tokens` is set for `IntegerLookup`, it must be greater than 1. Received: "
                             f"max_tokens={max_tokens}")
        if _is_int(num_oov_indices) and num_oov_indices < 0:
            raise ValueError(f"The value of `num_oov_indices` argument for `IntegerLookup` must >= 0. Received: "
                             f"num_oov_indices={num_oov_indices}")
        if vocabulary_dtype != "int64":
            raise ValueError(f"Only `vocabulary_dtype='int64'` is supported at this time. Received: "
                             f"vocabulary_dtype={vocabulary_dtype}")
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices, mask_token=mask_token,
                         oov_token=oov_token, vocabulary=vocabulary, idf_weights=idf_weights, invert=invert,
                         output_mode=output_mode, sparse=sparse, pad_to_max_tokens=pad_to_max_tokens,
                         oov_method=oov_method, salt=salt, name=name, **kwargs)
        self.vocabulary_dtype = "int64"


class StringLookup(_IndexLookup):
    """``keras.layers.StringLookup(max_tokens=None, num_oov_indices=1, mask_token=None,
    oov_token="[UNK]", vocabulary=None, idf_weights=None, invert=False, output_mode="int",
    pad_to_max_tokens=False, sparse=False, encoding="utf-8", salt=None)``: string keys to
    indices, Keras's layout: ``[mask (int mode, if set)] [num_oov_indices OOV indices]
    [vocabulary]``. Out-of-vocabulary keys go to the OOV index; with several, to the
    FarmHash64 bucket of their UTF-8 bytes (SipHash-2-4 with ``salt``), as TensorFlow's
    ``to_hash_bucket_fast`` / ``_strong``; with none they raise. ``output_mode``: "int",
    "one_hot", "multi_hot", "count", "tf_idf". ``adapt(data)`` learns the vocabulary
    (descending count, ties by descending term). In a model the raw strings are encoded
    before the network (the vocabulary is in the model file, for C/C++ apps too); the
    gradient is zero. ``invert=True`` (index to term) works on direct calls only."""

    _strings = True

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token="[UNK]", vocabulary=None,
                 idf_weights=None, invert=False, output_mode="int", pad_to_max_tokens=False, sparse=False,
                 encoding="utf-8", name=None, salt=None, **kwargs):
        if not isinstance(encoding, str):
            raise ValueError(f"StringLookup: `encoding` must be a string, got {encoding!r}")
        kwargs.pop("vocabulary_dtype", None)
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices, mask_token=mask_token,
                         oov_token=oov_token, vocabulary=vocabulary, idf_weights=idf_weights, invert=invert,
                         output_mode=output_mode, sparse=sparse, pad_to_max_tokens=pad_to_max_tokens,
                         salt=salt, name=name, **kwargs)
        self.encoding = encoding

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config["encoding"] = self.encoding
        return config

