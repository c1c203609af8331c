"""Drift and its detection for the simulator: which monitors watch a live model, and when each would fire.

Detection lags are drawn from each monitor's operating characteristics (:mod:`mlorg.monitoring.characteristics`)
for the shift a cause puts on the monitor's signal: feature monitors see ``feature_shift``, prediction monitors
``prediction_shift``, the label monitor the recall lost, after the label delay. A cause a monitor cannot see (a pure
concept drift has no feature or prediction shift) never fires it. Whatever no monitor catches, the business finds
after its own delay.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mlorg.monitoring.characteristics import Monitor, PerformanceMonitor
from mlorg.rng import Sampler
from mlorg.scenario import Effect, ModelClass, Scenario

HOURS_PER_DAY = 24.0
HOURS_PER_MONTH = 730.5
TRAFFIC_STEPS_PER_DECADE = 8  # monitors are built for traffic rounded to 1/8 decade (≈ ±15%): they cache by window


@dataclass(frozen=True)
class Detection:
    lag_hours: float
    by: str  # features | predictions | performance | latency_alert | business


class Monitors:
    """The monitors a scenario runs on a live model of one class and traffic."""

    def __init__(self, scenario: Scenario, model_class: ModelClass, predictions_per_day: float):
        s = scenario
        traffic = predictions_per_day / HOURS_PER_DAY
        self.signal: dict[str, Monitor] = {}
        for name in ("features", "predictions"):
            m = getattr(s.monitoring, name)
            if m.enabled:
                # Bursty samples (dispersion > 1) carry less information: n of them count as n / dispersion.
                self.signal[name] = Monitor(detector=m.detector, threshold=m.threshold,
                                            window=max(1, round(traffic * m.window_hours / m.dispersion)),
                                            cadence_hours=m.cadence_hours, traffic_per_hour=traffic / m.dispersion)
        p = s.monitoring.performance
        self.performance = None
        if p.enabled:
            self.performance = PerformanceMonitor(
                max_drop=p.max_drop, window=max(1, round(traffic * p.window_days * HOURS_PER_DAY)),
                cadence_hours=p.cadence_hours, traffic_per_hour=traffic, positive_rate=model_class.positive_rate,
                recall=model_class.recall, label_delay_hours=model_class.label_delay_days * HOURS_PER_DAY,
                label_delay_cv=model_class.label_delay_cv, z=p.z, min_positives=p.min_positives,
                dispersion=p.dispersion, reference_positives=p.reference_positives or math.inf)

    @property
    def any(self) -> bool:
        return bool(self.signal) or self.performance is not None

    def false_alarms_per_model_month(self) -> float:
        rate = sum(m.false_alarms_per_month() for m in self.signal.values())
        if self.performance is not None:
            rate += self.performance.false_alarms_per_month()
        return rate

    def detect(self, cause: str, effect: Effect, recall_loss: float, rng: np.random.Generator, business: Sampler,
               monitoring_on: bool, latency_alerting: bool, max_hours: float) -> Detection:
        """When the first monitor fires for this cause (which costs the model ``recall_loss`` of its recall: what
        the label monitor sees), or the business notices."""
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
        if self.performance is not None and recall_loss > 0:
            lag = self.performance.sample_lag_hours(recall_loss, rng,
                                                    max_hours=min(best.lag_hours, max_hours))
            if lag < best.lag_hours:
                best = Detection(lag, "performance")
        return best


def _lag(detection: Detection) -> float:
    return detection.lag_hours


def traffic_bucket(predictions_per_day: float) -> float:
    """The traffic a model's monitors are built for: rounded on a log scale, so that a run builds (and the
    statistics' Monte Carlo caches) a few monitors rather than one per model."""
    if predictions_per_day <= 0:
        return 1.0
    step = round(TRAFFIC_STEPS_PER_DECADE * math.log10(predictions_per_day)) / TRAFFIC_STEPS_PER_DECADE
    return 10.0 ** step
