"""Keras 3's progress bar, written for ranvier.

verbose=1, live display (a terminal, a Jupyter/IPython kernel, or PyCharm)::

    12/50 ━━━━━━━━━━━━━━━━━━━━ 3s 81ms/step - accuracy: 0.4750 - loss: 0.6758

redrawn in place with a carriage return, throttled to one redraw per ``interval``
(0.05 s); the step count is bold and right-aligned, the done cells green and the rest
grey (ANSI codes); mid-epoch the time is the ETA, at the end the elapsed seconds. When
stdout is not live (a pipe, a log file) nothing is redrawn and no ANSI code is written:
only the final line of each epoch is printed, so logs are not flooded.

verbose=2: one line at the end (``5/5 - 0s - 1ms/step - loss: 0.6744``).

Values are averaged over steps as Keras's Progbar does (each update's value weighted
by the number of steps since the previous update, so skipped batches are fine); the
final update shows the values it is given.
"""
from __future__ import annotations

import numpy as np

import math
import os
import sys
import time
from typing import Callable, Dict, Iterable, List, Optional, Tuple

_BOLD = "\x1b[1m"
_GREEN = "\x1b[32m"
_GREY = "\x1b[37m"
_RESET = "\x1b[0m"
_CELL = "\u2501"  # "━"

_default_clock: Callable[[], float] = time.time  # tests replace this (a fake clock)


def _live_output(stream) -> bool:
    """True where a carriage-return redraw shows as a live bar: a terminal, a notebook."""
    try:
        if stream.isatty():
            return True
    except (AttributeError, ValueError):
        pass
    return "ipykernel" in sys.modules or "PYCHARM_HOSTED" in os.environ


def format_time_per_step(seconds: float, unit_name: str = "step") -> str:
    """" 3s/step", " 12ms/step" or " 450us/step" (Keras's _format_time, leading space)."""
    if seconds >= 1 or seconds == 0:
        return f" {seconds:.0f}s/{unit_name}"
    if seconds >= 1e-3:
        return f" {seconds * 1000.0:.0f}ms/{unit_name}"
    return f" {seconds * 1000000.0:.0f}us/{unit_name}"


def format_eta(eta: float) -> str:
    """"7s", "1:02" or "1:01:01"."""
    if eta > 3600:
        return "%d:%02d:%02d" % (eta // 3600, (eta % 3600) // 60, eta % 60)
    if eta > 60:
        return "%d:%02d" % (eta // 60, eta % 60)
    return "%ds" % eta


class Progbar:
    """Displays a progress bar (``keras.utils.Progbar``'s arguments and behaviour).

    Extra keyword-only arguments (for tests and embedding): ``stream`` (default: the
    current ``sys.stdout`` at each write), ``clock`` (default ``time.time``), ``live``
    (force live redraws on/off), ``colors`` (ANSI codes; default: same as live).
    """

    def __init__(self, target: Optional[int], width: int = 20, verbose: int = 1,
                 interval: float = 0.05, stateful_metrics: Optional[Iterable[str]] = None,
                 unit_name: str = "step", *, stream=None, clock: Optional[Callable[[], float]] = None,
                 live: Optional[bool] = None, colors: Optional[bool] = None):
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        self.stateful_metrics = set(stateful_metrics) if stateful_metrics else set()
        self._stream = stream
        self._clock = clock if clock is not None else _default_clock
        self._live = _live_output(self.stream) if live is None else bool(live)
        self._colors = self._live if colors is None else bool(colors)
        self._seen_so_far = 0
        self._values: Dict[str, List[float]] = {}
        self._values_order: List[str] = []
        self._start = self._clock()
        self._last_update = 0.0
        self._time_after_first_step: Optional[float] = None
        self._prev_total_width = 0

    @property
    def stream(self):
        """Where the bar is written: the ``stream`` given, else the current ``sys.stdout``."""
        return self._stream if self._stream is not None else sys.stdout

    def _write(self, text: str) -> None:
        out = self.stream
        out.write(text)
        try:
            out.flush()
        except (AttributeError, ValueError):
            pass

    def update(self, current: int, values: Optional[List[Tuple[str, float]]] = None,
               finalize: Optional[bool] = None) -> None:
        """Shows step ``current`` (1-based count of steps done) with ``values`` [(name, value)]."""
        if finalize is None:
            finalize = False if self.target is None else current >= self.target
        for k, v in values or []:
            if k not in self._values_order:
                self._values_order.append(k)
            if k in self.stateful_metrics or finalize:
                self._values[k] = [v, 1]
            else:
                base = max(current - self._seen_so_far, 1)
                if k not in self._values:
                    self._values[k] = [v * base, base]
                else:
                    self._values[k][0] += v * base
                    self._values[k][1] += base
        self._seen_so_far = current

        now = self._clock()
        time_per_unit = self._estimate_step_duration(current, now)

        if self.verbose == 1:
            if now - self._last_update < self.interval and not finalize:
                return
            if not self._live and not finalize:
                self._last_update = now
                return  # not a live display: only the final line is written
            line, visible = self._line_verbose1(current, now, time_per_unit, finalize)
            if self._live:
                pad = " " * max(0, self._prev_total_width - visible)
                self._write("\r" + line + pad + ("\n" if finalize else ""))
                self._prev_total_width = visible
            else:
                self._write(line + "\n")
        elif self.verbose == 2:
            if finalize and self.target is not None and self.target > 0:
                digits = int(math.log10(self.target)) + 1
                info = f"%{digits}d/%d" % (current, self.target)
                info += f" - {now - self._start:.0f}s"
                info += " -" + format_time_per_step(time_per_unit, self.unit_name)
                for k in self._values_order:
                    avg = self._average(k)
                    # Keras's verbose=2 tests `avg > 1e-3` without abs(): negatives use .4e
                    info += f" - {k}: {avg:.4f}" if avg > 1e-3 else f" - {k}: {avg:.4e}"
                self._write(info + "\n")
        self._last_update = now

    def add(self, n: int, values=None) -> None:
        """Advances the bar by ``n`` steps (``update(current + n, values)``)."""
        self.update(self._seen_so_far + n, values)

    def _average(self, k: str) -> float:
        total, count = self._values[k]
        # An array-valued metric (confusion counts at several thresholds, per-class
        # F-scores) shows its mean, as Keras's progress bar does.
        return float(np.mean(total)) / max(1, count)

    def _line_verbose1(self, current: int, now: float, time_per_unit: float, finalize: bool):
        """(text, visible width) of one verbose=1 line."""
        c = self._colors
        bold, reset = (_BOLD, _RESET) if c else ("", "")
        if self.target is not None and self.target > 0:
            digits = int(math.log10(self.target)) + 1
            count = f"%{digits}d/%d" % (current, self.target)
            done = int(self.width * (float(current) / self.target))
            done = max(0, min(self.width, done))
            bar = f"{bold}{count}{reset} "
            visible = len(count) + 1 + self.width
            if c:
                if done > 0:
                    bar += f"{_GREEN}{_CELL * done}{_RESET}"
                bar += f"{_GREY}{_CELL * (self.width - done)}{_RESET}"
            else:  # no colours: done cells drawn, the rest blank
                bar += _CELL * done + " " * (self.width - done)
        else:
            bar = "%7d/Unknown" % current
            visible = len(bar)
        if self.target is not None and self.target > 0 and not finalize:
            t = format_eta(time_per_unit * (self.target - current))
        else:
            t = f"{now - self._start:.0f}s"
        info = f" {bold}{t}{reset}"
        visible += 1 + len(t)
        tail = format_time_per_step(time_per_unit, self.unit_name)
        for k in self._values_order:
            avg = self._average(k)
            tail += f" - {k}: {avg:.4f}" if abs(avg) > 1e-3 else f" - {k}: {avg:.4e}"
        return bar + info + tail, visible + len(tail)

    def _estimate_step_duration(self, current: int, now: float) -> float:
        """Seconds per step; the first step (often slow) is left out once there are more."""
        if not current:
            return 0.0
        if self._time_after_first_step is not None and current > 1:
            per = (now - self._time_after_first_step) / (current - 1)
        else:
            per = (now - self._start) / current
        if current == 1:
            self._time_after_first_step = now
        return per
