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
from functools import lru_cache

import numpy as np
from scipy import special, stats

from mlorg.monitoring import labels, overlap
from mlorg.monitoring.detectors import DEFAULTS, Cusum, PageHinkley

HOURS_PER_MONTH = 730.5  # 365.25 days / 12
WINDOW_DETECTORS = ("psi", "ks", "wasserstein", "jensen_shannon", "mean")
SEQUENTIAL_DETECTORS = ("cusum", "page_hinkley")
DETECTORS = WINDOW_DETECTORS + SEQUENTIAL_DETECTORS
MEAN_DEFAULT_THRESHOLD = 3.0  # NannyML: alert when a chunk's statistic leaves the reference mean ± 3σ
CUSUM_K = 0.5  # reference value of the monitor's CUSUM: tuned to a 1σ shift of the window mean (Montgomery)

LOCAL_WINDOW = 1000  # samples at which KS and Wasserstein are simulated (see the module docstring)
SIMULATED_WINDOWS = 800  # Monte Carlo draws of a statistic per shift
MULTINOMIAL_DRAWS = 4000
KS_SHIFTS = np.r_[np.arange(0.0, 12.0, 0.5), np.arange(12.0, 25.0, 2.0)]  # √n · shift
WASSERSTEIN_SHIFTS = np.arange(0.0, 8.01, 0.5)  # beyond: √n·W ≈ √n·|mean shift| ~ N(√n·shift, 1)
BIN_SHIFTS = np.r_[np.arange(0.0, 1.0, 0.02), np.arange(1.0, 3.01, 0.1)]  # shift, for the binned statistics
QUADRATURE = 24  # points over the moment a drift starts between two checks


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
class Lag:
    """Detection lag of a monitor for a drift of one size, from the moment the drift starts."""

    mean_hours: float  # the drift starts at a uniformly random moment between two checks
    worst_hours: float  # the drift starts at the least favourable moment (for CUSUM also from a zero statistic)


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
        per_check = self.cadence_hours * self.traffic_per_hour
        if self.detector in SEQUENTIAL_DETECTORS and self.window > per_check * (1 + 1e-9):
            raise ValueError(
                f"window: a {self.detector} takes one window mean per check, so its windows must not overlap: "
                f"window {self.window} must be <= traffic × cadence = {per_check:g} samples")

    @property
    def window_hours(self) -> float:
        return self.window / self.traffic_per_hour

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
            return _interpolate(BIN_SHIFTS, _binned_alarm_rates(self.detector, n, self.bins, t), shift)
        if self.detector == "ks":
            critical = math.sqrt(n) * float(stats.kstwo.isf(t, n))  # √n · D at which the p-value reaches t
            return _interpolate(KS_SHIFTS, _local_alarm_rates("ks", min(n, LOCAL_WINDOW), critical), local)
        if self.detector == "wasserstein":
            critical = math.sqrt(n) * t
            if local > WASSERSTEIN_SHIFTS[-1]:
                return float(special.ndtr(local - critical))
            return _interpolate(WASSERSTEIN_SHIFTS,
                                _local_alarm_rates("wasserstein", min(n, LOCAL_WINDOW), critical), local)
        if self.detector == "cusum":
            return float(special.ndtr(local - CUSUM_K - t) + special.ndtr(-local - CUSUM_K - t))
        return float(_page_hinkley_rates(t, (local,))[0])

    # ------------------------------------------------------------------------------ false alarms

    def false_alarm_probability(self) -> float:
        """Probability that a check alarms with no drift (for a sequential detector: per observation, in the
        long run, counting the restart after each alarm)."""
        if self.detector == "cusum":
            return 1.0 / _cusum_arl(CUSUM_K, self.threshold, 0.0, two_sided=True)
        if self.detector == "page_hinkley":
            return float(_page_hinkley_null_rate(self.threshold))
        if self.detector == "ks":
            return self.threshold  # a p-value is uniform under no drift: P(p <= α) = α
        simulated = self.alarm_probability(0.0)
        if self.detector == "wasserstein":
            # The shift tables hold too few windows for the far tail; a larger no-drift simulation resolves it.
            return float((_wasserstein_null() > math.sqrt(self.window) * self.threshold).mean())
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
            return _cusum_lag(self, shift)
        if self.detector == "page_hinkley":
            return _page_hinkley_lag(self, shift)
        blocks = self.blocks(shift)
        if blocks is not None:
            return _overlapping_lag(blocks, self.cadence_hours)
        return window_lag(lambda f: self.alarm_probability(f * shift), self.cadence_hours, self.window_hours)

    def sample_lag_hours(self, shift: float, rng: np.random.Generator, max_hours: float = math.inf) -> float:
        """One random detection lag for a drift starting at a random moment (``inf`` if beyond ``max_hours``)."""
        if self.detector in SEQUENTIAL_DETECTORS:
            return _sample_sequential_lag(self, shift, rng, max_hours)
        blocks = self.blocks(shift)
        if blocks is not None:
            return _sample_overlapping_lag(blocks, self.cadence_hours, 0.0, rng, max_hours)
        return sample_window_lag(lambda f: self.alarm_probability(f * shift), self.cadence_hours,
                                 self.window_hours, rng, max_hours=max_hours)


@dataclass(frozen=True)
class PerformanceMonitor:
    """Recall on the labels that have arrived: each check takes the last ``window`` labelled predictions (labels
    arrive ``label_delay_hours`` after the prediction) and alarms when recall falls more than ``max_drop`` below
    the reference recall. A drift that costs a share ``loss`` of recall lowers each positive's chance of being
    caught from r to r·(1 − loss); the count caught in the window is binomial. Label delays average
    ``label_delay_hours``; with ``label_delay_cv`` > 0 they vary (lognormal), so the quickest labels bring a drift
    into the window before the average delay has passed (:mod:`mlorg.monitoring.labels`)."""

    max_drop: float
    window: int  # labelled predictions per check
    cadence_hours: float
    traffic_per_hour: float
    positive_rate: float
    recall: float
    label_delay_hours: float
    label_delay_cv: float = 0.0

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

    @property
    def positives_per_window(self) -> int:
        return int(round(self.window * self.positive_rate))

    @property
    def window_hours(self) -> float:
        return self.window / self.traffic_per_hour

    def alarm_probability(self, loss: float) -> float:
        positives = self.positives_per_window
        if positives == 0:
            return 0.0
        # Alarm when caught / positives < recall − max_drop, i.e. caught <= the largest count below that line.
        line = positives * (self.recall - self.max_drop)
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
        count = round(self.window / (self.traffic_per_hour * self.cadence_hours))
        positives = round(self.positives_per_window / count) if count >= 2 else 0
        if count < 2 or positives < 1:
            return None
        return overlap.Blocks(detector="performance", threshold=self.max_drop, blocks=count,
                              block_size=round(self.window / count), shift=min(max(float(loss), 0.0), 1.0),
                              recall=self.recall, positives_per_block=positives, delay_cv=self.label_delay_cv)

    def lag(self, loss: float) -> Lag:
        blocks = self.blocks(loss)
        if blocks is not None:
            return _overlapping_lag(blocks, self.cadence_hours, self.label_delay_hours)
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
            return _sample_overlapping_lag(blocks, self.cadence_hours, self.label_delay_hours, rng, max_hours)
        return sample_window_lag(self.detection_probability(loss), self.cadence_hours, self.window_hours, rng,
                                 offset_hours=self.label_delay_hours, max_hours=max_hours,
                                 delay_cv=self.label_delay_cv)


# ------------------------------------------------------------------------------ lag of a windowed check


def _fraction(elapsed: float, window_hours: float, offset_hours: float, delay_cv: float = 0.0) -> float:
    """Share of the window's samples that came after the drift, ``elapsed`` hours after it started (labels taking
    ``offset_hours`` on average, with coefficient of variation ``delay_cv``: :mod:`mlorg.monitoring.labels`)."""
    if delay_cv > 0.0:
        return labels.drifted_share(elapsed, window_hours, offset_hours, delay_cv)
    return min(max((elapsed - offset_hours) / window_hours, 0.0), 1.0)


def window_lag(p_of_fraction, cadence_hours: float, window_hours: float, offset_hours: float = 0.0,
               delay_cv: float = 0.0) -> Lag:
    """Detection lag of a check every ``cadence_hours`` on a window of ``window_hours`` whose alarm probability is
    ``p_of_fraction(f)`` when a share f of the window has drifted. ``offset_hours`` delays what the window sees
    (labels arrive late). An alarm before any drifted sample is in the window is a false alarm, not a detection."""
    p_full = p_of_fraction(1.0)
    lags = []
    for a in (np.arange(QUADRATURE) + 0.5) / QUADRATURE * cadence_hours:  # first check a hours after the start
        lags.append(_lag_given_first_check(p_of_fraction, p_full, a, cadence_hours, window_hours, offset_hours,
                                           delay_cv))
    worst = _lag_given_first_check(p_of_fraction, p_full, cadence_hours, cadence_hours, window_hours, offset_hours,
                                   delay_cv)
    return Lag(mean_hours=float(np.mean(lags)), worst_hours=float(max(worst, max(lags))))


def _lag_given_first_check(p_of_fraction, p_full, first, cadence, window_hours, offset, delay_cv=0.0):
    expected, survive, t = 0.0, 1.0, first
    while True:
        f = _fraction(t, window_hours, offset, delay_cv)
        if f >= 1.0:  # from here every check sees a full drifted window: geometric
            if p_full <= 0.0:
                return math.inf
            return expected + survive * (t + cadence * (1.0 - p_full) / p_full)
        p = p_of_fraction(f) if f > 0.0 else 0.0
        expected += survive * p * t
        survive *= 1.0 - p
        t += cadence


def sample_window_lag(p_of_fraction, cadence_hours: float, window_hours: float, rng: np.random.Generator,
                      offset_hours: float = 0.0, max_hours: float = math.inf, delay_cv: float = 0.0) -> float:
    """One random lag of the check described in :func:`window_lag`; ``inf`` if it would exceed ``max_hours``."""
    t = rng.uniform(0.0, cadence_hours)
    while t <= max_hours:
        f = _fraction(t, window_hours, offset_hours, delay_cv)
        if f >= 1.0:
            p = p_of_fraction(1.0)
            if p <= 0.0:
                return math.inf
            t += cadence_hours * (rng.geometric(min(p, 1.0)) - 1)
            break
        if f > 0.0 and rng.random() < p_of_fraction(f):
            return t
        t += cadence_hours
    return t if t <= max_hours else math.inf


def _overlapping_lag(blocks: overlap.Blocks, cadence: float, offset: float = 0.0) -> Lag:
    mean = float(np.mean(overlap.lags(blocks, cadence, offset)))
    worst = float(np.mean(overlap.lags(blocks, cadence, offset, worst=True)))
    return Lag(mean_hours=mean, worst_hours=max(mean, worst))


def _sample_overlapping_lag(blocks: overlap.Blocks, cadence: float, offset: float, rng: np.random.Generator,
                            max_hours: float) -> float:
    lags = overlap.lags(blocks, cadence, offset)
    lag = float(lags[rng.integers(lags.size)])
    return lag if lag <= max_hours else math.inf


# ------------------------------------------------------------------------- simulated window statistics


def _interpolate(grid: np.ndarray, values: np.ndarray, x: float) -> float:
    return float(np.interp(x, grid, values))  # beyond the grid: the last value (the alarm rate has saturated)


@lru_cache(maxsize=64)
def _binned_statistics(detector: str, window: int, bins: int) -> np.ndarray:
    """PSI or Jensen–Shannon distance of simulated windows, one row per shift in BIN_SHIFTS.

    The bins are the reference's quantiles, so each holds 1/bins of the reference; a shifted normal puts
    Φ(e_i − δ) − Φ(e_{i−1} − δ) in bin i, and a window's counts are multinomial with those shares.
    """
    rng = np.random.default_rng(20261126)
    edges = special.ndtri(np.arange(1, bins) / bins)
    reference = np.full(bins, 1.0 / bins)
    rows = []
    for shift in BIN_SHIFTS:
        cdf = np.r_[0.0, special.ndtr(edges - shift), 1.0]
        counts = rng.multinomial(window, np.diff(cdf), size=MULTINOMIAL_DRAWS)
        shares = counts / window
        if detector == "psi":
            current = np.where(shares > 0, shares, 1e-4)  # the detector's epsilon for empty bins
            rows.append(((current - reference) * np.log(current / reference)).sum(axis=1))
        else:
            middle = 0.5 * (shares + reference)
            with np.errstate(divide="ignore", invalid="ignore"):
                kl_current = np.where(shares > 0, shares * np.log(shares / middle), 0.0).sum(axis=1)
            kl_reference = (reference * np.log(reference / middle)).sum(axis=1)
            rows.append(np.sqrt(np.maximum(0.5 * (kl_current + kl_reference), 0.0)))
    return np.array(rows)


@lru_cache(maxsize=256)
def _binned_alarm_rates(detector: str, window: int, bins: int, threshold: float) -> np.ndarray:
    return (_binned_statistics(detector, window, bins) > threshold).mean(axis=1)


@lru_cache(maxsize=16)
def _local_statistics(detector: str, window: int) -> np.ndarray:
    """√n · KS distance or √n · Wasserstein distance to N(0, 1) of simulated N(shift, 1) windows of n samples,
    one row per √n·shift in KS_SHIFTS or WASSERSTEIN_SHIFTS (common random numbers across rows)."""
    rng = np.random.default_rng(20261126)
    draws = np.sort(rng.standard_normal((SIMULATED_WINDOWS, window)), axis=1)
    n = window
    rows = []
    if detector == "ks":
        upper, lower = np.arange(1, n + 1) / n, np.arange(n) / n
        for local in KS_SHIFTS:
            cdf = special.ndtr(draws + local / math.sqrt(n))
            rows.append(np.maximum((upper - cdf).max(axis=1), (cdf - lower).max(axis=1)) * math.sqrt(n))
    else:
        for local in WASSERSTEIN_SHIFTS:
            rows.append(_wasserstein_to_normal(draws + local / math.sqrt(n)) * math.sqrt(n))
    return np.array(rows)


def _wasserstein_to_normal(sorted_rows: np.ndarray) -> np.ndarray:
    """W1 between each row's empirical distribution and N(0, 1): ∫|F_n(x) − Φ(x)| dx, in closed form with
    G(x) = xΦ(x) + φ(x), the antiderivative of Φ."""
    n = sorted_rows.shape[1]

    def g(x):
        return x * special.ndtr(x) + np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)

    gx = g(sorted_rows)  # G at every sample point, computed once
    tails = gx[:, 0] + (gx[:, -1] - sorted_rows[:, -1])  # ∫_{-∞}^{x1} Φ  +  ∫_{xn}^{∞} (1 − Φ)
    a, b, ga, gb = sorted_rows[:, :-1], sorted_rows[:, 1:], gx[:, :-1], gx[:, 1:]
    level = np.arange(1, n) / n
    crossing = special.ndtri(level)  # where Φ reaches the empirical level i/n
    cross = np.clip(crossing, a, b)  # ... if that is inside [a, b]; else the nearer end
    g_cross = np.where(cross == a, ga, np.where(cross == b, gb, g(crossing)))
    below = level * (cross - a) - (g_cross - ga)
    above = (gb - g_cross) - level * (b - cross)
    return tails + (below + above).sum(axis=1)


@lru_cache(maxsize=1)
def _wasserstein_null() -> np.ndarray:
    """√n · W1 to N(0, 1) of 10,000 no-drift windows of 400 samples (local asymptotics carry it to any n)."""
    draws = np.sort(np.random.default_rng(20261127).standard_normal((10_000, 400)), axis=1)
    return _wasserstein_to_normal(draws) * math.sqrt(400)


@lru_cache(maxsize=256)
def _local_alarm_rates(detector: str, window: int, critical: float) -> np.ndarray:
    return (_local_statistics(detector, window) > critical).mean(axis=1)


# ----------------------------------------------------------------------------------------- CUSUM


@lru_cache(maxsize=512)
def _cusum_chain(k: float, h: float, mean: float, states: int) -> np.ndarray:
    """Transition matrix among the in-control states of an upper CUSUM S' = max(0, S + z − k), z ~ N(mean, 1),
    alarm when S' > h (Brook & Evans 1972): state 0 is S = 0, state j > 0 the cell of width Δ around jΔ."""
    width = h / (states - 0.5)
    centre = np.arange(states) * width
    upper_edge = centre + 0.5 * width
    step = upper_edge[None, :] - centre[:, None] + k - mean  # z needed to land at or below each cell's top
    cumulative = special.ndtr(step)
    return np.diff(np.c_[np.zeros(states), cumulative], axis=1)


def _cusum_states(h: float) -> int:
    return int(min(max(200, 40 * h), 1500))


def _cusum_arl_vector(k: float, h: float, mean: float) -> np.ndarray:
    """Expected observations to alarm from each state of the chain."""
    states = _cusum_states(h)
    q = _cusum_chain(k, h, mean, states)
    return np.linalg.solve(np.eye(states) - q, np.ones(states))


@lru_cache(maxsize=1024)
def _cusum_arl(k: float, h: float, mean: float, two_sided: bool = False) -> float:
    """Average run length of a CUSUM started at 0; a two-sided one combines its sides as 1/ARL = 1/ARL₊ + 1/ARL₋
    (exact when only one side can come near its limit, as here)."""
    upper = _cusum_arl_vector(k, h, mean)[0]
    if not two_sided:
        return float(upper)
    lower = _cusum_arl_vector(k, h, -mean)[0]
    return float(1.0 / (1.0 / upper + 1.0 / lower))


def _quasi_stationary(k: float, h: float) -> np.ndarray:
    """Where a CUSUM that has run for a while without alarm sits: the normalised left eigenvector of the in-control
    chain (the start that "a drift at a random moment" meets)."""
    q = _cusum_chain(k, h, 0.0, _cusum_states(h))
    state = np.full(q.shape[0], 1.0 / q.shape[0])
    for _ in range(2000):
        nxt = state @ q
        nxt /= nxt.sum()
        if np.abs(nxt - state).max() < 1e-12:
            break
        state = nxt
    return state


def _cusum_lag(monitor: Monitor, shift: float) -> Lag:
    """Lag of the monitor's CUSUM on window means (upper side for a rise; the lower side mirrors it)."""
    h, cadence, local = monitor.threshold, monitor.cadence_hours, abs(shift) * math.sqrt(monitor.window)
    after = _cusum_arl_vector(CUSUM_K, h, local)
    start = _quasi_stationary(CUSUM_K, h)
    states = after.size

    def lag_from(state: np.ndarray, first: float) -> float:
        f = min(first / monitor.window_hours, 1.0)
        survived = state @ _cusum_chain(CUSUM_K, h, local * f, states)  # the first window is partly drifted
        return first + cadence * float(survived @ after)

    firsts = (np.arange(QUADRATURE) + 0.5) / QUADRATURE * cadence
    zero = np.zeros(states)
    zero[0] = 1.0
    mean = float(np.mean([lag_from(start, a) for a in firsts]))
    worst = max(lag_from(zero, a) for a in (*firsts, cadence))
    return Lag(mean_hours=mean, worst_hours=float(worst))


def siegmund_arl(k: float, h: float, mean: float) -> float:
    """Siegmund's (1985) approximation to the ARL of an upper CUSUM on N(mean, 1) observations started at 0:
    (e^{−2Δb} + 2Δb − 1) / (2Δ²) with Δ = mean − k and b = h + 1.166."""
    drift, b = mean - k, h + 1.166
    if abs(drift) < 1e-9:
        return b * b
    exponent = -2 * drift * b
    if exponent > 700:  # beyond a float: an ARL this long is never reached
        return math.inf
    return (math.exp(exponent) + 2 * drift * b - 1) / (2 * drift * drift)


@dataclass(frozen=True)
class QuickestDetection:
    """The quickest-detection reference for a mean shift of ``shift`` σ per sample at a false-alarm ARL₀."""

    arl0_samples: float
    h: float  # decision interval of the CUSUM with k = shift / 2 that has this ARL₀
    delay_samples: float  # its delay from a zero statistic (Lorden's worst case), by Siegmund's approximation
    lorden_approx_samples: float  # ln(ARL₀) / KL with KL = shift² / 2, reached only as ARL₀ grows


def quickest_detection(shift: float, arl0_samples: float) -> QuickestDetection:
    """The CUSUM tuned to a shift (k = shift/2) with a given ARL₀ is minimax-optimal (Lorden 1971, Moustakides
    1986): no detector with that ARL₀ has a shorter worst-case delay."""
    shift = abs(shift)
    if shift <= 0:
        raise ValueError("quickest detection needs a shift > 0")
    if not arl0_samples > 1:
        raise ValueError(f"ARL0 must be > 1 sample, got {arl0_samples!r}")
    k = shift / 2
    target = min(arl0_samples, 1e300)
    low, high = 0.0, 1.0
    while siegmund_arl(k, high, 0.0) < target:
        high *= 2.0
    for _ in range(200):
        middle = 0.5 * (low + high)
        low, high = (middle, high) if siegmund_arl(k, middle, 0.0) < target else (low, middle)
    h = 0.5 * (low + high)
    return QuickestDetection(arl0_samples=arl0_samples, h=h, delay_samples=siegmund_arl(k, h, shift),
                             lorden_approx_samples=math.log(arl0_samples) / (shift * shift / 2))


# ---------------------------------------------------------------------------------- Page–Hinkley

PH_PATHS = 400
PH_BURN_IN = 200  # observations before the drift, so the running mean has settled
PH_MAX_OBSERVATIONS = 20_000
PH_DELTA, PH_ALPHA, PH_MIN_INSTANCES = 0.005, 1 - 1e-4, 30  # river's defaults, as in detectors.PageHinkley


def _page_hinkley_paths(threshold: float, observations: np.ndarray, record_from: int = 0,
                        stop_when_all_hit: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Run two-sided Page–Hinkley detectors (river's algorithm, restarting after each alarm) along each row of
    ``observations``. Returns, per row, the index of the first alarm at or after ``record_from`` (−1 if none) and
    the number of alarms seen."""
    paths, length = observations.shape
    count, mean = np.zeros(paths), np.zeros(paths)
    up, up_min = np.zeros(paths), np.full(paths, np.inf)
    down, down_max = np.zeros(paths), np.full(paths, -np.inf)
    first, alarms = np.full(paths, -1), np.zeros(paths, dtype=int)
    for t in range(length):
        x = observations[:, t]
        count += 1
        mean += (x - mean) / count
        deviation = x - mean
        up = PH_ALPHA * up + deviation - PH_DELTA
        up_min = np.minimum(up_min, up)
        down = PH_ALPHA * down + deviation + PH_DELTA
        down_max = np.maximum(down_max, down)
        alarm = (count >= PH_MIN_INSTANCES) & ((up - up_min > threshold) | (down_max - down > threshold))
        if t >= record_from:
            first = np.where((first < 0) & alarm, t, first)
            if stop_when_all_hit and (first >= 0).all():
                break
        if alarm.any():  # restart the detectors that alarmed
            alarms += alarm
            count[alarm], mean[alarm], up[alarm], down[alarm] = 0, 0, 0, 0
            up_min[alarm], down_max[alarm] = np.inf, -np.inf
    return first, alarms


@lru_cache(maxsize=64)
def _page_hinkley_null_rate(threshold: float) -> float:
    """False alarms per observation of a restarting Page–Hinkley detector on N(0, 1) observations."""
    observations = np.random.default_rng(20261126).standard_normal((200, 5000))
    _, alarms = _page_hinkley_paths(threshold, observations, stop_when_all_hit=False)
    return alarms.sum() / observations.size


@lru_cache(maxsize=512)
def _page_hinkley_rates(threshold: float, locals_: tuple[float, ...]) -> np.ndarray:
    """Probability that the first observation after a settled run alarms, for each √n·shift."""
    rng = np.random.default_rng(20261126)
    out = []
    for local in locals_:
        observations = rng.standard_normal((PH_PATHS, PH_BURN_IN + 1))
        observations[:, -1] += local
        out.append((_page_hinkley_paths(threshold, observations, record_from=PH_BURN_IN)[0] == PH_BURN_IN).mean())
    return np.array(out)


@lru_cache(maxsize=256)
def _page_hinkley_lag_cached(threshold: float, local: float, window_hours: float, cadence: float) -> Lag:
    rng = np.random.default_rng(20261126)
    firsts = rng.uniform(0.0, cadence, PH_PATHS)
    observations = rng.standard_normal((PH_PATHS, PH_BURN_IN + PH_MAX_OBSERVATIONS))
    observations[:, PH_BURN_IN] += local * np.minimum(firsts / window_hours, 1.0)
    observations[:, PH_BURN_IN + 1:] += local
    hits, _ = _page_hinkley_paths(threshold, observations, record_from=PH_BURN_IN)
    if (hits < 0).mean() > 0.01:  # more than 1% of paths never alarmed: the detector misses this drift
        return Lag(mean_hours=math.inf, worst_hours=math.inf)
    hits = np.where(hits < 0, PH_BURN_IN + PH_MAX_OBSERVATIONS, hits) - PH_BURN_IN
    lags = firsts + hits * cadence
    # Worst case over the start moment: the drift starts just after a check (a full cadence to the next one).
    return Lag(mean_hours=float(lags.mean()), worst_hours=float((cadence + hits * cadence).mean()))


def _page_hinkley_lag(monitor: Monitor, shift: float) -> Lag:
    local = round(abs(shift) * math.sqrt(monitor.window), 6)
    return _page_hinkley_lag_cached(monitor.threshold, local, monitor.window_hours, monitor.cadence_hours)


# ------------------------------------------------------------------------------ simulator sampling


def _sample_sequential_lag(monitor: Monitor, shift: float, rng: np.random.Generator, max_hours: float) -> float:
    """Run the monitor's own recursion on random window means from the drift's start until it alarms."""
    local = abs(shift) * math.sqrt(monitor.window)
    if monitor.detector == "cusum":
        detector = Cusum(k=CUSUM_K, h=monitor.threshold, direction="both")
    else:
        detector = PageHinkley(threshold=monitor.threshold)
    for z in rng.standard_normal(PH_BURN_IN if monitor.detector == "page_hinkley" else 20).tolist():
        detector.update(z)  # a detector that has been running (a false alarm here just restarts it)
    first = rng.uniform(0.0, monitor.cadence_hours)
    t, mean = first, local * min(first / monitor.window_hours, 1.0)
    while t <= max_hours:
        for z in rng.standard_normal(64).tolist():
            if detector.update(z + mean):
                return t
            t += monitor.cadence_hours
            mean = local
            if t > max_hours:
                break
    return math.inf


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
