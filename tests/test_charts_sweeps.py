"""The sweep and tornado charts: what each layer draws, from hand-made library-shaped tables."""

import math

import pandas as pd
import pytest

from mlorg import charts


def rows(spec: dict) -> list[dict]:
    return spec["datasets"][spec["data"]["name"]]


def layer_rows(spec: dict, layer: dict) -> list[dict]:
    return spec["datasets"][layer["data"]["name"]]


def summary(values: dict[str, list], means: list[float], metric: str = "ttp_days_p90") -> pd.DataFrame:
    """A frame shaped like mlorg.sweeps.summarise_cells(table, [metric]): cell, inputs, metric, mean, CI, n."""
    frame = pd.DataFrame({"cell": range(len(means)), **values, "metric": metric, "mean": means})
    frame["ci95_low"] = frame["mean"] - 2.0
    frame["ci95_high"] = frame["mean"] + 2.0
    frame["n"] = 3
    return frame


def tornado(spread: float = 0.2) -> pd.DataFrame:
    """A frame shaped like mlorg.sweeps.sensitivity's, ranked; the second input's low side was not allowed."""
    table = pd.DataFrame([
        {"rank": 1, "input": "org.ml_engineers", "base_value": 2, "low_value": 1, "high_value": 3, "base_mean": 40.0,
         "low_delta_mean": 12.0, "low_delta_ci95_low": 9.0, "low_delta_ci95_high": 15.0,
         "high_delta_mean": -8.0, "high_delta_ci95_low": -10.0, "high_delta_ci95_high": -6.0,
         "swing_mean": -20.0, "swing_ci95_low": -24.0, "swing_ci95_high": -16.0},
        {"rank": 2, "input": "policy.max_toil_share", "base_value": 0.99, "low_value": None, "high_value": 0.792,
         "base_mean": 40.0, "low_delta_mean": math.nan, "low_delta_ci95_low": math.nan,
         "low_delta_ci95_high": math.nan, "high_delta_mean": 1.5, "high_delta_ci95_low": -0.5,
         "high_delta_ci95_high": 3.5, "swing_mean": 1.5, "swing_ci95_low": -0.5, "swing_ci95_high": 3.5}])
    table.attrs.update(metric="ttp_days_p90", spread=spread)
    return table


def test_one_numeric_input_draws_a_mean_line_over_its_confidence_band():
    data = summary({"org.ml_engineers": [0, 1, 2]}, [90.0, 50.0, 30.0])
    spec = charts.sweep_chart(data, metric_label="P90 time to production").to_dict()
    assert spec["title"] == {"text": "P90 time to production by org.ml_engineers",
                             "subtitle": "line: mean; band: 95% confidence interval of the mean"}
    band, line = spec["layer"]
    assert band["mark"]["type"] == "area" and (band["encoding"]["y"]["field"], band["encoding"]["y2"]["field"]) == \
        ("low", "high")
    assert line["mark"]["type"] == "line" and line["encoding"]["y"]["field"] == "mean"
    # The dotted path is a title only: Vega-Lite would read "org.ml_engineers" as a nested field. A whole
    # number (people) has whole ticks.
    assert line["encoding"]["x"] == {"field": "x", "scale": {"zero": False}, "title": "org.ml_engineers",
                                     "type": "quantitative", "axis": {"format": "d", "tickMinStep": 1}}
    assert [(r["x"], r["mean"], r["low"], r["high"]) for r in rows(spec)] == [
        (0, 90.0, 88.0, 92.0), (1, 50.0, 48.0, 52.0), (2, 30.0, 28.0, 32.0)]


def test_a_fractional_input_keeps_the_default_ticks():
    data = summary({"policy.max_toil_share": [0.45, 0.9]}, [50.0, 40.0])
    assert "axis" not in charts.sweep_chart(data).to_dict()["layer"][1]["encoding"]["x"]


def test_cells_where_the_metric_was_never_defined_are_left_out():
    data = summary({"org.ml_engineers": [0, 1, 2]}, [math.nan, 50.0, 30.0])
    assert list(charts.sweep_frame(data)["x"]) == [1, 2]


def test_a_second_input_draws_one_coloured_line_per_value_in_grid_order():
    data = summary({"org.ml_engineers": [0, 0, 1, 1], "org.platform_engineers": [3, 0, 3, 0]},
                   [90.0, 80.0, 40.0, 35.0])
    spec = charts.sweep_chart(data).to_dict()
    assert spec["title"]["text"] == "ttp_days_p90 by org.ml_engineers and org.platform_engineers"
    band, line = spec["layer"]
    colour = line["encoding"]["color"]
    assert (colour["field"], colour["title"], colour["sort"]) == ("series", "org.platform_engineers", ["3", "0"])
    assert band["encoding"]["color"]["field"] == "series"
    assert [(r["x"], r["series"]) for r in rows(spec)] == [(0, "3"), (0, "0"), (1, "3"), (1, "0")]


def test_a_heatmap_colours_each_cell_by_its_mean_and_prints_it():
    data = summary({"org.ml_engineers": [0, 0, 1, 1], "org.platform_engineers": [0, 3, 0, 3]},
                   [90.0, 80.0, 40.0, 35.0])
    spec = charts.sweep_chart(data, style="heatmap", value_format=",.0f").to_dict()
    cells, text = spec["layer"]
    assert cells["mark"]["type"] == "rect" and cells["encoding"]["color"]["field"] == "mean"
    assert (cells["encoding"]["x"]["type"], cells["encoding"]["y"]["field"]) == ("ordinal", "series")
    assert text["mark"]["type"] == "text" and text["encoding"]["text"] == {"field": "mean", "format": ",.0f",
                                                                           "type": "quantitative"}
    assert spec["title"]["subtitle"] == "colour and figure: mean over replications"


def test_a_choice_or_true_false_input_is_drawn_as_categories_with_error_bars():
    data = summary({"platform.capabilities.model_registry.built": [False, True]}, [60.0, 45.0])
    spec = charts.sweep_chart(data).to_dict()
    bars, line = spec["layer"]
    assert bars["mark"]["type"] == "rule" and spec["title"]["subtitle"].startswith("line: mean; bars: 95%")
    assert line["encoding"]["x"]["type"] == "nominal" and line["encoding"]["x"]["sort"] == ["false", "true"]
    assert [r["x"] for r in rows(spec)] == ["false", "true"]


@pytest.mark.parametrize("values, style, message", [
    ({"org.ml_engineers": [0, 1]}, "heatmap", "style: 'heatmap' needs two varied inputs"),
    ({"org.ml_engineers": [0, 1]}, "bars", "style: 'bars' is not allowed; must be one of lines, heatmap"),
    ({"a.b": [0, 1], "c.d": [0, 1], "e.f": [0, 1]}, "lines", "one metric against one or two varied inputs"),
])
def test_what_a_sweep_chart_cannot_draw_is_refused(values, style, message):
    with pytest.raises(ValueError, match=message):
        charts.sweep_chart(summary(values, [1.0, 2.0]), style=style)


def test_tornado_ranks_inputs_and_draws_each_allowed_side_with_its_interval():
    spec = charts.tornado_chart(tornado(), metric_label="P90 time to production").to_dict()
    bars, whiskers, zero = spec["layer"]
    assert bars["encoding"]["y"]["sort"] == ["org.ml_engineers (2)", "policy.max_toil_share (0.99)"]
    assert bars["encoding"]["x"]["stack"] is None  # each bar from zero, not stacked on the other side
    assert bars["encoding"]["yOffset"]["field"] == "side"
    assert bars["encoding"]["color"]["scale"] == {"domain": ["−20%", "+20%"], "range": ["#4c78a8", "#f58518"]}
    assert (whiskers["encoding"]["x"]["field"], whiskers["encoding"]["x2"]["field"]) == ("delta_low", "delta_high")
    assert zero["encoding"]["x"] == {"datum": 0}
    # The side the schema refused (a toil share above the limit) has no bar.
    assert [(r["input"], r["side"], r["value"], r["delta"], r["delta_low"], r["delta_high"]) for r in rows(spec)] == [
        ("org.ml_engineers (2)", "−20%", "1", 12.0, 9.0, 15.0),
        ("org.ml_engineers (2)", "+20%", "3", -8.0, -10.0, -6.0),
        ("policy.max_toil_share (0.99)", "+20%", "0.792", 1.5, -0.5, 3.5)]
    assert spec["title"]["text"] == "What moves P90 time to production most (base: 40.0)"


def test_tornado_names_sides_by_the_spread_and_formats_money_in_its_title():
    table = tornado(spread=0.5)
    table["base_mean"] = 1_234_567.0
    spec = charts.tornado_chart(table, value_format=charts.VALUE_FORMATS["usd"]).to_dict()
    assert sorted({r["side"] for r in rows(spec)}) == ["+50%", "−50%"]
    assert spec["title"]["text"].endswith("(base: $1,234,567)") and "change in ttp_days_p90 from the base" == \
        spec["layer"][0]["encoding"]["x"]["title"]


def test_a_tornado_table_of_another_shape_is_refused():
    with pytest.raises(ValueError, match=r"columns \['swing_mean'\] are not in the tornado table"):
        charts.tornado_chart(tornado().drop(columns=["swing_mean"]))
