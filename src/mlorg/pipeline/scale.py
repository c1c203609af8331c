"""The reference pipeline at a smaller scale: the same story on a tenth of the transactions, in seconds, for a
quick look, a slow laptop or a test."""

from __future__ import annotations

import dataclasses

from mlorg.scenario import Scenario

SCALES = ("full", "small")
# "small" is the story at a test's (or a slow laptop's) scale: 105 days of 800 transactions, a tenth of the shipped
# million, computed in seconds. Fraud is 2% rather than 0.2% so that a small day still holds enough frauds (16) for
# the model to learn from and for the monitors to see the shift (at 1% neither the alert rate nor recall moved
# beyond noise); the alerts, the interim alerts and the investigators' capacity grow with it (10%, 20%, 30%), so that
# alerts hold fraud in the same proportion as at full scale.
# 120 days leave the recall monitor a window of labels after a shift at the shipped point of the live days
# (pipeline_minimum_days); routine retrains keep their place in the live days too.
# 45 days of card history (not 30) so that new cards' first devices no longer move the new-device feature by then.
SMALL = {"days": 120, "transactions_per_day": 800.0, "cards": 4000, "history_days": 45, "train_days": 30,
         "holdout_days": 14, "fraud_rate": 0.02, "scorer_sample_per_day": 10,
         "alert_share": 0.1, "interim_alert_share": 0.2, "review_capacity_share": 0.3}


def at_scale(scenario: Scenario, scale: str) -> Scenario:
    """The scenario's pipeline at ``scale``: ``full`` leaves it as shipped; ``small`` shrinks it and moves each
    cause to the same point of the live period (a cause a third of the way through stays a third of the way)."""
    if scale not in SCALES:
        raise ValueError(f"scale: {scale!r} is not allowed; must be one of {', '.join(SCALES)}")
    if scale == "full":
        return scenario
    p = scenario.pipeline
    small = dataclasses.replace(p, **SMALL)
    live, small_live = p.days - deploy_day(scenario), small.days - small.train_days - small.holdout_days
    causes = tuple(dataclasses.replace(c, start_day=float(round(
        small.train_days + small.holdout_days + (c.start_day - deploy_day(scenario)) * small_live / live)))
        for c in p.causes)
    every = max(1, round(p.retrain_every_days * small_live / live))
    return scenario.replace(pipeline=dataclasses.replace(small, causes=causes, retrain_every_days=every))


def deploy_day(scenario: Scenario) -> int:
    """The day the first model goes live: after its training and holdout days."""
    return scenario.pipeline.train_days + scenario.pipeline.holdout_days
