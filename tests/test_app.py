"""The app, driven through Streamlit's AppTest: the router, and the "Run a scenario" page end to end."""

import dataclasses
import io
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

import mlorg.results
from mlorg.results import replicate
from mlorg.scenario import load, loads
from mlorg.store import RunStore

ROOT = Path(__file__).resolve().parents[1]
ROUTER = ROOT / "app" / "streamlit_app.py"
PAGE = ROOT / "app" / "pages" / "run_scenario.py"
SCENARIOS = ROOT / "scenarios"
HEADLINE_LABELS = ["Median time to production", "P90 time to production", "Models shipped", "Backlog at end",
                   "Models abandoned", "Staff cost"]


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Each test gets its own run store and an empty simulation cache."""
    monkeypatch.setenv("MLORG_DB", str(tmp_path / "runs.duckdb"))
    monkeypatch.delenv("MLORG_SCENARIOS", raising=False)
    st.cache_data.clear()
    yield
    st.cache_data.clear()


@pytest.fixture
def downloads(monkeypatch):
    """Captures the bytes behind each download button, by file name."""
    captured: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def spy(self, path_or_data, mimetype, kind, filename=None):
        data = path_or_data.encode() if isinstance(path_or_data, str) else path_or_data
        captured[filename] = data
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", spy)
    return captured


def page() -> AppTest:
    at = AppTest.from_file(str(PAGE), default_timeout=30).run()
    assert not at.exception
    return at


def run(at: AppTest, scenario: str = "notebook_shipping", replications: int = 3, **inputs: int) -> AppTest:
    """Pick a scenario, set the form's inputs (keys as in the page) and press Run."""
    at.selectbox(key="scenario").set_value(scenario).run()
    at.slider(key="replications").set_value(replications)
    for field, value in inputs.items():
        at.number_input(key=f"{field}.{scenario}").set_value(value)
    at.button(key="run").click().run()
    assert not at.exception
    return at


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def days(value: float) -> str:
    return f"{value:,.1f} days"


def test_router_loads_the_run_page():
    at = AppTest.from_file(str(ROUTER), default_timeout=30).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Run a scenario"]
    assert at.selectbox(key="scenario").value == "fifth_ds"


def test_page_loads_with_shipped_scenarios_and_their_headcount():
    at = page()
    assert not at.error
    names = sorted(p.stem for p in SCENARIOS.glob("*.toml"))
    assert at.selectbox(key="scenario").options == [load(SCENARIOS / f"{n}.toml").name for n in names]
    at.selectbox(key="scenario").set_value("platform_team").run()
    scenario = load(SCENARIOS / "platform_team.toml")
    assert scenario.description in [c.value for c in at.caption]
    assert at.number_input(key="data_scientists.platform_team").value == scenario.org.data_scientists
    assert at.number_input(key="ml_engineers.platform_team").value == scenario.org.ml_engineers
    assert at.number_input(key="platform_engineers.platform_team").value == scenario.org.platform_engineers
    assert at.number_input(key="horizon_days.platform_team").value == scenario.horizon_days
    assert not at.metric  # nothing runs until Run is pressed


def test_run_with_defaults_shows_the_library_figures_and_charts():
    at = run(page())
    assert not at.error
    assert [m.label for m in at.metric] == HEADLINE_LABELS
    expected = replicate(load(SCENARIOS / "notebook_shipping.toml"), 3, 0).summary
    assert metric(at, "Median time to production") == days(expected.loc["ttp_days_median", "mean"])
    assert metric(at, "Models shipped") == f"{expected.loc['models_shipped', 'mean']:,.1f}"
    low, high = expected.loc["ttp_days_median", ["ci95_low", "ci95_high"]]
    assert f"95% CI {days(low)} to {days(high)}" in [c.value for c in at.caption]
    titles = [json.loads(chart.proto.spec)["title"] for chart in at.get("vega_lite_chart")]
    assert [t.split(" (")[0] for t in titles] == ["Models over time", "Time to production", "Where the time goes"]
    assert "confidence interval of the mean" in titles[0]
    at.radio(key="band").set_value("range").run()
    assert "middle 95% of replications" in json.loads(at.get("vega_lite_chart")[0].proto.spec)["title"]
    table = at.dataframe[0].value
    assert {"ttp_days_median", "staff_cost_usd", "models_abandoned"} <= set(table.index)
    assert table.loc["models_shipped", "mean"] == pytest.approx(expected.loc["models_shipped", "mean"])


def test_more_ml_engineers_shorten_the_median_time_to_production():
    at = run(page())
    before = metric(at, "Median time to production")
    run(at, ml_engineers=2)
    after = metric(at, "Median time to production")
    base = load(SCENARIOS / "notebook_shipping.toml")
    edited = base.replace(org=dataclasses.replace(base.org, ml_engineers=2))
    expected = replicate(edited, 3, 0).summary.loc["ttp_days_median", "mean"]
    assert after == days(expected)
    assert float(after.split()[0]) < float(before.split()[0])
    assert "2 ML engineers" in " ".join(c.value for c in at.caption)


def test_a_repeated_run_comes_from_the_cache(monkeypatch):
    calls = []
    real = mlorg.results.replicate
    monkeypatch.setattr(mlorg.results, "replicate", lambda *a, **k: calls.append(a) or real(*a, **k))
    at = run(page())
    first = [m.value for m in at.metric]
    at.button(key="run").click().run()
    assert not at.exception
    assert [m.value for m in at.metric] == first
    assert len(calls) == 1


def test_downloads_round_trip_the_edited_scenario_and_replications(downloads):
    at = run(page(), ml_engineers=2, horizon_days=360)
    base = load(SCENARIOS / "notebook_shipping.toml")
    edited = base.replace(org=dataclasses.replace(base.org, ml_engineers=2), horizon_days=360.0)
    assert loads(downloads["notebook_shipping.toml"].decode()) == edited
    table = pd.read_csv(io.BytesIO(downloads["notebook_shipping_replications.csv"]))
    assert table["replication"].tolist() == [0, 1, 2]
    expected = replicate(edited, 3, 0).per_replication
    assert table["models_shipped"].tolist() == expected["models_shipped"].tolist()
    # A click on a download button reruns nothing away: the results stay on the page.
    at.get("download_button")[0].click().run()
    assert not at.exception
    assert [m.label for m in at.metric] == HEADLINE_LABELS


def test_save_run_stores_it_and_lists_it(tmp_path):
    at = run(page(), replications=2)
    (label,) = at.text_input  # the run's label, keyed on the run so that each new run offers its own name
    label.set_value("baseline")
    at.button(key="save").click().run()
    assert not at.exception and not at.error
    saved = RunStore(tmp_path / "runs.duckdb").list()
    assert saved["label"].tolist() == ["baseline"]
    assert saved["replications"].tolist() == [2]
    run_id = int(saved["run_id"].iloc[0])
    assert at.success[0].value.startswith(f"Saved as run {run_id} ")
    assert at.dataframe[-1].value["label"].tolist() == ["baseline"]  # the saved-runs expander


def test_an_unwritable_store_shows_an_error(tmp_path, monkeypatch):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("")
    monkeypatch.setenv("MLORG_DB", str(blocker / "runs.duckdb"))
    at = run(page(), replications=2)
    at.button(key="save").click().run()
    assert not at.exception
    assert "cannot open run store" in at.error[0].value
    assert [m.label for m in at.metric] == HEADLINE_LABELS


def test_invalid_scenario_files_show_an_error_and_the_valid_ones_stay(tmp_path, monkeypatch):
    shutil.copy(SCENARIOS / "first_mle.toml", tmp_path / "first_mle.toml")
    (tmp_path / "broken.toml").write_text('name = "broken"\nhorizon_days = -5\n[org]\nml_enginers = 1\n')
    monkeypatch.setenv("MLORG_SCENARIOS", str(tmp_path))
    at = page()
    message = at.error[0].value
    assert "broken.toml: horizon_days: -5 is not allowed" in message
    assert "org.ml_enginers: unknown key; did you mean 'ml_engineers'?" in message
    assert at.selectbox(key="scenario").options == ["first_mle"]


def test_no_valid_scenario_file_stops_with_an_error(tmp_path, monkeypatch):
    (tmp_path / "syntax.toml").write_text("name = \n")
    monkeypatch.setenv("MLORG_SCENARIOS", str(tmp_path))
    at = page()
    assert "TOML syntax error" in at.error[0].value
    assert "No valid scenario files" in at.error[1].value
    assert not at.selectbox


def test_an_invalid_edit_shows_the_schema_message_and_runs_nothing():
    # uber_scale hires on day 365; a 30-day horizon puts that hire after the end of the run.
    at = run(page(), scenario="uber_scale", horizon_days=30)
    assert "org.hiring[0].day: 365 is not allowed; must be <= horizon_days (30)" in at.error[0].value
    assert not at.metric


def test_switching_scenario_marks_old_results_and_offers_the_new_name_for_saving():
    at = run(page(), "first_mle", replications=2)
    assert at.text_input[0].value == "first_mle"
    at.selectbox(key="scenario").set_value("notebook_shipping").run()
    assert [i.value for i in at.info] == ["The results below are for first_mle; press Run to simulate "
                                          "notebook_shipping."]
    at = run(at, "notebook_shipping", replications=2)
    assert not at.info
    assert at.text_input[0].value == "notebook_shipping"
