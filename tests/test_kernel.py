"""The simulator's lean kernel runs a model exactly as SimPy does: the same trace, the same times, the same count.

The organisation simulator's people are state machines driven by the kernel's callbacks (``after``, ``urgent``,
``call_at``), each remembering the number of the one call that may still move it on. Here the same two workers —
tasks, idle waits for a signal, interrupts at tied times, one leaving — run as SimPy processes and as such state
machines, and must leave the same trace and count the same events.
"""

from __future__ import annotations

from functools import partial

import pytest
import simpy

from mlorg.sim.kernel import Clock

HORIZON = 20.0


def simpy_script(env: simpy.Environment) -> tuple[list[tuple], int]:
    log: list[tuple] = []
    signals: dict[str, simpy.Event] = {}

    def worker(name: str, tasks: list[float]):
        for hours in tasks:
            try:
                log.append((env.now, name, "starts", hours))
                yield env.timeout(hours)
                log.append((env.now, name, "done", hours))
            except simpy.Interrupt as stop:
                log.append((env.now, name, "interrupted", stop.cause))
                if stop.cause == "leaves":
                    return
            signals[name] = env.event()
            log.append((env.now, name, "idle", None))
            try:
                yield signals[name]
                log.append((env.now, name, "woken", None))
            except simpy.Interrupt as stop:
                log.append((env.now, name, "interrupted while idle", stop.cause))

    def at(time, callback):
        env.timeout(time - env.now).callbacks.append(callback)

    a = env.process(worker("a", [1.0, 2.0, 0.5, 3.0]))
    b = env.process(worker("b", [1.0, 1.0, 4.0]))
    script(at, log, a.interrupt, b.interrupt, lambda name: signals[name].succeed() if name in signals else None)
    env.run(until=HORIZON)
    return log, next(env._eid)


class LeanWorker:
    """``worker`` of :func:`simpy_script` as a state machine on the lean kernel, the way the organisation
    simulator's people are written."""

    def __init__(self, clock: Clock, name: str, tasks: list[float], log: list[tuple]):
        self.clock, self.name, self.tasks, self.log = clock, name, iter(tasks), log
        self.state, self.alive, self.signalled = "starting", True, False
        self.expect = clock.urgent(self.resume)  # SimPy's process start

    def resume(self, number: int) -> None:
        if number != self.expect:
            return  # an interrupt overtook this call
        if self.state == "working":
            self.log.append((self.clock.now, self.name, "done", self.hours))
            self.idle()
        elif self.state == "idle":
            self.log.append((self.clock.now, self.name, "woken", None))
            self.next_task()
        else:
            self.next_task()

    def next_task(self) -> None:
        self.hours = next(self.tasks, None)
        if self.hours is None:
            self.end()
            return
        self.log.append((self.clock.now, self.name, "starts", self.hours))
        self.state, self.expect = "working", self.clock.after(self.hours, self.resume)

    def idle(self) -> None:
        self.state, self.expect, self.signalled = "idle", -1, False
        self.log.append((self.clock.now, self.name, "idle", None))

    def signal(self) -> None:
        """``signals[name].succeed()``: an event SimPy schedules whether or not the process still waits on it."""
        number = self.clock.after(0.0, self.resume)
        if self.state == "idle" and not self.signalled:
            self.expect, self.signalled = number, True

    def interrupt(self, cause: str) -> None:
        if not self.alive:
            raise RuntimeError(f"{self.name} has terminated and cannot be interrupted.")
        self.clock.urgent(partial(self.interrupted, cause))

    def interrupted(self, cause: str, _number: int) -> None:
        if not self.alive:
            return
        self.expect = -1
        if self.state == "idle":
            self.log.append((self.clock.now, self.name, "interrupted while idle", cause))
            self.next_task()
            return
        self.log.append((self.clock.now, self.name, "interrupted", cause))
        if cause == "leaves":
            self.end()
        else:
            self.idle()

    def end(self) -> None:
        self.alive = False
        self.clock.count_event()  # SimPy schedules an ended process as an event


def lean_script(clock: Clock) -> tuple[list[tuple], int]:
    log: list[tuple] = []
    a = LeanWorker(clock, "a", [1.0, 2.0, 0.5, 3.0], log)
    b = LeanWorker(clock, "b", [1.0, 1.0, 4.0], log)
    workers = {"a": a, "b": b}
    script(clock.call_at, log, a.interrupt, b.interrupt, lambda name: workers[name].signal()
           if workers[name].state != "starting" else None)
    clock.run_until()
    return log, next(clock._eid)


def script(at, log, interrupt_a, interrupt_b, signal) -> None:
    """Timed calls at tied times: a tick with both tasks' ends, signals, interrupts, a worker woken and interrupted
    in one instant, one leaving and the other interrupted late."""
    at(1.0, lambda _e: log.append((1.0, "tick", "at 1", None)))
    at(1.5, lambda _e: signal("a"))
    at(2.0, lambda _e: interrupt_a("incident"))
    at(2.0, lambda _e: interrupt_b("incident"))
    at(3.0, lambda _e: [signal(n) for n in ("a", "b")])
    at(3.0, lambda _e: interrupt_b("incident"))
    at(5.0, lambda _e: interrupt_a("leaves"))
    at(5.0, lambda _e: interrupt_b("late"))


def test_state_machines_on_the_lean_kernel_give_simpys_trace_and_event_count():
    expected, simpy_count = simpy_script(simpy.Environment())
    actual, lean_count = lean_script(Clock(until=HORIZON))
    assert len(expected) > 20
    assert actual == expected
    assert lean_count == simpy_count


def test_a_call_at_or_after_the_horizon_never_runs_and_exact_times_are_kept():
    clock = Clock(until=2.0)
    ran = []
    clock.call_at(2.0, lambda _n: ran.append("at the horizon"))
    clock.call_at(5.0, lambda _n: ran.append("after it"))
    clock.call_exactly_at(1.0 + 1e-15, lambda _n: ran.append(clock.now))
    clock.call_exactly_at(2.0, lambda _n: ran.append("exactly at the horizon"))
    clock.run_until()
    assert ran == [1.0 + 1e-15]


def test_bad_delays_and_times_are_refused():
    clock = Clock(until=2.0)
    with pytest.raises(ValueError, match="Negative delay"):
        clock.after(-1.0, lambda _n: None)
    clock.call_at(1.0, lambda _n: clock.call_exactly_at(0.5, lambda _m: None))
    with pytest.raises(ValueError, match="before now"):
        clock.run_until()


def test_an_error_in_a_callback_stops_the_run():
    clock = Clock(until=2.0)
    clock.call_at(1.0, lambda _n: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        clock.run_until()
