"""The simulator's lean kernel runs a model exactly as SimPy does: the same trace, the same times, the same count.

The organisation simulator's people are state machines driven by the kernel's callbacks (``after``, ``urgent``,
``call_at``), each remembering the number of the one call that may still move it on. Here the same two workers —
tasks, idle waits for a signal, interrupts at tied times, one leaving — run as SimPy processes and as such state
machines, and must leave the same trace and count the same events. Calls that make calls of every kind, at tied
times, must run in SimPy's order; and a run must let go of its working state as it ends.
"""

from __future__ import annotations

import random
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


def _branching_script(schedule, now, seed: int) -> list[tuple]:
    """Calls that make calls: each call logs itself and makes up to three more — zero-delay, urgent, after a delay
    or at a time — on a coarse grid of times, so that many fall due in the same instant. ``schedule(kind, time or
    delay, callback)`` is the kernel under test; ``now()`` its clock."""
    log: list[tuple] = []
    rng = random.Random(seed)  # drawn in the order the calls run: the same draws only if the same order

    def call(tag: str, _number) -> None:
        log.append((now(), tag))
        if len(log) > 400:
            return
        for i in range(rng.choice((0, 1, 2, 3))):
            kind, step = rng.choice(("zero", "urgent", "after", "at")), rng.choice((0.0, 0.5, 1.0, 1.5))
            schedule(kind, now() + step if kind == "at" else step, partial(call, f"{tag}.{i}"))

    for i in range(4):
        schedule("at", float(i % 2), partial(call, str(i)))
    return log


def test_zero_delay_urgent_and_timed_calls_run_in_simpys_order():
    # Zero-delay calls wait in a line beside the heap; the loop must still take every call in SimPy's key order.
    from simpy.events import NORMAL, URGENT

    for seed in range(25):
        env = simpy.Environment()

        def simpy_schedule(kind, value, callback, env=env):
            event = simpy.Event(env)
            event.callbacks.append(callback)
            event._ok, event._value = True, None
            if kind == "zero":
                env.schedule(event, NORMAL, 0.0)  # event.succeed()
            elif kind == "urgent":
                env.schedule(event, URGENT, 0.0)  # a process start or an interrupt
            else:
                env.schedule(event, NORMAL, value - env.now if kind == "at" else value)

        expected = _branching_script(simpy_schedule, lambda env=env: env.now, seed)
        env.run(until=HORIZON)
        simpy_count = next(env._eid)

        clock = Clock(until=HORIZON)

        def lean_schedule(kind, value, callback, clock=clock):
            if kind == "zero":
                clock.after(0.0, callback)
            elif kind == "urgent":
                clock.urgent(callback)
            elif kind == "after":
                clock.after(value, callback)
            else:
                clock.call_at(value, callback)

        actual = _branching_script(lean_schedule, lambda clock=clock: clock.now, seed)
        clock.run_until()
        assert actual == expected, seed
        assert next(clock._eid) == simpy_count
        assert sum(tag.count(".") >= 2 for _, tag in expected) > 0  # calls made by calls made by calls


@pytest.mark.parametrize("name", ["uber_scale", "fraud_drift_full", "platform_team"])
def test_a_run_leaves_nothing_for_the_cyclic_collector(name):
    # A run's people, pending calls and parts refer to one another in cycles; the run lets go of them as it ends, so
    # reference counting frees them then, rather than a collector pass over a quarter of a million objects later.
    # uber_scale has leavers (a person who left kept their draws in a cycle), fraud_drift_full incidents.
    import gc
    from pathlib import Path

    from mlorg.scenario import load
    from mlorg.sim import run_once

    scenario = load(Path(__file__).resolve().parents[1] / "scenarios" / f"{name}.toml").replace(horizon_days=400.0)
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)  # what the collector finds unreachable is kept in gc.garbage to look at
    try:
        out = run_once(scenario, seed=3)
        gc.collect()
        left = sorted({f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.garbage
                       if type(o).__module__.startswith(("mlorg", "numpy.random", "functools"))})
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert len(out.models) > 0 and out.event_count > 200
    assert left == []


def test_a_simulation_runs_once():
    from pathlib import Path

    from mlorg.scenario import load
    from mlorg.sim import OrgSimulation

    scenario = load(Path(__file__).resolve().parents[1] / "scenarios" / "first_mle.toml").replace(horizon_days=60.0)
    simulation = OrgSimulation(scenario, seed=1)
    assert simulation.run().event_count > 0
    with pytest.raises(RuntimeError, match="^this simulation has run: make another to run again$"):
        simulation.run()
