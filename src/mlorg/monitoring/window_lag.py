"""Detection lag of a check on a sliding window: when the drift starts between two checks, each later check sees a
larger share of drifted samples, and the lag is the time to the first check that alarms."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mlorg.monitoring import labels, overlap

QUADRATURE = 24  # points over the moment a drift starts between two checks


@dataclass(frozen=True)
class Lag:
    """Detection lag of a monitor for a drift of one size, from the moment the drift starts."""

    mean_hours: float  # the drift starts at a uniformly random moment between two checks
    worst_hours: float  # the drift starts at the least favourable moment (for CUSUM also from a zero statistic)


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


def overlapping_lag(blocks: overlap.Blocks, cadence: float, offset: float = 0.0) -> Lag:
    mean = float(np.mean(overlap.lags(blocks, cadence, offset)))
    worst = float(np.mean(overlap.lags(blocks, cadence, offset, worst=True)))
    return Lag(mean_hours=mean, worst_hours=max(mean, worst))


def sample_overlapping_lag(blocks: overlap.Blocks, cadence: float, offset: float, rng: np.random.Generator,
                            max_hours: float) -> float:
    lags = overlap.lags(blocks, cadence, offset)
    lag = float(lags[rng.integers(lags.size)])
    return lag if lag <= max_hours else math.inf
