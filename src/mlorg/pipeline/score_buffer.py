"""A monitored run's score rows and alerts, written to the registry a few whole days at a time.

Why: a registry write costs ≈ 3 ms whatever its size (its INSERT and commit), and scoring a day of 4,000 rows
≈ 10 ms, so one write a day kept batch scoring near half the speed of ``predict_proba``; one write for a week of
days costs ≈ 1 ms a day.

What is kept, and what a kill loses:

* rows go to the registry only in whole days, each write (:meth:`Registry.record_batch`) one transaction that holds
  every score and alert of the days it carries, so a reader or a killed process sees a day entire or not at all;
* the buffer is written when it holds ``days`` whole days, and before every other write of the run (a model, a
  deployment, the run's end: :meth:`flush`), so the registry's writes keep the order they had one day at a time.
  After a kill the registry is what a run writing each day at once would have left, killed at the end of an
  earlier day: a prefix of the finished run, whose deployments still follow the scores that led to them;
* a kill (``kill -9``, power loss) therefore loses at most ``days`` days of score rows and alerts: ``days − 1``
  whole days waiting in the buffer and the day being scored (one day when ``days`` is 1). A run that fails with
  an exception writes its whole days first (:meth:`flush`) and loses only the day it failed in;
* nothing in the run reads the scores back from the registry (the monitors read the run's arrays, the registry's
  rows are for lineage afterwards), so no read inside the run misses a buffered row.

A killed run stays unfinished in the registry (``pipeline_runs.finished_at`` is NULL), and a rerun starts a new
run: the killed run's rows are never added to, so no day is ever half one run's and half another's.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from mlorg.pipeline.registry import Registry
from mlorg.pipeline.registry_errors import RegistryError

DEFAULT_DAYS = 7  # a week: ≈ 1 ms of writing per day against ≈ 4 ms one day at a time (README, "Benchmarks")


class ScoreBuffer:
    """Scores and alerts of the days being served, written ``days`` whole days at a time (see the module)."""

    def __init__(self, registry: Registry, days: int = DEFAULT_DAYS):
        if isinstance(days, bool) or not isinstance(days, int) or days < 1:
            raise ValueError(f"days must be a whole number >= 1, not {days!r}")
        self.registry, self.days = registry, days
        # Arrays, not a frame a day: building a DataFrame of 4,000 rows costs ≈ 0.3 ms, a tenth of scoring them.
        self._ended: list[tuple[list[tuple], list[dict]]] = []  # whole days, oldest first
        self._scores: list[tuple] = []  # the day in progress: (tx_id, model_version, score, scored_at)
        self._alerts: list[dict] = []
        self._run = registry.current_run

    @property
    def pending_days(self) -> int:
        """Whole days held, not yet written."""
        return len(self._ended)

    def add_scores(self, tx_id: np.ndarray, model_version: int, score: np.ndarray, scored_at: np.ndarray) -> None:
        """Scores of the day in progress, all from one model; what the registry would refuse is refused now, not at
        the write."""
        if isinstance(model_version, bool) or not isinstance(model_version, int | np.integer):
            raise RegistryError(f"a model version is an integer, not {model_version!r}")
        if not len(tx_id) == len(score) == len(scored_at):
            raise RegistryError(f"scores need as many tx_id, score and scored_at; got {len(tx_id)}, {len(score)} and "
                                f"{len(scored_at)}")
        self.registry.check_versions([int(model_version)])
        self._scores.append((tx_id, int(model_version), score, scored_at))

    def add_alert(self, *, at: datetime, monitor: str, detector: str, statistic: float, threshold: float,
                  detail: str = "") -> None:
        self._alerts.append({"at": at, "monitor": monitor, "detector": detector, "statistic": statistic,
                             "threshold": threshold, "detail": detail})

    def end_day(self) -> None:
        """The day in progress is whole: write the buffer if it now holds ``days`` days."""
        self._ended.append((self._scores, self._alerts))
        self._scores, self._alerts = [], []
        if len(self._ended) >= self.days:
            self.flush()

    def flush(self) -> None:
        """Write the whole days held, in one transaction; the day in progress stays (it is not whole yet)."""
        if not self._ended:
            return
        if self.registry.current_run != self._run:  # rows belong to the run that scored them
            raise RegistryError(f"scores of pipeline run {self._run} cannot be written under run "
                                f"{self.registry.current_run}: flush before the run finishes")
        parts = [part for scores, _ in self._ended for part in scores]
        alerts = [a for _, day in self._ended for a in day]
        frame = pd.DataFrame({
            "tx_id": np.concatenate([p[0] for p in parts]),
            "model_version": np.repeat([p[1] for p in parts], [len(p[0]) for p in parts]).astype(np.int32),
            "score": np.concatenate([p[2] for p in parts]),
            "scored_at": np.concatenate([p[3] for p in parts])}) if parts else None
        self.registry.record_batch(frame, alerts)
        self._ended = []
