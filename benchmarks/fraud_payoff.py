"""The workshop's payoff on the reference pipeline, over seeds at full scale: what monitoring saved.

For each seed, `mlorg pipeline run scenarios/fraud_drift_full.toml` replays the same live days three times from the
same first model (see mlorg.pipeline.run): monitored (monitors, incident process, registry), without monitoring
(the same routine retrains and reviews) and the ceiling (the monitored run's actions, every model trained on every
true label). Prints per seed the whole-run fraud losses of each, the saving, the post-shift saving, the detection
lags and the days from the shift to a model in service, then the mean saving with a 95% t-interval over the seeds.
With --monitors it also replays each seed beside the untouched first model without causes and with the shift alone
(mlorg.pipeline.calibrate.shadow) and prints each detector's false alarms a month and its lag on the shift.
With --mirror it holds the simulator against the pipeline (mlorg.pipeline.mirror): the saving after the shift per
transaction scored, measured on the pipeline with the shift alone over the seeds, and predicted by the simulator
calibrated on the first seed.

Run: uv run python benchmarks/fraud_payoff.py [--seeds 0,1,2,3,4] [--scale full|small] [--monitors] [--mirror]
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import tempfile
import time
from pathlib import Path
from statistics import mean, stdev

from scipy import stats

from mlorg.pipeline.run import run_pipeline
from mlorg.pipeline.scale import SCALES, at_scale
from mlorg.scenario import load

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "fraud_drift_full.toml"


def interval(values: list[float]) -> tuple[float, float, float]:
    """Mean and the 95% t-interval of the mean."""
    m = mean(values)
    if len(values) < 2:
        return m, math.nan, math.nan
    half = stats.t.ppf(0.975, len(values) - 1) * stdev(values) / math.sqrt(len(values))
    return m, m - half, m + half


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--scale", choices=SCALES, default="full")
    parser.add_argument("--monitors", action="store_true", help="also measure false alarms and lags per detector")
    parser.add_argument("--mirror", action="store_true", help="only hold the simulator's saving against the pipeline's")
    args = parser.parse_args()
    scenario = at_scale(load(SCENARIO), args.scale)
    if args.mirror:
        return held_against_the_simulator(scenario, [int(s) for s in args.seeds.split(",")])
    savings, after_shift, ceilings = [], [], []
    print(f"{'seed':>4} {'AUC':>6} {'with':>9} {'without':>9} {'ceiling':>9} {'saving':>8} {'after shift':>11} "
          f"{'ceiling saving':>14} {'lag (days)':>10} {'to model':>8} {'s':>5}")
    for seed in (int(s) for s in args.seeds.split(",")):
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as folder:
            r = run_pipeline(scenario, Path(folder) / "registry.duckdb", seed=seed)
        seconds = time.perf_counter() - started
        since = r.losses_since_shift_usd
        shift_saving = since["without_monitoring"] - since["monitored"]
        lags = [v for v in r.detection_lag_days.get("fraud_pattern_shift", {}).values() if v is not None]
        savings.append(r.saving_usd)
        after_shift.append(shift_saving)
        ceilings.append(r.ceiling_saving_usd)
        to_model = "—" if r.time_to_model_days is None else f"{r.time_to_model_days:.0f}"
        print(f"{seed:>4} {r.offline_auc:6.3f} {r.fraud_losses_usd:9,.0f} "
              f"{r.fraud_losses_usd_without_monitoring:9,.0f} {r.fraud_losses_usd_ceiling:9,.0f} "
              f"{r.saving_usd:8,.0f} {shift_saving:11,.0f} "
              f"{r.ceiling_saving_usd:14,.0f} {min(lags) if lags else math.nan:10.0f} {to_model:>8} {seconds:5.0f}")
    for name, values in (("saving", savings), ("saving after the shift", after_shift),
                         ("ceiling saving", ceilings)):
        m, lo, hi = interval(values)
        print(f"{name}: mean ${m:,.0f}, 95% interval ${lo:,.0f} to ${hi:,.0f} over {len(values)} seeds")
    if args.monitors:
        monitors(scenario, [int(s) for s in args.seeds.split(",")])


def held_against_the_simulator(scenario, seeds: list[int]) -> None:
    """The saving after the shift per transaction scored: the pipeline's per seed, and the calibrated simulator's."""
    from mlorg.pipeline import mirror

    started = time.perf_counter()
    predicted = mirror.predicted(scenario, calibration_seed=seeds[0], replications=100)
    print(f"simulator (calibrated on seed {seeds[0]}, 100 paired replications, {time.perf_counter() - started:.0f} s): "
          f"${predicted.mean:.4f} a transaction, 95% interval ${predicted.ci95[0]:.4f} to ${predicted.ci95[1]:.4f}")
    started = time.perf_counter()
    measured = mirror.measured(scenario, seeds)
    print(f"pipeline (the shift alone, {len(seeds)} seeds, {time.perf_counter() - started:.0f} s): per seed "
          + ", ".join(f"{v:.4f}" for v in measured.runs)
          + f"; mean ${measured.mean:.4f}, 95% interval ${measured.ci95[0]:.4f} to ${measured.ci95[1]:.4f}")


def monitors(scenario, seeds: list[int]) -> None:
    """False alarms a month on replays without causes, and the lag on the shift alone, per detector."""
    from mlorg.pipeline.calibrate import shadow

    shift = next(c for c in scenario.pipeline.causes if c.kind == "fraud_pattern_shift")
    quiet = scenario.replace(pipeline=dataclasses.replace(scenario.pipeline, causes=()))
    drifted = scenario.replace(pipeline=dataclasses.replace(scenario.pipeline, causes=(shift,)))
    detectors = ("recall", "precision", "mean", "psi")
    false, lags, months = {d: 0 for d in detectors}, {d: [] for d in detectors}, 0.0
    for seed in seeds:
        q, d = shadow(quiet, seed, scenario.pipeline.days), shadow(drifted, seed, scenario.pipeline.days)
        months += q.checks / 30.4
        for name in detectors:
            false[name] += int((q.alarms["detector"] == name).sum())
            after = d.alarms[(d.alarms["detector"] == name) & (d.alarms["day"] + 1 > shift.start_day)]
            lags[name].append(float(after["day"].min() + 1 - shift.start_day) if len(after) else math.inf)
    print(f"\nmonitors beside the untouched first model, {len(seeds)} seeds, {months:.1f} months without causes:")
    print(f"{'detector':>10} {'false alarms a month':>21} {'lag on the shift, per seed (days)':>36}")
    for name in detectors:
        shown = ", ".join("never" if lag == math.inf else f"{lag:.0f}" for lag in lags[name])
        print(f"{name:>10} {false[name] / months:21.2f} {shown:>36}")


if __name__ == "__main__":
    main()
