"""Tidy results: frames from one run, metrics as pure functions of them, replications with 95% intervals.

``simulate(scenario, seed)`` runs once and returns a :class:`RunResult` of DataFrames;
``replicate(scenario, n, seed)`` runs n replications (replication r uses the same named random streams
in every scenario, so two scenarios compared at one seed share their random draws) and summarises each
metric as a mean with a Student-t 95% confidence interval.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from mlorg import budget
from mlorg.metric_table import METRICS, TIME_ACTIVITIES
from mlorg.scenario import DRIFT_CAUSES, ROLES, Scenario, validate
from mlorg.sim import HOURS_PER_DAY, HOURS_PER_WEEK, HOURS_PER_YEAR, SimOutput, run_once
from mlorg.sim.infra import LINES as INFRA_LINES
from mlorg.sim.infra import infra_bill

INCIDENT_COLUMNS = ["model_id", "cause", "onset_day", "detected_day", "detected_by", "mitigated_day", "mitigation",
                    "restored_day", "restored_by", "recovered", "ended_day", "ended_by", "full_loss_usd_per_day",
                    "loss_usd"]
EVENT_COLUMNS = ["time_hours", "event", "model_id", "worker_id", "detail"]
MODEL_TIMES = ("trained", "live", "serving", "abandoned", "rejected", "retired")  # *_at in hours, *_day in days


@dataclass(frozen=True)
class RunResult:
    """One replication as tidy frames, plus the figures that need the raw run."""

    scenario: Scenario
    seed: int
    replication: int
    events: pd.DataFrame  # one row per event: time_hours, event, model_id, worker_id, detail
    models: pd.DataFrame  # one row per trained model
    timeseries: pd.DataFrame  # one row per simulated week, levels at the start of the week
    time_use: pd.DataFrame  # one row per role × activity: hours and share of the role's time
    level_means: dict[str, float]  # time-weighted means of each level over the whole run
    level_ends: dict[str, float]  # value of each level at the end of the run
    extras: dict[str, float]  # staff cost, unmet toil, live model-years, event count
    # One row per degradation of a live model (empty when the scenario does not simulate drift).
    incidents: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=INCIDENT_COLUMNS))

    @property
    def metrics(self) -> dict[str, float]:
        return metrics(self)


def simulate(scenario: Scenario, seed: int = 0, replication: int = 0) -> RunResult:
    """Run one replication and return it as tidy frames (raises ScenarioError for invalid input)."""
    return to_frames(run_once(validate(scenario), seed, replication))


def to_frames(out: SimOutput) -> RunResult:
    horizon = out.horizon
    events = pd.DataFrame(dict(zip(EVENT_COLUMNS, out.events.columns(), strict=True)))
    models = _models_frame(out)
    weeks = np.arange(0.0, horizon, HOURS_PER_WEEK)
    series = {"day": weeks / HOURS_PER_DAY}
    for name, level in out.levels.items():
        series[name] = level.at(weeks)
    for column, event_times in (("trained_cum", models["trained_day"]), ("shipped_cum", models["live_day"]),
                                ("abandoned_cum", models["abandoned_day"])):
        times = np.sort(event_times.dropna().to_numpy()) * HOURS_PER_DAY
        series[column] = np.searchsorted(times, weeks, side="right")
    timeseries = pd.DataFrame(series)
    time_use = _time_use_frame(out)
    level_means = {name: level.mean(0.0, horizon) for name, level in out.levels.items()}
    level_ends = {name: level.value for name, level in out.levels.items()}
    staff_cost = sum(out.levels[f"headcount_{role}"].integral(0.0, horizon) / HOURS_PER_YEAR
                     * getattr(out.scenario.costs, role) for role in ROLES)
    extras = {
        "staff_cost_usd": staff_cost,
        "toil_unmet_hours": out.toil_unmet_hours,
        "live_model_years": out.levels["models_live"].integral(0.0, horizon) / HOURS_PER_YEAR,
        "deploys": float(out.deploys),
        "event_count": float(out.event_count),
    }
    if out.serving is not None:
        totals = list(out.serving.values())
        extras["serving_cost_usd"] = sum(t.cost_usd for t in totals)
        extras["serving_floor_cost_usd"] = out.serving["realtime"].floor_cost_usd
        extras["predictions_served"] = sum(t.predictions for t in totals)
        extras["realtime_hours"] = out.serving["realtime"].hours
        extras["realtime_hours_meeting_slo"] = out.serving["realtime"].hours_meeting_slo
        extras["edge_stale_device_days"] = out.edge_stale_device_days
    if out.scenario.infra.enabled:
        extras.update({f"infra_{line}_usd": usd for line, usd in infra_bill(out).by_line().items()})
    incidents = _incidents_frame(out)
    if out.incidents is not None:
        extras["drift_prevented"] = float(sum(out.drift_prevented.values()))
        extras.update({f"drift_prevented_{cause}": float(n) for cause, n in out.drift_prevented.items()})
        extras["false_alarms"] = float(out.false_alarms)
        extras["monitored_model_months"] = out.monitored_model_months
    return RunResult(out.scenario, out.seed, out.replication, events, models, timeseries, time_use,
                     level_means, level_ends, extras, incidents)


def _incidents_frame(out: SimOutput) -> pd.DataFrame:
    rows = [(i.model.id, i.cause, i.onset / HOURS_PER_DAY, i.detected_at / HOURS_PER_DAY, i.detected_by or None,
             i.mitigated_at / HOURS_PER_DAY, i.mitigation or None, i.restored_at / HOURS_PER_DAY,
             i.restored_by or None, i.recovered, i.ended_at / HOURS_PER_DAY, i.ended_by,
             i.loss_per_hour * HOURS_PER_DAY, i.loss_usd)
            for i in out.incidents or ()]
    return pd.DataFrame.from_records(rows, columns=INCIDENT_COLUMNS)


def _models_frame(out: SimOutput) -> pd.DataFrame:
    rows = [(m.id, m.traits.model_class.name, m.trained_at, m.trained_by, m.live_at, m.serving_at, m.abandoned_at,
             m.rejected_at,
             m.rejected_by or None, m.retired_at, m.versions_live, m.serving_mode, m.serving_level, m.serving_cost,
             m.predictions, m.traits.predictions_per_day, m.traits.value_per_hour * HOURS_PER_DAY, m.value_usd)
            for m in out.models]
    frame = pd.DataFrame.from_records(rows, columns=[
        "model_id", "model_class", "trained_at", "trained_by", "live_at", "serving_at", "abandoned_at", "rejected_at",
        "rejected_by",
        "retired_at", "versions_live", "serving_mode", "serving_level", "serving_cost_usd", "predictions",
        "predictions_per_day", "value_per_day_usd", "value_usd"])
    # Times in hours become days at the end, in one block: popping and adding columns one by one copied the frame
    # each time, which was most of the cost of a small run's frames.
    hours = [f"{column}_at" for column in MODEL_TIMES]
    days = frame[hours] / HOURS_PER_DAY
    days.columns = [f"{column}_day" for column in MODEL_TIMES]
    derived = pd.DataFrame({
        "ttp_days": days["live_day"] - days["trained_day"],
        "deploy_days": days["serving_day"] - days["trained_day"],
        "status_end": np.select([days["retired_day"].notna(), days["live_day"].notna(), days["abandoned_day"].notna(),
                                 days["rejected_day"].notna()], ["retired", "live", "abandoned", "rejected"],
                                default="waiting")}, index=frame.index)
    return pd.concat([frame.drop(columns=hours), days, derived], axis=1)


def _time_use_frame(out: SimOutput) -> pd.DataFrame:
    rows = []
    for role in ROLES:
        total = sum(out.role_hours[role].values())
        for activity in TIME_ACTIVITIES:
            hours = out.role_hours[role][activity]
            rows.append((role, activity, hours, hours / total if total > 0 else math.nan))
    return pd.DataFrame.from_records(rows, columns=["role", "activity", "hours", "share"])


# ---------------------------------------------------------------------------------------------- metrics

def metrics(run: RunResult) -> dict[str, float]:
    """The headline figures of one run, all derived from its frames."""
    models = run.models
    shipped = models["ttp_days"].dropna()
    trained = len(models)
    status = models["status_end"].value_counts()
    live_years = run.extras["live_model_years"]
    out = {
        "ttp_days_median": float(shipped.median()) if len(shipped) else math.nan,
        "ttp_days_p90": float(shipped.quantile(0.9)) if len(shipped) else math.nan,
        "ttp_days_mean": float(shipped.mean()) if len(shipped) else math.nan,
        "models_trained": float(trained),
        "models_shipped": float(len(shipped)),
        # Of the models whose fate is known: those still on their way at the end (the backlog, a review, an A/B
        # test) may yet ship or not, so counting them as not shipped would understate the share.
        "ship_share": len(shipped) / decided if (decided := len(shipped) + int(status.get("abandoned", 0))
                                                 + int(status.get("rejected", 0))) else math.nan,
        "deploy_days_median": float(deployed.median()) if len(deployed := models["deploy_days"].dropna())
        else math.nan,
        "models_live_end": float(status.get("live", 0)),
        "models_live_mean": run.level_means["models_live"],
        "backlog_end": float(status.get("waiting", 0)),
        "backlog_mean": run.level_means["backlog"],
        "models_abandoned": float(status.get("abandoned", 0)),
        "models_rejected": float(status.get("rejected", 0)),
        "versions_deployed": float(models["versions_live"].sum() - len(shipped)),
        "deploys_per_model_year": run.extras["deploys"] / live_years if live_years > 0 else math.nan,
        "version_deploys_per_model_year": (run.extras["deploys"] - len(shipped)) / live_years
        if live_years > 0 else math.nan,
        "capabilities_built_end": run.level_ends["capabilities_built"],
        "headcount_end": sum(run.level_ends[f"headcount_{role}"] for role in ROLES),
        "staff_cost_usd": run.extras["staff_cost_usd"],
        "toil_unmet_hours": run.extras["toil_unmet_hours"],
        **serving_metrics(run.extras),
        **infra_metrics(run.extras),
        **drift_metrics(run.incidents, run.extras),
        "degraded_days_per_model_year": math.nan,
        "value_delivered_usd": float(models["value_usd"].sum()),
    }
    # What the organisation pays and what it loses; net value is what its models were worth, less that.
    out["total_cost_usd"] = sum(0.0 if math.isnan(out[name]) else out[name]
                                for name in ("staff_cost_usd", "serving_cost_usd", "infra_cost_usd",
                                             "business_loss_usd"))
    out["net_value_usd"] = out["value_delivered_usd"] - out["total_cost_usd"]
    if not math.isnan(out["degraded_model_days"]) and live_years > 0:
        out["degraded_days_per_model_year"] = out["degraded_model_days"] / live_years
    shares = run.time_use.set_index(["role", "activity"])["share"]
    for role in ROLES:
        for activity in TIME_ACTIVITIES:
            out[f"time_share_{role}_{activity}"] = float(shares[(role, activity)])
    return out


def infra_metrics(extras: dict[str, float]) -> dict[str, float]:
    """The infrastructure bill besides serving, by line and in all; NaN when the scenario does not price it."""
    lines = {f"infra_{line}_usd": extras.get(f"infra_{line}_usd", math.nan) for line in INFRA_LINES}
    return {"infra_cost_usd": sum(lines.values()), **lines}


def serving_metrics(extras: dict[str, float]) -> dict[str, float]:
    """Serving figures; NaN (JSON null) when the scenario does not model serving."""
    if "serving_cost_usd" not in extras:
        return dict.fromkeys(("serving_cost_usd", "cost_per_1k_predictions_usd", "slo_attainment",
                              "serving_floor_share", "predictions_served", "edge_stale_device_days"), math.nan)
    cost, predictions = extras["serving_cost_usd"], extras["predictions_served"]
    hours = extras["realtime_hours"]
    return {"serving_cost_usd": cost,
            "cost_per_1k_predictions_usd": 1000.0 * cost / predictions if predictions > 0 else math.nan,
            "slo_attainment": extras["realtime_hours_meeting_slo"] / hours if hours > 0 else math.nan,
            "serving_floor_share": extras["serving_floor_cost_usd"] / cost if cost > 0 else math.nan,
            "predictions_served": predictions, "edge_stale_device_days": extras["edge_stale_device_days"]}


def drift_metrics(incidents: pd.DataFrame, extras: dict[str, float]) -> dict[str, float]:
    """Drift and incident figures; NaN (JSON null) when the scenario does not simulate drift. Times to mitigate and
    to restore count from the onset of a degradation, so they include its detection."""
    names = ["drift_events", "drift_prevented", "incidents", *(f"incidents_{c}" for c in DRIFT_CAUSES),
             "detection_lag_hours_median", "mttd_hours", "time_to_mitigate_hours", "mttr_hours", "restored_share",
             "degraded_model_days", "business_loss_usd", "false_alarms_per_model_month"]
    if "drift_prevented" not in extras:
        return dict.fromkeys(names, math.nan)
    detected = incidents[incidents["detected_day"].notna()]
    lags = (detected["detected_day"] - detected["onset_day"]) * HOURS_PER_DAY
    mitigate = ((detected["mitigated_day"] - detected["onset_day"]) * HOURS_PER_DAY).dropna()
    restore = ((detected["restored_day"] - detected["onset_day"]) * HOURS_PER_DAY).dropna()
    # Time to restore per cause, weighted by how often each cause arrives (stopped by a capability or not): a
    # capability that stops the quickly restored breaks does not make restoring look slower.
    per_cause = restore.groupby(detected.loc[restore.index, "cause"]).mean()
    arrivals = incidents["cause"].value_counts()
    weights = pd.Series({c: arrivals.get(c, 0) + extras.get(f"drift_prevented_{c}", 0.0) for c in per_cause.index},
                        dtype=float)
    counts = detected["cause"].value_counts()
    months = extras["monitored_model_months"]
    # Degraded from onset until restored, or until the degradation ended another way (a new version, retirement,
    # the end of the run).
    degraded_until = incidents["restored_day"].fillna(incidents["ended_day"])
    return {
        "drift_events": float(len(incidents)) + extras["drift_prevented"],
        "drift_prevented": extras["drift_prevented"],
        "incidents": float(len(detected)),
        **{f"incidents_{c}": float(counts.get(c, 0)) for c in DRIFT_CAUSES},
        "detection_lag_hours_median": float(lags.median()) if len(lags) else math.nan,
        "mttd_hours": float(lags.mean()) if len(lags) else math.nan,
        "time_to_mitigate_hours": float(mitigate.mean()) if len(mitigate) else math.nan,
        "mttr_hours": float((per_cause * weights).sum() / weights.sum()) if len(restore) else math.nan,
        "restored_share": len(restore) / len(detected) if len(detected) else math.nan,
        "degraded_model_days": float((degraded_until - incidents["onset_day"]).sum()),
        "business_loss_usd": float(incidents["loss_usd"].sum()),
        "false_alarms_per_model_month": extras["false_alarms"] / months if months > 0 else math.nan,
    }


# ------------------------------------------------------------------------------------------ replication

@dataclass(frozen=True)
class Replications:
    """n replications of one scenario: per-replication metrics and their summary."""

    scenario: Scenario
    seed: int
    per_replication: pd.DataFrame  # one row per replication, one column per metric
    runs: tuple[RunResult, ...]

    @property
    def summary(self) -> pd.DataFrame:
        rows = [{"metric": name, **metric_interval(name, self.per_replication[name].dropna().to_numpy(dtype=float))}
                for name in self.per_replication.columns]
        return pd.DataFrame(rows).set_index("metric")

    @property
    def n(self) -> int:
        return len(self.per_replication)


def replicate(scenario: Scenario, n: int, seed: int = 0, *,
              progress: Callable[[int, int], None] | None = None, keep_runs: bool = True,
              allow_large: bool = False, workers: int = 1, keep_events: bool = True) -> Replications:
    """Run ``n`` independent replications (0 … n-1) of ``scenario`` from one seed; a run over the work budget
    (:mod:`mlorg.budget`) is refused before it starts unless ``allow_large``.

    With ``workers`` > 1 the replications run on a process pool (joblib's loky, reused between calls), off this
    thread and out of this process's memory; the result is the same. ``keep_events=False`` drops each run's
    event log (the largest part of a run, and what a pool would otherwise send back)."""
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_REPLICATIONS:
        raise ValueError(f"replications: {n!r} is not allowed; must be an integer >= 1 and <= {MAX_REPLICATIONS}")
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ValueError(f"workers: {workers!r} is not allowed; must be an integer >= 1")
    scenario = validate(scenario)
    budget.check(scenario, n, allow_large=allow_large)
    if workers > 1 and n > 1:
        from joblib import Parallel, delayed  # only a pool needs it

        # The pool's size is what is asked, not min(workers, n): the sweeps share loky's one reusable pool, which
        # would otherwise be resized under them.
        parallel = Parallel(n_jobs=workers, backend="loky", return_as="generator")
        produced = parallel(delayed(_replication)(scenario, seed, r, keep_events) for r in range(n))
    else:
        produced = (_replication(scenario, seed, r, keep_events) for r in range(n))
    runs, rows = [], []
    try:
        for r, run in enumerate(produced):
            rows.append({"replication": r, **run.metrics})
            if keep_runs:
                runs.append(run)
            if progress is not None:
                progress(r + 1, n)
    finally:
        close = getattr(produced, "close", None)
        if close is not None:
            close()  # a caller that stops through progress leaves no replication running
    per_replication = pd.DataFrame(rows).set_index("replication")
    return Replications(scenario, seed, per_replication, tuple(runs))


def _replication(scenario: Scenario, seed: int, r: int, keep_events: bool) -> RunResult:
    run = to_frames(run_once(scenario, seed, r))
    if not keep_events:
        run = dataclasses.replace(run, events=run.events.iloc[:0])
    return run


MAX_REPLICATIONS = 1000


def summarise(per_replication: pd.DataFrame) -> pd.DataFrame:
    """Mean and Student-t 95% interval of each column, over the replications where it is defined."""
    rows = []
    for name in per_replication.columns:
        values = per_replication[name].dropna().to_numpy(dtype=float)
        rows.append({"metric": name, **mean_ci(values)})
    return pd.DataFrame(rows).set_index("metric")


FEW_REPLICATIONS = 5  # an interval from fewer runs than this rests on a poor estimate of the spread: flagged


def metric_interval(name: str, values: np.ndarray) -> dict[str, float]:
    """A run metric's mean and 95% interval. An interval reaching beyond what the metric can be (a cost below 0, a
    share above 1) is clipped to the metric's own range, as the metric table states it; nothing else is clipped."""
    interval = mean_ci(values)
    metric = METRICS.get(name)
    if metric is not None:
        for bound in ("ci95_low", "ci95_high"):
            if math.isfinite(interval[bound]):
                interval[bound] = min(max(interval[bound], metric.lo), metric.hi)
    return interval


def mean_ci(values: np.ndarray, level: float = 0.95) -> dict[str, float]:
    n = len(values)
    if n == 0:
        return {"mean": math.nan, "ci95_low": math.nan, "ci95_high": math.nan, "n": 0}
    mean = float(np.mean(values))
    if n == 1:
        return {"mean": mean, "ci95_low": math.nan, "ci95_high": math.nan, "n": 1}
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * np.std(values, ddof=1) / math.sqrt(n))
    return {"mean": mean, "ci95_low": mean - half, "ci95_high": mean + half, "n": n}


def compare(a: Replications, b: Replications) -> pd.DataFrame:
    """Paired differences b − a per metric, with 95% intervals (valid because replications share streams)."""
    if a.seed != b.seed or a.n != b.n:
        raise ValueError("compare needs replications run with the same seed and count (common random numbers)")
    diff = b.per_replication - a.per_replication
    return summarise(diff)
