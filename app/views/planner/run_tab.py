"""The Run tab: a scenario's people, hiring plan, skills and platform, edited in a form, replicated, and shown with
95% intervals; downloads, and saving the run."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mlorg import charts, formatting, inputs, metric_table, planner
from mlorg.results import Replications
from mlorg.scenario import ACTIVITIES, ROLES, Scenario, field_label, field_problem, to_toml
from mlorg.store import RunStore
from views.planner.state import (
    AUTO_RUN,
    CHOSEN,
    ERRORS,
    NOTICE,
    RESULT,
    Sources,
    remember_variant,
    rough_intervals,
    show_error,
    simulate,
)
from views.planner.uncertainty_run import uncertainty_section
from views.shared import forms

HEADLINES_PER_ROW = 3  # four to a row cut figures and labels short at 1000 px
HEADCOUNT_ROLES = {"data_scientists": "data_scientist", "ml_engineers": "ml_engineer",
                   "platform_engineers": "platform_engineer"}


def run_tab(sources: Sources) -> None:
    keys = list(sources.all)
    source = st.selectbox("Scenario", keys, format_func=sources.label, key=CHOSEN, on_change=_scenario_changed,
                          args=(sources,))
    base = sources.all[source]
    st.caption(base.description or "(no description)")
    if NOTICE in st.session_state:
        st.info(st.session_state.pop(NOTICE))
    st.session_state.setdefault("replications", planner.default_replications(base))
    st.session_state.setdefault("seed", 0)
    auto_run = st.session_state.pop(AUTO_RUN, False)
    submitted, form = _inputs(source, base)
    if submitted or auto_run:
        _run(base, source, form)
    if RESULT in st.session_state:
        shown = st.session_state[RESULT]
        if shown["source"] != source:
            st.info(f"The results below are for {shown['replications'].scenario.name}; press Run to simulate "
                    f"{base.name}.")
        show_result(shown)


def _scenario_changed(sources: Sources) -> None:
    scenario = sources.all.get(st.session_state[CHOSEN])
    if scenario is not None:
        st.session_state["replications"] = planner.default_replications(scenario)


def _inputs(source: str, base: Scenario) -> tuple[bool, dict]:
    """The form: whether Run was pressed, and what it holds."""
    with st.form("run_form"):
        st.markdown("**People at day 0**")
        headcount = {field: forms.field_number(f"org.{field}", key=f"{field}.{source}", value=getattr(base.org, field),
                                               container=column)
                     for column, field in zip(st.columns(3), planner.HEADCOUNT_FIELDS, strict=True)}
        left, middle, right = st.columns(3)
        horizon_default = int(round(base.horizon_days))
        horizon = forms.field_number("horizon_days", key=f"horizon_days.{source}", value=horizon_default,
                                     container=left, step=30, whole=True)
        replications = middle.slider("Replications", min_value=inputs.INPUTS["replications"].lo,
                                     max_value=inputs.INPUTS["replications"].hi, key="replications",
                                     help="independent runs; more give narrower intervals and take longer (big "
                                          "organisations start with fewer)")
        seed = forms.number("seed", key="seed", container=right)
        # The hiring plan and the capabilities each take the full width: side by side both were cut at 1000 px.
        st.markdown("**Hiring plan**")
        st.caption("One row per hire: the day they start, their role and how many.")
        hiring = st.data_editor(
            planner.hiring_frame(base), key=f"hiring.{source}", num_rows="dynamic", hide_index=True,
            width="stretch", column_config={
                "day": st.column_config.NumberColumn("day", step=1, help="simulated day they start"),
                "role": st.column_config.SelectboxColumn("role", options=list(ROLES)),
                "count": st.column_config.NumberColumn("count", step=1, help="people hired")})
        st.markdown("**Platform capabilities**")
        st.caption("Tick what is in place at day 0; number what the platform team builds, in that order (blank: "
                   "not built; with no platform engineers nothing gets built).")
        capabilities = st.data_editor(
            planner.capability_frame(base), key=f"capabilities.{source}", hide_index=True, width="stretch",
            disabled=["capability"], column_config={
                "capability": st.column_config.TextColumn("capability"),
                "in_place": st.column_config.CheckboxColumn("in place at day 0"),
                "build_order": st.column_config.NumberColumn("build order", step=1,
                                                             help="1 is built first; blank: not built")})
        with st.expander("Skill overlap: how efficient each role is at each kind of work"):
            st.caption("1 = a specialist's pace, 0 = never does it. Data scientists and ML engineers overlap "
                       "about 30% in skills: a data scientist does production work at 0.3, and that time is "
                       "taken from research.")
            skills = st.data_editor(
                planner.skills_frame(base), key=f"skills.{source}", width="stretch",
                column_config={a: st.column_config.NumberColumn(a, step=0.05) for a in ACTIVITIES})
        submitted = st.form_submit_button("Run", type="primary", key="run")
    # The horizon box holds whole days: an unchanged box leaves a fractional horizon as the file has it.
    return submitted, {"headcount": headcount, "horizon_days": None if horizon == horizon_default else horizon,
                       "hiring": hiring, "skills": skills, "capabilities": capabilities,
                       "replications": replications, "seed": seed}


def _run(base: Scenario, source: str, form: dict) -> None:
    """Run the form's scenario, or refuse with every reason; either way the results of other inputs go."""
    problems = [field_problem(f"org.{field}", value, field_label(f"org.{field}"))
                for field, value in form["headcount"].items()]
    if form["horizon_days"] is not None:
        problems.append(field_problem("horizon_days", form["horizon_days"], field_label("horizon_days")))
    problems.append(inputs.INPUTS["seed"].problem(form["seed"]))
    problems = [p for p in problems if p]
    edits = {k: form[k] for k in ("headcount", "horizon_days", "hiring", "skills", "capabilities")}
    st.session_state.pop(RESULT, None)  # from here on, the results shown are this run's or none
    if forms.refuse(problems):
        return
    try:
        edited = planner.name_variant(base, planner.edit(base, **edits))
    except ERRORS as exc:
        show_error(exc)
        return
    hired = {role: sum(h.count for h in edited.org.hiring if h.role == role) for role in ROLES}
    at_start = {role: getattr(edited.org, field) for field, role in HEADCOUNT_ROLES.items()}
    try:
        result = simulate(edited, int(form["replications"]), int(form["seed"]))
    except ERRORS as exc:
        show_error(exc)
        return
    st.session_state[RESULT] = {"replications": result, "source": source,
                                "changes": planner.describe_changes(base, edited),
                                "oddities": inputs.team_oddities(at_start, hired)}
    if edited.name != base.name:
        remember_variant(edited)


def show_result(result: dict) -> None:
    replications: Replications = result["replications"]
    scenario, summary, n = replications.scenario, replications.summary, replications.n
    st.subheader(f"Results: {scenario.name}")
    forms.warn(result.get("oddities", ()))
    st.caption(f"{planner.org_text(scenario)}; {formatting.days(scenario.horizon_days)}; {n} replications from seed "
               f"{replications.seed}. Figures are means over replications with 95% confidence intervals of the mean.")
    if result.get("changes"):
        st.caption("Changed from the scenario file: " + "; ".join(result["changes"]))
    rough_intervals(n)
    shown = (*planner.HEADLINES, "serving_cost_usd", "infra_cost_usd", "business_loss_usd")
    headline_metrics(summary, [m for m in shown if m in summary.index and summary.loc[m, "n"] > 0], n)
    money_basis(scenario)
    interval = st.radio("Shaded band", list(charts.INTERVALS), format_func=charts.INTERVALS.get,
                        horizontal=True, key="band")
    st.altair_chart(charts.models_over_time([run.timeseries for run in replications.runs], interval=interval),
                    width="stretch")
    models = [run.models for run in replications.runs]  # each chart the full width: halves cut their legends
    if charts.ttp_bins(models).empty:
        st.info("No model reached production in any replication.")
    else:
        st.altair_chart(charts.ttp_histogram(models), width="stretch")
    st.altair_chart(charts.time_use([run.time_use for run in replications.runs]), width="stretch")
    st.altair_chart(charts.cost_summary(summary), width="stretch")
    st.markdown("**All metrics**")
    metrics_table(summary, key="result.metrics")
    uncertainty_section(replications)
    stem = planner.file_stem(scenario.name)
    left, right = st.columns(2)
    left.download_button("Download scenario (TOML)", to_toml(scenario), file_name=f"{stem}.toml",
                         mime="application/toml", on_click="ignore", key="download_toml")
    right.download_button("Download per-replication results (CSV)", replications.per_replication.to_csv(),
                          file_name=f"{stem}_replications.csv", mime="text/csv", on_click="ignore",
                          key="download_csv")
    _save_form(result)


def headline_metrics(summary: pd.DataFrame, metrics: list[str] | tuple[str, ...], n: int) -> None:
    """Each metric's mean, with its 95% interval beneath, three to a row so that no figure is cut off."""
    for start in range(0, len(metrics), HEADLINES_PER_ROW):
        row_metrics = metrics[start:start + HEADLINES_PER_ROW]
        for column, metric in zip(st.columns(HEADLINES_PER_ROW), row_metrics, strict=False):
            kind, row = metric_table.kind(metric), summary.loc[metric]
            column.metric(metric_table.label(metric), formatting.value(row["mean"], kind, compact=True),
                          help=f"{metric_table.METRIC_DOCS.get(metric, '')} (`{metric}`)")
            column.caption(planner.interval_text(row, kind, n))


def money_basis(scenario: Scenario) -> None:
    """The classes of model, their values and where they come from, and the other inputs the figures rest on."""
    with st.expander("What the money rests on: each class of model, its value, and the assumptions"):
        st.caption("Value delivered is each live model's value when healthy, over the days it served everyone; "
                   "business loss is the share of it lost while degraded. The values are planning anchors: replace "
                   "them with your own in the scenario file.")
        classes = planner.portfolio_frame(scenario)
        source = "where the value comes from"
        st.dataframe(classes.drop(columns=source), hide_index=True, width="stretch", key="basis.classes")
        st.markdown("\n".join(f"- **{row['class']}**: {row[source]}" for _, row in classes.iterrows()))
        st.caption("Other inputs that move value, cost and time, and what each rests on.")
        st.dataframe(planner.assumption_frame(scenario), hide_index=True, width="stretch", key="basis.assumptions",
                     column_config={"input": st.column_config.TextColumn("input", width="medium"),
                                    "rests on": st.column_config.TextColumn("rests on", width="large"),
                                    "field": st.column_config.TextColumn("field", help="path in the scenario file")})


def metrics_table(summary: pd.DataFrame, key: str) -> None:
    """Every metric under its label, its name beside it for those who script."""
    shown = pd.DataFrame({
        "metric": [metric_table.label(m) for m in summary.index],
        "mean": [formatting.value(r["mean"], metric_table.kind(m)) for m, r in summary.iterrows()],
        "95% CI": [planner.interval_text(r, metric_table.kind(m), int(summary["n"].max())).removeprefix("95% CI ")
                   for m, r in summary.iterrows()],
        "what it means": [metric_table.METRIC_DOCS.get(m, "") for m in summary.index],
        "name": list(summary.index)}).loc[summary["n"].to_numpy() > 0]
    st.dataframe(shown, width="stretch", key=key, hide_index=True)


def _save_form(result: dict) -> None:
    replications: Replications = result["replications"]
    scenario = replications.scenario
    # Keyed on the run, so a new run offers its own name rather than keeping the first run's label.
    label = st.text_input("Label for the saved run", value=scenario.name,
                          key=f"save_label.{scenario.name}.{replications.n}.{replications.seed}.{hash(scenario)}")
    if st.button("Save run", key="save"):
        store = RunStore()
        try:
            existing = store.find(replications)
            result["saved"] = (existing or store.save(replications, label=label), str(store.path), existing is None)
        except ERRORS as exc:
            show_error(exc)
    if result.get("saved"):
        run_id, path, new = result["saved"]
        if new:
            st.success(f"Saved as run {run_id} in {path}; the Saved runs tab reopens it.")
        else:
            st.info(f"This run (same scenario, seed and replications) is already saved as run {run_id} in {path}; "
                    "it was not saved again.")
