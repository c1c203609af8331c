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

import pandas as pd

from mlorg.pipeline.registry import Registry, score_versions
from mlorg.pipeline.registry_errors import RegistryError

DEFAULT_DAYS = 7  # a week: ≈ 1 ms of writing per day against ≈ 4 ms one day at a time (README, "Benchmarks")


class ScoreBuffer:
    """Scores and alerts of the days being served, written ``days`` whole days at a time (see the module)."""

    def __init__(self, registry: Registry, days: int = DEFAULT_DAYS):
        if isinstance(days, bool) or not isinstance(days, int) or days < 1:
            raise ValueError(f"days must be a whole number >= 1, not {days!r}")
        self.registry, self.days = registry, days
        self._ended: list[tuple[list[pd.DataFrame], list[dict]]] = []  # whole days, oldest first
        self._scores: list[pd.DataFrame] = []  # the day in progress
        self._alerts: list[dict] = []
        self._known: set[int] = set()  # model versions seen in the registry (versions are never removed)
        self._run = registry.current_run

    @property
    def pending_days(self) -> int:
        """Whole days held, not yet written."""
        return len(self._ended)

    def add_scores(self, frame: pd.DataFrame) -> None:
        """Score rows of the day in progress; a frame the registry would refuse is refused now, not at the write."""
        named = score_versions(frame)
        unknown = [v for v in named if v not in self._known]
        if unknown:
            found = set(self.registry.models()["version"].astype(int))
            missing = [v for v in unknown if v not in found]
            if missing:
                raise RegistryError(f"scores name model versions not in {self.registry.path}: "
                                    f"{', '.join(str(v) for v in missing)}")
            self._known |= set(unknown)
        self._scores.append(frame)

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
        frames = [f for scores, _ in self._ended for f in scores]
        alerts = [a for _, day in self._ended for a in day]
        self.registry.record_batch(pd.concat(frames, ignore_index=True) if frames else None, alerts)
        self._ended = []
