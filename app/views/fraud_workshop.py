"""Fraud-drift workshop: a guided story on the reference pipeline. Train the fraud model, deploy it, let months pass
and watch losses rise; guess why, and see which monitors would have fired, and when; then replay the same months with
every monitor and automated rollback, and compare.

The pipeline runs are computed once per scenario, seed and code version by :class:`mlorg.workshop.Workshop` and shared
by every session on the server (and kept under data/workshop/), so a room of attendees gets its answers in seconds.
MLORG_WORKSHOP_SCALE=small runs the story at a tenth of the shipped scale (tests use it); MLORG_WORKSHOP_CACHE names
another folder for the kept results.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd
import pyarrow as pa
import streamlit as st

from mlorg import charts, workshop
from mlorg.pipeline.run import DAY_ZERO
from mlorg.scenario import Scenario, ScenarioError, load

ROOT = Path(__file__).resolve().parents[2]
BEFORE_FILE = ROOT / "scenarios" / "fraud_drift.toml"  # the risk team as it is: no monitoring
AFTER_FILE = ROOT / "scenarios" / "fraud_drift_full.toml"  # every monitor, a registry and automated rollback
CACHE_DIR = Path(os.environ.get("MLORG_WORKSHOP_CACHE", ROOT / "data" / "workshop"))
SCALE_VARIABLE = "MLORG_WORKSHOP_SCALE"

STEP = "workshop_step"  # how far this session has gone: an index into STEPS
STEPS = ("start", "trained", "deployed", "months", "question", "answer", "replay", "compare")
WITHOUT, WITH = "without monitoring", "with monitoring and rollback"


@st.cache_resource(show_spinner=False, max_entries=1024)
def derived(identity: tuple, _compute: Callable[[], Any]) -> Any:
    """What ``_compute`` gives, computed once for the whole server per ``identity`` (what it is, from which results:
    job keys) and shared, read-only, by every session. Every rerun of every session redraws the story so far, and a
    room of sessions redrawing the same tables and charts from scratch kept the server busy for seconds (an Altair
    chart alone takes 0.1–0.2 s to build)."""
    return _compute()


def show_chart(identity: tuple, build: Callable[[], alt.TopLevelMixin]) -> None:
    st.vega_lite_chart(derived(("chart", *identity), lambda: arrow_datasets(build().to_dict())), width="stretch")


def arrow_datasets(spec: dict) -> dict:
    """The spec with its datasets as Arrow IPC streams, which Streamlit sends as they are instead of converting the
    records again on every rerun."""
    def arrow(records: list[dict]) -> bytes:
        table = pa.Table.from_pandas(pd.DataFrame.from_records(records))
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        return sink.getvalue().to_pybytes()

    return {**spec, "datasets": {name: arrow(records) for name, records in spec.get("datasets", {}).items()}}


@st.cache_resource(show_spinner=False, max_entries=8)
def load_scenarios(scale: str, stamps: tuple) -> tuple[Scenario, Scenario]:
    # ``stamps`` (the files' modification times) is only part of the key: an edited file is read again.
    return workshop.at_scale(load(BEFORE_FILE), scale), workshop.at_scale(load(AFTER_FILE), scale)


@st.cache_resource
def shared_workshop(cache_dir: str) -> workshop.Workshop:
    """One Workshop per server: its jobs and worker are shared by every session."""
    return workshop.Workshop(cache_dir)


def scenarios() -> tuple[Scenario, Scenario] | None:
    scale = os.environ.get(SCALE_VARIABLE, "full")
    if scale not in workshop.SCALES:
        st.error(f"{SCALE_VARIABLE}: {scale!r} is not allowed; must be one of {', '.join(workshop.SCALES)}")
        return None
    try:
        return load_scenarios(scale, tuple(path.stat().st_mtime for path in (BEFORE_FILE, AFTER_FILE)))
    except (OSError, ScenarioError, ValueError) as exc:
        st.error(str(exc))
        return None


def step() -> int:
    return st.session_state.get(STEP, 0)


def go_to(name: str) -> None:
    st.session_state[STEP] = STEPS.index(name)


def start_over() -> None:
    st.session_state[STEP] = 0
    st.session_state.pop("workshop_guess", None)


def next_button(label: str, target: str) -> None:
    """The button that moves the story on; shown only at the step the session has reached."""
    if step() == STEPS.index(target) - 1:
        st.button(label, type="primary", on_click=go_to, args=(target,), key=f"next_{target}")


def jobs(before: Scenario, after: Scenario, seed: int) -> dict[str, workshop.Job]:
    """The story's three computations, asked for in the order the story needs them (the worker takes them in that
    order, so the later ones are usually ready by the time the room gets there)."""
    shared = shared_workshop(str(CACHE_DIR))
    return {"before": shared.submit("run", before, seed), "evidence": shared.submit("evidence", before, seed),
            "after": shared.submit("run", after, seed)}


def wait(job: workshop.Job, running_text: str):
    """The job's result, showing its progress until it is ready; None (with the error shown) if it failed."""
    if not job.finished:
        bar = st.progress(job.fraction, text=progress_text(job, running_text))
        while not job.wait(0.25):
            bar.progress(job.fraction, text=progress_text(job, running_text))
        bar.empty()
    if job.error is not None:
        st.error(f"The computation of {job.scenario} failed: {job.error}. Start over to try again.")
        return None
    return job.result


def progress_text(job: workshop.Job, running_text: str) -> str:
    if job.state == "queued":
        return "Waiting for the server's worker: another computation is ahead of this one…"
    if job.total_steps == 0:
        return "Generating the transactions, computing the features and training the first model…"
    return f"{running_text}: step {job.done_steps} of {job.total_steps}"


def source_note(job: workshop.Job) -> str:
    return "from the server's cache" if job.from_cache else f"computed in {job.seconds:.0f} s, now shared"


def day_text(day: float) -> str:
    return f"day {day:.0f} ({(DAY_ZERO + pd.Timedelta(days=float(day))):%d %b %Y})"


def usd(value: float) -> str:
    return f"${value:,.0f}"


# ------------------------------------------------------------------------------------------------ steps


def show_training(run: workshop.Run, scenario: Scenario, job: workshop.Job) -> None:
    p = scenario.pipeline
    st.subheader("1 · Train")
    columns = st.columns(4)
    columns[0].metric("Offline AUC (holdout)", f"{run.offline_auc:.3f}")
    columns[1].metric("Transactions generated", f"{run.transactions:,}")
    columns[2].metric("Fraud rate", f"{run.fraud_rate:.2%}")
    columns[3].metric("Alert threshold", f"top {p.alert_share:.0%}", help="share of the holdout's scores above it")
    st.markdown(f"A gradient-boosted model learns fraud from card, merchant and device features computed in DuckDB "
                f"from past transactions only. It trains on days 0–{p.train_days - 1} with the chargebacks known by "
                f"day {workshop.deploy_day(scenario)}, and on the next {p.holdout_days} days, which it never saw, it "
                f"ranks a random fraud above a random legitimate transaction with probability **{run.offline_auc:.3f}**"
                f" (the AUC). It will alert on the top {p.alert_share:.0%} of scores, a threshold set on those days.")
    st.caption(f"Reference pipeline run of `{scenario.name}`: {source_note(job)}.")


def show_deployment(run: workshop.Run, scenario: Scenario) -> None:
    st.subheader("2 · Deploy")
    first = run.weekly.iloc[0]
    columns = st.columns(4)
    columns[0].metric("First week: fraud caught", f"{first['recall']:.0%}")
    columns[1].metric("First week: alert rate", f"{first['alert_rate']:.2%}")
    columns[2].metric("Scoring p99", f"{run.scorer_p99_ms:.1f} ms", help=f"p50 {run.scorer_p50_ms:.1f} ms: one "
                      "transaction scored by the real-time scorer (online features and the model)")
    columns[3].metric("Latency objective", f"{scenario.pipeline.score_slo_ms:g} ms")
    capabilities = scenario.platform.capabilities
    missing = [name.replace("_", " ") for name in ("model_registry", "monitoring", "incident_process")
               if not getattr(capabilities, name).built]
    watching = [name for name in ("features", "predictions", "performance")
                if getattr(scenario.monitoring, name).enabled]
    st.markdown(f"On {day_text(workshop.deploy_day(scenario))} version 1 goes live and scores every card "
                "transaction in real time. "
                + (f"The team has no {', no '.join(missing)} yet. " if missing else "")
                + ("No monitor is watching the model: the business will find out when the losses do."
                   if not watching else f"Monitors watching: {', '.join(watching)}."))


def show_months(run: workshop.Run, scenario: Scenario, job: workshop.Job) -> None:
    st.subheader("3 · Months pass")
    revealed = step() >= STEPS.index("answer")  # the day of the cause is drawn only once the answer is out
    weekly = derived(("weekly", job.key), lambda: workshop.weekly_losses(run.weekly, run.days))
    weeks = st.slider("Weeks live", min_value=1, max_value=len(weekly), value=len(weekly), key="workshop_weeks",
                      help="drag to watch the months go by")
    shown = weekly.iloc[:weeks]
    cause = scenario.pipeline.causes[0]
    show_chart(("weekly", job.key, weeks, revealed), lambda: charts.workshop_weekly(
        shown, shift_day=cause.start_day if revealed else None, shift_label=workshop.SHIFT_LABELS[cause.kind]))
    if weeks < 2:
        st.caption("Let more weeks pass to see a trend.")
        return
    trend = derived(("trend", job.key, weeks), lambda: workshop.trend(
        run.weekly.iloc[:weeks], int(shown["start_day"].iloc[-1] + shown["days"].iloc[-1])))
    n = "week" if trend["weeks"] == 1 else f"{trend['weeks']} weeks"
    columns = st.columns(2)
    columns[0].metric(f"Fraud losses per day, last {n}", usd(trend["last_losses_per_day"]),
                      delta=f"{trend['last_losses_per_day'] / trend['first_losses_per_day'] - 1:+.0%} on the first "
                      f"{n}" if trend["first_losses_per_day"] else None, delta_color="inverse")
    columns[1].metric(f"Fraud caught, last {n}", f"{trend['last_recall']:.0%}",
                      delta=f"{(trend['last_recall'] - trend['first_recall']) * 100:+.0f} points on the first {n}")
    months = (shown["days"].sum()) / 30.4
    st.markdown(f"After **{months:.1f} months** live the model catches **{trend['last_recall']:.0%}** of fraud, "
                f"against {trend['first_recall']:.0%} in its first {n}, and fraud losses run at "
                f"**{usd(trend['last_losses_per_day'])} a day** against {usd(trend['first_losses_per_day'])}.")


def show_question() -> None:
    st.subheader("4 · What went wrong?")
    st.radio("What went wrong?", options=list(workshop.CHOICES), format_func=workshop.CHOICES.get, index=None,
             key="workshop_guess", label_visibility="collapsed", disabled=step() >= STEPS.index("answer"))


def show_answer(evidence: workshop.Evidence, before: workshop.Run, scenario: Scenario, job: workshop.Job) -> None:
    st.subheader("5 · The answer, and the evidence")
    cause = scenario.pipeline.causes[0]
    truth = workshop.CAUSES[cause.kind]
    guess = st.session_state.get("workshop_guess")
    if guess is None:
        st.info(f"It was: **{truth}**, from {day_text(cause.start_day)}.")
    elif guess == cause.kind:
        st.success(f"Right: **{truth}**, from {day_text(cause.start_day)}.")
    else:
        st.warning(f"Not this time. It was: **{truth}**, from {day_text(cause.start_day)}.")
    table = derived(("first_alarms", job.key), lambda: workshop.first_alarms(evidence, cause.kind, cause.start_day))
    fired = table.dropna(subset=["lag_days"]).sort_values("lag_days")
    if len(fired):
        first = fired.iloc[0]
        silent = [workshop.MONITORS[m].lower() for m in table.loc[table["lag_days"].isna(), "monitor"]]
        st.markdown(f"Had the model been watched, **{workshop.MONITORS[first['monitor']].lower()}** "
                    f"({workshop.WATCHES[first['monitor']]}) would have fired first, on "
                    f"{day_text(first['first_alarm_day'])}: **{first['lag_days']:.0f} days** after the shift. "
                    + (f"Never fired: {' and '.join(silent)}." if silent else ""))
    else:
        st.markdown("No monitor would have fired before the end of the run.")
    if cause.kind == "fraud_pattern_shift" and table.set_index("monitor").loc["features", "alarms_after"] == 0:
        st.caption(f"Fraud is {before.fraud_rate:.1%} of transactions: when fraudsters change pattern the features of "
                   "all traffic barely move, but the share of transactions the model alerts on and its recall do.")
    show_chart(("alarms", job.key), lambda: charts.alarm_timeline(
        evidence.alarms, workshop.MONITORS, shift_day=cause.start_day, first_day=workshop.deploy_day(scenario),
        last_day=before.days, shift_label=workshop.SHIFT_LABELS[cause.kind]))
    shown = pd.DataFrame({
        "monitor": table["monitor"].map(workshop.MONITORS),
        "first alarm after the shift": [day_text(d) if d == d else "never" for d in table["first_alarm_day"]],
        "days after the shift": [f"{d:.0f}" if d == d else "—" for d in table["lag_days"]],
        "false alarms before it": table["false_alarms_before"],
        "lag the simulator predicts": [f"{d:.1f} days" if d == d else "never" if m != "contracts" else "—"
                                       for d, m in zip(table["predicted_lag_days"], table["monitor"], strict=True)],
    })
    st.dataframe(shown, hide_index=True, width="stretch")
    st.caption("What each watches: " + "; ".join(f"{workshop.MONITORS[m].lower()}, {w}"
                                                 for m, w in workshop.WATCHES.items())
               + ". They ran day by day beside the deployed model, nobody acting on their alarms "
               f"({source_note(job)}); the predicted lag is the simulator's for the same settings (`mlorg calibrate`).")


def show_replay(after: workshop.Run, before: workshop.Run, scenario: Scenario,
                story: dict[str, workshop.Job]) -> None:
    job = story["after"]
    st.subheader("6 · Replay with monitoring and automated rollback")
    cause = scenario.pipeline.causes[0]
    st.markdown(f"The same months, the same fraudsters, replayed by `{scenario.name}`: {scenario.description}. An "
                "alert starts the incident process: it compares the live model, the previous version and a challenger "
                "retrained on the labels known that day on the latest labelled weeks, and rolls back or promotes only "
                "when another model is clearly better.")
    show_chart(("losses", story["before"].key, job.key), lambda: charts.cumulative_losses(
        {WITHOUT: workshop.weekly_losses(before.weekly, before.days),
         WITH: workshop.weekly_losses(after.weekly, after.days)},
        start_day=workshop.deploy_day(scenario), actions=after.actions, shift_day=cause.start_day,
        shift_label=workshop.SHIFT_LABELS[cause.kind]))
    columns = st.columns(4)
    columns[0].metric("Alerts", len(after.alerts))
    columns[1].metric("Rollbacks", after.rollbacks)
    columns[2].metric("Challengers retrained", after.retrains)
    columns[3].metric("Promotions", after.promotions)
    if len(after.actions):
        st.dataframe(after.actions, hide_index=True, width="stretch",
                     column_config={"reason": st.column_config.TextColumn("reason", width="large")})
    st.caption(f"Reference pipeline run of `{scenario.name}`: {source_note(job)}.")


def show_comparison(before: workshop.Run, after: workshop.Run, scenario: Scenario,
                    story: dict[str, workshop.Job]) -> None:
    st.subheader("7 · Compare")
    cause = scenario.pipeline.causes[0]
    table = derived(("comparison", story["before"].key, story["after"].key),
                    lambda: workshop.comparison(before, after, cause.start_day)).set_index("measure")
    saved = before.fraud_losses_usd - after.fraud_losses_usd
    lag = table.loc["days from the shift to the first alert", "with"]
    change = table.loc["days from the shift to a new model in service", "with"]
    columns = st.columns(3)
    columns[0].metric("Fraud losses saved", usd(saved),
                      delta=f"{-saved / before.fraud_losses_usd:+.0%} losses" if saved and before.fraud_losses_usd
                      else None, delta_color="inverse")
    columns[1].metric("Drift detected after", f"{lag:.0f} days" if lag == lag else "never",
                      help="days from the shift to the first alert, with monitoring; without it nobody was alerted")
    columns[2].metric("New model in service after", f"{change:.0f} days" if change == change else "never",
                      help="days from the shift to the first rollback or promotion")
    shown = table.reset_index()
    shown["without monitoring"] = [format_measure(v, u) for v, u in zip(shown["without"], shown["unit"], strict=True)]
    shown["with monitoring and rollback"] = [format_measure(v, u) for v, u in zip(shown["with"], shown["unit"],
                                                                                     strict=True)]
    st.dataframe(shown[["measure", "without monitoring", "with monitoring and rollback"]], hide_index=True,
                 width="stretch")
    if saved > 0:
        st.success(f"Monitoring with automated rollback saved {usd(saved)} of fraud losses "
                   f"({saved / before.fraud_losses_usd:.0%}).")
    elif after.rollbacks + after.promotions == 0:
        keeps = int((after.actions["action"] == "keep").sum())
        st.warning(f"Detection alone saved nothing here: the monitors raised {len(after.alerts)} alerts and the "
                   f"incident process answered {keeps} of them, but kept version 1 each time. There was no earlier "
                   "version to roll back to, and no retrained challenger beat it by the gate's margin on the few "
                   "frauds labelled so far. Catching drift early pays only with a remedy that is ready.")
    else:
        st.warning(f"Monitoring changed the model {after.rollbacks + after.promotions} times but did not cut losses "
                   f"here ({usd(-saved)} more).")


def format_measure(value: float, unit: str) -> str:
    if value != value:
        return "never"
    if unit == "USD":
        return usd(value)
    if unit == "share":
        return f"{value:.0%}"
    return f"{value:.0f}"


# ------------------------------------------------------------------------------------------------- page

st.title("Fraud-drift workshop")
st.markdown("*Our fraud model scored well offline. Months after it went live, fraud losses are up. Why — and what "
            "would have caught it?* Walk through it on a real fraud pipeline: generated card transactions, features "
            "in DuckDB, a scikit-learn model, a registry, monitors and an incident process.")
with st.expander("Facilitator"):
    seed = int(st.number_input("Seed", min_value=0, max_value=2**32 - 1, value=0, step=1, key="workshop_seed",
                               help="another seed generates other transactions; everyone on the same seed shares "
                               "the same computed results"))
    st.button("Start over", on_click=start_over, key="start_over")
    st.caption(f"Results are kept in `{CACHE_DIR}`. Scale: {os.environ.get(SCALE_VARIABLE, 'full')} "
               f"(set {SCALE_VARIABLE}=small for a quick run).")

pair = scenarios()
if pair is not None:
    before_scenario, after_scenario = pair
    p = before_scenario.pipeline
    st.caption(f"{p.days} days of {p.transactions_per_day:,.0f} card transactions a day (after {p.history_days} days "
               f"of card history), {p.fraud_rate:.1%} of them fraud.")
    if step() == 0:
        st.button("Train the model", type="primary", on_click=go_to, args=("trained",), key="next_trained")
    else:
        story = jobs(before_scenario, after_scenario, seed)
        before = wait(story["before"], "Serving the model day by day")
        if before is not None:
            show_training(before, before_scenario, story["before"])
            next_button("Deploy it", "deployed")
            if step() >= STEPS.index("deployed"):
                show_deployment(before, before_scenario)
                next_button("Let the months pass", "months")
            if step() >= STEPS.index("months"):
                show_months(before, before_scenario, story["before"])
                next_button("Diagnose: what went wrong?", "question")
            if step() >= STEPS.index("question"):
                show_question()
                next_button("Reveal the answer", "answer")
            evidence = None
            if step() >= STEPS.index("answer"):
                evidence = wait(story["evidence"], "Replaying the monitors beside the model")
                if evidence is not None:
                    show_answer(evidence, before, before_scenario, story["evidence"])
                    next_button("Turn on monitoring and automated rollback, and replay", "replay")
            after = None
            if evidence is not None and step() >= STEPS.index("replay"):
                after = wait(story["after"], "Replaying the months with monitoring")
                if after is not None:
                    show_replay(after, before, after_scenario, story)
                    next_button("Compare", "compare")
            if after is not None and step() >= STEPS.index("compare"):
                show_comparison(before, after, after_scenario, story)
                st.button("Start over", on_click=start_over, key="start_over_end")
