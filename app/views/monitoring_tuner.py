"""Monitoring tuner: how fast a drift detector notices a drift and how often it cries wolf (``views/tuner/
characteristics_tab.py``), and drift statistics and tuned thresholds on the user's own feature files
(``views/tuner/files_tab.py``)."""

from __future__ import annotations

import streamlit as st

from views.tuner.characteristics_tab import characteristics_tab
from views.tuner.files_tab import files_tab

TAB = "monitor.tab"

st.title("Monitoring tuner")
characteristics, own_files = st.tabs(["A detector's lag and false alarms", "Your feature files"], key=TAB,
                                     on_change="rerun")
if characteristics.open:
    with characteristics:
        characteristics_tab()
if own_files.open:
    with own_files:
        files_tab()
