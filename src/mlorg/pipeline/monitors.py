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
# The performance checks alarm only when the line is crossed by more than Z standard errors (one-sided), so a healthy
# model alarms on a check with probability below Φ(−2) ≈ 2.3%: at most ≈ 0.7 false alarms in a month of daily checks,
# however correlated the checks are. The standard errors group frauds by card, since a campaign hits one card.
# Precision also moves with the volume of fraud, which comes in campaigns and varies from week to week more than
# the alerts' own sampling says (at 2 standard errors, 2.5 false alarms a month on a replay without causes, seed 0),
# so it asks for 3.
RECALL_Z = 2.0
# Frauds come in campaigns of a few transactions, and recall swings with the campaigns a window holds (the first model
# of seed 3, no cause: 0.47 to 0.77 over two-week periods of 70–170 frauds); fewer than this many frauds hold too few
# campaigns for a standard error to be trusted, so the check waits until that many have charged back.
MIN_RECALL_FRAUDS = 100
MIN_REVIEWED_ALERTS = 100  # likewise for the alerts whose precision is read (a day's alerts are a few campaigns)
PRECISION_Z = 3.0


Estimate = tuple[float, float]  # a value and its standard error


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
    flagged: np.ndarray  # alerts at the threshold in use
    alerted: np.ndarray | None = None  # alerts at the model's own threshold (None: the same as flagged)

    def __post_init__(self):
        self.features = self.served[list(FEATURES)].to_numpy(dtype=float)
        self.ts = self.tx["ts"].to_numpy()
        self.y = self.tx["is_fraud"].to_numpy()
        self.label_hours = hours(self.tx["label_time"].to_numpy())
        self.ts_hours = hours(self.ts)
        self.cards = self.tx["card_id"].to_numpy()
        if self.alerted is None:
            self.alerted = self.flagged

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
    ``reference_rows`` how many holdout rows there were; ``reference_recall`` and ``reference_precision`` are the
    model's recall and alert precision on the holdout, each with its standard error.
    The recall check reads ``window_days`` of frauds whose chargebacks have come, the precision check the alerts
    reviewed in the last ``window_days``; the alert-rate test allows for the alerts' ``dispersion``.
    With ``all_monitors`` every monitor runs whether or not the scenario enables it (the calibration measures them all).
    """

    def __init__(self, scenario: Scenario, reference: np.ndarray, reference_rows: int, reference_recall: Estimate,
                 reference_precision: Estimate, dispersion: float = 1.0, *, all_monitors: bool = False):
        self.settings = scenario.monitoring
        self.alert_share = scenario.pipeline.alert_share
        self.label_delay_days = scenario.impact.label_delay_days
        self.labelled_window = max(1, round(scenario.monitoring.performance.window_days
                                            * scenario.pipeline.transactions_per_day))
        self.reference = reference
        self.reference_rows = reference_rows
        self.reference_recall, self.reference_recall_se = reference_recall
        self.reference_precision, self.reference_precision_se = reference_precision
        self.dispersion = dispersion
        self.review_delay_hours = scenario.pipeline.review_delay_days * 24.0
        p = scenario.pipeline
        self.fraud_window = max(MIN_RECALL_FRAUDS, round(scenario.monitoring.performance.window_days
                                                         * p.transactions_per_day * p.fraud_rate))
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
            value = alert_rate_z(rate, self.alert_share, window.size, self.reference_rows) / math.sqrt(self.dispersion)
            detail = f"alert rate {rate:.4f} against {self.alert_share:.4f}"
        else:
            value = statistic(m.detector, holdout_scores(), stream.scores[window])
            detail = "score distribution"
        if drifted_by(m.detector, value, m.threshold):
            return [Alert(d, "predictions", m.detector, value, m.threshold, detail)]
        return []

    def _performance(self, d: int, end: pd.Timestamp, stream: ScoredStream) -> list[Alert]:
        """Recall on the frauds whose chargebacks have arrived, and the precision of the reviewed alerts.

        Recall reads the newest ``fraud_window`` frauds (window_days of frauds at the scenario's fraud rate, at least
        MIN_RECALL_FRAUDS) whose chargebacks have come. A chargeback arrives whether or not the fraud was flagged, so
        these frauds are a fair sample of the fraud, flagged or not, and the holdout's recall is their baseline. The
        reviewed alerts are not (every one was flagged), so they feed precision instead: the share of fraud among the
        alerts at the model's own threshold whose review has come in the last window_days. A model that loses
        max_drop of its recall at the same alert rate loses that share of the fraud among its alerts, so precision's
        line is the reference precision less the same relative drop. Each alarms when its line is crossed beyond
        RECALL_Z (PRECISION_Z) standard errors, counting the reference's own (the holdout's figures are estimates
        too)."""
        m = self.settings.performance
        now = hours(np.datetime64(end))
        alerts = []
        rows = stream.window(end, (m.window_days + LABEL_LOOKBACK * self.label_delay_days) * 24.0)
        frauds = rows[stream.y[rows] & (stream.label_hours[rows] <= now)][-self.fraud_window:]
        self.last_recall_reading = None
        if frauds.size >= MIN_RECALL_FRAUDS:
            recall, se = clustered_share(stream.flagged[frauds], stream.cards[frauds])
            se = math.hypot(se, self.reference_recall_se)
            self.last_recall_reading = detectors.PerformanceReading(labelled=int(frauds.size),
                                                                    positives=int(frauds.size), auc=math.nan,
                                                                    recall=recall)
            line = self.reference_recall - m.max_drop
            if recall + RECALL_Z * se < line:
                alerts.append(Alert(d, "performance", "recall", recall, line,
                                    f"recall {recall:.3f} ± {se:.3f} on the {frauds.size} newest charged-back frauds"))
        recent = stream.window(end, m.window_days * 24.0)
        reviewed = recent[stream.alerted[recent] & (stream.ts_hours[recent] + self.review_delay_hours <= now)]
        if reviewed.size >= MIN_REVIEWED_ALERTS and self.reference_precision > 0:
            precision, se = clustered_share(stream.y[reviewed], stream.cards[reviewed])
            se = math.hypot(se, self.reference_precision_se)
            line = self.reference_precision * (1.0 - m.max_drop / max(self.reference_recall, 1e-9))
            if precision + PRECISION_Z * se < line:
                alerts.append(Alert(d, "performance", "precision", precision, line,
                                    f"alert precision {precision:.3f} ± {se:.3f} on {reviewed.size} reviewed alerts"))
        return alerts


def clustered_share(hits: np.ndarray, clusters: np.ndarray) -> tuple[float, float]:
    """The share of ``hits`` and its standard error with observations grouped by ``clusters`` (cluster-robust: a
    fraud campaign's transactions are flagged, or missed, together)."""
    n = hits.size
    share = float(hits.mean())
    _, group = np.unique(clusters, return_inverse=True)
    sums = np.bincount(group, weights=hits.astype(float) - share)
    k = sums.size
    if k < 2:
        return share, math.inf
    return share, math.sqrt(k / (k - 1) * float(np.sum(sums**2))) / n


def fraud_dispersion(stream: ScoredStream, frauds: np.ndarray) -> float:
    """How much more the recall of these frauds varies than if each were caught or missed on its own: the squared
    ratio of the cluster-robust standard error (frauds grouped by card) to the binomial one; never below 1."""
    hits, cards = stream.flagged[frauds], stream.cards[frauds]
    share, se = clustered_share(hits, cards) if hits.size else (0.0, 0.0)
    binomial = share * (1 - share) / max(hits.size, 1)
    return max(1.0, se * se / binomial) if binomial > 0 and math.isfinite(se) else 1.0


def alert_dispersion(days: np.ndarray, flagged: np.ndarray) -> float:
    """Variance of the daily alert rate over the binomial variance, from the holdout's days: how much burstier alerts
    are than independent transactions (a fraud campaign is flagged together); 1 when they are independent, never
    taken below 1. The alert-rate test divides its z-score by its square root."""
    values, counts = np.unique(days, return_counts=True)
    if values.size < 3:
        return 1.0
    index = np.searchsorted(values, days)
    rates = np.bincount(index, weights=flagged.astype(float)) / counts
    share = flagged.mean()
    binomial = share * (1 - share) / counts
    return max(1.0, float(np.var(rates, ddof=1) / np.mean(binomial))) if share > 0 else 1.0


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
