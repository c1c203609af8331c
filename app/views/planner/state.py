"""What the planner's tabs share in a session: the scenarios on offer, the one chosen on the Run tab, cached runs,
and how a refused input is shown."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from mlorg import budget, planner, results
from mlorg.results import Replications
from mlorg.scenario import Scenario
from mlorg.store import StoreError

RESULT = "planner.result"  # the last run: {"replications", "source", "saved"}
COMPARISON = "planner.comparison"  # the last comparison: {label: Replications}
OPENED = "planner.opened"  # scenarios of saved runs opened in this session, by their label
VARIANTS = "planner.variants"  # edited scenarios run in this session, by name, offered for comparison
AUTO_RUN = "planner.auto_run"  # run the selected scenario once without waiting for the Run button
NOTICE = "planner.notice"  # a message for the Run tab after opening a saved run
TAB = "planner.tab"
CHOSEN = "scenario"  # the Run tab's choice: a shipped file's stem, or the label of a saved run opened
ERRORS = (ValueError, StoreError)  # ScenarioError is a ValueError
MAX_VARIANTS = 8


@dataclass(frozen=True)
class Sources:
    """The scenarios the Run tab offers: shipped files by stem, and saved runs opened in this session."""

    shipped: dict[str, Scenario]
    opened: dict[str, Scenario]

    @property
    def all(self) -> dict[str, Scenario]:
        return {**self.shipped, **self.opened}

    def label(self, key: str) -> str:
        return self.shipped[key].name if key in self.shipped else key


def rough_intervals(replications: int) -> None:
    """Say so when the intervals shown rest on fewer than FEW_REPLICATIONS runs."""
    if replications < results.FEW_REPLICATIONS:
        st.warning(f"Intervals from {replications} replications are rough (the spread itself is poorly known below "
                   f"{results.FEW_REPLICATIONS}); run more before deciding on them.")


def show_error(exc: Exception) -> None:
    messages = getattr(exc, "messages", None) or [str(exc)]
    st.error(messages[0] if len(messages) == 1 else "\n".join(f"- {m}" for m in messages))


@st.cache_data(show_spinner=False, max_entries=32)
def simulate(scenario: Scenario, replications: int, seed: int, _what: str = "") -> Replications:
    """The replications, without their event logs (the page never shows them; dropping them keeps large scenarios
    small in the cache). A heavy job (:data:`mlorg.budget.HEAVY_SECONDS`) runs on a process pool of every core,
    so the server's own thread stays free for the other sessions; a job over the budget is refused either way."""
    cost = budget.check(scenario, replications)
    workers = (os.cpu_count() or 1) if cost.heavy and replications > 1 else 1
    where = f" on {workers} processes" if workers > 1 else ""
    # The bar is created in here so that Streamlit can replay it on a cache hit.
    bar = st.progress(0.0, text=f"{_what}Running {replications} replications{where}…")
    try:
        return results.replicate(scenario, replications, seed, workers=workers, keep_events=False,
                                 progress=lambda done, total: bar.progress(
                                     done / total, text=f"{_what}Replication {done} of {total}{where}"))
    finally:
        bar.empty()


@st.cache_data(show_spinner=False, max_entries=4)
def shipped_scenarios(folder: str, stamp: tuple) -> tuple[dict[str, Scenario], list[str]]:
    # ``stamp`` (file names and modification times) is only part of the key: an edited file is read again.
    return planner.load_folder(Path(folder))


def choose(source: str, scenario: Scenario, *, replications: int | None = None, seed: int | None = None) -> None:
    """Select a scenario in the Run tab (before its widgets are drawn, or from a callback)."""
    st.session_state[CHOSEN] = source
    st.session_state["replications"] = replications or planner.default_replications(scenario)
    if seed is not None:
        st.session_state["seed"] = seed


def remember_variant(scenario: Scenario) -> None:
    """Offer an edited scenario (named for what changed) in the Compare tab."""
    variants: dict[str, Scenario] = st.session_state.setdefault(VARIANTS, {})
    variants[scenario.name] = scenario
    while len(variants) > MAX_VARIANTS:
        variants.pop(next(iter(variants)))


def candidate_scenarios(sources: Sources) -> dict[str, Scenario]:
    """Shipped scenarios by name, saved runs opened in this session, and the edited scenarios run on the Run tab."""
    candidates = {sources.label(key): s for key, s in sources.all.items()}
    candidates.update(st.session_state.get(VARIANTS, {}))
    return candidates


def tab_scenario(sources: Sources) -> tuple[str, Scenario]:
    """The scenario the Sweep, Sensitivity and Goal seek tabs work on: the one chosen on the Run tab, as last run
    there (with its edits) when the last run was of it."""
    key = st.session_state.get(CHOSEN)
    if key not in sources.all:
        key = next(iter(sources.all))
    shown = st.session_state.get(RESULT)
    if shown is not None and shown["source"] == key:
        scenario = shown["replications"].scenario
        return scenario.name, scenario
    return sources.label(key), sources.all[key]


def scenario_caption(label: str) -> None:
    st.caption(f"Scenario: **{label}**, as chosen (and edited) on the Run tab; change it there.")
