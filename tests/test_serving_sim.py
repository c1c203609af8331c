"""Serving inside the organisation simulator: cost, predictions and SLO hours of every live model."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlorg.results import compare, mean_ci, replicate, simulate
from mlorg.rng import Streams
from mlorg.scenario import Distribution, ScenarioError, load, validate
from mlorg.serving.fleet import realtime_totals
from mlorg.serving.instances import load_instances
from mlorg.serving.slo import RealtimePolicy, SloTable
from mlorg.serving.traffic import hourly_profile

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
SERVING_METRICS = ["serving_cost_usd", "cost_per_1k_predictions_usd", "slo_attainment", "predictions_served"]


def fraud(**realtime_changes):
    """fraud_drift with one class of models served by the [serving] section's shares and traffic draws, as a
    scenario without a portfolio is (70% real time at ≈ 4 requests a second, 30% batch): these tests check the
    serving mechanics."""
    scenario = load(SCENARIOS / "fraud_drift.toml").replace(portfolio=())
    realtime = dataclasses.replace(scenario.serving.realtime, base_rps=Distribution(dist="lognormal", mean=4.0, cv=1.5))
    scenario = scenario.replace(serving=dataclasses.replace(scenario.serving, realtime_share=0.7, batch_share=0.3,
                                                            realtime=realtime))
    if realtime_changes:
        realtime = dataclasses.replace(scenario.serving.realtime, **realtime_changes)
        scenario = scenario.replace(serving=dataclasses.replace(scenario.serving, realtime=realtime))
    return scenario


def test_each_models_cost_is_its_hours_served_by_the_fleet_rules():
    scenario, seed = fraud(), 4
    run = simulate(scenario, seed)
    realtime = scenario.serving.realtime
    hours = math.ceil(scenario.horizon_days * 24)
    profile = hourly_profile(realtime, hours, Streams(seed, 0).generator("serving/spikes"))
    prefix = np.concatenate([[0.0], np.cumsum(profile)])
    price = {i.name: i for i in load_instances()}[realtime.instance].usd_per_hour
    policy = RealtimePolicy(service_ms=realtime.service_ms, concurrency=realtime.concurrency, usd_per_hour=price,
                            slo_p99_ms=realtime.slo_p99_ms, fixed_replicas=realtime.fixed_replicas,
                            min_replicas=realtime.min_replicas, max_replicas=realtime.max_replicas,
                            target_utilisation=realtime.target_utilisation,
                            reaction_delay_hours=realtime.reaction_delay_hours, service_dist=realtime.service_dist,
                            service_cv=realtime.service_cv)
    table = SloTable(policy)
    served = run.models[run.models["serving_mode"] == "realtime"]
    assert len(served) > 10
    for model in served.itertuples():
        start = math.ceil(model.live_day * 24)
        end = min(math.ceil(model.retired_day * 24), hours) if model.retired_day == model.retired_day else hours
        expected = realtime_totals(model.serving_level, start, end, profile, prefix, policy, table)
        assert model.serving_cost_usd == pytest.approx(expected.cost_usd, rel=1e-12)
        assert model.predictions == pytest.approx(expected.predictions, rel=1e-12)
    # The run's totals are the sum over its models.
    assert run.metrics["serving_cost_usd"] == pytest.approx(run.models["serving_cost_usd"].sum(), rel=1e-12)
    assert run.metrics["predictions_served"] == pytest.approx(run.models["predictions"].sum(), rel=1e-12)


def test_serving_modes_follow_the_shares():
    models = pd.concat([simulate(fraud(), 1, r).models for r in range(5)])
    live = models[models["serving_mode"] != ""]
    share = (live["serving_mode"] == "realtime").mean()
    assert abs(share - 0.7) < 4 * math.sqrt(0.7 * 0.3 / len(live))
    assert set(live["serving_mode"]) == {"realtime", "batch"}


def test_a_class_serves_its_own_traffic_in_its_own_mode():
    # One traffic per model: its class's predictions a day set its realtime requests a second or its batch rows,
    # and the same figure is what its value and its monitors' windows rest on.
    scenario = load(SCENARIOS / "fraud_drift.toml")
    modes = {c.name: c.serving_mode for c in scenario.portfolio}
    models = pd.concat([simulate(scenario, 1, r).models for r in range(3)])
    live = models[models["serving_mode"] != ""]
    assert set(live["model_class"]) == set(modes)
    assert (live["serving_mode"] == live["model_class"].map(modes)).all()
    realtime = live[live["serving_mode"] == "realtime"]
    np.testing.assert_allclose(realtime["serving_level"], realtime["predictions_per_day"] / 86_400, rtol=1e-12)
    batch = live[live["serving_mode"] == "batch"]
    np.testing.assert_allclose(batch["serving_level"], batch["predictions_per_day"], rtol=1e-12)
    # A busier model of a class is worth more: traffic and value come from one draw.
    for _, group in live.groupby("model_class"):
        ranks = group[["predictions_per_day", "value_per_day_usd"]].rank()
        assert (ranks["predictions_per_day"] == ranks["value_per_day_usd"]).all()


def test_a_class_is_served_on_its_own_instance_at_its_own_service_time():
    """fraud_drift's fraud class moved to a GPU instance: its models' replicas are the same, each priced at the GPU's
    rate; a slower service time never costs less; the other classes are untouched."""
    scenario = load(SCENARIOS / "fraud_drift.toml")
    prices = {i.name: i.usd_per_hour for i in load_instances()}

    def with_fraud(**changes):
        return scenario.replace(portfolio=(dataclasses.replace(scenario.portfolio[0], **changes),
                                           *scenario.portfolio[1:]))

    base, gpu = simulate(scenario, 3).models, simulate(with_fraud(instance="g4dn.xlarge"), 3).models
    fraud_class = scenario.portfolio[0].name
    mine = (base["model_class"] == fraud_class) & (base["serving_mode"] == "realtime")
    assert mine.sum() > 3
    np.testing.assert_allclose(gpu.loc[mine, "serving_cost_usd"],
                               base.loc[mine, "serving_cost_usd"] * prices["g4dn.xlarge"] / prices["c6i.xlarge"])
    pd.testing.assert_series_equal(gpu.loc[~mine, "serving_cost_usd"], base.loc[~mine, "serving_cost_usd"])
    slow = simulate(with_fraud(service_ms=2000.0, concurrency=1), 3).models
    assert (slow.loc[mine, "serving_cost_usd"] >= base.loc[mine, "serving_cost_usd"]).all()
    assert (slow.loc[mine, "serving_cost_usd"] > base.loc[mine, "serving_cost_usd"]).any()


def test_a_class_naming_an_unknown_instance_is_refused_naming_the_field():
    scenario = load(SCENARIOS / "fraud_drift.toml")
    bad = scenario.replace(portfolio=(dataclasses.replace(scenario.portfolio[0], instance="g4dn.xlarg"),
                                      *scenario.portfolio[1:]))
    with pytest.raises(ScenarioError, match=r"portfolio\[0\]\.instance: \"g4dn.xlarg\" is not allowed; must be one "
                                            r"of .*\(did you mean 'g4dn.xlarge'\?\)"):
        validate(bad)


def test_serving_draws_leave_the_organisation_untouched():
    # Serving has its own random streams, so turning it on changes no staffing or lifecycle figure.
    with_serving = fraud()
    without = with_serving.replace(serving=dataclasses.replace(with_serving.serving, enabled=False))
    a, b = simulate(with_serving, 2), simulate(without, 2)
    pd.testing.assert_frame_equal(a.events, b.events)
    assert all(math.isnan(b.metrics[name]) for name in SERVING_METRICS)
    assert (b.models["serving_mode"] == "").all()


def test_traffic_growth_raises_the_bill_and_autoscaling_beats_fixed_peak_capacity():
    # Models big enough to scale beyond the two-replica floor (2 × 4 servers of 5 ms carry ≈ 960 requests/s at 60%).
    big = dict(base_rps=dataclasses.replace(fraud().serving.realtime.base_rps, mean=400.0))
    base = replicate(fraud(**big), 10, seed=3, keep_runs=False)
    growth = replicate(fraud(growth_per_month=0.10, **big), 10, seed=3, keep_runs=False)
    assert compare(base, growth).loc["serving_cost_usd", "ci95_low"] > 0
    fixed = replicate(fraud(fixed_replicas=20, **big), 10, seed=3, keep_runs=False)
    assert compare(base, fixed).loc["serving_cost_usd", "ci95_low"] > 0
    assert fixed.summary.loc["slo_attainment", "mean"] >= base.summary.loc["slo_attainment", "mean"]


def test_a_slow_autoscaler_misses_the_slo_in_spikes():
    # Big models, frequent short spikes: sizing each hour for the load of six hours before misses more.
    busy = dict(base_rps=dataclasses.replace(fraud().serving.realtime.base_rps, mean=400.0), spikes_per_month=8.0,
                spike_multiplier=4.0, min_replicas=1, target_utilisation=0.8)
    quick = replicate(fraud(reaction_delay_hours=0, **busy), 5, seed=5, keep_runs=False)
    slow = replicate(fraud(reaction_delay_hours=6, **busy), 5, seed=5, keep_runs=False)
    assert quick.summary.loc["slo_attainment", "mean"] > slow.summary.loc["slo_attainment", "mean"]
    assert slow.summary.loc["slo_attainment", "mean"] < 1.0


def test_batch_jobs_pay_for_their_vcpu_time_with_a_minute_minimum_per_instance():
    scenario = fraud()
    batch = scenario.serving.batch  # c6i.xlarge: 4 vCPU at $0.17/hour
    from mlorg.sim.serving import ServingLedger

    ledger = ServingLedger(scenario, Streams(0), scenario.horizon_days * 24)
    # 2 million rows at 0.5 ms: 0.278 vCPU-hours per job, on one instance well within the deadline.
    assert batch.jobs_per_day == 1 and batch.deadline_hours == 4
    assert ledger.batch_cost_per_day(2e6) == pytest.approx(2e6 * 0.5 / 3.6e6 / 4 * 0.17)
    # 200 million rows: 27.8 vCPU-hours must finish in 4 hours, so 2 instances run 3.47 hours each.
    assert ledger.batch_cost_per_day(2e8) == pytest.approx(2e8 * 0.5 / 3.6e6 / 4 * 0.17)
    # A tiny job still pays a minute of its one instance.
    assert ledger.batch_cost_per_day(10) == pytest.approx(0.17 / 60)


def test_edge_models_pay_a_rollout_per_version_and_lag_while_it_runs():
    scenario = fraud()
    edge = dataclasses.replace(scenario.serving.edge, devices=1000.0, usd_per_device_rollout=0.01, rollout_days=10.0)
    serving = dataclasses.replace(scenario.serving, realtime_share=0.0, batch_share=0.0, edge_share=1.0, edge=edge)
    run = simulate(scenario.replace(serving=serving), 6)
    live = run.models[run.models["serving_mode"] == "edge"]
    assert len(live) > 5
    # Every deployed version (the first and each retrained one) is one rollout of $0.01 to 1,000 devices.
    assert live["serving_cost_usd"].to_numpy() == pytest.approx(live["versions_live"].to_numpy() * 10.0)
    retrained = (live["versions_live"] - 1).sum()
    assert retrained > 0
    assert run.metrics["edge_stale_device_days"] == pytest.approx(retrained * 1000 * 10 / 2)
    assert math.isnan(run.metrics["slo_attainment"])  # no real-time hours to judge


def _uber(traffic: float = 1.0, slo_factor: float = 1.0):
    scenario = load(SCENARIOS / "uber_scale.toml")
    classes = tuple(dataclasses.replace(c, predictions_per_day=dataclasses.replace(
        c.predictions_per_day, mean=c.predictions_per_day.mean * traffic)) for c in scenario.portfolio)
    realtime = dataclasses.replace(scenario.serving.realtime,
                                   slo_p99_ms=scenario.serving.realtime.slo_p99_ms * slo_factor)
    return scenario.replace(portfolio=classes, serving=dataclasses.replace(scenario.serving, realtime=realtime))


@pytest.fixture(scope="module")
def uber_bills() -> dict[str, pd.DataFrame]:
    """uber_scale over its five years, as stated (its largest models carry thousands of requests a second, as
    Uber's 10M predictions a second at peak over ≈ 5,000 models imply), with twice the traffic, and with half the
    SLO: 2 paired replications each (≈ 20 s; the pairs differ by well under 1%)."""
    cases = {"base": _uber(), "double": _uber(traffic=2.0), "half_slo": _uber(slo_factor=0.5)}
    return {name: replicate(s, 2, seed=7, keep_events=False).per_replication for name, s in cases.items()}


def test_twice_the_traffic_raises_uber_scales_serving_bill_by_at_least_30_percent(uber_bills):
    """Before, every fleet sat at min_replicas and doubling traffic moved the bill by 0.3%."""
    base, double = uber_bills["base"], uber_bills["double"]
    rise = mean_ci((double["serving_cost_usd"] / base["serving_cost_usd"] - 1.0).to_numpy())
    assert rise["ci95_low"] >= 0.30, rise  # measured: +38% (paired over 2 replications)
    assert (double["predictions_served"] / base["predictions_served"]).round(9).eq(2.0).all()
    # The load, not the floor, now sets most of the bill at this scale; the floor is still reported.
    assert (base["serving_floor_share"] < 0.9).all()
    assert (double["serving_floor_share"] < base["serving_floor_share"]).all()


def test_halving_the_slo_never_lowers_the_bill(uber_bills):
    base, half = uber_bills["base"], uber_bills["half_slo"]
    assert (half["serving_cost_usd"] >= base["serving_cost_usd"]).all()
    assert (half["models_trained"] == base["models_trained"]).all()  # the same organisation, paired


def test_a_small_scenario_sits_at_the_availability_floor_and_says_so():
    """fraud_drift's card traffic (≈ 4 requests a second) is far below one replica's capacity."""
    metrics = replicate(load(SCENARIOS / "fraud_drift.toml"), 2, seed=1).summary["mean"]
    assert metrics["serving_floor_share"] > 0.95
    assert metrics["slo_attainment"] == 1.0
