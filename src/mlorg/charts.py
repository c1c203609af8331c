"""Charts of simulation results: pure functions from tidy DataFrames to Altair charts.

Nothing here imports streamlit, so each chart can be built and checked on its own. Functions that show
several replications take either a list of per-replication frames (``[run.timeseries for run in
replications.runs]``) or one long frame with a ``replication`` column, and reduce them with pandas before
charting, so a chart carries a few hundred summary rows rather than every simulated model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd
from scipy import stats

Frames = pd.DataFrame | Sequence[pd.DataFrame]

INTERVALS = {
    "ci": "95% confidence interval of the mean",
    "range": "middle 95% of replications",
}

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


def long_frame(frames: Frames) -> pd.DataFrame:
    """One frame with a ``replication`` column, from a list of per-replication frames or a long frame."""
    if isinstance(frames, pd.DataFrame):
        return frames if "replication" in frames.columns else frames.assign(replication=0)
    parts = [frame.assign(replication=i) for i, frame in enumerate(frames)]
    if not parts:
        raise ValueError("no replications given; need at least one frame")
    return pd.concat(parts, ignore_index=True)


def bands(frames: Frames, columns: Sequence[str], *, x: str = "day", interval: str = "ci",
          level: float = 0.95) -> pd.DataFrame:
    """Mean and band of each column at each ``x`` across replications.

    ``interval="ci"`` gives the Student-t interval of the mean (it narrows as replications are added);
    ``"range"`` gives the middle ``level`` share of the replications (pandas' linear quantiles), the spread
    of outcomes one run may see. Returns a tidy frame: x, series, mean, low, high, n; the band is NaN
    where fewer than two replications have a value, and never below zero for a quantity that never is.
    """
    if interval not in INTERVALS:
        raise ValueError(f"interval: {interval!r} is not allowed; must be one of {', '.join(INTERVALS)}")
    if not 0 < level < 1:
        raise ValueError(f"level: {level!r} is not allowed; must be > 0 and < 1")
    long = long_frame(frames)
    missing = [c for c in (x, *columns) if c not in long.columns]
    if missing:
        raise ValueError(f"columns {missing} are not in the frames; they have {list(long.columns)}")
    tidy = long.melt(id_vars=[x, "replication"], value_vars=list(columns), var_name="series", value_name="value")
    tidy = tidy.dropna(subset=["value"])
    grouped = tidy.groupby(["series", x], sort=False)["value"]
    out = grouped.agg(mean="mean", sd="std", n="count")
    if interval == "ci":
        n = out["n"].to_numpy(dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            t = stats.t.ppf(0.5 + level / 2, np.where(n > 1, n - 1, np.nan))
            half = t * out["sd"].to_numpy() / np.sqrt(n)
        out["low"] = out["mean"] - half
        out["high"] = out["mean"] + half
        if (tidy["value"] >= 0).all():  # counts and costs: few replications must not draw a band below zero
            out["low"] = out["low"].clip(lower=0.0)
    else:
        tail = (1 - level) / 2
        out["low"] = grouped.quantile(tail)
        out["high"] = grouped.quantile(1 - tail)
        out.loc[out["n"] < 2, ["low", "high"]] = math.nan
    out = out.drop(columns="sd").reset_index()
    out["series"] = pd.Categorical(out["series"], categories=list(columns), ordered=True)
    out = out.sort_values(["series", x], kind="stable").reset_index(drop=True)
    out["series"] = out["series"].astype(str)
    out["n"] = out["n"].astype("int64")
    return out[[x, "series", "mean", "low", "high", "n"]]


def models_over_time(timeseries: Frames, *, interval: str = "ci") -> alt.LayerChart:
    """Models live, backlog and cumulative abandoned models per simulated week: mean line and 95% band."""
    data = bands(timeseries, list(MODEL_SERIES), interval=interval)
    data["label"] = data["series"].map(MODEL_SERIES)
    labels = list(MODEL_SERIES.values())
    last_day = float(data["day"].max()) if len(data) else 0.0
    base = alt.Chart(data).encode(
        x=alt.X("day:Q", title="time (days)", scale=alt.Scale(domain=[0, max(last_day, 1.0)], nice=False)),
        color=alt.Color("label:N", title=None, sort=labels, scale=alt.Scale(domain=labels, range=MODEL_COLOURS),
                        legend=alt.Legend(orient="bottom", labelLimit=0)),
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
        bin_days = _nice_step(max(float(ttp.max()), 1.0) / target_bins)
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
                        scale=alt.Scale(domain=activities, range=colours), legend=alt.Legend(orient="bottom")),
        order=alt.Order("activity_order:Q"),
        tooltip=[alt.Tooltip("role_label:N", title="role"), alt.Tooltip("activity:N"),
                 alt.Tooltip("share:Q", format=".1%"),
                 alt.Tooltip("hours:Q", title="hours per replication", format=",.0f")],
    ).properties(title="Where the time goes")


def _nice_step(raw: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k that is >= raw."""
    exponent = math.floor(math.log10(raw))
    for mantissa in (1, 2, 2.5, 5, 10):
        step = mantissa * 10**exponent
        if step >= raw * (1 - 1e-12):
            return float(step)
    return float(10 ** (exponent + 1))


# ------------------------------------------------------------------- staffing planner: cost and comparisons

COST_SERIES = {"staff_cost_usd": "staff", "serving_cost_usd": "serving"}
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


# ------------------------------------------------------------------------------- serving latency and cost
# The serving page's charts. They take the library's own records (capacity options, kernel summaries) by
# their attributes or keys, so this module needs no import of the serving package.

LATENCY_PERCENTILES = {"p50_ms": "p50", "p95_ms": "p95", "p99_ms": "p99"}
SLO_COLOUR = "#e45756"
# Width fits the page, height is the plot's own: Streamlit's default ("fit") squeezes the title, axes and legend
# into the height, which left log-scaled plots a sliver.
FIT_WIDTH = alt.AutoSizeParams(type="fit-x", contains="padding")


def latency_table(sources: dict[str, dict | None]) -> pd.DataFrame:
    """Tidy percentiles (source, percentile, ms) from ``{source name: figures}``; a source that is None, or
    lacks a percentile (no formula gives it), has no row for it."""
    rows = [{"source": source, "percentile": label, "ms": float(figures[key])}
            for source, figures in sources.items() if figures
            for key, label in LATENCY_PERCENTILES.items()
            if figures.get(key) is not None and math.isfinite(figures[key])]
    return pd.DataFrame(rows, columns=["source", "percentile", "ms"])


def latency_percentiles(sources: dict[str, dict | None], *, slo_ms: float | None = None) -> alt.LayerChart:
    """p50, p95 and p99 response times side by side for each source (simulated, analytic, ...), with the SLO."""
    data = latency_table(sources)
    names = list(dict.fromkeys(data["source"]))
    y = alt.Y("ms:Q", title="response time (ms)")
    bars = alt.Chart(data).mark_bar().encode(
        x=alt.X("percentile:N", title=None, sort=list(LATENCY_PERCENTILES.values())),
        xOffset=alt.XOffset("source:N", sort=names),
        y=y,
        color=alt.Color("source:N", title=None, sort=names, legend=alt.Legend(orient="bottom")),
        tooltip=[alt.Tooltip("source:N"), alt.Tooltip("percentile:N"), alt.Tooltip("ms:Q", format=",.2f")],
    )
    layers = [bars]
    if slo_ms is not None:
        layers.append(_reference_line(slo_ms, y, f"SLO p99 {slo_ms:g} ms"))
    return alt.layer(*layers).properties(title="Latency percentiles", height=260, autosize=FIT_WIDTH)


def options_frame(options: Sequence) -> pd.DataFrame:
    """Capacity options (``mlorg.serving.capacity.Option``) as rows: instance, replicas, servers, utilisation,
    p99_ms, usd_per_hour, usd_per_month."""
    columns = ["instance", "replicas", "servers", "utilisation", "p99_ms", "usd_per_hour", "usd_per_month"]
    return pd.DataFrame([[getattr(o, c) for c in columns] for o in options], columns=columns)


def cost_latency_curve(options: Sequence, *, slo_ms: float, chosen_replicas: int | None = None) -> alt.LayerChart:
    """p99 latency against monthly cost as replicas are added to one instance type, with the SLO line; each
    point says whether it meets the SLO, and the chosen replica count is ringed."""
    data = options_frame(options)
    data = data[np.isfinite(data["p99_ms"])].copy()
    data["meets_slo"] = np.where(data["p99_ms"] <= slo_ms, "meets the SLO", "misses the SLO")
    instance = data["instance"].iloc[0] if len(data) else ""
    # A tight log axis that always shows the SLO: p99 near saturation can be many times the rest.
    low, high = min([*data["p99_ms"], slo_ms]), max([*data["p99_ms"], slo_ms])
    x = alt.X("usd_per_month:Q", title="cost (USD per month)", scale=alt.Scale(zero=False))
    y = alt.Y("p99_ms:Q", title="p99 response time (ms, log scale)",
              scale=alt.Scale(type="log", domain=[low / 1.15, high * 1.15], nice=False))
    base = alt.Chart(data).encode(x=x, y=y)
    tooltip = [alt.Tooltip("replicas:Q"), alt.Tooltip("servers:Q"),
               alt.Tooltip("utilisation:Q", format=".0%"), alt.Tooltip("p99_ms:Q", title="p99 (ms)", format=",.1f"),
               alt.Tooltip("usd_per_month:Q", title="USD per month", format=",.0f")]
    line = base.mark_line(color="#bab0ac")
    points = base.mark_point(filled=True, size=70).encode(
        color=alt.Color("meets_slo:N", title=None, scale=alt.Scale(domain=["meets the SLO", "misses the SLO"],
                                                                   range=["#54a24b", SLO_COLOUR]),
                        legend=alt.Legend(orient="bottom")),
        tooltip=tooltip)
    labels = base.mark_text(dy=14, fontSize=11).encode(text=alt.Text("replicas:Q"))
    layers = [line, points, labels, _reference_line(slo_ms, y, f"SLO p99 {slo_ms:g} ms")]
    if chosen_replicas is not None:
        chosen = data[data["replicas"] == chosen_replicas]
        layers.append(alt.Chart(chosen).mark_point(size=320, strokeWidth=2, color="black").encode(
            x=x, y=y, tooltip=tooltip))
    return alt.layer(*layers).properties(
        title=alt.TitleParams(f"p99 against cost on {instance}", subtitle="labels: replicas"), height=260,
        autosize=FIT_WIDTH)


def instance_costs(options: Sequence) -> alt.Chart:
    """Monthly cost of each instance type's cheapest fleet that meets the SLO; the cheapest of all stands out."""
    data = options_frame(options).sort_values(["usd_per_hour", "replicas"], kind="stable").reset_index(drop=True)
    data["label"] = data["replicas"].astype(str) + " × " + data["instance"]
    data["cheapest"] = np.where(data.index == 0, "cheapest", "other")
    return alt.Chart(data).mark_bar().encode(
        y=alt.Y("label:N", title=None, sort=list(data["label"])),
        x=alt.X("usd_per_month:Q", title="cost (USD per month)"),
        color=alt.Color("cheapest:N", title=None, legend=None,
                        scale=alt.Scale(domain=["cheapest", "other"], range=["#54a24b", "#bab0ac"])),
        tooltip=[alt.Tooltip("instance:N"), alt.Tooltip("replicas:Q"), alt.Tooltip("servers:Q"),
                 alt.Tooltip("utilisation:Q", format=".0%"),
                 alt.Tooltip("p99_ms:Q", title="p99 (ms)", format=",.1f"),
                 alt.Tooltip("usd_per_month:Q", title="USD per month", format=",.0f")],
    ).properties(title="Cheapest fleet per instance type", height=260, autosize=FIT_WIDTH)


def _reference_line(value: float, channel: alt.X | alt.Y, label: str) -> alt.LayerChart:
    """A dashed, labelled line across the chart at ``value`` of ``channel`` (the chart's own x or y encoding).

    It reuses the chart's encoding, so the line shares its field, scale and domain: a layer whose scale differed
    (linear against the chart's log) would make Vega-Lite merge the two and squash the plot.
    """
    field = channel.shorthand.split(":")[0]
    data = pd.DataFrame({field: [value], "label": [label]})
    rule = alt.Chart(data).mark_rule(color=SLO_COLOUR, strokeDash=[6, 4]).encode(channel)
    text = alt.Chart(data).mark_text(color=SLO_COLOUR, align="left", baseline="bottom", dx=4, dy=-2).encode(
        channel, text="label:N")
    text = text.encode(y=alt.value(12)) if isinstance(channel, alt.X) else text.encode(x=alt.value(4))
    return alt.layer(rule, text)


# ------------------------------------------------------------------------------- drift monitor tuning

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
        layers.append(_reference_line(max(budget, ALARM_FLOOR), x, f"budget {budget:g}/month"))
    return alt.layer(*layers).properties(title="Detection lag against false alarms, over thresholds",
                                        height=340, autosize=FIT_WIDTH)


# ------------------------------------------------------------------------------------------ registry

ACTION_COLOURS = {"deploy": "#4c78a8", "promote": "#54a24b", "rollback": "#e45756", "retire": "#bab0ac"}


def deployment_timeline(history: pd.DataFrame) -> alt.LayerChart:
    """Which model version each alias served over time: a step line per alias through its deployments (the
    registry's history: seq, at, version, action, alias, reason, actor), each marked by its action."""
    missing = [c for c in ("at", "version", "action", "alias", "reason", "actor") if c not in history.columns]
    if missing:
        raise ValueError(f"columns {missing} are not in the history; it has {list(history.columns)}")
    data = history.assign(version=history["version"].astype("int64"))
    seen = set(data["action"])
    actions = [a for a in ACTION_COLOURS if a in seen] + sorted(seen - set(ACTION_COLOURS))
    tooltip = [alt.Tooltip("at:T", title="at", format="%Y-%m-%d %H:%M"), alt.Tooltip("alias:N"),
               alt.Tooltip("action:N"), alt.Tooltip("version:Q"), alt.Tooltip("reason:N"), alt.Tooltip("actor:N")]
    x = alt.X("at:T", title="deployed at", axis=alt.Axis(format="%Y-%m-%d", labelAngle=0))
    y = alt.Y("version:Q", title="model version", axis=alt.Axis(tickMinStep=1, format="d"),
              scale=alt.Scale(zero=False, padding=12))
    line = alt.Chart(data).mark_line(interpolate="step-after").encode(
        x=x, y=y, detail="alias:N", strokeDash=alt.StrokeDash("alias:N", title="alias"))
    points = alt.Chart(data).mark_point(filled=True, size=110).encode(
        x=x, y=y, tooltip=tooltip,
        color=alt.Color("action:N", title="action", sort=actions,
                        scale=alt.Scale(domain=actions, range=[ACTION_COLOURS.get(a, "#999999") for a in actions]),
                        legend=alt.Legend(orient="bottom")))
    return alt.layer(line, points).properties(title="Deployments: the version behind each alias", height=220,
                                              autosize=FIT_WIDTH)


# ------------------------------------------------------------------------------- fraud-drift workshop

LOSS_COLOUR = "#e45756"
RECALL_COLOUR = "#4c78a8"
SHIFT_COLOUR = "#9d755d"
RUN_COLOURS = {"without monitoring": "#e45756", "with monitoring and rollback": "#54a24b"}
ALARM_COLOURS = {"before the shift (false alarm)": "#bab0ac", "after the shift": "#e45756"}


def _shift_rule(day: float | None, label: str) -> list[alt.Chart]:
    """A dashed line at the day a cause starts, with its label; nothing when the day is not to be shown yet."""
    if day is None:
        return []
    data = pd.DataFrame({"day": [day], "label": [label]})
    rule = alt.Chart(data).mark_rule(color=SHIFT_COLOUR, strokeDash=[6, 4]).encode(x="day:Q")
    text = alt.Chart(data).mark_text(color=SHIFT_COLOUR, align="left", dx=4, dy=-2, baseline="bottom").encode(
        x="day:Q", y=alt.value(12), text="label:N")
    return [rule, text]


def workshop_weekly(weekly: pd.DataFrame, *, shift_day: float | None = None,
                    shift_label: str = "the cause starts") -> alt.LayerChart:
    """Each live week's fraud losses per day (bars spanning the week) and the share of its fraud the model caught
    (line, right axis). ``weekly`` has start_day, days, losses_per_day, recall and frauds (see
    ``mlorg.workshop.weekly_losses``); ``shift_day`` draws the day the cause started (left out before the answer
    is revealed)."""
    missing = [c for c in ("start_day", "days", "losses_per_day", "recall", "frauds") if c not in weekly.columns]
    if missing:
        raise ValueError(f"columns {missing} are not in the weekly frame; it has {list(weekly.columns)}")
    data = weekly.assign(end_day=weekly["start_day"] + weekly["days"], mid_day=weekly["start_day"] + weekly["days"] / 2)
    x = alt.X("start_day:Q", title="day", scale=alt.Scale(zero=False, nice=False))
    tooltip = [alt.Tooltip("start_day:Q", title="week from day", format=".0f"),
               alt.Tooltip("losses_per_day:Q", title="fraud losses per day (USD)", format=",.0f"),
               alt.Tooltip("recall:Q", title="fraud caught", format=".0%"),
               alt.Tooltip("frauds:Q", title="frauds", format=",.0f")]
    # A rectangle from 0 per week: a bar given x and x2 would lie along x, a thin line at its y.
    bars = alt.Chart(data).mark_rect(color=LOSS_COLOUR, opacity=0.75, stroke="white").encode(
        x=x, x2="end_day:Q", y=alt.Y("losses_per_day:Q", title="fraud losses per day (USD)",
                                     scale=alt.Scale(zero=True),
                                     axis=alt.Axis(titleColor=LOSS_COLOUR, format="$,.0f")),
        y2=alt.datum(0), tooltip=tooltip)
    line = alt.Chart(data).mark_line(color=RECALL_COLOUR, point=True).encode(
        x=alt.X("mid_day:Q"), y=alt.Y("recall:Q", title="share of fraud caught", scale=alt.Scale(domain=[0, 1]),
                                      axis=alt.Axis(titleColor=RECALL_COLOUR, format=".0%")), tooltip=tooltip)
    return alt.layer(alt.layer(bars, *_shift_rule(shift_day, shift_label)), line).resolve_scale(y="independent") \
        .properties(title="Weeks live: fraud losses per day (bars) and share of fraud caught (line)", height=300,
                    autosize=FIT_WIDTH)


def alarm_timeline(alarms: pd.DataFrame, monitors: dict[str, str], *, shift_day: float, first_day: float,
                   last_day: float, shift_label: str = "the cause starts") -> alt.LayerChart:
    """Every alarm the monitors raised (``alarms``: day, monitor, detail), one row per monitor in ``monitors``
    (name -> label, all shown even when silent), coloured by whether it came before the cause (a false alarm) or
    after, between the days the model was live."""
    missing = [c for c in ("day", "monitor", "detail") if c not in alarms.columns]
    if missing:
        raise ValueError(f"columns {missing} are not in the alarms; they have {list(alarms.columns)}")
    data = alarms[alarms["monitor"].isin(list(monitors))].assign(
        label=lambda f: f["monitor"].map(monitors),
        when=lambda f: np.where(f["day"] + 1 > shift_day, "after the shift", "before the shift (false alarm)"))
    labels = list(monitors.values())
    whens = list(ALARM_COLOURS)
    points = alt.Chart(data).mark_tick(thickness=3, size=18).encode(
        x=alt.X("day:Q", title="day", scale=alt.Scale(domain=[first_day, last_day], nice=False)),
        y=alt.Y("label:N", title=None, sort=labels, scale=alt.Scale(domain=labels),
                axis=alt.Axis(labelLimit=320)),
        color=alt.Color("when:N", title=None, scale=alt.Scale(domain=whens, range=list(ALARM_COLOURS.values())),
                        legend=alt.Legend(orient="bottom", labelLimit=0)),
        tooltip=[alt.Tooltip("day:Q", format=".0f"), alt.Tooltip("label:N", title="monitor"),
                 alt.Tooltip("detail:N")])
    return alt.layer(points, *_shift_rule(shift_day, shift_label)).properties(
        title="Alarms the monitors would have raised (nobody acting on them)", height=60 + 34 * len(labels),
        autosize=FIT_WIDTH)


def cumulative_losses(runs: dict[str, pd.DataFrame], *, start_day: float, actions: pd.DataFrame | None = None,
                      shift_day: float | None = None, shift_label: str = "the cause starts") -> alt.LayerChart:
    """Fraud losses accumulated week by week for each run (name -> weekly frame with start_day, days and
    losses_usd), from 0 on ``start_day``; ``actions`` (day, action, version, reason) of the last run are marked on
    its line, shaped by action."""
    rows = []
    for name, weekly in runs.items():
        missing = [c for c in ("start_day", "days", "losses_usd") if c not in weekly.columns]
        if missing:
            raise ValueError(f"columns {missing} are not in the weekly frame of {name!r}; it has "
                             f"{list(weekly.columns)}")
        ends = (weekly["start_day"] + weekly["days"]).to_numpy(dtype=float)
        rows.append(pd.DataFrame({"run": name, "day": [start_day, *ends],
                                  "losses": [0.0, *weekly["losses_usd"].cumsum()]}))
    data = pd.concat(rows[::-1], ignore_index=True)  # the first run drawn last, on top
    names = list(runs)
    colours = [RUN_COLOURS.get(n, "#4c78a8") for n in names]
    x = alt.X("day:Q", title="day", scale=alt.Scale(zero=False, nice=False))
    y = alt.Y("losses:Q", title="fraud losses since going live (USD)", axis=alt.Axis(format="$,.0f"))
    # The first run dashed and drawn last, so that it stays visible where the runs lose the same.
    dashes = [[6, 4]] + [[1, 0]] * (len(names) - 1)
    lines = alt.Chart(data).mark_line(point=True).encode(
        x=x, y=y, color=alt.Color("run:N", title=None, sort=names, scale=alt.Scale(domain=names, range=colours),
                                  legend=alt.Legend(orient="bottom", labelLimit=0)),
        strokeDash=alt.StrokeDash("run:N", sort=names, scale=alt.Scale(domain=names, range=dashes), legend=None),
        tooltip=[alt.Tooltip("run:N"), alt.Tooltip("day:Q", format=".0f"),
                 alt.Tooltip("losses:Q", title="losses (USD)", format="$,.0f")])
    layers = [lines, *_shift_rule(shift_day, shift_label)]
    if actions is not None and len(actions):
        last = data[data["run"] == names[-1]]
        marks = actions.assign(day=actions["day"] + 1.0)  # an action is taken at the end of its day
        marks["losses"] = np.interp(marks["day"], last["day"], last["losses"])
        seen = list(dict.fromkeys(marks["action"]))
        layers.append(alt.Chart(marks).mark_point(shape="diamond", size=120, filled=True).encode(
            x=x, y=y, shape=alt.Shape("action:N", title="incident process", sort=seen,
                                      legend=alt.Legend(orient="bottom")),
            fill=alt.value("#222222"),
            tooltip=[alt.Tooltip("day:Q", format=".0f"), alt.Tooltip("action:N"),
                     alt.Tooltip("version:Q", title="model version"), alt.Tooltip("reason:N")]))
    return alt.layer(*layers).properties(title="Fraud losses, with and without monitoring", height=320,
                                         autosize=FIT_WIDTH)


# ------------------------------------------------------------------------------- sweeps and sensitivity
# The planner's Sweep, Sensitivity and Goal seek tabs. Varied inputs are named by dotted paths
# (org.ml_engineers), which Vega-Lite would read as nested fields, so the data carry them under plain names
# (x, series) and the paths appear only as titles.

SWEEP_STYLES = {"lines": "lines with bands", "heatmap": "heatmap"}
# d3 formats of a metric's values by its kind (mlorg.planner.metric_kind), for axes, tooltips and titles.
VALUE_FORMATS = {"days": ",.1f", "usd": "$,.0f", "share": ".1%", "count": ",.2f"}
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
                value_format: str = ",.1f") -> alt.LayerChart:
    """One metric over a sweep's grid, from ``mlorg.sweeps.summarise_cells(table, [metric])``.

    One varied input: its mean over replications as a line, with the 95% confidence interval of the mean as
    a band (a numeric input) or as error bars (true/false or a choice). Two inputs: one line per value of the
    second (``style="lines"``), or a heatmap of the means (``style="heatmap"``).
    """
    if style not in SWEEP_STYLES:
        raise ValueError(f"style: {style!r} is not allowed; must be one of {', '.join(SWEEP_STYLES)}")
    params = sweep_parameters(summary)
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
