"""SimPy's event loop with less Python per event, in the same order event for event.

The organisation simulator schedules most of its events as plain callbacks at a time (a review ends, a model goes
live, a retrain falls due), and its people are processes that only ever wait for a task's end, for work handed to
them, or for an interrupt. SimPy's general machinery for these — a ``Timeout`` object with checks, an ``Event``
with ``succeed()``, ``Process._resume``'s handling of every kind of yield — was most of the kernel's cost. Here a
callback goes onto SimPy's own queue bare, a process is a :class:`Process` that resumes its
generator directly, and the run loop is ``Environment.step`` inlined. Every entry keeps SimPy's key — (time,
priority, SimPy's insertion count), taken at the same moments as SimPy takes them — so every callback, process step
and interrupt happens in exactly the order and at exactly the time SimPy would give it, and the event count is
SimPy's.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from functools import partial
from heapq import heappop, heappush

import simpy
from simpy.events import NORMAL, URGENT


class Wait:
    """What a process waits on for a while (SimPy's ``timeout``): the process's resume is its one callback."""

    __slots__ = ("callbacks",)

    def __init__(self) -> None:
        self.callbacks: list[Callable] = []


class Signal:
    """What a process waits on until someone fires it: SimPy's ``env.event()`` and ``succeed()``."""

    __slots__ = ("env", "callbacks")

    def __init__(self, env: Clock) -> None:
        self.env = env
        self.callbacks: list[Callable] = []

    def succeed(self) -> None:
        env = self.env
        heappush(env._queue, (env._now, NORMAL, next(env._eid), self))


class Process:
    """A generator that yields what it waits for (a :meth:`Clock.wait` or a :class:`Signal`), resumed as SimPy
    resumes a process: started by an urgent event, interrupted by an urgent event that detaches it from what it
    waited for and throws :class:`simpy.Interrupt` into it."""

    __slots__ = ("env", "generator", "target", "alive")

    def __init__(self, env: Clock, generator: Generator) -> None:
        self.env, self.generator, self.target, self.alive = env, generator, None, True
        heappush(env._queue, (env._now, URGENT, next(env._eid), self._resume))  # SimPy's Initialize

    def _resume(self, _event) -> None:
        try:
            target = self.generator.send(None)
        except StopIteration:
            self._end()
            return
        self.target = target
        target.callbacks.append(self._resume)

    def interrupt(self, cause: object) -> None:
        if not self.alive:
            raise RuntimeError(f"{self} has terminated and cannot be interrupted.")
        env = self.env
        heappush(env._queue, (env._now, URGENT, next(env._eid), partial(self._interrupted, cause)))

    def _interrupted(self, cause: object, _event) -> None:
        if not self.alive:  # interrupted twice in one instant, and the first ended it
            return
        self.target.callbacks.remove(self._resume)
        try:
            target = self.generator.throw(simpy.Interrupt(cause))
        except StopIteration:
            self._end()
            return
        self.target = target
        target.callbacks.append(self._resume)

    def _end(self) -> None:
        self.alive = False
        next(self.env._eid)  # SimPy schedules an ended process as an event, with no callbacks: counted the same


class Clock(simpy.Environment):
    """A SimPy environment with leaner timed callbacks (:meth:`call_at`), waits (:meth:`wait`), signals, processes
    (:meth:`start`) and run loop (:meth:`run_until`)."""

    def __init__(self, until: float = math.inf) -> None:
        super().__init__()
        self.until = until  # the horizon: nothing at or after it ever runs

    def start(self, generator: Generator) -> Process:
        return Process(self, generator)

    def signal(self) -> Signal:
        return Signal(self)

    def wait(self, delay: float) -> Wait:
        """What a process yields to wait ``delay`` hours: SimPy's ``timeout(delay)``."""
        if delay < 0:
            raise ValueError(f"Negative delay {delay}")
        wait = Wait()
        heappush(self._queue, (self._now + delay, NORMAL, next(self._eid), wait))
        return wait

    def call_at(self, time: float, callback: Callable) -> None:
        """Call ``callback(None)`` at ``time`` (now, if that has passed), where ``timeout(delay).callbacks`` would
        call it: the same delay arithmetic, priority and insertion count, with no event object around it. A call at
        or after the horizon is dropped: it would never run."""
        if not time < self.until:
            return
        now = self._now
        delay = time - now
        heappush(self._queue, (now + (delay if delay > 0.0 else 0.0), NORMAL, next(self._eid), callback))

    def run_until(self) -> None:
        """``run(until=self.until)``: process every event before the horizon and stop there."""
        until = self.until
        if not until > self._now:
            raise ValueError(f"until ({until}) must be greater than the current simulation time")
        stop = simpy.Event(self)  # before all regular events at ``until``, as in SimPy
        stop._ok, stop._value = True, None
        self.schedule(stop, URGENT, until - self._now)
        queue = self._queue
        while True:
            self._now, _, _, entry = heappop(queue)
            kind = entry.__class__
            if kind is Wait or kind is Signal:  # resume the process waiting on it
                callbacks, entry.callbacks = entry.callbacks, None
                for callback in callbacks:
                    callback(entry)
            elif not isinstance(entry, simpy.Event):
                entry(None)  # a bare timed callback
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
