"""The Monitoring tuner's check of a detector setting on real data: the reference pipeline's fraud transactions,
with a drift cause injected and without, measured beside what the model predicts."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pandas as pd
import streamlit as st

from mlorg import formatting
from mlorg.monitoring.characteristics import Monitor
from mlorg.pipeline.data import EXAMPLE_CAUSES
from mlorg.scenario import load
from views.tuner.words import show_error

PIPELINE_SCENARIO = Path(__file__).resolve().parents[3] / "scenarios" / "fraud_drift.toml"


def pipeline_scale() -> tuple[int, float]:
    """Days and transactions a day of the pipeline "Measure" runs; tests shrink it through the environment (read
    at each run, since this module stays imported between them)."""
    return (int(os.environ.get("MLORG_TUNER_PIPELINE_DAYS", "120")),
            float(os.environ.get("MLORG_TUNER_PIPELINE_TRANSACTIONS", "2000")))


@st.cache_data(show_spinner=False, max_entries=16)
def measured(detector: str, threshold: float, window_hours: float, cause: str, days: int,
             transactions_per_day: float) -> pd.Series:
    # Shared by every session: the first to ask waits with a progress bar, the rest read the answer.
    from mlorg.pipeline.calibrate import measure_setting  # scikit-learn: loaded only when someone measures

    bar = st.progress(0.0, text="Generating transactions and training the model…")
    try:
        return measure_setting(load(PIPELINE_SCENARIO), detector, threshold, window_hours, cause,
                               days=days, transactions_per_day=transactions_per_day,
                               progress=lambda done, total: bar.progress(
                                   done / total, text=f"Day {done} of {total} checked "
                                                      f"({'with' if done <= total // 2 else 'without'} the cause)"))
    finally:
        bar.empty()


def show_measurement(monitor: Monitor) -> None:
    st.subheader("Measured on the reference pipeline")
    if monitor.detector not in ("psi", "mean"):  # mlorg.pipeline.calibrate.MEASURABLE
        st.info("The reference pipeline runs PSI on its features and the window-mean test on its alert rate: pick "
                "one of those detectors to measure it on real data.")
        return
    window_hours = monitor.window / monitor.traffic_per_hour
    signal = "every feature" if monitor.detector == "psi" else "the alert rate"
    days, transactions_per_day = pipeline_scale()
    st.caption(f"The same threshold on {signal} of the fraud pipeline ({days} days of "
               f"{transactions_per_day:,.0f} card transactions), on the last {window_hours:,.4g} h checked once a "
               "day, beside a model nobody corrects; false alarms on the same days without the cause.")
    cause = st.selectbox("Cause injected", list(EXAMPLE_CAUSES), format_func=lambda kind: EXAMPLE_CAUSES[kind][2],
                         key="monitor.cause")
    if not st.button("Measure on the pipeline", key="monitor.measure"):
        return
    if not 1.0 <= window_hours <= 24.0 * 30:
        st.error(f"Window: {window_hours:,.4g} hours of traffic is not allowed on the pipeline; must be >= 1 and "
                 "<= 720 hours (window ÷ traffic)")
        return
    try:
        row = measured(monitor.detector, monitor.threshold, window_hours, cause, days, transactions_per_day)
    except ValueError as exc:
        show_error(str(exc))
        return
    columns = st.columns(4)
    columns[0].metric("Lag measured", "never" if math.isnan(row["measured_lag_days"])
                      else formatting.days(row["measured_lag_days"]),
                      help="no alarm the days without the cause did not also raise" if math.isnan(
                          row["measured_lag_days"]) else None)
    columns[1].metric("Lag predicted", "never" if not math.isfinite(row["predicted_lag_p05_days"])
                      else formatting.days(row["predicted_lag_days"]),
                      help=f"5–95%: {formatting.lag(row['predicted_lag_p05_days'], 'day', reason='')} to "
                           f"{formatting.lag(row['predicted_lag_p95_days'], 'day', reason='')}")
    columns[2].metric("False alarms measured", f"{formatting.small(row['measured_false_alarms_per_month'])} / month",
                      help=f"{row['measured_false_alarms']} in {row['checks']} daily checks")
    columns[3].metric("False alarms predicted",
                      f"{formatting.small(row['predicted_false_alarms_per_month'])} / month")
    st.caption(f"The cause moved the monitored signal from {row['shift_before']:.3g} to {row['shift_after']:.3g}σ "
               "(the largest feature's, for PSI). `mlorg calibrate` gives the same comparison for a whole scenario.")
