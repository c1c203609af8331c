"""When labels arrive: the share of a label monitor's window that comes from after a drift.

A label monitor reads the most recent labelled predictions, a window holding ``window_hours`` of traffic's worth of
them. If every label takes exactly ``delay`` hours, the window covers predictions from ``delay + window_hours`` to
``delay`` hours ago, and the drifted share grows linearly once the delay has passed. If delays vary, a prediction
made ``a`` hours ago is labelled with probability F(a), the delay's distribution function; the window then reaches
back to the age A at which G(A) = ∫₀ᴬ F = ``window_hours``, and ``t`` hours after a drift its drifted share is
G(min(t, A)) / ``window_hours``: the quickest labels bring the drift in early, the slowest late. Delays are
lognormal with mean ``delay`` and coefficient of variation ``cv``.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import special


def drifted_share(elapsed_hours, window_hours: float, delay_hours: float, cv: float = 0.0):
    """Share of the labelled window's predictions made after a drift that started ``elapsed_hours`` ago."""
    elapsed = np.asarray(elapsed_hours, dtype=float)
    if cv <= 0.0 or delay_hours <= 0.0:
        share = np.clip((elapsed - delay_hours) / window_hours, 0.0, 1.0)
    else:
        reach = _reach(window_hours, delay_hours, cv)
        share = np.clip(_labelled_hours(np.minimum(elapsed, reach), delay_hours, cv) / window_hours, 0.0, 1.0)
    return float(share) if share.ndim == 0 else share


def _labelled_hours(age, delay_hours: float, cv: float):
    """G(age) = ∫₀^age F: hours' worth of traffic labelled among the predictions younger than ``age``."""
    sigma = math.sqrt(math.log1p(cv * cv))
    mu = math.log(delay_hours) - sigma * sigma / 2
    age = np.asarray(age, dtype=float)
    with np.errstate(divide="ignore"):
        z = (np.log(np.maximum(age, 0.0)) - mu) / sigma
    return np.where(age > 0, age * special.ndtr(z) - delay_hours * special.ndtr(z - sigma), 0.0)


def reach(window_hours: float, delay_hours: float, cv: float) -> float:
    """Hours after a drift when the window is all drifted (delay + window when every label takes the delay)."""
    if cv <= 0.0 or delay_hours <= 0.0:
        return delay_hours + window_hours
    return _reach(float(window_hours), float(delay_hours), float(cv))


@lru_cache(maxsize=256)
def _reach(window_hours: float, delay_hours: float, cv: float) -> float:
    """The age A of the oldest prediction in the window: G(A) = window_hours."""
    low, high = 0.0, delay_hours + window_hours
    while _labelled_hours(high, delay_hours, cv) < window_hours:
        high *= 2.0
    for _ in range(100):
        middle = 0.5 * (low + high)
        if _labelled_hours(middle, delay_hours, cv) < window_hours:
            low = middle
        else:
            high = middle
    return high
