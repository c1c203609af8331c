"""Fit the simulator to a deploy history by the simulated method of moments, with common random numbers.

Why this method: the simulator has no likelihood (a model's time-to-production is queueing for people who also
research, retrain and review), but it is cheap to run and its random streams are named, so the same replications
rerun at other parameters change only through the parameters (common random numbers). Matching one statistic per
parameter then is a smooth root-finding problem, solved by a damped Newton iteration on a finite-difference
Jacobian in log-parameters; ABC would need thousands of runs for the same precision. The matched statistics
(:mod:`mlorg.fit.moments`) and what each pins down, given the base's headcount and hiring:

- new models trained → research hours per trained model (``research.cycle_hours.mean``);
- median time-to-production → productionisation effort (``productionisation.effort_hours.mean``);
- share of new models deployed → abandonment (``productionisation.abandon_after_days``);
- median days from a deploy to the next version's training → retraining cadence (``lifecycle.retrain_every_days``).

The mean lifetime of a live model is estimated directly (exposure / retirements) and held fixed while matching.
Intervals are the method of moments' sandwich for as many statistics as parameters: Var θ̂ = G⁻¹ Ω G⁻ᵀ (1 + 1/S),
G the Jacobian at the fit, Ω the covariance of the statistics over independent replications at the fit (what one
history of this organisation would show), 1/S the noise of matching the mean of S replications; on log-parameters
and turned back, so they are asymmetric. A local slope misleads where a statistic flattens (few models wait long
enough to be abandoned), so each interval is widened to hold the test-inversion interval too: the values of the
parameter, the others held at the fit, whose mean statistic stays within 1.96 of the history's spread of it. A
parameter whose statistic barely moves with it (a sandwich interval wider than ×/÷ :data:`UNIDENTIFIED_FACTOR`, or
a band that does not end within ×/÷ e² of the fit) is reported as not identified and left at the base's value.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import stats

from mlorg.fit.history import History
from mlorg.fit.moments import MINIMUM, MINIMUM_RETIREMENTS, WHAT, counts, lifetime, moments, ttp_days
from mlorg.fit.simulated import simulate_history
from mlorg.scenario import Scenario, validate
from mlorg.sweeps.grid import edit

METHOD = "simulated method of moments with common random numbers"


@dataclass(frozen=True)
class Parameter:
    path: str
    moment: str
    label: str
    lo: float
    hi: float


PARAMETERS = (
    Parameter("research.cycle_hours.mean", "new_models", "research hours per trained model", 8.0, 1e5),
    Parameter("productionisation.effort_hours.mean", "ttp_median", "productionisation effort (hours)", 1.0, 1e5),
    Parameter("productionisation.abandon_after_days", "ship_share", "days a trained model waits before it is "
              "abandoned", 1.0, 36500.0),
    Parameter("lifecycle.retrain_every_days", "retrain_gap_median", "days from a deploy to the next retraining",
              1.0, 36500.0),
)
LIFETIME = "lifecycle.lifetime_days"
# Never fitted, with why: what the history cannot separate from what is fitted, given the base.
NOT_IDENTIFIED = {
    "research.cycle_hours.cv": "a history shows when models were trained, not how long each took: the spread of "
                               "research time is hidden among several data scientists working at once",
    "productionisation.effort_hours.cv": "the spread of time-to-production is mostly queueing, not effort",
    "deploy.review_hours": "the review wait adds to time-to-production exactly as effort does: not separable",
    "governance (validation failures, A/B losses)": "a model that never deploys looks the same whether it was "
                                                    "rejected or abandoned; the base's shares are kept",
    "lifecycle.retraining_effort_hours": "adds to the retraining gap as cadence does; cadence is fitted",
    "skills, policy, headcount, hiring": "from the base: effort and headcount cannot be told apart from a history",
}
REPLICATIONS = 8  # replications averaged at each candidate: the matching noise is 1/8 of a history's
COVARIANCE_REPLICATIONS = 40  # replications at the fit for the statistics' covariance and the KS test
STEP = 0.1  # finite-difference step in log-parameter (10%)
MAX_ITERATIONS = 8
MAX_LOG_STEP = 0.7  # a Newton step changes a parameter by at most ×/÷ 2
TOLERANCE = 0.1  # matched when every statistic is within this many of its replication spreads
UNIDENTIFIED_FACTOR = 4.0
# Steps in log-parameter at which the test-inversion interval looks for the edge of the band (up to ×/÷ e²).
INVERSION_STEPS = (0.05, 0.1, 0.2, 0.35, 0.5, 0.7, 1.0, 1.4, 2.0)
Z95 = 1.959963984540054


@dataclass(frozen=True)
class Estimate:
    path: str
    label: str
    base: float
    value: float
    low: float
    high: float
    source: str  # "simulated moments" or "direct"


@dataclass(frozen=True)
class Fit:
    history: History
    base: Scenario
    scenario: Scenario  # the base with the fitted values, over its horizon or the history's span if longer
    estimates: tuple[Estimate, ...]
    unidentified: dict[str, str]  # path -> why it was left at the base's value
    ks_statistic: float
    ks_pvalue: float  # as if the history's times were independent draws
    ks_pvalue_simulated: float  # against the KS statistics of simulated histories: their times are not independent
    history_ttp: np.ndarray
    simulated_ttp: np.ndarray
    seconds: float
    iterations: int
    seed: int
    replications: int


def fit(history: History, base: Scenario, *, seed: int = 0, replications: int = REPLICATIONS,
        progress: Callable[[str], None] | None = None) -> Fit:
    """Fit ``base`` to ``history``: the base's day 0 is the history's start and its horizon becomes the history's
    span. Same history, base and seed → the same fit."""
    began = time.perf_counter()
    say = progress or (lambda _text: None)
    rows, span = history.rows, history.span_days
    base = validate(base)
    start = _over_history(base, span)
    unidentified: dict[str, str] = {}
    estimates: list[Estimate] = []

    life = lifetime(rows, span) if history.has_retired else None
    if life is None:
        unidentified[LIFETIME] = "the history has no retired_at column"
    elif life.retirements < MINIMUM_RETIREMENTS:
        unidentified[LIFETIME] = (f"too short to identify: models retired: {life.retirements} (at least "
                                  f"{MINIMUM_RETIREMENTS} needed)")
    else:
        start = edit(start, {LIFETIME: round(life.mean_days, 1)})
        estimates.append(Estimate(LIFETIME, "mean days a model stays live", base.lifecycle.lifetime_days,
                                  life.mean_days, life.low, life.high, "direct"))

    have = counts(rows)
    active = []
    for p in PARAMETERS:
        if have[p.moment] < MINIMUM[p.moment]:
            unidentified[p.path] = (f"too short to identify: {WHAT[p.moment]}: {have[p.moment]} (at least "
                                    f"{MINIMUM[p.moment]} needed)")
        elif _value(start, p.path) <= 0:
            unidentified[p.path] = "the base turns it off (0); a history cannot say what it would be"
        else:
            active.append(p)

    values = {p.path: _value(start, p.path) for p in active}
    iterations = 0
    while active:
        matcher = Matcher(start, active, rows, seed, replications)
        say(f"matching {len(active)} statistics by simulation")
        theta, used = matcher.solve(np.log([values[p.path] for p in active]), say)
        iterations += used
        values.update({p.path: math.exp(t) for p, t in zip(active, theta, strict=True)})
        say("intervals")
        covariance = matcher.covariance(theta)
        se, kept = _standard_errors(matcher.jacobian(theta, matcher.mean(theta)), covariance, replications)
        why = f"a 95% interval wider than ×/÷ {UNIDENTIFIED_FACTOR:g}"
        if kept.all():
            spread = np.sqrt(np.diag(covariance) * (1.0 + 1.0 / replications))
            bounds = [matcher.inverted(theta, j, spread[j]) for j in range(len(active))]
            kept = np.array([b is not None for b in bounds])
            why = f"values beyond ×/÷ {math.exp(INVERSION_STEPS[-1]):.0f} of the fit match the history as well"
        if kept.all():
            estimates += [Estimate(p.path, p.label, _value(base, p.path), math.exp(t),
                                   min(math.exp(t - Z95 * e), low), max(math.exp(t + Z95 * e), high),
                                   "simulated moments")
                          for p, t, e, (low, high) in zip(active, theta, se, bounds, strict=True)]
            start = matcher.at(theta)
            break
        # A statistic that hardly moves: that parameter stays at the base's value and the rest are matched again.
        for p, keep in zip(active, kept, strict=True):
            if not keep:
                unidentified[p.path] = f"not identified: the {WHAT[p.moment]} hardly change with it ({why})"
        active = [p for p, keep in zip(active, kept, strict=True) if keep]

    say("checking the fitted scenario against the history")
    fitted = validate(start)
    # What is written: the base (its horizon and whole hiring plan, for planning ahead) with the fitted values.
    written = edit(base, {"horizon_days": max(base.horizon_days, round(span, 3)),
                          **{e.path: round(e.value, 4) for e in estimates}})
    history_ttp = np.sort(ttp_days(rows))
    runs = [ttp_days(simulate_history(fitted, seed, r)) for r in range(COVARIANCE_REPLICATIONS)]
    simulated_ttp = np.sort(np.concatenate(runs))
    ks = stats.ks_2samp(history_ttp, simulated_ttp) if len(history_ttp) and len(simulated_ttp) else None
    calibrated = _calibrated_ks_pvalue(float(ks.statistic), runs) if ks else math.nan
    order = {p.path: i for i, p in enumerate(PARAMETERS)} | {LIFETIME: len(PARAMETERS)}
    return Fit(history=history, base=base, scenario=written,
               estimates=tuple(sorted(estimates, key=lambda e: order[e.path])), unidentified=unidentified,
               ks_statistic=float(ks.statistic) if ks else math.nan, ks_pvalue=float(ks.pvalue) if ks else math.nan,
               ks_pvalue_simulated=calibrated,
               history_ttp=history_ttp, simulated_ttp=simulated_ttp, seconds=time.perf_counter() - began,
               iterations=iterations, seed=seed, replications=replications)


class Matcher:
    """The mean statistics of ``replications`` runs as a function of the active log-parameters; replication r
    always draws from the same named streams, so the function moves only through the parameters."""

    def __init__(self, start: Scenario, active: list[Parameter], rows, seed: int, replications: int):
        self.start, self.active, self.seed, self.replications = start, active, seed, replications
        self.names = tuple(p.moment for p in active)
        self.target = moments(rows, self.names)
        self.lo = np.log([p.lo for p in active])
        self.hi = np.log([p.hi for p in active])

    def at(self, theta: np.ndarray) -> Scenario:
        return edit(self.start, {p.path: float(round(math.exp(t), 4)) for p, t in zip(self.active, theta,
                                                                                         strict=True)})

    def per_replication(self, theta: np.ndarray, n: int) -> np.ndarray:
        scenario = validate(self.at(theta))
        return np.array([moments(simulate_history(scenario, self.seed, r), self.names) for r in range(n)])

    def mean(self, theta: np.ndarray) -> np.ndarray:
        return _nan_mean(self.per_replication(theta, self.replications))

    def covariance(self, theta: np.ndarray) -> np.ndarray:
        """What one history of the organisation at ``theta`` would show: the statistics over fresh replications
        (numbered after the matched ones, so independent of them)."""
        n, k = COVARIANCE_REPLICATIONS, len(self.active)
        scenario = validate(self.at(theta))
        samples = np.array([moments(simulate_history(scenario, self.seed, self.replications + r), self.names)
                            for r in range(n)])
        return np.cov(samples[~np.isnan(samples).any(axis=1)], rowvar=False).reshape(k, k)

    def jacobian(self, theta: np.ndarray, here: np.ndarray) -> np.ndarray:
        return _jacobian(self.mean, theta, here)

    def inverted(self, theta: np.ndarray, j: int, spread: float) -> tuple[float, float] | None:
        """The values of parameter j, the others held at the fit, whose mean statistic stays within 1.96 spreads of
        the history's: a test-inversion interval, which follows the statistic where it flattens (a local slope
        does not). None when either side runs past the last step without leaving that band."""
        ends = []
        for sign in (-1.0, 1.0):
            previous, end = 0.0, None
            for step in INVERSION_STEPS:
                moved = theta.copy()
                moved[j] += sign * step
                moved = np.clip(moved, self.lo, self.hi)
                gap = abs(self.mean(moved)[j] - self.target[j])
                if gap > Z95 * spread:
                    end = theta[j] + sign * (previous + step) / 2  # between the last step inside and this one
                    break
                previous = step
                if moved[j] in (self.lo[j], self.hi[j]):
                    break
            if end is None:
                return None
            ends.append(math.exp(end))
        return ends[0], ends[1]

    def solve(self, theta: np.ndarray, say: Callable[[str], None]) -> tuple[np.ndarray, int]:
        """Damped Newton steps until every statistic is within TOLERANCE of its spread, or MAX_ITERATIONS."""
        target = self.target
        scale = np.maximum(np.nanstd(self.per_replication(theta, self.replications), axis=0, ddof=1), 1e-6)
        here = self.mean(theta)
        for iteration in range(1, MAX_ITERATIONS + 1):
            residual = (here - target) / scale
            if np.all(np.abs(residual) <= TOLERANCE):
                return theta, iteration - 1
            jacobian = self.jacobian(theta, here)
            keep = _identified(jacobian, scale)
            if not keep.any():
                return theta, iteration - 1
            step = np.zeros_like(theta)
            step[keep] = np.linalg.lstsq(jacobian[np.ix_(keep, keep)], target[keep] - here[keep], rcond=None)[0]
            step = np.clip(step, -MAX_LOG_STEP, MAX_LOG_STEP)
            # Backtrack: a full Newton step through a coupled, slightly noisy map can overshoot into a region where
            # a statistic no longer moves (no model waits long enough to be abandoned).
            for shrink in (1.0, 0.5, 0.25):
                trial = np.clip(theta + shrink * step, self.lo, self.hi)
                there = self.mean(trial)
                if np.nansum(((there - target) / scale) ** 2) < np.nansum(residual ** 2):
                    break
            theta, here = trial, there
            say(f"iteration {iteration}: " + ", ".join(f"{p.path} {math.exp(t):.4g}"
                                                       for p, t in zip(self.active, theta, strict=True)))
        return theta, MAX_ITERATIONS


def _over_history(base: Scenario, span: float) -> Scenario:
    """The base over the history's span: day 0 is the history's start, and hires after its end are left out."""
    horizon = round(max(span, 1.0), 3)
    hiring = tuple(h for h in base.org.hiring if h.day <= horizon)
    return validate(base.replace(horizon_days=horizon, org=dataclasses.replace(base.org, hiring=hiring)))


def _calibrated_ks_pvalue(statistic: float, runs: list[np.ndarray]) -> float:
    """The share of simulated histories at the fit whose KS distance to the other runs' pooled times is at least
    the real history's. One history's times to production share its queues (a busy quarter delays every model in
    it), so they are not independent draws and the textbook KS p-value is far too small even for the true
    scenario; this one asks how unusual the history is among histories the fitted organisation writes."""
    distances = []
    for r, one in enumerate(runs):
        others = np.concatenate([x for q, x in enumerate(runs) if q != r])
        if len(one) and len(others):
            distances.append(stats.ks_2samp(one, others).statistic)
    if not distances:
        return math.nan
    return (1 + sum(d >= statistic for d in distances)) / (len(distances) + 1)


def _value(scenario: Scenario, path: str) -> float:
    node = scenario
    for part in path.split("."):
        node = getattr(node, part)
    return float(node)


def _nan_mean(values: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        counts_ = np.sum(~np.isnan(values), axis=0)
        return np.where(counts_ > 0, np.nansum(values, axis=0) / np.maximum(counts_, 1), np.nan)


def _jacobian(mean_moments, theta: np.ndarray, here: np.ndarray) -> np.ndarray:
    """Forward differences of the mean statistics in each log-parameter (the same replications: CRN)."""
    jacobian = np.zeros((len(here), len(theta)))
    for j in range(len(theta)):
        moved = theta.copy()
        moved[j] += STEP
        jacobian[:, j] = (mean_moments(moved) - here) / STEP
    return np.nan_to_num(jacobian)


def _identified(jacobian: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """Parameters whose own statistic moves by more than a twentieth of its spread per unit log-change: the others
    are held where they are while the rest are matched."""
    return np.abs(np.diag(jacobian)) > 0.05 * np.maximum(sd, 1e-9)


def _standard_errors(jacobian: np.ndarray, covariance: np.ndarray, replications: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Standard errors of the log-parameters, leaving out parameters until every one left is identified (its
    interval narrower than ×/÷ UNIDENTIFIED_FACTOR). One flat statistic makes the Jacobian near-singular and every
    interval huge, so the one left out is the one whose absence leaves the others best determined."""
    limit = math.log(UNIDENTIFIED_FACTOR) / Z95

    def errors(kept: np.ndarray) -> np.ndarray:
        se = np.full(len(jacobian), math.inf)
        if kept.any():
            idx = np.ix_(kept, kept)
            variance = np.diag(_sandwich(jacobian[idx], covariance[idx], replications))
            se[kept] = np.sqrt(np.where(np.isfinite(variance) & (variance >= 0), variance, math.inf))
        return se

    kept = np.ones(len(jacobian), dtype=bool)
    se = errors(kept)
    while kept.any() and np.max(se[kept]) > limit:
        candidates = []
        for j in np.flatnonzero(kept):
            without = kept.copy()
            without[j] = False
            rest = errors(without)
            candidates.append((np.max(rest[without]) if without.any() else 0.0, j))
        kept[min(candidates)[1]] = False
        se = errors(kept)
    return se, kept


def _sandwich(jacobian: np.ndarray, covariance: np.ndarray, replications: int) -> np.ndarray:
    try:
        inverse = np.linalg.inv(jacobian)
    except np.linalg.LinAlgError:
        return np.full_like(jacobian, math.inf)
    return inverse @ covariance @ inverse.T * (1.0 + 1.0 / replications)
