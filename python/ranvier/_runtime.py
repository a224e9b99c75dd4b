"""Run-time facts and knobs: which SIMD kernels run, how many threads."""
from __future__ import annotations

import os
from typing import Any, Dict, List

from . import _core


def isa() -> str:
    """The instruction set whose kernels are in use: ``"scalar"``, ``"avx2"`` or ``"avx512"``.

    The best one the CPU and OS support is chosen at first use; the environment
    variable ``RANVIER_ISA`` caps it (for example ``RANVIER_ISA=avx2``).
    """
    return _core.isa()


def supported_isas() -> List[str]:
    """ISAs compiled into this build that this CPU can run, lowest first."""
    return list(_core.supported_isas())


def build_info() -> Dict[str, Any]:
    """How this build was made: version, compiler, flags, OpenMP, ISAs compiled in."""
    info = dict(_core.build_info())
    info["isas_compiled"] = info["isas_compiled"].split()
    info["isas_supported"] = supported_isas()
    info["isa"] = isa()
    return info


def get_num_threads() -> int:
    """Threads ranvier's parallel regions use (1 in a build without OpenMP).

    Precedence, the last setting winning:

    - default: OpenMP's limit, i.e. ``OMP_NUM_THREADS`` (else the core count);
    - :func:`set_num_threads` ``(n)`` sets it to ``n``;
    - ``threadpoolctl.threadpool_limits(k)`` lowers it to ``k`` inside its ``with`` block
      and restores it on exit, just as it limits NumPy's BLAS (it reaches ranvier
      through the OpenMP runtime, libgomp);
    - ``set_num_threads(0)`` returns to the default.

    Problems too small to gain from threads run on one thread whatever this says;
    results are bitwise the same for every thread count.
    """
    return int(_core.get_num_threads())


def set_num_threads(n: int) -> None:
    """Use ``n`` threads (``1 <= n <= max_num_threads()``); ``0`` returns to the default.

    Like ``torch.set_num_threads`` this sets the calling thread's OpenMP limit
    (``omp_set_num_threads``), so a later ``threadpool_limits`` can still lower it
    inside its block; other threads are capped at ``n`` too. See :func:`get_num_threads`.

    ``set_num_threads(0)`` is not an error: it removes the cap and returns to the default
    (``OMP_NUM_THREADS``, else the core count), what :func:`get_num_threads` reports before
    any call. Negative values, and values above :func:`max_num_threads` (4 x the CPU count,
    at least 64: far more threads than cores only slows compute down, and huge counts make
    the OpenMP runtime abort the process), raise ValueError naming the limit.
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"set_num_threads: n must be an int, got {type(n).__name__}")
    if n < 0:
        raise ValueError(f"set_num_threads: n must be >= 0 (0 = default), got {n}")
    limit = max_num_threads()
    if n > limit:
        raise ValueError(f"set_num_threads: n={n} is far above this machine's {os.cpu_count()} CPUs; "
                         f"the limit is {limit} (4 x the CPU count, at least 64)")
    _core.set_num_threads(n)


def max_num_threads() -> int:
    """The largest value :func:`set_num_threads` accepts: 4 x the CPU count, at least 64."""
    return int(_core.max_num_threads())


def _force_isa(name: str) -> None:
    """Switch every kernel to ``name`` (tests use this to run each path)."""
    _core.set_isa(name)


# Surface a bad RANVIER_ISA at import time, as a clear error.
if os.environ.get("RANVIER_ISA"):
    _core.isa()
