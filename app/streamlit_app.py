"""mlorg app entry point: routing only. Start with ``uv run streamlit run app/streamlit_app.py``."""

import streamlit as st

st.set_page_config(page_title="mlorg", page_icon=":material/hub:", layout="wide")

st.navigation({
    "mlorg": [
        st.Page("views/overview.py", title="Overview", icon=":material/home:", default=True),
    ],
    "Leaders": [
        st.Page("views/staffing_planner.py", title="Staffing planner", icon=":material/groups:"),
        st.Page("views/serving_cost.py", title="Serving and cost", icon=":material/speed:"),
    ],
    "Engineers": [
        st.Page("views/monitoring_tuner.py", title="Monitoring tuner", icon=":material/tune:"),
        st.Page("views/registry.py", title="Registry", icon=":material/inventory_2:"),
    ],
    "Workshop": [
        st.Page("views/fraud_workshop.py", title="Fraud-drift workshop", icon=":material/school:"),
    ],
}).run()
