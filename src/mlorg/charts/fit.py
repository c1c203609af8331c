"""The fit of a deploy history: history against fitted scenario, time-to-production quantile by quantile."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from mlorg.charts.common import FIT_WIDTH

QQ_LEVELS = np.linspace(0.02, 0.98, 49)


def qq_frame(history_ttp: np.ndarray, simulated_ttp: np.ndarray) -> pd.DataFrame:
    """One row per quantile level: the history's time-to-production and the fitted scenario's, in days."""
    if len(history_ttp) == 0 or len(simulated_ttp) == 0:
        return pd.DataFrame(columns=["level", "history_days", "fitted_days"])
    return pd.DataFrame({"level": QQ_LEVELS, "history_days": np.quantile(history_ttp, QQ_LEVELS),
                         "fitted_days": np.quantile(simulated_ttp, QQ_LEVELS)})


def qq_chart(history_ttp: np.ndarray, simulated_ttp: np.ndarray) -> alt.Chart:
    """Quantiles of the history's time-to-production against the fitted scenario's: on the diagonal where they
    agree; above it where the history is slower."""
    frame = qq_frame(history_ttp, simulated_ttp)
    top = float(max(frame[["history_days", "fitted_days"]].max().max(), 1.0)) if len(frame) else 1.0
    diagonal = alt.Chart(pd.DataFrame({"fitted_days": [0.0, top], "history_days": [0.0, top]})).mark_line(
        color="#888", strokeDash=[4, 4]).encode(x="fitted_days:Q", y="history_days:Q")
    points = alt.Chart(frame).mark_circle(size=40).encode(
        x=alt.X("fitted_days:Q", title="Fitted scenario: days to production"),
        y=alt.Y("history_days:Q", title="History: days to production"),
        tooltip=[alt.Tooltip("level:Q", title="quantile", format=".0%"),
                 alt.Tooltip("history_days:Q", title="history (days)", format=".1f"),
                 alt.Tooltip("fitted_days:Q", title="fitted (days)", format=".1f")])
    return (diagonal + points).properties(title="Time to production, quantile against quantile", height=320,
                                         autosize=FIT_WIDTH)
