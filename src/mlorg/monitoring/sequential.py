"""Sequential detectors on window means: the CUSUM through its Markov chain (Brook & Evans), Siegmund's approximation
and the quickest-detection reference (Lorden, Moustakides), and Page–Hinkley through its own recursion."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import numpy as np
from scipy import optimize, special

from mlorg.monitoring.detectors import Cusum, PageHinkley
from mlorg.monitoring.window_lag import QUADRATURE, Lag

CUSUM_K = 0.5  # reference value of the monitor's CUSUM: tuned to a 1σ shift of the window mean (Montgomery)


class Setting(Protocol):
    """What these functions read of a monitor (:class:`mlorg.monitoring.characteristics.Monitor`)."""

    detector: str
    threshold: float
    window: int
    cadence_hours: float

    @property
    def window_hours(self) -> float: ...


@lru_cache(maxsize=512)
def cusum_chain(k: float, h: float, mean: float, states: int) -> np.ndarray:
    """Transition matrix among the in-control states of an upper CUSUM S' = max(0, S + z − k), z ~ N(mean, 1),
    alarm when S' > h (Brook & Evans 1972): state 0 is S = 0, state j > 0 the cell of width Δ around jΔ."""
    width = h / (states - 0.5)
    # Landing at or below cell j's top from cell i's centre needs z <= (j − i + 0.5)·Δ + k: it depends on j − i only,
    # so the 2·states − 1 normal probabilities are computed once and laid out (not states² of them).
    offsets = np.arange(-(states - 1), states)
    cdf = special.ndtr((offsets + 0.5) * width + k - mean)
    cumulative = cdf[np.arange(states)[None, :] - np.arange(states)[:, None] + states - 1]
    return np.diff(np.c_[np.zeros(states), cumulative], axis=1)


def cusum_states(h: float) -> int:
    return int(min(max(200, 40 * h), 1500))


def cusum_arl_vector(k: float, h: float, mean: float) -> np.ndarray:
    """Expected observations to alarm from each state of the chain."""
    states = cusum_states(h)
    q = cusum_chain(k, h, mean, states)
    return np.linalg.solve(np.eye(states) - q, np.ones(states))


@lru_cache(maxsize=1024)
def cusum_arl(k: float, h: float, mean: float, two_sided: bool = False) -> float:
    """Average run length of a CUSUM started at 0; a two-sided one combines its sides as 1/ARL = 1/ARL₊ + 1/ARL₋
    (exact when only one side can come near its limit, as here)."""
    upper = cusum_arl_vector(k, h, mean)[0]
    if not two_sided:
        return float(upper)
    lower = cusum_arl_vector(k, h, -mean)[0]
    return float(1.0 / (1.0 / upper + 1.0 / lower))


def quasi_stationary(k: float, h: float) -> np.ndarray:
    """Where a CUSUM that has run for a while without alarm sits: the normalised left eigenvector of the in-control
    chain (the start that "a drift at a random moment" meets)."""
    q = cusum_chain(k, h, 0.0, cusum_states(h))
    state = np.full(q.shape[0], 1.0 / q.shape[0])
    for _ in range(2000):
        nxt = state @ q
        nxt /= nxt.sum()
        if np.abs(nxt - state).max() < 1e-12:
            break
        state = nxt
    return state


def cusum_lag(monitor: Setting, shift: float) -> Lag:
    """Lag of the monitor's CUSUM on window means (upper side for a rise; the lower side mirrors it)."""
    h, cadence, local = monitor.threshold, monitor.cadence_hours, abs(shift) * math.sqrt(monitor.window)
    after = cusum_arl_vector(CUSUM_K, h, local)
    start = quasi_stationary(CUSUM_K, h)
    states = after.size

    def lag_from(state: np.ndarray, first: float) -> float:
        f = min(first / monitor.window_hours, 1.0)
        survived = state @ cusum_chain(CUSUM_K, h, local * f, states)  # the first window is partly drifted
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


REFERENCE_STATES = 400
# Beyond these the chain's cells grow coarse (h / 400 of a σ each) or its linear solve loses precision; h is then
# large, where Siegmund's formula is within a few per cent.
CHAIN_MAX_ARL0 = 1e12
CHAIN_MAX_H = 40.0


@dataclass(frozen=True)
class QuickestDetection:
    """The quickest-detection reference for a mean shift of ``shift`` σ per sample at a false-alarm ARL₀."""

    arl0_samples: float
    h: float  # decision interval of the CUSUM with k = shift / 2 that has this ARL₀
    delay_samples: float  # its delay from a zero statistic (Lorden's worst case), through the Markov chain
    lorden_approx_samples: float  # ln(ARL₀) / KL with KL = shift² / 2: Lorden's asymptote, reached only as ARL₀ grows


@lru_cache(maxsize=4096)
def quickest_detection(shift: float, arl0_samples: float) -> QuickestDetection:
    """The CUSUM tuned to a shift (k = shift/2) with a given ARL₀ is minimax-optimal (Lorden 1971, Moustakides
    1986): no detector with that ARL₀ has a shorter worst-case delay.

    Its h and delay come from the Brook–Evans Markov chain, with Siegmund's approximation only as the first guess
    (and beyond :data:`CHAIN_MAX_ARL0` or :data:`CHAIN_MAX_H`): where the tuned h falls below about 1 (a 3σ shift
    at ARL₀ 80, a 2σ one at 7.5) Siegmund's formula puts the delay 15–19% too low.
    """
    shift = abs(shift)
    if shift <= 0:
        raise ValueError("quickest detection needs a shift > 0")
    if not arl0_samples > 1:
        raise ValueError(f"ARL0 must be > 1 sample, got {arl0_samples!r}")
    k = shift / 2
    target = min(arl0_samples, 1e300)
    guess = _siegmund_h(k, target)
    if target > CHAIN_MAX_ARL0 or guess > CHAIN_MAX_H:
        h, delay = guess, siegmund_arl(k, guess, shift)
    else:
        h = _chain_h(k, target, guess)
        delay = _reference_arl(k, h, shift)
    return QuickestDetection(arl0_samples=arl0_samples, h=h, delay_samples=float(delay),
                             lorden_approx_samples=math.log(arl0_samples) / (shift * shift / 2))


def _siegmund_h(k: float, target: float) -> float:
    low, high = 0.0, 1.0
    while siegmund_arl(k, high, 0.0) < target:
        high *= 2.0
    for _ in range(200):
        middle = 0.5 * (low + high)
        low, high = (middle, high) if siegmund_arl(k, middle, 0.0) < target else (low, middle)
    return 0.5 * (low + high)


def _reference_arl(k: float, h: float, mean: float) -> float:
    """ARL from 0 through a chain of :data:`REFERENCE_STATES` cells at most: the root search below solves it a dozen
    times, and the coarser cells move the answer by under 0.5% (tested against Monte Carlo)."""
    states = int(min(max(100, 16 * h), REFERENCE_STATES))
    q = cusum_chain(k, h, mean, states)
    return float(np.linalg.solve(np.eye(states) - q, np.ones(states))[0])


def _chain_h(k: float, target: float, guess: float) -> float:
    """The h whose in-control ARL by the Markov chain is ``target``, bracketed around Siegmund's guess."""
    def gap(h: float) -> float:
        return math.log(_reference_arl(k, h, 0.0)) - math.log(target)

    low, high = max(guess - 0.5, guess / 2, 1e-6), guess + 0.5  # Siegmund's h is off by a few tenths at most
    while gap(low) > 0 and low > 1e-6:
        low /= 2
    while gap(high) < 0:
        high *= 2
    return float(optimize.brentq(gap, low, high, xtol=1e-6, rtol=1e-6))


# ---------------------------------------------------------------------------------- Page–Hinkley

# A running detector restarts after every false alarm, so a drift meets it at any age since its last restart. A drift
# that starts just after one is absorbed into the fresh running mean and may take as long as a false alarm to be
# caught: about 1% of drifts at river's defaults (ARL₀ ≈ 1,700 observations), enough to move the mean lag by a
# tenth. So the lag is averaged over the steady state's ages: strata of ages since the last restart (their
# weights from the renewal process, below), each with its own paths, and "settled" ages of PH_SETTLED and more.
PH_AGE_STRATA = (0, 3, 6, 10, 15, 20, 30, 45, 70, 100, 140, 200)
PH_STRATUM_PATHS = 200
PH_SETTLED = 200  # from here on, ages are "settled": the lag changes little with the age
PH_SETTLED_PATHS = 1000  # more: the older a detector, the likelier it alarmed before the drift (those are left out)
PH_SETTLED_CAP = 4000  # older ages drift towards the same lag; simulating them longer changes nothing
PH_MAX_OBSERVATIONS = 20_000
PH_CHUNK = 500  # observations drawn at a time: a whole path of every path at once would take gigabytes
PH_DELTA, PH_ALPHA, PH_MIN_INSTANCES = 0.005, 1 - 1e-4, 30  # river's defaults, as in detectors.PageHinkley


class _PageHinkleyPaths:
    """Two-sided Page–Hinkley detectors (river's algorithm), one per path, advanced an observation at a time."""

    def __init__(self, paths: int, threshold: float):
        self.threshold = threshold
        self.count, self.mean = np.zeros(paths), np.zeros(paths)
        self.up, self.up_min = np.zeros(paths), np.full(paths, np.inf)
        self.down, self.down_max = np.zeros(paths), np.full(paths, -np.inf)

    def step(self, x: np.ndarray) -> np.ndarray:
        """Read one observation per path; True where it alarms. Call :meth:`restart` on those before the next."""
        self.count += 1
        self.mean += (x - self.mean) / self.count
        deviation = x - self.mean
        self.up = PH_ALPHA * self.up + deviation - PH_DELTA
        self.up_min = np.minimum(self.up_min, self.up)
        self.down = PH_ALPHA * self.down + deviation + PH_DELTA
        self.down_max = np.maximum(self.down_max, self.down)
        return (self.count >= PH_MIN_INSTANCES) & ((self.up - self.up_min > self.threshold)
                                                   | (self.down_max - self.down > self.threshold))

    def restart(self, alarm: np.ndarray) -> None:
        self.count[alarm], self.mean[alarm], self.up[alarm], self.down[alarm] = 0, 0, 0, 0
        self.up_min[alarm], self.down_max[alarm] = np.inf, -np.inf


def page_hinkley_paths(threshold: float, chunks, record_from: int = 0,
                       stop_when_all_hit: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Run restarting Page–Hinkley detectors along paths whose observations come as consecutive ``(paths, k)``
    arrays from ``chunks``. Returns, per path, the index of the first alarm at or after ``record_from`` (−1 if
    none) and the number of alarms seen."""
    t, detectors = 0, None
    for chunk in chunks:
        if detectors is None:
            detectors = _PageHinkleyPaths(chunk.shape[0], threshold)
            first, alarms = np.full(chunk.shape[0], -1), np.zeros(chunk.shape[0], dtype=int)
        for x in chunk.T:
            alarm = detectors.step(x)
            if t >= record_from:
                first = np.where((first < 0) & alarm, t, first)
                if stop_when_all_hit and (first >= 0).all():
                    return first, alarms
            if alarm.any():
                alarms += alarm
                detectors.restart(alarm)
            t += 1
    return first, alarms


@lru_cache(maxsize=64)
def page_hinkley_null_rate(threshold: float) -> float:
    """False alarms per observation of a restarting Page–Hinkley detector on N(0, 1) observations."""
    observations = np.random.default_rng(20261126).standard_normal((200, 5000))
    _, alarms = page_hinkley_paths(threshold, [observations], stop_when_all_hit=False)
    return alarms.sum() / observations.size


@lru_cache(maxsize=512)
def page_hinkley_rates(threshold: float, locals_: tuple[float, ...]) -> np.ndarray:
    """Probability that the first observation after a settled run alarms, for each √n·shift."""
    rng = np.random.default_rng(20261126)
    out = []
    for local in locals_:
        observations = rng.standard_normal((400, PH_SETTLED + 1))
        observations[:, -1] += local
        out.append((page_hinkley_paths(threshold, [observations], record_from=PH_SETTLED)[0] == PH_SETTLED).mean())
    return np.array(out)


def age_weights(arl0: float) -> np.ndarray:
    """Steady-state probability that a drift meets the detector at an age since its last restart in each stratum of
    :data:`PH_AGE_STRATA`, the last weight being ages of PH_SETTLED or more. Renewal theory: P(age = a) =
    P(run > a) / ARL₀; runs cannot end before ``min_instances`` observations and end at a constant rate after (a
    geometric tail with the mean ARL₀), which the null simulation supports."""
    edges = np.array(PH_AGE_STRATA)
    ages = np.arange(edges[-1])
    rate = 1.0 / max(arl0 - PH_MIN_INSTANCES, 1.0)
    survival = np.where(ages < PH_MIN_INSTANCES, 1.0, (1.0 - rate) ** (ages - PH_MIN_INSTANCES + 1))
    probability = survival / arl0
    strata = np.add.reduceat(probability, edges[:-1])
    return np.append(strata, max(0.0, 1.0 - strata.sum()))


def _lags_after_ages(threshold: float, ages: np.ndarray, first_shift: np.ndarray, local: float,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Observations from each path's drift start to its first alarm (−1 if none within PH_MAX_OBSERVATIONS), for
    detectors restarted ``ages`` observations before it, and whether each lasted those observations without an alarm
    (the paths that did not belong to another age: they are left out, which conditions on the age)."""
    paths, t = ages.size, 0
    detectors = _PageHinkleyPaths(paths, threshold)
    hit, early = np.full(paths, -1), np.zeros(paths, dtype=bool)
    while t < ages.max() + PH_MAX_OBSERVATIONS:
        noise = rng.standard_normal((paths, PH_CHUNK))
        for x in noise.T:
            alarm = detectors.step(x + np.where(t > ages, local, np.where(t == ages, first_shift, 0.0)))
            early |= alarm & (t < ages)
            hit = np.where((hit < 0) & alarm & (t >= ages), t - ages, hit)
            if ((hit >= 0) | early).all():
                return hit, ~early
            if alarm.any():
                detectors.restart(alarm)
            t += 1
    return hit, ~early


@lru_cache(maxsize=256)
def page_hinkley_lag_cached(threshold: float, local: float, window_hours: float, cadence: float) -> Lag:
    """Mean lag over the ages at which a drift meets the detector in its steady state (:func:`age_weights`), and
    the worst case: a drift that starts just after a check and just after a restart, reported as it is (often near
    a false alarm's wait). Infinite when more than 1% of drifts (weighted by age) never alarm within
    PH_MAX_OBSERVATIONS; rarer ones count at that horizon, a lower bound."""
    rng = np.random.default_rng(20261126)
    arl0 = 1.0 / page_hinkley_null_rate(threshold)
    edges = PH_AGE_STRATA
    strata = len(edges)  # the last is "settled": PH_SETTLED and older
    stratum = np.repeat(np.arange(strata), [PH_STRATUM_PATHS] * (strata - 1) + [PH_SETTLED_PATHS])
    young = stratum < strata - 1
    ages = np.empty(stratum.size, dtype=np.int64)
    ages[young] = rng.integers(np.array(edges[:-1])[stratum[young]], np.array(edges[1:])[stratum[young]])
    # Settled ages as the steady state has them (a geometric tail past PH_SETTLED), capped where nothing changes.
    tail = rng.geometric(min(1.0, 1.0 / max(arl0 - PH_MIN_INSTANCES, 1.0)), size=int((~young).sum()))
    ages[~young] = PH_SETTLED + np.minimum(tail - 1, PH_SETTLED_CAP - PH_SETTLED)
    firsts = rng.uniform(0.0, cadence, ages.size)
    hits, kept = _lags_after_ages(threshold, ages, local * np.minimum(firsts / window_hours, 1.0), local, rng)
    weights = age_weights(arl0)
    censored = np.where(hits < 0, PH_MAX_OBSERVATIONS, hits)  # never within the horizon: counted at it
    means, never = np.zeros(strata), np.zeros(strata)
    for j in range(strata):
        mine = kept & (stratum == j)
        means[j] = (firsts[mine] + censored[mine] * cadence).mean()
        never[j] = (hits[mine] < 0).mean()
    youngest = kept & (stratum == 0)
    worst = math.inf if never[0] > 0.01 else float((cadence + censored[youngest] * cadence).mean())
    mean = math.inf if float(np.dot(weights, never)) > 0.01 else float(np.dot(weights, means))
    return Lag(mean_hours=mean, worst_hours=max(worst, mean))


def page_hinkley_lag(monitor: Setting, shift: float) -> Lag:
    local = round(abs(shift) * math.sqrt(monitor.window), 6)
    return page_hinkley_lag_cached(monitor.threshold, local, monitor.window_hours, monitor.cadence_hours)


# ------------------------------------------------------------------------------ simulator sampling


def sample_sequential_lag(monitor: Setting, shift: float, rng: np.random.Generator, max_hours: float) -> float:
    """Run the monitor's own recursion on random window means from the drift's start until it alarms."""
    local = abs(shift) * math.sqrt(monitor.window)
    if monitor.detector == "cusum":
        detector = Cusum(k=CUSUM_K, h=monitor.threshold, direction="both")
    else:
        detector = PageHinkley(threshold=monitor.threshold)
    # A detector that has been running (a false alarm here just restarts it); Page–Hinkley's age since its last
    # restart matters (see PH_AGE_STRATA), so it runs long enough for restarts to reach their steady rate.
    burn_in = 10 * PH_SETTLED if monitor.detector == "page_hinkley" else 20
    for z in rng.standard_normal(burn_in).tolist():
        detector.update(z)
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
