"""The Sweep tab: a metric against one or two inputs varied over a grid, on common random numbers."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mlorg import charts, inputs, metric_table, planner, sweeps
from mlorg.scenario import field_label
from views.planner.state import ERRORS, Sources, rough_intervals, scenario_caption, show_error, tab_scenario
from views.planner.sweep_common import (
    SWEEP_BACKEND,
    as_text,
    grid_inputs,
    labelled,
    number_columns,
    report_interruption,
    run_settings,
    run_with_progress,
    runs_caption,
    show_if_current,
    value_format,
)
from views.shared import forms

SWEEP = "planner.sweep"  # the last sweep: {"table", "label", "replications", "seed", "request"}


def sweep_tab(sources: Sources) -> None:
    st.caption("Runs a scenario at every combination of values of one or two inputs (the grid's cells). "
               "Replication r of every cell draws the same random numbers (common random numbers), so "
               "neighbouring cells differ by their inputs, not by luck.")
    report_interruption("sweep", "The sweep")
    label, scenario = tab_scenario(sources)
    scenario_caption(label)
    axes = grid_inputs("sweep", label, scenario, None)
    replications, seed = run_settings("sweep")
    runs_caption(axes, replications)
    request = {"scenario": label, "axes": axes, "replications": replications, "seed": seed}
    if st.button("Run sweep", type="primary", key="sweep.run"):
        st.session_state.pop(SWEEP, None)
        if not forms.refuse(inputs.problems({"seed": seed})):
            try:
                grid = planner.sweep_grid(axes)
                table = run_with_progress("sweep", "Sweep", lambda progress: sweeps.sweep(
                    scenario, grid, replications, seed, backend=SWEEP_BACKEND, progress=progress))
                st.session_state[SWEEP] = {"table": table, "label": label, "replications": replications,
                                           "seed": seed, "request": request}
            except ERRORS as exc:
                show_error(exc)
    if show_if_current(st.session_state.get(SWEEP), request):
        show_sweep(st.session_state[SWEEP])


def show_sweep(result: dict) -> None:
    table: pd.DataFrame = result["table"]
    params = sweeps.parameters(table)
    st.subheader(f"Sweep of {result['label']}: {' × '.join(field_label(p) for p in params)}")
    st.caption(f"{table['cell'].nunique()} cells × {result['replications']} replications from seed {result['seed']}. "
               "Figures are means over replications with 95% confidence intervals of the mean.")
    rough_intervals(result["replications"])
    measured = [m for m in metric_table.METRICS if m in table.columns and table[m].notna().any()]
    left, right = st.columns(2)
    metric = left.selectbox("Metric", measured, format_func=metric_table.option_text, key="sweep.metric",
                            index=measured.index("ttp_days_p90") if "ttp_days_p90" in measured else 0,
                            help="every metric was measured in every run: pick any without running again")
    style = "lines"
    if len(params) == 2:
        style = right.radio("Chart", list(charts.SWEEP_STYLES), format_func=charts.SWEEP_STYLES.get,
                            horizontal=True, key="sweep.style")
    summary = sweeps.summarise_cells(table, [metric])
    undefined = summary[summary["mean"].isna()]
    if len(undefined):
        st.caption(f"{metric_table.label(metric)} was not defined in any replication of {len(undefined)} cell(s), "
                   "left out of the chart: " + "; ".join(planner.cell_text(row[params])
                                                         for _, row in undefined.iterrows()))
    if len(undefined) < len(summary):
        st.altair_chart(charts.sweep_chart(summary, metric_label=metric_table.label(metric), style=style,
                                           value_format=value_format(metric),
                                           input_labels={p: field_label(p) for p in params}), width="stretch")
    st.dataframe(as_text(summary, params).drop(columns=["cell", "metric"]), hide_index=True, width="stretch",
                 key="sweep.table", column_config={
                     **labelled(summary, params),
                     **number_columns(metric, {"mean": metric_table.label(metric), "ci95_low": "95% CI low",
                                               "ci95_high": "95% CI high"}),
                     "n": st.column_config.NumberColumn("replications defined", format="%d")})
    stem = planner.file_stem(result["label"])
    st.download_button("Download every run (CSV: one row per cell and replication, every metric)",
                       table.to_csv(index=False), file_name=f"{stem}_sweep.csv", mime="text/csv",
                       on_click="ignore", key="sweep.download_csv")
