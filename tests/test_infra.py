"""The infrastructure bill besides serving: each line against a hand computation from the run's own records, the
feature store's cut, the bill's place in the total, and the price lists' sources and dates."""

from __future__ import annotations

import csv
import dataclasses
import math
import re
from pathlib import Path

import pytest

from mlorg.results import simulate
from mlorg.scenario import Capabilities, Capability, Infra, ScenarioError, load, validate
from mlorg.serving.instances import INSTANCES_CSV, PRICES_CSV, load_instances, load_prices
from mlorg.sim.entities import HOURS_PER_MONTH

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
PRICE = {i.name: i for i in load_instances()}
NOTHING = Infra(enabled=True, training_hours=0.0, retraining_hours=0.0, feature_pipelines_per_model=0.0,
                artifact_mb=0.0, prediction_log_bytes=0.0, monitoring_vcpu_seconds_per_check=0.0)
LINES = ("infra_training_usd", "infra_features_usd", "infra_storage_usd", "infra_monitoring_usd")


def platform(infra: Infra, **changes):
    return load(SCENARIOS / "platform_team.toml").replace(infra=infra, **changes)


def bill(scenario, seed: int = 3):
    run = simulate(scenario, seed)
    return run, run.metrics


def test_training_is_every_new_model_and_every_retrain_at_its_instance_price():
    scenario = platform(dataclasses.replace(NOTHING, training_hours=5.0, retraining_hours=2.0))
    run, m = bill(scenario)
    retrains = run.events["event"].isin(["retrained", "urgent_retrain"]).sum()
    assert retrains > 0
    assert m["infra_training_usd"] == pytest.approx(
        (5.0 * m["models_trained"] + 2.0 * retrains) * PRICE["m6i.xlarge"].usd_per_hour, rel=1e-12)
    assert m["infra_features_usd"] == m["infra_storage_usd"] == m["infra_monitoring_usd"] == 0.0
    assert m["infra_cost_usd"] == pytest.approx(sum(m[line] for line in LINES))


def test_a_class_that_trains_on_a_gpu_pays_the_gpus_price():
    base = platform(dataclasses.replace(NOTHING, training_hours=5.0))
    gpu_class = dataclasses.replace(base.portfolio[0], training_instance="g5.xlarge", training_hours=10.0)
    run, m = bill(base.replace(portfolio=(gpu_class, *base.portfolio[1:])))
    trained = run.models["model_class"].value_counts()
    name = base.portfolio[0].name
    expected = (trained[name] * 10.0 * PRICE["g5.xlarge"].usd_per_hour
                + (trained.sum() - trained[name]) * 5.0 * PRICE["m6i.xlarge"].usd_per_hour)
    assert m["infra_training_usd"] == pytest.approx(expected, rel=1e-12)


def test_batch_features_follow_live_model_hours_and_a_feature_store_cuts_them_from_the_hour_it_is_built():
    infra = dataclasses.replace(NOTHING, feature_pipelines_per_model=2.0, batch_vcpu_hours_per_pipeline_day=12.0,
                                streaming_vcpus_per_pipeline=0.0)
    vcpu_hour = PRICE["c6i.xlarge"].usd_per_hour / PRICE["c6i.xlarge"].vcpu
    run, m = bill(platform(infra))
    live_hours = run.extras["live_model_years"] * 8760.0
    # platform_team builds its feature store during the run; before that, a model pays for all its features.
    built = run.events.loc[(run.events["event"] == "capability_built") & (run.events["detail"] == "feature_pipelines"),
                           "time_hours"]
    assert len(built) == 1
    assert m["infra_features_usd"] < 2.0 * 12.0 / 24.0 * live_hours * vcpu_hour
    # A store built from day 0 halves the whole line (reuse 0.5); none built leaves it whole.
    scenario = platform(infra)
    from_day_0 = scenario.replace(platform=dataclasses.replace(scenario.platform, capabilities=dataclasses.replace(
        scenario.platform.capabilities, feature_pipelines=Capability(built=True))))
    never = scenario.replace(platform=dataclasses.replace(scenario.platform, build_order=(),
                                                          capabilities=Capabilities()))
    for variant, share in ((from_day_0, 0.5), (never, 1.0)):
        variant_run, v = bill(variant)
        hours = variant_run.extras["live_model_years"] * 8760.0
        assert v["infra_features_usd"] == pytest.approx(share * 2.0 * 12.0 / 24.0 * hours * vcpu_hour, rel=1e-9)


def test_streaming_pipelines_run_only_for_real_time_models():
    infra = dataclasses.replace(NOTHING, feature_pipelines_per_model=1.0, batch_vcpu_hours_per_pipeline_day=0.0,
                                streaming_vcpus_per_pipeline=1.0, feature_store_reuse_share=0.0)
    run, m = bill(platform(infra))
    models = run.models
    horizon = run.scenario.horizon_days
    live = models[models["live_day"].notna()]
    days = (live["retired_day"].fillna(horizon) - live["live_day"])
    realtime_hours = 24.0 * days[live["serving_mode"] == "realtime"].sum()
    assert 0 < realtime_hours < 24.0 * days.sum()
    vcpu_hour = PRICE["c6i.xlarge"].usd_per_hour / PRICE["c6i.xlarge"].vcpu
    assert m["infra_features_usd"] == pytest.approx(realtime_hours * vcpu_hour, rel=1e-6)


def test_storage_keeps_every_version_to_the_end_and_every_prediction_for_its_retention():
    gb_month = load_prices()["object_storage"].usd
    run, m = bill(platform(dataclasses.replace(NOTHING, artifact_mb=1000.0)))
    retrains = run.events.loc[run.events["event"].isin(["retrained", "urgent_retrain"])]
    horizon_hours = run.scenario.horizon_days * 24.0
    trained_hours = run.models["trained_day"] * 24.0
    gb_months = ((horizon_hours - trained_hours).sum() + sum(
        horizon_hours - trained_hours[run.models["model_id"] == model].iloc[0] for model in retrains["model_id"]))
    assert m["infra_storage_usd"] == pytest.approx(gb_months / HOURS_PER_MONTH * gb_month, rel=1e-9)

    _, logs = bill(platform(dataclasses.replace(NOTHING, prediction_log_bytes=1e6, prediction_log_days=304.375)))
    # A million bytes a prediction kept ten months: 1/100 GB-month per prediction served.
    assert logs["infra_storage_usd"] == pytest.approx(logs["predictions_served"] / 100 * gb_month, rel=1e-9)


def test_monitoring_is_every_check_on_every_monitored_model():
    scenario = load(SCENARIOS / "fraud_drift_feature_monitoring.toml")
    scenario = scenario.replace(infra=dataclasses.replace(NOTHING, monitoring_vcpu_seconds_per_check=3600.0))
    run, m = bill(scenario)
    checks_per_hour = sum(1.0 / mon.cadence_hours for mon in (
        scenario.monitoring.features, scenario.monitoring.predictions, scenario.monitoring.performance) if mon.enabled)
    vcpu_hour = PRICE["c6i.xlarge"].usd_per_hour / PRICE["c6i.xlarge"].vcpu
    monitored_hours = run.extras["monitored_model_months"] * HOURS_PER_MONTH
    assert monitored_hours > 0
    assert m["infra_monitoring_usd"] == pytest.approx(monitored_hours * checks_per_hour * vcpu_hour, rel=1e-12)


def test_the_bill_is_in_the_total_and_leaves_the_organisation_untouched():
    off = load(SCENARIOS / "platform_team.toml").replace(infra=Infra(enabled=False))
    on = off.replace(infra=Infra(enabled=True))
    a, b = simulate(off, 2), simulate(on, 2)
    assert a.events.equals(b.events) and a.models.equals(b.models)
    assert math.isnan(a.metrics["infra_cost_usd"]) and b.metrics["infra_cost_usd"] > 0
    assert b.metrics["total_cost_usd"] == pytest.approx(a.metrics["total_cost_usd"] + b.metrics["infra_cost_usd"])
    assert b.metrics["net_value_usd"] == pytest.approx(a.metrics["net_value_usd"] - b.metrics["infra_cost_usd"])
    for name, value in a.metrics.items():
        if not name.startswith("infra_") and name not in ("total_cost_usd", "net_value_usd"):
            assert value == b.metrics[name] or (math.isnan(value) and math.isnan(b.metrics[name])), name


@pytest.mark.parametrize(("field", "value"), [("training_instance", "m6i.xlarg"), ("feature_instance", "nope")])
def test_an_unknown_instance_is_refused_naming_the_field(field, value):
    with pytest.raises(ScenarioError, match=rf"infra\.{field}: \"{re.escape(value)}\" is not allowed; must be one of"):
        validate(platform(dataclasses.replace(Infra(enabled=True), **{field: value})))


def test_every_shipped_price_has_a_source_and_a_date():
    for path in (INSTANCES_CSV, PRICES_CSV):
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        assert rows
        for row in rows:
            assert row["source"].strip(), row
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", row["as_of"]), row
