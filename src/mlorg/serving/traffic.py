"""The org-wide traffic shape over simulated hours: daily and weekly profile, growth, spikes.

Every real-time model's load in hour h is its own level (``base_rps``) times this shape at h, so the shape
is built once per run and each model's hours are slices of it.
"""

from __future__ import annotations

import math

import numpy as np

from mlorg.scenario import Realtime

HOURS_PER_MONTH = 730.0


def hourly_profile(realtime: Realtime, hours: int, rng: np.random.Generator) -> np.ndarray:
    """Load multiplier for each hour 0 … hours−1 (day 0 is a Monday; profiles normalised to mean 1)."""
    if hours < 0:
        raise ValueError(f"hours must be >= 0, got {hours}")
    h = np.arange(hours)
    daily = np.asarray(realtime.daily_profile, dtype=float)
    weekly = np.asarray(realtime.weekly_profile, dtype=float)
    shape = (daily / daily.mean())[h % 24] * (weekly / weekly.mean())[(h // 24) % 7]
    growth = (1.0 + realtime.growth_per_month) ** (h / HOURS_PER_MONTH)
    return shape * growth * spikes(realtime, hours, rng)


def spikes(realtime: Realtime, hours: int, rng: np.random.Generator) -> np.ndarray:
    """Multiplier 1 except during spikes, which start as a Poisson process and last ``spike_hours``."""
    multiplier = np.ones(hours)
    count = rng.poisson(realtime.spikes_per_month * hours / HOURS_PER_MONTH)
    length = math.ceil(realtime.spike_hours)
    for start in np.sort(rng.integers(0, max(hours, 1), size=count)):
        multiplier[start:start + length] = realtime.spike_multiplier  # overlapping spikes do not compound
    return multiplier
