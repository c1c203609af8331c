"""What the charts of every page share: intervals over replications, widths that fit the page, reference lines."""

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

SLO_COLOUR = "#e45756"
# Width fits the page, height is the plot's own: Streamlit's default ("fit") squeezes the title, axes and legend
# into the height, which left log-scaled plots a sliver.
FIT_WIDTH = alt.AutoSizeParams(type="fit-x", contains="padding")


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


def nice_step(raw: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k that is >= raw."""
    exponent = math.floor(math.log10(raw))
    for mantissa in (1, 2, 2.5, 5, 10):
        step = mantissa * 10**exponent
        if step >= raw * (1 - 1e-12):
            return float(step)
    return float(10 ** (exponent + 1))


def reference_line(value: float, channel: alt.X | alt.Y, label: str) -> alt.LayerChart:
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
