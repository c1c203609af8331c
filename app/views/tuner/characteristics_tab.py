"""The Monitoring tuner's first tab: a drift detector's detection lag against its false alarms, beside the quickest
detection any detector could achieve, and the threshold that stays within a false-alarm budget — `mlorg monitor
--sweep` in a form — and the same setting measured on the reference pipeline."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from mlorg import charts, formatting, inputs
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
from views.shared import forms
from views.tuner.measurement import show_measurement
from views.tuner.words import show_error

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
BINNED = ("psi", "jensen_shannon")


@st.cache_data(show_spinner=False, max_entries=64)
def current_point(monitor: Monitor, shift: float) -> OperatingPoint:
    how = {"cusum": " through the CUSUM's Markov chain", "page_hinkley": " by simulating Page–Hinkley's recursion"}
    with st.spinner(f"Computing this setting's false alarms and lag{how.get(monitor.detector, '')}…"):
        return operating_point(monitor, shift)


@st.cache_data(show_spinner=False, max_entries=32)
def trade_off(detector: str, window: int, cadence_hours: float, traffic_per_hour: float, bins: int,
              shift: float, reference_rows: int | None) -> tuple[list[OperatingPoint], dict[float, str]]:
    """The operating point at every swept threshold, and the thresholds that could not be computed (why)."""
    # Keyed without the threshold: the sweep does not depend on it, so moving the threshold is instant.
    monitor = Monitor(detector=detector, threshold=default_threshold(detector), window=window,
                      cadence_hours=cadence_hours, traffic_per_hour=traffic_per_hour, bins=bins,
                      reference_rows=reference_rows)
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
            bar.progress(done / len(thresholds), text=f"Sweeping thresholds: {done} of {len(thresholds)} "
                                                      f"({threshold:g}) done")
    finally:
        bar.empty()
    return points, failed


def use_threshold(detector: str, threshold: float) -> None:
    st.session_state[f"monitor.threshold.{detector}"] = threshold


def form_inputs() -> dict:
    left, middle, right = st.columns(3)
    with left:
        st.markdown("**Detector**")
        detector = st.selectbox("Detector", DETECTORS, format_func=DETECTOR_LABELS.get, key="monitor.detector")
        # One threshold field per detector, starting at that detector's default. It is seeded through the session
        # state rather than value=, since the budget's "Use threshold" button writes the same key.
        key = f"monitor.threshold.{detector}"
        st.session_state.setdefault(key, default_threshold(detector))
        threshold = forms.number("threshold", key=key, help_text=THRESHOLD_MEANING[detector])
        bins = forms.number("bins", key="monitor.bins", value=10, disabled=detector not in BINNED)
        reference_rows = forms.number("reference_rows", key="monitor.reference_rows", disabled=detector != "ks",
                                      placeholder="the population")
    with middle:
        st.markdown("**Checks and traffic**")
        window = forms.number("window", key="monitor.window", value=5000, step=100)
        cadence = forms.number("cadence_hours", key="monitor.cadence_hours", value=24.0, step=1.0)
        traffic = forms.number("traffic_per_hour", key="monitor.traffic_per_hour", step=100.0,
                               placeholder="window ÷ cadence")
    with right:
        st.markdown("**Drift and budget**")
        kind = st.radio("Drift given as", list(DRIFT_KINDS), index=1, format_func=DRIFT_KINDS.get, horizontal=True,
                        key="monitor.drift_kind")
        size = forms.number("drift_size", key="monitor.drift_size", value=0.1, step=0.05)
        budget = forms.number("budget", key="monitor.budget", value=1.0, step=0.5)
    return {"detector": detector, "threshold": threshold, "bins": bins, "reference_rows": reference_rows,
            "window": window, "cadence": cadence,
            "traffic": traffic, "kind": kind, "size": size, "budget": budget}


def problems(form: dict) -> list[str]:
    values = {"threshold": form["threshold"], "window": form["window"], "cadence_hours": form["cadence"],
              "drift_size": form["size"], "budget": form["budget"]}
    if form["detector"] in BINNED:
        values["bins"] = form["bins"]
    if form["traffic"] is not None:  # blank: one fresh window per check
        values["traffic_per_hour"] = form["traffic"]
    if form["detector"] == "ks" and form["reference_rows"] is not None:  # blank: the population
        values["reference_rows"] = form["reference_rows"]
    return inputs.problems(values)


def monitor_and_shift(form: dict) -> tuple[Monitor, float] | None:
    traffic = form["traffic"] if form["traffic"] is not None else form["window"] / form["cadence"]
    try:
        monitor = Monitor(detector=form["detector"], threshold=float(form["threshold"]), window=int(form["window"]),
                          cadence_hours=float(form["cadence"]), traffic_per_hour=float(traffic),
                          bins=int(form["bins"]), reference_rows=reference_rows(form))
    except ValueError as exc:
        show_error(str(exc))
        return None
    shift = shift_from_psi(form["size"]) if form["kind"] == "psi" else float(form["size"])
    return monitor, shift


def reference_rows(form: dict) -> int | None:
    """The KS reference's rows, or None for the population (blank, or another detector)."""
    return int(form["reference_rows"]) if form["detector"] == "ks" and form["reference_rows"] is not None else None


def hours(value: float) -> str:
    return formatting.lag(value, reason="")


def show_point(monitor: Monitor, point: OperatingPoint) -> None:
    traffic = monitor.traffic_per_hour
    bound_hours = point.optimal_delay_samples / traffic
    columns = [*st.columns(2), *st.columns(2)]  # two to a row: four cut their figures short at 1000 px
    columns[0].metric("False alarms per month", formatting.small(point.false_alarms_per_month),
                      help="expected alarms a month with no drift at all")
    columns[1].metric("Detection lag", hours(point.detection_lag_hours),
                      help="mean time from a drift starting at a random moment to the first alarm")
    columns[2].metric("Worst-case lag", hours(point.worst_case_lag_samples / traffic),
                      help="the drift starts at the least favourable moment")
    columns[3].metric("Quickest possible", hours(bound_hours),
                      help="worst-case delay of a CUSUM tuned to this drift with the same false-alarm rate: no "
                           "detector does better (Lorden 1971, Moustakides 1986), through the CUSUM's Markov chain. "
                           "None without a finite false-alarm rate to tune it to.")
    if not math.isfinite(point.detection_lag_hours):
        st.warning(f"Never: at threshold {point.threshold:g} the {point.detector} detector cannot detect a drift of "
                   f"{point.shift:.3g}σ (its alarm probability with the whole window drifted is "
                   f"{formatting.small(point.alarm_probability)}). Lower the threshold or widen the window.")
    checks = "observation" if monitor.detector in SEQUENTIAL_DETECTORS else "check"
    figures = pd.Series({
        f"false-alarm probability per {checks}": formatting.small(point.false_alarm_probability),
        "alarm probability per check once the window has drifted": formatting.small(point.alarm_probability),
        "false alarms per month": formatting.small(point.false_alarms_per_month),
        "ARL₀ (samples between false alarms)": formatting.count(point.arl0_samples),
        "detection lag (drift at a random moment)": hours(point.detection_lag_hours),
        "detection lag": formatting.lag(point.detection_lag_samples, "sample", reason=""),
        "worst-case lag": formatting.lag(point.worst_case_lag_samples, "sample", reason=""),
        "quickest-detection bound: optimal CUSUM delay at the same ARL₀":
            formatting.lag(point.optimal_delay_samples, "sample", reason=""),
        "ln(ARL₀) / KL, Lorden's asymptote (above the bound at any finite ARL₀)":
            formatting.lag(point.lorden_approx_samples, "sample", reason=""),
    }, name="value")
    st.dataframe(figures, width="stretch")
    if not math.isfinite(point.arl0_samples):
        st.caption("No false alarm is expected at this threshold, so there is no finite ARL₀ and no quickest-"
                   "detection bound to compare with (—).")


def show_trade_off(form: dict, monitor: Monitor, shift: float, point: OperatingPoint) -> None:
    points, failed = trade_off(monitor.detector, monitor.window, monitor.cadence_hours, monitor.traffic_per_hour,
                               monitor.bins, shift, monitor.reference_rows)
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
        st.success(f"Within {formatting.quantity(form['budget'], 'false alarm')} per month the quickest threshold "
                   f"is **{best.threshold:.4g}**: it detects in {hours(best.detection_lag_hours)} on average with "
                   f"{formatting.small(best.false_alarms_per_month)} false alarms per month.")
        st.button(f"Use threshold {best.threshold:.4g}", key="monitor.use_budget_threshold", on_click=use_threshold,
                  args=(monitor.detector, float(best.threshold)), disabled=best.threshold == form["threshold"])
    with st.expander("Every threshold swept"):
        table = charts.operating_points_frame(points, traffic_per_hour=monitor.traffic_per_hour)
        st.dataframe(table, hide_index=True, width="stretch",
                     column_config={c: st.column_config.NumberColumn(format="%.4g") for c in table.columns})


def characteristics_tab() -> None:
    st.caption("How fast a drift detector notices a drift, and how often it cries wolf without one — from the "
               "sampling distribution of its statistic, not from a chosen lag. The signal (a feature, the score) is "
               "standardised on the reference; a drift shifts each sample's mean. The bound is the quickest any "
               "detector can be at the same false-alarm rate.")
    form = form_inputs()
    built = None if forms.refuse(problems(form)) else monitor_and_shift(form)
    if built is None:
        return
    monitor, shift = built
    try:
        point = current_point(monitor, shift)
    except (ArithmeticError, ValueError) as exc:
        st.error(f"Threshold: {form['threshold']:g} cannot be evaluated for {form['detector']} ({exc}); try "
                 "another threshold.")
        return
    st.caption(f"{DETECTOR_LABELS[monitor.detector]} at threshold {monitor.threshold:g}: window "
               f"{monitor.window:,} samples every {monitor.cadence_hours:g} h at {monitor.traffic_per_hour:,.4g} "
               f"samples/h; drift of {shift:.3g}σ per sample.")
    show_point(monitor, point)
    show_trade_off(form, monitor, shift, point)
    show_measurement(monitor)
