"""The MPI world: ``init``, ``rank``, ``size``, ``is_root``, ``comm``, ``barrier``, and the
watchdog that turns a rank stuck in a collective into a clear error."""
from __future__ import annotations

import os
import sys
import threading
import time
import traceback
from typing import Optional, Tuple


DEFAULT_TIMEOUT = 300.0  # seconds a rank may wait for the others in one collective


_INSTALL_HINT = ("ranvier.distributed needs mpi4py and an MPI library; install them with "
                 "pip install 'ranvier[mpi]' (mpi4py plus the MPICH wheels), or "
                 "pip install mpi4py mpich")


class DistributedError(RuntimeError):
    """A failure of distributed training that every rank reports the same way."""


class DistributedConfigError(DistributedError, ValueError):
    """The ranks disagree on the training configuration (raised on every rank)."""


def _import_mpi():
    try:
        from mpi4py import MPI  # noqa: WPS433 (lazy on purpose)
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(f"{_INSTALL_HINT} ({e})") from e
    return MPI


class _World:
    """The process-wide distributed state set by :func:`init`."""

    def __init__(self):
        self.MPI = None
        self.comm = None
        self.rank = 0
        self.size = 1
        self.timeout = DEFAULT_TIMEOUT
        self.watchdog: Optional[_Watchdog] = None


_world = _World()


def _env_timeout() -> Optional[float]:
    v = os.environ.get("RANVIER_MPI_TIMEOUT")
    if not v:
        return None
    try:
        t = float(v)
    except ValueError:
        raise ValueError(f"RANVIER_MPI_TIMEOUT must be a number of seconds, got {v!r}") from None
    if not t > 0:
        raise ValueError(f"RANVIER_MPI_TIMEOUT must be > 0 seconds, got {v!r}")
    return t


def init(comm=None, timeout: Optional[float] = None, num_threads="auto") -> Tuple[int, int]:
    """Initializes MPI (through mpi4py) and returns ``(rank, size)``.

    ``comm``: an mpi4py communicator (default ``MPI.COMM_WORLD``).
    ``timeout``: seconds a rank waits in one collective before it reports that another
    rank died or hangs and aborts the job (default ``RANVIER_MPI_TIMEOUT`` or 300).
    ``num_threads``: ``"auto"`` gives each rank ``cores // ranks on this node`` ranvier
    threads (at least 1) unless ``OMP_NUM_THREADS`` is set, so that N ranks on one
    machine do not oversubscribe its cores; an int sets that many; None leaves it.
    Calling it again replaces the communicator and timeout.
    """
    MPI = _import_mpi()
    if comm is None:
        comm = MPI.COMM_WORLD
    if timeout is None:
        timeout = _env_timeout() or DEFAULT_TIMEOUT
    if not (isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and timeout > 0):
        raise ValueError(f"init: timeout must be a number of seconds > 0, got {timeout!r}")
    _world.MPI = MPI
    _world.comm = comm
    _world.rank = comm.Get_rank()
    _world.size = comm.Get_size()
    _world.timeout = float(timeout)
    if _world.watchdog is None:
        _world.watchdog = _Watchdog()
    if num_threads == "auto":
        if not os.environ.get("OMP_NUM_THREADS"):
            local = comm.Split_type(MPI.COMM_TYPE_SHARED)
            n_local = local.Get_size()
            local.Free()
            if n_local > 1:
                from .. import _runtime
                _runtime.set_num_threads(max(1, _cpu_count() // n_local))
    elif num_threads is not None:
        from .. import _runtime
        _runtime.set_num_threads(int(num_threads))
    return _world.rank, _world.size


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        return os.cpu_count() or 1


def _ensure_init():
    if _world.comm is None:
        init()


def rank() -> int:
    """This process's rank (0 before :func:`init` is called)."""
    return _world.rank


def size() -> int:
    """The number of ranks (1 before :func:`init` is called)."""
    return _world.size


def is_root() -> bool:
    """True on rank 0 (the rank that prints and writes files)."""
    return _world.rank == 0


def comm():
    """The mpi4py communicator in use (initializes MPI if needed)."""
    _ensure_init()
    return _world.comm


def barrier() -> None:
    """Waits for every rank (watched by the timeout)."""
    _ensure_init()
    with _watch("barrier"):
        _world.comm.Barrier()


# ----------------------------------------------------------------- the watchdog
class _Watchdog:
    """A daemon thread that aborts the job when a collective waits longer than the timeout.

    mpi4py releases the GIL while an MPI call blocks, so this thread runs while the main
    thread waits for a rank that died or hangs. It prints which collective was waiting
    and calls MPI_Abort (the whole job ends; mpiexec reports it)."""

    def __init__(self):
        self._since: Optional[float] = None
        self._what = ""
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="ranvier-mpi-watchdog", daemon=True)
        self._thread.start()

    def arm(self, what: str) -> None:
        self._what = what
        self._since = time.monotonic()

    def disarm(self) -> None:
        self._since = None

    def _loop(self) -> None:
        while True:
            timeout = _world.timeout
            time.sleep(max(0.05, min(1.0, timeout / 20.0)))
            since = self._since
            if since is None or time.monotonic() - since <= timeout:
                continue
            msg = (f"ranvier.distributed: rank {_world.rank} of {_world.size} waited more than "
                   f"{timeout:g} s in {self._what} for the other ranks: one of them died, hangs, or "
                   f"is far behind. Aborting the job (set the limit with init(timeout=...) or "
                   f"RANVIER_MPI_TIMEOUT).\n")
            try:
                sys.stderr.write(msg)
                sys.stderr.flush()
                _let_the_launcher_forward_output()
            finally:
                try:
                    _world.comm.Abort(70)
                finally:
                    os._exit(70)


class _watch:
    """``with _watch("what"):`` arms the watchdog around one collective."""

    __slots__ = ("what",)

    def __init__(self, what: str):
        self.what = what

    def __enter__(self):
        _world.watchdog.arm(self.what)

    def __exit__(self, *exc):
        _world.watchdog.disarm()
        return False


# MPI_Abort tears the job down at once, and MPICH's launcher can then drop what a rank wrote
# a moment before (seen about once in 15 runs: the job ended with no output at all). A rank
# that is about to abort waits this long first, so its message reaches the user.
_FORWARD_GRACE_S = 1.0


def _let_the_launcher_forward_output() -> None:
    try:
        sys.stdout.flush()
    except Exception:  # noqa: BLE001 - a closed stdout must not stop the abort
        pass
    time.sleep(_FORWARD_GRACE_S)


def _abort(exc: BaseException) -> None:
    """Prints the exception with this rank's number and aborts every rank."""
    sys.stderr.write(f"ranvier.distributed: rank {_world.rank} of {_world.size} raised during "
                     f"distributed training; aborting the job so the other ranks do not wait:\n")
    traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    sys.stderr.flush()
    _let_the_launcher_forward_output()
    try:
        _world.comm.Abort(1)
    finally:
        os._exit(1)
