"""What the guide's scripts share: figures drawn without a display (no pyplot state), in
matplotlib's default style whatever the local matplotlibrc says, saved as PNG files whose
bytes depend only on what is drawn (no software version or date written into them).

Each script imports this module only to draw, so its computing functions (the ones the
tests call) need neither matplotlib nor this file.
"""
from __future__ import annotations

import contextlib
import os
from typing import Any, Iterator

import matplotlib
import matplotlib.style
from matplotlib.figure import Figure

# Small files: 80 dpi, a 9-point font, a light grid.
STYLE = {"font.size": 9, "axes.titlesize": 9, "axes.grid": True, "grid.alpha": 0.3,
         "legend.fontsize": 8, "savefig.dpi": 80, "figure.dpi": 80}


@contextlib.contextmanager
def style() -> Iterator[None]:
    """matplotlib's defaults plus STYLE, for drawing and saving (a user's matplotlibrc is ignored)."""
    with matplotlib.style.context(["default", STYLE]):
        yield


def figure(width: float, height: float) -> Figure:
    """A Figure that lays itself out (call inside ``style()``)."""
    return Figure(figsize=(width, height), layout="constrained")


def save(fig: Any, outdir: str, name: str) -> str:
    """Writes ``fig`` to ``outdir/name`` with no metadata that changes between runs."""
    os.makedirs(outdir, exist_ok=True)
    path = os.path.join(outdir, name)
    fig.savefig(path, metadata={"Software": None})
    return path


def write_text(outdir: str, name: str, text: str) -> str:
    """Writes a text file the pages include (numbers printed by the scripts)."""
    os.makedirs(outdir, exist_ok=True)
    path = os.path.join(outdir, name)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text if text.endswith("\n") else text + "\n")
    return path
