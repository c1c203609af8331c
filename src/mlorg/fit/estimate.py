"""Fit the simulator to a deploy history by the simulated method of moments, with common random numbers.

Why this method: the simulator has no likelihood (a model's time-to-production is queueing for people who also
research, retrain and review), but it is cheap to run and its random streams are named, so the same replications
rerun at other parameters change only through the parameters (common random numbers). Matching statistics of the
history then is a smooth least-squares problem in log-parameters, solved by damped Gauss–Newton steps on a
finite-difference Jacobian (:mod:`mlorg.fit.matching`); ABC would need thousands of runs for the same precision.
The statistics (:mod:`mlorg.fit.moments`) and what they mostly pin down, given the base's headcount and hiring:

- new models trained → research hours per trained model (``research.cycle_hours.mean``);
- median time-to-production and the share of new models deployed → productionisation effort
  (``productionisation.effort_hours.mean``): the time each takes and, when people are the bottleneck, how many ship;
- the 90th percentile of time-to-production → abandonment (``productionisation.abandon_after_days``): where models
  that wait too long are dropped, the slow tail ends near that wait;
- median days from a deploy to the next version's training → retraining cadence (``lifecycle.retrain_every_days``).

Five statistics for four parameters, each weighted by its spread over replications. The mean lifetime of a live
model is estimated directly (exposure / retirements) and held fixed while matching. Intervals: the method of
moments' sandwich, B⁻¹ Gᵀ W Ω W G B⁻¹ (1 + 1/S) with B = Gᵀ W G, G the Jacobian at the fit, W the weights, Ω the
statistics' covariance over fresh replications at the fit (what one history of this organisation would show) and
1/S the noise of matching the mean of S replications; on log-parameters and turned back, so they are asymmetric. A
local slope misleads where statistics flatten (few models wait long enough to be abandoned), so each interval is
widened to hold a test-inversion interval too: the values, the others held at the fit, that a distance test on all
the statistics (weighted by Ω⁻¹) does not reject at 5%. A parameter the statistics hardly follow (a sandwich
interval wider than ×/÷ :data:`UNIDENTIFIED_FACTOR`, or a band that does not end within ×/÷ e² of the fit) is
reported as not identified and left at the base's value, and the others are matched again without it.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import stats

from mlorg import budget
from mlorg.fit.history import History
from mlorg.fit.matching import (
    COVARIANCE_REPLICATIONS,
    INVERSION_STEPS,
    MAX_ITERATIONS,
    UNIDENTIFIED_FACTOR,
    Z95,
    Matcher,
    standard_errors,
)
from mlorg.fit.moments import MINIMUM, MINIMUM_RETIREMENTS, MOMENTS, WHAT, counts, lifetime, ttp_days
from mlorg.fit.simulated import simulate_history
from mlorg.scenario import Scenario, validate
from mlorg.sweeps.grid import edit

METHOD = "simulated method of moments with common random numbers"


@dataclass(frozen=True)
class Parameter:
    path: str
    moment: str  # the statistic that mostly pins it down: too little data for that one, and it is too short to tell
    label: str
    lo: float  # the range searched
    hi: float


PARAMETERS = (
    Parameter("research.cycle_hours.mean", "new_models", "research hours per trained model", 8.0, 1e5),
    Parameter("productionisation.effort_hours.mean", "ttp_median", "productionisation effort (hours)", 1.0, 1e5),
    Parameter("productionisation.abandon_after_days", "ttp_p90", "days a trained model waits before it is "
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
REPLICATIONS = 8  # replications averaged at each candidate: matching adds 1/8 to the variance of a history's statistics


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
    _check_budget(start, replications)
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

    # Every statistic with enough data is matched, so there may be more statistics than parameters.
    names = tuple(m for m in MOMENTS if have[m] >= MINIMUM[m])
    values = {p.path: _value(start, p.path) for p in active}
    iterations = 0
    while active:
        matcher = Matcher(start, [p.path for p in active], [(p.lo, p.hi) for p in active], names, rows, seed,
                          replications)
        say(f"matching {len(names)} statistics by simulation, {len(active)} parameters")
        theta, used = matcher.solve(np.log([values[p.path] for p in active]), say)
        iterations += used
        values.update({p.path: math.exp(t) for p, t in zip(active, theta, strict=True)})
        say("intervals")
        covariance = matcher.covariance(theta)
        jacobian = matcher.jacobian(theta, matcher.mean(theta))
        se, kept = standard_errors(jacobian, covariance, replications)
        why = f"a 95% interval wider than ×/÷ {UNIDENTIFIED_FACTOR:g}"
        if kept.all():
            precision = np.linalg.pinv(covariance * (1.0 + 1.0 / replications))
            bounds = [matcher.inverted(theta, j, precision) for j in range(len(active))]
            kept = np.array([b is not None for b in bounds])
            why = f"values beyond ×/÷ {math.exp(INVERSION_STEPS[-1]):.0f} of the fit match the history as well"
        if kept.all():
            estimates += [Estimate(p.path, p.label, _value(base, p.path), math.exp(t),
                                   min(math.exp(t - Z95 * e), low), max(math.exp(t + Z95 * e), high),
                                   "simulated moments")
                          for p, t, e, (low, high) in zip(active, theta, se, bounds, strict=True)]
            start = matcher.at(theta)
            break
        # A parameter the statistics hardly follow stays at the base's value and the rest are matched again.
        for p, keep in zip(active, kept, strict=True):
            if not keep:
                unidentified[p.path] = f"not identified: the history's statistics hardly change with it ({why})"
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


def _check_budget(start: Scenario, replications: int) -> None:
    """Refuse, before any work, a fit whose runs of the base over the history would exceed the work budget."""
    runs = (MAX_ITERATIONS * (len(PARAMETERS) + 3) + len(PARAMETERS) * (2 * len(INVERSION_STEPS) + 1)) * replications \
        + 2 * COVARIANCE_REPLICATIONS
    cost = budget.estimate(start, runs)
    if cost.models > budget.MAX_MODELS:
        raise budget.OverBudget(f"{start.name}: fitting runs the base over the history's span up to {runs:,} times, "
                                f"{cost.describe()}; the budget is {budget.MAX_MODELS:,} models in all. A base with "
                                "fewer people or a shorter history fits")


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
