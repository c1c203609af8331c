"""The planner's Sweep, Sensitivity and Goal seek charts. Varied inputs are named by dotted paths (org.ml_engineers),
which Vega-Lite would read as nested fields, so the data carry them under plain names (x, series) and the paths
appear only as titles."""

from __future__ import annotations

import math

import altair as alt
import numpy as np
import pandas as pd

from mlorg.charts.common import FIT_WIDTH, INTERVALS
from mlorg.charts.planner import SCENARIO_SCHEME

SWEEP_STYLES = {"lines": "lines with bands", "heatmap": "heatmap"}
# d3 formats of a metric's values by its kind (mlorg.metric_table), for axes, tooltips and titles.
VALUE_FORMATS = {"days": ",.1f", "hours": ",.1f", "usd": "$,.0f", "share": ".1%", "count": ",.2f", "rate": ".3~g"}
SIDE_COLOURS = ("#4c78a8", "#f58518")  # the low side, the high side


def _value_text(value) -> str:
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, float | np.floating):
        return f"{float(value):g}"
    return str(value)


def _is_number(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def sweep_parameters(summary: pd.DataFrame) -> list[str]:
    """The varied inputs of a per-cell summary (``mlorg.sweeps.summarise_cells``): columns between cell and metric."""
    columns = list(summary.columns)
    missing = [c for c in ("cell", "metric", "mean", "ci95_low", "ci95_high") if c not in columns]
    if missing:
        raise ValueError(f"columns {missing} are not in the summary; it must be mlorg.sweeps.summarise_cells's "
                         f"(cell, the varied inputs, metric, mean, ci95_low, ci95_high, n)")
    return columns[columns.index("cell") + 1: columns.index("metric")]


def sweep_frame(summary: pd.DataFrame) -> pd.DataFrame:
    """A one-metric summary as chart rows: x (the first input), series (the second input's value as text, if
    any), mean, low, high; cells where the metric was never defined are left out."""
    params = sweep_parameters(summary)
    metrics = summary["metric"].unique()
    if not 1 <= len(params) <= 2 or len(metrics) != 1:
        raise ValueError(f"a sweep chart shows one metric against one or two varied inputs; this summary has "
                         f"{len(metrics)} metrics and {len(params)} inputs ({', '.join(params) or 'none'})")
    first = summary[params[0]]
    data = pd.DataFrame({"x": first if _is_number(first) else first.map(_value_text),
                         "series": summary[params[1]].map(_value_text) if len(params) == 2 else "",
                         "mean": summary["mean"].astype(float), "low": summary["ci95_low"].astype(float),
                         "high": summary["ci95_high"].astype(float)})
    return data.dropna(subset=["mean"]).reset_index(drop=True)


def sweep_chart(summary: pd.DataFrame, *, metric_label: str | None = None, style: str = "lines",
                value_format: str = ",.1f", input_labels: dict[str, str] | None = None) -> alt.LayerChart:
    """One metric over a sweep's grid, from ``mlorg.sweeps.summarise_cells(table, [metric])``.

    One varied input: its mean over replications as a line, with the 95% confidence interval of the mean as
    a band (a numeric input) or as error bars (true/false or a choice). Two inputs: one line per value of the
    second (``style="lines"``), or a heatmap of the means (``style="heatmap"``). ``input_labels`` names the
    varied inputs (by path) as people read them.
    """
    if style not in SWEEP_STYLES:
        raise ValueError(f"style: {style!r} is not allowed; must be one of {', '.join(SWEEP_STYLES)}")
    params = [(input_labels or {}).get(p, p) for p in sweep_parameters(summary)]
    data = sweep_frame(summary)
    label = metric_label or str(summary["metric"].iloc[0])
    numeric_x = _is_number(data["x"]) if len(data) else _is_number(summary[params[0]])
    x_order = list(dict.fromkeys(data["x"]))
    series = list(dict.fromkeys(data["series"]))
    tooltip = [alt.Tooltip("x:Q" if numeric_x else "x:N", title=params[0]),
               *([alt.Tooltip("series:N", title=params[1])] if len(params) == 2 else []),
               alt.Tooltip("mean:Q", title=label, format=value_format),
               alt.Tooltip("low:Q", title="95% CI low", format=value_format),
               alt.Tooltip("high:Q", title="95% CI high", format=value_format)]
    what = f"{label} by {params[0]}" + (f" and {params[1]}" if len(params) == 2 else "")
    if style == "heatmap":
        if len(params) != 2:
            raise ValueError("style: 'heatmap' needs two varied inputs; with one, use 'lines'")
        x = alt.X("x:O", title=params[0], sort=x_order)
        y = alt.Y("series:O", title=params[1], sort=series)
        cells = alt.Chart(data).mark_rect().encode(x=x, y=y, color=alt.Color("mean:Q", title=label),
                                                   tooltip=tooltip)
        text = alt.Chart(data).mark_text(baseline="middle").encode(x=x, y=y, text=alt.Text("mean:Q",
                                                                                            format=value_format))
        return alt.layer(cells, text).properties(
            title=alt.TitleParams(what, subtitle="colour and figure: mean over replications"),
            height=max(160, 40 * len(series)), autosize=FIT_WIDTH)
    whole = numeric_x and pd.api.types.is_integer_dtype(data["x"])  # headcounts: no tick at 0.2 of a person
    x = alt.X("x:Q", title=params[0], scale=alt.Scale(zero=False),
              axis=alt.Axis(tickMinStep=1, format="d") if whole else alt.Undefined) if numeric_x else \
        alt.X("x:N", title=params[0], sort=x_order)
    colour = (alt.Color("series:N", title=params[1], sort=series,
                        scale=alt.Scale(scheme=SCENARIO_SCHEME, domain=series), legend=alt.Legend(orient="bottom"))
              if len(params) == 2 else alt.value("#4c78a8"))
    base = alt.Chart(data).encode(x=x, color=colour)
    line = base.mark_line(point=True).encode(y=alt.Y("mean:Q", title=label, scale=alt.Scale(zero=False)),
                                             tooltip=tooltip)
    if numeric_x:
        band, band_text = base.mark_area(opacity=0.2).encode(y="low:Q", y2="high:Q"), "band"
    else:
        band, band_text = base.mark_rule(strokeWidth=2).encode(y="low:Q", y2="high:Q"), "bars"
    return alt.layer(band, line).properties(
        title=alt.TitleParams(what, subtitle=f"line: mean; {band_text}: {INTERVALS['ci']}"), height=320,
        autosize=FIT_WIDTH)


def _python_format(value: float, d3_format: str) -> str:
    """A number formatted as d3 would for the formats of VALUE_FORMATS (Python has no "$" currency flag)."""
    d3_format = d3_format.replace("~", "")  # d3's "trim zeros": Python's g already trims
    if d3_format.startswith("$"):
        text = format(abs(value), d3_format[1:])
        return f"-${text}" if value < 0 else f"${text}"
    return format(value, d3_format)


def tornado_frame(table: pd.DataFrame, *, spread: float | None = None) -> pd.DataFrame:
    """A tornado table (``mlorg.sweeps.sensitivity``) as chart rows: one per input and side (low, high) the
    schema allowed, with the input's value there and the metric's paired change from the base."""
    needed = ["rank", "input", "base_value", "low_value", "high_value", "base_mean", "swing_mean",
              *(f"{side}_delta_{part}" for side in ("low", "high") for part in ("mean", "ci95_low", "ci95_high"))]
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise ValueError(f"columns {missing} are not in the tornado table; it must be mlorg.sweeps.sensitivity's")
    spread = spread if spread is not None else table.attrs.get("spread")
    names = {"low": f"−{spread:.0%}" if spread else "low", "high": f"+{spread:.0%}" if spread else "high"}
    rows = []
    for row in table.sort_values("rank").itertuples(index=False):
        label = f"{row.input} ({_value_text(row.base_value)})"
        for side in ("low", "high"):
            value = getattr(row, f"{side}_value")
            delta = getattr(row, f"{side}_delta_mean")
            if value is None or (isinstance(value, float) and math.isnan(value)) or math.isnan(delta):
                continue
            rows.append({"input": label, "rank": row.rank, "side": names[side], "value": _value_text(value),
                         "delta": delta, "delta_low": getattr(row, f"{side}_delta_ci95_low"),
                         "delta_high": getattr(row, f"{side}_delta_ci95_high"), "swing": row.swing_mean})
    return pd.DataFrame(rows, columns=["input", "rank", "side", "value", "delta", "delta_low", "delta_high",
                                       "swing"])


def tornado_chart(table: pd.DataFrame, *, metric_label: str | None = None, spread: float | None = None,
                  value_format: str = ",.1f") -> alt.LayerChart:
    """Which inputs move a metric most: per input (largest swing on top), a bar for the metric's mean change
    from the base at the low and at the high value, each with its paired 95% confidence interval."""
    data = tornado_frame(table, spread=spread)
    if data.empty:
        raise ValueError("the tornado table has no input with a defined change to draw")
    label = metric_label or str(table.attrs.get("metric", "metric"))
    inputs = list(dict.fromkeys(data["input"]))
    sides = list(dict.fromkeys(data.sort_values("side", key=lambda s: s.str.startswith("+"))["side"]))
    y = alt.Y("input:N", title=None, sort=inputs, axis=alt.Axis(labelLimit=320))
    offset = alt.YOffset("side:N", sort=sides)
    colour = alt.Color("side:N", title="input at", sort=sides,
                       scale=alt.Scale(domain=sides, range=list(SIDE_COLOURS[: len(sides)])),
                       legend=alt.Legend(orient="bottom"))
    base = alt.Chart(data).encode(y=y, yOffset=offset)
    bars = base.mark_bar(opacity=0.85).encode(
        x=alt.X("delta:Q", title=f"change in {label} from the base", stack=None), color=colour,
        tooltip=[alt.Tooltip("input:N", title="input (base value)"), alt.Tooltip("side:N", title="input at"),
                 alt.Tooltip("value:N", title="value"),
                 alt.Tooltip("delta:Q", title="change", format=value_format),
                 alt.Tooltip("delta_low:Q", title="95% CI low", format=value_format),
                 alt.Tooltip("delta_high:Q", title="95% CI high", format=value_format),
                 alt.Tooltip("swing:Q", title="swing (high − low)", format=value_format)])
    whiskers = base.mark_rule(color="black", strokeWidth=1.5).encode(x="delta_low:Q", x2="delta_high:Q")
    zero = alt.Chart(data).mark_rule(color="#888888").encode(x=alt.datum(0))
    base_mean = float(table["base_mean"].iloc[0])
    base_text = _python_format(base_mean, value_format) if math.isfinite(base_mean) else "not defined"
    return alt.layer(bars, whiskers, zero).properties(
        title=alt.TitleParams(f"What moves {label} most (base: {base_text})",
                              subtitle=f"bar: mean change with one input changed; line: paired {INTERVALS['ci']}"),
        height=max(120, 44 * len(inputs)), autosize=FIT_WIDTH)


def variance_share_chart(table: pd.DataFrame, *, metric_label: str | None = None) -> alt.LayerChart:
    """Which uncertain inputs explain a metric's variance (``mlorg.uncertainty.variance_shares``): per input
    (largest on top) a bar of its first-order share with its bootstrap 95% interval, and a last bar for what no
    input explains alone (interactions and the simulator's noise)."""
    needed = ["input", "share", "share_low", "share_high"]
    if any(c not in table.columns for c in needed):
        raise ValueError(f"columns {needed} are needed; the table must be mlorg.uncertainty.variance_shares'")
    data = table[needed].copy()
    data["share_high"] = data["share_high"].clip(upper=1.0)  # a share's bootstrap reaches past 1 only by noise
    if "label" in table.columns:
        data["input"] = table["label"]
    if data["share"].notna().sum() == 0:
        raise ValueError("no input has a defined share to draw (the metric did not vary over the draws)")
    explained = float(data["share"].sum())
    rest = pd.DataFrame([{"input": "interactions and noise", "share": max(0.0, 1.0 - explained),
                          "share_low": math.nan, "share_high": math.nan}])
    data = pd.concat([data, rest], ignore_index=True)
    data["kind"] = ["input"] * (len(data) - 1) + ["rest"]
    order = list(data["input"])
    label = metric_label or str(table.attrs.get("metric", "the metric"))
    y = alt.Y("input:N", title=None, sort=order, axis=alt.Axis(labelLimit=320))
    bars = alt.Chart(data).mark_bar(opacity=0.85).encode(
        y=y, x=alt.X("share:Q", title="share of the variance", scale=alt.Scale(domain=[0, 1]),
                     axis=alt.Axis(format="%")),
        color=alt.Color("kind:N", scale=alt.Scale(domain=["input", "rest"], range=[SIDE_COLOURS[0], "#bbbbbb"]),
                        legend=None),
        tooltip=[alt.Tooltip("input:N"), alt.Tooltip("share:Q", title="share", format=".1%"),
                 alt.Tooltip("share_low:Q", title="95% interval low", format=".1%"),
                 alt.Tooltip("share_high:Q", title="95% interval high", format=".1%")])
    whiskers = alt.Chart(data.dropna(subset=["share_low"])).mark_rule(color="black", strokeWidth=1.5).encode(
        y=y, x="share_low:Q", x2="share_high:Q")
    draws = table.attrs.get("draws")
    return alt.layer(bars, whiskers).properties(
        title=alt.TitleParams(f"What the uncertainty in {label} comes from",
                              subtitle=f"bar: share each input explains alone; line: 95% interval"
                                       f"{f' ({draws} draws)' if draws else ''}"),
        height=max(120, 36 * len(data)), autosize=FIT_WIDTH)
