"""What the Sweep, Sensitivity and Goal seek tabs share: the inputs of a grid, the run settings, a progress bar
with Cancel, and tables that show a metric's values by its kind."""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from mlorg import charts, inputs, metric_table, planner
from mlorg.scenario import Scenario, field_label
from views.shared import forms

RUNNING = "planner.running"  # {"tab", "done", "total"} while a sweep runs; left behind when a rerun stops it
CANCELLED = "planner.cancelled"  # the tab whose Cancel button stopped its sweep
NO_INPUT = "(none)"
# Sweeps run in this process: a process pool's workers take ~10 s to start on a small server, longer than
# most sweeps here, and every session would start its own pool.
SWEEP_BACKEND = "serial"
SWEEP_REPLICATIONS = 5
TABLE_FORMATS = {"days": "%.1f", "hours": "%.1f", "usd": "dollar", "share": "percent", "count": "%.2f",
                 "rate": "%.3g"}


def run_with_progress(tab: str, what: str, job):
    """Run ``job(progress)`` under a progress bar and a Cancel button, and return its result.

    Streamlit stops a running script at its next call to Streamlit once the user touches the page, so a
    click on Cancel (or on anything else) stops the sweep inside the progress callback's bar update, and
    the library cancels the runs still waiting. The marker left in session state tells the rerun that
    follows how far the sweep got, and whether Cancel stopped it.
    """
    bar = st.progress(0.0, text=f"{what}: starting…")
    cancel_slot = st.empty()
    cancel_slot.button("Cancel", key=f"{tab}.cancel", on_click=_cancel, args=(tab,),
                       help="stops the runs; nothing is shown until a run finishes")
    st.session_state.pop(CANCELLED, None)
    st.session_state[RUNNING] = {"tab": tab, "done": 0, "total": 0}

    def progress(done: int, total: int) -> None:
        bar.progress(done / total, text=f"{what}: run {done} of {total}")  # where a click stops the script
        st.session_state[RUNNING] = {"tab": tab, "done": done, "total": total}

    try:
        result = job(progress)
    except Exception:  # bad inputs: no longer running; a stop by Streamlit is a BaseException and keeps the marker
        st.session_state.pop(RUNNING, None)
        bar.empty()
        cancel_slot.empty()
        raise
    bar.empty()  # a Streamlit call first: a script stopped meanwhile ends here, before it records anything
    cancel_slot.empty()
    st.session_state.pop(RUNNING, None)
    return result


def _cancel(tab: str) -> None:
    st.session_state[CANCELLED] = tab


def report_interruption(tab: str, what: str) -> None:
    """Say why the last run of this tab has no results, when a click stopped it before it finished."""
    running = st.session_state.get(RUNNING)
    if not running or running["tab"] != tab:
        return
    del st.session_state[RUNNING]
    progress = f"after {running['done']} of {running['total']} runs" if running["total"] else "before its first run"
    if st.session_state.pop(CANCELLED, None) == tab:
        st.info(f"{what} was cancelled {progress}.")
    else:
        st.warning(f"{what} stopped {progress}: the page changed while it ran, and Streamlit reruns the page on "
                   f"every change. Run it again and leave the page as it is until it finishes (or press Cancel).")


def show_if_current(result: dict | None, request: dict) -> bool:
    """Whether a tab's last result is of the inputs now on screen; if not, say so (the result stays, marked)."""
    if result is None:
        return False
    if result["request"] != request:
        st.info(f"The results below are for the inputs of the last run ({result['request']['scenario']}); press Run "
                "to see these inputs' results.")
    return True


def field_option(path: str) -> str:
    return path if path == NO_INPUT else f"{field_label(path)} ({path})"


def path_of(choice: str | None) -> str | None:
    """The field path of a choice: an offered path, or typed text, which may be an option as shown (pasted
    ``ML engineers (org.ml_engineers)`` reads as ``org.ml_engineers``)."""
    if choice is None:
        return None
    match = re.fullmatch(r".+ \((\S+)\)", choice.strip())
    return match[1] if match else choice.strip()


def axis_inputs(tab: str, number: int, label: str, scenario: Scenario, fields: list[str], *,
                default: str | None = None, optional: bool = False) -> tuple[str, str] | None:
    """One varied input: its field path (offered, or typed) and its values; None when none is picked."""
    options = [NO_INPUT, *fields] if optional else fields
    key = f"{tab}.path{number}.{label}"
    typed = st.session_state.get(key)
    if typed is not None and typed not in options:  # a path the user typed stays on offer
        options = [*options, typed]
    path = st.selectbox(
        f"Input {number}" + (" (optional)" if optional else ""), options, format_func=field_option,
        index=options.index(default) if default in options else 0, key=key, accept_new_options=True,
        help="the numeric inputs that can matter in this scenario; or type any field's dotted path, such as "
             "org.hiring[0].count or platform.capabilities.model_registry.built")
    path = path_of(path)
    if path in (None, NO_INPUT):
        return None
    st.caption(planner.field_help(scenario, path))
    spec = st.text_input("Values", value=planner.default_spec(scenario, path), key=f"{tab}.spec{number}.{label}.{path}",
                         help="comma-separated values or inclusive ranges START..STOP or START..STOP:STEP, e.g. "
                              "0..8, 1,2,4, 0.1..0.5:0.1, 0..4,8, true,false")
    return path, spec


def run_settings(tab: str, per: str = "cell") -> tuple[int, int]:
    left, right = st.columns(2)
    rule = inputs.INPUTS["replications"]
    replications = left.slider(f"Replications per {per}", min_value=rule.lo, max_value=rule.hi,
                               value=SWEEP_REPLICATIONS, key=f"{tab}.replications",
                               help=f"more give narrower intervals; the runs multiply with the {per}s")
    seed = forms.number("seed", key=f"{tab}.seed", value=0, container=right)
    return int(replications), seed


def grid_inputs(tab: str, label: str, scenario: Scenario, second: str | None) -> list[tuple[str, str]]:
    """The one or two (path, values) pairs of a grid; ``second`` is the second input offered by default."""
    fields = list(planner.sweep_fields(scenario))
    left, right = st.columns(2)
    with left:
        first_axis = axis_inputs(tab, 1, label, scenario, fields, default="org.ml_engineers")
    with right:
        second_axis = axis_inputs(tab, 2, label, scenario, fields, default=second, optional=True)
    return [axis for axis in (first_axis, second_axis) if axis is not None]


def runs_caption(axes: list[tuple[str, str]], replications: int) -> None:
    try:
        runs = planner.sweep_runs(planner.sweep_grid(axes), replications)
    except ValueError:
        runs = None
    if runs is not None:
        st.caption(f"{runs // replications:,} cells × {replications} replications = {runs:,} runs.")


def value_format(metric: str) -> str:
    return charts.VALUE_FORMATS[metric_table.kind(metric)]


def number_columns(metric: str, labels: dict[str, str]) -> dict:
    """Table columns holding values of ``metric``, under ``labels``, formatted as the metric's kind."""
    fmt = TABLE_FORMATS[metric_table.kind(metric)]
    return {column: st.column_config.NumberColumn(label, format=fmt) for column, label in labels.items()}


def as_text(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Columns of mixed values (integers, numbers, true/false) as text, so a table shows them as they are."""
    return frame.assign(**{c: frame[c].map(planner.value_text) for c in columns})


def labelled(frame: pd.DataFrame, params: list[str]) -> dict:
    """Column headers for the varied inputs: their labels (the paths stay in downloads)."""
    return {p: st.column_config.Column(field_label(p), help=f"`{p}`") for p in params if p in frame.columns}

