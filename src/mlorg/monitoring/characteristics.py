"""Operating characteristics of drift monitors: how often one check alarms with and without drift, and from that
the detection lag and the false-alarm rate.

The monitored signal (a feature, the prediction score, the alert indicator) is standardised on the reference, so
one sample has mean 0 and standard deviation 1 before the drift; a drift shifts the mean of each sample by
``shift`` standard deviations. A window detector compares the last ``window`` samples with the reference at every
check; the reference is treated as the population (a training set much larger than the window). A sequential
detector (CUSUM, Page–Hinkley) takes one observation per check: the window's mean as a z-score.

Where the statistic's distribution has a closed form it is used (the window-mean z-test, the binomial recall of
the label monitor, the CUSUM through its Markov chain); otherwise the statistic itself is simulated once per
setting and cached (PSI and Jensen–Shannon from exact multinomial bin counts, KS and Wasserstein from sorted
samples, Page–Hinkley from its recursion). KS and Wasserstein are simulated at ``LOCAL_WINDOW`` samples and
carried to larger windows by their local asymptotics (√n·statistic depends only on √n·shift), which holds well
above a few hundred samples.

While a drift fills the window, the window mixes old and new samples; a window with a share ``f`` of drifted
samples is treated as shifted by ``f · shift`` (exact for means, first-order for the distribution statistics).
Checks of disjoint windows are independent. Checks whose windows overlap are not, so their lag comes from
simulating the shared blocks (:mod:`mlorg.monitoring.overlap`); their expected number of false alarms is the
same either way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from mlorg.monitoring import overlap
from mlorg.monitoring.detectors import DEFAULTS
from mlorg.monitoring.sequential import (
    CUSUM_K,
    cusum_arl,
    cusum_lag,
    page_hinkley_lag,
    page_hinkley_null_rate,
    page_hinkley_rates,
    quickest_detection,
    sample_sequential_lag,
)
from mlorg.monitoring.simulated import (
    BIN_SHIFTS,
    KS_SHIFTS,
    LOCAL_WINDOW,
    MULTINOMIAL_DRAWS,
    WASSERSTEIN_SHIFTS,
    binned_alarm_rates,
    interpolate,
    local_alarm_rates,
    wasserstein_null,
)
from mlorg.monitoring.window_lag import (
    Lag,
    overlapping_lag,
    sample_overlapping_lag,
    sample_window_lag,
    window_lag,
)

HOURS_PER_MONTH = 730.5  # 365.25 days / 12
WINDOW_DETECTORS = ("psi", "ks", "wasserstein", "jensen_shannon", "mean")
SEQUENTIAL_DETECTORS = ("cusum", "page_hinkley")
DETECTORS = WINDOW_DETECTORS + SEQUENTIAL_DETECTORS
MEAN_DEFAULT_THRESHOLD = 3.0  # NannyML: alert when a chunk's statistic leaves the reference mean ± 3σ

def default_threshold(detector: str) -> float:
    """The threshold a monitor uses when none is given (see :data:`mlorg.monitoring.detectors.DEFAULTS`)."""
    _check_detector(detector)
    return MEAN_DEFAULT_THRESHOLD if detector == "mean" else DEFAULTS[detector].threshold


def psi_null_sf(threshold: float, window: int, bins: int = 10, reference: float = math.inf) -> float:
    """P(PSI > threshold) with no drift, asymptotically: to second order PSI is Pearson's χ² statistic over
    (1/n + 1/m), so PSI · nm/(n + m) ~ χ²(bins − 1); with the reference as the population (m = ∞), PSI · n.
    The Jensen–Shannon divergence is a quarter of that second-order term, so JS distance d compares as
    PSI = 8 d²."""
    scale = 1.0 / (1.0 / window + (0.0 if math.isinf(reference) else 1.0 / reference))
    return float(stats.chi2.sf(threshold * scale, bins - 1))


def shift_from_psi(population_psi: float) -> float:
    """The mean shift (in σ) of a normal signal whose population PSI between before and after is ``population_psi``.

    PSI estimates the symmetric Kullback–Leibler divergence, which is δ² between N(0, 1) and N(δ, 1).
    """
    if not population_psi >= 0:
        raise ValueError(f"population PSI must be >= 0, got {population_psi!r}")
    return math.sqrt(population_psi)


@dataclass(frozen=True)
class Monitor:
    """A detector watching one standardised signal.

    ``threshold`` means what it means for the detector: PSI, Jensen–Shannon distance or normed Wasserstein above
    which it alarms; the KS p-value at or below which it alarms; the z-score of the window mean (``mean``); the
    decision interval h of a CUSUM with k = 0.5; the Page–Hinkley threshold λ.
    """

    detector: str
    threshold: float
    window: int  # samples per check
    cadence_hours: float
    traffic_per_hour: float  # samples per hour
    bins: int = 10
    # Rows of the reference the KS test compares with; None: so many that it is the population. A finite
    # reference adds its own sampling noise: the two-sample statistic behaves as one sample of
    # n·m / (n + m) rows (its asymptotics for a shift of the mean are the one-sample ones at that size), so the
    # same drift is caught less often. That is the lag averaged over references of that size; one particular
    # reference gives more or less, as its own luck puts it nearer or farther from the drifted data.
    reference_rows: int | None = None

    def __post_init__(self):
        _check_detector(self.detector)
        _positive("threshold", self.threshold)
        if self.detector == "ks" and not self.threshold < 1:
            raise ValueError(f"threshold: the KS threshold is a p-value, must be < 1, got {self.threshold!r}")
        if not isinstance(self.window, int | np.integer) or self.window < 1:
            raise ValueError(f"window must be an integer >= 1 sample, got {self.window!r}")
        _positive("cadence_hours", self.cadence_hours)
        _positive("traffic_per_hour", self.traffic_per_hour)
        if not isinstance(self.bins, int) or self.bins < 2:
            raise ValueError(f"bins must be an integer >= 2, got {self.bins!r}")
        if self.reference_rows is not None and (isinstance(self.reference_rows, bool) or not isinstance(
                self.reference_rows, int | np.integer) or self.reference_rows < 1):
            raise ValueError(f"reference_rows must be an integer >= 1 or None, got {self.reference_rows!r}")
        if self.reference_rows is not None and self.detector != "ks":
            raise ValueError(f"reference_rows: only the KS test is modelled against a finite reference, not "
                             f"{self.detector}; leave it blank")
        if self.reference_rows is not None and round(self.window / (self.traffic_per_hour * self.cadence_hours)) > 1:
            raise ValueError("reference_rows: a finite reference is modelled for checks whose windows do not overlap "
                             "(window <= traffic × cadence); leave it blank or widen the cadence")
        per_check = self.cadence_hours * self.traffic_per_hour
        if self.detector in SEQUENTIAL_DETECTORS and self.window > per_check * (1 + 1e-9):
            raise ValueError(
                f"window: a {self.detector} takes one window mean per check, so its windows must not overlap: "
                f"window {self.window} must be <= traffic × cadence = {per_check:g} samples")

    @property
    def window_hours(self) -> float:
        return self.window / self.traffic_per_hour

    def ks_effective_rows(self) -> int:
        """The sample size the two-sample KS test behaves as: round(n·m / (n + m)), as its p-value is computed
        (:func:`mlorg.monitoring.detectors.ks_pvalue`); the window itself against a population."""
        if self.reference_rows is None:
            return self.window
        return max(1, round(self.window * self.reference_rows / (self.window + self.reference_rows)))

    @property
    def checks_per_month(self) -> float:
        return HOURS_PER_MONTH / self.cadence_hours

    def blocks(self, shift: float) -> overlap.Blocks | None:
        """The window as blocks shared between checks, or None when consecutive windows do not overlap."""
        per_check = self.traffic_per_hour * self.cadence_hours
        count = round(self.window / per_check)
        if self.detector in SEQUENTIAL_DETECTORS or count < 2:
            return None
        return overlap.Blocks(detector=self.detector, threshold=self.threshold, blocks=count,
                              block_size=max(1, round(self.window / count)), shift=abs(float(shift)), bins=self.bins)

    # -------------------------------------------------------------------------------- one check

    def alarm_probability(self, shift: float) -> float:
        """Probability that one check (or, for a sequential detector, one observation from a zero statistic)
        alarms when every sample in the window is shifted by ``shift`` σ."""
        shift = abs(float(shift))
        n, t = self.window, self.threshold
        local = shift * math.sqrt(n)
        if self.detector == "mean":
            return float(special.ndtr(-t - local) + special.ndtr(-t + local))
        if self.detector in ("psi", "jensen_shannon"):
            return interpolate(BIN_SHIFTS, binned_alarm_rates(self.detector, n, self.bins, t), shift)
        if self.detector == "ks":
            n = self.ks_effective_rows()
            local = shift * math.sqrt(n)
            critical = math.sqrt(n) * float(stats.kstwo.isf(t, n))  # √n · D at which the p-value reaches t
            return interpolate(KS_SHIFTS, local_alarm_rates("ks", min(n, LOCAL_WINDOW), critical), local)
        if self.detector == "wasserstein":
            critical = math.sqrt(n) * t
            if local > WASSERSTEIN_SHIFTS[-1]:
                return float(special.ndtr(local - critical))
            return interpolate(WASSERSTEIN_SHIFTS,
                                local_alarm_rates("wasserstein", min(n, LOCAL_WINDOW), critical), local)
        if self.detector == "cusum":
            return float(special.ndtr(local - CUSUM_K - t) + special.ndtr(-local - CUSUM_K - t))
        return float(page_hinkley_rates(t, (local,))[0])

    # ------------------------------------------------------------------------------ false alarms

    def false_alarm_probability(self) -> float:
        """Probability that a check alarms with no drift (for a sequential detector: per observation, in the
        long run, counting the restart after each alarm)."""
        if self.detector == "cusum":
            return 1.0 / cusum_arl(CUSUM_K, self.threshold, 0.0, two_sided=True)
        if self.detector == "page_hinkley":
            return float(page_hinkley_null_rate(self.threshold))
        if self.detector == "ks":
            return self.threshold  # a p-value is uniform under no drift: P(p <= α) = α
        simulated = self.alarm_probability(0.0)
        if self.detector == "wasserstein":
            # The shift tables hold too few windows for the far tail; a larger no-drift simulation resolves it.
            return float((wasserstein_null() > math.sqrt(self.window) * self.threshold).mean())
        if self.detector in ("psi", "jensen_shannon") and simulated * MULTINOMIAL_DRAWS < 5:
            # Too rare to count in the simulation: use the statistic's asymptotic null distribution.
            return psi_null_sf(self.threshold if self.detector == "psi" else 8 * self.threshold**2, self.window,
                               self.bins)
        return simulated

    def false_alarms_per_month(self) -> float:
        return self.false_alarm_probability() * self.checks_per_month

    def arl0_samples(self) -> float:
        """Mean number of samples between false alarms."""
        p = self.false_alarm_probability()
        return math.inf if p <= 0 else self.cadence_hours * self.traffic_per_hour / p

    # ------------------------------------------------------------------------------------ lag

    def lag(self, shift: float) -> Lag:
        """Detection lag for a drift of ``shift`` σ per sample."""
        if self.detector == "cusum":
            return cusum_lag(self, shift)
        if self.detector == "page_hinkley":
            return page_hinkley_lag(self, shift)
        blocks = self.blocks(shift)
        if blocks is not None:
            return overlapping_lag(blocks, self.cadence_hours)
        return window_lag(lambda f: self.alarm_probability(f * shift), self.cadence_hours, self.window_hours)

    def sample_lag_hours(self, shift: float, rng: np.random.Generator, max_hours: float = math.inf) -> float:
        """One random detection lag for a drift starting at a random moment (``inf`` if beyond ``max_hours``)."""
        if self.detector in SEQUENTIAL_DETECTORS:
            return sample_sequential_lag(self, shift, rng, max_hours)
        blocks = self.blocks(shift)
        if blocks is not None:
            return sample_overlapping_lag(blocks, self.cadence_hours, 0.0, rng, max_hours)
        return sample_window_lag(lambda f: self.alarm_probability(f * shift), self.cadence_hours,
                                 self.window_hours, rng, max_hours=max_hours)


@dataclass(frozen=True)
class PerformanceMonitor:
    """Recall on the labels that have arrived: each check takes the last ``window`` labelled predictions (labels
    arrive ``label_delay_hours`` after the prediction) and alarms when recall falls more than ``max_drop`` below
    the reference recall. A drift that costs a share ``loss`` of recall lowers each positive's chance of being
    caught from r to r·(1 − loss); the count caught in the window is binomial. Label delays average
    ``label_delay_hours``; with ``label_delay_cv`` > 0 they vary (lognormal), so the quickest labels bring a drift
    into the window before the average delay has passed (:mod:`mlorg.monitoring.labels`).

    A careful check (the reference pipeline's) also waits for ``min_positives`` labelled positives, stretching its
    window until it holds them; counts them as positives / ``dispersion`` independent ones (frauds come in campaigns
    that are caught or missed together); and alarms only when recall is below the line by more than ``z`` standard
    errors of the difference, the reference's own error (it was measured on ``reference_positives``) included. The
    defaults make the plain check: every dip below the line alarms."""

    max_drop: float
    window: int  # labelled predictions per check
    cadence_hours: float
    traffic_per_hour: float
    positive_rate: float
    recall: float
    label_delay_hours: float
    label_delay_cv: float = 0.0
    z: float = 0.0
    min_positives: int = 0
    dispersion: float = 1.0
    reference_positives: float = math.inf

    def __post_init__(self):
        for name in ("max_drop", "cadence_hours", "traffic_per_hour", "positive_rate", "recall"):
            _positive(name, getattr(self, name))
        if not self.max_drop < self.recall:
            raise ValueError(f"max_drop must be < recall ({self.recall!r}), got {self.max_drop!r}")
        if self.recall > 1 or self.positive_rate > 1:
            raise ValueError("recall and positive_rate must be <= 1")
        if self.label_delay_hours < 0:
            raise ValueError(f"label_delay_hours must be >= 0, got {self.label_delay_hours!r}")
        if not 0 <= self.label_delay_cv <= 10:
            raise ValueError(f"label_delay_cv must be between 0 and 10, got {self.label_delay_cv!r}")
        if not isinstance(self.window, int | np.integer) or self.window < 1:
            raise ValueError(f"window must be an integer >= 1, got {self.window!r}")
        if not (0 <= self.z <= 10 and 1 <= self.dispersion <= 1000 and self.reference_positives > 0
                and 0 <= self.min_positives):
            raise ValueError(f"z must be in [0, 10], dispersion in [1, 1000], reference_positives > 0 and "
                             f"min_positives >= 0; got {self.z!r}, {self.dispersion!r}, {self.reference_positives!r}, "
                             f"{self.min_positives!r}")

    @property
    def labelled_window(self) -> int:
        """Labelled predictions a check reads: the window, or as many as hold ``min_positives`` positives."""
        return max(self.window, math.ceil(self.min_positives / self.positive_rate))

    @property
    def positives_per_window(self) -> int:
        """Independent positives in a check's window (positives / dispersion)."""
        return int(round(self.labelled_window * self.positive_rate / self.dispersion))

    @property
    def window_hours(self) -> float:
        return self.labelled_window / self.traffic_per_hour

    @property
    def alarm_drop(self) -> float:
        """How far the window's recall p must fall below the reference recall for a check to alarm: max_drop, and
        z standard errors more (of p, √(p(1 − p)/n) over its n independent positives, and of the reference's).
        p + z·se(p) grows with p wherever n is more than a handful, so the critical p is found by bisection."""
        line = self.recall - self.max_drop
        n = self.positives_per_window
        if self.z == 0 or n == 0:
            return self.max_drop
        reference_variance = self.recall * (1 - self.recall) * self.dispersion / self.reference_positives

        def margin(p: float) -> float:
            return p + self.z * math.sqrt(p * (1 - p) / n + reference_variance)

        if margin(0.0) >= line:
            return self.recall  # not even a recall of 0 is far enough below: the check never alarms
        low, high = 0.0, line
        for _ in range(60):
            middle = 0.5 * (low + high)
            low, high = (middle, high) if margin(middle) < line else (low, middle)
        return self.recall - low

    def alarm_probability(self, loss: float) -> float:
        positives = self.positives_per_window
        if positives == 0:
            return 0.0
        # Alarm when caught / positives < recall − alarm_drop, i.e. caught <= the largest count below that line.
        line = positives * (self.recall - self.alarm_drop)
        below = math.ceil(line) - 1
        if below < 0:
            return 0.0
        # special.bdtr is the binomial CDF without scipy.stats' per-call overhead (the simulator calls this often).
        # A negative loss (recall above the reference) lowers the alarm rate; recall cannot pass 1.
        loss = min(max(loss, 1.0 - 1.0 / self.recall), 1.0)
        return float(special.bdtr(below, positives, self.recall * (1.0 - loss)))

    def false_alarms_per_month(self) -> float:
        return self.alarm_probability(0.0) * HOURS_PER_MONTH / self.cadence_hours

    def blocks(self, loss: float) -> overlap.Blocks | None:
        count = round(self.labelled_window / (self.traffic_per_hour * self.cadence_hours))
        positives = round(self.positives_per_window / count) if count >= 2 else 0
        if count < 2 or positives < 1:
            return None
        return overlap.Blocks(detector="performance", threshold=self.alarm_drop, blocks=count,
                              block_size=round(self.labelled_window / count), shift=min(max(float(loss), 0.0), 1.0),
                              recall=self.recall, positives_per_block=positives, delay_cv=self.label_delay_cv)

    def lag(self, loss: float) -> Lag:
        blocks = self.blocks(loss)
        if blocks is not None:
            return overlapping_lag(blocks, self.cadence_hours, self.label_delay_hours)
        return window_lag(self.detection_probability(loss), self.cadence_hours, self.window_hours,
                          offset_hours=self.label_delay_hours, delay_cv=self.label_delay_cv)

    def detection_probability(self, loss: float):
        """Chance that a check with a drifted share f detects the drift. With varied label delays a sliver of the
        drift reaches the window at once, and an alarm then is almost surely a false one: a detection is an alarm
        the window without the drift would not have raised, p(f) − p(0) (the drift only lowers recall)."""
        if self.label_delay_cv <= 0.0:
            return lambda f: self.alarm_probability(f * loss)
        quiet = self.alarm_probability(0.0)
        return lambda f: max(0.0, self.alarm_probability(f * loss) - quiet)

    def sample_lag_hours(self, loss: float, rng: np.random.Generator, max_hours: float = math.inf) -> float:
        blocks = self.blocks(loss)
        if blocks is not None:
            return sample_overlapping_lag(blocks, self.cadence_hours, self.label_delay_hours, rng, max_hours)
        return sample_window_lag(self.detection_probability(loss), self.cadence_hours, self.window_hours, rng,
                                 offset_hours=self.label_delay_hours, max_hours=max_hours,
                                 delay_cv=self.label_delay_cv)


def _check_detector(detector: str) -> None:
    if detector not in DETECTORS:
        raise ValueError(f"detector: {detector!r} is not known; choose one of {', '.join(DETECTORS)}")


def _positive(name: str, value: float) -> None:
    if not (isinstance(value, int | float | np.floating | np.integer) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")


# ------------------------------------------------------------------------------------ tuning summary

# Thresholds a sweep tries, per detector, from loose (many false alarms) to strict.
SWEEP_THRESHOLDS = {
    "psi": tuple(np.geomspace(0.002, 1.0, 28)),
    "jensen_shannon": tuple(np.geomspace(0.005, 0.5, 28)),
    "wasserstein": tuple(np.geomspace(0.002, 1.0, 28)),
    "ks": tuple(np.geomspace(0.2, 1e-9, 28)),
    "mean": tuple(np.linspace(1.5, 6.0, 28)),
    "cusum": tuple(np.linspace(0.5, 15.0, 30)),
    "page_hinkley": tuple(np.geomspace(3.0, 200.0, 20)),
}


@dataclass(frozen=True)
class OperatingPoint:
    """What one monitor setting does against a drift of ``shift`` σ per sample."""

    detector: str
    threshold: float
    shift: float
    false_alarm_probability: float  # per check (sequential detectors: per observation)
    alarm_probability: float  # per check once the whole window has drifted
    false_alarms_per_month: float
    arl0_samples: float
    detection_lag_hours: float  # the drift starts at a random moment
    detection_lag_samples: float
    worst_case_lag_samples: float
    optimal_delay_samples: float  # the CUSUM tuned to this shift at the same ARL₀ (nan if ARL₀ is infinite)
    optimal_h: float
    lorden_approx_samples: float


def operating_point(monitor: Monitor, shift: float) -> OperatingPoint:
    if not shift > 0:
        raise ValueError(f"drift size must be > 0, got {shift!r}")
    lag = monitor.lag(shift)
    traffic = monitor.traffic_per_hour
    arl0 = monitor.arl0_samples()
    best = quickest_detection(shift, arl0) if math.isfinite(arl0) and arl0 > 1 else None
    nan = math.nan
    return OperatingPoint(
        detector=monitor.detector, threshold=monitor.threshold, shift=shift,
        false_alarm_probability=monitor.false_alarm_probability(),
        alarm_probability=monitor.alarm_probability(shift),
        false_alarms_per_month=monitor.false_alarms_per_month(), arl0_samples=arl0,
        detection_lag_hours=lag.mean_hours, detection_lag_samples=lag.mean_hours * traffic,
        worst_case_lag_samples=lag.worst_hours * traffic,
        optimal_delay_samples=best.delay_samples if best else nan, optimal_h=best.h if best else nan,
        lorden_approx_samples=best.lorden_approx_samples if best else nan)


def sweep(monitor: Monitor, shift: float, thresholds=None) -> list[OperatingPoint]:
    """The lag against false-alarm trade-off of one detector over thresholds."""
    from dataclasses import replace

    chosen = SWEEP_THRESHOLDS[monitor.detector] if thresholds is None else thresholds
    return [operating_point(replace(monitor, threshold=float(t)), shift) for t in chosen]


def meets_budget(points: list[OperatingPoint], false_alarms_per_month: float) -> OperatingPoint | None:
    """The quickest setting whose false alarms stay within the budget, or None if none does."""
    within = [p for p in points if p.false_alarms_per_month <= false_alarms_per_month]
    return min(within, key=lambda p: p.detection_lag_hours, default=None)
