"""The fraud-drift workshop's charts, built from hand-made frames and read back from their Vega-Lite specs."""

from __future__ import annotations

import pandas as pd
import pytest

from mlorg import charts

MONITORS = {"contracts": "Contracts", "features": "Features", "predictions": "Predictions"}


def weekly() -> pd.DataFrame:
    return pd.DataFrame({"start_day": [44, 51, 58], "days": [7, 7, 3], "losses_per_day": [100.0, 250.0, 400.0],
                         "losses_usd": [700.0, 1750.0, 1200.0], "recall": [0.7, 0.5, 0.2], "frauds": [10, 8, 5]})


def marks(spec: dict) -> list[str]:
    """Every mark type in a (possibly nested) layered spec, in drawing order."""
    if "layer" in spec:
        return [m for layer in spec["layer"] for m in marks(layer)]
    mark = spec.get("mark")
    return [mark["type"] if isinstance(mark, dict) else mark] if mark else []


def data(spec: dict) -> list[list[dict]]:
    return list(spec["datasets"].values())


def test_the_weekly_chart_spans_each_week_and_hides_the_cause_until_asked():
    hidden = charts.workshop_weekly(weekly()).to_dict()
    assert marks(hidden) == ["rect", "line"] and hidden["resolve"] == {"scale": {"y": "independent"}}
    bars = hidden["layer"][0]["layer"][0]["encoding"]
    assert bars["y2"] == {"datum": 0} and bars["x2"]["field"] == "end_day"  # each week a block from 0
    (rows,) = data(hidden)
    assert [(r["start_day"], r["end_day"], r["mid_day"]) for r in rows] == [(44, 51, 47.5), (51, 58, 54.5),
                                                                           (58, 61, 59.5)]
    shown = charts.workshop_weekly(weekly(), shift_day=55, shift_label="fraudsters change pattern").to_dict()
    assert marks(shown) == ["rect", "rule", "text", "line"]
    assert {"day": 55, "label": "fraudsters change pattern"} in [r for d in data(shown) for r in d]


def test_the_weekly_chart_names_missing_columns():
    with pytest.raises(ValueError, match=r"columns \['losses_per_day'\] are not in the weekly frame"):
        charts.workshop_weekly(weekly().drop(columns="losses_per_day"))


def test_the_alarm_timeline_lists_every_monitor_and_tells_false_alarms_from_detections():
    alarms = pd.DataFrame({"day": [50, 60, 61, 70], "monitor": ["predictions", "predictions", "features", "labels"],
                           "detail": ["a", "b", "c", "unknown monitor"]})
    spec = charts.alarm_timeline(alarms, MONITORS, shift_day=60, first_day=44, last_day=90).to_dict()
    assert marks(spec) == ["tick", "rule", "text"]
    ticks = spec["layer"][0]
    assert ticks["encoding"]["y"]["scale"]["domain"] == list(MONITORS.values())  # silent monitors keep their row
    assert ticks["encoding"]["x"]["scale"]["domain"] == [44, 90]
    rows = [r for d in data(spec) for r in d if "when" in r]
    # An alarm at the end of day 60 comes after a cause that starts with day 60; the one at day 50 is false.
    assert [(r["day"], r["label"], r["when"]) for r in rows] == [
        (50, "Predictions", "before the shift (false alarm)"), (60, "Predictions", "after the shift"),
        (61, "Features", "after the shift")]


def test_cumulative_losses_start_at_zero_and_mark_the_incident_process_on_the_last_run():
    quieter = weekly().assign(losses_usd=[700.0, 500.0, 100.0])
    actions = pd.DataFrame({"day": [54], "action": ["rollback"], "version": [1], "reason": ["recall fell"]})
    spec = charts.cumulative_losses({"without monitoring": weekly(), "with monitoring and rollback": quieter},
                                    start_day=44, actions=actions, shift_day=50).to_dict()
    assert marks(spec) == ["line", "rule", "text", "point"]
    lines = next(d for d in data(spec) if d and "run" in d[0])
    ends = {run: [(r["day"], r["losses"]) for r in lines if r["run"] == run] for run in ("without monitoring",
                                                                                       "with monitoring and rollback")}
    assert ends["without monitoring"] == [(44, 0.0), (51, 700.0), (58, 2450.0), (61, 3650.0)]
    assert ends["with monitoring and rollback"][-1] == (61, 1300.0)
    (mark,) = next(d for d in data(spec) if d and "action" in d[0])
    # Taken at the end of day 54 (day 55), on the monitored line between 700 (day 51) and 1200 (day 58).
    assert (mark["day"], mark["losses"]) == (55, pytest.approx(700 + 500 * 4 / 7))


def test_cumulative_losses_without_actions_or_shift_draw_only_the_lines():
    spec = charts.cumulative_losses({"without monitoring": weekly()}, start_day=44).to_dict()
    assert marks(spec) == ["line"]
    with pytest.raises(ValueError, match=r"columns \['days'\] are not in the weekly frame of 'x'"):
        charts.cumulative_losses({"x": weekly().drop(columns="days")}, start_day=44)
