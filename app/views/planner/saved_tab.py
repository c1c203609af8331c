"""The Saved runs tab: runs saved to the DuckDB file, reopened with their figures, downloads, and back to Run."""

from __future__ import annotations

import streamlit as st

from mlorg import formatting, inputs, planner
from mlorg.scenario import to_toml
from mlorg.store import RunStore, SavedRun
from views.planner.run_tab import headline_metrics, metrics_table
from views.planner.state import AUTO_RUN, ERRORS, NOTICE, OPENED, TAB, Sources, choose, show_error


def saved_tab(_sources: Sources) -> None:
    store = RunStore()
    try:
        runs = store.list()
    except ERRORS as exc:
        show_error(exc)
        return
    if runs.empty:
        st.caption(f"No runs saved yet in {store.path}.")
        return
    st.dataframe(runs, hide_index=True, width="stretch", key="saved.list")
    labels = dict(zip(runs["run_id"], runs["label"], strict=True))
    run_id = st.selectbox("Open a saved run", list(labels), format_func=lambda i: f"run {i}: {labels[i]}",
                          key="saved.run")
    try:
        saved = store.load(int(run_id))
    except ERRORS as exc:
        show_error(exc)
        return
    show_saved(saved)


def show_saved(saved: SavedRun) -> None:
    scenario, summary = saved.scenario, saved.summary
    st.subheader(f"Run {saved.run_id}: {saved.label}")
    st.caption(f"{scenario.name}: {planner.org_text(scenario)}; {formatting.days(scenario.horizon_days)}; "
               f"{saved.replications} replications from seed {saved.seed}; saved {saved.created_at:%Y-%m-%d %H:%M} "
               "UTC.")
    headline_metrics(summary, planner.HEADLINES, saved.replications)
    metrics_table(summary, key="saved.metrics")
    stem = f"{planner.file_stem(scenario.name)}_run{saved.run_id}"
    left, middle, right = st.columns(3)
    left.download_button("Download its scenario (TOML)", to_toml(scenario), file_name=f"{stem}.toml",
                         mime="application/toml", on_click="ignore", key="saved.download_toml")
    middle.download_button("Download its per-replication results (CSV)", saved.per_replication.to_csv(),
                           file_name=f"{stem}_replications.csv", mime="text/csv", on_click="ignore",
                           key="saved.download_csv")
    too_big = saved.seed > inputs.MAX_APP_SEED
    right.button("Open in the planner", type="primary", key="saved.open", on_click=open_saved, args=(saved,),
                 disabled=too_big, help=f"seed {saved.seed} is beyond the planner's {inputs.MAX_APP_SEED}; rerun it "
                 "with the command line" if too_big else "runs it again on the Run tab (same seed, same figures) "
                 "and lets you edit it")


def open_saved(saved: SavedRun) -> None:
    """Put a saved run's scenario on the Run tab with its seed and replications, and run it again."""
    source = f"saved run {saved.run_id}: {saved.label}"
    st.session_state.setdefault(OPENED, {})[source] = saved.scenario
    rule = inputs.INPUTS["replications"]
    replications = int(min(max(saved.replications, rule.lo), rule.hi))
    choose(source, saved.scenario, replications=replications, seed=saved.seed)
    if replications != saved.replications:
        st.session_state[NOTICE] = (f"Run {saved.run_id} was saved with {saved.replications} replications; the "
                                    f"planner runs {rule.lo} to {rule.hi}, so it runs {replications}.")
    st.session_state[AUTO_RUN] = True
    st.session_state[TAB] = "Run"
