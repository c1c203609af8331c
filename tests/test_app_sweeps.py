"""The staffing planner's Sweep, Sensitivity and Goal seek tabs driven through AppTest, checked against the
library's own results; and the planner helpers behind their forms."""

import io
import json
from pathlib import Path

import pandas as pd
import pytest
from streamlit.delta_generator import DeltaGenerator
from streamlit.runtime.scriptrunner_utils.exceptions import StopException
from streamlit.testing.v1 import AppTest

from mlorg import planner, sweeps, uncertainty
from mlorg.scenario import load
from views.planner.sweep_common import field_option

pytestmark = pytest.mark.usefixtures("app_store")  # tests/conftest.py

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "app" / "views" / "staffing_planner.py"
SCENARIO = "notebook_shipping"  # four data scientists: a two-year run takes ~50 ms


@pytest.fixture(scope="module")
def scenario():
    return load(ROOT / "scenarios" / f"{SCENARIO}.toml")


def tab(tab_name: str) -> AppTest:
    """The page with notebook_shipping chosen on the Run tab (every tab works on it) and 2 replications."""
    at = AppTest.from_file(str(PAGE), default_timeout=30).run()
    at.selectbox(key="scenario").set_value(SCENARIO).run()
    at.slider(key=f"{tab_name}.replications").set_value(2)
    return at.run()


def set_input(at: AppTest, tab_name: str, number: int, path: str, spec: str | None = None) -> None:
    """Pick (or type, as the browser sends a new option) a field for input ``number``, then its values."""
    box = at.selectbox(key=f"{tab_name}.path{number}.{SCENARIO}")
    if field_option(path) not in box.options:  # the options as shown: label (path)
        box.options.append(field_option(path))
    box.set_value(path).run()
    if spec is not None:
        at.text_input(key=f"{tab_name}.spec{number}.{SCENARIO}.{path}").set_value(spec)


def chart_titles(at: AppTest) -> list[str]:
    titles = [json.loads(chart.proto.spec)["title"] for chart in at.get("vega_lite_chart")]
    return [title["text"] if isinstance(title, dict) else title for title in titles]


def table_with(at: AppTest, column: str) -> pd.DataFrame:
    """The read-only table that has ``column`` (AppTest does not keep a read-only table's key)."""
    (frame,) = [d.value for d in at.dataframe if d.editing_mode == "read_only" and column in d.value.columns]
    return frame


def chart_marks(at: AppTest) -> list[str]:
    spec = json.loads(at.get("vega_lite_chart")[-1].proto.spec)
    return [layer["mark"]["type"] for layer in spec["layer"]]


# ------------------------------------------------------------------------------------------------ Sweep

def test_a_sweep_shows_the_librarys_cells_chart_and_every_run_as_csv(scenario, downloads):
    at = tab("sweep")
    set_input(at, "sweep", 1, "org.ml_engineers", "0..2")
    at.number_input(key="sweep.seed").set_value(3)
    at.button(key="sweep.run").click().run()
    assert not at.exception and not at.error
    expected = sweeps.sweep(scenario, {"org.ml_engineers": "0..2"}, 2, 3, backend="serial")
    shown = table_with(at, "ci95_high")
    summary = sweeps.summarise_cells(expected, ["ttp_days_p90"])
    assert list(shown["org.ml_engineers"]) == ["0", "1", "2"]
    assert list(shown["mean"]) == list(summary["mean"]) and list(shown["ci95_high"]) == list(summary["ci95_high"])
    assert chart_titles(at) == ["P90 time to production by ML engineers"]
    csv = pd.read_csv(io.BytesIO(downloads[f"{SCENARIO}_sweep.csv"]))
    pd.testing.assert_frame_equal(csv, pd.read_csv(io.StringIO(expected.to_csv(index=False))))
    # Every metric was measured: another one is shown without running again.
    at.selectbox(key="sweep.metric").set_value("models_shipped").run()
    shipped = sweeps.summarise_cells(expected, ["models_shipped"])
    assert list(table_with(at, "ci95_high")["mean"]) == list(shipped["mean"])
    assert chart_titles(at) == ["Models shipped by ML engineers"]


def test_two_inputs_one_typed_draw_lines_per_value_or_a_heatmap(scenario):
    at = tab("sweep")
    set_input(at, "sweep", 1, "org.ml_engineers", "0,2")
    set_input(at, "sweep", 2, "platform.capabilities.model_registry.built")
    assert at.text_input(key=f"sweep.spec2.{SCENARIO}.platform.capabilities.model_registry.built").value == \
        "false,true"
    assert ("Model registry in place at day 0 (`platform.capabilities.model_registry.built`): exists at day 0; now "
            "false; true/false.") in [c.value for c in at.caption]
    at.button(key="sweep.run").click().run()
    assert not at.exception and not at.error
    assert any(c.value.startswith("4 cells × 2 replications from seed 0.") for c in at.caption)
    assert chart_titles(at) == ["P90 time to production by ML engineers and Model registry in place at day 0"]
    assert chart_marks(at) == ["area", "line"]
    at.radio(key="sweep.style").set_value("heatmap").run()
    assert chart_marks(at) == ["rect", "text"]
    shown = table_with(at, "ci95_high")
    assert list(zip(shown["org.ml_engineers"], shown["platform.capabilities.model_registry.built"], strict=True)) == \
        [("0", "false"), ("0", "true"), ("2", "false"), ("2", "true")]


BAD_INPUTS = [  # (input 1, its values, input 2, the message)
    ("org.ml_engineers", "8..0", None, "org.ml_engineers: '8..0' is not allowed; a range needs STOP >= START and a "
                                       "STEP > 0"),
    ("org.ml_engineers", "0,-1", None, "org.ml_engineers: -1 is not allowed; must be an integer >= 0 and <= 5000"),
    ("org.ml_engineer", "0..2", None, "org.ml_engineer: unknown key; did you mean 'ml_engineers'?"),
    ("org.ml_engineers", "0..2", "org.ml_engineers",
     "input 2: org.ml_engineers is already varied as input 1; pick another field"),
]


def test_bad_inputs_show_the_message_naming_the_field_and_run_nothing():
    at = tab("sweep")
    for path, spec, second, message in BAD_INPUTS:
        set_input(at, "sweep", 1, path, spec)
        set_input(at, "sweep", 2, second or "(none)", "1,2" if second else None)
        at.button(key="sweep.run").click().run()
        assert not at.exception
        assert [e.value for e in at.error] == [message]
        assert not at.get("vega_lite_chart")


def stop_at_progress(monkeypatch, done: int) -> None:
    """Make the progress bar's update for run ``done`` raise what Streamlit raises there when the user clicks
    anything while a script runs: the script stops inside the sweep's progress callback."""
    original = DeltaGenerator.progress

    def progress(self, value, text=None):
        if text and text.startswith(f"Sweep: run {done} of"):
            raise StopException()
        return original(self, value, text=text)

    monkeypatch.setattr(DeltaGenerator, "progress", progress)


def test_cancel_stops_a_sweep_and_says_how_far_it_got(monkeypatch):
    at = tab("sweep")
    set_input(at, "sweep", 1, "org.ml_engineers", "0..2")
    stop_at_progress(monkeypatch, 3)
    at.button(key="sweep.run").click().run()
    assert not at.exception and not at.get("vega_lite_chart")
    at.button(key="sweep.cancel").click().run()
    assert [i.value for i in at.info] == ["The sweep was cancelled after 2 of 6 runs."]
    assert "sweep.cancel" not in [b.key for b in at.button]
    # Stopped by another change instead of Cancel: said so, and how to avoid it.
    at.button(key="sweep.run").click().run()
    at.number_input(key="sweep.seed").set_value(1).run()
    assert not at.info
    assert at.warning[0].value.startswith("The sweep stopped after 2 of 6 runs: the page changed while it ran")
    monkeypatch.undo()
    at.button(key="sweep.run").click().run()  # runs to the end once nothing stops it
    # The only warning left is that 2 replications give rough intervals.
    assert [w.value[:36] for w in at.warning] == ["Intervals from 2 replications are ro"]
    assert len(at.get("vega_lite_chart")) == 1


# ------------------------------------------------------------------------------------------ Sensitivity

def test_sensitivity_ranks_the_picked_inputs_as_the_library_does(scenario, downloads):
    at = tab("tornado")
    inputs = ["research.cycle_hours.mean", "org.ml_engineers"]
    assert at.multiselect(key=f"tornado.inputs.{SCENARIO}").value == planner.default_sensitivity_inputs(
        sweeps.numeric_inputs(scenario))
    at.multiselect(key=f"tornado.inputs.{SCENARIO}").set_value([])
    at.button(key="tornado.run").click().run()
    assert [e.value for e in at.error] == ["Inputs to vary: none picked; pick at least one input to vary"]
    at.multiselect(key=f"tornado.inputs.{SCENARIO}").set_value(inputs)
    at.slider(key="tornado.spread").set_value(30)
    at.button(key="tornado.run").click().run()
    assert not at.exception and not at.error
    expected = sweeps.sensitivity(scenario, "ttp_days_p90", 0.3, 2, 0, inputs=inputs, backend="serial")
    shown = table_with(at, "swing_mean")
    assert list(shown["input"]) == list(expected["input"])
    assert list(shown["swing_mean"]) == list(expected["swing_mean"])
    assert chart_titles(at)[0] == f"What moves P90 time to production most (base: {expected['base_mean'][0]:,.1f})"
    csv = pd.read_csv(io.BytesIO(downloads[f"{SCENARIO}_sensitivity_ttp_days_p90.csv"]))
    # org.ml_engineers is 0: its low side (-1) is not allowed and has no value.
    assert list(csv["low_delta_mean"]) == pytest.approx(list(expected["low_delta_mean"]), nan_ok=True)


def test_input_uncertainty_shares_the_variance_as_the_library_does_beside_the_tornado(scenario, downloads):
    at = tab("tornado")
    assert "Uncertain here: " in " ".join(c.value for c in at.caption)
    at.number_input(key="shares.draws").set_value(5)
    at.button(key="shares.run").click().run()
    assert [e.value for e in at.error] == ["Draws of the uncertain inputs: 5 is not allowed; must be an integer >= 10 "
                                           "and <= 1,000"]
    assert not [t for t in chart_titles(at) if t.startswith("What the uncertainty")]
    at.number_input(key="shares.draws").set_value(12)
    at.button(key="shares.run").click().run()
    assert not at.exception and not at.error
    runs = uncertainty.run_uncertain(scenario, 12, 2, 0, backend="serial")
    expected = uncertainty.shares_of(runs, "ttp_days_p90")
    shown = table_with(at, "share_high")
    assert list(shown["input"]) == list(expected["input"]) and list(shown["share"]) == list(expected["share"])
    assert chart_titles(at) == ["What the uncertainty in P90 time to production comes from"]
    csv = pd.read_csv(io.BytesIO(downloads[f"{SCENARIO}_variance_shares_ttp_days_p90.csv"]))
    assert list(csv["share"]) == pytest.approx(list(expected["share"]))
    # With the tornado run too, both charts show, the tornado first; a change of metric marks both as not current.
    at.multiselect(key=f"tornado.inputs.{SCENARIO}").set_value(["org.ml_engineers"])
    at.button(key="tornado.run").click().run()
    assert chart_titles(at) == ["What moves P90 time to production most (base: 131.6)",
                                "What the uncertainty in P90 time to production comes from"]
    at.selectbox(key="tornado.metric").set_value("models_shipped").run()
    assert sum("The results below are for the inputs of the last run" in i.value for i in at.info) == 2


def test_a_scenario_with_no_uncertain_input_says_how_to_mark_one():
    at = AppTest.from_file(str(PAGE), default_timeout=30).run()
    at.selectbox(key="scenario").set_value("uber_scale").run()
    assert any("marks no input as uncertain" in i.value for i in at.info)
    assert not [b for b in at.button if b.key == "shares.run"]


# ------------------------------------------------------------------------------------------- Goal seek

def test_goal_seek_shows_the_librarys_pick_runners_up_and_evidence(scenario):
    at = tab("goal")
    set_input(at, "goal", 1, "org.ml_engineers", "0..3")
    set_input(at, "goal", 2, "(none)")
    at.text_input(key="goal.target").set_value("models_trained>=1")
    # By default the pick has the highest net value.
    assert (at.selectbox(key="goal.direction").value, at.selectbox(key="goal.objective").value) == \
        ("maximise", "net_value_usd")
    at.button(key="goal.run").click().run()
    assert not at.exception and not at.error
    expected = sweeps.optimise(scenario, {"org.ml_engineers": "0..3"}, "models_trained>=1", replications=2,
                               backend="serial")
    assert expected.best is not None and len(expected.runners_up)  # the check below needs a pick and others
    assert [s.value for s in at.success] == [planner.goal_verdict(expected)]
    assert at.success[0].value.startswith("The highest net value among cells meeting models_trained>=1")
    assert list(table_with(at, "against the pick")["org.ml_engineers"]) == \
        [str(v) for v in expected.runners_up["org.ml_engineers"]]
    assert len(table_with(at, "meets_target")) == 4
    # Asked for the lowest total cost instead, it shows that pick.
    at.selectbox(key="goal.direction").set_value("minimise")
    at.selectbox(key="goal.objective").set_value("total_cost_usd")
    at.button(key="goal.run").click().run()
    cheapest = sweeps.optimise(scenario, {"org.ml_engineers": "0..3"}, "models_trained>=1",
                               sweeps.Objective("total_cost_usd", maximise=False), replications=2, backend="serial")
    assert [s.value for s in at.success] == [planner.goal_verdict(cheapest)]
    assert at.success[0].value.startswith("The lowest total cost among cells")


def test_goal_seek_says_when_no_cell_meets_the_target_and_refuses_a_bad_target(scenario):
    at = tab("goal")
    set_input(at, "goal", 1, "org.ml_engineers", "0,1")
    set_input(at, "goal", 2, "(none)")
    at.text_input(key="goal.target").set_value("ttp_days_p90<=1")
    at.button(key="goal.run").click().run()
    assert not at.exception and not at.success
    expected = sweeps.optimise(scenario, {"org.ml_engineers": "0,1"}, "ttp_days_p90<=1", replications=2,
                               backend="serial")
    assert [w.value for w in at.warning] == [planner.goal_verdict(expected)]
    assert at.warning[0].value.startswith("No cell meets ttp_days_p90<=1 with 95% confidence")
    assert "Closest: org.ml_engineers = " in at.warning[0].value
    at.text_input(key="goal.target").set_value("p90<30")
    at.button(key="goal.run").click().run()
    assert [e.value for e in at.error] == ["target: 'p90' is not allowed; must be the name of a run metric, such as "
                                           "ttp_days_p90 or total_cost_usd"]
    assert not at.warning  # the last goal seek's verdict went with its inputs


def test_the_tabs_work_on_the_run_tabs_scenario_and_say_which():
    at = AppTest.from_file(str(PAGE), default_timeout=30).run()
    at.selectbox(key="scenario").set_value("first_mle").run()
    for name in ("sweep", "tornado", "goal"):
        assert "Scenario: **first_mle**, as chosen (and edited) on the Run tab; change it there." in \
            [c.value for c in at.caption]
        assert at.selectbox(key=f"{name}.path1.first_mle" if name != "tornado" else "tornado.metric")
    # An edited run on the Run tab is what they sweep, under the name that says what changed.
    at.number_input(key="ml_engineers.first_mle").set_value(3)
    at.slider(key="replications").set_value(2)
    at.button(key="run").click().run()
    assert "Scenario: **first_mle · ML engineers 3**, as chosen (and edited) on the Run tab; change it there." in \
        [c.value for c in at.caption]
    assert at.selectbox(key="sweep.path1.first_mle · ML engineers 3").value == "org.ml_engineers"
    assert "now 3" in next(c.value for c in at.caption if c.value.startswith("ML engineers (`org.ml_engineers`)"))


# ------------------------------------------------------------------------------------ planner helpers

def test_default_values_stay_inside_what_the_schema_allows(scenario):
    assert planner.default_spec(scenario, "org.ml_engineers") == "0..4"  # 0 people now: 0 to 4
    assert planner.default_spec(scenario, "org.data_scientists") == "2..6"
    assert planner.default_spec(scenario, "research.cycle_hours.mean") == "320,480,640,800,960"
    # 0.9 × 1.25 and × 1.5 are above the schema's 0.99, so they are not offered.
    assert planner.default_spec(scenario, "policy.max_toil_share") == "0.45,0.675,0.9"
    assert planner.default_spec(scenario, "platform.capabilities.model_registry.built") == "false,true"


def test_a_grid_needs_a_field_and_values_for_each_input_and_distinct_fields():
    assert planner.sweep_grid([("org.ml_engineers", " 0..2 ")]) == {"org.ml_engineers": "0..2"}
    with pytest.raises(ValueError, match="org.ml_engineers: no values given"):
        planner.sweep_grid([("org.ml_engineers", "")])
    with pytest.raises(ValueError, match="input 1: no field picked"):
        planner.sweep_grid([(" ", "0..2")])
    assert planner.sweep_runs({"org.ml_engineers": "0..2", "org.platform_engineers": "0,3"}, 5) == 30
    assert planner.sweep_runs({"org.ml_engineers": "2..0"}, 5) is None
