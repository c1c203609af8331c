"""The monitoring tuner's chart: detection lag against false alarms, with the quickest detection possible."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from mlorg.charts.common import FIT_WIDTH, reference_line

ALARM_FLOOR = 1e-3  # false alarms per month drawn no lower than this (one in 80 years) on the log axis
LAG_SERIES = {
    "detection_lag_hours": "expected lag (drift at a random moment)",
    "worst_case_lag_hours": "worst-case lag",
    "optimal_delay_hours": "quickest-detection bound (CUSUM tuned to the drift, worst case)",
}
LAG_COLOURS = ["#4c78a8", "#9ecae9", "#54a24b"]


def operating_points_frame(points: Sequence, *, traffic_per_hour: float) -> pd.DataFrame:
    """Operating points (``mlorg.monitoring.characteristics.OperatingPoint``) as rows, their lags in hours:
    threshold, false_alarms_per_month, arl0_samples, detection_lag_hours, worst_case_lag_hours and
    optimal_delay_hours (samples / ``traffic_per_hour``)."""
    if not traffic_per_hour > 0:
        raise ValueError(f"traffic_per_hour: {traffic_per_hour!r} is not allowed; must be > 0")
    return pd.DataFrame({
        "threshold": [p.threshold for p in points],
        "false_alarms_per_month": [p.false_alarms_per_month for p in points],
        "arl0_samples": [p.arl0_samples for p in points],
        "detection_lag_hours": [p.detection_lag_hours for p in points],
        "worst_case_lag_hours": [p.worst_case_lag_samples / traffic_per_hour for p in points],
        "optimal_delay_hours": [p.optimal_delay_samples / traffic_per_hour for p in points],
    }, dtype=float)


def tradeoff_lines(points: Sequence, *, traffic_per_hour: float) -> pd.DataFrame:
    """Tidy lag series over the swept thresholds: threshold, false_alarms_per_month, x (the same, drawn no lower
    than ALARM_FLOOR), series, label, hours. Thresholds that never detect (infinite lag) have no row."""
    wide = operating_points_frame(points, traffic_per_hour=traffic_per_hour)
    wide["x"] = wide["false_alarms_per_month"].clip(lower=ALARM_FLOOR)
    tidy = wide.melt(id_vars=["threshold", "false_alarms_per_month", "x"], value_vars=list(LAG_SERIES),
                     var_name="series", value_name="hours")
    tidy = tidy[np.isfinite(tidy["hours"]) & (tidy["hours"] > 0)].reset_index(drop=True)
    tidy.insert(3, "label", tidy["series"].map(LAG_SERIES))
    return tidy[["threshold", "false_alarms_per_month", "x", "series", "label", "hours"]]


def detection_tradeoff(points: Sequence, *, traffic_per_hour: float, current=None, budget: float | None = None,
                       recommended=None) -> alt.LayerChart:
    """Detection lag against false alarms per month over a detector's thresholds, with the quickest-detection
    bound at the same false-alarm rate; the ``current`` setting is ringed, the false-alarm ``budget`` is a
    vertical line and the ``recommended`` threshold (the quickest within it) is marked."""
    data = tradeoff_lines(points, traffic_per_hour=traffic_per_hour)
    labels = list(LAG_SERIES.values())
    x = alt.X("x:Q", title=f"false alarms per month (log scale; below {ALARM_FLOOR:g} drawn at {ALARM_FLOOR:g})",
              scale=alt.Scale(type="log"))
    y = alt.Y("hours:Q", title="detection lag (hours, log scale)", scale=alt.Scale(type="log"))
    tooltip = [alt.Tooltip("label:N", title="series"), alt.Tooltip("threshold:Q", format=".4g"),
               alt.Tooltip("false_alarms_per_month:Q", title="false alarms per month", format=".3g"),
               alt.Tooltip("hours:Q", title="lag (hours)", format=",.1f")]
    lines = alt.Chart(data).mark_line(point=True).encode(
        x=x, y=y, order="threshold:Q", tooltip=tooltip,
        color=alt.Color("label:N", title=None, sort=labels, scale=alt.Scale(domain=labels, range=LAG_COLOURS),
                        legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=0)),
        strokeDash=alt.condition(alt.datum.series == "optimal_delay_hours", alt.value([5, 3]), alt.value([1, 0])))
    layers = [lines]
    for point, name, size in ((recommended, "within budget", 200), (current, "current", 320)):
        if point is None:
            continue
        marker = tradeoff_lines([point], traffic_per_hour=traffic_per_hour)
        marker = marker[marker["series"] == "detection_lag_hours"].assign(marker=name)
        if marker.empty:
            continue
        layers.append(alt.Chart(marker).mark_point(size=size, strokeWidth=2, color="black" if name == "current"
                                                   else "#54a24b").encode(x=x, y=y, tooltip=tooltip))
        layers.append(alt.Chart(marker).mark_text(dx=12, dy=-10, align="left", fontWeight="bold").encode(
            x=x, y=y, text="marker:N"))
    if budget is not None and budget > 0:
        layers.append(reference_line(max(budget, ALARM_FLOOR), x, f"budget {budget:g}/month"))
    return alt.layer(*layers).properties(title="Detection lag against false alarms, over thresholds",
                                        height=340, autosize=FIT_WIDTH)


def feature_tradeoff(points: Sequence[tuple[float, float, float]], *, feature: str, budget: float) -> alt.LayerChart:
    """One feature's mean detection lag against its false alarms a month, over thresholds tuned on its own
    reference (``(false alarms a month, threshold, lag hours)`` from ``mlorg.monitoring.file_tuning.trade_off``),
    with the feature's share of the budget as a vertical line. Thresholds that never detect have no point."""
    data = pd.DataFrame(list(points), columns=["false_alarms_per_month", "threshold", "hours"], dtype=float)
    data = data[np.isfinite(data["hours"]) & (data["hours"] > 0)]
    x = alt.X("false_alarms_per_month:Q", title="false alarms per month (log scale)", scale=alt.Scale(type="log"))
    y = alt.Y("hours:Q", title="mean detection lag (hours)", scale=alt.Scale(zero=False))
    tooltip = [alt.Tooltip("threshold:Q", format=".4g"),
               alt.Tooltip("false_alarms_per_month:Q", title="false alarms per month", format=".3g"),
               alt.Tooltip("hours:Q", title="lag (hours)", format=",.1f")]
    line = alt.Chart(data).mark_line(point=True, color=LAG_COLOURS[0]).encode(x=x, y=y, tooltip=tooltip)
    return alt.layer(line, reference_line(budget, x, f"this feature's budget {budget:.3g}/month")).properties(
        title=f"{feature}: detection lag against false alarms, thresholds from its own reference", height=320,
        autosize=FIT_WIDTH)
