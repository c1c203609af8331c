"""Unit tests of the scenario schema: loading, validation messages, overrides, TOML output and field docs."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

from mlorg.scenario import (
    GUARD,
    Capabilities,
    Capability,
    Distribution,
    Hire,
    ModelClass,
    Org,
    PipelineCause,
    Scenario,
    ScenarioError,
    field_docs,
    from_dict,
    load,
    loads,
    to_toml,
)

SCENARIO_DIR = Path(__file__).resolve().parents[1] / "scenarios"
SCENARIO_FILES = sorted(SCENARIO_DIR.glob("*.toml"))


def messages(data: dict) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        from_dict(data)
    return info.value.messages


# ------------------------------------------------------------------------------------------ shipped files

def test_scenarios_are_shipped():
    assert {p.stem for p in SCENARIO_FILES} >= {"notebook_shipping", "first_mle", "fifth_ds", "fraud_drift",
                                                "platform_team", "uber_scale"}


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.stem)
def test_shipped_scenario_loads(path):
    scenario = load(path)
    assert isinstance(scenario, Scenario)
    assert scenario.name == path.stem


def test_shipped_values_are_read():
    uber = load(SCENARIO_DIR / "uber_scale.toml")
    assert uber.horizon_days == 1825.0
    assert uber.org.hiring == (Hire(day=365.0, role="data_scientist", count=60),
                               Hire(day=365.0, role="ml_engineer", count=20),
                               Hire(day=730.0, role="data_scientist", count=60))
    assert uber.research.cycle_hours == Distribution(dist="lognormal", mean=256.0, cv=0.6)
    assert uber.deploy.release_every_days == 0.0

    fraud = load(SCENARIO_DIR / "fraud_drift.toml")
    assert fraud.attrition.annual_rate.ml_engineer == 0.13
    assert fraud.platform.build_order == ("model_registry", "monitoring", "incident_process", "feature_pipelines",
                                          "serving")
    assert fraud.platform.capabilities.serving.built is True
    assert fraud.platform.capabilities.model_registry.built is False


# ---------------------------------------------------------------------------------------------- defaults

def test_empty_document_gives_the_defaults():
    assert from_dict({}) == Scenario()
    assert loads("") == Scenario()


def test_defaults():
    s = Scenario()
    assert (s.name, s.horizon_days) == ("scenario", 730.0)
    assert (s.org.data_scientists, s.org.ml_engineers, s.org.platform_engineers) == (4, 0, 0)
    assert s.org.productive_hours_per_week == 32.0
    assert s.org.hiring == ()
    assert s.skills.data_scientist.productionisation == 0.3
    assert s.skills.ml_engineer.research == 0.0
    assert s.policy.data_scientists_productionise == "when_no_ml_engineers"
    assert s.research.cycle_hours == Distribution(dist="lognormal", mean=640.0, cv=0.6)
    assert s.platform.build_order == ("feature_pipelines", "model_registry", "serving", "monitoring",
                                      "incident_process")
    assert s.platform.capabilities.serving == Capability(build_effort_hours=1600.0, effort_factor=0.45,
                                                         toil_factor=0.7, review_factor=0.5,
                                                         upkeep_hours_per_week=8.0)


def test_defaults_pass_validation():
    # Every default lies inside its own declared range: the default document validates as written.
    data = tomllib.loads(to_toml(Scenario()))
    assert from_dict(data) == Scenario()


def test_scenario_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Scenario().horizon_days = 1.0  # type: ignore[misc]
    assert Scenario().replace(horizon_days=10.0).horizon_days == 10.0


# -------------------------------------------------------------------------------------------- messages

@pytest.mark.parametrize(("data", "expected"), [
    ({"org": {"ml_engineers": -1}},
     "org.ml_engineers: -1 is not allowed; must be an integer >= 0 and <= 5000"),
    ({"org": {"ml_engineers": 2.0}},
     "org.ml_engineers: 2.0 is not allowed; must be an integer >= 0 and <= 5000"),
    ({"org": {"productive_hours_per_week": 0.5}},
     "org.productive_hours_per_week: 0.5 is not allowed; must be a number >= 1 and <= 168"),
    ({"horizon_days": "730"},
     "horizon_days: \"730\" is not allowed; must be a number >= 1 and <= 36500"),
    ({"horizon_days": float("nan")},
     "horizon_days: nan is not allowed; must be a number >= 1 and <= 36500"),
    ({"horizon_days": float("inf")},
     "horizon_days: inf is not allowed; must be a number >= 1 and <= 36500"),
    ({"productionisation": {"abandon_after_days": 0}},
     "productionisation.abandon_after_days: 0 is not allowed; must be a number > 0 and <= 36500"),
    ({"policy": {"max_toil_share": 1.0}},
     "policy.max_toil_share: 1.0 is not allowed; must be a number >= 0 and <= 0.99"),
    ({"attrition": {"annual_rate": {"platform_engineer": 6}}},
     "attrition.annual_rate.platform_engineer: 6 is not allowed; must be a number >= 0 and <= 5"),
    ({"name": 5}, "name: 5 is not allowed; must be a string"),
    ({"org": 5}, "org: 5 is not allowed; must be a table"),
    ({"org": {"hiring": 5}}, "org.hiring: 5 is not allowed; must be a list"),
    ({"org": {"hiring": [1]}}, "org.hiring[0]: 1 is not allowed; must be a table"),
    ({"org": {"hiring": [{"day": 10, "count": 0}]}},
     "org.hiring[0].count: 0 is not allowed; must be an integer >= 1 and <= 5000"),
    ({"org": {"hiring": [{"day": 800}]}},
     "org.hiring[0].day: 800 is not allowed; must be <= horizon_days (730)"),
    ({"research": {"cycle_hours": {"cv": 0}}},
     'research.cycle_hours.cv: 0 is not allowed for a lognormal distribution; must be > 0 '
     '(use dist = "deterministic" for a fixed value)'),
    ({"deploy": {"review_hours": {"dist": "gamma", "cv": 0}}},
     'deploy.review_hours.cv: 0 is not allowed for a gamma distribution; must be > 0 '
     '(use dist = "deterministic" for a fixed value)'),
    ({"platform": {"build_order": ["serving", "serving"]}},
     "platform.build_order: [\"serving\", \"serving\"] is not allowed; must not repeat an entry"),
    ({"platform": {"build_order": "serving"}},
     "platform.build_order: \"serving\" is not allowed; must be a list"),
    ({"monitoring": {"performance": {"z": -1}}},
     "monitoring.performance.z: -1 is not allowed; must be a number >= 0 and <= 10"),
    ({"monitoring": {"performance": {"min_positives": 2.5}}},
     "monitoring.performance.min_positives: 2.5 is not allowed; must be an integer >= 0 and <= 100000"),
    ({"monitoring": {"performance": {"dispersion": 0.5}}},
     "monitoring.performance.dispersion: 0.5 is not allowed; must be a number >= 1 and <= 1000"),
])
def test_message_names_path_value_and_range(data, expected):
    assert messages(data) == [expected]


@pytest.mark.parametrize(("data", "expected"), [
    ({"pipeline": {"review_capacity_share": 0.02}},
     "pipeline.review_capacity_share: 0.02 is not allowed; the investigators must be able to review the interim "
     "alerts and a shadow model's, so it must be >= interim_alert_share + alert_share (0.03)"),
    ({"pipeline": {"interim_alert_share": 0.005}},
     "pipeline.interim_alert_share: 0.005 is not allowed; the interim remedy flags more, so it must be >= "
     "alert_share (0.01)"),
    ({"pipeline": {"review_delay_days": -1}},
     "pipeline.review_delay_days: -1 is not allowed; must be a number >= 0 and <= 30"),
    ({"pipeline": {"probation_days": 0}},
     "pipeline.probation_days: 0 is not allowed; must be an integer >= 1 and <= 365"),
    ({"pipeline": {"causes": [{"kind": "bad_version", "start_day": 50, "feature": "amount", "size": 1.0}]}},
     "pipeline.causes[0].feature: \"amount\" is not allowed; bad_version needs the source that breaks: device_id "
     "or country"),
    ({"pipeline": {"causes": [{"kind": "bad_version", "start_day": 50, "feature": "country", "size": 2.0}]}},
     "pipeline.causes[0].size: 2 is not allowed; a bad_version size is a share, must be <= 1"),
])
def test_the_pipelines_labels_and_remedies_are_checked(data, expected):
    assert expected in messages(data)


def test_unknown_key_suggests_the_close_match():
    assert messages({"org": {"ml_enginers": 1}}) == ["org.ml_enginers: unknown key; did you mean 'ml_engineers'?"]
    assert messages({"horizon": 10}) == ["horizon: unknown key; did you mean 'horizon_days'?"]
    assert messages({"platform": {"capabilities": {"serving": {"biult": True}}}}) == [
        "platform.capabilities.serving.biult: unknown key; did you mean 'built'?"]


def test_unknown_key_without_a_close_match_lists_the_known_keys():
    [message] = messages({"org": {"zzzz": 1}})
    prefix = "org.zzzz: unknown key; known keys: "
    assert message.startswith(prefix)
    assert message[len(prefix):].split(", ") == [f.name for f in dataclasses.fields(Org)]


def test_wrong_choice_suggests():
    assert messages({"policy": {"data_scientists_productionise": "allways"}}) == [
        "policy.data_scientists_productionise: \"allways\" is not allowed; must be one of never, "
        "when_no_ml_engineers, always (did you mean 'always'?)"]
    assert messages({"org": {"hiring": [{"role": "ml_enginer"}]}}) == [
        "org.hiring[0].role: \"ml_enginer\" is not allowed; must be one of data_scientist, ml_engineer, "
        "platform_engineer (did you mean 'ml_engineer'?)"]
    assert messages({"platform": {"build_order": ["serving", "servign"]}}) == [
        "platform.build_order[1]: \"servign\" is not allowed; must be one of feature_pipelines, model_registry, "
        "serving, monitoring, incident_process (did you mean 'serving'?)"]
    assert messages({"research": {"cycle_hours": {"dist": "normal"}}}) == [
        "research.cycle_hours.dist: \"normal\" is not allowed; must be one of exponential, lognormal, gamma, "
        "deterministic (did you mean 'lognormal'?)"]


def test_wrong_choice_without_a_close_match_has_no_suggestion():
    assert messages({"policy": {"data_scientists_productionise": "sometimes"}}) == [
        "policy.data_scientists_productionise: \"sometimes\" is not allowed; must be one of never, "
        "when_no_ml_engineers, always"]


def test_bool_is_not_an_integer_and_an_integer_is_not_a_bool():
    assert messages({"org": {"ml_engineers": True}}) == [
        "org.ml_engineers: true is not allowed; must be an integer >= 0 and <= 5000"]
    assert messages({"horizon_days": False}) == [
        "horizon_days: false is not allowed; must be a number >= 1 and <= 36500"]
    assert messages({"attrition": {"backfill": 1}}) == ["attrition.backfill: 1 is not allowed; must be true or false"]
    assert messages({"platform": {"capabilities": {"serving": {"built": "yes"}}}}) == [
        "platform.capabilities.serving.built: \"yes\" is not allowed; must be true or false"]


def test_integer_for_a_number_becomes_a_float():
    s = loads("horizon_days = 100\n[lifecycle]\nlifetime_days = 0\n")
    assert s.horizon_days == 100.0 and type(s.horizon_days) is float
    assert type(s.lifecycle.lifetime_days) is float
    assert type(loads("[org]\nml_engineers = 3\n").org.ml_engineers) is int


def test_loads_prefixes_the_source():
    with pytest.raises(ScenarioError) as info:
        loads("horizon_days = 0\n", source="s.toml")
    assert info.value.messages == ["s.toml: horizon_days: 0 is not allowed; must be a number >= 1 and <= 36500"]
    assert str(info.value) == info.value.messages[0]


def test_several_errors_are_reported_at_once():
    text = ('horizon_days = 0\n[org]\nml_enginers = 1\ndata_scientists = -2\n'
            '[policy]\ndata_scientists_productionise = "sometimes"\n')
    with pytest.raises(ScenarioError) as info:
        loads(text, source="s.toml")
    assert info.value.messages == [
        "s.toml: horizon_days: 0 is not allowed; must be a number >= 1 and <= 36500",
        "s.toml: org.ml_enginers: unknown key; did you mean 'ml_engineers'?",
        "s.toml: org.data_scientists: -2 is not allowed; must be an integer >= 0 and <= 5000",
        "s.toml: policy.data_scientists_productionise: \"sometimes\" is not allowed; must be one of never, "
        "when_no_ml_engineers, always",
    ]
    assert str(info.value) == "\n".join(info.value.messages)


def test_several_whole_scenario_errors_are_reported_at_once():
    assert messages({"horizon_days": 100, "research": {"cycle_hours": {"mean": 0.5}},
                     "org": {"hiring": [{"day": 50}, {"day": 150}]}}) == [
        f"research.cycle_hours.mean: 0.5 is not allowed; must be >= 1 ({GUARD})",
        "org.hiring[1].day: 150 is not allowed; must be <= horizon_days (100)",
    ]


# ---------------------------------------------------------------------------------------------- files

def test_toml_syntax_error_names_file_line_and_column(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('name = "x"\n[org]\nml_engineers = = 2\n', encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load(path)
    assert info.value.messages == [f"{path}: TOML syntax error: Invalid value (at line 3, column 16)"]


def test_toml_syntax_error_in_a_table_header(tmp_path):
    path = tmp_path / "header.toml"
    path.write_text('name = "x"\n[org\n', encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load(path)
    assert info.value.messages == [
        f"{path}: TOML syntax error: Expected ']' at the end of a table declaration (at line 2, column 5)"]


def test_invalid_value_in_a_file_names_the_file(tmp_path):
    path = tmp_path / "neg.toml"
    path.write_text("[org]\nml_engineers = -1\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load(path)
    assert info.value.messages == [
        f"{path}: org.ml_engineers: -1 is not allowed; must be an integer >= 0 and <= 5000"]


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(ScenarioError) as info:
        load(tmp_path / "nope.toml")
    assert info.value.messages == [f"{tmp_path / 'nope.toml'}: no such file"]
    with pytest.raises(ScenarioError) as info:
        load(tmp_path)  # a directory
    assert info.value.messages == [f"{tmp_path}: is not a regular file (a folder, device or pipe is not a scenario)"]
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"name = \"\xff\xfe\"\n")
    with pytest.raises(ScenarioError) as info:
        load(binary)
    assert info.value.messages[0].startswith(f"{binary}: cannot read (")


# --------------------------------------------------------------------------------------------- guards

def test_horizon_too_long_says_it_is_a_guard():
    assert messages({"horizon_days": 36501}) == [
        "horizon_days: 36501 is not allowed; must be a number >= 1 and <= 36500 "
        "(a limit that keeps one run from hanging or exhausting memory)"]


def test_too_many_people_at_one_role_says_it_is_a_guard():
    assert messages({"org": {"data_scientists": 5001}}) == [
        f"org.data_scientists: 5001 is not allowed; must be an integer >= 0 and <= 5000 ({GUARD})"]


def test_too_many_people_in_total_says_it_is_a_guard():
    data = {"horizon_days": 1, "org": {"data_scientists": 5000, "ml_engineers": 5000, "platform_engineers": 5000,
                                       "hiring": [{"day": 1, "count": 5000}, {"count": 1}]}}
    assert messages(data) == [
        f"org: 20001 people at start plus hiring plan is not allowed; must be <= 20000 ({GUARD})"]
    data["org"]["hiring"].pop()
    assert from_dict(data).org.hiring[0].count == 5000  # exactly 20000 people is allowed


def test_too_many_person_years_says_it_is_a_guard():
    assert messages({"horizon_days": 36500, "org": {"data_scientists": 5000}}) == [
        f"horizon_days: 36500 days with 5000 people is 500,000 person-years; must be <= 200,000 ({GUARD})"]
    # 2000 people for 100 years is exactly the limit.
    assert from_dict({"horizon_days": 36500, "org": {"data_scientists": 2000}}).org.data_scientists == 2000


def test_research_cycle_floor_says_it_is_a_guard():
    assert messages({"research": {"cycle_hours": {"mean": 0.5}}}) == [
        f"research.cycle_hours.mean: 0.5 is not allowed; must be >= 1 ({GUARD})"]


def test_distribution_mean_has_a_ceiling():
    assert messages({"deploy": {"review_hours": {"mean": 2e12}}}) == [
        "deploy.review_hours.mean: 2000000000000.0 is not allowed; must be a number >= 0 and <= 1e+12"]


# ---------------------------------------------------------------------------------- partial overrides

def test_partial_capability_override_keeps_other_defaults():
    s = loads("[platform.capabilities.serving]\nbuilt = true\n")
    assert s.platform.capabilities.serving == dataclasses.replace(Capabilities().serving, built=True)
    assert s.platform.capabilities.serving.effort_factor == 0.45
    assert s.platform.capabilities.serving.review_factor == 0.5
    assert s.platform.capabilities.feature_pipelines == Capabilities().feature_pipelines
    assert s.replace(platform=Scenario().platform) == Scenario()


def test_partial_distribution_override_keeps_other_defaults():
    s = loads("[research]\ncycle_hours = {mean = 100}\n")
    assert s.research.cycle_hours == Distribution(dist="lognormal", mean=100.0, cv=0.6)
    s = loads("[deploy]\nreview_hours = {dist = \"exponential\"}\n")
    assert s.deploy.review_hours == Distribution(dist="exponential", mean=48.0, cv=0.5)


def test_partial_table_override_keeps_sibling_fields():
    s = loads("[org]\nml_engineers = 2\n[attrition.annual_rate]\nml_engineer = 0.2\n")
    assert s.org == dataclasses.replace(Org(), ml_engineers=2)
    assert (s.attrition.annual_rate.data_scientist, s.attrition.annual_rate.ml_engineer) == (0.0, 0.2)
    assert s.attrition.time_to_hire_days == 60.0


def test_hire_entry_takes_defaults_for_missing_keys():
    s = loads("[[org.hiring]]\nday = 10\n\n[[org.hiring]]\nrole = \"data_scientist\"\ncount = 3\n")
    assert s.org.hiring == (Hire(day=10.0, role="ml_engineer", count=1),
                            Hire(day=0.0, role="data_scientist", count=3))


# ----------------------------------------------------------------------------------------------- to_toml

@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.stem)
def test_to_toml_round_trips_shipped_scenarios(path):
    scenario = load(path)
    text = to_toml(scenario)
    assert loads(text) == scenario
    assert to_toml(loads(text)) == text


def test_to_toml_round_trips_a_hiring_plan_and_awkward_text():
    scenario = Scenario(
        name='quote " and back\\slash', description="two lines\nand a\ttab, ünïcode ✓",
        horizon_days=365.0,
        org=Org(data_scientists=2, hiring=(Hire(day=30.0, role="ml_engineer", count=2),
                                           Hire(day=180.5, role="platform_engineer", count=1))),
    ).replace(platform=dataclasses.replace(Scenario().platform, build_order=("serving", "monitoring")))
    text = to_toml(scenario)
    assert 'role = "ml_engineer"' in text and 'role = "platform_engineer"' in text
    assert loads(text) == scenario


def test_to_toml_writes_an_empty_hiring_plan_that_reads_back():
    text = to_toml(Scenario())
    assert "hiring = []" in text
    assert loads(text) == Scenario()


def test_to_toml_keeps_floats_exact():
    scenario = Scenario(horizon_days=1000 / 3).replace(
        research=dataclasses.replace(Scenario().research, cycle_hours=Distribution(mean=1e5 + 0.1, cv=1e-5)))
    assert loads(to_toml(scenario)) == scenario


@pytest.mark.parametrize("description", ["first line\r\nsecond line", "bell\x07", "delete\x7f"])
def test_to_toml_round_trips_control_characters(description):
    scenario = Scenario(description=description)
    assert loads(to_toml(scenario)) == scenario


# -------------------------------------------------------------------------------------------- field_docs

def _leaf_paths(table: dict, prefix: str = "") -> set[str]:
    paths = set()
    for key, value in table.items():
        if isinstance(value, dict):
            paths |= _leaf_paths(value, f"{prefix}{key}.")
        else:
            paths.add(f"{prefix}{key}")
    return paths


def test_field_docs_lists_every_leaf_field_once():
    rows = field_docs()
    fields = [row["field"] for row in rows]
    assert len(fields) == len(set(fields))
    # The leaves of the default document, with the hiring plan's entry fields under "org.hiring[].".
    expected = _leaf_paths(tomllib.loads(to_toml(Scenario())))
    expected |= {f"org.hiring[].{f.name}" for f in dataclasses.fields(Hire)}
    expected |= {f"pipeline.causes[].{f.name}" for f in dataclasses.fields(PipelineCause)}
    with_class = tomllib.loads(to_toml(Scenario(portfolio=(ModelClass(),))))
    expected |= {f"portfolio[].{path}" for path in _leaf_paths(with_class["portfolio"][0])}
    assert set(fields) == expected


def test_field_docs_rows():
    rows = {row["field"]: row for row in field_docs()}
    assert rows["org.ml_engineers"] == {"field": "org.ml_engineers", "unit": "people", "default": "0",
                                        "rule": "integer >= 0 and <= 5000", "doc": "ML engineers at day 0"}
    assert rows["horizon_days"] == {"field": "horizon_days", "unit": "days", "default": "730",
                                    "rule": "number >= 1 and <= 36500", "doc": "simulated time"}
    assert rows["productionisation.abandon_after_days"]["rule"] == "number > 0 and <= 36500"
    assert rows["attrition.backfill"]["rule"] == "true/false"
    assert rows["attrition.backfill"]["default"] == "true"
    assert rows["policy.data_scientists_productionise"]["rule"] == "one of never, when_no_ml_engineers, always"
    assert rows["policy.data_scientists_productionise"]["default"] == '"when_no_ml_engineers"'
    assert rows["research.cycle_hours.mean"]["default"] == "640"
    assert rows["platform.capabilities.serving.effort_factor"]["default"] == "0.45"
    assert rows["platform.build_order"]["default"] == (
        '["feature_pipelines", "model_registry", "serving", "monitoring", "incident_process"]')
    assert rows["org.hiring[].role"]["default"] == '"ml_engineer"'


def test_field_docs_rows_have_unit_default_rule_and_doc():
    for row in field_docs():
        assert set(row) == {"field", "unit", "default", "rule", "doc"}, row
        assert row["doc"], row["field"]
    assert {row["field"]: row for row in field_docs()}["org.hiring"]["default"] == "[]"
