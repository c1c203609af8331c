"""The Compare tab's decision under input uncertainty: the compared scenarios' uncertain inputs drawn together, each
option's expected net value and how often it is the best, the option to choose now, and what learning the inputs
before choosing would be worth (EVPI, and EVPPI input by input: ``mlorg decide``)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mlorg import formatting, inputs, uncertainty
from mlorg.results import Replications
from mlorg.scenario import field_label
from views.planner.state import ERRORS, show_error
from views.planner.sweep_common import SWEEP_BACKEND, run_with_progress
from views.shared import forms

DECISION = "planner.decision"  # {"request", "decision"} of the last decision under input uncertainty
DEFAULT_DRAWS = 30
METRIC = "net_value_usd"


def decision_section(results: dict[str, Replications]) -> None:
    scenarios = [r.scenario for r in results.values()]
    uncertain = {u.path: u for s in scenarios for u in s.uncertain}
    if not uncertain:
        return
    first = next(iter(results.values()))
    st.markdown("**Deciding under input uncertainty**")
    st.caption("The differences above are at each scenario's values. These scenarios mark inputs as uncertain ("
               + "; ".join(f"{field_label(p)}: {u.describe()}" for p, u in uncertain.items())
               + "): draw them (an input the scenarios share draws the same values in each), and see which option "
               "has the highest expected net value, how often each is the best, and how much removing the "
               "uncertainty before deciding would be worth.")
    draws = forms.number("input_draws", key="decision.draws", value=DEFAULT_DRAWS, container=st.columns(3)[0])
    request = {"scenarios": [hash(s) for s in scenarios], "replications": first.n, "seed": first.seed,
               "draws": draws}
    if st.button("Weigh the options under input uncertainty", key="decision.run"):
        st.session_state.pop(DECISION, None)
        if not forms.refuse(inputs.problems({"input_draws": draws})):
            try:
                decision = run_with_progress("decision", "Decision", lambda progress: uncertainty.decide(
                    scenarios, int(draws), first.n, first.seed, metric=METRIC, backend=SWEEP_BACKEND,
                    progress=progress))
                st.session_state[DECISION] = {"request": request, "decision": decision}
            except ERRORS as exc:
                show_error(exc)
    result = st.session_state.get(DECISION)
    if result is None or result["request"] != request:
        return
    show_decision(result["decision"])


def show_decision(decision: uncertainty.Decision) -> None:
    table = decision.table
    st.dataframe(pd.DataFrame({
        "option": table["option"], "expected net value": [formatting.usd(v, compact=True) for v in table["expected"]],
        "2.5% to 97.5% over the draws": [f"{formatting.usd(lo, compact=True)} to {formatting.usd(hi, compact=True)}"
                                         for lo, hi in zip(table["low"], table["high"], strict=True)],
        "best in": [formatting.share(v, 0) for v in table["best_share"]]}),
        hide_index=True, width="stretch", key="decision.table")
    st.success(f"Choose now: **{decision.chosen}**, the highest expected net value over "
               f"{len(decision.values)} draws. Expected value of perfect information: "
               f"**{formatting.value(decision.evpi, 'usd')}** — the most that learning every uncertain input "
               "before choosing could be worth, on average (0 when one option is the best in every draw).")
    evppi = decision.evppi()
    if len(evppi):
        st.dataframe(pd.DataFrame({"input": [field_label(p) for p in evppi.index],
                                   "worth of learning it alone (EVPPI)": [formatting.value(v, "usd")
                                                                          for v in evppi]}),
                     hide_index=True, width="stretch", key="decision.evppi")
    st.caption("Expected values average over the draws: they differ from the figures above, at each scenario's own "
               "values, when those values sit off the middle of their ranges. EVPI and EVPPI are slight "
               "overestimates: the simulator's noise in each draw's mean lifts a maximum (more replications lower "
               "it). EVPPI by regression on the draws (Strong, Oakley & Brennan 2014).")
