"""Properties of the organisation simulator over random valid scenarios (hypothesis).

Small organisations (0-6 people per role) and horizons of at most 400 days keep the whole file fast.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlorg.results import TIME_ACTIVITIES, simulate, to_frames
from mlorg.scenario import CAPABILITIES, DISTRIBUTIONS, ROLES, Scenario, from_dict
from mlorg.sim import HOURS_PER_DAY, HOURS_PER_YEAR, run_once

SETTINGS = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}


def distributions(mean_lo: float, mean_hi: float) -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries({
        "dist": st.sampled_from(DISTRIBUTIONS),
        "mean": st.one_of(st.just(mean_lo), st.floats(mean_lo, mean_hi)),
        "cv": st.floats(0.05, 2.0),
    })


def skills() -> st.SearchStrategy[dict]:
    efficiency = st.sampled_from([0.0, 0.3, 1.0, 1.7])
    return st.fixed_dictionaries({activity: efficiency for activity in
                                  ("research", "productionisation", "retraining", "toil", "platform")})


def capabilities() -> st.SearchStrategy[dict]:
    factor = st.floats(0.0, 2.0)
    return st.fixed_dictionaries({name: st.fixed_dictionaries({
        "built": st.booleans(),
        "build_effort_hours": st.floats(0.0, 2000.0),
        "effort_factor": factor,
        "toil_factor": factor,
        "retraining_factor": factor,
        "review_factor": factor,
        "upkeep_hours_per_week": st.floats(0.0, 20.0),
    }) for name in CAPABILITIES})


@st.composite
def scenarios(draw) -> Scenario:
    horizon = draw(st.integers(1, 400))
    headcount = st.integers(0, 6)
    hiring = draw(st.lists(st.fixed_dictionaries({
        "day": st.floats(0.0, float(horizon)),
        "role": st.sampled_from(ROLES),
        "count": st.integers(1, 3),
    }), max_size=3))
    rate = st.sampled_from([0.0, 0.0, 0.3, 2.0])
    data = {
        "name": "random",
        "horizon_days": horizon,
        "org": {
            "data_scientists": draw(headcount),
            "ml_engineers": draw(headcount),
            "platform_engineers": draw(headcount),
            "productive_hours_per_week": draw(st.floats(8.0, 60.0)),
            "hiring": hiring,
        },
        "attrition": {
            "annual_rate": {role: draw(rate) for role in ROLES},
            "backfill": draw(st.booleans()),
            "time_to_hire_days": draw(st.floats(0.0, 90.0)),
        },
        "skills": {role: draw(st.one_of(st.just(None), skills())) for role in ROLES},
        "policy": {
            "data_scientists_productionise": draw(st.sampled_from(["never", "when_no_ml_engineers", "always"])),
            "data_scientist_max_production_share": draw(st.floats(0.0, 1.0)),
            "max_toil_share": draw(st.floats(0.0, 0.99)),
        },
        "research": {"cycle_hours": draw(distributions(20.0, 1000.0))},
        "productionisation": {
            "effort_hours": draw(distributions(0.0, 200.0)),
            "version_effort_share": draw(st.floats(0.0, 1.0)),
            "abandon_after_days": draw(st.floats(1.0, 400.0)),
        },
        "deploy": {
            "review_hours": draw(distributions(0.0, 200.0)),
            "release_every_days": draw(st.sampled_from([0.0, 1.0, 7.0, 30.0])),
        },
        "lifecycle": {
            "toil_hours_per_model_week": draw(st.floats(0.0, 20.0)),
            "retrain_every_days": draw(st.one_of(st.just(0.0), st.floats(5.0, 200.0))),
            "retraining_effort_hours": draw(distributions(0.0, 200.0)),
            "lifetime_days": draw(st.one_of(st.just(0.0), st.floats(10.0, 1000.0))),
        },
        "platform": {
            "build_order": draw(st.permutations(CAPABILITIES))[:draw(st.integers(0, len(CAPABILITIES)))],
            "chunk_hours": draw(st.floats(20.0, 400.0)),
            "upkeep_hours_per_model_week": draw(st.floats(0.0, 2.0)),
            "capabilities": draw(capabilities()),
        },
    }
    data["skills"] = {role: value for role, value in data["skills"].items() if value is not None}
    return from_dict(data)


# ---------------------------------------------------------------------------------------- invariants

@settings(max_examples=150, **SETTINGS)
@given(scenario=scenarios(), seed=st.integers(0, 2**32))
def test_invariants_of_one_run(scenario, seed):
    out = run_once(scenario, seed)
    run = to_frames(out)
    m = run.metrics
    models, events = run.models, run.events
    horizon_days = scenario.horizon_days

    # Conservation: every trained model is shipped, abandoned or still waiting.
    assert m["models_trained"] == m["models_shipped"] + m["models_abandoned"] + m["backlog_end"]
    live, abandoned = models["live_day"].notna(), models["abandoned_day"].notna()
    assert not (live & abandoned).any()
    waiting = ~live & ~abandoned
    assert len(models) == live.sum() + abandoned.sum() + waiting.sum()
    assert (m["models_trained"], m["models_shipped"], m["models_abandoned"], m["backlog_end"]) == (
        len(models), live.sum(), abandoned.sum(), waiting.sum())
    assert out.levels["backlog"].value == waiting.sum()
    assert out.levels["models_live"].value == m["models_live_end"] == (live & models["retired_day"].isna()).sum()
    counts = events["event"].value_counts()
    assert counts.get("trained", 0) == len(models)
    assert counts.get("abandoned", 0) == abandoned.sum()
    assert counts.get("retired", 0) == models["retired_day"].notna().sum()
    assert (events["detail"][events["event"] == "live"] == "v1").sum() == live.sum()
    assert models["model_id"].tolist() == list(range(len(models)))

    # Times are non-negative, within the horizon and ordered per model.
    assert (events["time_hours"] >= 0).all() and (events["time_hours"] <= horizon_days * HOURS_PER_DAY).all()
    assert events["time_hours"].is_monotonic_increasing
    assert models["trained_day"].is_monotonic_increasing
    for column in ("trained_day", "live_day", "abandoned_day", "retired_day"):
        days = models[column].dropna()
        assert ((days >= 0) & (days <= horizon_days)).all(), column
    assert (models["live_day"].dropna() >= models.loc[live, "trained_day"]).all()
    assert (models["abandoned_day"].dropna() >= models.loc[abandoned, "trained_day"]).all()
    retired = models["retired_day"].notna()
    assert live[retired].all()
    assert (models.loc[retired, "retired_day"] >= models.loc[retired, "live_day"]).all()
    assert (models["ttp_days"].dropna() >= 0).all()
    assert ((models["versions_live"] >= 1) == live).all()

    # Hours, cost and shares.
    time_use = run.time_use
    assert (time_use["hours"] >= 0).all()
    assert run.extras["staff_cost_usd"] >= 0 and run.extras["toil_unmet_hours"] >= 0
    assert m["staff_cost_usd"] >= 0 and m["toil_unmet_hours"] >= 0
    for role in ROLES:
        rows = time_use[time_use["role"] == role]
        assert rows["activity"].tolist() == list(TIME_ACTIVITIES)
        # Every employed hour is booked to exactly one activity: booked hours equal person-hours employed.
        person_hours = out.levels[f"headcount_{role}"].integral(0.0, out.horizon)
        assert math.isclose(rows["hours"].sum(), person_hours, rel_tol=1e-9, abs_tol=1e-6)
        if person_hours > 0:
            assert abs(rows["share"].sum() - 1.0) < 1e-9
            assert abs(sum(m[f"time_share_{role}_{a}"] for a in TIME_ACTIVITIES) - 1.0) < 1e-9
        else:
            assert rows["share"].isna().all()
    expected_cost = sum(time_use.loc[time_use["role"] == role, "hours"].sum() / HOURS_PER_YEAR
                        * getattr(scenario.costs, role) for role in ROLES)
    assert math.isclose(m["staff_cost_usd"], expected_cost, rel_tol=1e-9, abs_tol=1e-6)

    # Weekly series: one row per week, levels never negative, cumulative counts consistent.
    series = run.timeseries
    assert len(series) == math.ceil(horizon_days / 7)
    for column in ("backlog", "models_live", "capabilities_built", *(f"headcount_{r}" for r in ROLES)):
        assert (series[column] >= 0).all(), column
    assert series["trained_cum"].is_monotonic_increasing
    assert (series["trained_cum"] >= series["shipped_cum"] + series["abandoned_cum"]).all()
    assert (series["capabilities_built"] <= len(CAPABILITIES)).all()


@settings(max_examples=25, **SETTINGS)
@given(scenario=scenarios(), seed=st.integers(0, 2**32), replication=st.integers(0, 5))
def test_same_seed_gives_identical_frames(scenario, seed, replication):
    a = simulate(scenario, seed, replication)
    b = simulate(scenario, seed, replication)
    pd.testing.assert_frame_equal(a.events, b.events)
    pd.testing.assert_frame_equal(a.models, b.models)
    pd.testing.assert_frame_equal(a.timeseries, b.timeseries)
    pd.testing.assert_frame_equal(a.time_use, b.time_use)
    assert a.extras == b.extras


# --------------------------------------------------------------------------------- common random numbers

@st.composite
def research_only_scenarios(draw) -> Scenario:
    """Data scientists who never productionise and never retrain: their research cannot depend on ML engineers."""
    horizon = draw(st.integers(30, 400))
    return from_dict({
        "horizon_days": horizon,
        "org": {
            "data_scientists": draw(st.integers(1, 6)),
            "hiring": draw(st.lists(st.fixed_dictionaries({
                "day": st.floats(0.0, float(horizon)), "role": st.just("data_scientist"),
                "count": st.integers(1, 2)}), max_size=2)),
        },
        "attrition": {"annual_rate": {"data_scientist": draw(st.sampled_from([0.0, 0.5, 2.0]))},
                      "backfill": draw(st.booleans())},
        "policy": {"data_scientists_productionise": "never"},
        "research": {"cycle_hours": draw(distributions(20.0, 800.0))},
        "deploy": {"release_every_days": draw(st.sampled_from([0.0, 7.0]))},
        "lifecycle": {"retrain_every_days": 0.0, "toil_hours_per_model_week": draw(st.floats(0.0, 5.0))},
    })


@settings(max_examples=40, **SETTINGS)
@given(scenario=research_only_scenarios(), seed=st.integers(0, 2**32))
def test_adding_ml_engineers_leaves_research_draws_unchanged(scenario, seed):
    without = simulate(scenario, seed).models
    org = scenario.org
    with_mles = simulate(scenario.replace(org=dataclasses.replace(org, ml_engineers=2)), seed).models
    np.testing.assert_array_equal(without["trained_day"].to_numpy(), with_mles["trained_day"].to_numpy())
    # Without ML engineers and with data scientists who never productionise, nothing ships.
    assert without["live_day"].isna().all()


# ------------------------------------------------------------------- bugs found by the properties, pinned

def test_headcount_end_counts_people_hired_in_the_last_week():
    scenario = from_dict({"horizon_days": 14, "org": {
        "data_scientists": 1, "hiring": [{"day": 10, "role": "ml_engineer", "count": 2}]}})
    out = run_once(scenario, 0)
    assert out.levels["headcount_ml_engineer"].value == 2.0
    assert to_frames(out).metrics["headcount_end"] == 3.0


def test_capabilities_built_end_counts_a_capability_finished_in_the_last_week():
    # One platform engineer working 168 h a week builds a 400-hour capability at hour 400 (day 16.7).
    scenario = from_dict({"horizon_days": 20, "org": {
        "data_scientists": 0, "platform_engineers": 1, "productive_hours_per_week": 168},
        "platform": {"build_order": ["incident_process"], "chunk_hours": 400}})
    run = simulate(scenario, 0)
    assert run.events[["time_hours", "event", "detail"]].values.tolist()[-1] == [
        400.0, "capability_built", "incident_process"]
    assert run.metrics["capabilities_built_end"] == 1.0


def test_a_built_capability_left_out_of_the_build_order_still_exists():
    scenario = from_dict({"horizon_days": 10, "platform": {
        "build_order": ["model_registry"], "capabilities": {"serving": {"built": True}}}})
    out = run_once(scenario, 0)
    assert out.capabilities_built == {"serving": 0.0}
    assert out.levels["capabilities_built"].value == 1.0


def test_a_built_capability_in_the_build_order_exists_from_day_zero():
    scenario = from_dict({"horizon_days": 10, "platform": {
        "build_order": ["serving", "model_registry"], "capabilities": {"serving": {"built": True}}}})
    out = run_once(scenario, 0)
    assert out.capabilities_built == {"serving": 0.0}
    assert out.levels["capabilities_built"].value == 1.0
    assert simulate(scenario, 0).metrics["capabilities_built_end"] == 1.0
