"""The Serving and cost page's last section: a shipped scenario's whole infrastructure bill, line by line, from its
simulated organisation — and how much of its serving bill is the availability floor rather than the load."""

from __future__ import annotations

import streamlit as st

from mlorg import planner
from views.planner.state import ERRORS, rough_intervals, shipped_scenarios, show_error, simulate

BILL = "bill.result"  # {"scenario": name, "replications": Replications}


def show_scenario_bill() -> None:
    st.subheader("A scenario's bill, line by line")
    st.caption("The simulated organisation's serving fleets, each sized every hour for its own load and SLO, and the "
               "rest of the bill: training, feature computation, storage and monitoring compute. Prices: "
               "data/instances.csv and data/prices.csv, each with its source and date; the quantities a scenario "
               "does not set are assumptions, listed on the Staffing planner.")
    folder = planner.scenario_folder()
    scenarios, _bad = shipped_scenarios(str(folder), planner.folder_stamp(folder))
    priced = {key: s for key, s in scenarios.items() if s.serving.enabled or s.infra.enabled}
    if not priced:
        st.info("No scenario in the folder prices serving or infrastructure.")
        return
    left, middle, right = st.columns([2, 1, 1])
    key = left.selectbox("Scenario", list(priced), format_func=lambda k: priced[k].name, key="bill.scenario")
    replications = middle.slider("Replications", min_value=2, max_value=20, value=5, key="bill.replications")
    right.write("")
    if right.button("Price it", key="bill.run", type="primary"):
        st.session_state.pop(BILL, None)  # from here on, the bill shown is this one or none
        try:
            result = simulate(priced[key], int(replications), 0, "Pricing: ")
        except ERRORS as exc:
            show_error(exc)
            return
        st.session_state[BILL] = {"scenario": key, "replications": result}
    shown = st.session_state.get(BILL)
    if shown is None:
        return
    if shown["scenario"] != key:
        st.info(f"The bill below is {priced[shown['scenario']].name}'s; press Price it for {priced[key].name}.")
    result = shown["replications"]
    rough_intervals(result.n)
    summary = result.summary
    st.table(planner.bill_frame(summary).set_index("line"))  # six short rows: a plain table, readable as text
    floor = planner.floor_text(summary)
    if floor:
        st.markdown(floor)
