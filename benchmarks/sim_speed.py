"""Simulator speed, measured against a bare SimPy loop in the same run.

Prints:
  * events per second of the organisation simulator (uber_scale, five years) next to a bare SimPy loop
    of processes that only wait on timeouts, and the overhead ratio (target <= 3x);
  * wall time of one replication of each shipped scenario over two simulated years
    (target: platform_team < 1 s), and of 30 replications;
  * wall time and event count of one five-year uber_scale replication, with and without serving
    (target < 10 s with serving on), and with drift, every monitor and incidents on as well;
  * the overhead of model classes: uber_scale (one replication) and platform_team (30 replications, target
    < 10 s) with their portfolios against the same scenarios with one class and no governance.

Run: uv run python benchmarks/sim_speed.py [--quick]
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np
import simpy

from mlorg.results import replicate, simulate
from mlorg.scenario import load
from mlorg.sim import run_once

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def bare_simpy_events_per_second(processes: int = 500, events: int = 400_000) -> float:
    """Processes that do nothing but wait on exponential timeouts: SimPy's own floor."""
    env = simpy.Environment()
    delays = np.random.default_rng(0).exponential(1.0, events).tolist()

    def waiter(env: simpy.Environment, offset: int):
        i = offset
        while True:
            yield env.timeout(delays[i % events])
            i += processes

    for p in range(processes):
        env.process(waiter(env, p))
    start = time.perf_counter()
    env.run(until=events / processes)
    elapsed = time.perf_counter() - start
    return next(env._eid) / elapsed


def without_serving(scenario):
    return scenario.replace(serving=dataclasses.replace(scenario.serving, enabled=False))


def with_drift(scenario):
    """The scenario with drift, incidents and every monitor of fraud_drift_full (the workshop's settings)."""
    full = load(SCENARIOS / "fraud_drift_full.toml")
    caps = scenario.platform.capabilities
    caps = dataclasses.replace(caps, monitoring=dataclasses.replace(caps.monitoring, built=True))
    return scenario.replace(drift=full.drift, monitoring=full.monitoring, incidents=full.incidents,
                            impact=full.impact, platform=dataclasses.replace(scenario.platform, capabilities=caps))


def simulator_events_per_second(scenario, repeats: int) -> tuple[float, float, int]:
    best = float("inf")
    for r in range(repeats):
        start = time.perf_counter()
        out = run_once(scenario, seed=0, replication=r)
        best = min(best, time.perf_counter() - start)
    return out.event_count / best, best, out.event_count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and replications")
    args = parser.parse_args()
    repeats = 1 if args.quick else 3

    uber = load(SCENARIOS / "uber_scale.toml")
    bare = max(bare_simpy_events_per_second() for _ in range(repeats))
    # The event rate is the event kernel's: serving is settled outside events, so it is left out here.
    ours, plain_seconds, uber_events = simulator_events_per_second(without_serving(uber), repeats)
    print("== event rate")
    print(f"bare SimPy loop          {bare:12,.0f} events/s")
    print(f"mlorg simulator (uber)   {ours:12,.0f} events/s")
    print(f"overhead                 {bare / ours:12.2f} x   (target <= 3x)")

    _, serving_seconds, _ = simulator_events_per_second(uber, repeats)
    print("\n== uber_scale, one replication of five simulated years")
    print(f"without serving {plain_seconds:.2f} s, {uber_events:,} events")
    print(f"with serving    {serving_seconds:.2f} s   (target < 10 s)")
    _, drift_seconds, drift_events = simulator_events_per_second(with_drift(uber), repeats)
    print(f"with serving, drift, monitors and incidents {drift_seconds:.2f} s, {drift_events:,} events")

    print("\n== the portfolio's overhead: each scenario with its classes, and with one class and no governance")
    platform = load(SCENARIOS / "platform_team.toml")
    n = 5 if args.quick else 30
    for label, scenario, runs in (("uber_scale, 1 run", uber, 1), (f"platform_team, {n} runs", platform, n)):
        seconds = {}
        for kind, variant in (("classes", scenario), ("one class", scenario.replace(portfolio=()))):
            start = time.perf_counter()
            replicate(variant, runs, seed=0, keep_runs=False)
            seconds[kind] = time.perf_counter() - start
        print(f"{label:24} classes {seconds['classes']:6.2f} s, one class {seconds['one class']:6.2f} s, ratio "
              f"{seconds['classes'] / seconds['one class']:.2f}")

    print(f"\n== shipped scenarios, two simulated years: one replication (simulate + frames) and {n}")
    print(f"{'scenario':20} {'1 run (s)':>10} {f'{n} runs (s)':>12}")
    for path in sorted(SCENARIOS.glob("*.toml")):
        scenario = load(path)
        scenario = scenario.replace(horizon_days=730.0)
        start = time.perf_counter()
        simulate(scenario, seed=0)
        one = time.perf_counter() - start
        start = time.perf_counter()
        replicate(scenario, n, seed=0, keep_runs=False)
        many = time.perf_counter() - start
        note = "   (target < 1 s)" if scenario.name == "platform_team" else ""
        print(f"{scenario.name:20} {one:10.2f} {many:12.2f}{note}")


if __name__ == "__main__":
    main()
