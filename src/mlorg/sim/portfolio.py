"""The model classes a run draws from, and what each trained model draws: its class, its traffic and its value.

The classes are ``Scenario.model_classes()``. A model's traffic and value come from one uniform draw through both
distributions (a busier model of its class is worth more), from the stream of the person who trained it.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass
from itertools import accumulate
from statistics import NormalDist

import numpy as np
from scipy import special

from mlorg.scenario import Distribution, ModelClass

HOURS_PER_DAY = 24.0
_STANDARD_NORMAL = NormalDist()


@dataclass(frozen=True, slots=True)
class ModelTraits:
    """What one trained model is: its class, its traffic and its value when healthy."""

    model_class: ModelClass
    index: int  # of its class in the portfolio
    predictions_per_day: float
    value_per_hour: float


def cumulative_shares(portfolio: tuple[ModelClass, ...]) -> list[float]:
    """The classes' shares added up in order, for :func:`draw_traits`."""
    return list(accumulate(c.share for c in portfolio))


def draw_traits(portfolio: tuple[ModelClass, ...], rng: np.random.Generator,
                cumulative: list[float] | None = None) -> ModelTraits:
    """A trained model's class (by the shares), traffic and value. Always three draws, so that one model's class
    never shifts the next model's draws. ``cumulative`` is :func:`cumulative_shares` of the portfolio, if the caller
    keeps it (a run draws thousands of models from one portfolio)."""
    pick, u, _spare = rng.random(3).tolist()
    if cumulative is None:
        cumulative = cumulative_shares(portfolio)
    index = min(bisect_right(cumulative, pick * cumulative[-1]), len(portfolio) - 1)
    chosen = portfolio[index]
    u = min(max(u, 1e-12), 1.0 - 1e-12)
    return ModelTraits(chosen, index, quantile(chosen.predictions_per_day, u),
                       quantile(chosen.value_per_day_usd, u) / HOURS_PER_DAY)


def quantile(d: Distribution, u: float) -> float:
    """The ``u`` quantile of ``d``, for one number: closed forms (scipy's per-call overhead was a quarter of a big
    run's time), scipy's inverse incomplete gamma for a gamma."""
    if d.dist == "deterministic" or d.mean == 0:
        return float(d.mean)
    if d.dist == "exponential":
        return -d.mean * math.log1p(-u)
    if d.dist == "lognormal":
        sigma = math.sqrt(math.log1p(d.cv * d.cv))
        return math.exp(math.log(d.mean) - sigma * sigma / 2 + sigma * _STANDARD_NORMAL.inv_cdf(u))
    shape = 1.0 / (d.cv * d.cv)
    return float(special.gammaincinv(shape, u)) * d.mean / shape


def labelled_positives(model_class: ModelClass, predictions_per_day: float, days: float) -> float:
    """Positives of the last ``days`` days whose labels have arrived: the reviewed share after its short delay, the
    rest after the class's label delay (lognormal with its cv, or exactly that long). Integrates the arrival
    distribution over the days since a drift began: ∫₀^d F(d − s) ds = ∫₀^d F(u) du."""
    if days <= 0:
        return 0.0
    per_day = predictions_per_day * model_class.positive_rate
    fast = model_class.reviewed_share
    return per_day * (fast * max(0.0, days - model_class.reviewed_delay_days)
                      + (1.0 - fast) * _integrated_cdf(days, model_class.label_delay_days, model_class.label_delay_cv))


def _integrated_cdf(days: float, mean: float, cv: float) -> float:
    """∫₀^days F(u) du for the label delay F: days·F(days) − E[X; X ≤ days]."""
    if mean <= 0:
        return days
    if cv <= 0:
        return max(0.0, days - mean)
    sigma = math.sqrt(math.log1p(cv * cv))
    mu = math.log(mean) - sigma * sigma / 2
    z = (math.log(days) - mu) / sigma
    cdf = 0.5 * math.erfc(-z / math.sqrt(2))
    partial = mean * 0.5 * math.erfc(-(z - sigma) / math.sqrt(2))
    return days * cdf - partial


def retrain_recovery(share: float, labels: float, half_labels: float) -> float:
    """What a retrain wins back of what a drift cost: up to ``share``, as ``labels`` of the new world grow past
    ``half_labels`` (half of it at that many)."""
    return share * labels / (labels + half_labels) if labels > 0 else 0.0
