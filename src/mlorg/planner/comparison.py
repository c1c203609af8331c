"""Replicated scenarios side by side: each metric with its 95% interval, and its paired difference from a
baseline on common random numbers, in words a leader reads."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pandas as pd

from mlorg import formatting, metric_table
from mlorg.results import Replications, compare

# Net value first: what the models earn, less what they cost; then how fast and how many ship.
HEADLINES = ("net_value_usd", "value_delivered_usd", "staff_cost_usd", "ttp_days_median", "ttp_days_p90",
             "models_shipped", "ship_share", "backlog_end", "models_abandoned")


# The figures a comparison shows: what a leader weighs when choosing between organisations.
COMPARE_METRICS = ("net_value_usd", "value_delivered_usd", "ttp_days_median", "ttp_days_p90", "models_shipped",
                   "models_live_end", "backlog_end", "models_abandoned", "staff_cost_usd", "serving_cost_usd",
                   "infra_cost_usd", "business_loss_usd")


def comparison_table(results: Mapping[str, Replications],
                     metrics: Sequence[str] = COMPARE_METRICS) -> pd.DataFrame:
    """Scenarios side by side, the first as baseline: one row per scenario and metric.

    Columns: scenario, metric, label, kind, mean, ci95_low, ci95_high, n, and the paired difference from
    the baseline with its 95% interval (diff_mean, diff_low, diff_high; NaN on the baseline's rows).
    The replications must share seed and count, so that replication r of each scenario drew the same
    random numbers (common random numbers); metrics no scenario defines are left out.
    """
    if len(results) < 2:
        raise ValueError(f"scenarios: {len(results)} given; a comparison needs at least 2")
    labels = list(results)
    baseline = results[labels[0]]
    rows = []
    for label in labels:
        reps = results[label]
        summary = reps.summary
        diffs = None if label == labels[0] else compare(baseline, reps)
        for metric in (m for m in metrics if m in summary.index):
            name, kind = metric_table.label(metric), metric_table.kind(metric)
            row = {"scenario": label, "metric": metric, "label": name, "kind": kind,
                   **summary.loc[metric, ["mean", "ci95_low", "ci95_high", "n"]].to_dict()}
            if diffs is None:
                row.update(diff_mean=math.nan, diff_low=math.nan, diff_high=math.nan)
            else:
                row.update(diff_mean=diffs.loc[metric, "mean"], diff_low=diffs.loc[metric, "ci95_low"],
                           diff_high=diffs.loc[metric, "ci95_high"])
            rows.append(row)
    table = pd.DataFrame(rows)
    defined = table.groupby("metric", sort=False)["mean"].transform(lambda s: s.notna().any())
    table = table[defined].reset_index(drop=True)
    table["n"] = table["n"].astype("int64")
    return table


def difference_verdict(low: float, high: float) -> str:
    """Whether a paired 95% interval of a difference excludes zero."""
    if math.isnan(low) or math.isnan(high):
        return "no interval"
    if low > 0:
        return "higher"
    if high < 0:
        return "lower"
    return "no clear difference"


def interval_text(row: Mapping[str, float], kind: str, total: int) -> str:
    """The 95% interval of a summary row, and over how many replications the metric was defined."""
    if row["n"] == 0:
        return "not defined in any replication"
    text = (f"95% CI {formatting.value(row['ci95_low'], kind)} to {formatting.value(row['ci95_high'], kind)}"
            if row["n"] > 1 else "no interval from one replication")
    return text if row["n"] == total else f"{text} (over {int(row['n'])} of {total} replications)"
