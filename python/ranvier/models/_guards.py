"""What keeps a model's structure still while it runs: calls in flight (fit, evaluate,
predict, ...) register themselves (``registers``), and structural changes (add, pop,
build, compile, trainable flags, set_weights with other shapes) go through
``StructureGuard._structural``, which refuses them while any call runs."""
from __future__ import annotations

import contextlib
import functools
import threading
from typing import Dict, Optional

_get_ident = threading.get_ident  # bound once: the wrapper below runs on every predict


def registers(what: str):
    """Runs the method as a registered call of the model (see ``StructureGuard._check_mutable``):
    while it runs, structural changes of the model are refused with RuntimeError.

    The common path takes no lock (predict is latency-sensitive): each thread only touches
    its own entry of ``_active`` (single dict operations, atomic under the GIL). A structural
    change sets ``_changing`` before it reads ``_active``, and a call reads ``_changing``
    after registering: either the change sees the call (and is refused) or the call sees the
    change and waits for it on ``_state_lock`` before going on."""
    def deco(fn):
        @functools.wraps(fn)
        def wrapper(self, *args, **kwargs):
            me = _get_ident()
            active = self._active
            entry = active.get(me)
            if entry is None:
                active[me] = entry = [what, 1]
            else:
                entry[1] += 1
            if self._changing:  # a structural change is under way: let it finish first
                with self._state_lock:
                    pass
            try:
                return fn(self, *args, **kwargs)
            finally:
                entry[1] -= 1
                if not entry[1]:
                    del active[me]
        return wrapper
    return deco



class StructureGuard:
    """The registry of calls in flight and the structural-change lock of a model
    (``_active``, ``_state_lock`` and ``_changing``, set up by ``_init_guard``)."""

    name: str

    def _init_guard(self) -> None:
        # Calls in flight (fit/evaluate/predict/...): {thread id: [what, depth]}; structural
        # changes (add, pop, build, compile, layer.trainable, set_weights with other shapes)
        # are refused while any runs. Both guarded by _state_lock.
        self._active: Dict[int, list] = {}
        self._state_lock = threading.RLock()
        self._changing = 0  # structural changes under way (they hold _state_lock; see registers)

    def _check_mutable(self, what: str) -> None:
        """RuntimeError when a fit/evaluate/predict/... of this model is running (in another
        thread, or in this one with the change coming from one of its callbacks): the
        running call uses the network, its buffers and the layers' workspaces. Call with
        _state_lock held (calls register under it), so no call can start meanwhile."""
        active = list(getattr(self, "_active", {}).items())  # one atomic snapshot
        if not active:
            return
        me = threading.get_ident()
        for tid, (running, _) in active:
            if tid != me:
                raise RuntimeError(
                    f"{what}: model '{self.name}' is running {running} in another thread; its structure "
                    f"cannot change until that call returns")
        running = dict(active)[me][0]
        raise RuntimeError(
            f"{what}: model '{self.name}' is running {running} (this is a nested call, e.g. from one "
            f"of its callbacks); change the model's structure after {running} returns")

    @contextlib.contextmanager
    def _structural(self, what: str):
        """Holds ``_state_lock`` for a structural change, refusing it (``_check_mutable``)
        while a call of the model runs."""
        with self._state_lock:
            self._changing += 1
            try:
                self._check_mutable(what)
                yield
            finally:
                self._changing -= 1

    def _busy_in_other_thread(self) -> Optional[str]:
        """What another thread is running on this model (None when nothing)."""
        me = threading.get_ident()
        for tid, (running, _) in list(getattr(self, "_active", {}).items()):
            if tid != me:
                return running
        return None

    @contextlib.contextmanager
    def _hold_between_steps(self):
        """The inference lock while the weights are read from outside the model's own calls
        (``_saving_common.between_steps``): a no-op when unbuilt, inside the model's own calls
        (fit's callbacks run between steps) and where this thread holds it already; refused
        inside a Python metric's update_state (a training step holds it), also a no-op."""
        net = self._net_obj
        me = threading.get_ident()
        if net is None or me in getattr(self, "_active", {}) or self._inference_holder == me:
            yield
            return
        try:
            net.lock_inference()
        except RuntimeError:  # inside a Python metric's update_state: a training step holds it
            yield
            return
        self._inference_holder = me  # the layers' own reads inside skip the (non-recursive) lock
        try:
            yield
        finally:
            self._inference_holder = None
            net.unlock_inference()

    @contextlib.contextmanager
    def _inference_lock(self):
        """Holds the network's inference mutex (the one predict and the C++ trainer take
        while they run the layers)."""
        net = self._net
        net.lock_inference()
        self._inference_holder = threading.get_ident()  # the layers' own calls skip the lock
        try:
            yield
        finally:
            self._inference_holder = None
            net.unlock_inference()
