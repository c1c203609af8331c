"""``mlorg drift tune``: per-feature thresholds from the reference's own null distribution, for a false-alarm
budget, with the detection lag each gives for a stated shift.

A monitor compares each new window of W hours with the reference. With no drift, how large does its statistic
get? The i.i.d. answers (PSI·n ~ χ², the KS p-value uniform) assume rows independent of each other, and feature
traffic is not: a daily cycle and autocorrelation make consecutive rows alike, so a day's window varies far more
than a sample of as many independent rows, and thresholds from i.i.d. theory (or fixed defaults) raise many more
false alarms than they promise. Here the null comes from the reference itself, in time order: each draw is a
window of W hours made of blocks of consecutive hours taken at random start times (a moving-block bootstrap,
Künsch 1989), so whatever dependence lives within a block is kept. Each drawn window is compared with the rest of
the reference (:mod:`mlorg.monitoring.sorted_samples`), as a new window would be.

The budget is false alarms a month across all the tuned features, split evenly: with checks every C hours each
check of each feature may alarm with probability p = budget / (features · 730.5 / C). The threshold is the null's
1 − p quantile: read from the draws where they resolve it (separate windows · p >= ``EMPIRICAL_TAIL``), otherwise from a
gamma distribution matched to the draws' mean and variance of a statistic that is asymptotically a scaled χ²
(PSI, the squared Jensen–Shannon and Wasserstein distances, and −ln of the KS p-value, which is Exp(1) under an
i.i.d. null): the Satterthwaite approximation, an extrapolation that the output names.

The lag for a shift of δ reference standard deviations: windows from the same draws with their values moved by
f·δ·σ when a share f of the window has drifted (first-order, as :mod:`mlorg.monitoring.characteristics`), the
alarm probability at each f, then :func:`mlorg.monitoring.window_lag.window_lag`, which takes checks to be
independent given the drifted share: exact when the window is no longer than the cadence, optimistic when
windows overlap (consecutive checks then share rows). Categorical features have no σ to shift by, so they get a
threshold but no lag.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from mlorg.monitoring.characteristics import HOURS_PER_MONTH
from mlorg.monitoring.detectors import DEFAULTS
from mlorg.monitoring.sorted_samples import (
    SortedReference,
    bin_counts,
    jensen_shannon_from_counts,
    ks_distance,
    ks_pvalue_from_distance,
    psi_from_counts,
    wasserstein_distance,
)
from mlorg.monitoring.window_lag import window_lag

EMPIRICAL_TAIL = 10  # separate windows expected beyond the threshold for the draws' own quantile to be trusted
SHIFT_FRACTIONS = (0.25, 0.5, 0.75, 1.0)
SHIFT_DRAWS = 100  # windows per drifted share for the lag
KS_ASYMPTOTIC_ROWS = 10_000  # effective sample size from which a drawn window's KS p-value is Kolmogorov's limit
FEW_WINDOWS = 10  # independent windows in the reference below which the null is said to rest on little


@dataclass(frozen=True)
class TuneSettings:
    detector: str  # psi, ks, wasserstein or jensen_shannon
    window_hours: float
    cadence_hours: float
    budget_per_month: float  # false alarms a month across all tuned features
    shift: float  # σ of the reference, for the lag
    draws: int = 1000
    block_hours: float | None = None  # None: one block, the whole window
    bins: int = 10
    seed: int = 0

    def __post_init__(self):
        for name in ("window_hours", "cadence_hours", "budget_per_month", "shift"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name}: {value!r} is not allowed; must be a number > 0")
        if self.detector not in ("psi", "ks", "wasserstein", "jensen_shannon"):
            raise ValueError(f"detector: {self.detector!r} is not allowed; must be psi, ks, wasserstein or "
                             "jensen_shannon")
        if isinstance(self.draws, bool) or not isinstance(self.draws, int) or not 100 <= self.draws <= 100_000:
            raise ValueError(f"draws: {self.draws!r} is not allowed; must be an integer >= 100 and <= 100000")
        if self.block_hours is not None and not (math.isfinite(self.block_hours)
                                                 and 0 < self.block_hours <= self.window_hours):
            raise ValueError(f"block_hours: {self.block_hours!r} is not allowed; must be > 0 and <= the window "
                             f"({self.window_hours:g} h)")

    @property
    def checks_per_month(self) -> float:
        return HOURS_PER_MONTH / self.cadence_hours


@dataclass(frozen=True)
class NullDraws:
    """One feature's statistic on windows drawn from the reference with no drift, and on the same windows drifted
    by each share of :data:`SHIFT_FRACTIONS` (empty for a categorical feature)."""

    column: str
    kind: str
    null: np.ndarray  # the detector's statistic, in its own units (KS: the p-value)
    shifted: dict[float, np.ndarray]
    window_rows: float  # median rows in a window
    bins: int  # bins (or categories, missing included) the reference occupies
    separate_windows: float  # windows the reference holds side by side


@dataclass(frozen=True)
class TunedThreshold:
    column: str
    kind: str
    detector: str
    threshold: float
    tail: str  # "empirical" or "gamma"
    per_check_probability: float
    default_false_alarms_per_month: float  # at the detector's default threshold, by the same draws
    lag_hours: float  # mean lag for the stated shift; NaN for a categorical feature
    worst_lag_hours: float
    window_rows: float


class Windows:
    """Random windows of the reference in time order: row indices of blocks of consecutive hours."""

    def __init__(self, hours: np.ndarray, settings: TuneSettings):
        self.hours = hours
        span = float(hours[-1] - hours[0]) if hours.size else 0.0
        if span < 2 * settings.window_hours:
            raise ValueError(f"window_hours: {settings.window_hours:g} h is too long for a reference that covers "
                             f"{span:,.4g} h; the null needs the reference to cover at least two windows")
        self.span = span
        block = settings.block_hours or settings.window_hours
        self.blocks = max(1, round(settings.window_hours / block))
        self.block_hours = settings.window_hours / self.blocks
        rng = np.random.default_rng(np.random.SeedSequence([settings.seed, 0x7E57]))
        starts = hours[0] + rng.uniform(0.0, span - self.block_hours, size=(settings.draws, self.blocks))
        self.first = np.searchsorted(hours, starts, side="left")
        self.last = np.searchsorted(hours, starts + self.block_hours, side="left")
        self.median_rows = float(np.median((self.last - self.first).sum(axis=1)))
        if self.median_rows < 2:
            raise ValueError(f"window_hours: {settings.window_hours:g} h holds {self.median_rows:g} rows on the "
                             "median; drift statistics need windows of at least 2 rows")

    @property
    def independent(self) -> float:
        """How many windows the reference holds side by side: the null rests on about this many separate looks."""
        return self.span / (self.block_hours * self.blocks)

    def rows(self, draw: int) -> np.ndarray:
        return np.concatenate([np.arange(a, b) for a, b in zip(self.first[draw], self.last[draw], strict=True)])


def null_draws(column: str, kind: str, values: np.ndarray, windows: Windows, settings: TuneSettings) -> NullDraws:
    """The null and drifted statistics of one feature, its ``values`` in the reference's time order (categorical
    ones as codes from :meth:`FeatureFile.category_codes`)."""
    if kind == "categorical":
        occupied = int(np.count_nonzero(np.bincount(values)))
        return NullDraws(column, kind, _binned_null(values, windows, settings), {}, windows.median_rows, occupied,
                         windows.independent)
    reference = SortedReference(values, settings.bins)
    step = reference.sd * settings.shift
    shifted_draws = range(min(SHIFT_DRAWS, settings.draws))
    shifted = {}
    if settings.detector in ("psi", "jensen_shannon"):
        # Each row's bin once; a window's counts are then a bincount of its rows.
        codes = np.where(np.isnan(values), reference.edges.size + 1,
                         np.searchsorted(reference.edges, values, side="left"))
        null = _binned_null(codes, windows, settings)
        for fraction in SHIFT_FRACTIONS:
            shifted[fraction] = np.array([
                _moved_binned_score(reference, values, codes, windows.rows(d), fraction * step, settings.detector)
                for d in shifted_draws])
    else:
        null = np.array([_numeric_score(reference, values[windows.rows(d)], settings.detector, leave_out=True)
                         for d in range(settings.draws)])
        for fraction in SHIFT_FRACTIONS:
            shifted[fraction] = np.array([
                _numeric_score(reference, values[windows.rows(d)] + fraction * step, settings.detector,
                               leave_out=False) for d in shifted_draws])
    return NullDraws(column, kind, null, shifted, windows.median_rows, int(np.count_nonzero(reference.counts)),
                     windows.independent)


def _moved_binned_score(reference: SortedReference, values: np.ndarray, codes: np.ndarray, rows: np.ndarray,
                        move: float, detector: str) -> float:
    """PSI or Jensen–Shannon of the window ``rows`` with its values moved by ``move``, against the rest."""
    size = reference.edges.size + 2
    counts = bin_counts(values[rows] + move, reference.edges)
    rest = np.maximum(reference.counts - np.bincount(codes[rows], minlength=size), 0)
    return psi_from_counts(rest, counts) if detector == "psi" else jensen_shannon_from_counts(rest, counts)


def _numeric_score(reference: SortedReference, window: np.ndarray, detector: str, *, leave_out: bool) -> float:
    """KS p-value or normed Wasserstein distance of ``window`` against the reference, without the window's own
    rows when ``leave_out`` (it is rows of the reference) and against the whole reference otherwise (a moved
    window: w / n off)."""
    present = np.sort(window[~np.isnan(window)])
    if present.size == 0:
        return 0.0 if detector == "ks" else math.inf
    n = reference.n
    rest = n - present.size if leave_out and present.size < n else n
    distance_factor = n / rest
    if detector == "ks":
        distance = min(1.0, ks_distance(reference, present) * distance_factor)
        effective = rest * present.size / (rest + present.size)
        if effective >= KS_ASYMPTOTIC_ROWS:
            # scipy's exact kstwo takes ~20 ms for a small p at these sizes, and differs from the limit by < 3%.
            return float(special.kolmogorov(math.sqrt(round(effective)) * distance))
        return ks_pvalue_from_distance(distance, rest, present.size)
    scale = reference.sd if reference.sd > 0 else 1.0
    return wasserstein_distance(reference, present) * distance_factor / scale


def _binned_null(codes: np.ndarray, windows: Windows, settings: TuneSettings) -> np.ndarray:
    """PSI or Jensen–Shannon of each drawn window against the rest, from each row's bin (or category) code."""
    total = np.bincount(codes, minlength=int(codes.max()) + 1)
    out = np.empty(settings.draws)
    for d in range(settings.draws):
        counts = np.bincount(codes[windows.rows(d)], minlength=total.size)
        rest = np.maximum(total - counts, 0)
        out[d] = psi_from_counts(rest, counts) if settings.detector == "psi" else jensen_shannon_from_counts(rest,
                                                                                                           counts)
    return out


# --- thresholds from the draws ---------------------------------------------------------------------------------


def _to_quadratic(detector: str, scores: np.ndarray) -> np.ndarray:
    """The statistic as a larger-is-drift quantity that is asymptotically a scaled χ² (see the module docstring)."""
    if detector == "ks":
        return -np.log(np.clip(scores, 1e-300, 1.0))
    if detector == "psi":
        return scores
    return scores**2


def _from_quadratic(detector: str, value: float) -> float:
    if detector == "ks":
        return float(math.exp(-value))
    if detector == "psi":
        return float(value)
    return float(math.sqrt(max(value, 0.0)))


def threshold_for(detector: str, null: np.ndarray, probability: float, separate_windows: float,
                  bins: int | None = None) -> tuple[float, str]:
    """The threshold whose null alarm probability per check is ``probability``, and how it was read.

    Drawn windows overlap, so a thousand draws from a month of daily windows hold about 30 separate looks: one odd
    day of the reference is in 3% of the draws. The draws' own quantile is used only when the separate windows
    resolve the tail; otherwise the gamma, which rests on the mean and variance of them all. ``bins``: the bins a
    binned statistic has (caps the gamma's shape, see below)."""
    quadratic = _to_quadratic(detector, null[np.isfinite(null)])
    if separate_windows * probability >= EMPIRICAL_TAIL:
        value = float(np.quantile(quadratic, 1.0 - probability, method="higher"))
        return _from_quadratic(detector, value), "empirical"
    mean, variance = float(np.mean(quadratic)), float(np.var(quadratic, ddof=1))
    if not variance > 0:  # every draw equal: nothing to extrapolate from
        return _from_quadratic(detector, float(np.max(quadratic))), "empirical"
    shape = mean**2 / variance
    # A larger shape than independent rows give is the noise of few windows, and would thin the tail: dependence
    # only widens it. PSI (and 8·JS²) is a weighted sum of bins - 1 χ²(1) terms, and unequal weights lower the
    # Satterthwaite shape below (bins - 1) / 2; −ln p of KS is Exp(1), shape 1, and a dependence that scales the
    # statistic by c > 1 stretches its tail further.
    if detector in ("psi", "jensen_shannon") and bins is not None:
        shape = min(shape, max(bins - 1, 1) / 2)
    elif detector == "ks":
        shape = min(shape, 1.0)
    scale = mean / shape
    return _from_quadratic(detector, float(stats.gamma.isf(probability, shape, scale=scale))), "gamma"


def alarm_share(detector: str, scores: np.ndarray, threshold: float) -> float:
    """Share of ``scores`` the detector alarms on at ``threshold`` (a tie alarms, as :mod:`detectors` says)."""
    if scores.size == 0:
        return math.nan
    if DEFAULTS[detector].alarm_when == "below":
        return float(np.mean(scores <= threshold))
    return float(np.mean(scores >= threshold))


def tuned(draws: NullDraws, settings: TuneSettings, features: int) -> TunedThreshold:
    """The threshold of one feature for its share of the budget, with its lag for the stated shift."""
    probability = min(settings.budget_per_month / (features * settings.checks_per_month), 0.5)
    threshold, tail = threshold_for(settings.detector, draws.null, probability, draws.separate_windows, draws.bins)
    lag = lag_at(draws, settings, threshold, probability)
    default = DEFAULTS[settings.detector].threshold
    return TunedThreshold(column=draws.column, kind=draws.kind, detector=settings.detector, threshold=threshold,
                          tail=tail, per_check_probability=probability,
                          default_false_alarms_per_month=alarm_share(settings.detector, draws.null, default)
                          * settings.checks_per_month,
                          lag_hours=lag[0], worst_lag_hours=lag[1], window_rows=draws.window_rows)


def lag_at(draws: NullDraws, settings: TuneSettings, threshold: float, probability: float) -> tuple[float, float]:
    """Mean and worst lag (hours) to detect the stated shift at ``threshold``; NaN without drifted draws."""
    if not draws.shifted:
        return math.nan, math.nan
    shares = [probability] + [alarm_share(settings.detector, draws.shifted[f], threshold) for f in SHIFT_FRACTIONS]
    fractions = (0.0, *SHIFT_FRACTIONS)
    lag = window_lag(lambda f: float(np.interp(f, fractions, shares)), settings.cadence_hours, settings.window_hours)
    return lag.mean_hours, lag.worst_hours


def trade_off(draws: NullDraws, settings: TuneSettings, budgets=None) -> list[tuple[float, float, float]]:
    """(false alarms a month, threshold, mean lag in hours) of one feature over a range of budgets for it alone."""
    budgets = budgets if budgets is not None else np.geomspace(0.05, min(20.0, settings.checks_per_month / 2), 25)
    out = []
    for budget in budgets:
        probability = min(budget / settings.checks_per_month, 0.5)
        threshold, _ = threshold_for(settings.detector, draws.null, probability, draws.separate_windows, draws.bins)
        out.append((float(budget), threshold, lag_at(draws, settings, threshold, probability)[0]))
    return out
