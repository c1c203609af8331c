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
from pathlib import Path

import streamlit as st

from mlorg import inputs, workshop
from mlorg.pipeline import scale
from mlorg.scenario import Scenario, ScenarioError, load
from views.shared import forms
from views.workshop.steps import (
    show_answer,
    show_comparison,
    show_deployment,
    show_months,
    show_question,
    show_replay,
    show_training,
)
from views.workshop.story import STEPS, go_to, load_charts_early, next_button, start_over, step

ROOT = Path(__file__).resolve().parents[2]
BEFORE_FILE = ROOT / "scenarios" / "fraud_drift.toml"  # the risk team as it is: no monitoring
AFTER_FILE = ROOT / "scenarios" / "fraud_drift_full.toml"  # every monitor, a registry and automated rollback
CACHE_DIR = Path(os.environ.get("MLORG_WORKSHOP_CACHE", ROOT / "data" / "workshop"))
SCALE_VARIABLE = "MLORG_WORKSHOP_SCALE"


@st.cache_resource(show_spinner=False, max_entries=8)
def load_scenarios(size: str, stamps: tuple) -> tuple[Scenario, Scenario]:
    # ``stamps`` (the files' modification times) is only part of the key: an edited file is read again.
    return scale.at_scale(load(BEFORE_FILE), size), scale.at_scale(load(AFTER_FILE), size)


@st.cache_resource
def shared_workshop(cache_dir: str) -> workshop.Workshop:
    """One Workshop per server: its jobs and worker are shared by every session."""
    return workshop.Workshop(cache_dir)


def scenarios() -> tuple[Scenario, Scenario] | None:
    size = os.environ.get(SCALE_VARIABLE, "full")
    if size not in scale.SCALES:
        st.error(f"{SCALE_VARIABLE}: {size!r} is not allowed; must be one of {', '.join(scale.SCALES)}")
        return None
    try:
        return load_scenarios(size, tuple(path.stat().st_mtime for path in (BEFORE_FILE, AFTER_FILE)))
    except (OSError, ScenarioError, ValueError) as exc:
        st.error(str(exc))
        return None


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


# ------------------------------------------------------------------------------------------------- page

st.title("Fraud-drift workshop")
st.markdown("*Our fraud model scored well offline. Months after it went live, fraud losses are up. Why — and what "
            "would have caught it?* Walk through it on a real fraud pipeline: generated card transactions, features "
            "in DuckDB, a scikit-learn model, a registry, monitors and an incident process.")
with st.expander("Facilitator"):
    seed = forms.number("pipeline_seed", key="workshop_seed", value=0,
                        help_text="another seed generates other transactions; everyone on the same seed shares the "
                                  "same computed results")
    st.button("Start over", on_click=start_over, key="start_over")
    st.caption(f"Results are kept in `{CACHE_DIR}`. Scale: {os.environ.get(SCALE_VARIABLE, 'full')} "
               f"(set {SCALE_VARIABLE}=small for a quick run).")

pair = None if forms.refuse(inputs.problems({"pipeline_seed": seed})) else scenarios()
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
                load_charts_early()
                next_button("Let the months pass", "months")
            if step() >= STEPS.index("months"):
                show_months(before, before_scenario, story["before"])
                next_button("Diagnose: what went wrong?", "question")
            if step() >= STEPS.index("question"):
                show_question(before.offline_auc)
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
