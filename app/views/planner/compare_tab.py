"""The Compare tab: two to four scenarios on common random numbers, side by side and as paired differences from
the first."""

from __future__ import annotations

import streamlit as st

from mlorg import charts, formatting, inputs, planner
from mlorg.results import Replications
from views.planner.decision_section import decision_section
from views.planner.state import COMPARISON, ERRORS, Sources, candidate_scenarios, show_error, simulate
from views.shared import forms

PREFERRED_PAIR = ("fifth_ds", "first_mle")  # the leader's question in DESIGN.md: a fifth DS or a first MLE?


def compare_tab(sources: Sources) -> None:
    candidates = candidate_scenarios(sources)
    preferred = [c for c in PREFERRED_PAIR if c in candidates]
    default = preferred if len(preferred) == 2 else list(candidates)[:2]
    st.caption("Every scenario runs the same replications from the same seed, so replication r of each draws "
               "the same random numbers (common random numbers): a difference is measured replication by "
               "replication and shows the effect of the change, not noise. Scenarios you edit and run on the "
               "Run tab are offered here too, named for what you changed.")
    picked_before = st.session_state.get("compare.scenarios", [])
    if any(c not in candidates for c in picked_before):  # a variant made way for newer ones
        st.session_state["compare.scenarios"] = [c for c in picked_before if c in candidates]
    with st.form("compare_form"):
        picked = st.multiselect("Scenarios to compare (2 to 4; the first is the baseline)", list(candidates),
                                default=default, max_selections=4, key="compare.scenarios")
        left, right = st.columns(2)
        rule = inputs.INPUTS["replications"]
        replications = left.slider("Replications", min_value=rule.lo, max_value=rule.hi, value=10,
                                   key="compare.replications")
        seed = forms.number("seed", key="compare.seed", value=0, container=right)
        submitted = st.form_submit_button("Compare", type="primary", key="compare.run")
    if submitted:
        st.session_state.pop(COMPARISON, None)  # from here on, the comparison shown is this one or none
        problems = [] if 2 <= len(picked) <= 4 else [f"Scenarios: {len(picked)} picked; pick 2 to 4 to compare"]
        problems += inputs.problems({"seed": seed})
        if not forms.refuse(problems):
            try:
                st.session_state[COMPARISON] = {
                    label: simulate(candidates[label], int(replications), int(seed),
                                    _what=f"{label} ({i + 1} of {len(picked)}): ")
                    for i, label in enumerate(picked)}
            except ERRORS as exc:
                show_error(exc)
    if COMPARISON in st.session_state:
        show_comparison(st.session_state[COMPARISON])


def show_comparison(results: dict[str, Replications]) -> None:
    labels = list(results)
    first = results[labels[0]]
    table = planner.comparison_table(results)
    st.subheader(f"{len(labels)} scenarios, {first.n} replications each from seed {first.seed}")
    if any(r.scenario.uncertain for r in results.values()):
        st.caption("These figures are at each scenario's own values; some of its inputs are marked uncertain. At the "
                   "bottom of the page, weigh the options under that uncertainty.")
    horizons = sorted({r.scenario.horizon_days for r in results.values()})
    if len(horizons) > 1:
        st.warning("The scenarios simulate different horizons (" + ", ".join(formatting.days(h) for h in horizons)
                   + "); counts and costs grow with the horizon.")
    side_by_side = table.assign(value=[
        f"{formatting.value(r.mean, r.kind)} ({formatting.value(r.ci95_low, r.kind)} to "
        f"{formatting.value(r.ci95_high, r.kind)})" for r in table.itertuples()])
    st.dataframe(side_by_side.pivot(index="label", columns="scenario", values="value")
                 .reindex(index=list(dict.fromkeys(table["label"])), columns=labels),
                 width="stretch", key="compare.table")
    st.altair_chart(charts.scenario_metrics(table), width="stretch")

    st.markdown(f"**Paired differences from {labels[0]}** (mean difference and its 95% interval)")
    differences = table.dropna(subset=["diff_mean"])
    differences = differences.assign(difference=[
        f"{formatting.signed(r.diff_mean, r.kind)} ({formatting.signed(r.diff_low, r.kind)} to "
        f"{formatting.signed(r.diff_high, r.kind)}): {planner.difference_verdict(r.diff_low, r.diff_high)}"
        for r in differences.itertuples()])
    st.dataframe(differences.pivot(index="label", columns="scenario", values="difference")
                 .reindex(index=list(dict.fromkeys(differences["label"])), columns=labels[1:]),
                 width="stretch", key="compare.differences")
    st.altair_chart(charts.paired_differences(table), width="stretch")
    timeseries = {label: [run.timeseries for run in reps.runs] for label, reps in results.items()}
    st.altair_chart(charts.scenarios_over_time(timeseries, "models_live"), width="stretch")
    st.altair_chart(charts.scenarios_over_time(timeseries, "backlog"), width="stretch")
    st.download_button("Download comparison (CSV)", table.to_csv(index=False), file_name="comparison.csv",
                       mime="text/csv", on_click="ignore", key="compare.download_csv")
    decision_section(results)
