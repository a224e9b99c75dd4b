"""``ranvier.utils.profile()``: where the time of ``fit`` / ``evaluate`` goes.

Inside the context, every model's trainer times each batch in C++ (a few steady-clock
reads per layer, off otherwise): forward and backward per layer, gathering the shuffled
rows (data), the loss and its gradient, the metrics, and the update (optimizer step,
regularization, constraints). Whatever else the context's wall time holds (callbacks,
the progress bar, argument checks, validation outside the trainer, your own code) is
reported as "python and other".
"""
from __future__ import annotations

import contextlib
import threading
import time
from typing import Any, Dict, Iterator, List, Tuple

__all__ = ["Profile", "profile"]

_active: List["Profile"] = []
_lock = threading.Lock()


class Profile:
    """Time per layer and phase, summed over the batches run inside ``profile()``.

    ``str(p)`` (or ``print(p)``) is a table; :meth:`as_dict` gives the numbers.
    """

    def __init__(self) -> None:
        #: (model name, layer name) -> [layer type, forward s, backward s]
        self.layers: Dict[Tuple[str, str], List[Any]] = {}
        #: phase -> seconds, for the phases outside the layers
        self.phases: Dict[str, float] = {"data": 0.0, "loss": 0.0, "metrics": 0.0, "update": 0.0}
        self.train_steps = 0
        self.eval_steps = 0
        self.samples = 0
        self.wall_s = 0.0

    def _add(self, model: Any, counters: Dict[str, Any]) -> None:
        with _lock:
            # the counters are per network node: a graph model lists each node's layer (a layer
            # called twice adds both calls into its entry); a chain's nodes are its layers
            nodes = model._profile_layers() if hasattr(model, "_profile_layers") else model._layers
            for layer, f, b in zip(nodes, counters["forward_s"], counters["backward_s"]):
                entry = self.layers.setdefault((model.name, layer.name), [type(layer).__name__, 0.0, 0.0])
                entry[1] += f
                entry[2] += b
            for phase in self.phases:
                self.phases[phase] += counters[phase + "_s"]
            self.train_steps += counters["train_steps"]
            self.eval_steps += counters["eval_steps"]
            self.samples += counters["samples"]

    @property
    def compute_s(self) -> float:
        """Seconds inside the trainers (layers plus the data, loss, metrics, update phases)."""
        return sum(f + b for _, f, b in self.layers.values()) + sum(self.phases.values())

    def as_dict(self) -> Dict[str, Any]:
        """The profile as plain data: per-layer forward/backward seconds and per-phase seconds."""
        return {
            "layers": [{"model": m, "layer": l, "type": t, "forward_s": f, "backward_s": b}
                       for (m, l), (t, f, b) in self.layers.items()],
            "phases": dict(self.phases, python_and_other=max(0.0, self.wall_s - self.compute_s)),
            "train_steps": self.train_steps, "eval_steps": self.eval_steps,
            "samples": self.samples, "wall_s": self.wall_s,
        }

    def table(self) -> str:
        """A text table: one row per layer (forward, backward, total, share of the wall
        time), then one per phase."""
        wall = self.wall_s if self.wall_s > 0 else max(self.compute_s, 1e-12)
        several_models = len({m for m, _ in self.layers}) > 1
        lines = [f"Profile: {self.train_steps} training and {self.eval_steps} evaluation batches, "
                 f"{self.samples:,} samples, {self.wall_s:.3f} s",
                 f"{'layer / phase':<34}{'forward s':>11}{'backward s':>12}{'total s':>10}{'share':>8}"]

        def share(s: float) -> str:
            return f"{100.0 * s / wall:7.1f}%"

        for (m, l), (t, f, b) in self.layers.items():
            name = f"{m}/{l}" if several_models else l
            lines.append(f"{name + ' (' + t + ')':<34}{f:>11.4f}{b:>12.4f}{f + b:>10.4f}{share(f + b)}")
        labels = {"data": "data (gather shuffled rows)", "loss": "loss and its gradient",
                  "metrics": "metrics", "update": "update (optimizer step)"}
        for phase, s in self.phases.items():
            lines.append(f"{labels[phase]:<34}{'':>11}{'':>12}{s:>10.4f}{share(s)}")
        other = max(0.0, self.wall_s - self.compute_s)
        lines.append(f"{'python and other':<34}{'':>11}{'':>12}{other:>10.4f}{share(other)}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        return (f"<Profile {self.train_steps} training / {self.eval_steps} evaluation batches, "
                f"{self.wall_s:.3f} s>")


@contextlib.contextmanager
def profile() -> Iterator[Profile]:
    """Profiles every ``fit``, ``evaluate``, ``train_on_batch`` and ``test_on_batch`` run
    inside the ``with`` block (any model, any thread)::

        with ranvier.utils.profile() as prof:
            model.fit(x, y, epochs=2)
        print(prof)          # time per layer (forward, backward) and phase

    Profiles nest: an outer one also counts what an inner one does.
    """
    p = Profile()
    with _lock:
        _active.append(p)
    t0 = time.perf_counter()
    try:
        yield p
    finally:
        p.wall_s = time.perf_counter() - t0
        with _lock:
            _active.remove(p)


def active() -> bool:
    """Whether some ``profile()`` context is open."""
    return bool(_active)


def record(model: Any, counters: Dict[str, Any]) -> None:
    """Adds one trainer's counters to every open profile."""
    with _lock:
        targets = list(_active)
    for p in targets:
        p._add(model, counters)
