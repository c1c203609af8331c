"""Time-weighted levels: quantities such as headcount or backlog that hold a value between changes."""

from __future__ import annotations

import numpy as np


class Level:
    """A piecewise-constant quantity recorded at each change, so it can be averaged over time."""

    __slots__ = ("name", "times", "values")

    def __init__(self, name: str, value: float = 0.0, now: float = 0.0):
        self.name = name
        self.times = [now]
        self.values = [value]

    @property
    def value(self) -> float:
        return self.values[-1]

    def set(self, now: float, value: float) -> None:
        if now == self.times[-1]:
            self.values[-1] = value  # several changes at one instant: only the last one holds any time
        else:
            self.times.append(now)
            self.values.append(value)

    def add(self, now: float, delta: float) -> None:
        value = self.values[-1] + delta
        if now == self.times[-1]:
            self.values[-1] = value
        else:
            self.times.append(now)
            self.values.append(value)

    def integral(self, start: float, end: float) -> float:
        """Integral of the level over [start, end] (value × hours)."""
        if end <= start:
            return 0.0
        times = np.asarray(self.times)
        values = np.asarray(self.values)
        edges = np.clip(np.append(times, np.inf), start, end)
        return float(np.sum(values * np.diff(edges)))

    def mean(self, start: float, end: float) -> float:
        """Time-weighted mean over [start, end]."""
        return self.integral(start, end) / (end - start) if end > start else float("nan")

    def at(self, grid: np.ndarray) -> np.ndarray:
        """Value holding at each time in ``grid`` (the last change at or before it)."""
        index = np.searchsorted(np.asarray(self.times), grid, side="right") - 1
        return np.asarray(self.values)[np.clip(index, 0, None)]
