"""The fraud-drift workshop's story on the reference pipeline, computed once and shared by everyone in the room.

The story needs three computations: the run without monitoring (``fraud_drift``: the "before"), the evidence (the
same model with every monitor watching it and nobody acting: which monitors would have fired, and when) and the run
with every monitor, a registry and automated rollback (``fraud_drift_full``: the "after"). Each takes 30–90 s at the
shipped scale, so :class:`Workshop` computes each once per (kind, scenario, seed, code version) on one background
worker that belongs to no browser session, lets any number of sessions wait on it and read its progress, and keeps
the answer as a JSON file that later servers read instead of computing again.
"""

from __future__ import annotations

import atexit
import dataclasses
import functools
import hashlib
import json
import math
import os
import queue
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlorg import __version__
from mlorg.scenario import Scenario, to_toml

# ------------------------------------------------------------------------------------------ what is kept

def _clean(value):
    """Plain JSON: NaN and infinity become null, numpy scalars Python ones."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _records(frame: pd.DataFrame) -> list[dict]:
    return [_clean(row) for row in frame.to_dict(orient="records")]


def _frame(records: list[dict], columns: list[str], text: frozenset[str] = frozenset()) -> pd.DataFrame:
    """A frame from kept records, each checked: exactly ``columns``, strings in the ``text`` ones, numbers (or null)
    in the rest. A file that does not hold that is not served: ValueError, and it is computed again."""
    if not isinstance(records, list):
        raise ValueError(f"expected a list of records, got {type(records).__name__}")
    for record in records:
        if not isinstance(record, dict) or set(record) != set(columns):
            raise ValueError(f"a record must hold exactly {columns}")
        for name in columns:
            _check(record[name], str if name in text else float, name)
    return pd.DataFrame.from_records(records, columns=columns).fillna(value=np.nan) if records else \
        pd.DataFrame(columns=columns)


def _check(value, kind: type, name: str):
    """``value`` if it is a ``kind`` (float: any number or null; int: a whole number; str: a string)."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    ok = {str: isinstance(value, str), int: number and float(value).is_integer(),
          float: value is None or number}[kind]
    if not ok:
        raise ValueError(f"{name}: {value!r} is not a {kind.__name__}")
    return value


WEEKLY = ["week", "start_day", "transactions", "frauds", "auc", "recall", "alert_rate", "precision", "reviewed",
          "losses_usd", "champion", "losses_without_monitoring_usd", "recall_without_monitoring", "losses_ceiling_usd",
          "recall_ceiling"]
ALERTS = ["day", "monitor", "detector", "statistic", "threshold", "detail"]
ACTIONS = ["day", "action", "version", "reason"]
TEXT = frozenset({"monitor", "detector", "detail", "action", "reason", "cause"})  # the columns that hold strings


@dataclass(frozen=True)
class Run:
    """What the workshop shows of one run of the reference pipeline (a ``PipelineResult`` without its registry)."""

    scenario: str
    seed: int
    days: int
    offline_auc: float
    transactions: int
    fraud_rate: float
    weekly: pd.DataFrame
    alerts: pd.DataFrame
    actions: pd.DataFrame
    detection_lag_days: dict[str, dict[str, float | None]]
    rollbacks: int
    promotions: int
    retrains: int
    fraud_losses_usd: float
    fraud_losses_usd_without_monitoring: float
    fraud_losses_usd_ceiling: float  # the same actions, every model trained on every true label
    time_to_model_days: float  # from the fraud-pattern shift to the first model promoted after it (NaN: none)
    reviewed_alerts: int
    scorer_p50_ms: float
    scorer_p99_ms: float

    @classmethod
    def from_result(cls, result, days: int) -> Run:
        return cls(scenario=result.scenario, seed=result.seed, days=days, offline_auc=result.offline_auc,
                   transactions=result.transactions, fraud_rate=result.fraud_rate, weekly=result.weekly[WEEKLY],
                   alerts=result.alerts[ALERTS], actions=result.actions[ACTIONS],
                   detection_lag_days=result.detection_lag_days, rollbacks=result.rollbacks,
                   promotions=result.promotions, retrains=result.retrains, fraud_losses_usd=result.fraud_losses_usd,
                   fraud_losses_usd_without_monitoring=result.fraud_losses_usd_without_monitoring,
                   fraud_losses_usd_ceiling=result.fraud_losses_usd_ceiling,
                   time_to_model_days=math.nan if result.time_to_model_days is None else result.time_to_model_days,
                   reviewed_alerts=result.reviewed_alerts,
                   scorer_p50_ms=result.scorer_p50_ms, scorer_p99_ms=result.scorer_p99_ms)

    def to_json(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for name in ("weekly", "alerts", "actions"):
            out[name] = _records(out[name])
        return _clean(out)

    @classmethod
    def from_json(cls, data: dict) -> Run:
        """A kept run, every field checked against its type (a file that fails is computed again: ValueError)."""
        if not isinstance(data, dict) or set(data) != {f.name for f in dataclasses.fields(cls)}:
            raise ValueError("a kept run must hold exactly the fields of a Run")
        data = dict(data)
        for name, columns in (("weekly", WEEKLY), ("alerts", ALERTS), ("actions", ACTIONS)):
            data[name] = _frame(data[name], columns, TEXT)
        for f in dataclasses.fields(cls):
            if f.type in ("str", "int", "float"):
                value = _check(data[f.name], {"str": str, "int": int, "float": float}[f.type], f.name)
                data[f.name] = math.nan if value is None else {"str": str, "int": int, "float": float}[f.type](value)
        lags = data["detection_lag_days"]
        if not isinstance(lags, dict) or not all(isinstance(v, dict) for v in lags.values()):
            raise ValueError("detection_lag_days must map each cause to its monitors' lags")
        for cause, monitors in lags.items():
            for monitor, lag in monitors.items():
                _check(lag, float, f"detection_lag_days.{cause}.{monitor}")
        return cls(**data)


MONITOR_COLUMNS = ["monitor", "detector", "threshold", "cause", "start_day", "measured_lag_days",
                   "predicted_lag_days", "measured_false_alarms_per_month", "predicted_false_alarms_per_month"]


@dataclass(frozen=True)
class Evidence:
    """Every alert the monitors would have raised beside the first model with nobody acting on them (``alarms``),
    and per monitor and cause the measured and predicted detection lag (``monitors``), from
    :func:`mlorg.pipeline.calibrate.calibrate`."""

    scenario: str
    seed: int
    monitors: pd.DataFrame
    alarms: pd.DataFrame

    def to_json(self) -> dict:
        return {"scenario": self.scenario, "seed": self.seed, "monitors": _records(self.monitors[MONITOR_COLUMNS]),
                "alarms": _records(self.alarms[ALERTS])}

    @classmethod
    def from_json(cls, data: dict) -> Evidence:
        if not isinstance(data, dict) or set(data) != {"scenario", "seed", "monitors", "alarms"}:
            raise ValueError("kept evidence must hold exactly scenario, seed, monitors and alarms")
        return cls(_check(data["scenario"], str, "scenario"), int(_check(data["seed"], int, "seed")),
                   _frame(data["monitors"], MONITOR_COLUMNS, TEXT), _frame(data["alarms"], ALERTS, TEXT))


# ------------------------------------------------------------------------------------------ computations

Progress = Callable[[int, int], None]


def compute_run(scenario: Scenario, seed: int, progress: Progress | None = None) -> Run:
    """Run the reference pipeline of ``scenario`` into a registry that is thrown away afterwards."""
    from mlorg.pipeline.run import run_pipeline  # scikit-learn loads only when something is computed

    with tempfile.TemporaryDirectory(prefix="mlorg-workshop-") as folder:
        result = run_pipeline(scenario, Path(folder) / "registry.duckdb", seed=seed, progress=progress)
    return Run.from_result(result, scenario.pipeline.days)


def compute_evidence(scenario: Scenario, seed: int, progress: Progress | None = None) -> Evidence:
    """Which monitors would have fired, and when, had they watched the model of ``scenario``."""
    from mlorg.pipeline.calibrate import calibrate

    calibration = calibrate(scenario, seed=seed, progress=progress)
    return Evidence(scenario.name, seed, calibration.monitors, calibration.alarms)


KINDS: dict[str, tuple[Callable[..., Any], type]] = {"run": (compute_run, Run),
                                                     "evidence": (compute_evidence, Evidence)}


@functools.lru_cache(maxsize=64)  # asked on every rerun of every session; writing the TOML takes milliseconds
def cache_key(kind: str, scenario: Scenario, seed: int) -> str:
    """The identity of a computation: what is computed, from which scenario and seed, by which code."""
    text = "\n".join([kind, str(seed), __version__, to_toml(scenario)])
    return hashlib.sha256(text.encode()).hexdigest()[:20]


class Stopped(Exception):
    """Raised inside a computation when the process that runs it is exiting."""


@dataclass
class Job:
    """One shared computation: sessions read its progress and wait for it; the worker fills it in."""

    kind: str
    key: str
    scenario: str
    state: str = "queued"  # queued, running, done or failed
    done_steps: int = 0
    total_steps: int = 0
    result: Any = None
    error: str | None = None
    from_cache: bool = False
    seconds: float = math.nan  # compute time (NaN when read from the cache)
    _finished: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def finished(self) -> bool:
        return self._finished.is_set()

    @property
    def fraction(self) -> float:
        return min(1.0, self.done_steps / self.total_steps) if self.total_steps else 0.0

    def wait(self, timeout: float | None = None) -> bool:
        """True once the job has finished (done or failed), waiting at most ``timeout`` seconds."""
        return self._finished.wait(timeout)

    def report(self, done: int, total: int) -> None:
        self.done_steps, self.total_steps = done, total

    def finish(self, result: Any = None, error: str | None = None) -> None:
        self.result, self.error = result, error
        self.state = "failed" if error is not None else "done"
        self._finished.set()


class Workshop:
    """Computations shared by every session of one server, each run once and kept in ``cache_dir``.

    One worker thread computes the jobs in the order they were asked for (the machine a workshop runs on has few
    cores, and the computations are CPU bound: two at once would each take twice as long). When the process exits
    mid-computation, the computation stops at its next progress report and the exit waits for that: a thread
    killed inside native code (DuckDB, scikit-learn) aborts the whole process. A job that failed is computed again
    when next asked for.
    """

    def __init__(self, cache_dir: str | Path | None = None):
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._queue: queue.Queue = queue.Queue()
        self._worker: threading.Thread | None = None
        self._stopping = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self.computed = 0  # computations actually run (not read from the cache): the tests count them

    def submit(self, kind: str, scenario: Scenario, seed: int) -> Job:
        """The job computing ``kind`` ("run" or "evidence") of ``scenario`` with ``seed``: the one already asked
        for, the answer kept in the cache folder, or a new one queued for the worker."""
        if kind not in KINDS:
            raise ValueError(f"kind: {kind!r} is not allowed; must be one of {', '.join(KINDS)}")
        key = cache_key(kind, scenario, seed)
        with self._lock:
            job = self._jobs.get(key)
            if job is not None and job.state != "failed":
                return job
            job = Job(kind, key, scenario.name)
            self._jobs[key] = job
            kept = self._read(job)
            if kept is not None:
                job.from_cache = True
                job.finish(kept)
                return job
            if self._worker is None:
                self._worker = threading.Thread(target=self._work, name="mlorg-workshop", daemon=True)
                self._worker.start()
                atexit.register(self.stop)
            self._idle.clear()
            self._queue.put((job, scenario, seed))
            return job

    def stop(self, timeout: float = 60.0) -> None:
        """Stop computing: the running computation ends at its next progress report. Waits up to ``timeout``."""
        self._stopping.set()
        self._idle.wait(timeout)

    def _work(self) -> None:
        while not self._stopping.is_set():
            job, scenario, seed = self._queue.get()
            job.state = "running"
            compute, _ = KINDS[job.kind]
            started = time.perf_counter()
            try:
                result = compute(scenario, seed, functools.partial(self._report, job))
            except Exception as exc:  # noqa: BLE001 - the message goes to whoever waits; the worker keeps serving
                job.finish(error=str(exc) or type(exc).__name__)
            else:
                job.seconds = time.perf_counter() - started
                self.computed += 1
                self._write(job, result)
                job.finish(result)
            with self._lock:  # submit queues under the lock: no job can slip in between the check and the set
                if self._queue.empty():
                    self._idle.set()
        self._idle.set()

    def _report(self, job: Job, done: int, total: int) -> None:
        if self._stopping.is_set():
            raise Stopped("the server is stopping")
        job.report(done, total)

    def _path(self, job: Job) -> Path | None:
        return None if self.cache_dir is None else self.cache_dir / f"{job.kind}-{job.key}.json"

    def _read(self, job: Job) -> Any:
        path = self._path(job)
        if path is None or not path.exists():
            return None
        try:
            return KINDS[job.kind][1].from_json(json.loads(path.read_text()))
        except (OSError, ValueError, KeyError, TypeError):
            return None  # unreadable (an older layout, a half-copied file): compute it again

    def _write(self, job: Job, result: Any) -> None:
        path = self._path(job)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
            partial.write_text(json.dumps(result.to_json()))
            partial.replace(path)  # atomic: a reader sees the whole file or none
        except OSError:
            pass  # a read-only folder only costs the next server a computation


# ------------------------------------------------------------------------------------------ the story

CAUSES = {
    "fraud_pattern_shift": "Fraudsters changed their pattern: a new kind of fraud the model never learned "
                           "(concept drift)",
    "bad_version": "A routine retrain shipped a worse model: its training data was broken (a bad version)",
    "covariate_shift": "The customers changed: new kinds of transactions the model never saw (covariate shift)",
    "upstream_break": "An upstream feed broke: a source the features read went missing (pipeline break)",
    "skew": "The online path computes a feature differently from training (training–serving skew)",
    "label_delay": "Chargebacks come later: the fraud is there, we only see it late (label delay)",
}
SHIFT_LABELS = {"fraud_pattern_shift": "fraudsters change pattern", "covariate_shift": "the customers change",
                "upstream_break": "a feed breaks", "skew": "the online path goes wrong",
                "label_delay": "chargebacks slow down", "bad_version": "a bad version ships"}
OVERFIT = "overfit"
# Day 0 of every pipeline run, as mlorg.pipeline.live has it (tests/test_workshop.py pins that they agree): importing
# it from there would load scikit-learn into a server that only reads kept results, over half a second of CPU on the
# first page.
DAY_ZERO = pd.Timestamp("2026-01-01")


def choices(offline_auc: float) -> dict[str, str]:
    """The answers the room picks from: the causes, and "it was never that good" quoting the AUC this run measured."""
    return {**CAUSES, OVERFIT: f"The model was never that good: {offline_auc:.2f} offline AUC was overfitting"}


MONITORS = {"contracts": "Feature contracts", "features": "Feature drift", "predictions": "Prediction drift",
            "performance": "Recall on labels"}
WATCHES = {
    "contracts": "the types, ranges and missing values of each day's feature batch",
    "features": "PSI of each feature against the holdout",
    "predictions": "the share of transactions the model alerts on against the share it was set for",
    "performance": "recall on the frauds whose chargebacks have arrived",
}


def weekly_losses(weekly: pd.DataFrame, days: int) -> pd.DataFrame:
    """The weekly frame with the days each week covers and its losses per day (the last week may be short)."""
    out = weekly.copy()
    ends = list(out["start_day"].iloc[1:]) + [days]
    out["days"] = np.asarray(ends, dtype=float) - out["start_day"].to_numpy(dtype=float)
    out["losses_per_day"] = out["losses_usd"] / out["days"]
    return out


def trend(weekly: pd.DataFrame, days: int, weeks: int = 4) -> dict[str, float]:
    """Fraud losses per day and recall over the first and the last ``weeks`` weeks live (each up to half the run)."""
    data = weekly_losses(weekly, days)
    n = max(1, min(weeks, len(data) // 2))
    first, last = data.iloc[:n], data.iloc[-n:]

    def per_day(rows):
        return float(rows["losses_usd"].sum() / rows["days"].sum())

    def recall(rows):
        frauds = rows["frauds"].sum()
        return float((rows["recall"].fillna(0) * rows["frauds"]).sum() / frauds) if frauds else math.nan

    return {"weeks": n, "first_losses_per_day": per_day(first), "last_losses_per_day": per_day(last),
            "first_recall": recall(first), "last_recall": recall(last)}


def first_alarms(evidence: Evidence, cause: str, start_day: float) -> pd.DataFrame:
    """Per monitor: its first alarm on or after ``start_day`` (the day, and the lag in days as the pipeline counts
    it: an alarm at the end of day d comes d + 1 − start days after the start), the alarms it raised before the cause
    (false alarms), and the lag the simulator's model predicts for it (NaN where it is not modelled)."""
    rows = []
    alarms = evidence.alarms
    for monitor in MONITORS:
        mine = alarms[alarms["monitor"] == monitor]
        after = mine[mine["day"] + 1 > start_day]
        predicted = evidence.monitors[(evidence.monitors["monitor"] == monitor)
                                      & (evidence.monitors["cause"] == cause)]["predicted_lag_days"]
        rows.append({"monitor": monitor, "first_alarm_day": float(after["day"].min()) if len(after) else math.nan,
                     "lag_days": float(after["day"].min() + 1 - start_day) if len(after) else math.nan,
                     "alarms_after": len(after), "false_alarms_before": int((mine["day"] + 1 <= start_day).sum()),
                     "predicted_lag_days": float(predicted.iloc[0]) if len(predicted) else math.nan})
    return pd.DataFrame(rows)


def first_response(run: Run, start_day: float) -> dict[str, float]:
    """Days from ``start_day`` to the first alert and to the first new model in service (a routine retrain or a
    promotion; a rollback brings back an old one) of a run, NaN when there was none; an alert at the end of day d
    counts as d + 1."""
    alerts = run.alerts[run.alerts["day"] + 1 > start_day]
    changes = run.actions[(run.actions["day"] + 1 > start_day) & run.actions["action"].isin(["deploy", "promote"])]
    return {"alert_lag_days": float(alerts["day"].min() + 1 - start_day) if len(alerts) else math.nan,
            "first_monitor": str(alerts.sort_values("day")["monitor"].iloc[0]) if len(alerts) else "",
            "change_lag_days": float(changes["day"].min() + 1 - start_day) if len(changes) else math.nan}


ACTION_NAMES = {"deploy": "routine retrain deployed", "rollback": "rolled back", "promote": "challenger promoted",
                "interim": "interim threshold", "interim_end": "interim threshold ends",
                "shadow": "challenger in shadow", "keep": "kept"}


def actions_text(actions: pd.DataFrame) -> str:
    """The actions as a Markdown list a room can read: the day, what was done to which version, and why."""
    return "\n".join(f"- **Day {a.day:.0f} · {ACTION_NAMES.get(a.action, a.action)} (version {a.version:.0f})**: "
                     f"{a.reason}" for a in actions.itertuples())


def losses_since(run: Run, start_day: float) -> float:
    """Fraud losses of the weeks that hold ``start_day`` or come after it."""
    weekly = weekly_losses(run.weekly, run.days)
    return float(weekly.loc[weekly["start_day"] + weekly["days"] > start_day, "losses_usd"].sum())


def recall_since(run: Run, start_day: float) -> float:
    """Share of the frauds caught in the weeks that start on or after ``start_day``."""
    weeks = run.weekly[run.weekly["start_day"] >= start_day]
    frauds = weeks["frauds"].sum()
    return float((weeks["recall"].fillna(0) * weeks["frauds"]).sum() / frauds) if frauds else math.nan


def comparison(before: Run, after: Run, start_day: float) -> pd.DataFrame:
    """The two runs side by side, one row per measure: measure, without (monitoring), with, and the unit."""
    without, with_ = first_response(before, start_day), first_response(after, start_day)
    rows = [
        ("fraud losses while live", before.fraud_losses_usd, after.fraud_losses_usd, "USD"),
        ("fraud losses from the week of the shift", losses_since(before, start_day), losses_since(after, start_day),
         "USD"),
        ("fraud caught after the shift", recall_since(before, start_day), recall_since(after, start_day), "share"),
        ("days from the shift to the first alert", without["alert_lag_days"], with_["alert_lag_days"], "days"),
        ("days from the shift to a new model in service", without["change_lag_days"], with_["change_lag_days"],
         "days"),
        ("fraud losses at the ceiling (the same actions, every label known)", math.nan,
         after.fraud_losses_usd_ceiling, "USD"),
        ("alerts", len(before.alerts), len(after.alerts), "count"),
        ("alerts reviewed by investigators", before.reviewed_alerts, after.reviewed_alerts, "count"),
        ("rollbacks", before.rollbacks, after.rollbacks, "count"),
        ("models retrained", before.retrains, after.retrains, "count"),
        ("promotions", before.promotions, after.promotions, "count"),
    ]
    return pd.DataFrame(rows, columns=["measure", "without", "with", "unit"]).astype(
        {"without": float, "with": float})
