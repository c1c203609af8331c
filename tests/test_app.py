"""The staffing planner page driven through Streamlit's AppTest: run, edit, compare, save and reopen."""

import dataclasses
import io
import json
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest
from streamlit import dataframe_util
from streamlit.testing.v1 import AppTest

import mlorg.results
from mlorg import formatting, planner
from mlorg.results import compare, replicate
from mlorg.scenario import field_label, load, loads
from mlorg.store import RunStore
from mlorg.uncertainty import decide, run_uncertain

pytestmark = pytest.mark.usefixtures("app_store")  # tests/conftest.py

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "app" / "views" / "staffing_planner.py"
SCENARIOS = ROOT / "scenarios"
HEADLINE_LABELS = ["Net value", "Value delivered", "Staff cost", "Median time to production",
                   "P90 time to production", "Models shipped", "Share of trained models shipped", "Backlog at end",
                   "Models abandoned"]


def page() -> AppTest:
    at = AppTest.from_file(str(PAGE), default_timeout=30).run()
    assert not at.exception
    return at


def run(at: AppTest, scenario: str = "notebook_shipping", replications: int = 3, seed: int | None = None,
        **inputs: int) -> AppTest:
    """Pick a scenario, set the form's inputs (keys as in the page) and press Run."""
    if at.selectbox(key="scenario").value != scenario:
        at.selectbox(key="scenario").set_value(scenario).run()
    at.slider(key="replications").set_value(replications)
    if seed is not None:
        at.number_input(key="seed").set_value(seed)
    for field, value in inputs.items():
        at.number_input(key=f"{field}.{scenario}").set_value(value)
    at.button(key="run").click().run()
    assert not at.exception
    return at


def edit_table(at: AppTest, key: str, *, edited: dict | None = None, added: list | None = None) -> None:
    """Edits of a table editor as the browser sends them: cells by row position, and new rows."""
    at.session_state[key] = {"edited_rows": edited or {}, "added_rows": added or [], "deleted_rows": []}


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def days(value: float) -> str:
    return formatting.days(value)


def count(value: float) -> str:
    return formatting.value(value, "count")


def chart_titles(at: AppTest) -> list[str]:
    return [json.loads(chart.proto.spec)["title"] for chart in at.get("vega_lite_chart")]


def chart_data(chart) -> pd.DataFrame:
    """The rows Streamlit sent with an Altair chart (it ships them beside the spec, as Arrow)."""
    return dataframe_util.convert_arrow_bytes_to_pandas_df(chart.proto.datasets[0].data.data)


def tables(at: AppTest) -> list[pd.DataFrame]:
    return [d.value for d in at.dataframe if d.editing_mode == "read_only"]


# ------------------------------------------------------------------------------------------------ Run

def test_page_loads_with_shipped_scenarios_and_their_inputs():
    at = page()
    assert not at.error
    assert [t.label for t in at.tabs] == ["Run", "Compare", "Saved runs", "Sweep", "Sensitivity", "Goal seek",
                                        "Start from my history"]
    names = sorted(p.stem for p in SCENARIOS.glob("*.toml"))
    assert at.selectbox(key="scenario").options == [load(SCENARIOS / f"{n}.toml").name for n in names]
    assert at.slider(key="replications").value == 10
    at.selectbox(key="scenario").set_value("uber_scale").run()
    uber = load(SCENARIOS / "uber_scale.toml")
    assert uber.description in [c.value for c in at.caption]
    for field in ("data_scientists", "ml_engineers", "platform_engineers"):
        assert at.number_input(key=f"{field}.uber_scale").value == getattr(uber.org, field)
    assert at.number_input(key="horizon_days.uber_scale").value == uber.horizon_days
    assert at.slider(key="replications").value == 2  # a five-year, 600-person organisation starts with fewer
    editors = {e.key: e.value for e in at.data_editor}
    assert editors["hiring.uber_scale"].to_dict("records") == planner.hiring_frame(uber).to_dict("records")
    assert editors["skills.uber_scale"].loc["data_scientist", "productionisation"] == 0.3
    at.selectbox(key="scenario").set_value("fraud_drift").run()
    capabilities = {e.key: e.value for e in at.data_editor}["capabilities.fraud_drift"]
    assert capabilities["in_place"].tolist() == [True, False, True, False, False]
    assert capabilities["build_order"].tolist() == [pd.NA, 1, pd.NA, 2, 3]  # registry, monitoring, incident process
    assert capabilities["capability"].tolist() == ["Feature pipelines", "Model registry", "Serving layer",
                                                   "Monitoring", "Incident process"]  # all five, whatever the width
    assert not at.metric  # nothing runs until Run is pressed


def test_run_with_defaults_shows_the_library_figures_and_charts(monkeypatch):
    calls = []
    real = mlorg.results.replicate
    monkeypatch.setattr(mlorg.results, "replicate", lambda *a, **k: calls.append(a) or real(*a, **k))
    at = run(page())
    assert not at.error
    assert [m.label for m in at.metric] == HEADLINE_LABELS
    expected = replicate(load(SCENARIOS / "notebook_shipping.toml"), 3, 0).summary
    assert metric(at, "Median time to production") == days(expected.loc["ttp_days_median", "mean"])
    assert metric(at, "Models shipped") == count(expected.loc["models_shipped", "mean"])
    low, high = expected.loc["ttp_days_median", ["ci95_low", "ci95_high"]]
    assert f"95% CI {days(low)} to {days(high)}" in [c.value for c in at.caption]
    titles = chart_titles(at)
    assert [t.split(" (")[0] for t in titles] == ["Models over time", "Time to production", "Where the time goes",
                                                  "Cost over the run"]
    assert "confidence interval of the mean" in titles[0]
    cost = chart_data(at.get("vega_lite_chart")[3])
    assert cost["label"].tolist() == ["staff"]  # no serving modelled, so no serving bar
    assert cost["mean"].tolist() == pytest.approx([expected.loc["staff_cost_usd", "mean"]])
    classes, assumptions, table = tables(at)[:3]  # what the money rests on, then every metric
    notebook = load(SCENARIOS / "notebook_shipping.toml")
    assert classes["class"].tolist() == [c.name for c in notebook.portfolio]
    sources = [m.value for m in at.markdown if m.value.startswith("- **")]
    assert sources == ["\n".join(f"- **{c.name}**: {c.value_source}" for c in notebook.portfolio)]
    assert assumptions.set_index("field").loc["org.ramp_up_days", "rests on"].startswith("Oxford Economics")
    assert metric(at, "Net value") == formatting.usd(expected.loc["net_value_usd", "mean"], compact=True)
    table = table.set_index("name")
    assert {"ttp_days_median", "staff_cost_usd", "models_abandoned"} <= set(table.index)
    assert table.loc["models_shipped", "metric"] == "Models shipped"  # labels for people, names for scripts
    assert table.loc["models_shipped", "mean"] == count(expected.loc["models_shipped", "mean"])
    # The band switch and a second press of Run redraw the same run: it comes from the cache.
    first = [m.value for m in at.metric]
    at.radio(key="band").set_value("range").run()
    assert "middle 95% of replications" in chart_titles(at)[0]
    at.button(key="run").click().run()
    assert not at.exception
    assert [m.value for m in at.metric] == first
    assert len(calls) == 1


def test_more_ml_engineers_shorten_the_median_time_to_production(downloads):
    at = run(page())
    before = metric(at, "Median time to production")
    run(at, ml_engineers=2)
    after = metric(at, "Median time to production")
    base = load(SCENARIOS / "notebook_shipping.toml")
    edited = base.replace(org=dataclasses.replace(base.org, ml_engineers=2))
    expected = replicate(edited, 3, 0)
    assert after == days(expected.summary.loc["ttp_days_median", "mean"])
    assert float(after.split()[0]) < float(before.split()[0])
    assert "2 ML engineers" in " ".join(c.value for c in at.caption)
    assert "Changed from the scenario file: org.ml_engineers: 0 → 2" in [c.value for c in at.caption]
    # The edited scenario is named for what changed, in the page, the downloads and the name offered for saving.
    assert at.subheader[0].value == "Results: notebook_shipping · ML engineers 2"
    assert at.text_input[0].value == "notebook_shipping · ML engineers 2"
    downloaded = loads(downloads["notebook_shipping_ML_engineers_2.toml"].decode())
    assert downloaded.name == "notebook_shipping · ML engineers 2"
    assert "Changed from notebook_shipping: org.ml_engineers: 0 → 2." in downloaded.description
    assert downloaded.replace(name=base.name, description=base.description) == edited
    table = pd.read_csv(io.BytesIO(downloads["notebook_shipping_ML_engineers_2_replications.csv"]))
    assert table["replication"].tolist() == [0, 1, 2]
    assert table["models_shipped"].tolist() == expected.per_replication["models_shipped"].tolist()
    # A click on a download button reruns nothing away: the results stay on the page.
    at.get("download_button")[0].click().run()
    assert not at.exception
    assert [m.label for m in at.metric] == HEADLINE_LABELS


def test_the_run_tab_shows_the_figures_with_input_uncertainty_as_the_library_does():
    at = run(page(), replications=2)
    assert any("marks 3 inputs as uncertain" in c.value for c in at.caption)
    at.number_input(key="uncertain_run.draws").set_value(3)
    at.button(key="uncertain_run.run").click().run()
    assert [e.value for e in at.error] == ["Draws of the uncertain inputs: 3 is not allowed; must be an integer >= "
                                           "10 and <= 1,000"]
    at.number_input(key="uncertain_run.draws").set_value(10)
    at.button(key="uncertain_run.run").click().run()
    assert not at.exception and not at.error
    expected = run_uncertain(load(SCENARIOS / "notebook_shipping.toml"), 10, 2, 0, backend="serial").summary
    (shown,) = [t for t in tables(at) if "95% with inputs" in t.columns]
    row = shown.set_index("metric").loc["Net value"]
    usd = expected.loc["net_value_usd"]
    assert row["at the scenario's values"] == formatting.usd(usd["mean"], compact=True)
    assert row["95% with inputs"] == (f"{formatting.usd(usd['low_with_inputs'], compact=True)} to "
                                      f"{formatting.usd(usd['high_with_inputs'], compact=True)}")
    assert usd["high_with_inputs"] - usd["low_with_inputs"] > usd["ci95_high"] - usd["ci95_low"]
    # Another run of the form leaves no figure of the earlier draws on screen.
    run(at, replications=3)
    assert not [t for t in tables(at) if "95% with inputs" in t.columns]


def test_hiring_plan_skills_and_capabilities_reach_the_simulation(downloads):
    at = page()
    at.selectbox(key="scenario").set_value("notebook_shipping").run()
    at.slider(key="replications").set_value(2)
    at.number_input(key="horizon_days.notebook_shipping").set_value(360)
    edit_table(at, "hiring.notebook_shipping", added=[{"day": 60, "role": "ml_engineer", "count": 2}])
    edit_table(at, "skills.notebook_shipping", edited={"0": {"productionisation": 0.6}})
    edit_table(at, "capabilities.notebook_shipping", edited={"1": {"in_place": True}})  # the model registry
    at.button(key="run").click().run()
    assert not at.exception and not at.error
    base = load(SCENARIOS / "notebook_shipping.toml")
    expected = planner.edit(base, horizon_days=360, hiring=[{"day": 60, "role": "ml_engineer", "count": 2}],
                            skills={"data_scientist": {"productionisation": 0.6}}, in_place=["model_registry"])
    downloaded = loads(downloads["notebook_shipping_Horizon_days_360_Hiring_plan_2_hires_3_more.toml"].decode())
    assert downloaded.replace(name=base.name, description=base.description) == expected
    assert expected.horizon_days == 360 and expected.org.hiring[0].count == 2
    assert expected.platform.capabilities.model_registry.built
    figures = replicate(expected, 2, 0).summary
    assert metric(at, "Models shipped") == count(figures.loc["models_shipped", "mean"])
    assert metric(at, "Models shipped") != count(replicate(base, 2, 0).summary.loc["models_shipped", "mean"])
    assert "2 hires planned" in " ".join(c.value for c in at.caption)


def test_an_invalid_edit_shows_the_schema_message_and_runs_nothing():
    # uber_scale hires on day 365; a 30-day horizon puts that hire after the end of the run.
    at = run(page(), scenario="uber_scale", replications=2, horizon_days=30)
    assert "org.hiring[0].day: 365 is not allowed; must be <= horizon_days (30)" in at.error[0].value
    assert not at.metric


def test_a_value_out_of_range_is_refused_in_the_page_and_the_old_results_go():
    at = run(page(), replications=2)
    assert [m.label for m in at.metric] == HEADLINE_LABELS
    at.number_input(key="ml_engineers.notebook_shipping").set_value(-1)
    at.number_input(key="horizon_days.notebook_shipping").set_value(100_000)
    at.button(key="run").click().run()
    assert not at.exception
    assert at.error[0].value.splitlines() == [
        "- ML engineers: -1 is not allowed; must be an integer >= 0 and <= 5000",
        "- Horizon (days): 100000 is not allowed; must be a number >= 1 and <= 36500 (a limit that keeps one run from "
        "hanging or exhausting memory)"]
    assert not at.metric and not at.get("vega_lite_chart") and not at.get("download_button")  # nothing left over
    assert "planner.result" not in at.session_state


def test_a_run_over_the_work_budget_is_refused_in_the_page_before_any_work_and_the_old_results_go():
    """5,000 data scientists for ten years passes every field's range; before the budget it ran for minutes in the
    server's own process, growing past 4.8 GB."""
    at = run(page(), replications=2)
    assert at.metric
    at.number_input(key="data_scientists.notebook_shipping").set_value(5000)
    at.number_input(key="horizon_days.notebook_shipping").set_value(3650)
    started = time.perf_counter()
    at.button(key="run").click().run()
    assert time.perf_counter() - started < 20
    assert not at.exception
    message = at.error[0].value
    assert "models a replication" in message and "the budget is 50,000 models a replication" in message
    assert not at.metric and not at.get("vega_lite_chart")
    assert "planner.result" not in at.session_state


def test_a_team_of_nobody_runs_with_a_warning_that_says_what_is_odd():
    at = run(page(), replications=2, data_scientists=0)
    assert not at.error
    assert at.warning[0].value.startswith("Nobody is in the organisation and nobody is hired")
    assert metric(at, "Models shipped") == "0"


def test_the_build_order_is_numbered_in_the_table_and_a_place_given_twice_is_refused():
    at = page()
    at.selectbox(key="scenario").set_value("fraud_drift").run()
    at.slider(key="replications").set_value(2)
    edit_table(at, "capabilities.fraud_drift", edited={"3": {"build_order": 1}, "1": {"build_order": 2},
                                                        "4": {"build_order": None}})
    at.button(key="run").click().run()
    assert not at.exception and not at.error
    assert at.session_state["planner.result"]["replications"].scenario.platform.build_order == ("monitoring",
                                                                                               "model_registry")
    edit_table(at, "capabilities.fraud_drift", edited={"3": {"build_order": 1}, "1": {"build_order": 1}})
    at.button(key="run").click().run()
    assert [e.value for e in at.error] == ["Build order: 1 is given to Model registry and Monitoring; give each "
                                           "capability its own place"]
    assert not at.metric


def test_bad_table_cells_name_the_field_and_what_is_allowed():
    at = page()
    at.selectbox(key="scenario").set_value("notebook_shipping").run()
    edit_table(at, "hiring.notebook_shipping", added=[{"day": 30, "role": "ml_engineer"}])
    edit_table(at, "skills.notebook_shipping", edited={"1": {"toil": 3}})
    at.button(key="run").click().run()
    assert not at.exception
    assert at.error[0].value.splitlines() == [
        "- org.hiring[0].count: empty is not allowed; must be an integer >= 1 and <= 5000",
        "- skills.ml_engineer.toil: 3.0 is not allowed; must be a number >= 0 and <= 2"]
    assert not at.metric


def test_switching_scenario_marks_old_results_and_offers_the_new_name_for_saving():
    at = run(page(), "platform_team", replications=2)
    assert at.text_input[0].value == "platform_team"
    # It serves its models and prices the rest of its infrastructure, so both join the headline figures, and
    # the cost chart shows each line.
    expected = replicate(load(SCENARIOS / "platform_team.toml"), 2, 0).summary
    assert [m.label for m in at.metric] == [*HEADLINE_LABELS, "Serving cost", "Infrastructure cost"]
    assert metric(at, "Serving cost") == formatting.usd(expected.loc["serving_cost_usd", "mean"], compact=True)
    assert metric(at, "Infrastructure cost") == formatting.usd(expected.loc["infra_cost_usd", "mean"], compact=True)
    assert chart_data(at.get("vega_lite_chart")[3])["label"].tolist() == [
        "staff", "serving", "training compute", "feature computation", "storage", "monitoring compute"]
    at.selectbox(key="scenario").set_value("notebook_shipping").run()
    assert [i.value for i in at.info] == ["The results below are for platform_team; press Run to simulate "
                                          "notebook_shipping."]
    at = run(at, "notebook_shipping", replications=2)
    assert not at.info
    assert at.text_input[0].value == "notebook_shipping"


# -------------------------------------------------------------------------------------------- Compare

def test_compare_shows_paired_differences_on_common_random_numbers(downloads):
    at = run(page(), replications=2, ml_engineers=1)  # an edited scenario is offered for comparison
    assert at.multiselect(key="compare.scenarios").value == ["fifth_ds", "first_mle"]
    (variant,) = [o for o in at.multiselect(key="compare.scenarios").options if o.startswith("notebook_shipping ·")]
    assert variant == "notebook_shipping · ML engineers 1"
    at.multiselect(key="compare.scenarios").set_value(["notebook_shipping", variant])
    at.slider(key="compare.replications").set_value(3)
    at.number_input(key="compare.seed").set_value(4)
    at.button(key="compare.run").click().run()
    assert not at.exception and not at.error

    base = load(SCENARIOS / "notebook_shipping.toml")
    edited = base.replace(org=dataclasses.replace(base.org, ml_engineers=1))
    a, b = replicate(base, 3, 4), replicate(edited, 3, 4)
    paired = compare(a, b).loc["ttp_days_median"]
    side_by_side, differences = tables(at)[3:5]  # after the Run tab's classes, assumptions and metrics
    assert list(side_by_side.columns) == ["notebook_shipping", variant]
    mean = a.summary.loc["models_shipped"]
    assert side_by_side.loc["Models shipped", "notebook_shipping"] == \
        f"{count(mean['mean'])} ({count(mean['ci95_low'])} to {count(mean['ci95_high'])})"
    cell = differences.loc["Median time to production", variant]
    signed = [formatting.signed(paired[k], "days") for k in ("mean", "ci95_low", "ci95_high")]
    assert cell.startswith(f"{signed[0]} ({signed[1]} to {signed[2]}): ")
    assert cell.endswith(planner.difference_verdict(paired["ci95_low"], paired["ci95_high"]))
    titles = chart_titles(at)
    assert "Paired difference from notebook_shipping (point: mean; line: 95% confidence interval)" in titles
    assert {"Scenarios side by side", "Models live by scenario", "Backlog (trained, not yet live) by scenario"} \
        <= {t.rsplit(" (band", 1)[0].split(" (bar")[0] for t in titles}
    csv = pd.read_csv(io.BytesIO(downloads["comparison.csv"]))
    row = csv[(csv["scenario"] == variant) & (csv["metric"] == "ttp_days_median")].iloc[0]
    assert row[["diff_mean", "diff_low", "diff_high"]].tolist() == \
        pytest.approx([paired["mean"], paired["ci95_low"], paired["ci95_high"]])


def test_compare_weighs_the_options_under_input_uncertainty_as_decide_does():
    at = page()
    at.slider(key="compare.replications").set_value(2)
    at.button(key="compare.run").click().run()  # fifth_ds against first_mle, both uncertain as notebook_shipping
    assert not at.exception and not at.error
    at.number_input(key="decision.draws").set_value(10)
    at.button(key="decision.run").click().run()
    assert not at.exception and not at.error
    options = [load(SCENARIOS / f"{name}.toml") for name in ("fifth_ds", "first_mle")]
    expected = decide(options, 10, 2, 0, backend="serial")
    (shown,) = [t for t in tables(at) if "best in" in t.columns]
    assert list(shown["option"]) == ["fifth_ds", "first_mle"]
    assert list(shown["expected net value"]) == [formatting.usd(v, compact=True) for v in expected.table["expected"]]
    assert f"Choose now: **{expected.chosen}**" in at.success[0].value
    assert formatting.value(expected.evpi, "usd") in at.success[0].value
    (evppi,) = [t for t in tables(at) if "worth of learning it alone (EVPPI)" in t.columns]
    assert set(evppi["input"]) == {field_label(u.path) for u in options[0].uncertain}


def test_compare_needs_two_to_four_scenarios():
    at = page()
    at.multiselect(key="compare.scenarios").set_value(["first_mle"])
    at.button(key="compare.run").click().run()
    assert not at.exception
    assert at.error[0].value == "Scenarios: 1 picked; pick 2 to 4 to compare"
    assert not at.get("vega_lite_chart")


# ----------------------------------------------------------------------------------------- Saved runs

def test_save_and_reopen_round_trip(tmp_path, downloads):
    at = page()
    assert f"No runs saved yet in {tmp_path / 'runs.duckdb'}." in [c.value for c in at.caption]
    at = run(at, replications=2, seed=5, ml_engineers=1)
    # The run's label, keyed on the run so that each new run offers its own name.
    (label,) = [t for t in at.text_input if t.key.startswith("save_label.")]
    label.set_value("one MLE")
    at.button(key="save").click().run()
    assert not at.exception and not at.error
    saved = RunStore(tmp_path / "runs.duckdb").list()
    assert saved["label"].tolist() == ["one MLE"]
    assert saved["replications"].tolist() == [2] and saved["seed"].tolist() == [5]
    run_id = int(saved["run_id"].iloc[0])
    assert at.success[0].value.startswith(f"Saved as run {run_id} ")
    assert tables(at)[-2]["label"].tolist() == ["one MLE"]  # the saved-runs list, then the opened run's metrics

    # The Saved runs tab shows the stored figures: the same as the run's headline figures.
    shown = [m.value for m in at.metric]
    headlines = len(HEADLINE_LABELS)
    assert shown[:headlines] == shown[headlines:2 * headlines]
    assert at.selectbox(key="saved.run").value == run_id
    base = load(SCENARIOS / "notebook_shipping.toml")
    edited = base.replace(org=dataclasses.replace(base.org, ml_engineers=1))
    stem = f"notebook_shipping_ML_engineers_1_run{run_id}"
    assert loads(downloads[f"{stem}.toml"].decode()).replace(name=base.name, description=base.description) == edited
    per_replication = pd.read_csv(io.BytesIO(downloads[f"{stem}_replications.csv"]))
    assert per_replication["models_shipped"].tolist() == replicate(edited, 2, 5).per_replication[
        "models_shipped"].tolist()

    # Reopening puts it back on the Run tab with its seed and replications, and runs it: same figures.
    at.button(key="saved.open").click().run()
    assert not at.exception and not at.error
    assert at.session_state["planner.tab"] == "Run"
    source = f"saved run {run_id}: one MLE"
    assert at.selectbox(key="scenario").value == source
    assert at.number_input(key=f"ml_engineers.{source}").value == 1
    assert (at.slider(key="replications").value, at.number_input(key="seed").value) == (2, 5)
    assert at.session_state["planner.result"]["source"] == source
    assert [m.value for m in at.metric][:6] == shown[:6]


def test_an_unwritable_store_shows_an_error(tmp_path, monkeypatch):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("")
    monkeypatch.setenv("MLORG_DB", str(blocker / "runs.duckdb"))
    at = run(page(), replications=2)
    at.button(key="save").click().run()
    assert not at.exception
    assert "cannot open run store" in at.error[0].value
    assert [m.label for m in at.metric] == HEADLINE_LABELS


# ------------------------------------------------------------------------------------ scenario files

def test_invalid_scenario_files_show_an_error_and_the_valid_ones_stay(tmp_path, monkeypatch):
    shutil.copy(SCENARIOS / "platform_team.toml", tmp_path / "platform_team.toml")
    (tmp_path / "broken.toml").write_text('name = "broken"\nhorizon_days = -5\n[org]\nml_enginers = 1\n')
    monkeypatch.setenv("MLORG_SCENARIOS", str(tmp_path))
    at = page()
    message = at.error[0].value
    assert "broken.toml: horizon_days: -5 is not allowed" in message
    assert "org.ml_enginers: unknown key; did you mean 'ml_engineers'?" in message
    assert at.selectbox(key="scenario").options == ["platform_team"]


def test_no_valid_scenario_file_stops_with_an_error(tmp_path, monkeypatch):
    (tmp_path / "syntax.toml").write_text("name = \n")
    monkeypatch.setenv("MLORG_SCENARIOS", str(tmp_path))
    at = page()
    assert "TOML syntax error" in at.error[0].value
    assert "No valid scenario files" in at.error[1].value
    assert not at.selectbox
