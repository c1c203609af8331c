"""The staffing planner's library: scenario edits with the schema's messages, change lists, comparisons."""

import dataclasses
import math
from pathlib import Path

import pandas as pd
import pytest

from mlorg import planner
from mlorg.results import compare, replicate
from mlorg.scenario import Hire, ScenarioError, load

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


@pytest.fixture(scope="module")
def notebook():
    return load(SCENARIOS / "notebook_shipping.toml")


def test_load_folder_reports_bad_files_and_keeps_good_ones(tmp_path):
    (tmp_path / "good.toml").write_text('name = "good"\n')
    (tmp_path / "bad.toml").write_text("[org]\ndata_scientists = -1\n")
    scenarios, problems = planner.load_folder(tmp_path)
    assert list(scenarios) == ["good"]
    assert problems == [f"{tmp_path / 'bad.toml'}: org.data_scientists: -1 is not allowed; must be an integer >= 0 "
                        "and <= 5000"]


def test_scenario_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("MLORG_SCENARIOS", raising=False)
    assert planner.scenario_folder() == SCENARIOS
    monkeypatch.setenv("MLORG_SCENARIOS", str(tmp_path))
    assert planner.scenario_folder() == tmp_path


def test_default_replications_shrink_only_for_big_organisations(notebook):
    assert planner.default_replications(notebook) == 10
    uber = load(SCENARIOS / "uber_scale.toml")
    # 485 people at day 0 + 140 hires over 5 years = 3,125 person-years: 2,000 / 3,125 rounds down below 2.
    assert planner.person_years(uber) == pytest.approx(625 * 5)
    assert planner.default_replications(uber) == 2
    mid = notebook.replace(org=dataclasses.replace(notebook.org, data_scientists=500))  # 1,000 person-years
    assert planner.default_replications(mid) == 2
    assert planner.default_replications(notebook.replace(horizon_days=365.0 * 200 / 4)) == 10


def test_edit_applies_every_kind_of_change(notebook):
    edited = planner.edit(
        notebook, headcount={"ml_engineers": 2}, horizon_days=400,
        hiring=pd.DataFrame({"day": [90.0, None], "role": ["platform_engineer", None], "count": [1.0, None]}),
        skills={"data_scientist": {"productionisation": 0.5}},
        in_place=["model_registry"], build_order=["serving", "model_registry", "monitoring"])
    assert edited.org.ml_engineers == 2 and edited.org.data_scientists == 4
    assert edited.horizon_days == 400.0
    assert edited.org.hiring == (Hire(day=90.0, role="platform_engineer", count=1),)  # the blank row is skipped
    assert edited.skills.data_scientist.productionisation == 0.5
    assert edited.skills.data_scientist.research == 1.0
    assert edited.platform.capabilities.model_registry.built
    assert not edited.platform.capabilities.serving.built
    assert edited.platform.build_order == ("serving", "monitoring")  # one in place is not built again
    assert planner.capability_plan(edited) == (["model_registry"], ["serving", "monitoring"])


def test_an_unchanged_edit_gives_back_the_same_scenario():
    fraud = load(SCENARIOS / "fraud_drift.toml")  # its build order still names capabilities already in place
    in_place, order = planner.capability_plan(fraud)
    same = planner.edit(fraud, headcount={"data_scientists": fraud.org.data_scientists},
                        hiring=planner.hiring_frame(fraud), skills=planner.skills_frame(fraud),
                        in_place=in_place, build_order=order)
    assert same == fraud
    assert planner.describe_changes(fraud, same) == []


def test_edit_reports_every_bad_cell_with_its_field_and_rule(notebook):
    with pytest.raises(ScenarioError) as caught:
        planner.edit(notebook, hiring=[{"day": 10, "role": "ml_enginer", "count": None}],
                     skills={"ml_engineer": {"toil": 3}})
    assert caught.value.messages == [
        "org.hiring[0].count: empty is not allowed; must be an integer >= 1 and <= 5000",
        "org.hiring[0].role: \"ml_enginer\" is not allowed; must be one of data_scientist, ml_engineer, "
        "platform_engineer (did you mean 'ml_engineer'?)",
        "skills.ml_engineer.toil: 3 is not allowed; must be a number >= 0 and <= 2",
    ]


def test_edit_checks_the_whole_scenario(notebook):
    with pytest.raises(ScenarioError, match=r"org.hiring\[0\].day: 500 is not allowed; must be <= horizon_days "
                                            r"\(365\)"):
        planner.edit(notebook, horizon_days=365, hiring=[{"day": 500, "role": "ml_engineer", "count": 1}])
    with pytest.raises(ScenarioError, match="skills.data_scientist.research: empty is not allowed; must be a number"):
        planner.edit(notebook, skills={"data_scientist": {"research": math.nan}})


def test_platform_builders_count_everyone_able_to_build(notebook):
    assert planner.platform_builders(notebook) == 0  # a build order nobody works on
    hired = planner.edit(notebook, hiring=[{"day": 100, "role": "platform_engineer", "count": 2}])
    assert planner.platform_builders(hired) == 2
    assert planner.platform_builders(planner.edit(notebook, skills={"data_scientist": {"platform": 0.2}})) == 4


def test_frames_show_the_scenario_tables():
    uber = load(SCENARIOS / "uber_scale.toml")
    hires = planner.hiring_frame(uber)
    assert hires.to_dict("records") == [{"day": h.day, "role": h.role, "count": h.count} for h in uber.org.hiring]
    assert planner.hiring_frame(uber.replace(org=dataclasses.replace(uber.org, hiring=()))).empty
    skills = planner.skills_frame(uber)
    assert skills.loc["data_scientist", "productionisation"] == uber.skills.data_scientist.productionisation
    assert list(skills.index) == ["data_scientist", "ml_engineer", "platform_engineer"]


def test_describe_changes_lists_fields_in_schema_order(notebook):
    edited = planner.edit(notebook, headcount={"ml_engineers": 1}, horizon_days=365,
                          hiring=[{"day": 30, "role": "ml_engineer", "count": 2}])
    changes = planner.describe_changes(notebook, edited)
    assert changes == ["horizon_days: 730 → 365", "org.ml_engineers: 0 → 1",
                       "org.hiring: [] → [{day 30, role ml_engineer, count 2}]"]
    assert planner.change_summary(notebook, edited) == ["Horizon (days) 365", "ML engineers 1",
                                                        "Hiring plan: 2 hires"]


def test_a_variant_is_named_for_what_changed_and_says_so_in_its_description(notebook):
    edited = planner.name_variant(notebook, planner.edit(notebook, headcount={"ml_engineers": 2}))
    assert edited.name == "notebook_shipping · ML engineers 2"
    assert edited.description.endswith("Changed from notebook_shipping: org.ml_engineers: 0 → 2.")
    assert planner.describe_changes(notebook, edited) == ["org.ml_engineers: 0 → 2"]  # not its new name
    assert planner.name_variant(notebook, notebook) == notebook  # nothing changed: the scenario as it is
    many = planner.edit(notebook, headcount={"ml_engineers": 2, "data_scientists": 7, "platform_engineers": 3},
                        horizon_days=365, in_place=["serving", "model_registry"])
    name = planner.name_variant(notebook, many).name
    assert len(name) <= planner.edits.MAX_NAME and name.endswith(" more")
    assert name.startswith("notebook_shipping · Horizon (days) 365, Data scientists 7")


def test_comparison_table_has_paired_differences_from_the_baseline():
    fifth, first = load(SCENARIOS / "fifth_ds.toml"), load(SCENARIOS / "first_mle.toml")
    a, b = replicate(fifth, 3, 7), replicate(first, 3, 7)
    table = planner.comparison_table({"fifth": a, "first": b})
    assert table["scenario"].unique().tolist() == ["fifth", "first"]
    # Serving and business loss are not modelled by either scenario: left out, not shown as empty rows.
    assert table["metric"].unique().tolist() == ["net_value_usd", "value_delivered_usd", "ttp_days_median",
                                                 "ttp_days_p90", "models_shipped", "models_live_end", "backlog_end",
                                                 "models_abandoned", "staff_cost_usd"]
    shipped = table.set_index(["scenario", "metric"])
    assert shipped.loc[("fifth", "models_shipped"), "mean"] == a.summary.loc["models_shipped", "mean"]
    assert math.isnan(shipped.loc[("fifth", "models_shipped"), "diff_mean"])
    paired = compare(a, b).loc["models_shipped"]
    assert shipped.loc[("first", "models_shipped"), ["diff_mean", "diff_low", "diff_high"]].tolist() == \
        pytest.approx([paired["mean"], paired["ci95_low"], paired["ci95_high"]])
    with pytest.raises(ValueError, match="same seed"):
        planner.comparison_table({"fifth": a, "other seed": replicate(first, 3, 8)})
    with pytest.raises(ValueError, match="needs at least 2"):
        planner.comparison_table({"fifth": a})


def test_difference_verdict_and_formats():
    assert planner.difference_verdict(0.5, 2.0) == "higher"
    assert planner.difference_verdict(-2.0, -0.1) == "lower"
    assert planner.difference_verdict(-1.0, 1.0) == "no clear difference"
    assert planner.difference_verdict(math.nan, math.nan) == "no interval"
    row = {"mean": 5.0, "ci95_low": 4.0, "ci95_high": 6.0, "n": 2}
    assert planner.interval_text(row, "count", 3) == "95% CI 4 to 6 (over 2 of 3 replications)"
    assert planner.interval_text(row, "days", 2) == "95% CI 4 days to 6 days"
    assert planner.interval_text({**row, "n": 0}, "count", 3) == "not defined in any replication"
    assert planner.file_stem("my scenario/1") == "my_scenario_1"


def test_the_money_basis_names_each_class_its_value_and_its_source():
    fraud = load(SCENARIOS / "fraud_drift.toml")
    classes = planner.portfolio_frame(fraud).set_index("class")
    assert list(classes.index) == [c.name for c in fraud.portfolio]
    assert classes.loc["card_fraud", "value a day when healthy"] == "$15,800"
    assert classes.loc["card_fraud", "governance"] == "model-risk review, 14 days in shadow"
    assert classes.loc["collections_propensity", "where the value comes from"].startswith("Assumption:")
    # A scenario without a portfolio: one class, valued from its [impact] block, and saying so.
    (only,) = planner.portfolio_frame(fraud.replace(portfolio=())).to_dict(orient="records")
    assert only["class"] == "model" and only["where the value comes from"].startswith("[impact]")


def test_the_assumptions_say_what_each_input_rests_on():
    fraud = load(SCENARIOS / "fraud_drift.toml")
    rows = planner.assumption_frame(fraud).set_index("field")
    assert rows.loc["org.ramp_up_days", "rests on"].startswith("Oxford Economics 2014")
    assert rows.loc["org.ramp_up_start", "rests on"] == planner.basis.ASSUMPTION
    assert rows.loc["portfolio[card_fraud].value_loss", "rests on"].startswith("concept set in this scenario")
    quicker = fraud.replace(org=dataclasses.replace(fraud.org, ramp_up_days=30.0))
    assert planner.assumption_frame(quicker).set_index("field").loc["org.ramp_up_days", "rests on"] == \
        planner.basis.SET_IN_SCENARIO


def test_the_bill_lists_each_priced_line_with_its_share_and_the_floor_in_a_sentence():
    scenario = load(SCENARIOS / "fraud_drift.toml")
    summary = replicate(scenario, 2, seed=1).summary
    frame = planner.bill_frame(summary)
    assert list(frame["line"]) == ["Serving cost", "Training compute", "Feature computation", "Storage",
                                   "Monitoring compute", "The whole bill"]
    shares = [float(s.rstrip("%")) for s in frame["share of the bill"][:-1]]
    assert abs(sum(shares) - 100.0) < 0.5 and all(s >= 0 for s in shares)
    assert planner.floor_text(summary).startswith("99.")
    assert "far below what its replicas can carry" in planner.floor_text(summary)
    # A scenario that prices nothing has no bill and no floor sentence.
    bare = replicate(load(SCENARIOS / "notebook_shipping.toml").replace(horizon_days=60), 2).summary
    assert planner.bill_frame(bare).empty and planner.floor_text(bare) == ""


def test_a_scenario_that_prices_its_infrastructure_lists_the_quantities_as_assumptions():
    priced = planner.assumption_frame(load(SCENARIOS / "platform_team.toml")).set_index("field")
    assert priced.loc["infra.training_hours", "rests on"] == planner.basis.ASSUMPTION
    assert priced.loc["infra.feature_store_reuse_share", "value"] == "0.5"
    unpriced = planner.assumption_frame(load(SCENARIOS / "notebook_shipping.toml"))
    assert not unpriced["field"].str.startswith("infra.").any()
