"""Charts of the serving, monitoring-tuner and registry pages: their data rows and encodings, on hand-made inputs."""

import math

import altair as alt
import pandas as pd
import pytest

from mlorg import charts
from mlorg.monitoring.characteristics import OperatingPoint
from mlorg.serving.capacity import HOURS_PER_MONTH, Option


def rows(spec: dict) -> list[dict]:
    return spec["datasets"][spec["data"]["name"]]


def walk(node: dict, data: dict | None = None) -> list[tuple[dict, dict | None]]:
    """Every leaf layer with the data it draws (its own, or that of the nearest layer above it)."""
    data = node.get("data", data)
    if "layer" not in node:
        return [(node, data)]
    return [leaf for child in node["layer"] for leaf in walk(child, data)]


def leaves(chart: alt.LayerChart) -> list[dict]:
    return [leaf for leaf, _ in walk(chart.to_dict())]


def layer_rows(chart: alt.LayerChart) -> list[list[dict]]:
    """The data rows of each leaf layer, in order (nested layers flattened)."""
    spec = chart.to_dict()
    return [spec["datasets"][data["name"]] for _, data in walk(spec)]


# ------------------------------------------------------------------------------------------ latency

SIMULATED = {"p50_ms": 14.0, "p95_ms": 60.0, "p99_ms": 92.0, "utilization": 0.6}
ANALYTIC = {"p50_ms": 14.1, "p95_ms": 60.1, "p99_ms": 92.3}
PK_ONLY = {"mean_wait_ms": 3.0}  # M/G/1: a mean wait, no percentile


def test_latency_table_keeps_sources_in_order_and_skips_missing_figures():
    table = charts.latency_table({"simulated": SIMULATED, "analytic": None, "pk": PK_ONLY,
                                  "approximation": {"p50_ms": 13.0, "p95_ms": math.nan, "p99_ms": 90.0}})
    assert table.to_dict("records") == [
        {"source": "simulated", "percentile": "p50", "ms": 14.0},
        {"source": "simulated", "percentile": "p95", "ms": 60.0},
        {"source": "simulated", "percentile": "p99", "ms": 92.0},
        {"source": "approximation", "percentile": "p50", "ms": 13.0},
        {"source": "approximation", "percentile": "p99", "ms": 90.0},
    ]


def test_latency_percentiles_groups_bars_by_source_with_the_slo_line():
    chart = charts.latency_percentiles({"simulated": SIMULATED, "analytic": ANALYTIC}, slo_ms=100)
    bars, rule, label = leaves(chart)
    assert bars["mark"]["type"] == "bar"
    assert bars["encoding"]["xOffset"]["field"] == "source"
    assert bars["encoding"]["x"]["sort"] == ["p50", "p95", "p99"]
    assert bars["encoding"]["color"]["sort"] == ["simulated", "analytic"]
    data, slo, text = layer_rows(chart)
    assert [(r["source"], r["percentile"], r["ms"]) for r in data][-1] == ("analytic", "p99", 92.3)
    assert rule["mark"]["type"] == "rule" and slo == [{"ms": 100, "label": "SLO p99 100 ms"}]
    assert chart.to_dict()["title"] == "Latency percentiles"
    without = charts.latency_percentiles({"simulated": SIMULATED})
    assert len(leaves(without)) == 1


# -------------------------------------------------------------------------------------- capacity

def options() -> list[Option]:
    return [Option("c6i.xlarge", replicas, replicas * 4, 0.9 * 3 / replicas, p99, replicas * 0.17)
            for replicas, p99 in ((3, 140.0), (4, 95.0), (5, 91.0))]


def test_options_frame_carries_each_option_and_its_monthly_cost():
    frame = charts.options_frame(options())
    assert list(frame.columns) == ["instance", "replicas", "servers", "utilisation", "p99_ms", "usd_per_hour",
                                   "usd_per_month"]
    assert frame["replicas"].tolist() == [3, 4, 5]
    assert frame["usd_per_month"].tolist() == pytest.approx([r * 0.17 * HOURS_PER_MONTH for r in (3, 4, 5)])


def test_cost_latency_curve_marks_the_slo_and_the_chosen_replicas():
    chart = charts.cost_latency_curve(options(), slo_ms=100, chosen_replicas=4)
    spec = chart.to_dict()
    assert spec["title"]["text"] == "p99 against cost on c6i.xlarge"
    layers = leaves(chart)
    data = layer_rows(chart)
    points = layers[1]
    assert points["encoding"]["color"]["field"] == "meets_slo"
    assert [r["meets_slo"] for r in data[1]] == ["misses the SLO", "meets the SLO", "meets the SLO"]
    assert layers[2]["encoding"]["text"]["field"] == "replicas"
    assert data[3] == [{"p99_ms": 100, "label": "SLO p99 100 ms"}]
    assert [r["replicas"] for r in data[-1]] == [4]  # the ring around the chosen configuration
    # Every layer shares the log y scale, and its domain holds both the points and the SLO.
    assert all(layer["encoding"]["y"]["scale"]["type"] == "log" for layer in layers if "field" in
               layer["encoding"].get("y", {}))
    low, high = points["encoding"]["y"]["scale"]["domain"]
    assert low < 91.0 and high > 140.0


def test_cost_latency_curve_drops_unstable_options_and_has_no_ring_without_a_choice():
    unstable = Option("c6i.xlarge", 2, 8, 1.2, math.inf, 0.34)
    chart = charts.cost_latency_curve([unstable, *options()], slo_ms=100)
    assert [r["replicas"] for r in layer_rows(chart)[0]] == [3, 4, 5]
    assert len(leaves(chart)) == 5  # line, points, labels, SLO rule and its label


def test_instance_costs_sorts_by_cost_and_highlights_the_cheapest():
    found = [Option("g5.xlarge", 3, 12, 0.8, 90.0, 3.018), Option("c6g.xlarge", 3, 12, 0.8, 90.0, 0.408),
             Option("c5.2xlarge", 2, 16, 0.6, 85.0, 0.68)]
    spec = charts.instance_costs(found).to_dict()
    data = rows(spec)
    assert [r["label"] for r in data] == ["3 × c6g.xlarge", "2 × c5.2xlarge", "3 × g5.xlarge"]
    assert [r["cheapest"] for r in data] == ["cheapest", "other", "other"]
    assert spec["encoding"]["y"]["sort"] == [r["label"] for r in data]
    assert spec["encoding"]["x"]["field"] == "usd_per_month"


# ------------------------------------------------------------------------------------ monitoring

TRAFFIC = 100.0  # samples per hour


def point(threshold: float, false_alarms: float, lag_hours: float, optimal_samples: float) -> OperatingPoint:
    return OperatingPoint(detector="mean", threshold=threshold, shift=0.1, false_alarm_probability=0.0,
                          alarm_probability=0.5, false_alarms_per_month=false_alarms, arl0_samples=1e6,
                          detection_lag_hours=lag_hours, detection_lag_samples=lag_hours * TRAFFIC,
                          worst_case_lag_samples=lag_hours * 1.5 * TRAFFIC, optimal_delay_samples=optimal_samples,
                          optimal_h=4.0, lorden_approx_samples=optimal_samples * 1.1)


def sweep_points() -> list[OperatingPoint]:
    return [point(2.0, 10.0, 10.0, 300.0), point(3.0, 0.5, 20.0, 600.0), point(4.0, 1e-9, 40.0, 900.0),
            point(6.0, 0.0, math.inf, math.nan)]


def test_operating_points_frame_converts_samples_to_hours():
    frame = charts.operating_points_frame(sweep_points(), traffic_per_hour=TRAFFIC)
    assert frame["threshold"].tolist() == [2.0, 3.0, 4.0, 6.0]
    assert frame["worst_case_lag_hours"].tolist()[:3] == pytest.approx([15.0, 30.0, 60.0])
    assert frame["optimal_delay_hours"].tolist()[:3] == pytest.approx([3.0, 6.0, 9.0])
    with pytest.raises(ValueError, match="traffic_per_hour"):
        charts.operating_points_frame(sweep_points(), traffic_per_hour=0)


def test_tradeoff_lines_floor_rare_alarms_and_drop_thresholds_that_never_detect():
    lines = charts.tradeoff_lines(sweep_points(), traffic_per_hour=TRAFFIC)
    expected = lines[lines["series"] == "detection_lag_hours"]
    assert expected["threshold"].tolist() == [2.0, 3.0, 4.0]  # threshold 6 never detects: no row
    assert expected["x"].tolist() == [10.0, 0.5, charts.ALARM_FLOOR]
    assert expected["false_alarms_per_month"].tolist() == [10.0, 0.5, 1e-9]  # the true value stays for tooltips
    assert set(lines["label"]) == set(charts.LAG_SERIES.values())
    bound = lines[lines["series"] == "optimal_delay_hours"]
    assert bound["hours"].tolist() == pytest.approx([3.0, 6.0, 9.0])


def test_detection_tradeoff_draws_curves_current_point_budget_and_recommendation():
    points = sweep_points()
    chart = charts.detection_tradeoff(points, traffic_per_hour=TRAFFIC, current=points[0], budget=1.0,
                                      recommended=points[1])
    layers = leaves(chart)
    data = layer_rows(chart)
    lines = layers[0]
    assert lines["encoding"]["x"]["scale"]["type"] == "log" and lines["encoding"]["y"]["scale"]["type"] == "log"
    assert len(data[0]) == 9  # three series at the three thresholds that detect
    markers = [d[0] for d in data if d and "marker" in d[0]]
    assert [(m["marker"], m["threshold"]) for m in markers] == [("within budget", 3.0), ("within budget", 3.0),
                                                                ("current", 2.0), ("current", 2.0)]
    assert data[-2] == [{"x": 1.0, "label": "budget 1/month"}]
    # The budget line shares the log x scale of the curves.
    assert layers[-2]["encoding"]["x"]["scale"]["type"] == "log"


def test_detection_tradeoff_without_markers_or_budget_has_only_the_curves():
    chart = charts.detection_tradeoff(sweep_points(), traffic_per_hour=TRAFFIC)
    assert len(leaves(chart)) == 1
    # A current setting that never detects has no point to mark.
    never = charts.detection_tradeoff(sweep_points(), traffic_per_hour=TRAFFIC, current=sweep_points()[3])
    assert len(leaves(never)) == 1


# -------------------------------------------------------------------------------------- registry

def history() -> pd.DataFrame:
    return pd.DataFrame({
        "seq": [1, 2, 3], "at": pd.to_datetime(["2026-03-01", "2026-04-01", "2026-04-10"]),
        "version": [1, 2, 1], "action": ["deploy", "promote", "rollback"], "alias": ["champion"] * 3,
        "previous_version": [None, 1, 2], "reason": ["first model", "challenger better", "recall fell"],
        "actor": ["pipeline"] * 3})


def test_deployment_timeline_steps_through_versions_coloured_by_action():
    chart = charts.deployment_timeline(history())
    line, points = leaves(chart)
    assert line["mark"] == {"type": "line", "interpolate": "step-after"}
    assert points["encoding"]["color"]["field"] == "action"
    assert points["encoding"]["color"]["scale"]["domain"] == ["deploy", "promote", "rollback"]
    assert points["encoding"]["color"]["scale"]["range"] == [charts.ACTION_COLOURS[a]
                                                             for a in ("deploy", "promote", "rollback")]
    data = layer_rows(chart)[1]
    assert [(r["version"], r["action"], r["reason"]) for r in data] == [
        (1, "deploy", "first model"), (2, "promote", "challenger better"), (1, "rollback", "recall fell")]


def test_deployment_timeline_names_missing_columns():
    with pytest.raises(ValueError, match=r"\['reason'\]"):
        charts.deployment_timeline(history().drop(columns=["reason"]))
