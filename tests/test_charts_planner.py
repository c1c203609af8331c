"""The staffing planner's charts: cost with intervals, scenarios side by side, paired differences, series."""

import math

import pandas as pd
import pytest

from mlorg import charts


def rows(spec: dict) -> list[dict]:
    return spec["datasets"][spec["data"]["name"]]


def summary(**metrics: tuple[float, float, float]) -> pd.DataFrame:
    frame = pd.DataFrame.from_dict(metrics, orient="index", columns=["mean", "ci95_low", "ci95_high"])
    frame["n"] = 3
    frame.index.name = "metric"
    return frame


def comparison() -> pd.DataFrame:
    """A table shaped like mlorg.planner.comparison_table's: baseline "a", then "b" and "c"."""
    records = []
    for scenario, shift in (("a", None), ("b", 2.0), ("c", -1.0)):
        for metric, label, kind, mean in (("ttp_days_median", "Median time to production", "days", 30.0),
                                          ("models_shipped", "Models shipped", "count", 10.0)):
            diff = (math.nan,) * 3 if shift is None else (shift, shift - 1.0, shift + 1.0)
            records.append({"scenario": scenario, "metric": metric, "label": label, "kind": kind,
                            "mean": mean + (shift or 0.0), "ci95_low": mean - 1, "ci95_high": mean + 1, "n": 3,
                            "diff_mean": diff[0], "diff_low": diff[1], "diff_high": diff[2]})
    return pd.DataFrame(records)


def test_interval_frame_labels_rows_and_skips_undefined_metrics():
    data = charts.interval_frame(summary(staff_cost_usd=(100.0, 90.0, 110.0),
                                         serving_cost_usd=(math.nan, math.nan, math.nan)),
                                 {"staff_cost_usd": "staff", "serving_cost_usd": "serving", "absent": "x"})
    assert data.to_dict("records") == [{"label": "staff", "mean": 100.0, "low": 90.0, "high": 110.0}]


def test_cost_summary_draws_mean_bars_and_interval_rules():
    spec = charts.cost_summary(summary(staff_cost_usd=(1e6, 9e5, 1.1e6),
                                       serving_cost_usd=(2e5, 1.5e5, 2.5e5))).to_dict()
    assert spec["title"].startswith("Cost over the run")
    assert [(r["label"], r["mean"], r["low"], r["high"]) for r in rows(spec)] == [
        ("staff", 1e6, 9e5, 1.1e6), ("serving", 2e5, 1.5e5, 2.5e5)]
    bars, whiskers = spec["layer"]
    assert bars["mark"]["type"] == "bar" and bars["encoding"]["x"]["field"] == "mean"
    assert whiskers["mark"]["type"] == "rule"
    assert (whiskers["encoding"]["x"]["field"], whiskers["encoding"]["x2"]["field"]) == ("low", "high")
    assert bars["encoding"]["y"]["sort"] == ["staff", "serving"]


def test_scenario_metrics_panels_each_metric_on_its_own_scale():
    spec = charts.scenario_metrics(comparison()).to_dict()
    assert spec["resolve"]["scale"]["x"] == "independent"
    assert spec["facet"]["field"] == "panel"
    assert spec["facet"]["sort"] == ["Median time to production (days)", "Models shipped (models)"]
    data = rows(spec)
    assert len(data) == 6
    assert {(r["scenario"], r["panel"], r["mean"]) for r in data} >= {("b", "Models shipped (models)", 12.0),
                                                                     ("c", "Median time to production (days)", 29.0)}
    bars, whiskers = spec["spec"]["layer"]
    assert bars["encoding"]["y"]["sort"] == ["a", "b", "c"]
    assert (whiskers["encoding"]["x"]["field"], whiskers["encoding"]["x2"]["field"]) == ("ci95_low", "ci95_high")


def test_paired_differences_show_each_other_scenario_against_zero():
    spec = charts.paired_differences(comparison()).to_dict()
    assert spec["title"].startswith("Paired difference from a ")
    data = rows(spec)
    assert sorted({r["scenario"] for r in data}) == ["b", "c"]  # the baseline has no difference from itself
    assert {(r["scenario"], r["diff_mean"], r["diff_low"], r["diff_high"]) for r in data} == {
        ("b", 2.0, 1.0, 3.0), ("c", -1.0, -2.0, 0.0)}
    zero, whiskers, points = spec["spec"]["layer"]
    assert zero["encoding"]["x"] == {"datum": 0}
    assert (whiskers["encoding"]["x"]["field"], whiskers["encoding"]["x2"]["field"]) == ("diff_low", "diff_high")
    assert points["encoding"]["x"]["field"] == "diff_mean"
    # The colour domain keeps the baseline, so each scenario has the colour it has side by side.
    assert points["encoding"]["color"]["scale"]["domain"] == ["a", "b", "c"]
    sides = charts.scenario_metrics(comparison()).to_dict()["spec"]["layer"][0]
    assert sides["encoding"]["color"]["scale"] == points["encoding"]["color"]["scale"]
    assert spec["resolve"]["scale"]["x"] == "independent"


def test_scenarios_over_time_bands_each_scenario_separately():
    one = [pd.DataFrame({"day": [0.0, 7.0], "models_live": [1, 3]}),
           pd.DataFrame({"day": [0.0, 7.0], "models_live": [3, 5]})]
    other = [pd.DataFrame({"day": [0.0, 7.0], "models_live": [10, 20]}),
             pd.DataFrame({"day": [0.0, 7.0], "models_live": [10, 20]})]
    spec = charts.scenarios_over_time({"one": one, "other": other}, interval="range").to_dict()
    assert spec["title"] == "Models live by scenario (band: middle 95% of replications)"
    data = pd.DataFrame(rows(spec))
    expected = charts.bands(one, ["models_live"], interval="range")
    assert data.loc[data["scenario"] == "one", "mean"].tolist() == expected["mean"].tolist() == [2.0, 4.0]
    assert data.loc[data["scenario"] == "other", ["low", "high"]].to_numpy().tolist() == [[10, 10], [20, 20]]
    band, line = spec["layer"]
    assert band["mark"]["type"] == "area" and line["mark"]["type"] == "line"
    assert line["encoding"]["color"]["sort"] == ["one", "other"]
    with pytest.raises(ValueError, match="not in the frames"):
        charts.scenarios_over_time({"one": one}, "backlog")


def test_time_use_gives_incident_work_its_own_colour():
    frame = pd.DataFrame({"role": ["ml_engineer"] * 2, "activity": ["toil", "incident"], "hours": [3.0, 1.0]})
    colour = charts.time_use(frame).to_dict()["encoding"]["color"]["scale"]
    assert colour["domain"] == ["toil", "incident"]
    assert colour["range"] == [charts.ACTIVITY_COLOURS["toil"], charts.ACTIVITY_COLOURS["incident"]]
    assert charts.ACTIVITY_COLOURS["incident"] not in {c for a, c in charts.ACTIVITY_COLOURS.items() if a != "incident"}


def test_a_band_of_few_replications_stays_above_zero_for_a_count():
    from mlorg.charts import bands

    frames = [pd.DataFrame({"day": [0.0, 7.0], "models_live": [0.0, 12.0]}),
              pd.DataFrame({"day": [0.0, 7.0], "models_live": [4.0, 1.0]})]
    band = bands(frames, ["models_live"])
    assert (band["low"] >= 0).all() and band["low"].iloc[0] == 0.0
    assert band["high"].iloc[1] > 12.0  # the upper side keeps its width
