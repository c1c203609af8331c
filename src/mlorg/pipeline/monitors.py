"""The reference pipeline's daily monitors: feature drift against the training reference, prediction drift (the
alert rate or the score distribution), recall on the labels that have arrived, and the feature contracts.

They read a scored stream that fills up day by day, so the same checks serve the live run (which acts on their
alerts) and the calibration (which runs them in the shadow of a model nobody corrects, to measure them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlorg.monitoring import detectors
from mlorg.pipeline.contracts import ContractError, check_contract
from mlorg.pipeline.features import FEATURES
from mlorg.scenario import Scenario

MONITORS = ("contracts", "features", "predictions", "performance")
# category_risk is computed from labels, which keep arriving, so it moves by design (and takes ten values, one per
# category, which PSI's quantile bins cannot hold still); the performance monitor watches what it stands for.
DRIFT_WATCHED = tuple(f for f in FEATURES if f != "category_risk")
LABEL_LOOKBACK = 3  # label delays searched back for the newest labelled predictions (legitimate ones take 1 delay)


@dataclass(frozen=True)
class Alert:
    day: int
    monitor: str
    detector: str
    statistic: float
    threshold: float
    detail: str


@dataclass
class ScoredStream:
    """Transactions in time order and what serving did with them; ``scores`` is NaN until a row is scored."""

    tx: pd.DataFrame
    served: pd.DataFrame  # the features the online path computed (with tx_id)
    scores: np.ndarray
    flagged: np.ndarray

    def __post_init__(self):
        self.features = self.served[list(FEATURES)].to_numpy(dtype=float)
        self.ts = self.tx["ts"].to_numpy()
        self.y = self.tx["is_fraud"].to_numpy()
        self.label_hours = hours(self.tx["label_time"].to_numpy())
        self.ts_hours = hours(self.ts)

    def window(self, end: pd.Timestamp, hours_back: float) -> np.ndarray:
        """Rows scored in the ``hours_back`` hours before ``end``."""
        lo = np.searchsorted(self.ts, np.datetime64(end - pd.Timedelta(hours=hours_back)), side="left")
        hi = np.searchsorted(self.ts, np.datetime64(end), side="left")
        rows = np.arange(lo, hi)
        return rows[~np.isnan(self.scores[rows])]


def hours(times) -> np.ndarray | float:
    """Datetimes as hours since the epoch, the numbers the detectors take."""
    return np.asarray(times, dtype="datetime64[ns]").astype(np.int64) / 3.6e12


class DailyMonitors:
    """The checks the scenario's ``monitoring`` section switches on, run once a day on the last window.

    ``reference`` holds the features of the holdout (the most recent traffic before the model went live) and
    ``reference_rows`` how many holdout rows there were; ``reference_recall`` is the model's recall on the holdout.
    The recall check reads ``window_days`` × the scenario's transactions per day labelled predictions.
    With ``all_monitors`` every monitor runs whether or not the scenario enables it (the calibration measures them all).
    """

    def __init__(self, scenario: Scenario, reference: np.ndarray, reference_rows: int, reference_recall: float,
                 *, all_monitors: bool = False):
        self.settings = scenario.monitoring
        self.alert_share = scenario.pipeline.alert_share
        self.label_delay_days = scenario.impact.label_delay_days
        self.labelled_window = max(1, round(scenario.monitoring.performance.window_days
                                            * scenario.pipeline.transactions_per_day))
        self.reference = reference
        self.reference_rows = reference_rows
        self.reference_recall = reference_recall
        self.all_monitors = all_monitors
        self.last_recall_reading: detectors.PerformanceReading | None = None

    def _on(self, name: str) -> bool:
        return self.all_monitors or getattr(self.settings, name).enabled

    def check(self, d: int, end: pd.Timestamp, rows: np.ndarray, stream: ScoredStream,
              holdout_scores) -> list[Alert]:
        """Alerts raised at the end of day ``d`` (``rows`` are that day's); ``holdout_scores()`` gives the
        champion's scores on the holdout, the reference of a score-distribution test."""
        m = self.settings
        alerts = []
        try:
            check_contract(stream.served.iloc[rows][["tx_id", *FEATURES]])
        except ContractError as exc:
            alerts.append(Alert(d, "contracts", "contract", math.nan, math.nan, "; ".join(exc.violations)))
        if self._on("features"):
            window = stream.window(end, m.features.window_hours)
            if window.size:
                alerts.extend(self._features(d, stream.features[window]))
        if self._on("predictions"):
            window = stream.window(end, m.predictions.window_hours)
            if window.size:
                alerts.extend(self._predictions(d, stream, window, holdout_scores))
        if self._on("performance"):
            alerts.extend(self._performance(d, end, stream))
        return alerts

    def _features(self, d: int, current: np.ndarray) -> list[Alert]:
        detector, threshold = self.settings.features.detector, self.settings.features.threshold
        if detector in ("cusum", "page_hinkley"):
            detector = "mean"  # per feature the pipeline runs the window test; sequential tests are for streams
        drifted = []
        for name in DRIFT_WATCHED:
            j = FEATURES.index(name)
            value = statistic(detector, self.reference[:, j], current[:, j])
            if drifted_by(detector, value, threshold):
                drifted.append((name, value))
        if not drifted:
            return []
        worst = (min if detector == "ks" else max)(drifted, key=lambda x: x[1])
        return [Alert(d, "features", detector, worst[1], threshold,
                      "drift in " + ", ".join(name for name, _ in drifted))]

    def _predictions(self, d: int, stream: ScoredStream, window: np.ndarray, holdout_scores) -> list[Alert]:
        m = self.settings.predictions
        if m.detector == "mean":  # the alert rate against the share the threshold was set for on the holdout
            rate = stream.flagged[window].mean()
            value = alert_rate_z(rate, self.alert_share, window.size, self.reference_rows)
            detail = f"alert rate {rate:.4f} against {self.alert_share:.4f}"
        else:
            value = statistic(m.detector, holdout_scores(), stream.scores[window])
            detail = "score distribution"
        if drifted_by(m.detector, value, m.threshold):
            return [Alert(d, "predictions", m.detector, value, m.threshold, detail)]
        return []

    def _performance(self, d: int, end: pd.Timestamp, stream: ScoredStream) -> list[Alert]:
        """Recall over the most recent ``window_days`` worth of labelled predictions (the scenario's meaning of the
        window): the newest predictions whose labels have arrived, however late those labels came."""
        m = self.settings.performance
        rows = stream.window(end, (m.window_days + LABEL_LOOKBACK * self.label_delay_days) * 24.0)
        if rows.size == 0:
            return []
        # Recall of what was flagged at the time, whatever model and threshold flagged it: flags as 0/1 scores.
        monitor = detectors.LabelDelayedPerformance(reference_recall=self.reference_recall, alert_threshold=0.5,
                                                    max_drop=m.max_drop, window=self.labelled_window)
        reading = monitor.reading(hours(np.datetime64(end)), stream.ts_hours[rows],
                                  stream.flagged[rows].astype(float), stream.y[rows].astype(float),
                                  stream.label_hours[rows])
        self.last_recall_reading = reading  # the calibration reads how many labelled frauds a check had
        if monitor.alarm(reading):
            return [Alert(d, "performance", "recall", reading.recall, self.reference_recall - m.max_drop,
                          f"recall {reading.recall:.3f} on {reading.positives} labelled frauds")]
        return []


def alert_rate_z(rate: float, expected: float, window: int, reference_rows: int) -> float:
    """Two-sample z-score of a window's alert rate against the holdout's: the holdout's rate is itself a sample
    (the threshold is its quantile)."""
    return abs(rate - expected) / math.sqrt(expected * (1 - expected) * (1 / window + 1 / reference_rows))


def statistic(detector: str, reference: np.ndarray, current: np.ndarray) -> float:
    """The detector's statistic of ``current`` against ``reference`` (``mean``: the z-score of the window mean)."""
    if detector == "psi":
        return detectors.psi(reference, current)
    if detector == "ks":
        return detectors.ks_pvalue(reference, current)
    if detector == "wasserstein":
        return detectors.wasserstein(reference, current)
    if detector == "jensen_shannon":
        return detectors.jensen_shannon(reference, current)
    reference = reference[~np.isnan(reference)]
    current = current[~np.isnan(current)]
    if current.size == 0:
        return math.inf
    sd = reference.std() or 1.0
    return abs(current.mean() - reference.mean()) / (sd / math.sqrt(current.size))


def drifted_by(detector: str, value: float, threshold: float) -> bool:
    return value <= threshold if detector == "ks" else value > threshold
