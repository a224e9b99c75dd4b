"""``optimizer.variables`` laid out as Keras 3 lists them: ``iteration``, ``learning_rate``
(a constant learning rate only), then the slot variables with their variable's shape, one
group of slots per Keras ``add_optimizer_variables`` call, interleaved per trainable
variable (Adam: ``<path>_momentum, <path>_velocity`` for the kernel, then the bias, with
``<path>`` the variable's path, ``sequential_dense_kernel``), then the optimizer's scalar
state (Nadam's momentum product, which Keras calls ``variable``). The slots are live views of the
C++ state buffers."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np


class OptimizerVariable(np.ndarray):
    """A NumPy array with a Keras variable's ``name``, ``path`` and ``numpy()``: one
    entry of ``optimizer.variables`` (a view of the optimizer's state where it is a slot)."""

    name: str = ""
    path: str = ""

    def __new__(cls, array: np.ndarray, name: str, path: str = ""):
        obj = np.asarray(array).view(cls)
        obj.name = name
        obj.path = path or name
        return obj

    def __array_finalize__(self, obj) -> None:
        if obj is not None:
            self.name = getattr(obj, "name", "")
            self.path = getattr(obj, "path", "")

    def numpy(self) -> np.ndarray:
        """A plain NumPy copy of the value (as Keras's ``variable.numpy()``)."""
        return np.array(self, copy=True).view(np.ndarray)

    @property
    def value(self) -> np.ndarray:
        """The value as a plain NumPy array (a view)."""
        return self.view(np.ndarray)


def _base_name(name: Optional[str], index: int) -> str:
    """What a slot is named after: its variable's path with "/" as "_" (Keras 3.15:
    ``sequential/dense/kernel`` -> ``sequential_dense_kernel_momentum``)."""
    if not name:
        return "variable" if index == 0 else f"variable_{index}"
    return str(name).replace("/", "_")


def keras_variables(optimizer_name: str, iterations: int, learning_rate: Optional[float],
                    slots: Dict[str, np.ndarray], slot_groups: Sequence[Tuple[str, int]],
                    layout: Sequence[Tuple[int, int, int, Optional[str], Tuple[int, ...]]],
                    scalars: Dict[str, float]) -> List[Any]:
    """The list described in the module docstring. ``slot_groups`` is the optimizer's
    ``[(slot, Keras group)]`` table; ``layout`` is ``(order, offset, size, name, shape)``
    per trainable tensor. Slots the table or the layout cannot place are appended flat."""
    out: List[Any] = [OptimizerVariable(np.array(int(iterations), dtype=np.int64), "iteration",
                                        f"{optimizer_name}/iteration")]
    if learning_rate is not None:
        out.append(OptimizerVariable(np.array(learning_rate, dtype=np.float32), "learning_rate",
                                     f"{optimizer_name}/learning_rate"))
    total = sum(size for _, _, size, _, _ in layout)
    placed = set()
    if layout and all(buf.size == total for buf in slots.values()):
        groups: Dict[int, List[str]] = {}
        for slot, group in slot_groups:
            if slot in slots:
                groups.setdefault(int(group), []).append(slot)
        if "average" in slots and not any(s == "average" for s, _ in slot_groups):
            groups[-1] = ["average"]  # use_ema: Keras builds the moving averages before the slots
        ordered = sorted(layout, key=lambda t: t[0])
        for g in sorted(groups):
            for i, (_, off, size, name, shape) in enumerate(ordered):
                base = _base_name(name, i)
                for slot in groups[g]:
                    view = slots[slot][off:off + size].reshape(shape)
                    out.append(OptimizerVariable(view, f"{base}_{slot}", f"{optimizer_name}/{base}_{slot}"))
                    placed.add(slot)
    for slot, buf in slots.items():
        if slot not in placed:
            out.append(OptimizerVariable(buf, slot, f"{optimizer_name}/{slot}"))
    for name, value in scalars.items():  # Keras creates them unnamed: "variable"
        out.append(OptimizerVariable(np.array(value, dtype=np.float32), "variable", f"{optimizer_name}/{name}"))
    return out
