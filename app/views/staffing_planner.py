"""Staffing planner: edit a scenario's people, hiring, skills and platform; replicate it; compare; save runs;
sweep inputs over a grid, rank them by sensitivity, and find the cheapest organisation that meets a target.

Each part of the page is a tab drawn by one function (``TABS``), so that a new view is one more entry.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import streamlit as st

from mlorg import charts, planner, sweeps
from mlorg.results import METRIC_DOCS, Replications, replicate
from mlorg.scenario import ACTIVITIES, CAPABILITIES, ROLES, Scenario, to_toml
from mlorg.store import RunStore, SavedRun, StoreError

RESULT = "planner.result"  # the last run: {"replications", "source", "saved"}
COMPARISON = "planner.comparison"  # the last comparison: {label: Replications}
OPENED = "planner.opened"  # scenarios of saved runs opened in this session, by their label
VARIANTS = "planner.variants"  # edited scenarios run in this session, by label, offered for comparison
AUTO_RUN = "planner.auto_run"  # run the selected scenario once without waiting for the Run button
NOTICE = "planner.notice"  # a message for the Run tab after opening a saved run
TAB = "planner.tab"
ERRORS = (ValueError, StoreError)  # ScenarioError is a ValueError
MIN_REPLICATIONS, MAX_REPLICATIONS = 2, 100
MAX_SEED = 2**31 - 1
MAX_VARIANTS = 8
HEADLINES_PER_ROW = 4
PREFERRED_PAIR = ("fifth_ds", "first_mle")  # the leader's question in DESIGN.md: a fifth DS or a first MLE?
SWEEP = "planner.sweep"  # the last sweep: {"table", "label", "replications", "seed"}
TORNADO = "planner.tornado"  # the last sensitivity analysis: {"table", "label", "spread"}
GOAL = "planner.goal"  # the last goal seek: {"optimum", "label"}
RUNNING = "planner.running"  # {"tab", "done", "total"} while a sweep runs; left behind when a rerun stops it
CANCELLED = "planner.cancelled"  # the tab whose Cancel button stopped its sweep
NO_INPUT = "(none)"
# Sweeps run in this process: a process pool's workers take ~10 s to start on a small server, longer than
# most sweeps here, and every session would start its own pool.
SWEEP_BACKEND = "serial"
SWEEP_REPLICATIONS = 5


def show_error(exc: Exception) -> None:
    messages = getattr(exc, "messages", None) or [str(exc)]
    st.error(messages[0] if len(messages) == 1 else "\n".join(f"- {m}" for m in messages))


@st.cache_data(show_spinner=False, max_entries=32)
def simulate(scenario: Scenario, replications: int, seed: int, _what: str = "") -> Replications:
    # The bar is created in here so that Streamlit can replay it on a cache hit.
    bar = st.progress(0.0, text=f"{_what}Running {replications} replications…")
    try:
        result = replicate(scenario, replications, seed,
                           progress=lambda done, total: bar.progress(
                               done / total, text=f"{_what}Replication {done} of {total}"))
    finally:
        bar.empty()
    # The page never shows the event logs; dropping them keeps large scenarios small in the cache.
    runs = tuple(dataclasses.replace(run, events=run.events.iloc[:0]) for run in result.runs)
    return dataclasses.replace(result, runs=runs)


@st.cache_data(show_spinner=False, max_entries=4)
def shipped_scenarios(folder: str, stamp: tuple) -> tuple[dict[str, Scenario], list[str]]:
    # ``stamp`` (file names and modification times) is only part of the key: an edited file is read again.
    return planner.load_folder(Path(folder))


def choose(source: str, scenario: Scenario, *, replications: int | None = None, seed: int | None = None) -> None:
    """Select a scenario in the Run tab (before its widgets are drawn, or from a callback)."""
    st.session_state["scenario"] = source
    st.session_state["replications"] = replications or planner.default_replications(scenario)
    if seed is not None:
        st.session_state["seed"] = seed


def scenario_changed(sources: dict[str, Scenario]) -> None:
    scenario = sources.get(st.session_state["scenario"])
    if scenario is not None:
        st.session_state["replications"] = planner.default_replications(scenario)


# ---------------------------------------------------------------------------------------------- Run

def run_tab(sources: dict[str, Scenario]) -> None:
    source = st.selectbox("Scenario", list(sources), format_func=lambda s: sources[s].name if s in SHIPPED else s,
                          key="scenario", on_change=scenario_changed, args=(sources,))
    base = sources[source]
    st.caption(base.description or "(no description)")
    if NOTICE in st.session_state:
        st.info(st.session_state.pop(NOTICE))
    st.session_state.setdefault("replications", planner.default_replications(base))
    st.session_state.setdefault("seed", 0)
    auto_run = st.session_state.pop(AUTO_RUN, False)
    try:
        submitted, edits, replications, seed = inputs(source, base)
        if submitted or auto_run:
            edited = planner.edit(base, **edits)
            result = simulate(edited, int(replications), int(seed))
            st.session_state[RESULT] = {"replications": result, "source": source}
            remember_variant(base, edited)
    except ERRORS as exc:
        show_error(exc)
    if RESULT in st.session_state:
        shown = st.session_state[RESULT]
        if shown["source"] != source:
            st.info(f"The results below are for {shown['replications'].scenario.name}; press Run to simulate "
                    f"{base.name}.")
        show_result(shown, sources)


def inputs(source: str, base: Scenario) -> tuple[bool, dict, int, int]:
    """The form: whether Run was pressed, the edits for :func:`mlorg.planner.edit`, replications and seed."""
    with st.form("run_form"):
        st.markdown("**People at day 0**")
        headcount = {field: column.number_input(label, min_value=0, max_value=5000, step=1,
                                                value=getattr(base.org, field), key=f"{field}.{source}")
                     for column, (field, label) in zip(st.columns(3), planner.HEADCOUNT_FIELDS.items(), strict=True)}
        left, middle, right = st.columns(3)
        horizon_default = int(round(base.horizon_days))
        horizon = left.number_input("Horizon (days)", min_value=min(30, horizon_default),
                                    max_value=max(3650, horizon_default), value=horizon_default, step=30,
                                    key=f"horizon_days.{source}", help="simulated time")
        replications = middle.slider("Replications", min_value=MIN_REPLICATIONS, max_value=MAX_REPLICATIONS,
                                     key="replications", help="independent runs; more give narrower intervals and "
                                     "take longer (big organisations start with fewer)")
        seed = right.number_input("Seed", min_value=0, max_value=MAX_SEED, step=1, key="seed",
                                  help="the same seed gives the same results")
        hiring_column, platform_column = st.columns(2)
        with hiring_column:
            st.markdown("**Hiring plan**")
            st.caption("One row per hire: the day they start, their role and how many.")
            hiring = st.data_editor(
                planner.hiring_frame(base), key=f"hiring.{source}", num_rows="dynamic", hide_index=True,
                width="stretch", column_config={
                    "day": st.column_config.NumberColumn("day", min_value=0, step=1, help="simulated day they start"),
                    "role": st.column_config.SelectboxColumn("role", options=list(ROLES)),
                    "count": st.column_config.NumberColumn("count", min_value=1, step=1, help="people hired")})
        with platform_column:
            st.markdown("**Platform capabilities**")
            in_place, build_order = planner.capability_plan(base)
            in_place = st.multiselect("In place at day 0", CAPABILITIES, default=in_place, format_func=capability,
                                      key=f"in_place.{source}")
            build_order = st.multiselect(
                "Built by the platform team, in this order", CAPABILITIES, default=build_order,
                format_func=capability, key=f"build_order.{source}",
                help="platform engineers build these one after another (with none, nothing gets built); "
                     "a capability already in place is not built again")
        with st.expander("Skill overlap: how efficient each role is at each kind of work"):
            st.caption("1 = a specialist's pace, 0 = never does it. Data scientists and ML engineers overlap "
                       "about 30% in skills: a data scientist does production work at 0.3, and that time is "
                       "taken from research.")
            skills = st.data_editor(
                planner.skills_frame(base), key=f"skills.{source}", width="stretch",
                column_config={a: st.column_config.NumberColumn(a, min_value=0.0, max_value=2.0, step=0.05)
                               for a in ACTIVITIES})
        submitted = st.form_submit_button("Run", type="primary", key="run")
    # The horizon box holds whole days: an unchanged box leaves a fractional horizon as the file has it.
    edits = {"headcount": headcount, "horizon_days": None if horizon == horizon_default else horizon,
             "hiring": hiring, "skills": skills, "in_place": in_place, "build_order": build_order}
    return submitted, edits, replications, seed


def capability(name: str) -> str:
    return planner.CAPABILITY_TEXT[name][0]


def remember_variant(base: Scenario, edited: Scenario) -> None:
    """Offer an edited scenario in the Compare tab under a name that says what changed."""
    changes = planner.describe_changes(base, edited)
    if not changes:
        return
    variants: dict[str, Scenario] = st.session_state.setdefault(VARIANTS, {})
    if edited in variants.values():
        return
    variants[planner.variant_label(edited, changes)] = edited
    while len(variants) > MAX_VARIANTS:
        variants.pop(next(iter(variants)))


def show_result(result: dict, sources: dict[str, Scenario]) -> None:
    replications: Replications = result["replications"]
    scenario, summary, n = replications.scenario, replications.summary, replications.n
    st.subheader(f"Results: {scenario.name}")
    st.caption(f"{planner.org_text(scenario)}; {scenario.horizon_days:g} days; {n} replications from seed "
               f"{replications.seed}. Figures are means over replications with 95% confidence intervals of the mean.")
    base = sources.get(result["source"])
    changes = planner.describe_changes(base, scenario) if base is not None else []
    if changes:
        st.caption("Changed from the scenario file: " + "; ".join(changes))
    headline_metrics(summary, [m for m in (*planner.HEADLINES, "serving_cost_usd")
                               if m in summary.index and summary.loc[m, "n"] > 0], n)

    interval = st.radio("Shaded band", list(charts.INTERVALS), format_func=charts.INTERVALS.get,
                        horizontal=True, key="band")
    st.altair_chart(charts.models_over_time([run.timeseries for run in replications.runs], interval=interval),
                    width="stretch")
    left, right = st.columns(2)
    models = [run.models for run in replications.runs]
    if charts.ttp_bins(models).empty:
        left.info("No model reached production in any replication.")
    else:
        left.altair_chart(charts.ttp_histogram(models), width="stretch")
    right.altair_chart(charts.time_use([run.time_use for run in replications.runs]), width="stretch")
    st.altair_chart(charts.cost_summary(summary), width="stretch")

    st.markdown("**All metrics**")
    metrics_table(summary, key="result.metrics")
    stem = planner.file_stem(scenario.name)
    left, right = st.columns(2)
    left.download_button("Download scenario (TOML)", to_toml(scenario), file_name=f"{stem}.toml",
                         mime="application/toml", on_click="ignore", key="download_toml")
    right.download_button("Download per-replication results (CSV)", replications.per_replication.to_csv(),
                          file_name=f"{stem}_replications.csv", mime="text/csv", on_click="ignore",
                          key="download_csv")
    save_form(result)


def headline_metrics(summary: pd.DataFrame, metrics: list[str] | tuple[str, ...], n: int) -> None:
    """Each metric's mean, with its 95% interval beneath, up to four to a row so that no figure is cut off."""
    for start in range(0, len(metrics), HEADLINES_PER_ROW):
        row_metrics = metrics[start:start + HEADLINES_PER_ROW]
        for column, metric in zip(st.columns(HEADLINES_PER_ROW), row_metrics, strict=False):
            label, kind = planner.METRICS[metric]
            row = summary.loc[metric]
            column.metric(label, planner.format_value(row["mean"], kind), help=METRIC_DOCS.get(metric))
            column.caption(planner.interval_text(row, kind, n))


def metrics_table(summary: pd.DataFrame, key: str) -> None:
    table = summary.join(pd.Series(METRIC_DOCS, name="description"))
    st.dataframe(table[["description", "mean", "ci95_low", "ci95_high", "n"]], width="stretch", key=key,
                 column_config={"ci95_low": "95% CI low", "ci95_high": "95% CI high",
                                "n": st.column_config.NumberColumn("replications", format="%d")})


def save_form(result: dict) -> None:
    replications: Replications = result["replications"]
    scenario = replications.scenario
    # Keyed on the run, so a new run offers its own name rather than keeping the first run's label.
    label = st.text_input("Label for the saved run", value=scenario.name,
                          key=f"save_label.{scenario.name}.{replications.n}.{replications.seed}.{hash(scenario)}")
    if st.button("Save run", key="save"):
        store = RunStore()
        try:
            result["saved"] = (store.save(replications, label=label), str(store.path))
        except ERRORS as exc:
            show_error(exc)
    if result.get("saved"):
        run_id, path = result["saved"]
        st.success(f"Saved as run {run_id} in {path}; the Saved runs tab reopens it.")


# ------------------------------------------------------------------------------------------ Compare

def candidate_scenarios(sources: dict[str, Scenario]) -> dict[str, Scenario]:
    """Shipped scenarios by name, saved runs opened in this session, and the edited scenarios run on the Run tab."""
    candidates = {(s.name if key in SHIPPED else key): s for key, s in sources.items()}
    candidates.update(st.session_state.get(VARIANTS, {}))
    return candidates


def compare_tab(sources: dict[str, Scenario]) -> None:
    candidates = candidate_scenarios(sources)
    preferred = [c for c in PREFERRED_PAIR if c in candidates]
    default = preferred if len(preferred) == 2 else list(candidates)[:2]
    st.caption("Every scenario runs the same replications from the same seed, so replication r of each draws "
               "the same random numbers (common random numbers): a difference is measured replication by "
               "replication and shows the effect of the change, not noise. Scenarios you edit and run on the "
               "Run tab are offered here too.")
    picked_before = st.session_state.get("compare.scenarios", [])
    if any(c not in candidates for c in picked_before):  # a variant made way for newer ones
        st.session_state["compare.scenarios"] = [c for c in picked_before if c in candidates]
    with st.form("compare_form"):
        picked = st.multiselect("Scenarios to compare (2 to 4; the first is the baseline)", list(candidates),
                                default=default, max_selections=4, key="compare.scenarios")
        left, right = st.columns(2)
        replications = left.slider("Replications", min_value=MIN_REPLICATIONS, max_value=MAX_REPLICATIONS,
                                   value=10, key="compare.replications")
        seed = right.number_input("Seed", min_value=0, max_value=MAX_SEED, value=0, step=1, key="compare.seed")
        submitted = st.form_submit_button("Compare", type="primary", key="compare.run")
    if submitted:
        if not 2 <= len(picked) <= 4:
            st.error(f"scenarios: {len(picked)} picked; pick 2 to 4 scenarios to compare.")
        else:
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
    horizons = sorted({r.scenario.horizon_days for r in results.values()})
    if len(horizons) > 1:
        st.warning("The scenarios simulate different horizons (" + ", ".join(f"{h:g}" for h in horizons)
                   + " days); counts and costs grow with the horizon.")
    side_by_side = table.assign(value=[
        f"{planner.format_value(r.mean, r.kind)} ({planner.format_value(r.ci95_low, r.kind)} to "
        f"{planner.format_value(r.ci95_high, r.kind)})" for r in table.itertuples()])
    st.dataframe(side_by_side.pivot(index="label", columns="scenario", values="value")
                 .reindex(index=list(dict.fromkeys(table["label"])), columns=labels),
                 width="stretch", key="compare.table")
    st.altair_chart(charts.scenario_metrics(table), width="stretch")

    st.markdown(f"**Paired differences from {labels[0]}** (mean difference and its 95% interval)")
    differences = table.dropna(subset=["diff_mean"])
    differences = differences.assign(difference=[
        f"{signed(r.diff_mean, r.kind)} ({signed(r.diff_low, r.kind)} to {signed(r.diff_high, r.kind)}): "
        f"{planner.difference_verdict(r.diff_low, r.diff_high)}" for r in differences.itertuples()])
    st.dataframe(differences.pivot(index="label", columns="scenario", values="difference")
                 .reindex(index=list(dict.fromkeys(differences["label"])), columns=labels[1:]),
                 width="stretch", key="compare.differences")
    st.altair_chart(charts.paired_differences(table), width="stretch")
    timeseries = {label: [run.timeseries for run in reps.runs] for label, reps in results.items()}
    st.altair_chart(charts.scenarios_over_time(timeseries, "models_live"), width="stretch")
    st.altair_chart(charts.scenarios_over_time(timeseries, "backlog"), width="stretch")
    st.download_button("Download comparison (CSV)", table.to_csv(index=False), file_name="comparison.csv",
                       mime="text/csv", on_click="ignore", key="compare.download_csv")


def signed(value: float, kind: str) -> str:
    text = planner.format_value(value, kind)
    return text if text.startswith(("-", "—")) or value == 0 else f"+{text}"


# --------------------------------------------------------------------------------------- Saved runs

def saved_tab(_sources: dict[str, Scenario]) -> None:
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
    st.caption(f"{scenario.name}: {planner.org_text(scenario)}; {scenario.horizon_days:g} days; "
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
    too_big = saved.seed > MAX_SEED
    right.button("Open in the planner", type="primary", key="saved.open", on_click=open_saved, args=(saved,),
                 disabled=too_big, help=f"seed {saved.seed} is beyond the planner's {MAX_SEED}; rerun it with the CLI"
                 if too_big else "runs it again on the Run tab (same seed, same figures) and lets you edit it")


def open_saved(saved: SavedRun) -> None:
    """Put a saved run's scenario on the Run tab with its seed and replications, and run it again."""
    source = f"saved run {saved.run_id}: {saved.label}"
    st.session_state.setdefault(OPENED, {})[source] = saved.scenario
    replications = min(max(saved.replications, MIN_REPLICATIONS), MAX_REPLICATIONS)
    choose(source, saved.scenario, replications=replications, seed=saved.seed)
    if replications != saved.replications:
        st.session_state[NOTICE] = (f"Run {saved.run_id} was saved with {saved.replications} replications; the "
                                    f"planner runs {MIN_REPLICATIONS} to {MAX_REPLICATIONS}, so it runs "
                                    f"{replications}.")
    st.session_state[AUTO_RUN] = True
    st.session_state[TAB] = "Run"


# ------------------------------------------------------------------------- sweeps: progress and cancel

def run_with_progress(tab: str, what: str, job):
    """Run ``job(progress)`` under a progress bar and a Cancel button, and return its result.

    Streamlit stops a running script at its next call to Streamlit once the user touches the page, so a
    click on Cancel (or on anything else) stops the sweep inside the progress callback's bar update, and
    the library cancels the runs still waiting. The marker left in session state tells the rerun that
    follows how far the sweep got, and whether Cancel stopped it.
    """
    bar = st.progress(0.0, text=f"{what}: starting…")
    cancel_slot = st.empty()
    cancel_slot.button("Cancel", key=f"{tab}.cancel", on_click=cancel, args=(tab,),
                       help="stops the runs; the results shown before stay as they were")
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


def cancel(tab: str) -> None:
    st.session_state[CANCELLED] = tab


def report_interruption(tab: str, what: str, result_key: str) -> None:
    """Say why the last sweep of this tab has no results, when a click stopped it before it finished."""
    running = st.session_state.get(RUNNING)
    if not running or running["tab"] != tab:
        return
    del st.session_state[RUNNING]
    progress = f"after {running['done']} of {running['total']} runs" if running["total"] else "before its first run"
    earlier = " The results below are from the last one that finished." if result_key in st.session_state else ""
    if st.session_state.pop(CANCELLED, None) == tab:
        st.info(f"{what} was cancelled {progress}.{earlier}")
    else:
        st.warning(f"{what} stopped {progress}: the page changed while it ran, and Streamlit reruns the page on "
                   f"every change. Run it again and leave the page as it is until it finishes (or press Cancel)."
                   f"{earlier}")


# ---------------------------------------------------------------------------- sweeps: shared inputs

def pick_scenario(tab: str, sources: dict[str, Scenario]) -> tuple[str, Scenario]:
    """The scenario a tab works on: a shipped one, a saved run opened, or a variant run on the Run tab."""
    candidates = candidate_scenarios(sources)
    key = f"{tab}.scenario"
    if st.session_state.get(key) not in candidates:  # a variant made way for newer ones
        st.session_state.pop(key, None)
    run_tab_choice = st.session_state.get("scenario")
    default = sources[run_tab_choice].name if run_tab_choice in SHIPPED else run_tab_choice
    labels = list(candidates)
    label = st.selectbox("Scenario", labels, index=labels.index(default) if default in labels else 0, key=key,
                         help="a shipped scenario, a saved run you opened, or a scenario you edited and ran on "
                              "the Run tab")
    return label, candidates[label]


def axis_inputs(tab: str, number: int, label: str, scenario: Scenario, fields: list[str], *,
                default: str | None = None, optional: bool = False) -> tuple[str, str] | None:
    """One varied input: its field path (offered, or typed) and its values; None when none is picked."""
    options = [NO_INPUT, *fields] if optional else fields
    key = f"{tab}.path{number}.{label}"
    typed = st.session_state.get(key)
    if typed is not None and typed not in options:  # a path the user typed stays on offer
        options = [*options, typed]
    path = st.selectbox(
        f"Input {number}" + (" (optional)" if optional else ""), options,
        index=options.index(default) if default in options else 0, key=key,
        accept_new_options=True,
        help="the numeric inputs that can matter in this scenario; or type any field's dotted path, such as "
             "org.hiring[0].count or platform.capabilities.model_registry.built")
    if path in (None, NO_INPUT):
        return None
    st.caption(planner.field_help(scenario, path))
    spec = st.text_input("Values", value=planner.default_spec(scenario, path), key=f"{tab}.spec{number}.{label}.{path}",
                         help="comma-separated values or inclusive ranges START..STOP or START..STOP:STEP, e.g. "
                              "0..8, 1,2,4, 0.1..0.5:0.1, 0..4,8, true,false")
    return path, spec


def run_settings(tab: str, per: str = "cell") -> tuple[int, int]:
    left, right = st.columns(2)
    replications = left.slider(f"Replications per {per}", min_value=MIN_REPLICATIONS, max_value=MAX_REPLICATIONS,
                               value=SWEEP_REPLICATIONS, key=f"{tab}.replications",
                               help=f"more give narrower intervals; the runs multiply with the {per}s")
    seed = right.number_input("Seed", min_value=0, max_value=MAX_SEED, value=0, step=1, key=f"{tab}.seed",
                              help="the same seed gives the same results")
    return int(replications), int(seed)


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


def metric_option(metric: str) -> str:
    label = planner.metric_label(metric)
    return metric if label == metric else f"{label} ({metric})"


def value_format(metric: str) -> str:
    return charts.VALUE_FORMATS[planner.metric_kind(metric)]


TABLE_FORMATS = {"days": "%.1f", "usd": "dollar", "share": "percent", "count": "%.2f"}


def number_columns(metric: str, labels: dict[str, str]) -> dict:
    """Table columns holding values of ``metric``, under ``labels``, formatted as the metric's kind."""
    fmt = TABLE_FORMATS[planner.metric_kind(metric)]
    return {column: st.column_config.NumberColumn(label, format=fmt) for column, label in labels.items()}


def as_text(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Columns of mixed values (integers, numbers, true/false) as text, so a table shows them as they are."""
    return frame.assign(**{c: frame[c].map(planner.value_text) for c in columns})


# ------------------------------------------------------------------------------------------ Sweep

def sweep_tab(sources: dict[str, Scenario]) -> None:
    st.caption("Runs a scenario at every combination of values of one or two inputs (the grid's cells). "
               "Replication r of every cell draws the same random numbers (common random numbers), so "
               "neighbouring cells differ by their inputs, not by luck.")
    report_interruption("sweep", "The sweep", SWEEP)
    label, scenario = pick_scenario("sweep", sources)
    axes = grid_inputs("sweep", label, scenario, None)
    replications, seed = run_settings("sweep")
    runs_caption(axes, replications)
    if st.button("Run sweep", type="primary", key="sweep.run"):
        try:
            grid = planner.sweep_grid(axes)
            table = run_with_progress("sweep", "Sweep", lambda progress: sweeps.sweep(
                scenario, grid, replications, seed, backend=SWEEP_BACKEND, progress=progress))
            st.session_state[SWEEP] = {"table": table, "label": label, "replications": replications, "seed": seed}
        except ERRORS as exc:
            show_error(exc)
    if SWEEP in st.session_state:
        show_sweep(st.session_state[SWEEP])


def show_sweep(result: dict) -> None:
    table: pd.DataFrame = result["table"]
    params = sweeps.parameters(table)
    st.subheader(f"Sweep of {result['label']}: {' × '.join(params)}")
    st.caption(f"{table['cell'].nunique()} cells × {result['replications']} replications from seed {result['seed']}. "
               "Figures are means over replications with 95% confidence intervals of the mean.")
    measured = [m for m in METRIC_DOCS if m in table.columns and table[m].notna().any()]
    left, right = st.columns(2)
    metric = left.selectbox("Metric", measured, format_func=metric_option, key="sweep.metric",
                            index=measured.index("ttp_days_p90") if "ttp_days_p90" in measured else 0,
                            help="every metric was measured in every run: pick any without running again")
    style = "lines"
    if len(params) == 2:
        style = right.radio("Chart", list(charts.SWEEP_STYLES), format_func=charts.SWEEP_STYLES.get,
                            horizontal=True, key="sweep.style")
    summary = sweeps.summarise_cells(table, [metric])
    undefined = summary[summary["mean"].isna()]
    if len(undefined):
        st.caption(f"{metric} was not defined in any replication of {len(undefined)} cell(s), left out of the chart: "
                   + "; ".join(planner.cell_text(row[params]) for _, row in undefined.iterrows()))
    if len(undefined) < len(summary):
        st.altair_chart(charts.sweep_chart(summary, metric_label=planner.metric_label(metric), style=style,
                                           value_format=value_format(metric)), width="stretch")
    st.dataframe(as_text(summary, params).drop(columns=["cell", "metric"]), hide_index=True, width="stretch",
                 key="sweep.table", column_config={
                     **number_columns(metric, {"mean": planner.metric_label(metric), "ci95_low": "95% CI low",
                                               "ci95_high": "95% CI high"}),
                     "n": st.column_config.NumberColumn("replications defined", format="%d")})
    stem = planner.file_stem(result["label"])
    st.download_button("Download every run (CSV: one row per cell and replication, every metric)",
                       table.to_csv(index=False), file_name=f"{stem}_sweep.csv", mime="text/csv",
                       on_click="ignore", key="sweep.download_csv")


# ------------------------------------------------------------------------------------ Sensitivity

def sensitivity_tab(sources: dict[str, Scenario]) -> None:
    st.caption("Sets each input to its value × (1 − spread) and × (1 + spread), one at a time with the rest at "
               "the scenario's values (an integer moves by at least 1), and ranks the inputs by the swing of the "
               "metric between the two: a tornado chart. Each change is paired with the base replication by "
               "replication (common random numbers), so its interval shows the input's effect, not noise.")
    report_interruption("tornado", "The sensitivity analysis", TORNADO)
    label, scenario = pick_scenario("tornado", sources)
    inputs = list(planner.sweep_fields(scenario))
    chosen = st.multiselect(f"Inputs to vary ({len(inputs)} can matter in this scenario)", inputs,
                            default=planner.default_sensitivity_inputs(inputs), key=f"tornado.inputs.{label}",
                            help="each input adds two variants of the scenario to run; start with a handful")
    left, right = st.columns(2)
    metric = left.selectbox("Metric", list(METRIC_DOCS), index=list(METRIC_DOCS).index("ttp_days_p90"),
                            format_func=metric_option, key="tornado.metric")
    spread = right.slider("Spread (± %)", min_value=5, max_value=100, value=20, step=5, key="tornado.spread") / 100
    replications, seed = run_settings("tornado", per="variant")
    st.caption(f"Up to {(1 + 2 * len(chosen)) * replications:,} runs: the scenario and each input at its low and "
               f"high value, {replications} replications each.")
    if st.button("Run sensitivity analysis", type="primary", key="tornado.run"):
        if not chosen:
            st.error("inputs: none picked; pick at least one input to vary")
        else:
            try:
                table = run_with_progress("tornado", "Sensitivity", lambda progress: sweeps.sensitivity(
                    scenario, metric, spread, replications, seed, inputs=chosen, backend=SWEEP_BACKEND,
                    progress=progress))
                st.session_state[TORNADO] = {"table": table, "label": label, "spread": spread}
            except ERRORS as exc:
                show_error(exc)
    if TORNADO in st.session_state:
        show_tornado(st.session_state[TORNADO])


def show_tornado(result: dict) -> None:
    table: pd.DataFrame = result["table"]
    metric, spread = table.attrs["metric"], result["spread"]
    st.subheader(f"Sensitivity of {planner.metric_label(metric)}: {result['label']}")
    st.caption(f"Each input at −{spread:.0%} and +{spread:.0%}; {table.attrs['replications']} replications from "
               f"seed {table.attrs['seed']}. A side the schema does not allow (a share above 1, a headcount below "
               "0) is left out and counts as the base in the swing.")
    if table["swing_mean"].notna().any():
        st.altair_chart(charts.tornado_chart(table, metric_label=planner.metric_label(metric), spread=spread,
                                             value_format=value_format(metric)), width="stretch")
    else:
        st.info(f"{metric} was not defined in the base runs or their variants, so no input has a measured effect.")
    shown = as_text(table, ["base_value", "low_value", "high_value"]).drop(columns=["base_mean"])
    changes = {f"{side}_{part}": f"{name}{suffix}" for side, name in (("low_delta", "change at low"),
                                                                     ("high_delta", "change at high"),
                                                                     ("swing", "swing (high − low)"))
               for part, suffix in (("mean", ""), ("ci95_low", ": 95% CI low"), ("ci95_high", ": 95% CI high"))}
    st.dataframe(shown, hide_index=True, width="stretch", key="tornado.table", column_config={
        "base_value": "base value", "low_value": "low value", "high_value": "high value",
        **number_columns(metric, changes)})
    st.download_button("Download the tornado table (CSV)", table.to_csv(index=False),
                       file_name=f"{planner.file_stem(result['label'])}_sensitivity_{metric}.csv", mime="text/csv",
                       on_click="ignore", key="tornado.download_csv")


# -------------------------------------------------------------------------------------- Goal seek

def goal_tab(sources: dict[str, Scenario]) -> None:
    st.caption("Sweeps a grid and picks the cell with the lowest mean of a metric among those that meet a "
               "target with 95% confidence: for ttp_days_p90<=30, the one-sided 95% upper bound of the mean p90 "
               "time-to-production must be at most 30 days, with a model shipped in every replication.")
    report_interruption("goal", "The goal seek", GOAL)
    label, scenario = pick_scenario("goal", sources)
    axes = grid_inputs("goal", label, scenario, "org.platform_engineers")
    left, right = st.columns(2)
    target = left.text_input("Target", value="ttp_days_p90<=30", key="goal.target",
                             help="METRIC<=VALUE (or <, >=, >), with a metric of the README's table")
    metrics = list(METRIC_DOCS)
    minimise = right.selectbox("Minimise", metrics, index=metrics.index("total_cost_usd"), format_func=metric_option,
                               key="goal.minimise", help="total cost = staff + serving + business loss")
    replications, seed = run_settings("goal")
    runs_caption(axes, replications)
    if st.button("Find the cheapest", type="primary", key="goal.run"):
        try:
            grid = planner.sweep_grid(axes)
            optimum = run_with_progress("goal", "Goal seek", lambda progress: sweeps.optimise(
                scenario, grid, target, minimise, replications, seed, backend=SWEEP_BACKEND, progress=progress))
            st.session_state[GOAL] = {"optimum": optimum, "label": label}
        except ERRORS as exc:
            show_error(exc)
    if GOAL in st.session_state:
        show_goal(st.session_state[GOAL])


def show_goal(result: dict) -> None:
    optimum = result["optimum"]
    params = optimum.parameters
    st.subheader(f"Goal seek on {result['label']}: {optimum.target}, minimising {optimum.minimise}")
    verdict = planner.goal_verdict(optimum)
    if optimum.best is not None:
        st.success(verdict)
    else:
        st.warning(verdict)
    kind = planner.metric_kind(optimum.minimise)
    if len(optimum.runners_up):
        st.markdown("**Runners-up** (each also meets the target; how much more it costs than the pick is a paired "
                    "difference, replication by replication)")
        runners = optimum.runners_up.assign(**{
            optimum.minimise: optimum.runners_up["objective_mean"].map(lambda v: planner.format_value(v, kind)),
            "more than the pick": [f"{signed(r.extra_mean, kind)} (95% CI {signed(r.extra_ci95_low, kind)} to "
                                   f"{signed(r.extra_ci95_high, kind)})" for r in optimum.runners_up.itertuples()]})
        st.dataframe(as_text(runners, params)[[*params, optimum.minimise, "more than the pick"]], hide_index=True,
                     width="stretch", key="goal.runners_up")
    st.markdown("**Evidence: every cell**, those meeting the target first, cheapest first")
    columns = [*params, "meets_target", "target_mean", "target_bound", "objective_mean", "objective_ci95_low",
               "objective_ci95_high", "target_defined", "replications"]
    side = "upper" if optimum.target.upper else "lower"
    bound = f"{optimum.target.metric}: one-sided {optimum.confidence:.0%} {side} bound"
    st.dataframe(as_text(optimum.cells, params)[columns], hide_index=True, width="stretch", key="goal.evidence",
                 column_config={
                     "meets_target": "meets the target",
                     **number_columns(optimum.target.metric, {"target_mean": f"{optimum.target.metric}: mean",
                                                              "target_bound": bound}),
                     **number_columns(optimum.minimise, {"objective_mean": f"{optimum.minimise}: mean",
                                                         "objective_ci95_low": "95% CI low",
                                                         "objective_ci95_high": "95% CI high"}),
                     "target_defined": st.column_config.NumberColumn(f"replications with {optimum.target.metric}",
                                                                     format="%d")})
    st.download_button("Download the evidence (CSV)", optimum.cells.to_csv(index=False),
                       file_name=f"{planner.file_stem(result['label'])}_goal_seek.csv", mime="text/csv",
                       on_click="ignore", key="goal.download_csv")


# --------------------------------------------------------------------------------------------- page

TABS = {"Run": run_tab, "Compare": compare_tab, "Saved runs": saved_tab, "Sweep": sweep_tab,
        "Sensitivity": sensitivity_tab, "Goal seek": goal_tab}

st.title("Staffing planner")
folder = planner.scenario_folder()
SHIPPED, problems = shipped_scenarios(str(folder), planner.folder_stamp(folder))
if problems:
    st.error("Some scenario files could not be loaded:\n" + "\n".join(f"- {m}" for m in problems))
if not SHIPPED:
    st.error(f"No valid scenario files (*.toml) in {folder}.")
    st.stop()
all_sources = {**SHIPPED, **st.session_state.get(OPENED, {})}
start = st.session_state.pop(planner.START_KEY, None)
if start in SHIPPED:
    choose(start, SHIPPED[start], seed=0)
    st.session_state[AUTO_RUN] = True
    st.session_state[TAB] = "Run"

for tab, draw in zip(st.tabs(list(TABS), key=TAB, on_change="rerun"), TABS.values(), strict=True):
    with tab:
        draw(all_sources)
