"""mlorg app entry point: routing only. Start with ``uv run streamlit run app/streamlit_app.py``."""

import streamlit as st

st.set_page_config(page_title="mlorg", page_icon=":material/hub:", layout="wide")

st.navigation([
    st.Page("pages/run_scenario.py", title="Run a scenario", icon=":material/play_arrow:", default=True),
]).run()
