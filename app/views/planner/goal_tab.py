"""The Goal seek tab: the grid cell with the highest net value (or the best of another metric) that meets a target
with 95% confidence, its runners-up, and the evidence of every cell."""

from __future__ import annotations

import streamlit as st

from mlorg import formatting, inputs, metric_table, planner, sweeps
from views.planner.state import ERRORS, Sources, scenario_caption, show_error, tab_scenario
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
)
from views.shared import forms

GOAL = "planner.goal"  # the last goal seek: {"optimum", "label", "request"}


def goal_tab(sources: Sources) -> None:
    st.caption("Sweeps a grid and picks the cell with the highest mean net value (or the best mean of the metric "
               "you choose) among those that meet a target with 95% confidence: for ttp_days_p90<=30, the one-sided "
               "95% upper bound of the mean p90 time-to-production must be at most 30 days, with a model shipped in "
               "every replication.")
    report_interruption("goal", "The goal seek")
    label, scenario = tab_scenario(sources)
    scenario_caption(label)
    axes = grid_inputs("goal", label, scenario, "org.platform_engineers")
    left, middle, right = st.columns([2, 1, 2])
    target = left.text_input("Target", value="ttp_days_p90<=30", key="goal.target",
                             help="METRIC<=VALUE (or <, >=, >), with a metric's name as the metric list shows it in "
                                  "brackets, e.g. ttp_days_p90<=30 or models_shipped>=10")
    verb = middle.selectbox("Best is", ("maximise", "minimise"), key="goal.direction",
                            format_func={"maximise": "highest", "minimise": "lowest"}.get)
    metrics = list(metric_table.METRICS)
    metric = right.selectbox("Of the metric", metrics, index=metrics.index(sweeps.Objective().metric),
                             format_func=metric_table.option_text, key="goal.objective",
                             help="net value = value delivered − staff − serving − business loss; total cost = "
                                  "staff + serving + business loss")
    objective = sweeps.Objective(metric, maximise=verb == "maximise")
    replications, seed = run_settings("goal")
    runs_caption(axes, replications)
    request = {"scenario": label, "axes": axes, "target": target, "objective": str(objective),
               "replications": replications, "seed": seed}
    if st.button("Find the best", type="primary", key="goal.run"):
        st.session_state.pop(GOAL, None)
        if not forms.refuse(inputs.problems({"seed": seed})):
            try:
                grid = planner.sweep_grid(axes)
                optimum = run_with_progress("goal", "Goal seek", lambda progress: sweeps.optimise(
                    scenario, grid, target, objective, replications, seed, backend=SWEEP_BACKEND, progress=progress))
                st.session_state[GOAL] = {"optimum": optimum, "label": label, "request": request}
            except ERRORS as exc:
                show_error(exc)
    if show_if_current(st.session_state.get(GOAL), request):
        show_goal(st.session_state[GOAL])


def show_goal(result: dict) -> None:
    optimum = result["optimum"]
    params = optimum.parameters
    objective = optimum.objective
    st.subheader(f"Goal seek on {result['label']}: {optimum.target}, "
                 f"{'maximising' if objective.maximise else 'minimising'} {metric_table.label(objective.metric)}")
    verdict = planner.goal_verdict(optimum)
    if optimum.best is not None:
        st.success(verdict)
    else:
        st.warning(verdict)
    kind = metric_table.kind(objective.metric)
    if len(optimum.runners_up):
        st.markdown("**Runners-up** (each also meets the target; its difference from the pick is paired, "
                    "replication by replication)")
        runners = optimum.runners_up.assign(**{
            objective.metric: optimum.runners_up["objective_mean"].map(lambda v: formatting.value(v, kind)),
            "against the pick": [f"{formatting.signed(r.extra_mean, kind)} (95% CI "
                                 f"{formatting.signed(r.extra_ci95_low, kind)} to "
                                 f"{formatting.signed(r.extra_ci95_high, kind)})"
                                 for r in optimum.runners_up.itertuples()]})
        st.dataframe(as_text(runners, params)[[*params, objective.metric, "against the pick"]], hide_index=True,
                     width="stretch", key="goal.runners_up",
                     column_config={**labelled(runners, params),
                                    objective.metric: metric_table.label(objective.metric)})
    st.markdown("**Evidence: every cell**, those meeting the target first, best first")
    columns = [*params, "meets_target", "target_mean", "target_bound", "objective_mean", "objective_ci95_low",
               "objective_ci95_high", "target_defined", "replications"]
    side = "upper" if optimum.target.upper else "lower"
    target_label = metric_table.label(optimum.target.metric)
    objective_label = metric_table.label(objective.metric)
    bound = f"{target_label}: one-sided {optimum.confidence:.0%} {side} bound"
    st.dataframe(as_text(optimum.cells, params)[columns], hide_index=True, width="stretch", key="goal.evidence",
                 column_config={
                     **labelled(optimum.cells, params),
                     "meets_target": "meets the target",
                     **number_columns(optimum.target.metric, {"target_mean": f"{target_label}: mean",
                                                              "target_bound": bound}),
                     **number_columns(objective.metric, {"objective_mean": f"{objective_label}: mean",
                                                         "objective_ci95_low": "95% CI low",
                                                         "objective_ci95_high": "95% CI high"}),
                     "target_defined": st.column_config.NumberColumn(f"replications with {target_label}",
                                                                     format="%d")})
    st.download_button("Download the evidence (CSV)", optimum.cells.to_csv(index=False),
                       file_name=f"{planner.file_stem(result['label'])}_goal_seek.csv", mime="text/csv",
                       on_click="ignore", key="goal.download_csv")
