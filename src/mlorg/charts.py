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
    where fewer than two replications have a value.
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
