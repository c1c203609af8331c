"""Monitoring tuner: a drift detector's detection lag against its false alarms, beside the quickest detection any
detector could achieve, and the threshold that stays within a false-alarm budget — `mlorg monitor --sweep` in a
form."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pandas as pd
import streamlit as st

from mlorg import charts
from mlorg.monitoring.characteristics import (
    DETECTORS,
    SEQUENTIAL_DETECTORS,
    SWEEP_THRESHOLDS,
    Monitor,
    OperatingPoint,
    default_threshold,
    meets_budget,
    operating_point,
    shift_from_psi,
    sweep,
)
from mlorg.pipeline.data import EXAMPLE_CAUSES
from mlorg.scenario import load

DETECTOR_LABELS = {
    "psi": "PSI (population stability index)",
    "ks": "Kolmogorov–Smirnov test",
    "wasserstein": "Wasserstein distance",
    "jensen_shannon": "Jensen–Shannon distance",
    "mean": "window mean ± k standard errors",
    "cusum": "CUSUM (k = 0.5)",
    "page_hinkley": "Page–Hinkley",
}
THRESHOLD_MEANING = {
    "psi": "alarm when PSI on the reference's bins exceeds it (Evidently: 0.1)",
    "ks": "alarm when the KS p-value is at or below it (Evidently: 0.05); a p-value, so > 0 and < 1",
    "wasserstein": "alarm when W1 / the reference's standard deviation exceeds it (Evidently: 0.1)",
    "jensen_shannon": "alarm when the Jensen–Shannon distance exceeds it (Evidently: 0.1)",
    "mean": "alarm when the window mean is more than this many standard errors from the reference's (NannyML: 3)",
    "cusum": "decision interval h of a two-sided CUSUM on window-mean z-scores (Montgomery: 4–5)",
    "page_hinkley": "threshold λ (river: 50)",
}
DRIFT_KINDS = {"mean-shift": "mean shift (σ per sample)", "psi": "population PSI"}
FIELD_LABELS = {"threshold": "Threshold", "window": "Window (samples)", "cadence_hours": "Check every (hours)",
                "traffic_per_hour": "Traffic (samples/hour)", "bins": "Bins"}
BINNED = ("psi", "jensen_shannon")
# The pipeline the "Measure" button runs; tests shrink it through the environment.
PIPELINE_SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "fraud_drift.toml"
PIPELINE_DAYS = int(os.environ.get("MLORG_TUNER_PIPELINE_DAYS", "120"))
PIPELINE_TRANSACTIONS = float(os.environ.get("MLORG_TUNER_PIPELINE_TRANSACTIONS", "2000"))


def show_error(message: str) -> None:
    """A library message names the parameter first; the page names the field as the form labels it."""
    for name, label in FIELD_LABELS.items():
        if message.startswith(name + " ") or message.startswith(name + ":"):
            message = label + message[len(name):]
            break
    st.error(message)


@st.cache_data(show_spinner=False, max_entries=64)
def current_point(monitor: Monitor, shift: float) -> OperatingPoint:
    with st.spinner("Computing this setting…"):
        return operating_point(monitor, shift)


@st.cache_data(show_spinner=False, max_entries=32)
def trade_off(detector: str, window: int, cadence_hours: float, traffic_per_hour: float, bins: int,
              shift: float) -> tuple[list[OperatingPoint], dict[float, str]]:
    """The operating point at every swept threshold, and the thresholds that could not be computed (why)."""
    # Keyed without the threshold: the sweep does not depend on it, so moving the threshold is instant.
    monitor = Monitor(detector=detector, threshold=default_threshold(detector), window=window,
                      cadence_hours=cadence_hours, traffic_per_hour=traffic_per_hour, bins=bins)
    thresholds = SWEEP_THRESHOLDS[detector]
    bar = st.progress(0.0, text="Sweeping thresholds…")
    points, failed = [], {}
    try:
        # One threshold at a time so that the bar moves (CUSUM and Page–Hinkley take seconds per sweep), and so
        # that a threshold the library cannot evaluate leaves the others on the curve.
        for done, threshold in enumerate(thresholds, start=1):
            try:
                points.extend(sweep(monitor, shift, [threshold]))
            except (ArithmeticError, ValueError) as exc:
                failed[float(threshold)] = str(exc)
            bar.progress(done / len(thresholds), text=f"Threshold {done} of {len(thresholds)}")
    finally:
        bar.empty()
    return points, failed


def use_threshold(detector: str, threshold: float) -> None:
    st.session_state[f"monitor.threshold.{detector}"] = threshold


def inputs() -> dict:
    left, middle, right = st.columns(3)
    with left:
        st.markdown("**Detector**")
        detector = st.selectbox("Detector", DETECTORS, format_func=DETECTOR_LABELS.get, key="monitor.detector")
        # One threshold field per detector, starting at that detector's default. It is seeded through the session
        # state rather than value=, since the budget's "Use threshold" button writes the same key.
        key = f"monitor.threshold.{detector}"
        st.session_state.setdefault(key, default_threshold(detector))
        threshold = st.number_input("Threshold", min_value=0.0, format="%g", key=key,
                                    help=THRESHOLD_MEANING[detector])
        bins = st.number_input("Bins", min_value=2, max_value=1000, value=10, step=1, key="monitor.bins",
                               disabled=detector not in BINNED, help="PSI and Jensen–Shannon: the reference's "
                               "quantile bins (10: deciles)")
    with middle:
        st.markdown("**Checks and traffic**")
        window = st.number_input("Window (samples)", min_value=1, max_value=10_000_000, value=5000, step=100,
                                 key="monitor.window", help="samples compared with the reference at each check")
        cadence = st.number_input("Check every (hours)", min_value=0.001, max_value=8760.0, value=24.0, step=1.0,
                                  key="monitor.cadence_hours")
        traffic = st.number_input("Traffic (samples/hour)", min_value=0.001, max_value=1e9, value=None, step=100.0,
                                  key="monitor.traffic_per_hour", placeholder="window ÷ cadence",
                                  help="blank: one fresh window per check")
    with right:
        st.markdown("**Drift and budget**")
        kind = st.radio("Drift given as", list(DRIFT_KINDS), index=1, format_func=DRIFT_KINDS.get, horizontal=True,
                        key="monitor.drift_kind")
        size = st.number_input("Drift size", min_value=0.0, max_value=100.0, value=0.1, step=0.05, format="%g",
                               key="monitor.drift_size", help="σ by which each sample's mean shifts, or the "
                               "population PSI between before and after (a shift of √PSI σ)")
        budget = st.number_input("False-alarm budget (per month)", min_value=0.0, max_value=1e6, value=1.0,
                                 step=0.5, format="%g", key="monitor.budget")
    return {"detector": detector, "threshold": float(threshold), "bins": int(bins), "window": int(window),
            "cadence": float(cadence), "traffic": float(traffic) if traffic is not None else window / cadence,
            "kind": kind, "size": float(size), "budget": float(budget)}


def monitor_and_shift(form: dict) -> tuple[Monitor, float] | None:
    if not form["size"] > 0:
        st.error(f"Drift size: {form['size']:g} is not allowed; must be > 0 and <= 100")
        return None
    try:
        monitor = Monitor(detector=form["detector"], threshold=form["threshold"], window=form["window"],
                          cadence_hours=form["cadence"], traffic_per_hour=form["traffic"], bins=form["bins"])
    except ValueError as exc:
        show_error(str(exc))
        return None
    shift = shift_from_psi(form["size"]) if form["kind"] == "psi" else form["size"]
    return monitor, shift


def hours(value: float) -> str:
    return "never" if not math.isfinite(value) else f"{value:,.1f} h"


def rate(value: float) -> str:
    if not math.isfinite(value):
        return "—"
    return f"< {charts.ALARM_FLOOR:g}" if value < charts.ALARM_FLOOR else f"{value:.3g}"


def number(value: float) -> str:
    return "—" if not math.isfinite(value) else f"{value:,.4g}"


def show_point(monitor: Monitor, point: OperatingPoint) -> None:
    traffic = monitor.traffic_per_hour
    bound_hours = point.optimal_delay_samples / traffic
    columns = st.columns(4)
    columns[0].metric("False alarms per month", rate(point.false_alarms_per_month),
                      help="expected alarms a month with no drift at all")
    columns[1].metric("Detection lag", hours(point.detection_lag_hours),
                      help="mean hours from a drift starting at a random moment to the first alarm")
    columns[2].metric("Worst-case lag", hours(point.worst_case_lag_samples / traffic),
                      help="the drift starts at the least favourable moment")
    columns[3].metric("Quickest possible", hours(bound_hours),
                      help="worst-case delay of a CUSUM tuned to this drift with the same false-alarm rate: no "
                           "detector does better (Lorden 1971, Moustakides 1986); Siegmund's approximation")
    if not math.isfinite(point.detection_lag_hours):
        st.warning(f"At threshold {point.threshold:g} the {point.detector} detector never detects a drift of "
                   f"{point.shift:.3g}σ: lower the threshold or widen the window.")
    checks = "observation" if monitor.detector in SEQUENTIAL_DETECTORS else "check"
    figures = pd.Series({
        f"false-alarm probability per {checks}": point.false_alarm_probability,
        "alarm probability per check once the window has drifted": point.alarm_probability,
        "false alarms per month": point.false_alarms_per_month,
        "ARL₀ (samples between false alarms)": point.arl0_samples,
        "detection lag (hours, drift at a random moment)": point.detection_lag_hours,
        "detection lag (samples)": point.detection_lag_samples,
        "worst-case lag (samples)": point.worst_case_lag_samples,
        "quickest-detection bound: optimal CUSUM delay at the same ARL₀ (samples)": point.optimal_delay_samples,
        "ln(ARL₀) / KL, its first-order approximation (samples)": point.lorden_approx_samples,
    }, name="value")
    # As text: ARL₀ can pass 1e100, beyond what the browser's number formatting shows well.
    st.dataframe(figures.map(number), width="stretch")
    if not math.isfinite(point.arl0_samples):
        st.caption("No false alarm is expected at this threshold, so there is no finite ARL₀ and no bound to "
                   "compare with.")


def show_trade_off(form: dict, monitor: Monitor, shift: float, point: OperatingPoint) -> None:
    points, failed = trade_off(monitor.detector, monitor.window, monitor.cadence_hours, monitor.traffic_per_hour,
                               monitor.bins, shift)
    best = meets_budget(points, form["budget"])
    st.subheader("Lag against false alarms")
    st.altair_chart(charts.detection_tradeoff(points, traffic_per_hour=monitor.traffic_per_hour, current=point,
                                              budget=form["budget"], recommended=best), width="stretch")
    if failed:
        listed = ", ".join(f"{t:.4g}" for t in failed)
        st.warning(f"Thresholds {listed} are left off the curve: they could not be computed "
                   f"({next(iter(failed.values()))}).")
    if best is None:
        st.warning(f"No threshold swept keeps false alarms within {form['budget']:g} per month; raise the budget "
                   "or widen the window.")
    else:
        st.success(f"Within {form['budget']:g} false alarm(s) per month the quickest threshold is "
                   f"**{best.threshold:.4g}**: it detects in {hours(best.detection_lag_hours)} on average with "
                   f"{rate(best.false_alarms_per_month)} false alarms per month.")
        st.button(f"Use threshold {best.threshold:.4g}", key="monitor.use_budget_threshold", on_click=use_threshold,
                  args=(monitor.detector, float(best.threshold)), disabled=best.threshold == form["threshold"])
    with st.expander("Every threshold swept"):
        table = charts.operating_points_frame(points, traffic_per_hour=monitor.traffic_per_hour)
        st.dataframe(table, hide_index=True, width="stretch",
                     column_config={c: st.column_config.NumberColumn(format="%.4g") for c in table.columns})


@st.cache_data(show_spinner=False, max_entries=16)
def measured(detector: str, threshold: float, window_hours: float, cause: str) -> pd.Series:
    # Shared by every session: the first to ask waits with a progress bar, the rest read the answer.
    from mlorg.pipeline.calibrate import measure_setting  # scikit-learn: loaded only when someone measures

    bar = st.progress(0.0, text="Generating transactions and training the model…")
    try:
        return measure_setting(load(PIPELINE_SCENARIO), detector, threshold, window_hours, cause,
                               days=PIPELINE_DAYS, transactions_per_day=PIPELINE_TRANSACTIONS,
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
    st.caption(f"The same threshold on {signal} of the fraud pipeline ({PIPELINE_DAYS} days of "
               f"{PIPELINE_TRANSACTIONS:,.0f} card transactions), on the last {window_hours:,.4g} h checked once a "
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
        row = measured(monitor.detector, monitor.threshold, window_hours, cause)
    except ValueError as exc:
        show_error(str(exc))
        return
    columns = st.columns(4)
    columns[0].metric("Lag measured", "never" if math.isnan(row["measured_lag_days"])
                      else f"{row['measured_lag_days']:g} days")
    columns[1].metric("Lag predicted", "never" if not math.isfinite(row["predicted_lag_p05_days"])
                      else f"{row['predicted_lag_days']:.1f} days",
                      help=f"5–95%: {row['predicted_lag_p05_days']:g} to {row['predicted_lag_p95_days']:g} days")
    columns[2].metric("False alarms measured", f"{row['measured_false_alarms_per_month']:.2f} / month",
                      help=f"{row['measured_false_alarms']} in {row['checks']} daily checks")
    columns[3].metric("False alarms predicted", f"{row['predicted_false_alarms_per_month']:.2f} / month")
    st.caption(f"The cause moved the monitored signal from {row['shift_before']:.3g} to {row['shift_after']:.3g}σ "
               "(the largest feature's, for PSI). `mlorg calibrate` gives the same comparison for a whole scenario.")


st.title("Monitoring tuner")
st.caption("How fast a drift detector notices a drift, and how often it cries wolf without one — from the sampling "
           "distribution of its statistic, not from a chosen lag. The monitored signal (a feature, the score) is "
           "standardised on the reference; a drift shifts each sample's mean. The bound is the quickest any "
           "detector can be at the same false-alarm rate.")
form = inputs()
built = monitor_and_shift(form)
if built is not None:
    monitor, shift = built
    try:
        point = current_point(monitor, shift)
    except (ArithmeticError, ValueError) as exc:
        st.error(f"Threshold: {form['threshold']:g} cannot be evaluated for {form['detector']} ({exc}); try "
                 "another threshold.")
    else:
        st.caption(f"{DETECTOR_LABELS[monitor.detector]} at threshold {monitor.threshold:g}: window "
                   f"{monitor.window:,} samples every {monitor.cadence_hours:g} h at {monitor.traffic_per_hour:,.4g} "
                   f"samples/h; drift of {shift:.3g}σ per sample.")
        show_point(monitor, point)
        show_trade_off(form, monitor, shift, point)
        show_measurement(monitor)
