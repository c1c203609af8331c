"""The simulator's lean kernel runs a model exactly as SimPy does: the same trace, the same times, the same count."""

from __future__ import annotations

import pytest
import simpy

from mlorg.sim.kernel import Clock


def run_script(env: simpy.Environment, lean: bool) -> tuple[list[tuple], int]:
    """Two workers that wait on tasks and signals, interrupted by timed callbacks and by each other at tied times;
    run on plain SimPy (``lean=False``) or on the lean kernel's own calls."""
    log: list[tuple] = []
    signals: dict[str, object] = {}

    def wait(delay):
        return env.wait(delay) if lean else env.timeout(delay)

    def at(time, callback):
        if lean:
            env.call_at(time, callback)
        else:
            env.timeout(time - env.now).callbacks.append(callback)

    def worker(name: str, tasks: list[float]):
        for hours in tasks:
            try:
                log.append((env.now, name, "starts", hours))
                yield wait(hours)
                log.append((env.now, name, "done", hours))
            except simpy.Interrupt as stop:
                log.append((env.now, name, "interrupted", stop.cause))
                if stop.cause == "leaves":
                    return
            signals[name] = env.signal() if lean else env.event()
            log.append((env.now, name, "idle", None))
            try:
                yield signals[name]
                log.append((env.now, name, "woken", None))
            except simpy.Interrupt as stop:
                log.append((env.now, name, "interrupted while idle", stop.cause))

    start = env.start if lean else env.process
    a = start(worker("a", [1.0, 2.0, 0.5, 3.0]))
    b = start(worker("b", [1.0, 1.0, 4.0]))
    at(1.0, lambda _e: log.append((env.now, "tick", "at 1", None)))  # tied with both tasks' ends
    at(1.5, lambda _e: signals["a"].succeed() if "a" in signals else None)
    at(2.0, lambda _e: a.interrupt("incident"))
    at(2.0, lambda _e: b.interrupt("incident"))
    at(3.0, lambda _e: [signals[n].succeed() for n in ("a", "b")])
    at(3.0, lambda _e: b.interrupt("incident"))  # woken and interrupted in one instant
    at(5.0, lambda _e: a.interrupt("leaves"))
    at(5.0, lambda _e: b.interrupt("late"))
    if lean:
        env.run_until()
    else:
        env.run(until=20.0)
    return log, next(env._eid)


def test_lean_kernel_gives_simpys_trace_and_event_count():
    expected, simpy_count = run_script(simpy.Environment(), lean=False)
    actual, lean_count = run_script(Clock(until=20.0), lean=True)
    assert len(expected) > 20
    assert actual == expected
    assert lean_count == simpy_count


def test_a_process_that_ended_cannot_be_interrupted():
    env = Clock(until=2.0)

    def brief():
        yield env.wait(1.0)

    process = env.start(brief())
    env.run_until()
    try:
        process.interrupt("late")
    except RuntimeError as error:
        assert "terminated" in str(error)
    else:
        raise AssertionError("interrupting an ended process must fail, as in SimPy")


def test_an_error_in_a_process_or_a_callback_stops_the_run():
    env = Clock(until=2.0)

    def failing():
        yield env.wait(1.0)
        raise KeyError("lost")

    env.start(failing())
    with pytest.raises(KeyError, match="lost"):
        env.run_until()
    env = Clock(until=2.0)
    env.call_at(1.0, lambda _event: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        env.run_until()
