"""Every metric a run reports, in one table: its label for people, its kind (how to show it), what it means and
the range its value can take (a confidence interval is clipped to that range and to nothing else).

The command line prints names (``ttp_days_p90``) because scripts read them; the app shows labels ("P90 time to
production") with the name and meaning on hover.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mlorg.scenario import DRIFT_CAUSES, ROLES

TIME_ACTIVITIES = ("research", "productionisation", "retraining", "governance", "toil", "support", "platform",
                   "incident", "idle")
ROLE_TEXT = {"data_scientist": "data scientist", "ml_engineer": "ML engineer", "platform_engineer": "platform engineer"}


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    kind: str  # days, hours, usd, share, rate or count: picks the format (mlorg.formatting.value)
    doc: str
    lo: float = 0.0  # the range the metric's value can take
    hi: float = math.inf


def _table(*metrics: Metric) -> dict[str, Metric]:
    return {m.name: m for m in metrics}


def _share(name: str, label: str, doc: str) -> Metric:
    return Metric(name, label, "share", doc, 0.0, 1.0)


METRICS: dict[str, Metric] = _table(
    Metric("ttp_days_median", "Median time to production", "days",
           "median days from trained to live for every user, governance included, over new models shipped in the run"),
    Metric("ttp_days_p90", "P90 time to production", "days", "90th percentile of time-to-production (days)"),
    Metric("ttp_days_mean", "Mean time to production", "days", "mean time-to-production (days)"),
    Metric("models_trained", "Models trained", "count", "new models trained"),
    Metric("models_shipped", "Models shipped", "count", "new models that went live"),
    _share("ship_share", "Share of trained models shipped",
           "of the trained models whose fate is known at the end (shipped, rejected or abandoned), the share that "
           "went live; those still on their way are left out"),
    Metric("deploy_days_median", "Median time to first serving", "days",
           "median days from trained to first serving real users: the start of its A/B test, or going live "
           "without one (what surveys of time to deploy ask)"),
    Metric("models_live_end", "Models live at end", "count", "models live at the end"),
    Metric("models_live_mean", "Models live (time-weighted mean)", "count", "time-weighted mean of models live"),
    Metric("backlog_end", "Backlog at end", "count", "trained models neither live nor abandoned at the end"),
    Metric("backlog_mean", "Backlog (time-weighted mean)", "count", "time-weighted mean backlog"),
    Metric("models_abandoned", "Models abandoned", "count",
           "trained models dropped after waiting too long (the wall of demos)"),
    Metric("models_rejected", "Models rejected", "count",
           "trained models that failed validation or lost their A/B test, and never shipped"),
    Metric("versions_deployed", "Retrained versions deployed", "count", "retrained versions that went live"),
    Metric("deploys_per_model_year", "Deploys per model-year", "count",
           "deploys (first and later versions) per live model-year"),
    Metric("version_deploys_per_model_year", "Retrained deploys per model-year", "count",
           "retrained versions deployed per live model-year"),
    Metric("capabilities_built_end", "Capabilities in place at end", "count",
           "platform capabilities in place at the end", 0.0, 5.0),
    Metric("headcount_end", "Headcount at end", "count", "people at the end"),
    Metric("staff_cost_usd", "Staff cost", "usd", "fully loaded staff cost over the run"),
    Metric("toil_unmet_hours", "Unmet maintenance", "hours",
           "maintenance, pipeline and upkeep hours nobody had capacity for"),
    Metric("serving_cost_usd", "Serving cost", "usd",
           "cost of serving every live model (replica-hours, batch compute, edge rollouts)"),
    Metric("cost_per_1k_predictions_usd", "Serving cost per 1,000 predictions", "usd",
           "serving cost per thousand predictions"),
    _share("slo_attainment", "Latency SLO met", "share of real-time model-hours whose p99 latency met the SLO"),
    Metric("infra_cost_usd", "Infrastructure cost", "usd",
           "training, feature computation, storage and monitoring compute: the bill besides serving (its lines below)"),
    Metric("infra_training_usd", "Training compute", "usd",
           "instance-hours of every new model's training (experiments included) and every retrain"),
    Metric("infra_features_usd", "Feature computation", "usd",
           "batch and streaming feature pipelines of the live models (a shared feature store cuts it)"),
    Metric("infra_storage_usd", "Storage", "usd",
           "features, every trained version's artifact and the logged predictions, at the object-storage price"),
    Metric("infra_monitoring_usd", "Monitoring compute", "usd", "every check of every monitor on every monitored "
           "live model"),
    _share("serving_floor_share", "Serving bill at the availability floor",
           "share of the serving cost that real-time fleets pay whatever their load: each autoscaled fleet's minimum "
           "replicas (and the whole of a fixed fleet); the rest follows the load"),
    Metric("predictions_served", "Predictions served", "count", "predictions made by live models"),
    Metric("edge_stale_device_days", "Device-days on a superseded version", "count",
           "device-days edge models spent on a superseded version while a new one rolled out"),
    Metric("drift_events", "Drifts and defects", "count",
           "drifts, breaks and bad deploys that reached a live model or were stopped before it"),
    Metric("drift_prevented", "Drifts and defects stopped", "count",
           "of those, stopped by a capability before they reached a model"),
    Metric("incidents", "Incidents", "count", "degradations someone noticed (a monitor or the business)"),
    *(Metric(f"incidents_{cause}", f"Incidents: {cause.replace('_', ' ')}", "count",
             f"incidents caused by {cause.replace('_', ' ')}") for cause in DRIFT_CAUSES),
    Metric("detection_lag_hours_median", "Median detection lag", "hours",
           "median hours from the start of a degradation to its detection"),
    Metric("mttd_hours", "Mean time to detect", "hours",
           "mean time to detect: hours from the start of a degradation to its detection"),
    Metric("time_to_mitigate_hours", "Mean time to mitigate", "hours",
           "hours from the start of a degradation to the first action that won any of its cost back (a rollback, "
           "a hot-fix, a threshold or rule, a retrain)"),
    Metric("mttr_hours", "Mean time to restore", "hours",
           "mean time to restore: hours from the start of a degradation (detection included) until 95% of what it "
           "cost is won back, over the degradations restored; the mean of each cause's, weighted by how often the "
           "cause arrives (stopped by a capability or not), so that stopping quickly restored causes does not make "
           "restoring look slower"),
    _share("restored_share", "Degradations restored", "share of noticed degradations restored before they ended "
           "otherwise (a new version, retirement, the end of the run)"),
    Metric("degraded_model_days", "Degraded model-days", "days",
           "days live models spent degraded (from onset until restored or ended), summed over models"),
    Metric("degraded_days_per_model_year", "Degraded days per model-year", "days",
           "degraded model-days per live model-year: how much of a model's life is spent degraded, whatever the "
           "fleet's size"),
    Metric("business_loss_usd", "Business loss", "usd",
           "the models' own value lost while they were degraded (e.g. fraud let through)"),
    Metric("value_delivered_usd", "Value delivered", "usd",
           "what the live models were worth when healthy, over the days they were live (each model's class value)"),
    Metric("false_alarms_per_model_month", "False alarms per model-month", "rate",
           "false alarms per monitored live model per month"),
    Metric("total_cost_usd", "Total cost", "usd",
           "staff cost + serving cost + infrastructure cost + business loss (a part the scenario does not model counts "
           "as 0)"),
    Metric("net_value_usd", "Net value", "usd",
           "value delivered − staff − serving − infrastructure cost − business loss: what the organisation's models "
           "earn, less "
           "what they cost", lo=-math.inf),
    *(_share(f"time_share_{role}_{activity}", f"{ROLE_TEXT[role].capitalize()} time: {activity}",
             f"share of {ROLE_TEXT[role]} time spent on {activity}")
      for role in ROLES for activity in TIME_ACTIVITIES),
)

METRIC_DOCS: dict[str, str] = {name: m.doc for name, m in METRICS.items()}


def label(name: str) -> str:
    """A metric's label for people; a name the table does not know is shown as it is."""
    return METRICS[name].label if name in METRICS else name


def kind(name: str) -> str:
    """How to show a metric's values (:func:`mlorg.formatting.value`); ``count`` for a name the table lacks."""
    return METRICS[name].kind if name in METRICS else "count"


def option_text(name: str) -> str:
    """A metric in a list people pick from: its label, and its name for those who script."""
    return f"{label(name)} ({name})" if name in METRICS else name
