"""Matching simulated statistics to a history's: the objective, its minimisation and the intervals around it.

The mean statistics of S replications are a function of the log-parameters; replication r always draws from the
same named streams (common random numbers), so the function moves only through the parameters and finite
differences of it are meaningful. There may be more statistics than parameters: each residual is weighted by the
spread of its statistic over replications, and Gauss–Newton steps, damped by backtracking, minimise the weighted
sum of squares (a diagonal-weighted method of moments).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from mlorg.fit.moments import moments
from mlorg.fit.simulated import simulate_history
from mlorg.scenario import Scenario, validate
from mlorg.sweeps.grid import edit

COVARIANCE_REPLICATIONS = 40  # replications at the fit for the statistics' covariance and the KS check
STEP = 0.1  # finite-difference step in log-parameter (10%)
MAX_ITERATIONS = 8
MAX_LOG_STEP = 0.7  # a step changes a parameter by at most ×/÷ 2
TOLERANCE = 0.1  # matched when every statistic is within this many of its replication spreads
SMALL_STEP = 0.01  # or when a step changes no parameter by more than 1%
UNIDENTIFIED_FACTOR = 4.0
# Steps in log-parameter at which the test-inversion interval looks for the edge of the band (up to ×/÷ e²).
INVERSION_STEPS = (0.05, 0.1, 0.2, 0.35, 0.5, 0.7, 1.0, 1.4, 2.0)
Z95 = 1.959963984540054
CHI2_95 = 3.841458820694124


class Matcher:
    """The statistics ``names`` of ``replications`` runs of ``start`` with the parameters ``paths`` set."""

    def __init__(self, start: Scenario, paths: Sequence[str], bounds: Sequence[tuple[float, float]],
                 names: tuple[str, ...], rows: pd.DataFrame, seed: int, replications: int):
        self.start, self.paths, self.names = start, tuple(paths), names
        self.seed, self.replications = seed, replications
        self.target = moments(rows, names)
        self.lo = np.log([b[0] for b in bounds])
        self.hi = np.log([b[1] for b in bounds])
        self.scale = np.ones(len(names))

    def at(self, theta: np.ndarray) -> Scenario:
        return edit(self.start, {p: float(round(math.exp(t), 4)) for p, t in zip(self.paths, theta, strict=True)})

    def per_replication(self, theta: np.ndarray, first: int, n: int) -> np.ndarray:
        scenario = validate(self.at(theta))
        return np.array([moments(simulate_history(scenario, self.seed, r), self.names) for r in range(first,
                                                                                                      first + n)])

    def mean(self, theta: np.ndarray) -> np.ndarray:
        return nan_mean(self.per_replication(theta, 0, self.replications))

    def covariance(self, theta: np.ndarray) -> np.ndarray:
        """What one history of the organisation at ``theta`` would show: the statistics over fresh replications
        (numbered after the matched ones, so independent of them)."""
        samples = self.per_replication(theta, self.replications, COVARIANCE_REPLICATIONS)
        k = len(self.names)
        return np.cov(samples[~np.isnan(samples).any(axis=1)], rowvar=False).reshape(k, k)

    def jacobian(self, theta: np.ndarray, here: np.ndarray) -> np.ndarray:
        """Forward differences of the mean statistics (rows) in each log-parameter (columns)."""
        jacobian = np.zeros((len(here), len(theta)))
        for j in range(len(theta)):
            moved = theta.copy()
            moved[j] += STEP
            jacobian[:, j] = (self.mean(moved) - here) / STEP
        return np.nan_to_num(jacobian)

    def objective(self, here: np.ndarray) -> float:
        return float(np.nansum(((here - self.target) / self.scale) ** 2))

    def solve(self, theta: np.ndarray, say: Callable[[str], None]) -> tuple[np.ndarray, int]:
        """Damped Gauss–Newton steps from ``theta``; returns the fit and the steps taken."""
        spread = np.nanstd(self.per_replication(theta, 0, self.replications), axis=0, ddof=1)
        self.scale = np.where(np.isfinite(spread) & (spread > 1e-6), spread, 1e-6)
        here = self.mean(theta)
        for iteration in range(1, MAX_ITERATIONS + 1):
            residual = (self.target - here) / self.scale
            if np.all(np.abs(residual) <= TOLERANCE):
                return theta, iteration - 1
            jacobian = self.jacobian(theta, here) / self.scale[:, None]
            keep = np.linalg.norm(jacobian, axis=0) > 0.05  # a parameter that moves nothing stays where it is
            if not keep.any():
                return theta, iteration - 1
            step = np.zeros_like(theta)
            step[keep] = np.linalg.lstsq(jacobian[:, keep], np.nan_to_num(residual), rcond=None)[0]
            step = np.clip(step, -MAX_LOG_STEP, MAX_LOG_STEP)
            # Backtrack: a full step through a coupled, slightly noisy map can overshoot into a region where a
            # statistic no longer moves (no model waits long enough to be abandoned).
            before = self.objective(here)
            for shrink in (1.0, 0.5, 0.25):
                trial = np.clip(theta + shrink * step, self.lo, self.hi)
                there = self.mean(trial)
                if self.objective(there) < before:
                    break
            else:
                return theta, iteration
            moved = np.max(np.abs(trial - theta))
            theta, here = trial, there
            say(f"step {iteration}: " + ", ".join(f"{p} {math.exp(t):.4g}" for p, t in zip(self.paths, theta,
                                                                                           strict=True)))
            if moved < SMALL_STEP:
                return theta, iteration
        return theta, MAX_ITERATIONS

    def inverted(self, theta: np.ndarray, j: int, precision: np.ndarray) -> tuple[float, float] | None:
        """The values of parameter j, the others held at the fit, that a distance test does not reject: the
        statistics' residual r, weighted by the inverse of their covariance (``precision``), rises from the fit's by
        at most χ²₁(0.95) = 3.84. It follows the statistics where they flatten, where a local slope does not. None
        when either side runs past the last step without leaving the band."""
        def distance(point: np.ndarray) -> float:
            residual = np.nan_to_num(self.mean(point) - self.target)
            return float(residual @ precision @ residual)

        floor = distance(theta)
        ends = []
        for sign in (-1.0, 1.0):
            previous, end = 0.0, None
            for step in INVERSION_STEPS:
                moved = theta.copy()
                moved[j] = np.clip(theta[j] + sign * step, self.lo[j], self.hi[j])
                if distance(moved) - floor > CHI2_95:
                    end = theta[j] + sign * (previous + step) / 2  # between the last step inside and this one
                    break
                previous = step
                if moved[j] in (self.lo[j], self.hi[j]):
                    break
            if end is None:
                return None
            ends.append(math.exp(end))
        return ends[0], ends[1]


def nan_mean(values: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        counts = np.sum(~np.isnan(values), axis=0)
        return np.where(counts > 0, np.nansum(values, axis=0) / np.maximum(counts, 1), np.nan)


def standard_errors(jacobian: np.ndarray, covariance: np.ndarray, replications: int
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Standard errors of the log-parameters, leaving out parameters until every one left is identified (its
    interval narrower than ×/÷ UNIDENTIFIED_FACTOR): the least determined first, since two parameters the statistics
    confuse (effort and abandonment both lengthen time-to-production) make both look undetermined until one of them
    is held; where the matrix is singular, the one whose statistics move least."""
    limit = math.log(UNIDENTIFIED_FACTOR) / Z95
    telling = np.linalg.norm(jacobian / np.sqrt(np.maximum(np.diag(covariance), 1e-12))[:, None], axis=0)

    def errors(kept: np.ndarray) -> np.ndarray:
        se = np.full(jacobian.shape[1], math.inf)
        if kept.any():
            variance = np.diag(sandwich(jacobian[:, kept], covariance, replications))
            se[kept] = np.sqrt(np.where(np.isfinite(variance) & (variance >= 0), variance, math.inf))
        return se

    kept = np.ones(jacobian.shape[1], dtype=bool)
    se = errors(kept)
    while kept.any() and np.max(se[kept]) > limit:
        if np.isinf(se[kept]).all():
            kept[int(np.argmin(np.where(kept, telling, math.inf)))] = False
        else:
            kept[int(np.argmax(np.where(kept, se, -1.0)))] = False
        se = errors(kept)
    return se, kept


def sandwich(jacobian: np.ndarray, covariance: np.ndarray, replications: int) -> np.ndarray:
    """Var θ̂ = B⁻¹ Gᵀ W Ω W G B⁻¹ (1 + 1/S), B = Gᵀ W G, W the diagonal weights 1 / Ω_ii: the method of moments'
    sandwich (G⁻¹ Ω G⁻ᵀ when there are as many statistics as parameters)."""
    weights = 1.0 / np.maximum(np.diag(covariance), 1e-12)
    weighted = jacobian * weights[:, None]
    try:
        bread = np.linalg.inv(jacobian.T @ weighted)
    except np.linalg.LinAlgError:
        return np.full((jacobian.shape[1],) * 2, math.inf)
    return bread @ weighted.T @ covariance @ weighted @ bread * (1.0 + 1.0 / replications)
