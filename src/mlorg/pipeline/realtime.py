"""The real-time path measured as it serves: each day a sample of transactions is scored one by one from the online
feature state (online features + the champion's trees walked for one row), timed against the SLO, and checked
against the offline definition the model was trained on (parity: training–serving skew shows here)."""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd

from mlorg.pipeline.features import FEATURES, FeatureSet, OnlineStream
from mlorg.pipeline.training import Model


class RealTimeSample:
    def __init__(self, tx: pd.DataFrame, offline_rows: np.ndarray, per_day: int, slo_ms: float,
                 rng: np.random.Generator, skew: tuple[str, float, pd.Timestamp] | None):
        self.stream = OnlineStream(tx, FeatureSet(), skew=skew)
        self.offline_rows, self.per_day, self.slo_ms, self.rng = offline_rows, per_day, slo_ms, rng
        self.latencies: list[float] = []
        self.mismatch: dict[str, list[bool]] = {f: [] for f in FEATURES}

    def day(self, rows: np.ndarray, champion: Model) -> None:
        """Feed the day's rows to the online state, scoring a sample of them one by one on the way."""
        k = min(self.per_day, rows.size)
        sample = set(self.rng.choice(rows, k, replace=False).tolist()) if k else set()
        online, scorer, offline = self.stream.online, champion.scorer, self.offline_rows

        def visit(i: int, row: dict) -> None:
            started = time.perf_counter()
            values = online.features(row)
            scorer.probability([values[f] for f in FEATURES])
            self.latencies.append((time.perf_counter() - started) * 1000.0)
            for j, f in enumerate(FEATURES):
                a, b = values[f], offline[i, j]
                self.mismatch[f].append(not ((math.isnan(a) and math.isnan(b)) or abs(a - b) <= 1e-9 * max(1, abs(b))))

        self.stream.advance(rows[-1] + 1, visit, only=sample)

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies, q)) if self.latencies else math.nan

    def slo_attainment(self) -> float:
        return float(np.mean(np.asarray(self.latencies) <= self.slo_ms)) if self.latencies else math.nan

    def parity_mismatch(self) -> dict[str, float]:
        return {f: float(np.mean(v)) if v else math.nan for f, v in self.mismatch.items()}
