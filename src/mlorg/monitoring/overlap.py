"""Detection lag of checks whose windows overlap, by simulating the blocks the windows share.

A check every c hours on the last w > c hours of traffic shares most of its samples with the check before, so a
check that just missed a drift is likely to miss it again. Treating such checks as independent makes the lag
look up to a third shorter than it is near the detection limit (``tests/test_theory_monitoring.py`` measured
it). Here a window is r = round(w / c) blocks, one per interval between checks, and each check's statistic is
computed from the blocks' sufficient summaries — the sum of a block's standardised samples for the window mean,
its bin counts for PSI and Jensen–Shannon, its counts in 256 fine bins for KS and Wasserstein (their statistic
read at the bin edges), the positives caught for recall — drawn path by path from their exact distributions.
The lags of ``BLOCK_PATHS`` paths are kept, so the simulator can draw from them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import special, stats

from mlorg.monitoring import labels

BLOCK_PATHS = 2000
FINE_BINS = 256
MORE_CHECKS = 1000  # checks simulated past the first full window before the rest is extrapolated


@dataclass(frozen=True)
class Blocks:
    """How one overlapping check is built: ``blocks`` blocks of ``block_size`` samples (labelled predictions for
    ``performance``), the detector and its threshold, and the drift: ``shift`` σ per sample, or for
    ``performance`` the share of recall lost."""

    detector: str  # mean | psi | jensen_shannon | ks | wasserstein | performance
    threshold: float
    blocks: int
    block_size: int
    shift: float
    bins: int = 10
    recall: float = 0.0  # performance only
    positives_per_block: int = 0  # performance only
    delay_cv: float = 0.0  # performance only: spread of the label delays (see mlorg.monitoring.labels)


def lags(model: Blocks, cadence_hours: float, offset_hours: float = 0.0, worst: bool = False) -> np.ndarray:
    """Simulated detection lags (hours) of ``BLOCK_PATHS`` drifts: starting at a uniformly random moment between
    two checks, or with ``worst`` just after a check. ``inf`` where a drift is never detected."""
    return _lags(model, float(cadence_hours), float(offset_hours), bool(worst))


@lru_cache(maxsize=256)
def _lags(model: Blocks, cadence: float, offset: float, worst: bool) -> np.ndarray:
    rng = np.random.default_rng(20261126)
    first = np.full(BLOCK_PATHS, cadence) if worst else rng.uniform(0.0, cadence, BLOCK_PATHS)
    if model.detector == "performance" and model.delay_cv > 0:
        return _spread_recall_lags(model, cadence, offset, first, rng)
    draw, alarm = _summaries(model)
    blocks = [draw(rng, np.zeros(BLOCK_PATHS)) for _ in range(model.blocks)]  # the window before the drift
    window = sum(blocks)
    found = np.full(BLOCK_PATHS, np.inf)
    wait = math.ceil(offset / cadence)
    for k in range(wait + model.blocks + MORE_CHECKS):
        t = first + k * cadence
        drifted = np.clip((t - offset) / cadence, 0.0, 1.0)  # share of the newest block after the drift
        newest = draw(rng, drifted)
        window = window - blocks[k % model.blocks] + newest
        blocks[k % model.blocks] = newest
        # An alarm before any drifted sample reaches the window is a false alarm, not a detection.
        hit = np.isinf(found) & (drifted > 0) & alarm(window)
        found[hit] = t[hit]
        if np.isfinite(found).all():
            break
    return found


def _spread_recall_lags(model: Blocks, cadence: float, delay: float, first: np.ndarray,
                        rng: np.random.Generator) -> np.ndarray:
    """Lags of a recall check whose label delays vary. The first drifted labels arrive almost at once, so an alarm
    then is most likely a false one; a detection is an alarm that the same path without the drift would not have
    raised. Each block's positives are drawn once; the drift takes each caught positive away with probability
    (drifted share × recall lost), which leaves the caught count binomial with the drifted recall."""
    positives, lost = model.positives_per_block, model.shift
    line = model.recall - model.threshold
    spread = _DriftedBlocks(model, cadence, delay)
    base = [rng.binomial(positives, model.recall, BLOCK_PATHS).astype(float) for _ in range(model.blocks)]
    caught = list(base)
    window_base, window_caught = sum(base), sum(caught)
    found = np.full(BLOCK_PATHS, np.inf)
    for k in range(math.ceil(spread.reach / cadence) + model.blocks + MORE_CHECKS):
        t = first + k * cadence
        share = spread.newest(k, t)
        newest_base = rng.binomial(positives, model.recall, BLOCK_PATHS).astype(float)
        newest = newest_base - rng.binomial(newest_base.astype(np.int64), share * lost)
        i = k % model.blocks
        window_base += newest_base - base[i]
        window_caught += newest - caught[i]
        base[i], caught[i] = newest_base, newest
        total = positives * model.blocks
        hit = np.isinf(found) & (window_caught / total < line) & ~(window_base / total < line)
        found[hit] = t[hit]
        if np.isfinite(found).all():
            break
    return found


class _DriftedBlocks:
    """Drifted shares of the blocks entering a label window when label delays vary: the window's drifted total
    follows :func:`mlorg.monitoring.labels.drifted_share`, and what it gains at a check is the newest block's share
    plus what the block leaving it held (first in, first out)."""

    def __init__(self, model: Blocks, cadence: float, delay: float):
        self.model, self.cadence, self.delay = model, cadence, delay
        self.window_hours = model.blocks * cadence
        self.reach = labels.reach(self.window_hours, delay, model.delay_cv)
        self.shares: list[np.ndarray] = [np.zeros(BLOCK_PATHS) for _ in range(model.blocks)]
        self.total = np.zeros(BLOCK_PATHS)

    def newest(self, k: int, t: np.ndarray) -> np.ndarray:
        total = self.model.blocks * labels.drifted_share(t, self.window_hours, self.delay, self.model.delay_cv)
        leaving = self.shares[k % self.model.blocks]
        share = np.clip(total - (self.total - leaving), 0.0, 1.0)
        self.shares[k % self.model.blocks] = share
        self.total = self.total - leaving + share
        return share


def _summaries(model: Blocks):
    """``draw(rng, drifted_share)`` → one block's summary per path, and ``alarm(window_sum)`` → alarm per path."""
    m, n = model.block_size, model.block_size * model.blocks
    if model.detector == "mean":
        def draw(rng, share):
            return m * model.shift * share + math.sqrt(m) * rng.standard_normal(share.shape)

        return draw, lambda total: np.abs(total) / math.sqrt(n) > model.threshold
    if model.detector == "performance":
        positives = model.positives_per_block

        def draw(rng, share):
            return rng.binomial(positives, model.recall * (1.0 - share * model.shift)).astype(float)

        line = model.recall - model.threshold
        return draw, lambda caught: caught / (positives * model.blocks) < line
    bins = FINE_BINS if model.detector in ("ks", "wasserstein") else model.bins
    edges = special.ndtri(np.arange(1, bins) / bins)
    before = np.full(bins, 1.0 / bins)
    after = np.diff(np.r_[0.0, special.ndtr(edges - model.shift), 1.0])

    def draw(rng, share):
        return rng.multinomial(m, before + share[:, None] * (after - before)).astype(float)

    return draw, _binned_alarm(model, edges, before, n)


def _binned_alarm(model: Blocks, edges: np.ndarray, reference: np.ndarray, n: int):
    if model.detector == "psi":
        def alarm(counts):
            shares = counts / n
            current = np.where(shares > 0, shares, 1e-4)
            return ((current - reference) * np.log(current / reference)).sum(axis=1) > model.threshold

        return alarm
    if model.detector == "jensen_shannon":
        def alarm(counts):
            shares = counts / n
            middle = 0.5 * (shares + reference)
            with np.errstate(divide="ignore", invalid="ignore"):
                current = np.where(shares > 0, shares * np.log(shares / middle), 0.0).sum(axis=1)
            divergence = 0.5 * (current + (reference * np.log(reference / middle)).sum(axis=1))
            return np.sqrt(np.maximum(divergence, 0.0)) > model.threshold

        return alarm
    gap = np.cumsum(reference)[:-1]  # the reference CDF at the inner edges
    if model.detector == "ks":
        critical = float(stats.kstwo.isf(model.threshold, n))
        return lambda counts: np.abs(np.cumsum(counts, axis=1)[:, :-1] / n - gap).max(axis=1) > critical
    widths = np.gradient(edges)  # ∫|F_n − F| dx read at the edges, each standing for its neighbourhood
    return lambda counts: (np.abs(np.cumsum(counts, axis=1)[:, :-1] / n - gap) * widths).sum(axis=1) > model.threshold
