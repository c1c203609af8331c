"""Run a scenario: pick a shipped scenario, adjust headcount and horizon, replicate, read the results."""

from __future__ import annotations

import dataclasses
import math
import os
import re
from pathlib import Path

import pandas as pd
import streamlit as st

from mlorg import charts
from mlorg.results import METRIC_DOCS, Replications, replicate
from mlorg.scenario import Scenario, ScenarioError, load, to_toml, validate
from mlorg.store import RunStore, StoreError

# MLORG_SCENARIOS points the page at another folder of scenario files (tests use it).
SCENARIO_DIR = Path(os.environ.get("MLORG_SCENARIOS", Path(__file__).resolve().parents[2] / "scenarios"))
RESULT = "run_scenario.result"
ROLE_INPUTS = (("data_scientists", "Data scientists"), ("ml_engineers", "ML engineers"),
               ("platform_engineers", "Platform engineers"))
HEADLINES = (("ttp_days_median", "Median time to production", "days"),
             ("ttp_days_p90", "P90 time to production", "days"),
             ("models_shipped", "Models shipped", "count"),
             ("backlog_end", "Backlog at end", "count"),
             ("models_abandoned", "Models abandoned", "count"),
             ("staff_cost_usd", "Staff cost", "usd"))
ERRORS = (ValueError, StoreError)  # ScenarioError is a ValueError


def shipped_scenarios(folder: Path) -> tuple[dict[str, Scenario], list[str]]:
    """Valid scenarios by file stem, and one message per file that failed to load."""
    scenarios, problems = {}, []
    for path in sorted(folder.glob("*.toml")):
        try:
            scenarios[path.stem] = load(path)
        except ScenarioError as exc:
            problems.extend(exc.messages)
    return scenarios, problems


def show_error(exc: Exception) -> None:
    messages = getattr(exc, "messages", None) or [str(exc)]
    st.error(messages[0] if len(messages) == 1 else "\n".join(f"- {m}" for m in messages))


@st.cache_data(show_spinner=False, max_entries=16)
def simulate(scenario: Scenario, replications: int, seed: int) -> Replications:
    # The bar is created in here so that Streamlit can replay it on a cache hit.
    bar = st.progress(0.0, text=f"Running {replications} replications…")
    try:
        result = replicate(scenario, replications, seed,
                           progress=lambda done, total: bar.progress(done / total,
                                                                     text=f"Replication {done} of {total}"))
    finally:
        bar.empty()
    # The page never shows the event logs; dropping them keeps large scenarios small in the cache.
    runs = tuple(dataclasses.replace(run, events=run.events.iloc[:0]) for run in result.runs)
    return dataclasses.replace(result, runs=runs)


def fmt(value: float, kind: str) -> str:
    if value is None or math.isnan(value):
        return "—"
    if kind == "days":
        return f"{value:,.1f} days"
    if kind == "usd":
        return f"${value / 1e6:,.2f}M" if abs(value) >= 1e6 else f"${value:,.0f}"
    return f"{value:,.1f}"


def interval_text(row: pd.Series, kind: str, total: int) -> str:
    if row["n"] == 0:
        return "not defined in any replication"
    text = (f"95% CI {fmt(row['ci95_low'], kind)} to {fmt(row['ci95_high'], kind)}" if row["n"] > 1
            else "no interval from one replication")
    return text if row["n"] == total else f"{text} (over {int(row['n'])} of {total} replications)"


def people(count: int, role: str) -> str:
    return f"{count} {role}{'' if count == 1 else 's'}"


def file_stem(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name).strip("_") or "scenario"


def inputs(stem: str, base: Scenario) -> tuple[Scenario, int, int] | None:
    """The form; returns (edited scenario, replications, seed) when Run is pressed."""
    with st.form("run_form"):
        counts = {}
        for column, (field, label) in zip(st.columns(3), ROLE_INPUTS, strict=True):
            counts[field] = column.number_input(label, min_value=0, max_value=5000, step=1,
                                                value=getattr(base.org, field), key=f"{field}.{stem}")
        left, middle, right = st.columns(3)
        horizon_default = int(round(base.horizon_days))
        horizon = left.number_input("Horizon (days)", min_value=min(30, horizon_default),
                                    max_value=max(3650, horizon_default), value=horizon_default, step=30,
                                    key=f"horizon_days.{stem}", help="simulated time")
        replications = middle.slider("Replications", min_value=2, max_value=50, value=10, key="replications",
                                     help="independent runs; more give narrower intervals and take longer")
        seed = right.number_input("Seed", min_value=0, max_value=2**31 - 1, value=0, step=1, key="seed",
                                  help="the same seed gives the same results")
        if not st.form_submit_button("Run", type="primary", key="run"):
            return None
    changes = {}
    if counts != {field: getattr(base.org, field) for field, _ in ROLE_INPUTS}:
        changes["org"] = dataclasses.replace(base.org, **counts)
    if horizon != horizon_default:
        changes["horizon_days"] = float(horizon)
    edited = validate(base.replace(**changes)) if changes else base
    return edited, int(replications), int(seed)


def show_result(result: dict) -> None:
    replications: Replications = result["replications"]
    scenario, summary, n = replications.scenario, replications.summary, replications.n
    st.subheader(f"Results: {scenario.name}")
    org = scenario.org
    st.caption(f"{people(org.data_scientists, 'data scientist')}, {people(org.ml_engineers, 'ML engineer')}, "
               f"{people(org.platform_engineers, 'platform engineer')} at day 0; {scenario.horizon_days:g} days; "
               f"{n} replications from seed {replications.seed}. Figures are means over replications with "
               "95% confidence intervals of the mean.")
    for column, (metric, label, kind) in zip(st.columns(len(HEADLINES)), HEADLINES, strict=True):
        row = summary.loc[metric]
        column.metric(label, fmt(row["mean"], kind), help=METRIC_DOCS.get(metric))
        column.caption(interval_text(row, kind, n))

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

    st.markdown("**All metrics**")
    table = summary.join(pd.Series(METRIC_DOCS, name="description"))
    st.dataframe(table[["description", "mean", "ci95_low", "ci95_high", "n"]], width="stretch",
                 column_config={"ci95_low": "95% CI low", "ci95_high": "95% CI high",
                                "n": st.column_config.NumberColumn("replications", format="%d")})

    stem = file_stem(scenario.name)
    left, right = st.columns(2)
    left.download_button("Download scenario (TOML)", to_toml(scenario), file_name=f"{stem}.toml",
                         mime="application/toml", on_click="ignore", key="download_toml")
    right.download_button("Download per-replication results (CSV)", replications.per_replication.to_csv(),
                          file_name=f"{stem}_replications.csv", mime="text/csv", on_click="ignore",
                          key="download_csv")

    # Keyed on the run, so a new run offers its own name rather than keeping the first run's label.
    label = st.text_input("Label for the saved run", value=scenario.name,
                          key=f"save_label.{scenario.name}.{n}.{replications.seed}.{hash(scenario)}")
    if st.button("Save run", key="save"):
        store = RunStore()
        try:
            result["saved"] = (store.save(replications, label=label), str(store.path))
        except ERRORS as exc:
            show_error(exc)
    if result.get("saved"):
        run_id, path = result["saved"]
        st.success(f"Saved as run {run_id} in {path}.")


def saved_runs() -> None:
    with st.expander("Saved runs"):
        store = RunStore()
        try:
            runs = store.list()
        except ERRORS as exc:
            show_error(exc)
            return
        if runs.empty:
            st.caption(f"No runs saved yet in {store.path}.")
        else:
            st.dataframe(runs, hide_index=True, width="stretch")


st.title("Run a scenario")
scenarios, problems = shipped_scenarios(SCENARIO_DIR)
if problems:
    st.error("Some scenario files could not be loaded:\n" + "\n".join(f"- {m}" for m in problems))
if not scenarios:
    st.error(f"No valid scenario files (*.toml) in {SCENARIO_DIR}.")
    st.stop()

stem = st.selectbox("Scenario", list(scenarios), format_func=lambda s: scenarios[s].name, key="scenario")
base = scenarios[stem]
st.caption(base.description or "(no description)")

try:
    request = inputs(stem, base)
    if request is not None:
        st.session_state[RESULT] = {"replications": simulate(*request)}
except ERRORS as exc:
    show_error(exc)

if RESULT in st.session_state:
    shown = st.session_state[RESULT]["replications"].scenario
    if shown.name != base.name:
        st.info(f"The results below are for {shown.name}; press Run to simulate {base.name}.")
    show_result(st.session_state[RESULT])
saved_runs()
