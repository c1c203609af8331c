"""SimPy's event loop with less Python per event, in the same order event for event.

The organisation simulator schedules its events as plain callbacks: at a time (a review ends, a model goes live, a
retrain falls due), after a delay (a person's task ends), or urgently now (a person starts, or is interrupted). Its
people are state machines driven by these callbacks rather than SimPy processes: SimPy's general machinery — a
``Timeout`` or ``Event`` object for every wait, ``Process._resume``'s handling of every kind of yield, a generator
to resume — was most of the kernel's cost. Every entry keeps the key SimPy would give the event it stands for (time,
priority, SimPy's insertion count), taken at the same moment SimPy takes it, so every callback, task end and
interrupt happens in exactly the order and at exactly the time SimPy would give it, and the event count is SimPy's.

Work handed over is a zero-delay call (SimPy's ``event.succeed()``), due after everything already due now: such
calls wait in a first-in-first-out line beside the heap rather than in it. Their keys (now, normal priority, rising
insertion counts) are already in order there, and the loop takes whichever of the line's first and the heap's first
has the lower key, so the order is the heap's own; a heap of thousands of calls months ahead made each of them cost a
push and a pop down a dozen levels.

A callback is called with its entry's insertion number. A person remembers the number of the one call that may
still move them on; a call that an interrupt overtook finds another number and does nothing, as a SimPy event that
lost its process's callback does.
"""

from __future__ import annotations

import gc
import math
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from heapq import heappop, heappush
from types import MethodType

import simpy
from simpy.events import NORMAL, URGENT

__all__ = ["NORMAL", "URGENT", "Clock", "collector_paused"]

Callback = Callable[[int], object]  # called with the number of the entry that calls it


class Clock(simpy.Environment):
    """A SimPy environment with leaner timed callbacks (:meth:`call_at`, :meth:`after`, :meth:`urgent`) and run
    loop (:meth:`run_until`)."""

    def __init__(self, until: float = math.inf) -> None:
        super().__init__()
        self.until = until  # the horizon: nothing at or after it ever runs
        self._due_now: deque[tuple] = deque()  # zero-delay calls, in key order (see the module's docstring)

    def call_at(self, time: float, callback: Callback) -> None:
        """Call ``callback`` at ``time`` (now, if that has passed), where ``timeout(delay).callbacks`` would call it:
        the same delay arithmetic, priority and insertion count, with no event object around it. A call at or after
        the horizon is dropped: it would never run."""
        if not time < self.until:
            return
        now = self._now
        delay = time - now
        heappush(self._queue, (now + (delay if delay > 0.0 else 0.0), NORMAL, next(self._eid), callback))

    def call_exactly_at(self, time: float, callback: Callback) -> None:
        """Call ``callback`` at ``time`` (not before now), unchanged: for a caller that worked the time out with
        :meth:`call_at`'s arithmetic from an earlier instant, which :meth:`call_at` from now might round
        differently. Dropped at or after the horizon."""
        if not time < self.until:
            return
        if time < self._now:
            raise ValueError(f"time {time} is before now ({self._now})")
        heappush(self._queue, (time, NORMAL, next(self._eid), callback))

    def after(self, delay: float, callback: Callback) -> int:
        """Call ``callback`` in ``delay`` hours, as a process's ``yield timeout(delay)`` would resume it (with a
        delay of 0, as ``event.succeed()`` would). Returns the entry's number."""
        if delay < 0:
            raise ValueError(f"Negative delay {delay}")
        number = next(self._eid)
        if delay == 0.0:
            self._due_now.append((self._now, NORMAL, number, callback))
        else:
            heappush(self._queue, (self._now + delay, NORMAL, number, callback))
        return number

    def urgent(self, callback: Callback) -> int:
        """Call ``callback`` now, before anything else due now, as SimPy starts a process or delivers an interrupt.
        Returns the entry's number."""
        number = next(self._eid)
        heappush(self._queue, (self._now, URGENT, number, callback))
        return number

    def discard(self) -> None:
        """Drop every call still pending (the run is over)."""
        self._queue.clear()
        self._due_now.clear()

    def count_event(self) -> None:
        """Count an event SimPy would schedule with nothing to run: a process that ends."""
        next(self._eid)

    def run_until(self) -> None:
        """``run(until=self.until)``: process every event before the horizon and stop there."""
        until = self.until
        if not until > self._now:
            raise ValueError(f"until ({until}) must be greater than the current simulation time")
        stop = simpy.Event(self)  # before all regular events at ``until``, as in SimPy
        stop._ok, stop._value = True, None
        self.schedule(stop, URGENT, until - self._now)
        queue, due_now = self._queue, self._due_now
        while True:
            if due_now and not queue[0] < due_now[0]:  # the lower key first: no two keys are equal
                self._now, _, number, entry = due_now.popleft()
            else:
                self._now, _, number, entry = heappop(queue)
            kind = entry.__class__
            if kind is partial or kind is MethodType or not isinstance(entry, simpy.Event):
                entry(number)
            elif entry is stop:
                next(self._eid)  # SimPy puts its stop event back on the queue as it stops: counted the same way
                return
            else:
                self._process_simpy_event(entry)

    @staticmethod
    def _process_simpy_event(event: simpy.Event) -> None:
        """SimPy's ``step`` for an event of SimPy's own (the simulator schedules none, but the API allows it)."""
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
    objects (records, work items), and each of the collector's passes walks the growing state of the run (models,
    records); that took a sixth to a third of a large run. A run makes almost no reference cycles, and those few are
    collected at the next pass after it. Reference counting frees everything else as usual."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:  # a caller that had paused it keeps it paused
            gc.enable()
