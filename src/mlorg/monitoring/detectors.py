"""Drift detectors on numpy arrays: distribution distances, sequential change detectors, and label-delayed performance.

The distance functions compare a ``reference`` sample (training or a healthy window) with a ``current`` one and
return a score; ``DEFAULTS`` says at which score each detector alarms and where that default comes from. The
sequential detectors (``Cusum``, ``PageHinkley``) read one observation at a time and say when to alarm.

Missing values are drift, not noise: a feature that turns null upstream is exactly what must be caught. So
``psi`` and ``jensen_shannon`` give NaN its own "missing" bin, while ``ks_*`` and ``wasserstein``, which need
numbers, drop NaNs but report maximal drift when the current sample has no numbers left at all.

For context, Evidently declares drift of a whole dataset when at least half of its columns drift; NannyML
alarms outside the mean ± 3σ of the reference chunks; river's ADWIN uses δ = 0.002 and KSWIN α = 0.005.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special, stats


@dataclass(frozen=True)
class DetectorDefault:
    """A detector's default alarm threshold.

    ``alarm_when`` is "above" when large scores mean drift and "below" when small ones do (a p-value). The four
    distribution statistics count a tie as drift, as Evidently does; CUSUM, Page–Hinkley and the performance
    rule alarm only strictly beyond the threshold, as their definitions do.
    """

    threshold: float
    alarm_when: str
    source: str


DEFAULTS: dict[str, DetectorDefault] = {
    "psi": DetectorDefault(
        0.1,
        "above",
        "Evidently's PSI drift threshold, matching Siddiqi's (2006, credit scoring) rule of thumb: "
        "< 0.1 no significant change, 0.1–0.25 moderate, > 0.25 major.",
    ),
    "ks": DetectorDefault(0.05, "below", "Evidently's Kolmogorov–Smirnov test drifts when the p-value is <= 0.05."),
    "wasserstein": DetectorDefault(
        0.1, "above", "Evidently's Wasserstein threshold, on the distance normed by the reference standard deviation."
    ),
    "jensen_shannon": DetectorDefault(0.1, "above", "Evidently's Jensen–Shannon distance threshold."),
    "cusum": DetectorDefault(
        5.0,
        "above",
        "Montgomery (Introduction to Statistical Quality Control): k = δ/2 = 0.5 for a 1σ shift and h = 4 or 5; "
        "with h = 5 the one-sided in-control ARL is about 930 (Siegmund's approximation gives 938).",
    ),
    "page_hinkley": DetectorDefault(
        50.0,
        "above",
        "river.drift.PageHinkley defaults: threshold=50, min_instances=30, delta=0.005, alpha=1-0.0001.",
    ),
    "performance": DetectorDefault(
        0.05,
        "above",
        "Our convention, not a tool default: alarm when recall on arrived labels falls more than 0.05 below the "
        "reference recall, as a 5-point drop is what fraud teams typically page on.",
    ),
}


# --- input checks ----------------------------------------------------------------------------------------------


def _sample(name: str, values) -> np.ndarray:
    """A non-empty 1-D float array (NaN allowed)."""
    array = np.asarray(values, dtype=float)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {array.shape}")
    return array


def _reference_values(reference) -> np.ndarray:
    """The reference's non-missing values; there must be some, and they must be finite."""
    values = _sample("reference", reference)
    values = values[~np.isnan(values)]
    if values.size == 0:
        raise ValueError("reference must hold at least one non-NaN value")
    if not np.all(np.isfinite(values)):
        raise ValueError("reference must not contain infinite values")
    return values


def _check_bins(bins) -> None:
    if isinstance(bins, bool) or not isinstance(bins, int | np.integer) or bins < 2:
        raise ValueError(f"bins must be an integer >= 2, got {bins!r}")


def _stream(xs) -> np.ndarray:
    """A 1-D float array of observations for a sequential detector; empty is fine, NaN is not."""
    array = np.asarray(xs, dtype=float)
    if array.ndim != 1:
        raise ValueError(f"xs must be a 1-D array, got shape {array.shape}")
    if np.isnan(array).any():
        raise ValueError("xs must not contain NaN")
    return array


def _observation(x) -> float:
    value = float(x)
    if math.isnan(value):
        raise ValueError("x must not be NaN")
    return value


# --- binned distances: PSI and Jensen–Shannon ------------------------------------------------------------------


def quantile_edges(reference, bins: int = 10) -> np.ndarray:
    """The ``bins - 1`` inner edges at the reference quantiles 1/bins, …, (bins-1)/bins: equal-frequency bins.

    NaNs in the reference are ignored. On discrete data some edges repeat, which leaves empty bins between them;
    they hold nothing on either side and so add nothing to PSI or Jensen–Shannon.
    """
    _check_bins(bins)
    values = _reference_values(reference)
    return np.quantile(values, np.arange(1, bins) / bins)


def bin_shares(values, edges) -> np.ndarray:
    """Share of ``values`` in each of the ``len(edges) + 1`` bins (-inf, e0], (e0, e1], …, (e_last, inf).

    Bins are right-closed, like ``pandas.cut``, so a value equal to an edge falls in the bin below it. The shares
    are of all values, NaN included, but NaN falls in no bin: the shares sum to one minus the missing share.
    """
    values = _sample("values", values)
    edges = np.asarray(edges, dtype=float)
    if edges.ndim != 1 or not np.all(np.isfinite(edges)) or np.any(np.diff(edges) < 0):
        raise ValueError("edges must be a 1-D array of finite, non-decreasing values")
    present = values[~np.isnan(values)]
    counts = np.bincount(np.searchsorted(edges, present, side="left"), minlength=edges.size + 1)
    return counts / values.size


def _shares_with_missing(name: str, values, edges: np.ndarray) -> np.ndarray:
    """``bin_shares`` plus a last "missing" bin for the NaN share, so the result sums to one."""
    values = _sample(name, values)
    return np.append(bin_shares(values, edges), np.isnan(values).mean())


def psi(reference, current, bins: int = 10, epsilon: float = 1e-4) -> float:
    """Population Stability Index, sum over bins of (c - r) · ln(c / r); always >= 0.

    Bins are ``quantile_edges(reference, bins)`` plus a bin for NaN. A share of zero would make the log infinite,
    so empty-bin shares become ``epsilon`` first (Evidently uses 0.0001). Default threshold 0.1 (Evidently;
    Siddiqi 2006: < 0.1 no significant change, 0.1–0.25 moderate, > 0.25 major). Under no drift its expected
    value is about (bins - 1) · (1/n + 1/m) for samples of sizes n and m, like a chi-square statistic's, so small
    samples look drifted sooner.
    """
    if not epsilon > 0:
        raise ValueError(f"epsilon must be > 0, got {epsilon!r}")
    edges = quantile_edges(reference, bins)
    expected = _shares_with_missing("reference", reference, edges)
    actual = _shares_with_missing("current", current, edges)
    expected = np.where(expected == 0, epsilon, expected)
    actual = np.where(actual == 0, epsilon, actual)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def jensen_shannon(reference, current, bins: int = 10) -> float:
    """Jensen–Shannon distance (square root of the divergence, natural log) between the binned samples.

    Same bins as ``psi``, NaN bin included. It needs no epsilon, since it compares each sample with their
    average, which is never zero where either is not. It lies between 0 and sqrt(ln 2) ≈ 0.833, reached when
    the samples share no bin. Default threshold 0.1 (Evidently).
    """
    edges = quantile_edges(reference, bins)
    p = _shares_with_missing("reference", reference, edges)
    q = _shares_with_missing("current", current, edges)
    middle = (p + q) / 2
    divergence = 0.5 * (special.rel_entr(p, middle).sum() + special.rel_entr(q, middle).sum())
    return float(np.sqrt(max(divergence, 0.0)))  # rounding can leave a tiny negative divergence


# --- numeric distances: Kolmogorov–Smirnov and Wasserstein -----------------------------------------------------


def _numeric_pair(reference, current) -> tuple[np.ndarray, np.ndarray]:
    """Both samples without NaNs; the current one may end up empty (it all turned null)."""
    current = _sample("current", current)
    return _reference_values(reference), current[~np.isnan(current)]


def ks_statistic(reference, current) -> float:
    """Two-sample Kolmogorov–Smirnov D, the largest gap between the two empirical CDFs.

    NaNs are dropped; an all-NaN current sample gives the maximal D = 1.
    """
    expected, actual = _numeric_pair(reference, current)
    if actual.size == 0:
        return 1.0
    return float(stats.ks_2samp(expected, actual, method="asymp").statistic)


def ks_pvalue(reference, current) -> float:
    """Asymptotic p-value of the two-sample KS test, ``kstwo.sf(D, round(n·m / (n + m)))`` as scipy computes it.

    NaNs are dropped; an all-NaN current sample gives p = 0. Default: drift when p <= 0.05 (Evidently). With
    large samples even a shift too small to matter gets a small p-value.
    """
    expected, actual = _numeric_pair(reference, current)
    if actual.size == 0:
        return 0.0
    statistic = float(stats.ks_2samp(expected, actual, method="asymp").statistic)
    n, m = expected.size, actual.size
    effective = max(1.0, float(np.round(n * m / (n + m))))  # two single values would round to 0 samples
    return float(stats.kstwo.sf(statistic, effective))


def wasserstein(reference, current) -> float:
    """Earth mover's distance W1 divided by the reference standard deviation (ddof 0), as Evidently norms it.

    So 0.1 means the distributions are a tenth of a reference standard deviation apart; a constant reference
    (std 0) is not scaled. NaNs are dropped; an all-NaN current sample gives infinity. Default threshold 0.1
    (Evidently).
    """
    expected, actual = _numeric_pair(reference, current)
    if actual.size == 0:
        return math.inf
    scale = float(np.std(expected))
    if scale == 0:
        scale = 1.0
    return float(stats.wasserstein_distance(expected, actual)) / scale


# --- sequential detectors: CUSUM and Page–Hinkley --------------------------------------------------------------


class _Sequential:
    """What every sequential detector offers on top of its own ``_step(x) -> bool`` (one observation)."""

    def update(self, x: float) -> bool:
        """Read one observation; True when it raises an alarm."""
        return self._step(_observation(x))

    def run(self, xs) -> np.ndarray:
        """Indices (0-based) of every alarm in ``xs``, carrying on from the current state and resetting after each."""
        # Plain floats: a numpy scalar per step would make long streams several times slower.
        return np.array([i for i, x in enumerate(_stream(xs).tolist()) if self._step(x)], dtype=np.int64)

    def first_alarm(self, xs) -> int:
        """Index of the first alarm in ``xs``, carrying on from the current state, or -1 if there is none."""
        for i, x in enumerate(_stream(xs).tolist()):
            if self._step(x):
                return i
        return -1

    def _step(self, x: float) -> bool:
        raise NotImplementedError


class Cusum(_Sequential):
    """One-sided (upper, or lower when direction="down") or two-sided tabular CUSUM on standardised observations.

    With z = (x - mean) / sd the upper side is S_t = max(0, S_{t-1} + z_t - k) and the lower side
    max(0, L_{t-1} - z_t - k); it alarms when a side exceeds h, and both sides then reset to 0. Defaults k = 0.5,
    h = 5 (Montgomery: k = δ/2 for a 1σ shift, h = 4 or 5): a one-sided in-control run of about 930 observations
    between false alarms and about 10.4 to catch a 1σ shift.
    """

    def __init__(self, k: float = 0.5, h: float = 5.0, mean: float = 0.0, sd: float = 1.0, direction: str = "up"):
        if not k >= 0:
            raise ValueError(f"k must be >= 0, got {k!r}")
        if not h > 0:
            raise ValueError(f"h must be > 0, got {h!r}")
        if not sd > 0:
            raise ValueError(f"sd must be > 0, got {sd!r}")
        if not math.isfinite(mean):
            raise ValueError(f"mean must be finite, got {mean!r}")
        if direction not in ("up", "down", "both"):
            raise ValueError(f"direction must be 'up', 'down' or 'both', got {direction!r}")
        self.k, self.h, self.mean, self.sd, self.direction = float(k), float(h), float(mean), float(sd), direction
        self._watch_up = direction in ("up", "both")
        self._watch_down = direction in ("down", "both")
        self._upper = 0.0
        self._lower = 0.0

    @property
    def statistic(self) -> float:
        """The current CUSUM, the larger of the two sides (an unwatched side stays 0)."""
        return max(self._upper, self._lower)

    def _step(self, x: float) -> bool:
        z = (x - self.mean) / self.sd
        if self._watch_up:
            self._upper = max(0.0, self._upper + z - self.k)
        if self._watch_down:
            self._lower = max(0.0, self._lower - z - self.k)
        if self._upper > self.h or self._lower > self.h:
            self._upper = self._lower = 0.0
            return True
        return False


class PageHinkley(_Sequential):
    """Page–Hinkley test as in river.drift.PageHinkley, reimplemented from its definition.

    Each observation updates the running mean x̄_t of everything since the last reset, then the cumulative sums
    m_t = alpha · m_{t-1} + (x_t - x̄_t - delta) for an increase and M_t = alpha · M_{t-1} + (x_t - x̄_t + delta)
    for a decrease; alpha < 1 slowly forgets old deviations. It alarms when m_t - min m > threshold (increase) or
    max M - M_t > threshold (decrease), once at least ``min_instances`` observations have been seen, and then
    starts afresh. Defaults are river's: min_instances=30, delta=0.005, threshold=50, alpha=1-0.0001, mode="both".
    The threshold is in the observations' units times samples, so it must be scaled to the data.
    """

    def __init__(
        self,
        delta: float = 0.005,
        threshold: float = 50.0,
        alpha: float = 1 - 1e-4,
        min_instances: int = 30,
        mode: str = "both",
    ):
        if not delta >= 0:
            raise ValueError(f"delta must be >= 0, got {delta!r}")
        if not threshold > 0:
            raise ValueError(f"threshold must be > 0, got {threshold!r}")
        if not 0 < alpha <= 1:
            raise ValueError(f"alpha must be > 0 and <= 1, got {alpha!r}")
        if isinstance(min_instances, bool) or not isinstance(min_instances, int | np.integer) or min_instances < 1:
            raise ValueError(f"min_instances must be an integer >= 1, got {min_instances!r}")
        if mode not in ("up", "down", "both"):
            raise ValueError(f"mode must be 'up', 'down' or 'both', got {mode!r}")
        self.delta, self.threshold, self.alpha = float(delta), float(threshold), float(alpha)
        self.min_instances, self.mode = int(min_instances), mode
        self._watch_up = mode in ("up", "both")
        self._watch_down = mode in ("down", "both")
        self._reset()

    def _reset(self) -> None:
        self._count = 0
        self._mean = 0.0
        self._sum_up = 0.0
        self._sum_down = 0.0
        self._min_up = math.inf
        self._max_down = -math.inf
        self._statistic = 0.0

    @property
    def statistic(self) -> float:
        """The larger watched test value (m_t - min m, or max M - M_t) after the last observation; 0 after a reset."""
        return self._statistic

    def _step(self, x: float) -> bool:
        self._count += 1
        self._mean += (x - self._mean) / self._count
        deviation = x - self._mean
        self._sum_up = self.alpha * self._sum_up + deviation - self.delta
        self._sum_down = self.alpha * self._sum_down + deviation + self.delta
        self._min_up = min(self._min_up, self._sum_up)
        self._max_down = max(self._max_down, self._sum_down)
        rise = self._sum_up - self._min_up if self._watch_up else 0.0
        fall = self._max_down - self._sum_down if self._watch_down else 0.0
        self._statistic = max(rise, fall)
        if self._count >= self.min_instances and self._statistic > self.threshold:
            self._reset()
            return True
        return False


# --- performance on delayed labels -----------------------------------------------------------------------------


def _labelled(labels, scores) -> tuple[np.ndarray, np.ndarray]:
    """Labels (0 or 1) and scores as float arrays of the same length; empty is allowed."""
    labels = np.asarray(labels, dtype=float)
    scores = np.asarray(scores, dtype=float)
    if labels.ndim != 1 or scores.ndim != 1 or labels.size != scores.size:
        raise ValueError(f"labels and scores must be 1-D arrays of the same length, got {labels.shape}, {scores.shape}")
    if not np.all((labels == 0) | (labels == 1)):
        raise ValueError("labels must be 0 or 1")
    if np.isnan(scores).any():
        raise ValueError("scores must not contain NaN")
    return labels, scores


def roc_auc(labels, scores) -> float:
    """Area under the ROC curve: the chance a random positive outscores a random negative, ties counting half.

    Computed as the Mann–Whitney U statistic with average ranks for ties; NaN if either class is absent.
    """
    labels, scores = _labelled(labels, scores)
    positive = labels == 1
    positives = int(positive.sum())
    negatives = labels.size - positives
    if positives == 0 or negatives == 0:
        return math.nan
    ranks = stats.rankdata(scores)
    return float((ranks[positive].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def recall_at(labels, scores, threshold: float) -> float:
    """Share of positives scored at or above ``threshold``; NaN if there are no positives."""
    labels, scores = _labelled(labels, scores)
    positive = labels == 1
    if not positive.any():
        return math.nan
    return float(np.mean(scores[positive] >= threshold))


@dataclass(frozen=True)
class PerformanceReading:
    """Performance on the labels that had arrived: how many, how many positive, ROC AUC and recall (NaN if unknown)."""

    labelled: int
    positives: int
    auc: float
    recall: float


class LabelDelayedPerformance:
    """Performance on the labels that have arrived by ``now``.

    Only predictions whose label_time <= now count (a NaN or infinite label time never arrives), and only the
    ``window`` most recent of those by prediction time if a window is given. ``alert_threshold`` is the score at
    or above which a prediction raises a fraud alert; the monitor alarms when recall falls more than ``max_drop``
    below ``reference_recall`` (0.05 is our convention, see ``DEFAULTS["performance"]``).
    """

    def __init__(
        self, reference_recall: float, alert_threshold: float, max_drop: float = 0.05, window: int | None = None
    ):
        if not 0 <= reference_recall <= 1:
            raise ValueError(f"reference_recall must be between 0 and 1, got {reference_recall!r}")
        if not math.isfinite(alert_threshold):
            raise ValueError(f"alert_threshold must be finite, got {alert_threshold!r}")
        if not 0 <= max_drop <= 1:
            raise ValueError(f"max_drop must be between 0 and 1, got {max_drop!r}")
        if window is not None and (isinstance(window, bool) or not isinstance(window, int | np.integer) or window < 1):
            raise ValueError(f"window must be None or an integer >= 1, got {window!r}")
        self.reference_recall = float(reference_recall)
        self.alert_threshold = float(alert_threshold)
        self.max_drop = float(max_drop)
        self.window = window

    def reading(self, now: float, prediction_times, scores, labels, label_times) -> PerformanceReading:
        """Count, positives, AUC and recall over the predictions whose labels have arrived by ``now``.

        Labels of predictions that have not arrived are never read, so they may be NaN.
        """
        if math.isnan(now):
            raise ValueError("now must not be NaN")
        columns = {
            "prediction_times": prediction_times,
            "scores": scores,
            "labels": labels,
            "label_times": label_times,
        }
        arrays = {name: np.asarray(values, dtype=float) for name, values in columns.items()}
        shapes = {name: array.shape for name, array in arrays.items()}
        if any(array.ndim != 1 for array in arrays.values()) or len(set(shapes.values())) > 1:
            raise ValueError(f"prediction_times, scores, labels and label_times must be 1-D, one length; got {shapes}")
        arrived = np.flatnonzero(arrays["label_times"] <= now)
        if self.window is not None and arrived.size > self.window:
            newest = np.argsort(arrays["prediction_times"][arrived], kind="stable")[-self.window :]
            arrived = arrived[newest]
        labels_in, scores_in = arrays["labels"][arrived], arrays["scores"][arrived]
        return PerformanceReading(
            labelled=int(arrived.size),
            positives=int(np.sum(labels_in == 1)),
            auc=roc_auc(labels_in, scores_in),
            recall=recall_at(labels_in, scores_in, self.alert_threshold),
        )

    def alarm(self, reading: PerformanceReading) -> bool:
        """True when recall has fallen more than ``max_drop`` below the reference; False while it is unknown."""
        return not math.isnan(reading.recall) and reading.recall < self.reference_recall - self.max_drop
