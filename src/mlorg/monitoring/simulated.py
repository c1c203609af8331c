"""Sampling distributions of the window statistics with no closed form, simulated once per setting and cached: PSI
and Jensen–Shannon from exact multinomial bin counts, KS and Wasserstein from sorted normal samples carried to any
window by their local asymptotics (√n·statistic depends only on √n·shift)."""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import special

LOCAL_WINDOW = 1000  # samples at which KS and Wasserstein are simulated (see the module docstring)
SIMULATED_WINDOWS = 800  # Monte Carlo draws of a statistic per shift
MULTINOMIAL_DRAWS = 4000
KS_SHIFTS = np.r_[np.arange(0.0, 12.0, 0.5), np.arange(12.0, 25.0, 2.0)]  # √n · shift
WASSERSTEIN_SHIFTS = np.arange(0.0, 8.01, 0.5)  # beyond: √n·W ≈ √n·|mean shift| ~ N(√n·shift, 1)
BIN_SHIFTS = np.r_[np.arange(0.0, 1.0, 0.02), np.arange(1.0, 3.01, 0.1)]  # shift, for the binned statistics


def interpolate(grid: np.ndarray, values: np.ndarray, x: float) -> float:
    return float(np.interp(x, grid, values))  # beyond the grid: the last value (the alarm rate has saturated)


@lru_cache(maxsize=64)
def binned_statistics(detector: str, window: int, bins: int) -> np.ndarray:
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
def binned_alarm_rates(detector: str, window: int, bins: int, threshold: float) -> np.ndarray:
    return (binned_statistics(detector, window, bins) > threshold).mean(axis=1)


@lru_cache(maxsize=16)
def local_statistics(detector: str, window: int) -> np.ndarray:
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
            rows.append(wasserstein_to_normal(draws + local / math.sqrt(n)) * math.sqrt(n))
    return np.array(rows)


def wasserstein_to_normal(sorted_rows: np.ndarray) -> np.ndarray:
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
def wasserstein_null() -> np.ndarray:
    """√n · W1 to N(0, 1) of 10,000 no-drift windows of 400 samples (local asymptotics carry it to any n)."""
    draws = np.sort(np.random.default_rng(20261127).standard_normal((10_000, 400)), axis=1)
    return wasserstein_to_normal(draws) * math.sqrt(400)


@lru_cache(maxsize=256)
def local_alarm_rates(detector: str, window: int, critical: float) -> np.ndarray:
    return (local_statistics(detector, window) > critical).mean(axis=1)
