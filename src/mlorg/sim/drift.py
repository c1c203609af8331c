"""Drift and its detection for the simulator: which monitors watch a live model, and when each would fire.

Detection lags are drawn from each monitor's operating characteristics (:mod:`mlorg.monitoring.characteristics`)
for the shift a cause puts on the monitor's signal: feature monitors see ``feature_shift``, prediction monitors
``prediction_shift``, the label monitor the recall lost, after the label delay. A cause a monitor cannot see (a pure
concept drift has no feature or prediction shift) never fires it. Whatever no monitor catches, the business finds
after its own delay.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mlorg.monitoring.characteristics import Monitor, PerformanceMonitor
from mlorg.rng import Sampler
from mlorg.scenario import Effect, Scenario

HOURS_PER_DAY = 24.0
HOURS_PER_MONTH = 730.5


@dataclass(frozen=True)
class Detection:
    lag_hours: float
    by: str  # features | predictions | performance | latency_alert | business


class Monitors:
    """The monitors a scenario runs on each live model, built once per run."""

    def __init__(self, scenario: Scenario):
        s = scenario
        self.scenario = s
        traffic = s.impact.predictions_per_day / HOURS_PER_DAY
        self.signal: dict[str, Monitor] = {}
        for name in ("features", "predictions"):
            m = getattr(s.monitoring, name)
            if m.enabled:
                self.signal[name] = Monitor(detector=m.detector, threshold=m.threshold,
                                            window=max(1, round(traffic * m.window_hours)),
                                            cadence_hours=m.cadence_hours, traffic_per_hour=traffic)
        p = s.monitoring.performance
        self.performance = None
        if p.enabled:
            self.performance = PerformanceMonitor(
                max_drop=p.max_drop, window=max(1, round(traffic * p.window_days * HOURS_PER_DAY)),
                cadence_hours=p.cadence_hours, traffic_per_hour=traffic, positive_rate=s.impact.positive_rate,
                recall=s.impact.recall, label_delay_hours=s.impact.label_delay_days * HOURS_PER_DAY,
                label_delay_cv=s.impact.label_delay_cv)

    @property
    def any(self) -> bool:
        return bool(self.signal) or self.performance is not None

    def false_alarms_per_model_month(self) -> float:
        rate = sum(m.false_alarms_per_month() for m in self.signal.values())
        if self.performance is not None:
            rate += self.performance.false_alarms_per_month()
        return rate

    def detect(self, cause: str, effect: Effect, rng: np.random.Generator, business: Sampler,
               monitoring_on: bool, latency_alerting: bool, max_hours: float) -> Detection:
        """When the first monitor fires for this cause, or the business notices."""
        best = Detection(business(), "business")
        if cause == "latency_regression":
            if latency_alerting:  # the serving platform checks the p99 against the SLO every hour
                best = min(best, Detection(rng.uniform(0.0, 1.0), "latency_alert"), key=_lag)
            return best
        if not monitoring_on:
            return best
        shifts = {"features": effect.feature_shift, "predictions": effect.prediction_shift}
        for name, monitor in self.signal.items():
            if shifts[name] > 0:
                lag = monitor.sample_lag_hours(shifts[name], rng, max_hours=min(best.lag_hours, max_hours))
                if lag < best.lag_hours:
                    best = Detection(lag, name)
        if self.performance is not None and effect.performance_loss > 0:
            lag = self.performance.sample_lag_hours(effect.performance_loss, rng,
                                                    max_hours=min(best.lag_hours, max_hours))
            if lag < best.lag_hours:
                best = Detection(lag, "performance")
        return best


def _lag(detection: Detection) -> float:
    return detection.lag_hours


def loss_per_hour(scenario: Scenario, effect: Effect) -> float:
    """Value lost per hour while a model suffers this effect: predictions × positive rate × value × recall lost."""
    i = scenario.impact
    return (i.predictions_per_day / HOURS_PER_DAY * i.positive_rate * i.usd_per_positive * i.recall
            * effect.performance_loss)

