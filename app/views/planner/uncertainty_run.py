"""The Run tab's figures with input uncertainty: the inputs the scenario marks uncertain drawn N times, each draw run
with the run's replications, and each headline figure's interval over runs beside its interval with the inputs'
uncertainty (``mlorg run --uncertainty``)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mlorg import formatting, inputs, metric_table, planner, uncertainty
from mlorg.results import Replications
from mlorg.scenario import field_label
from views.planner.state import ERRORS, show_error
from views.planner.sweep_common import SWEEP_BACKEND, run_with_progress
from views.shared import forms

UNCERTAIN_RUN = "planner.uncertain_run"  # {"request", "summary", "draws"} of the last run with input uncertainty
DEFAULT_DRAWS = 30
ROW_PX = 35  # a table row's height in Streamlit's data grid


def uncertainty_section(replications: Replications) -> None:
    scenario = replications.scenario
    if not scenario.uncertain:
        return
    st.markdown("**With input uncertainty**")
    st.caption("The intervals above cover only the simulator's randomness at the scenario's values. The scenario "
               f"marks {len(scenario.uncertain)} inputs as uncertain (" + "; ".join(
                   f"{field_label(u.path)}: {u.describe()}" for u in scenario.uncertain)
               + "): draw them, run each draw with the same replications, and see how far the figures could "
               "move once those guesses are counted.")
    draws = forms.number("input_draws", key="uncertain_run.draws", value=DEFAULT_DRAWS, container=st.columns(3)[0])
    request = {"scenario": hash(scenario), "replications": replications.n, "seed": replications.seed,
               "draws": draws}
    if st.button("Run with input uncertainty", key="uncertain_run.run"):
        st.session_state.pop(UNCERTAIN_RUN, None)
        if not forms.refuse(inputs.problems({"input_draws": draws})):
            try:
                runs = run_with_progress("uncertain_run", "Input uncertainty", lambda progress: (
                    uncertainty.run_uncertain(scenario, int(draws), replications.n, replications.seed,
                                              backend=SWEEP_BACKEND, progress=progress)))
                st.session_state[UNCERTAIN_RUN] = {"request": request, "summary": runs.summary, "draws": int(draws)}
            except ERRORS as exc:
                show_error(exc)
    result = st.session_state.get(UNCERTAIN_RUN)
    if result is None or result["request"] != request:
        return  # another run's or other draws' figures are not these
    table = uncertain_table(result["summary"])
    st.dataframe(table, hide_index=True, width="stretch", key="uncertain_run.table",
                 height=ROW_PX * (len(table) + 1) + 3)  # every row in view, no inner scroll
    st.caption(f"{result['draws']} draws × {replications.n} replications. 95% with inputs: where the expected figure "
               "lies once the uncertain inputs are drawn too (each draw's interval over its runs, mixed over the "
               "draws). The mean over the draws differs from the mean at the scenario's values when those values sit "
               "off the middle of their ranges, or when a figure bends with an input.")


def uncertain_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The headline metrics with both intervals, formatted by their kind."""
    shown = [m for m in (*planner.HEADLINES, "serving_cost_usd", "infra_cost_usd", "business_loss_usd")
             if m in summary.index and summary.loc[m, "n"] > 0]
    rows = []
    for name in shown:
        row, kind = summary.loc[name], metric_table.kind(name)
        rows.append({"metric": metric_table.label(name),
                     "at the scenario's values": formatting.value(row["mean"], kind, compact=True),
                     "95% CI over runs": _interval(row["ci95_low"], row["ci95_high"], kind),
                     "mean over draws": formatting.value(row["mean_with_inputs"], kind, compact=True),
                     "95% with inputs": _interval(row["low_with_inputs"], row["high_with_inputs"], kind)})
    return pd.DataFrame(rows)


def _interval(low: float, high: float, kind: str) -> str:
    return f"{formatting.value(low, kind, compact=True)} to {formatting.value(high, kind, compact=True)}"
