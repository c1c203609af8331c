"""The interval a figure has once its inputs are uncertain: the mixture, over draws of the inputs, of what each
draw's replications say about its expected value.

Given draw d's r replications (mean m, standard deviation s), the expected value at those inputs is m + t·s/√r
with t Student's t on r − 1 degrees of freedom — the belief behind today's interval. Over the inputs' draws the
belief is the mixture of those, and the 95% interval runs between its 2.5% and 97.5% points. With every draw the
same (no input uncertain) the mixture is that one t, so the interval is today's; with inputs that matter it widens
by the spread of the draws' expected values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import optimize, stats


def mixture_interval(groups: Sequence[np.ndarray], level: float = 0.95) -> tuple[float, float]:
    """The central ``level`` interval of the mixture of each group's t belief about its mean. A group of one value
    is a point mass there; empty groups are left out; NaN when every group is empty."""
    parts = [_belief(np.asarray(g, dtype=float)) for g in groups]
    parts = [p for p in parts if p is not None]
    if not parts:
        return math.nan, math.nan
    means = np.array([p[0] for p in parts])
    scales = np.array([p[1] for p in parts])
    dfs = np.array([p[2] for p in parts])

    def cdf(y: float) -> float:
        spread = scales > 0
        below = np.where(spread, stats.t.cdf((y - means) / np.where(spread, scales, 1.0), np.maximum(dfs, 1)),
                         (y >= means).astype(float))
        return float(below.mean())

    def quantile(q: float) -> float:
        # Between the lowest and highest of the groups' own q-points the mixture's cdf passes q.
        points = means + scales * stats.t.ppf(q, np.maximum(dfs, 1))
        low, high = float(points.min()), float(points.max())
        if high - low <= 1e-12 * max(1.0, abs(high)) or cdf(low) >= q:
            return low  # every group's q-point is the same, or the lowest is a value some groups hold exactly
        return float(optimize.brentq(lambda y: cdf(y) - q, low, high, xtol=1e-12 * max(1.0, abs(high)), rtol=1e-14))

    tail = (1.0 - level) / 2.0
    return quantile(tail), quantile(1.0 - tail)


def _belief(values: np.ndarray) -> tuple[float, float, int] | None:
    """(mean, standard error, degrees of freedom) of one draw's replications; scale 0 for a single value."""
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return None
    if len(values) == 1:
        return float(values[0]), 0.0, 0
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(len(values))), len(values) - 1
