"""Staffing planner: edit a scenario's people, hiring, skills and platform; replicate it; compare; save runs;
sweep inputs over a grid, rank them by sensitivity, find the cheapest organisation that meets a target, and start
from a deploy history fitted by `mlorg fit`.

Each tab is drawn by one module of ``views/planner/`` (``TABS``), so that a new view is one more entry.
"""

from __future__ import annotations

import streamlit as st

from mlorg import planner
from views.planner.compare_tab import compare_tab
from views.planner.goal_tab import goal_tab
from views.planner.history_tab import history_tab
from views.planner.run_tab import run_tab
from views.planner.saved_tab import saved_tab
from views.planner.sensitivity_tab import sensitivity_tab
from views.planner.state import AUTO_RUN, OPENED, TAB, Sources, choose, shipped_scenarios
from views.planner.sweep_tab import sweep_tab

TABS = {"Run": run_tab, "Compare": compare_tab, "Saved runs": saved_tab, "Sweep": sweep_tab,
        "Sensitivity": sensitivity_tab, "Goal seek": goal_tab, "Start from my history": history_tab}

st.title("Staffing planner")
folder = planner.scenario_folder()
shipped, problems = shipped_scenarios(str(folder), planner.folder_stamp(folder))
if problems:
    st.error("Some scenario files could not be loaded:\n" + "\n".join(f"- {m}" for m in problems))
if not shipped:
    st.error(f"No valid scenario files (*.toml) in {folder}.")
    st.stop()
sources = Sources(shipped=shipped, opened=st.session_state.get(OPENED, {}))
start = st.session_state.pop(planner.START_KEY, None)
if start in shipped:
    choose(start, shipped[start], seed=0)
    st.session_state[AUTO_RUN] = True
    st.session_state[TAB] = "Run"

for tab, draw in zip(st.tabs(list(TABS), key=TAB, on_change="rerun"), TABS.values(), strict=True):
    with tab:
        draw(sources)
