"""One replay of the live days: the champion scores each day, investigators review the alerts, routine retrains come
on schedule, and whatever operates the model (monitors and the incident process, or a script) acts after each day.

The reference run replays the same days three times from the same first model, each an :class:`Arm`: monitored
(the scenario's monitors, the incident process and the registry), unmonitored (the same routine retrains and
reviews, nobody watching) and the ceiling (the monitored run's actions on the same days, every model trained on
every true label).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd

from mlorg.monitoring import detectors
from mlorg.pipeline.labels import LabelBook
from mlorg.pipeline.training import THRESHOLD_DAYS, Model, retrain, threshold_for
from mlorg.scenario import Scenario


@dataclass
class Data:
    """What every arm reads: the transactions in time order, their features, and the rows of each day."""

    scenario: Scenario
    seed: int
    tx: pd.DataFrame
    served: np.ndarray  # the features the online path computes (skew included), in FEATURES order
    offline: np.ndarray  # the features as the offline training table has them
    deploy_day: int
    day_of: np.ndarray = field(init=False)
    y: np.ndarray = field(init=False)
    amount: np.ndarray = field(init=False)
    ts_hours: np.ndarray = field(init=False)
    chargeback_hours: np.ndarray = field(init=False)

    def __post_init__(self):
        self.day_of = self.tx["day"].to_numpy()
        self.y = self.tx["is_fraud"].to_numpy()
        self.amount = self.tx["amount"].to_numpy()
        self.ts_hours = _hours(self.tx["ts"].to_numpy())
        self.chargeback_hours = _hours(self.tx["label_time"].to_numpy())
        self._first = int(self.day_of.min())
        self._starts = np.searchsorted(self.day_of, np.arange(self._first, int(self.day_of.max()) + 2))
        self.days = int(self.day_of.max()) + 1

    def rows(self, first_day: int, last_day: int | None = None) -> np.ndarray:
        """Rows of days ``first_day`` to ``last_day`` (inclusive; one day without it)."""
        last = first_day if last_day is None else last_day
        lo = self._starts[min(max(first_day - self._first, 0), len(self._starts) - 1)]
        hi = self._starts[min(max(last + 1 - self._first, 0), len(self._starts) - 1)]
        return np.arange(lo, hi)

    @staticmethod
    def end_hours(d: int) -> float:
        """The end of day ``d`` in hours since the epoch."""
        return DAY_ZERO_HOURS + (d + 1) * 24.0

    def book(self, *, oracle: bool = False) -> LabelBook:
        from mlorg.pipeline.labels import chargeback_window_days

        p, impact = self.scenario.pipeline, self.scenario.impact
        window = chargeback_window_days(impact.label_delay_days * 0.7, impact.label_delay_cv)
        return LabelBook(self.ts_hours, self.y, self.chargeback_hours, p.review_delay_days, window, oracle=oracle)


DAY_ZERO = pd.Timestamp("2026-01-01")  # day 0 of every run: the first training day (history days are negative)
DAY = pd.Timedelta(days=1)
DAY_ZERO_HOURS = float(DAY_ZERO.value / 3.6e12)


def _hours(times) -> np.ndarray:
    return np.asarray(times, dtype="datetime64[ns]").astype(np.int64) / 3.6e12


@dataclass
class Shadow:
    """A model scoring beside the champion, its alerts reviewed too: a challenger, or the previous version after a
    deployment (so that a rollback can be judged on the same reviewed days)."""

    kind: str  # "challenger" or "previous"
    model: Model
    first_day: int
    last_day: int
    flags: dict[int, np.ndarray] = field(default_factory=dict)  # day -> its alerts among that day's rows


class Operator(Protocol):
    """Whatever operates the model around each day: the incident process, or the ceiling's script."""

    def before_day(self, arm: Arm, d: int) -> None: ...

    def after_day(self, arm: Arm, d: int, rows: np.ndarray) -> None: ...

    def changed(self, arm: Arm, d: int, action: str, model: Model, reason: str) -> None: ...


@dataclass
class Change:
    day: int
    action: str  # deploy, rollback, promote, interim, interim_end, shadow or keep
    version: int
    reason: str
    trained_day: int = -1
    bad: bool = False


class Arm:
    """The live days replayed from ``first``: call :meth:`day` for each day after go-live, in order."""

    def __init__(self, data: Data, first: Model, labels: LabelBook, *, routine: bool = True,
                 operator: Operator | None = None, probation: bool = False):
        self.data, self.labels, self.operator, self.routine = data, labels, operator, routine
        self.probation = probation
        p = data.scenario.pipeline
        self.p = p
        self.champion, self.previous = first, None
        self.interim_threshold: float | None = None
        self.shadow: Shadow | None = None
        self.bad_versions = [c for c in p.causes if c.kind == "bad_version"]
        n = len(data.tx)
        self.scores = np.full(n, np.nan)
        self.flagged = np.zeros(n, dtype=bool)  # alerts at the threshold in use (the interim one included)
        self.alerted = np.zeros(n, dtype=bool)  # alerts at the champion's own threshold (what precision reads)
        self.champion_of = np.zeros(n, dtype=int)
        self.losses = 0.0
        self.changes: list[Change] = []
        self.next_version = first.version + 1  # versions of an arm without a registry

    # ---------------------------------------------------------------------------------------------- one day

    def day(self, d: int) -> None:
        if self.operator is not None:
            self.operator.before_day(self, d)
        if self.routine and (d - self.data.deploy_day) % self.p.retrain_every_days == 0 and d > self.data.deploy_day:
            # The calendar holds whatever happened since: a routine retrain learns from the same labels a challenger
            # on trial did and more, so it ends the trial (and the interim threshold with it).
            bad = self.bad_version_due(d)
            model = self.train(d, bad=bad)
            why = "routine retrain" + (f" (its training table has the {' and '.join(s for s, _ in bad)} lookups "
                                       "broken)" if bad else "")
            self.deploy(d, model, "deploy", why, bad=bool(bad))
        rows = self.data.rows(d)
        if rows.size == 0:
            return
        champion = self.champion
        scores = champion.scores(self.data.served[rows])
        self.scores[rows] = scores
        self.alerted[rows] = scores >= champion.threshold
        threshold = champion.threshold if self.interim_threshold is None else self.interim_threshold
        self.flagged[rows] = scores >= threshold
        self.champion_of[rows] = champion.version
        missed = rows[self.data.y[rows] & ~self.flagged[rows]]
        self.losses += float(self.data.amount[missed].sum())
        self._review(rows)
        if self.operator is not None:
            self.operator.after_day(self, d, rows)

    def _review(self, rows: np.ndarray) -> None:
        """Investigators review the champion's alerts, then the shadow's, up to the day's capacity, highest first."""
        capacity = max(1, round(self.p.review_capacity_share * rows.size))
        mine = rows[self.flagged[rows]]
        mine = mine[np.argsort(-self.scores[mine], kind="stable")][:capacity]
        reviewed = mine
        if self.shadow is not None:
            shadow_scores = self.shadow.model.scores(self.data.served[rows])
            flags = shadow_scores >= self.shadow.model.threshold
            self.shadow.flags[int(self.data.day_of[rows[0]])] = flags
            theirs = rows[flags & ~self.flagged[rows]]
            order = np.argsort(-shadow_scores[flags & ~self.flagged[rows]], kind="stable")
            reviewed = np.concatenate([mine, theirs[order][:max(0, capacity - mine.size)]])
        self.labels.review(reviewed)

    # -------------------------------------------------------------------------------------------- changes

    def bad_version_due(self, d: int) -> tuple[tuple[str, float], ...]:
        """The broken sources of the bad_version causes whose time has come (each breaks one retrain)."""
        due = tuple(c for c in self.bad_versions if c.start_day <= d)
        self.bad_versions = [c for c in self.bad_versions if c not in due]
        return tuple((c.feature, c.size) for c in due)

    def train(self, d: int, *, bad: tuple[tuple[str, float], ...] = (), labels: LabelBook | None = None) -> Model:
        """A model trained at the start of day ``d`` on the window before it, with the labels known then."""
        p, data = self.p, self.data
        rows = data.rows(max(0, d - p.retrain_window_days), d - 1)
        known = (labels or self.labels).known_fraud(rows, data.end_hours(d - 1))
        recent = data.day_of[rows] >= d - THRESHOLD_DAYS
        return retrain(data.offline[rows], known, recent, p.alert_share, data.seed + d, d, bad)

    def deploy(self, d: int, model: Model, action: str, reason: str, *, bad: bool = False) -> None:
        """Make ``model`` the champion; on ``probation`` the one it replaces scores in shadow for probation_days, so
        that a rollback can be judged on reviewed days."""
        self.previous, self.champion = self.champion, model
        self.interim_threshold = None
        self._record(d, action, model, reason, bad=bad)
        self.shadow = None
        if self.probation:
            self.shadow = Shadow("previous", self.previous, d, d + self.p.probation_days - 1)

    def keep(self, d: int, reason: str) -> None:
        """A decision to change nothing, recorded with its evidence."""
        self._record(d, "keep", self.champion, reason)

    def rollback(self, d: int, reason: str) -> None:
        self.champion, self.previous = self.previous, None
        self.interim_threshold = None
        self.shadow = None
        self._record(d, "rollback", self.champion, reason)

    def set_interim(self, d: int, reason: str) -> None:
        """The interim remedy: flag interim_alert_share of transactions until a better model is in service."""
        recent = self.data.rows(d - THRESHOLD_DAYS + 1, d)
        self.interim_threshold = threshold_for(self.scores[recent[~np.isnan(self.scores[recent])]],
                                               self.p.interim_alert_share)
        self._record(d, "interim", self.champion, reason)

    def end_interim(self, d: int, reason: str) -> None:
        self.interim_threshold = None
        self._record(d, "interim_end", self.champion, reason)

    def start_shadow(self, d: int, model: Model, reason: str) -> None:
        self.shadow = Shadow("challenger", model, d + 1, d + self.p.shadow_days)
        self._record(d, "shadow", model, reason, trained_day=model.trained_day)

    def _record(self, d: int, action: str, model: Model, reason: str, *, trained_day: int = -1,
                bad: bool = False) -> None:
        if self.operator is not None:  # the incident process registers new models, which gives them a version
            self.operator.changed(self, d, action, model, reason)
        if model.version < 0:
            model.version, self.next_version = self.next_version, self.next_version + 1
        self.changes.append(Change(d, action, model.version, reason,
                                   trained_day if trained_day >= 0 else model.trained_day, bad))

    # ------------------------------------------------------------------------------------------- evidence

    def dollars_caught(self, first_day: int, last_day: int, d: int) -> tuple[float, float, float]:
        """Over days ``first_day``..``last_day``, the known fraud dollars the shadow's alerts and the champion's
        own alerts (at its threshold, not the interim one) hold with the labels known at the end of day ``d``, and
        the standard error of their difference (from the day-to-day spread: frauds come in campaigns, days are
        closer to independent than transactions)."""
        differences, shadow_total, champion_total = [], 0.0, 0.0
        end = self.data.end_hours(d)
        for day in range(first_day, last_day + 1):
            rows = self.data.rows(day)
            flags = self.shadow.flags.get(day) if self.shadow is not None else None
            if rows.size == 0 or flags is None:
                continue
            value = self.data.amount[rows] * self.labels.known_fraud(rows, end)
            theirs, mine = float(value[flags].sum()), float(value[self.alerted[rows]].sum())
            shadow_total += theirs
            champion_total += mine
            differences.append(theirs - mine)
        n = len(differences)
        se = math.sqrt(n) * float(np.std(differences, ddof=1)) if n > 1 else math.inf
        return shadow_total, champion_total, se

    # -------------------------------------------------------------------------------------------- summary

    def weekly(self, start_day: int) -> pd.DataFrame:
        """Per week live: transactions, frauds, AUC, recall, alert rate, alert precision, losses and champion."""
        data = self.data
        live = np.flatnonzero(~np.isnan(self.scores))
        frame = pd.DataFrame({"day": data.day_of[live], "y": data.y[live], "score": self.scores[live],
                              "flagged": self.flagged[live], "alerted": self.alerted[live],
                              "amount": data.amount[live], "champion": self.champion_of[live]})
        frame["week"] = (frame["day"] - start_day) // 7
        rows = []
        for week, g in frame.groupby("week"):
            frauds = int(g["y"].sum())
            alerts = int(g["flagged"].sum())
            rows.append({"week": int(week), "start_day": int(g["day"].min()), "transactions": len(g),
                         "frauds": frauds, "auc": detectors.roc_auc(g["y"].to_numpy(), g["score"].to_numpy()),
                         "recall": float(g.loc[g["y"], "flagged"].mean()) if frauds else math.nan,
                         "alert_rate": float(g["flagged"].mean()),
                         "precision": float(g.loc[g["flagged"], "y"].mean()) if alerts else math.nan,
                         "losses_usd": float(g.loc[g["y"] & ~g["flagged"], "amount"].sum()),
                         "champion": int(g["champion"].iloc[-1])})
        return pd.DataFrame(rows)

    def losses_between(self, first_day: float, last_day: float = math.inf) -> float:
        """Fraud dollars missed on the days from ``first_day`` on (to ``last_day``, exclusive)."""
        data = self.data
        days = (data.day_of >= first_day) & (data.day_of < last_day) & ~np.isnan(self.scores)
        return float(data.amount[days & data.y & ~self.flagged].sum())
