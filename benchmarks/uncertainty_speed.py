"""Probabilistic sensitivity analysis, timed: ``mlorg run scenarios/platform_team.toml --uncertainty 50`` with 10
replications each (510 runs on a process pool of every core; target: within 2 minutes on 2 cores), against the
same runs' own cost measured serially in this run (the ideal being that cost divided by the cores).

Run: uv run python benchmarks/uncertainty_speed.py [--draws 50] [--replications 10]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import joblib

from mlorg.scenario import load
from mlorg.sweeps.execute import run_chunk
from mlorg.uncertainty import draw_table, drawn_scenarios, run_uncertain

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "platform_team.toml"
TARGET_S = 120.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=50)
    parser.add_argument("--replications", type=int, default=10)
    args = parser.parse_args()
    scenario = load(SCENARIO)
    runs = (args.draws + 1) * args.replications
    cores = joblib.cpu_count()

    # The runs' own cost: a sample of the drawn scenarios (every fifth), serially in this process.
    sample = drawn_scenarios(scenario, draw_table(scenario, args.draws, 0))[::5]
    start = time.perf_counter()
    for s in sample:
        run_chunk(s, 0, 0, range(args.replications))
    per_run = (time.perf_counter() - start) / (len(sample) * args.replications)

    start = time.perf_counter()
    result = run_uncertain(scenario, args.draws, args.replications, 0)
    wall = time.perf_counter() - start
    ideal = per_run * runs / cores
    print(f"platform_team, {args.draws} draws of {len(scenario.uncertain)} uncertain inputs x {args.replications} "
          f"replications + the point values: {runs} runs on {cores} cores")
    print(f"  one run, serially in this process: {per_run * 1000:.0f} ms (a sample of {len(sample)} draws)")
    print(f"  whole analysis: {wall:.1f} s (target {TARGET_S:.0f} s: {'met' if wall <= TARGET_S else 'NOT met'}); "
          f"ideal on {cores} cores {ideal:.1f} s, so {wall / ideal:.2f}x the ideal (pool start-up and pickling)")
    summary = result.summary.loc["net_value_usd"]
    print(f"  net value: {summary['mean']:,.0f} [{summary['ci95_low']:,.0f}, {summary['ci95_high']:,.0f}] over runs; "
          f"{summary['low_with_inputs']:,.0f} to {summary['high_with_inputs']:,.0f} with input uncertainty")


if __name__ == "__main__":
    main()
