"""``model.summary()``: Keras's box table of layers, output shapes and parameter counts.

The table is drawn from the rows a model gives (``_summary_columns`` and
``_summary_rows``), so every kind of model prints through the same code."""
from __future__ import annotations

import math
import numbers
import re
from typing import Any, List, Sequence

import numpy as np

from .. import _checks

# Keras's default column positions (fractions of the line) per column count
_POSITIONS = {3: [0.45, 0.80, 1.0], 4: [0.3, 0.6, 0.70, 1.0]}


class SummaryMixin:
    """``summary()`` over the model's ``_summary_columns()`` (header cells and their
    alignments, "l" or "r") and ``_summary_rows()`` (one list of cells per layer); and how
    a model presents itself otherwise: its ``repr`` and its dtype policy (Keras's Layer
    attributes)."""

    def __repr__(self) -> str:
        model: Any = self
        cls = "Functional" if getattr(model, "_keras_functional", False) and type(self).__name__ in (
            "Model", "Functional") else type(self).__name__
        return f"<{cls} name={model.name}, built={model.built}>"

    @property
    def dtype_policy(self):
        """The model's ``DTypePolicy``: the global policy when the model was made, as in Keras."""
        policy = self.__dict__.get("_model_dtype_policy")
        if policy is None:
            from .. import mixed_precision
            policy = self.__dict__["_model_dtype_policy"] = mixed_precision.global_policy()
        return policy

    @property
    def dtype(self) -> str:
        """The variable dtype of the model's policy (Keras's ``model.dtype``): ``"float32"``."""
        return self.dtype_policy.variable_dtype

    @property
    def compute_dtype(self) -> str:
        """The compute dtype of the model's policy (``"bfloat16"`` under mixed_bfloat16)."""
        return self.dtype_policy.compute_dtype

    @property
    def variable_dtype(self) -> str:
        """The dtype of the model's weights: ``"float32"``."""
        return self.dtype_policy.variable_dtype

    def _summary_default_length(self) -> int:
        """The table's length when ``line_length`` is not given (Keras: 88 for three columns)."""
        return 88

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None) -> None:
        """Prints Keras's box table of layers, output shapes and parameter counts; a
        ``print_fn`` gets the whole summary in one call (one string, each line ending in a
        newline), as Keras's."""
        model: Any = self
        print_fn = print_fn or print
        headers, aligns = model._summary_columns()
        nested = model.__dict__.get("_expand_nested", False)
        model._expand_nested = bool(expand_nested) or nested  # a Functional sets it around this call
        try:
            rows = model._summary_rows()
        finally:
            model._expand_nested = nested
        # a line of more than 2**16 characters would only end in a MemoryError without a message
        # the default length: 88, or 108 with "Connected to" (Keras also caps it at the
        # terminal's width - 4; here the table does not depend on where it is printed)
        width = line_length and _checks.check_int(line_length, "line_length", "summary", -(2**16), 2**16) or \
            model._summary_default_length() + (12 if show_trainable else 0)
        positions = _check_positions(positions, len(headers)) if positions else _POSITIONS[len(headers)]
        if layer_range is not None:
            rows = _in_range(rows, layer_range)
        if show_trainable:  # Keras's "Trainable" column: Y / N for a layer with weights, else "-"
            positions = [p * 0.90 for p in positions] + [1.0]
            headers, aligns = list(headers) + ["Trainable"], aligns + "c"
            rows = [r + [_trainable_cell(model, r[0])] for r in rows]
        current = 0
        for p in positions:  # Keras's check (a negative line_length, positions out of order)
            if int(p * width) - current < 4:
                raise ValueError(f"Insufficient console width to print summary (line_length={width}, "
                                 f"positions={positions})")
            current = int(p * width)
        widths = _column_widths(width, positions)

        def row(cells, left, sep, right):
            lines_per_cell = [_wrap(c, w) for c, w in zip(cells, widths)]
            h = max(len(l) for l in lines_per_cell)
            out = []
            for i in range(h):
                parts = []
                for lines, w, a in zip(lines_per_cell, widths, aligns):
                    text = lines[i] if i < len(lines) else ""
                    aligned = text.rjust(w) if a == "r" else text.center(w) if a == "c" else text.ljust(w)
                    parts.append(" " + aligned + " ")
                out.append(left + sep.join(parts) + right)
            return out

        def rule(l, m, r, ch):
            return l + m.join(ch * (w + 2) for w in widths) + r

        lines = [f'Model: "{model.name}"',
                 rule("┏", "┳", "┓", "━")]
        lines += row(headers, "┃", "┃", "┃")
        lines.append(rule("┡", "╇", "┩", "━"))
        for i, cells in enumerate(rows):
            lines += row(cells, "│", "│", "│")
            if i != len(rows) - 1:
                lines.append(rule("├", "┼", "┤", "─"))
        lines.append(rule("└", "┴", "┘", "─"))
        # the layers built so far (all of them once the model is built), as Keras counts them
        trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
        non_trainable = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
        opt_params = opt_bytes = 0
        if model.optimizer is not None and model.optimizer.built:
            opt_vars = [np.asarray(v) for v in model.optimizer.variables]
            opt_params = int(sum(v.size for v in opt_vars))
            opt_bytes = int(sum(v.nbytes for v in opt_vars))  # iterations is int64, as in Keras
        total = trainable + non_trainable + opt_params
        total_bytes = 4 * (trainable + non_trainable) + opt_bytes
        lines.append(f" Total params: {total:,} ({_fmt_bytes(total_bytes)})")
        lines.append(f" Trainable params: {trainable:,} ({_fmt_bytes(4 * trainable)})")
        lines.append(f" Non-trainable params: {non_trainable:,} ({_fmt_bytes(4 * non_trainable)})")
        if opt_params:
            lines.append(f" Optimizer params: {opt_params:,} ({_fmt_bytes(opt_bytes)})")
        if print_fn is print:
            for line in lines:
                print(line)
        else:  # Keras hands a print_fn the whole summary in one call (each line ends in "\n")
            print_fn("".join(line + "\n" for line in lines))


def _column_widths(line_length: int, positions: Sequence[float]) -> List[int]:
    """The text width of each column, as Keras's rich table lays it out: Keras asks for
    columns of ``int(pos * line_length)`` minus the previous position, rich adds one space
    of padding each side and then removes the excess over ``line_length`` (borders
    included) from the columns in turn (``rich._ratio.ratio_reduce`` with equal ratios)."""
    cols, prev = [], 0
    for p in positions:
        cols.append(int(p * line_length) - prev)
        prev += cols[-1]
    cells = [c + 2 for c in cols]  # with the padding
    excess = sum(cells) + len(cells) + 1 - line_length
    remaining, ratio_left = excess, len(cells)
    out = []
    for c in cells:
        cut = min(c, round(remaining / ratio_left)) if ratio_left else 0
        out.append(c - cut)
        remaining -= cut
        ratio_left -= 1
    return [max(w - 2, 1) for w in out]


def shape_text(shape: Sequence[Any]) -> str:
    """``(None, 64)``: a shape as Keras prints it."""
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


_WORDS = re.compile(r"\s*\S+\s*")


def _wrap(text: str, width: int) -> List[str]:
    """The lines of a cell as Keras's rich table draws them: broken at spaces (rich's
    ``divide_line`` without folding), each line longer than the column cut to
    ``width - 1`` characters and an ellipsis (a long layer name ends in "…", as in Keras)."""
    width = max(int(width), 1)
    if len(text) <= width:
        return [text]
    breaks, offset = [], 0
    for m in _WORDS.finditer(text):
        start, word = m.start(), m.group(0)
        length = len(word.rstrip())
        if width - offset >= length:
            offset += len(word)
        elif length > width:  # on a line of its own (cropped below)
            if start:
                breaks.append(start)
            offset = len(word)
        elif offset and start:
            breaks.append(start)
            offset = len(word)
    bounds = [0] + breaks + [len(text)]
    lines = [text[a:b].rstrip() for a, b in zip(bounds, bounds[1:])]
    return [line if len(line) <= width else line[:width - 1] + "…" for line in lines]


class _LayerRangeError(re.error, ValueError):
    """A ``layer_range`` entry that is no regular expression (``re.error``, as Keras
    raises, and ``ValueError``)."""


def _check_positions(positions: Any, n_columns: int) -> List[float]:
    if isinstance(positions, (str, bytes)) or not hasattr(positions, "__len__") or len(positions) != n_columns:
        raise ValueError(f"summary: positions must be a list of {n_columns} column ends (fractions of the line, "
                         f"as Keras's [0.45, 0.80, 1.0]), got positions={positions!r}")
    for p in positions:
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not math.isfinite(p):
            raise ValueError(f"summary: positions must hold finite numbers, got positions={positions!r}")
    return [float(p) for p in positions]


def _in_range(rows: List[List[str]], layer_range: Any) -> List[List[str]]:
    """Keras's ``layer_range=[first, last]``: the rows from the first layer whose name
    matches (``re.match``) ``first`` to the last whose name matches ``last`` (a nested
    model's expanded rows go with it). ValueError as Keras for a bad range."""
    if isinstance(layer_range, (str, bytes)) or not hasattr(layer_range, "__len__") or len(layer_range) != 2:
        n = len(layer_range) if hasattr(layer_range, "__len__") else "?"
        raise ValueError(f"layer_range must be a list or tuple of length 2. Received: layer_range = "
                         f"{layer_range} of length {n}")
    if not all(isinstance(p, str) for p in layer_range):
        raise ValueError(f"layer_range should contain string type only. Received: {layer_range}")
    groups: List[List[List[str]]] = []
    for r in rows:
        if r[0].lstrip().startswith("└") and groups:
            groups[-1].append(r)
        else:
            groups.append([r])
    names = [g[0][0].rsplit(" (", 1)[0] for g in groups]
    try:
        first, last = re.compile(layer_range[0]), re.compile(layer_range[1])
    except re.error as e:  # Keras lets re.error out; this one is also a ValueError naming the argument
        raise _LayerRangeError(f"layer_range: {list(layer_range)!r} is not a pair of regular expressions: {e}") from None
    lower = [i for i, n in enumerate(names) if first.match(n)]
    upper = [i for i, n in enumerate(names) if last.match(n)]
    if not lower or not upper:
        raise ValueError(f"Passed layer_names do not match the layer names in the model. Received: {layer_range}")
    lo, hi = (min(upper), max(lower)) if min(lower) > max(upper) else (min(lower), max(upper))
    return [r for g in groups[lo:hi + 1] for r in g]


def _trainable_cell(model: Any, label: str) -> str:
    """The "Trainable" cell of the row labelled ``label`` ("name (Type)", maybe indented
    under a nested model): "Y" or "N" for a layer (or model) with weights, else "-"."""
    name = label.strip().lstrip("└").strip().rsplit(" (", 1)[0]
    seen, stack = set(), list(getattr(model, "layers", [])) + list(getattr(model, "_layers", []))
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if getattr(obj, "name", None) == name:
            try:
                weights = obj.weights
            except (AttributeError, ValueError):
                weights = []
            return ("Y" if obj.trainable else "N") if weights else "-"
        stack.extend(getattr(obj, "_layers", []))
    return "-"


def _fmt_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.2f} {unit}"
        n /= 1024.0
    return f"{n:.2f} GB"
