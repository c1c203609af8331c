"""Serving inside the organisation simulator: cost, predictions and SLO hours of every live model."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlorg.results import compare, replicate, simulate
from mlorg.rng import Streams
from mlorg.scenario import load
from mlorg.serving.fleet import RealtimePolicy, SloTable, realtime_totals
from mlorg.serving.instances import load_instances
from mlorg.serving.traffic import hourly_profile

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
SERVING_METRICS = ["serving_cost_usd", "cost_per_1k_predictions_usd", "slo_attainment", "predictions_served"]


def fraud(**realtime_changes):
    """fraud_drift with one class of models served by the [serving] section's shares and traffic draws, as a
    scenario without a portfolio is: these tests check the serving mechanics."""
    scenario = load(SCENARIOS / "fraud_drift.toml").replace(portfolio=())
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
