"""The Sensitivity tab's second analysis: draw the inputs the scenario marks uncertain, and rank them by the share
of the metric's variance each explains (first-order variance shares, by regression on the draws)."""

from __future__ import annotations

import streamlit as st

from mlorg import charts, formatting, inputs, metric_table, planner, uncertainty
from mlorg.scenario import Scenario, field_label
from views.planner.state import ERRORS, show_error
from views.planner.sweep_common import SWEEP_BACKEND, run_with_progress, show_if_current
from views.shared import forms

SHARES = "planner.variance_shares"  # the last uncertainty analysis: {"table", "label", "mean", "sd", "request"}
DEFAULT_DRAWS = 50


def uncertainty_form(label: str, scenario: Scenario, metric: str, replications: int, seed: int) -> dict | None:
    """The form, and the current result (None when there is none for these settings)."""
    st.markdown("**Input uncertainty**")
    if not scenario.uncertain:
        st.info("This scenario marks no input as uncertain, so there is no variance to share out. In its file, write "
                "an input you are unsure of as `x = { value = 4, uncertain = { dist = \"uniform\", low = 3, "
                "high = 6 } }` (a distribution's mean as `uncertain_mean = { … }`).")
        return None
    st.caption("Draws the inputs the scenario marks uncertain, each from its own distribution, runs every draw "
               f"{replications} times (the replications above) and ranks the inputs by the share of the variance of "
               "the metric over the draws each explains alone. Uncertain here: "
               + "; ".join(f"{field_label(u.path)} ({u.describe()})" for u in scenario.uncertain) + ".")
    draws = forms.number("input_draws", key="shares.draws", value=DEFAULT_DRAWS, container=st.columns(3)[0])
    request = {"scenario": label, "metric": metric, "replications": replications, "seed": seed, "draws": draws,
               "inputs": [u.path for u in scenario.uncertain]}
    if st.button("Run uncertainty analysis", key="shares.run"):
        st.session_state.pop(SHARES, None)
        if not forms.refuse(inputs.problems({"input_draws": draws, "seed": seed})):
            try:
                runs = run_with_progress("shares", "Uncertainty", lambda progress: uncertainty.run_uncertain(
                    scenario, int(draws), replications, seed, backend=SWEEP_BACKEND, progress=progress))
                means = runs.draw_means(metric)
                st.session_state[SHARES] = {"table": uncertainty.shares_of(runs, metric), "label": label,
                                            "metric": metric, "mean": float(means.mean()),
                                            "sd": float(means.std(ddof=1)), "request": request}
            except ERRORS as exc:
                show_error(exc)
    result = st.session_state.get(SHARES)
    return result if show_if_current(result, request) else None


def show_shares(result: dict, box=st) -> None:
    table, metric = result["table"], result["metric"]
    label = metric_table.label(metric)
    kind = metric_table.kind(metric)
    box.subheader(f"Input uncertainty in {label}: {result['label']}")
    box.caption(f"Over {table.attrs['draws']} draws: mean {formatting.value(result['mean'], kind)}, standard "
                f"deviation {formatting.value(result['sd'], kind)} between draws. {uncertainty.explained_text(table)} "
                f"Method: {table.attrs['method']}.")
    if table["share"].notna().any():
        shown = table.assign(label=table["input"].map(field_label))
        box.altair_chart(charts.variance_share_chart(shown, metric_label=label), width="stretch")
    else:
        box.info(f"{label} did not vary over the draws, so no input has a share of its variance.")
    box.dataframe(table.assign(label=table["input"].map(field_label)), hide_index=True, width="stretch",
                  key="shares.table", column_order=["label", "share", "share_low", "share_high", "direction", "input"],
                  column_config={"label": "input", "input": "field",
                                 "share": st.column_config.NumberColumn("share", format="percent"),
                                 "share_low": st.column_config.NumberColumn("95% low", format="percent"),
                                 "share_high": st.column_config.NumberColumn("95% high", format="percent"),
                                 "direction": st.column_config.NumberColumn(
                                     "direction", help="+1: the metric rises with the input; −1: it falls")})
    box.download_button("Download the variance shares (CSV)", table.to_csv(index=False),
                        file_name=f"{planner.file_stem(result['label'])}_variance_shares_{metric}.csv",
                        mime="text/csv", on_click="ignore", key="shares.download_csv")
