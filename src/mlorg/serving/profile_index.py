"""What a run's serving asks of its one hourly load profile, over and over, answered without a pass over the hours.

Every real-time model of a run is settled over its own window of the same profile (its hours live), and a window
is years of hours. :class:`ProfileIndex` answers, for any window, its highest and lowest value (a sparse table of
the extremes of every window of 2^k hours: two lookups) and the hours in it where the profile rises by more than a
given ratio over a given number of hours (the profile's rises sorted once per delay). :class:`WindowPasses` gives
the same answers by a pass over the window, for a caller that asks about one window only.
"""

from __future__ import annotations

import numpy as np

MAX_RISES = 4096  # beyond this many hours, a pass over the window costs no more than picking them out


class ProfileIndex:
    def __init__(self, profile: np.ndarray) -> None:
        values = np.asarray(profile, dtype=float)
        self.profile = values
        self.highs, self.lows = [values], [values]
        width = 1
        while 2 * width <= len(values):
            high, low = self.highs[-1], self.lows[-1]
            self.highs.append(np.maximum(high[:-width], high[width:]))
            self.lows.append(np.minimum(low[:-width], low[width:]))
            width *= 2
        self._rises: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def __len__(self) -> int:
        return len(self.profile)

    def max(self, start: int, end: int) -> float:
        """The highest of profile[start:end] (a window of at least one hour)."""
        k = (end - start).bit_length() - 1
        level = self.highs[k]
        return float(max(level[start], level[end - (1 << k)]))

    def min(self, start: int, end: int) -> float:
        """The lowest of profile[start:end] (a window of at least one hour)."""
        k = (end - start).bit_length() - 1
        level = self.lows[k]
        return float(min(level[start], level[end - (1 << k)]))

    def rises_above(self, delay: int, ratio: float, start: int, end: int) -> np.ndarray | None:
        """The hours h in [start + delay, end) where profile[h] / profile[h − delay] > ratio, in no particular order;
        None if more than MAX_RISES hours of the whole profile rise that much. (0 / 0 counts as no rise; a rise from
        0 as an infinite one.)"""
        rises, hours = self._sorted_rises(delay)
        count = len(rises) - int(np.searchsorted(rises, ratio, side="right"))
        if count > MAX_RISES:
            return None
        above = hours[len(rises) - count:]
        return above[(above >= start + delay) & (above < end)]

    def _sorted_rises(self, delay: int) -> tuple[np.ndarray, np.ndarray]:
        """The rises over ``delay`` hours, ascending, and the hour of each."""
        found = self._rises.get(delay)
        if found is None:
            p = self.profile
            with np.errstate(divide="ignore", invalid="ignore"):
                rises = p[delay:] / p[:len(p) - delay]
            rises[np.isnan(rises)] = 0.0
            order = np.argsort(rises, kind="stable")
            found = self._rises[delay] = (rises[order], order + delay)
        return found


class WindowPasses:
    """:class:`ProfileIndex`'s answers by a pass over each window, for a caller that asks about one window."""

    def __init__(self, profile: np.ndarray) -> None:
        self.profile = np.asarray(profile, dtype=float)

    def __len__(self) -> int:
        return len(self.profile)

    def max(self, start: int, end: int) -> float:
        return float(self.profile[start:end].max())

    def min(self, start: int, end: int) -> float:
        return float(self.profile[start:end].min())

    def rises_above(self, delay: int, ratio: float, start: int, end: int) -> np.ndarray | None:
        p = self.profile
        first = start + delay
        if first >= end:
            return np.empty(0, dtype=np.intp)
        with np.errstate(divide="ignore", invalid="ignore"):
            rises = p[first:end] / p[start:end - delay]
        return first + np.flatnonzero(rises > ratio)
