"""SimPy's event loop with less Python per event, in the same order event for event.

The organisation simulator schedules most of its events as plain callbacks at a time (a review ends, a model goes
live, a retrain falls due). A SimPy ``Timeout`` for each costs an object with checks, a method call to schedule it
and one more per step; here such a callback goes onto SimPy's own queue as a bare :class:`Call`, and the run loop
is ``Environment.step`` inlined. Entries keep SimPy's key — (time, priority, SimPy's insertion count) — so every
event, process step and interrupt happens in exactly the order and at exactly the time SimPy would give it.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from heapq import heappop, heappush

import simpy
from simpy.events import NORMAL, URGENT


class Call:
    """A callback due at a time: all that SimPy's loop reads of an event is its callbacks and that it succeeded."""

    __slots__ = ("callbacks",)
    _ok = True
    _value = None

    def __init__(self, callback: Callable) -> None:
        self.callbacks = [callback]


class Clock(simpy.Environment):
    """A SimPy environment with :meth:`call_at` and a leaner :meth:`run_until`; processes and events work as in
    SimPy."""

    def call_at(self, time: float, callback: Callable) -> None:
        """Call ``callback(event)`` at ``time`` (now, if that has passed), as ``timeout(delay).callbacks`` would:
        the same delay arithmetic, priority and insertion count."""
        now = self._now
        delay = time - now
        heappush(self._queue, (now + (delay if delay > 0.0 else 0.0), NORMAL, next(self._eid), Call(callback)))

    def run_until(self, until: float) -> None:
        """``run(until=until)``: process every event before ``until`` and stop there."""
        if not until > self._now:
            raise ValueError(f"until ({until}) must be greater than the current simulation time")
        stop = simpy.Event(self)  # before all regular events at ``until``, as in SimPy
        stop._ok, stop._value = True, None
        self.schedule(stop, URGENT, until - self._now)
        queue = self._queue
        while True:
            self._now, _, _, event = heappop(queue)
            if event is stop:
                next(self._eid)  # SimPy puts its stop event back on the queue as it stops: counted the same way
                return
            callbacks, event.callbacks = event.callbacks, None
            for callback in callbacks:
                callback(event)
            if not event._ok and not hasattr(event, "_defused"):
                # A process failed and nothing waited on it: raise a copy of its error, as SimPy does.
                error = type(event._value)(*event._value.args)
                error.__cause__ = event._value
                raise error


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a run. A run allocates hundreds of thousands of short-lived
    objects (events, records), and each of the collector's passes walks the growing state of the run (models,
    records); that took a sixth to a third of a large run. A run makes almost no reference cycles, and those few are
    collected at the next pass after it. Reference counting frees everything else as usual."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:  # a caller that had paused it keeps it paused
            gc.enable()
