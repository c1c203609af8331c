"""A scenario's infrastructure bill line by line — serving, then training, features, storage and monitoring — with
how much of the serving bill the availability floor sets, from a replication summary."""

from __future__ import annotations

import math

import pandas as pd

from mlorg import formatting
from mlorg.metric_table import label

BILL_LINES = ("serving_cost_usd", "infra_training_usd", "infra_features_usd", "infra_storage_usd",
              "infra_monitoring_usd")


def bill_frame(summary: pd.DataFrame) -> pd.DataFrame:
    """One row per line the scenario prices (mean, 95% interval, share of the bill), then the bill's total."""
    priced = [m for m in BILL_LINES if m in summary.index and summary.loc[m, "n"] > 0]
    total = sum(float(summary.loc[m, "mean"]) for m in priced)
    rows = [{"line": label(m), "mean": formatting.usd(summary.loc[m, "mean"]),
             "95% CI": _interval(summary.loc[m]),
             "share of the bill": formatting.share(summary.loc[m, "mean"] / total, 1) if total > 0 else "—"}
            for m in priced]
    if rows:
        rows.append({"line": "The whole bill", "mean": formatting.usd(total), "95% CI": "",
                     "share of the bill": formatting.share(1.0, 0) if total > 0 else "—"})
    return pd.DataFrame(rows, columns=["line", "mean", "95% CI", "share of the bill"])


def floor_text(summary: pd.DataFrame) -> str:
    """What share of the serving bill the real-time fleets' availability floor sets, in a sentence ("" if unknown)."""
    if "serving_floor_share" not in summary.index or summary.loc["serving_floor_share", "n"] == 0:
        return ""
    share = float(summary.loc["serving_floor_share", "mean"])
    if not math.isfinite(share):
        return ""
    shown = formatting.share(share, 2 if 0.99 < share < 1 else 1)  # 99.97% is not 100.0%
    text = (f"{shown} of the serving bill is the real-time fleets' availability floor "
            "(their minimum replicas), paid whatever the load")
    if share > 0.9:
        return text + ": this organisation's traffic is far below what its replicas can carry, so more traffic " \
                      "would cost it little."
    return text + "; the rest follows the load."


def _interval(row: pd.Series) -> str:
    if not math.isfinite(row["ci95_low"]):
        return ""
    return f"{formatting.usd(row['ci95_low'])} – {formatting.usd(row['ci95_high'])}"
