"""The Monitoring tuner's "Your feature files" tab: `mlorg drift compare` and `mlorg drift tune` in a form.

Two files come from an upload or a path on this machine; comparing them is quick and redrawn on every change.
Tuning draws a thousand windows per feature, so it runs when asked and its results show only while the settings
that made them are still the ones in the form.
"""

from __future__ import annotations

import hashlib
import math
import tempfile
from pathlib import Path

import streamlit as st

from mlorg import charts, formatting, inputs
from mlorg.monitoring.detectors import DEFAULTS
from mlorg.monitoring.feature_files import READERS, FeatureFile, FeatureFileError, describe
from mlorg.monitoring.file_drift import (
    FILE_DETECTORS,
    FileComparison,
    TuneResult,
    compare_files,
    comparison_frame,
    flagged,
    thresholds_frame,
    tune_file,
)
from mlorg.monitoring.file_tuning import TuneSettings, trade_off
from views.shared import forms
from views.tuner.words import page_words

UPLOADS = Path(tempfile.gettempdir()) / "mlorg-uploads"
TUNED = "files.tuned"  # the settings of the last tuning asked for
FILE_TYPES = [suffix.lstrip(".") for suffix in READERS]
def saved_upload(upload) -> Path:
    """An uploaded file on disk for DuckDB to read, named by its content so the same file is one path."""
    data = upload.getvalue()
    UPLOADS.mkdir(parents=True, exist_ok=True)
    path = UPLOADS / f"{hashlib.sha256(data).hexdigest()[:24]}{Path(upload.name).suffix.lower()}"
    if not path.exists():
        partial = path.with_suffix(path.suffix + ".partial")
        partial.write_bytes(data)
        partial.replace(path)
    return path


def file_source(role: str, key: str) -> Path | None:
    """The ``role`` file from an upload or a path; None until one is given (a bad path is said in place)."""
    how = st.radio(f"{role} file", ["Upload", "Path on this machine"], horizontal=True, key=f"{key}.how")
    if how == "Upload":
        upload = st.file_uploader(f"{role} file (CSV or Parquet)", type=FILE_TYPES, key=f"{key}.upload",
                                  help="Up to the server's upload limit (200 MB by default); give a path on this "
                                       "machine for a bigger file.")
        return None if upload is None else saved_upload(upload)
    text = st.text_input(f"{role} file path", key=f"{key}.path", placeholder="/data/features/reference.parquet")
    if not text.strip():
        return None
    path = Path(text.strip()).expanduser()
    if not path.is_file():
        st.error(f"{role} file path: {path} is not a file on this machine")
        return None
    return path


def stamp(path: Path) -> tuple[float, int]:
    """What makes a cached answer stale: the file changed on disk."""
    status = path.stat()
    return status.st_mtime, status.st_size


@st.cache_data(show_spinner=False, max_entries=8)
def compared(reference: str, current: str, stamps: tuple, bins: int, columns: tuple[str, ...] | None
             ) -> FileComparison:
    with st.spinner("Reading both files and comparing every feature…"):
        return compare_files(reference, current, list(columns) if columns else None, bins=bins)


@st.cache_data(show_spinner=False, max_entries=8)
def tuned(reference: str, stamps: tuple, time_column: str, settings: TuneSettings, columns: tuple[str, ...] | None
          ) -> TuneResult:
    bar = st.progress(0.0, text=f"Drawing {settings.draws:,} windows per feature from the reference…")
    try:
        return tune_file(reference, time_column, settings, list(columns) if columns else None,
                         progress=lambda done, total: bar.progress(done / total, text=f"Feature {done} of {total} "
                                                                                      "tuned"))
    finally:
        bar.empty()


def files_tab() -> None:
    st.caption("Drift statistics between two of your own feature files, and thresholds per feature tuned on the "
               "reference's own null distribution for a false-alarm budget. The same as `mlorg drift compare` and "
               "`mlorg drift tune`.")
    left, right = st.columns(2)
    with left:
        reference = file_source("Reference", "files.reference")
    with right:
        current = file_source("Current", "files.current")
    if reference is None:
        st.info("Give a reference file (the data the model was trained on, or a healthy month) to start. "
                "`mlorg drift example DIR` writes a generated pair to try.")
        return
    detector = st.selectbox("Detector that decides drift", FILE_DETECTORS, key="files.detector",
                            format_func=lambda d: f"{d} (default {DEFAULTS[d].threshold:g})")
    bins = forms.number("bins", key="files.bins", value=10)
    kinds = describe(reference)
    options = [name for name, kind in kinds.items() if kind != "time"]
    picked = st.multiselect("Columns", options, default=options, key="files.columns",
                            help="the features to compare and tune; all but time columns to start with")
    if forms.refuse(inputs.problems({"bins": bins})):
        return
    if options and not picked:
        st.error("Columns: pick at least one feature")
        return
    columns = None if picked == options else tuple(picked)  # None: every comparable one, identifiers left out
    comparison_box = st.container()  # above the tuning, though drawn after it: it uses the tuned thresholds
    result = tune_section(reference, detector, int(bins), columns)
    if current is not None:
        with comparison_box:
            compare_section(reference, current, detector, int(bins), result, columns)
    else:
        comparison_box.info("Give a current file (recent traffic) to compare it with the reference.")


def compare_section(reference: Path, current: Path, detector: str, bins: int, result: TuneResult | None,
                    columns: tuple[str, ...] | None) -> None:
    st.subheader("Current against reference")
    try:
        comparison = compared(str(reference), str(current), (stamp(reference), stamp(current)), bins, columns)
    except FeatureFileError as exc:
        st.error(page_words(str(exc)))
        return
    thresholds = {t.column: t.threshold for t in result.thresholds} if result else {}
    table = comparison_frame(comparison.drifts, detector, thresholds)
    st.dataframe(table, hide_index=True, width="stretch", column_config={
        **{c: st.column_config.NumberColumn(format="%.4g") for c in
           ("PSI", "KS p-value", "Wasserstein", "Jensen–Shannon", "threshold")},
        **{c: st.column_config.NumberColumn(format="percent") for c in ("missing (reference)", "missing (current)")}})
    drifted = flagged(comparison.drifts, detector, thresholds)
    where = "the thresholds tuned below" if thresholds else f"its default {DEFAULTS[detector].threshold:g}"
    message = (f"{len(drifted)} of {len(comparison.drifts)} features drift by {detector} at {where}"
               + (f": {', '.join(drifted)}." if drifted else "."))
    (st.warning if drifted else st.success)(message)
    notes = [f"{c.name} is not compared: {c.note}." for c in comparison.skipped]
    if any(d.kind == "categorical" for d in comparison.drifts):
        notes.append("KS and Wasserstein need an order, so categorical features get PSI and Jensen–Shannon only.")
    if notes:
        st.caption(" ".join(notes))


def tune_form(reference: Path, detector: str, bins: int) -> tuple[str, TuneSettings] | None:
    st.subheader("Thresholds tuned on the reference")
    kinds = describe(reference)
    if not kinds:
        try:  # opening it says why it cannot be described
            FeatureFile(reference, "reference").close()
        except FeatureFileError as exc:
            st.error(page_words(str(exc)))
        return None
    times = [name for name, kind in kinds.items() if kind in ("time", "numeric")]
    if not times:
        st.info("The reference has no time or number column to order its rows by, so thresholds cannot be tuned "
                "on it.")
        return None
    columns = st.columns(3)
    default_time = next((i for i, name in enumerate(times) if kinds[name] == "time"), 0)
    time_column = columns[0].selectbox("Time column", times, index=default_time, key="files.time_column",
                                       help="each row's time; the windows are drawn in its order")
    window = forms.number("window_hours", key="files.window_hours", value=24.0, container=columns[0])
    cadence = forms.number("cadence_hours", key="files.cadence_hours", value=24.0, container=columns[1])
    budget = forms.number("tune_budget", key="files.budget", value=1.0, container=columns[1])
    shift = forms.number("shift_sd", key="files.shift", value=0.5, container=columns[2])
    draws = forms.number("draws", key="files.draws", value=1000, container=columns[2])
    if forms.refuse(inputs.problems({"window_hours": window, "cadence_hours": cadence, "tune_budget": budget,
                                     "shift_sd": shift, "draws": draws})):
        return None
    try:
        settings = TuneSettings(detector=detector, window_hours=float(window), cadence_hours=float(cadence),
                                budget_per_month=float(budget), shift=float(shift), draws=int(draws), bins=bins)
    except ValueError as exc:
        st.error(page_words(str(exc)))
        return None
    return time_column, settings


def tune_section(reference: Path, detector: str, bins: int, columns: tuple[str, ...] | None) -> TuneResult | None:
    form = tune_form(reference, detector, bins)
    if form is None:
        return None
    time_column, settings = form
    asked = (str(reference), stamp(reference), time_column, settings,
             tuple(c for c in columns if c != time_column) if columns else None)
    if st.button("Tune thresholds", key="files.tune", type="primary"):
        st.session_state[TUNED] = asked
    if st.session_state.get(TUNED) is None:
        st.caption("Press Tune to draw windows from the reference and set a threshold per feature.")
        return None
    if st.session_state[TUNED] != asked:
        st.info("The settings or the file changed since the last tuning: press Tune thresholds for this one.")
        return None
    try:
        result = tuned(*asked)
    except FeatureFileError as exc:
        st.error(page_words(str(exc)))
        return None
    show_tuned(result)
    return result


def show_tuned(result: TuneResult) -> None:
    s, first = result.settings, result.thresholds[0]
    st.caption(f"{s.detector} thresholds for {formatting.quantity(s.budget_per_month, 'false alarm')} a month "
               f"across {len(result.thresholds)} features: a check every {s.cadence_hours:g} h of the last "
               f"{s.window_hours:g} h (≈ {first.window_rows:,.0f} rows), each feature's check alarming with "
               f"probability {formatting.small(first.per_check_probability)}. The null: {s.draws:,} windows from "
               f"{result.rows:,} rows over {formatting.lag(result.span_hours)}, "
               f"{result.independent_windows:,.1f} windows side by side.")
    if result.few_windows:
        st.warning(f"The reference holds only {result.independent_windows:.1f} windows side by side: the null rests "
                   "on little. Use a longer reference or a shorter window.")
    table = thresholds_frame(result)
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={c: st.column_config.NumberColumn(format="%.4g") for c in table.columns[2:]
                                if c != "tail"})
    if any(t.tail == "gamma" for t in result.thresholds):
        st.caption("tail gamma: the reference's separate windows do not reach the tail the budget asks for, so the "
                   "threshold comes from a gamma matched to the draws' mean and variance.")
    numeric = [t.column for t in result.thresholds if not math.isnan(t.lag_hours)]
    if not numeric:
        return
    feature = st.selectbox("Lag against false alarms for", numeric, key="files.feature")
    share = s.budget_per_month / len(result.thresholds)
    st.altair_chart(charts.feature_tradeoff(trade_off(result.draws[feature], s), feature=feature, budget=share),
                    width="stretch")
