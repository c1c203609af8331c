"""The staffing planner's charts: models over time, time-to-production, where the time goes, cost, and scenarios
compared on common random numbers."""

from __future__ import annotations

import math

import altair as alt
import numpy as np
import pandas as pd

from mlorg.charts.common import FIT_WIDTH, INTERVALS, Frames, bands, long_frame, nice_step

MODEL_SERIES = {
    "models_live": "models live",
    "backlog": "backlog (trained, not yet live)",
    "abandoned_cum": "abandoned (cumulative)",
}
MODEL_COLOURS = ["#4c78a8", "#f58518", "#e45756"]

ROLE_LABELS = {
    "data_scientist": "data scientists",
    "ml_engineer": "ML engineers",
    "platform_engineer": "platform engineers",
}

ACTIVITY_COLOURS = {
    "research": "#4c78a8",
    "productionisation": "#f58518",
    "retraining": "#54a24b",
    "toil": "#e45756",
    "platform": "#b279a2",
    "incident": "#9d755d",
    "idle": "#bab0ac",
}


def models_over_time(timeseries: Frames, *, interval: str = "ci") -> alt.LayerChart:
    """Models live, backlog and cumulative abandoned models per simulated week: mean line and 95% band."""
    data = bands(timeseries, list(MODEL_SERIES), interval=interval)
    data["label"] = data["series"].map(MODEL_SERIES)
    labels = list(MODEL_SERIES.values())
    last_day = float(data["day"].max()) if len(data) else 0.0
    base = alt.Chart(data).encode(
        x=alt.X("day:Q", title="time (days)", scale=alt.Scale(domain=[0, max(last_day, 1.0)], nice=False)),
        color=alt.Color("label:N", title=None, sort=labels, scale=alt.Scale(domain=labels, range=MODEL_COLOURS),
                        legend=alt.Legend(orient="bottom", labelLimit=0, columns=2)),  # one row was cut at 1000 px
    )
    band = base.mark_area(opacity=0.25).encode(y=alt.Y("low:Q", title="models"), y2="high:Q")
    line = base.mark_line().encode(
        y=alt.Y("mean:Q", title="models"),
        tooltip=[alt.Tooltip("label:N", title="series"), alt.Tooltip("day:Q", title="day", format=".0f"),
                 alt.Tooltip("mean:Q", title="mean", format=".1f"),
                 alt.Tooltip("low:Q", title="band low", format=".1f"),
                 alt.Tooltip("high:Q", title="band high", format=".1f")],
    )
    return alt.layer(band, line).properties(title=f"Models over time (band: {INTERVALS[interval]})")


def ttp_bins(models: Frames, *, bin_days: float | None = None, target_bins: int = 30) -> pd.DataFrame:
    """Shipped models counted in bins of time-to-production [start, end) days, pooled over replications."""
    ttp = long_frame(models)["ttp_days"].dropna().to_numpy(dtype=float)
    columns = ["bin_start", "bin_end", "models", "share"]
    if len(ttp) == 0:
        return pd.DataFrame(columns=columns, dtype=float)
    if bin_days is None:
        bin_days = nice_step(max(float(ttp.max()), 1.0) / target_bins)
    if not bin_days > 0:
        raise ValueError(f"bin_days: {bin_days!r} is not allowed; must be > 0")
    index = np.floor(ttp / bin_days).astype(int)
    counts = np.bincount(index, minlength=index.max() + 1)
    starts = np.arange(len(counts)) * bin_days
    return pd.DataFrame({"bin_start": starts, "bin_end": starts + bin_days, "models": counts,
                         "share": counts / counts.sum()})


def ttp_histogram(models: Frames, *, bin_days: float | None = None) -> alt.Chart:
    """Histogram of time-to-production over every shipped model of every replication."""
    data = ttp_bins(models, bin_days=bin_days)
    return alt.Chart(data).mark_bar().encode(
        x=alt.X("bin_start:Q", bin="binned", title="time to production (days)"),
        x2="bin_end:Q",
        y=alt.Y("share:Q", title="share of shipped models", axis=alt.Axis(format="%")),
        tooltip=[alt.Tooltip("bin_start:Q", title="from (days)", format=".1f"),
                 alt.Tooltip("bin_end:Q", title="to (days)", format=".1f"),
                 alt.Tooltip("models:Q", title="models, all replications"),
                 alt.Tooltip("share:Q", title="share", format=".1%")],
    ).properties(title="Time to production")


def time_use_shares(time_use: Frames) -> pd.DataFrame:
    """Mean hours per replication of each role on each activity, and its share of the role's hours.

    Roles nobody held (no hours at all) are dropped.
    """
    long = long_frame(time_use)
    replications = long["replication"].nunique()
    hours = long.groupby(["role", "activity"], sort=False)["hours"].sum() / replications
    data = hours.reset_index()
    totals = data.groupby("role", sort=False)["hours"].transform("sum")
    data = data[totals > 0].copy()
    data["share"] = data["hours"] / totals[totals > 0]
    return data.reset_index(drop=True)


def time_use(time_use: Frames) -> alt.Chart:
    """Stacked bar per role of how its working time splits across activities."""
    data = time_use_shares(time_use)
    data["role_label"] = data["role"].map(ROLE_LABELS).fillna(data["role"])
    activities = list(dict.fromkeys(data["activity"]))
    data["activity_order"] = data["activity"].map({a: i for i, a in enumerate(activities)})
    colours = [ACTIVITY_COLOURS.get(a, "#999999") for a in activities]
    return alt.Chart(data).mark_bar().encode(
        y=alt.Y("role_label:N", title=None, sort=list(dict.fromkeys(data["role_label"]))),
        x=alt.X("share:Q", stack="zero", title="share of the role's working time",
                axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("activity:N", title="activity", sort=activities,
                        scale=alt.Scale(domain=activities, range=colours),
                        legend=alt.Legend(orient="bottom", columns=3, labelLimit=0)),  # rows: one row was cut
        order=alt.Order("activity_order:Q"),
        tooltip=[alt.Tooltip("role_label:N", title="role"), alt.Tooltip("activity:N"),
                 alt.Tooltip("share:Q", format=".1%"),
                 alt.Tooltip("hours:Q", title="hours per replication", format=",.0f")],
    ).properties(title="Where the time goes", autosize=FIT_WIDTH)


# ------------------------------------------------------------------- staffing planner: cost and comparisons

COST_SERIES = {"staff_cost_usd": "staff", "serving_cost_usd": "serving", "infra_training_usd": "training compute",
               "infra_features_usd": "feature computation", "infra_storage_usd": "storage",
               "infra_monitoring_usd": "monitoring compute"}
KIND_UNITS = {"days": "days", "usd": "USD", "count": "models", "share": "share"}
SCENARIO_SCHEME = "tableau10"


def interval_frame(summary: pd.DataFrame, metrics: dict[str, str]) -> pd.DataFrame:
    """Rows of a replication summary (index metric; mean, ci95_low, ci95_high, n) under display labels.

    Metrics the summary lacks or never defined (a serving cost when serving is not modelled) are left out.
    """
    rows = [(label, *summary.loc[metric, ["mean", "ci95_low", "ci95_high"]].astype(float))
            for metric, label in metrics.items()
            if metric in summary.index and not math.isnan(float(summary.loc[metric, "mean"]))]
    return pd.DataFrame(rows, columns=["label", "mean", "low", "high"])


def cost_summary(summary: pd.DataFrame) -> alt.LayerChart:
    """Staff and serving cost over the run: mean bar and the 95% confidence interval of the mean."""
    data = interval_frame(summary, COST_SERIES)
    base = alt.Chart(data).encode(y=alt.Y("label:N", title=None, sort=list(data["label"])))
    bars = base.mark_bar(color="#4c78a8").encode(
        x=alt.X("mean:Q", title="USD over the run", axis=alt.Axis(format="$,.3~s")),
        tooltip=[alt.Tooltip("label:N", title="cost"), alt.Tooltip("mean:Q", title="mean", format="$,.0f"),
                 alt.Tooltip("low:Q", title="95% CI low", format="$,.0f"),
                 alt.Tooltip("high:Q", title="95% CI high", format="$,.0f")])
    whiskers = base.mark_rule(color="black", strokeWidth=2).encode(x="low:Q", x2="high:Q")
    return alt.layer(bars, whiskers).properties(title=f"Cost over the run (bar: mean; line: {INTERVALS['ci']})")


def _scenario_colour(scenarios: list[str], legend: alt.Legend | None = None) -> alt.Color:
    """Distinct hues (the app's theme would give shades of one colour), fixed by the scenarios' order, so that a
    scenario keeps its colour in every chart, including those that leave the baseline out."""
    return alt.Color("scenario:N", title=None, sort=scenarios, legend=legend,
                     scale=alt.Scale(scheme=SCENARIO_SCHEME, domain=scenarios))


def _panel_titles(table: pd.DataFrame) -> pd.Series:
    return table["label"] + " (" + table["kind"].map(KIND_UNITS).fillna("") + ")"


def scenario_metrics(table: pd.DataFrame) -> alt.FacetChart:
    """Each metric's mean and 95% interval per scenario, one panel per metric on its own scale.

    ``table`` is :func:`mlorg.planner.comparison_table`'s: scenario, metric, label, kind, mean, ci95_low,
    ci95_high.
    """
    data = table.assign(panel=_panel_titles(table))[["scenario", "panel", "mean", "ci95_low", "ci95_high"]]
    scenarios, panels = list(dict.fromkeys(data["scenario"])), list(dict.fromkeys(data["panel"]))
    base = alt.Chart().encode(y=alt.Y("scenario:N", title=None, sort=scenarios, axis=alt.Axis(labelLimit=160)))
    bars = base.mark_bar(opacity=0.8).encode(
        x=alt.X("mean:Q", title=None),
        color=_scenario_colour(scenarios),
        tooltip=[alt.Tooltip("scenario:N"), alt.Tooltip("panel:N", title="metric"),
                 alt.Tooltip("mean:Q", format=",.1f"), alt.Tooltip("ci95_low:Q", title="95% CI low", format=",.1f"),
                 alt.Tooltip("ci95_high:Q", title="95% CI high", format=",.1f")])
    whiskers = base.mark_rule(color="black", strokeWidth=2).encode(x="ci95_low:Q", x2="ci95_high:Q")
    return (alt.layer(bars, whiskers, data=data)
            .properties(width=220, height=30 * len(scenarios))
            .facet(facet=alt.Facet("panel:N", title=None, sort=panels), columns=3)
            .resolve_scale(x="independent")
            .properties(title=f"Scenarios side by side (bar: mean; line: {INTERVALS['ci']})"))


def paired_differences(table: pd.DataFrame) -> alt.FacetChart:
    """Each scenario's paired difference from the baseline (the table's first scenario), per metric.

    A point at the mean difference, a line over its 95% interval and a dashed line at zero: an interval
    that does not cross zero is a difference the replications show clearly.
    """
    scenarios = list(dict.fromkeys(table["scenario"]))
    data = table.assign(panel=_panel_titles(table)).dropna(subset=["diff_mean"])
    data = data[["scenario", "panel", "diff_mean", "diff_low", "diff_high"]]
    panels = list(dict.fromkeys(data["panel"]))
    others = scenarios[1:]
    base = alt.Chart().encode(y=alt.Y("scenario:N", title=None, sort=others, axis=alt.Axis(labelLimit=160)))
    zero = alt.Chart().mark_rule(strokeDash=[4, 4], color="#888888").encode(x=alt.datum(0))
    whiskers = base.mark_rule(strokeWidth=2).encode(
        x=alt.X("diff_low:Q", title=None), x2="diff_high:Q",
        color=_scenario_colour(scenarios))
    points = base.mark_point(filled=True, size=70).encode(
        x="diff_mean:Q", color=_scenario_colour(scenarios),
        tooltip=[alt.Tooltip("scenario:N"), alt.Tooltip("panel:N", title="metric"),
                 alt.Tooltip("diff_mean:Q", title="difference", format=",.1f"),
                 alt.Tooltip("diff_low:Q", title="95% CI low", format=",.1f"),
                 alt.Tooltip("diff_high:Q", title="95% CI high", format=",.1f")])
    return (alt.layer(zero, whiskers, points, data=data)
            .properties(width=220, height=30 * max(len(others), 1))
            .facet(facet=alt.Facet("panel:N", title=None, sort=panels), columns=3)
            .resolve_scale(x="independent")
            .properties(title=f"Paired difference from {scenarios[0]} (point: mean; line: 95% confidence interval)"))


def scenarios_over_time(timeseries: dict[str, Frames], column: str = "models_live", *,
                        interval: str = "ci") -> alt.LayerChart:
    """One column of the weekly series (models live, backlog …) per scenario: mean line and 95% band."""
    parts = [bands(frames, [column], interval=interval).assign(scenario=label)
             for label, frames in timeseries.items()]
    data = pd.concat(parts, ignore_index=True)
    scenarios = list(timeseries)
    what = MODEL_SERIES.get(column, column)
    base = alt.Chart(data).encode(x=alt.X("day:Q", title="time (days)"),
                                  color=_scenario_colour(scenarios, alt.Legend(orient="bottom", labelLimit=0)))
    band = base.mark_area(opacity=0.2).encode(y=alt.Y("low:Q", title=what), y2="high:Q")
    line = base.mark_line().encode(
        y=alt.Y("mean:Q", title=what),
        tooltip=[alt.Tooltip("scenario:N"), alt.Tooltip("day:Q", format=".0f"),
                 alt.Tooltip("mean:Q", format=".1f"), alt.Tooltip("low:Q", title="band low", format=".1f"),
                 alt.Tooltip("high:Q", title="band high", format=".1f")])
    return alt.layer(band, line).properties(title=f"{what.capitalize()} by scenario (band: {INTERVALS[interval]})")
