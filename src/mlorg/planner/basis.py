"""What a run's money and time rest on: each class of model with its value and where that value comes from, and
the other inputs that move value, cost and time, each with its source, a measurement, or marked as an assumption
for the leader to replace with their own."""

from __future__ import annotations

from typing import Any

import pandas as pd

from mlorg import formatting
from mlorg.planner.sweep_forms import field_value
from mlorg.scenario import DRIFT_CAUSES, ModelClass, Scenario, field_label

ASSUMPTION = "assumption: replace it with your own"
SET_IN_SCENARIO = "set in this scenario (its file says why)"

# What each input is called here, and where its default comes from. A scenario that sets its own value is its own
# source.
DEFAULT_BASIS: dict[str, tuple[str, str]] = {
    "org.ramp_up_days": ("Days a new hire takes to reach full pace",
                         "Oxford Economics 2014, The Cost of Brain Drain: 28 weeks to full productivity"),
    "org.ramp_up_start": ("A new hire's pace on day one", ASSUMPTION),
    "lifecycle.pipeline_hours_per_model_week": ("ML-engineer pipeline hours per live model a week", ASSUMPTION),
    "lifecycle.support_hours_per_data_scientist_week": ("ML-engineer hours helping each data scientist a week",
                                                        ASSUMPTION),
    "platform.support_hours_per_person_week": (
        "Platform hours supporting each practitioner a week",
        "within Spotify 2019 (≈ 45 platform engineers for > 600 practitioners, ≈ 2.4 h a practitioner-week in "
        "all); the split is an assumption"),
    "platform.upkeep_hours_per_model_week": ("Platform upkeep hours per live model a week", ASSUMPTION),
    "platform.roadmap_items_per_year": ("Platform roadmap items a year (up to 100 live models)", ASSUMPTION),
    "platform.roadmap_item_hours": ("Hours per roadmap item", ASSUMPTION),
    "platform.roadmap_effort_gain": ("Share of the remaining effort saving one roadmap item wins", ASSUMPTION),
    "platform.roadmap_toil_gain": ("Share of the remaining toil saving one roadmap item wins", ASSUMPTION),
    "platform.roadmap_drift_gain": ("Share of the remaining cut in breaks one roadmap item wins", ASSUMPTION),
    "incidents.oncall_rotation_days": ("Days a person is on call before the next",
                                       "a week-long rota, the common practice (Google SRE book, ch. 11)"),
    "incidents.fresh_labels_days": ("Least days of post-drift data an urgent retrain trains on", ASSUMPTION),
    "incidents.recovery.interim.concept": (
        "Share of a drift's cost a threshold or rule wins back",
        "measured on the reference pipeline (mlorg calibrate): a doubled alert share after the fraud-pattern shift "
        "won back a sixth of the recall lost"),
    "incidents.recovery.retrain.concept": (
        "Share of a drift's cost a retrain on enough labels wins back",
        "a model trained on the new world fits it; with fewer labels it wins less (each class's labels for half)"),
}
# The infrastructure bill's quantities, listed when a scenario prices it (its prices have sources in data/).
INFRA_BASIS: dict[str, tuple[str, str]] = {
    "infra.training_hours": ("Instance-hours to train a new model, experiments included", ASSUMPTION),
    "infra.retraining_hours": ("Instance-hours to retrain a version", ASSUMPTION),
    "infra.feature_pipelines_per_model": ("Feature pipelines a live model reads from", ASSUMPTION),
    "infra.batch_vcpu_hours_per_pipeline_day": ("vCPU-hours a batch feature pipeline computes a day", ASSUMPTION),
    "infra.streaming_vcpus_per_pipeline": ("vCPUs a real-time model's streaming pipeline keeps busy", ASSUMPTION),
    "infra.feature_store_reuse_share": ("Share of a model's features a shared feature store already computes",
                                        ASSUMPTION),
    "infra.feature_gb_per_pipeline": ("GB of stored features per pipeline", ASSUMPTION),
    "infra.artifact_mb": ("MB kept for every trained version", ASSUMPTION),
    "infra.prediction_log_bytes": ("Bytes per logged prediction", ASSUMPTION),
    "infra.prediction_log_days": ("Days logged predictions are kept", ASSUMPTION),
    "infra.monitoring_vcpu_seconds_per_check": ("vCPU-seconds per monitor check", ASSUMPTION),
}


def portfolio_frame(scenario: Scenario) -> pd.DataFrame:
    """One row per class of model: its share of new models, how it serves, its traffic and value (means), what
    governance it passes, and where its value comes from."""
    rows = []
    for c in scenario.model_classes():
        rows.append({
            "class": c.name, "share of new models": f"{c.share:.0%}",
            "serving": "by the [serving] shares" if c.serving_mode == "any" else c.serving_mode,
            "predictions a day": formatting.value(c.predictions_per_day.mean, "count"),
            "value a day when healthy": formatting.value(c.value_per_day_usd.mean, "usd"),
            "labels": _labels_text(c), "governance": governance_text(c),
            "where the value comes from": c.value_source or ASSUMPTION})
    return pd.DataFrame(rows)


def governance_text(c: ModelClass) -> str:
    g, steps = c.governance, []
    if g.validation_failure_share > 0:
        steps.append(f"{g.validation_failure_share:.0%} fail validation")
    if g.risk_review:
        steps.append("model-risk review")
    if g.shadow_days > 0:
        steps.append(f"{formatting.days(g.shadow_days)} in shadow")
    if g.ab_test_days > 0:
        steps.append(f"{formatting.days(g.ab_test_days)} A/B test, {g.ab_loss_share:.0%} lose it")
    return ", ".join(steps) or "none"


def _labels_text(c: ModelClass) -> str:
    slow = f"after {formatting.days(c.label_delay_days)}"
    if c.reviewed_share > 0:
        return f"{c.reviewed_share:.0%} reviewed within {formatting.days(c.reviewed_delay_days)}, the rest {slow}"
    return slow


def assumption_frame(scenario: Scenario) -> pd.DataFrame:
    """The inputs besides the classes' values that move value, cost and time: their value in this scenario and
    what it rests on (a source, a measurement, this scenario's own figure, or an assumption)."""
    default = Scenario()
    rows = []
    basis_of = {**DEFAULT_BASIS, **(INFRA_BASIS if scenario.infra.enabled else {})}
    for path, (label, basis) in basis_of.items():
        value = field_value(scenario, path)
        rows.append({"input": label, "value": _text(value),
                     "rests on": basis if value == field_value(default, path) else SET_IN_SCENARIO, "field": path})
    blank = ModelClass()
    for c in scenario.model_classes():
        where = f"portfolio[{c.name}]"
        rows.append({"input": f"{c.name}: post-drift positive labels for a retrain to win back half",
                     "value": _text(c.retrain_half_labels), "field": f"{where}.retrain_half_labels",
                     "rests on": ASSUMPTION if c.retrain_half_labels == blank.retrain_half_labels else SET_IN_SCENARIO})
        losses = {cause: getattr(c.value_loss, cause) for cause in DRIFT_CAUSES}
        own = {cause for cause in DRIFT_CAUSES if losses[cause] != getattr(blank.value_loss, cause)}
        basis = ("each cause's [drift] performance_loss" if not scenario.portfolio else
                 ASSUMPTION if not own else f"{', '.join(sorted(own))} set in this scenario; the rest an assumption")
        rows.append({"input": f"{c.name}: share of its value each cause costs",
                     "value": ", ".join(f"{cause.replace('_', ' ')} {share:.0%}" for cause, share in losses.items()),
                     "rests on": basis, "field": f"{where}.value_loss"})
    # The inputs the scenario marks uncertain, with the range their draws span (mlorg run --uncertainty).
    listed = {row["field"]: row for row in rows}
    for u in scenario.uncertain:
        row = listed.get(u.path)
        if row is None:
            row = {"input": field_label(u.path), "value": _text(field_value(scenario, u.path)),
                   "rests on": SET_IN_SCENARIO, "field": u.path}
            rows.append(row)
        row["uncertain"] = u.describe()
    return pd.DataFrame([{"uncertain": "", **row} for row in rows],
                        columns=["input", "value", "uncertain", "rests on", "field"])


def _text(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
