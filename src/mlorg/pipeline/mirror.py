"""The simulator held against the reference pipeline on the fraud story: what monitoring saves after the
fraud-pattern shift, per transaction scored, measured by one and predicted by the other.

**Measured.** The reference pipeline (:func:`mlorg.pipeline.run.run_pipeline`) on the scenario with its
fraud-pattern shift alone: the fraud losses since the shift of the replay without monitoring less the monitored
run's.

**Predicted.** The organisation simulator calibrated by the same pipeline at the same scale
(:mod:`mlorg.pipeline.calibrated`) looks after one model (:class:`mlorg.sim.one_model.OneModel`) of the fraud class at
the pipeline's traffic and fraud rate, through a concept drift on the shift's day, twice on common random numbers:
with the scenario's monitors and incident process, and with no monitor. Its model is worth what it catches, as the
class's value is stated (the fraud rate × the average fraud, ``impact.usd_per_positive``, × the healthy recall), and
its investigators review what the pipeline's do (every alert while the review capacity holds them: the healthy
recall's share of the frauds). Neither side has a business that notices the
losses on its own (nobody reads the fraud reports in the pipeline's replays), and each ends on the pipeline's last
day.

Both are divided by the transactions scored from the shift to the end (the pipeline's traffic times those days),
so the pipeline's thousands a day and the simulated issuer's hundreds of thousands read on one scale.
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mlorg.pipeline.calibrated import calibrated, measure_inputs
from mlorg.pipeline.run import run_pipeline
from mlorg.results import mean_ci
from mlorg.scenario import Distribution, Scenario, validate
from mlorg.sim.entities import HOURS_PER_DAY
from mlorg.sim.one_model import OneModel
from mlorg.sim.portfolio import ModelTraits


@dataclass(frozen=True)
class Saving:
    """Fraud losses saved per transaction scored since the shift (USD): the mean over runs and its standard error."""

    mean: float
    se: float
    runs: np.ndarray  # one saving per run

    @property
    def ci95(self) -> tuple[float, float]:
        """The t-interval over the runs."""
        interval = mean_ci(self.runs)
        return interval["ci95_low"], interval["ci95_high"]


def _saving(values: list[float]) -> Saving:
    runs = np.asarray(values, dtype=float)
    se = float(runs.std(ddof=1) / math.sqrt(runs.size)) if runs.size > 1 else math.inf
    return Saving(float(runs.mean()), se, runs)


def _shift(scenario: Scenario):
    shift = next((c for c in scenario.pipeline.causes if c.kind == "fraud_pattern_shift"), None)
    if shift is None:
        raise ValueError("pipeline.causes: the comparison needs a fraud_pattern_shift cause")
    return shift


def shift_only(scenario: Scenario) -> Scenario:
    """The scenario with its fraud-pattern shift as the pipeline's only cause."""
    return scenario.replace(pipeline=dataclasses.replace(scenario.pipeline, causes=(_shift(scenario),)))


def transactions_since_shift(scenario: Scenario) -> float:
    p = scenario.pipeline
    return p.transactions_per_day * (p.days - _shift(scenario).start_day)


def measured(scenario: Scenario, seeds: list[int], workdir: Path | None = None) -> Saving:
    """The pipeline's saving since the shift per transaction, one run per seed (the shift its only cause)."""
    scenario = shift_only(scenario)
    scored = transactions_since_shift(scenario)
    values = []
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        for seed in seeds:
            result = run_pipeline(scenario, Path(tmp) / f"registry-{seed}.duckdb", seed=seed)
            since = result.losses_since_shift_usd
            values.append((since["without_monitoring"] - since["monitored"]) / scored)
    return _saving(values)


def predicted(scenario: Scenario, calibration_seed: int, replications: int, seed: int = 0) -> Saving:
    """The simulator's saving since the shift per transaction, calibrated on the pipeline run of
    ``calibration_seed``, over ``replications`` paired pairs of runs."""
    scenario = shift_only(scenario)
    p, shift = scenario.pipeline, _shift(scenario)
    inputs = calibrated(scenario, measure_inputs(scenario, calibration_seed, p.days))
    index, fraud_class = next((i, c) for i, c in enumerate(inputs.portfolio) if c.serving_mode == "realtime")
    deploy = p.train_days + p.holdout_days
    reviewed = fraud_class.recall * min(1.0, p.review_capacity_share / p.alert_share)
    fraud_class = dataclasses.replace(fraud_class, positive_rate=p.fraud_rate, reviewed_share=reviewed,
                                      reviewed_delay_days=float(p.review_delay_days))
    # Worth what it catches, as the class's value is stated: the fraud rate × the average fraud × the healthy recall.
    per_transaction = p.fraud_rate * inputs.impact.usd_per_positive * fraud_class.recall
    traits = ModelTraits(fraud_class, index, p.transactions_per_day,
                         per_transaction * p.transactions_per_day / HOURS_PER_DAY)
    horizon = p.days - deploy
    never = Distribution(dist="deterministic", mean=10.0 * horizon)  # the business never notices within the run
    watched = validate(inputs.replace(
        horizon_days=horizon, incidents=dataclasses.replace(inputs.incidents, business_detection_days=never),
        lifecycle=dataclasses.replace(inputs.lifecycle, retrain_every_days=float(p.retrain_every_days))))
    monitoring = watched.monitoring
    unwatched = watched.replace(monitoring=dataclasses.replace(
        monitoring, features=dataclasses.replace(monitoring.features, enabled=False),
        predictions=dataclasses.replace(monitoring.predictions, enabled=False),
        performance=dataclasses.replace(monitoring.performance, enabled=False)))
    causes = (("concept", (shift.start_day - deploy) * HOURS_PER_DAY),)
    scored = transactions_since_shift(scenario)
    values = []
    for r in range(replications):
        lost = [sum(i.loss_usd for i in OneModel(s, traits, causes, seed, r).run().incidents)
                for s in (unwatched, watched)]
        values.append((lost[0] - lost[1]) / scored)
    return _saving(values)
