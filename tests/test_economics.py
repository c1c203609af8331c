"""The economics a leader acts on: each model's own value, people who are busy the way real teams are, governance
inside time-to-production, and remedies whose effect is stated rather than assumed.

Comparisons are paired on common random numbers (replication r of both arms shares its streams), and each test
states the interval it reads.
"""

from __future__ import annotations

import dataclasses
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlorg.results import compare, replicate, simulate
from mlorg.scenario import CAPABILITIES, Distribution, Hire, ScenarioError, load, loads
from mlorg.serving.analytic import service_quantile
from mlorg.sim.portfolio import quantile

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
SEED = 5


def scenario(name: str):
    return load(SCENARIOS / f"{name}.toml")


def staffed(s, **counts):
    return s.replace(org=dataclasses.replace(s.org, **counts))


@cache
def reps(name: str, n: int, **counts):
    return replicate(staffed(scenario(name), **counts), n, SEED, keep_runs=False)


# ----------------------------------------------------------------------------------------- model value

def test_a_scenario_without_a_portfolio_has_one_class_made_from_its_impact_block():
    old = loads("""
name = "old"
horizon_days = 365
[org]
data_scientists = 3
ml_engineers = 1
[drift]
enabled = true
[drift.concept]
rate_per_model_year = 3.0
performance_loss = 0.4
[impact]
predictions_per_day = 1000
positive_rate = 0.01
usd_per_positive = 50
recall = 0.5
""")
    (only,) = old.model_classes()
    assert (only.name, only.serving_mode, only.share) == ("model", "any", 1.0)
    assert only.value_per_day_usd.mean == pytest.approx(1000 * 0.01 * 50 * 0.5)
    assert only.value_loss.concept == 0.4 and only.governance.ab_test_days == 0
    run = simulate(old, 1)
    assert (run.models["value_per_day_usd"] == 250.0).all() and (run.models["model_class"] == "model").all()
    # A degradation costs the cause's share of that value, as the single-model [impact] did.
    concept = run.incidents[run.incidents["cause"] == "concept"]
    assert len(concept) and np.allclose(concept["full_loss_usd_per_day"], 250.0 * 0.4)


def test_each_class_gets_its_share_of_new_models():
    s = scenario("fraud_drift")
    models = pd.concat([simulate(s, 2, r).models for r in range(8)])
    counts = models["model_class"].value_counts()
    for c in s.portfolio:
        n = len(models)
        assert abs(counts.get(c.name, 0) - c.share * n) < 4 * np.sqrt(n * c.share * (1 - c.share)), c.name


def test_one_more_data_scientist_in_the_fraud_team_delivers_more_than_it_can_lose():
    # Every model a data scientist adds is worth something: value delivered rises, and whatever more business loss
    # the extra live models bring is less than the value they deliver.
    six, seven = reps("fraud_drift", 20), reps("fraud_drift", 20, data_scientists=7)
    diff = compare(six, seven)  # seven − six, paired
    assert diff.loc["value_delivered_usd", "ci95_low"] > 0
    gain = seven.per_replication["value_delivered_usd"] - six.per_replication["value_delivered_usd"]
    extra_loss = seven.per_replication["business_loss_usd"] - six.per_replication["business_loss_usd"]
    margin = (gain - extra_loss).to_numpy()
    assert margin.mean() - 2.1 * margin.std(ddof=1) / np.sqrt(len(margin)) > 0


def test_six_data_scientists_earn_more_net_value_than_two():
    # Why the sign: a card-fraud model stops ≈ $21,500 of fraud a day and the team trains ≈ 2.5 models a year per
    # data scientist, half of them fraud models, against ≈ $520 a day of a data scientist's salary. Four more data
    # scientists ship ≈ 11 more models in two years; their value dwarfs the salaries and the losses they bring.
    diff = compare(reps("fraud_drift", 20, data_scientists=2), reps("fraud_drift", 20))  # 6 − 2, paired
    row = diff.loc["net_value_usd"]
    print(f"net value, 6 − 2 data scientists: {row['mean']:,.0f} USD (95% CI {row['ci95_low']:,.0f} to "
          f"{row['ci95_high']:,.0f})")
    assert row["ci95_low"] > 0
    assert diff.loc["staff_cost_usd", "ci95_low"] > 0  # they do cost more


# ------------------------------------------------------------------------------------------ busy people

@pytest.mark.parametrize(("name", "replications"), [("platform_team", 10), ("uber_scale", 2)])
def test_platform_engineers_are_busy_after_the_build(name, replications):
    # Support for every practitioner, upkeep per live model, and a roadmap that grows with the fleet.
    idle = reps(name, replications).per_replication["time_share_platform_engineer_idle"]
    assert idle.max() < 0.40, idle.tolist()


def test_one_platform_engineer_instead_of_six_slows_the_platform_team():
    six, one = reps("platform_team", 10), reps("platform_team", 10, platform_engineers=1)
    diff = compare(six, one)  # one − six
    slower = diff.loc["ttp_days_p90", "ci95_low"] > 0
    backlog = diff.loc["toil_unmet_hours", "ci95_low"] > 0
    assert slower or backlog, diff.loc[["ttp_days_p90", "toil_unmet_hours"]]


def test_roadmap_items_are_finite_work_that_cuts_effort_and_toil():
    base = scenario("platform_team")
    none = base.replace(platform=dataclasses.replace(base.platform, roadmap_items_per_year=0.0))
    with_items, without = simulate(base, 3), simulate(none, 3)
    done = with_items.events[with_items.events["event"] == "roadmap_item_done"]
    assert len(done) > 0 and without.events[without.events["event"] == "roadmap_item_done"].empty
    shares = [run.time_use.set_index(["role", "activity"])["share"] for run in (with_items, without)]
    assert shares[0][("platform_engineer", "platform")] > shares[1][("platform_engineer", "platform")]
    assert shares[0][("platform_engineer", "idle")] < shares[1][("platform_engineer", "idle")]

    def toil_per_model(run):
        ts = run.timeseries[run.timeseries["day"] >= 540]
        return (ts["model_toil_hours_per_week"] / ts["models_live"]).mean()

    assert toil_per_model(with_items) < toil_per_model(without)


def test_incidents_are_worked_by_the_on_call_rota():
    full = scenario("fraud_drift_full")
    by_mle = simulate(full, 4).time_use.set_index(["role", "activity"])["share"]
    assert by_mle[("ml_engineer", "incident")] > 0 and by_mle[("platform_engineer", "incident")] == 0
    rota = dataclasses.replace(full.incidents, oncall_roles=("data_scientist",))
    by_ds = simulate(full.replace(incidents=rota), 4).time_use.set_index(["role", "activity"])["share"]
    assert by_ds[("ml_engineer", "incident")] == 0 and by_ds[("data_scientist", "incident")] > 0


def test_new_hires_ramp_up():
    # A team hired on day 100 ships later at a slow start than at full pace from their first day.
    base = scenario("first_mle").replace(horizon_days=400.0)
    hired = staffed(base, ml_engineers=0, hiring=(Hire(day=100.0, role="ml_engineer", count=1),))
    instant = hired.replace(org=dataclasses.replace(hired.org, ramp_up_days=0.0))
    diff = compare(replicate(instant, 12, SEED, keep_runs=False), replicate(hired, 12, SEED, keep_runs=False))
    assert diff.loc["time_share_ml_engineer_productionisation", "mean"] != 0
    assert diff.loc["deploy_days_median", "ci95_low"] > 0


# ------------------------------------------------------------------------------------------- governance

def test_governance_is_part_of_time_to_production():
    # An A/B test of 14 or 28 days sits between a model's first real users and everyone: TTP − time to deploy.
    run = simulate(scenario("first_mle"), 2)
    shipped = run.models.dropna(subset=["ttp_days"])
    ab_days = {c.name: c.governance.ab_test_days for c in run.scenario.portfolio}
    gap = shipped["ttp_days"] - shipped["deploy_days"]
    assert (gap >= shipped["model_class"].map(ab_days) - 1e-9).all()
    rejected = run.models[run.models["status_end"] == "rejected"]
    assert len(rejected) and (rejected["rejected_by"] == "ab_test").all()


def test_a_regulated_class_waits_for_its_model_risk_review():
    s = scenario("fraud_drift")
    reviewed = simulate(s, 3).time_use.set_index(["role", "activity"])["hours"]
    unreviewed_classes = tuple(dataclasses.replace(c, governance=dataclasses.replace(c.governance, risk_review=False))
                               for c in s.portfolio)
    plain = simulate(s.replace(portfolio=unreviewed_classes), 3).time_use.set_index(["role", "activity"])["hours"]
    assert reviewed[("data_scientist", "governance")] > plain[("data_scientist", "governance")]
    diff = compare(replicate(s.replace(portfolio=unreviewed_classes), 10, SEED, keep_runs=False),
                   replicate(s, 10, SEED, keep_runs=False))
    assert diff.loc["ttp_days_median", "ci95_low"] > 0


# ------------------------------------------------------------------------------------------- remedies

def with_capabilities(s, built: dict[str, bool]):
    caps = s.platform.capabilities
    changed = {name: dataclasses.replace(getattr(caps, name), built=value) for name, value in built.items()}
    return s.replace(platform=dataclasses.replace(s.platform, capabilities=dataclasses.replace(caps, **changed),
                                                  build_order=()))


@cache
def capability_runs(missing: str | None):
    everything = {name: name != missing for name in CAPABILITIES}
    return replicate(with_capabilities(scenario("fraud_drift_full"), everything), 30, SEED, keep_runs=False)


@pytest.mark.parametrize("capability", CAPABILITIES)
def test_adding_a_capability_never_lengthens_degradation_or_restoration(capability):
    # All five against all but this one, paired: the capability may not help much, but it never hurts.
    diff = compare(capability_runs(capability), capability_runs(None))  # with − without
    for metric in ("degraded_model_days", "degraded_days_per_model_year", "mttr_hours"):
        assert diff.loc[metric, "ci95_low"] <= 0, (metric, diff.loc[metric].to_dict())


def test_monitoring_shortens_degradation_and_restoration():
    diff = compare(capability_runs("monitoring"), capability_runs(None))
    for metric in ("degraded_days_per_model_year", "mttr_hours", "time_to_mitigate_hours", "business_loss_usd"):
        assert diff.loc[metric, "ci95_high"] < 0, (metric, diff.loc[metric].to_dict())


@pytest.mark.parametrize("dist", [Distribution(dist="lognormal", mean=5.0, cv=1.5),
                                  Distribution(dist="gamma", mean=3.0, cv=0.7),
                                  Distribution(dist="exponential", mean=2.0, cv=1.0),
                                  Distribution(dist="deterministic", mean=4.0, cv=0.0)])
def test_a_models_traits_are_drawn_at_the_distributions_quantiles(dist):
    # The simulator's closed-form quantile agrees with scipy's, tails included.
    for u in (1e-9, 0.01, 0.3, 0.5, 0.97, 1 - 1e-9):
        assert quantile(dist, u) == pytest.approx(service_quantile(dist, u), rel=1e-9)


def test_a_bad_portfolio_is_refused_naming_each_field_and_what_is_allowed():
    bad = """
name = "bad"
[monitoring.performance]
enabled = true
max_drop = 0.5
[[portfolio]]
name = "a"
share = 0.6
recall = 0.4
value_per_day_usd = { dist = "lognormal", mean = 10.0, cv = 0 }
[[portfolio]]
name = "a"
share = 0.6
"""
    with pytest.raises(ScenarioError) as refused:
        loads(bad)
    assert [m.removeprefix("<scenario>: ") for m in refused.value.messages] == [
        "portfolio: the classes' shares add up to 1.2, which is not allowed; must be 1",
        "portfolio[1].name: \"a\" is not allowed; each class needs its own name",
        "portfolio[0].value_per_day_usd.cv: 0 is not allowed for a lognormal distribution; must be > 0 (use dist = "
        "\"deterministic\" for a fixed value)",
        "portfolio[0].recall: 0.4 is not allowed; must be > monitoring.performance.max_drop (0.5)"]
    with pytest.raises(ScenarioError, match=r'portfolio\[0\]\.serving_mode: "streaming" is not allowed; must be one '
                                            r"of any, realtime, batch, edge"):
        loads('[[portfolio]]\nserving_mode = "streaming"\n')


def test_the_cli_refuses_a_bad_portfolio_with_exit_2_and_no_traceback(tmp_path, capsys):
    from mlorg import cli

    path = tmp_path / "bad.toml"
    path.write_text('[[portfolio]]\nname = "a"\nshare = 0.5\n')
    assert cli.main(["run", str(path), "--replications", "2"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "portfolio: the classes' shares add up to 0.5, which is not allowed; must be 1" in err
    assert "Traceback" not in err
