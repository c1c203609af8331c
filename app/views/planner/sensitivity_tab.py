"""The Sensitivity tab: each input a spread below and above its value, one at a time, ranked by the swing of a
metric (a tornado chart), paired with the base on common random numbers."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mlorg import charts, inputs, metric_table, planner, sweeps
from mlorg.scenario import field_label
from views.planner.state import ERRORS, Sources, scenario_caption, show_error, tab_scenario
from views.planner.sweep_common import (
    SWEEP_BACKEND,
    as_text,
    field_option,
    number_columns,
    report_interruption,
    run_settings,
    run_with_progress,
    show_if_current,
    value_format,
)
from views.planner.uncertainty_section import show_shares, uncertainty_form
from views.shared import forms

TORNADO = "planner.tornado"  # the last sensitivity analysis: {"table", "label", "spread", "request"}


def sensitivity_tab(sources: Sources) -> None:
    st.caption("Sets each input to its value × (1 − spread) and × (1 + spread), one at a time with the rest at "
               "the scenario's values (an integer moves by at least 1), and ranks the inputs by the swing of the "
               "metric between the two: a tornado chart. Each change is paired with the base replication by "
               "replication (common random numbers), so its interval shows the input's effect, not noise. Below, "
               "the inputs the scenario marks uncertain are drawn together instead, and ranked by the share of the "
               "metric's variance each explains.")
    report_interruption("tornado", "The sensitivity analysis")
    label, scenario = tab_scenario(sources)
    scenario_caption(label)
    options = list(planner.sweep_fields(scenario))
    chosen = st.multiselect(f"Inputs to vary ({len(options)} can matter in this scenario)", options,
                            default=planner.default_sensitivity_inputs(options), key=f"tornado.inputs.{label}",
                            format_func=field_option,
                            help="each input adds two variants of the scenario to run; start with a handful")
    left, right = st.columns(2)
    metrics = list(metric_table.METRICS)
    metric = left.selectbox("Metric", metrics, index=metrics.index("ttp_days_p90"),
                            format_func=metric_table.option_text, key="tornado.metric")
    spread = right.slider("Spread (± %)", min_value=5, max_value=100, value=20, step=5, key="tornado.spread") / 100
    replications, seed = run_settings("tornado", per="variant")
    st.caption(f"Up to {(1 + 2 * len(chosen)) * replications:,} runs: the scenario and each input at its low and "
               f"high value, {replications} replications each.")
    request = {"scenario": label, "inputs": chosen, "metric": metric, "spread": spread,
               "replications": replications, "seed": seed}
    if st.button("Run sensitivity analysis", type="primary", key="tornado.run"):
        st.session_state.pop(TORNADO, None)
        problems = [] if chosen else ["Inputs to vary: none picked; pick at least one input to vary"]
        if not forms.refuse(problems + inputs.problems({"seed": seed})):
            try:
                table = run_with_progress("tornado", "Sensitivity", lambda progress: sweeps.sensitivity(
                    scenario, metric, spread, replications, seed, inputs=chosen, backend=SWEEP_BACKEND,
                    progress=progress))
                st.session_state[TORNADO] = {"table": table, "label": label, "spread": spread, "request": request}
            except ERRORS as exc:
                show_error(exc)
    tornado = st.session_state[TORNADO] if show_if_current(st.session_state.get(TORNADO), request) else None
    shares = uncertainty_form(label, scenario, metric, replications, seed)
    # One above the other, each the full width: side by side at 1000 px neither chart's titles nor labels fit.
    if tornado is not None:
        show_tornado(tornado)
    if shares is not None:
        show_shares(shares)


def show_tornado(result: dict, box=st) -> None:
    table: pd.DataFrame = result["table"]
    metric, spread = table.attrs["metric"], result["spread"]
    label = metric_table.label(metric)
    box.subheader(f"Sensitivity of {label}: {result['label']}")
    box.caption(f"Each input at −{spread:.0%} and +{spread:.0%}; {table.attrs['replications']} replications from "
                f"seed {table.attrs['seed']}. A side the schema does not allow (a share above 1, a headcount below "
                "0) is left out and counts as the base in the swing.")
    if table["swing_mean"].notna().any():
        chart = charts.tornado_chart(table.assign(input=table["input"].map(field_label)), metric_label=label,
                                     spread=spread, value_format=value_format(metric))
        box.altair_chart(chart, width="stretch")
    else:
        box.info(f"{label} was not defined in the base runs or their variants, so no input has a measured effect.")
    shown = as_text(table, ["base_value", "low_value", "high_value"]).drop(columns=["base_mean"])
    shown.insert(shown.columns.get_loc("input"), "label", shown["input"].map(field_label))
    changes = {f"{side}_{part}": f"{name}{suffix}" for side, name in (("low_delta", "change at low"),
                                                                     ("high_delta", "change at high"),
                                                                     ("swing", "swing (high − low)"))
               for part, suffix in (("mean", ""), ("ci95_low", ": 95% CI low"), ("ci95_high", ": 95% CI high"))}
    box.dataframe(shown, hide_index=True, width="stretch", key="tornado.table", column_config={
        "label": "input", "input": "field", "base_value": "base value", "low_value": "low value",
        "high_value": "high value", **number_columns(metric, changes)})
    box.download_button("Download the tornado table (CSV)", table.to_csv(index=False),
                        file_name=f"{planner.file_stem(result['label'])}_sensitivity_{metric}.csv", mime="text/csv",
                        on_click="ignore", key="tornado.download_csv")
