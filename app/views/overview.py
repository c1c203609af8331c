"""Overview: what mlorg answers, the five capabilities of ML engineering practice, a start on each scenario."""

from __future__ import annotations

import streamlit as st

from mlorg import planner
from mlorg.scenario import Scenario

QUESTIONS = (
    ("Engineering leaders", "Hire a fifth data scientist or our first ML engineer? Build a platform team now or "
     "later?", "Staffing planner: edit staffing, hiring and platform; compare scenarios side by side."),
    ("Leaders and platform engineers", "What will serving these models cost, and which fleet meets the SLO?",
     "Serving and cost: latency percentiles, the cost/SLO curve and the cheapest configuration."),
    ("ML and platform engineers", "Which drift threshold, window and cadence catch real drift fast without "
     "paging us weekly?", "Monitoring tuner: detection lag against false alarms, with the quickest possible."),
    ("Workshop facilitators", "Our fraud model had 0.94 AUC offline; three months later losses are up. Why, and "
     "what would have caught it?", "Fraud-drift workshop, and the Registry of the reference pipeline's models."),
)
CARD_COLUMNS = 3


def scenario_card(stem: str, scenario: Scenario) -> None:
    with st.container(border=True):
        st.markdown(f"**{scenario.name}**")
        st.caption(scenario.description or "(no description)")
        in_place, build = planner.capability_plan(scenario)
        builds = build if planner.platform_builders(scenario) else []  # a build order nobody works on builds nothing
        st.markdown(f"{planner.org_text(scenario)}; {scenario.horizon_days:g} days. In place at day 0: "
                    f"{capability_list(in_place)}. The platform team builds: {capability_list(builds)}.")
        if st.button("Open in the staffing planner", key=f"start.{stem}", width="stretch"):
            st.session_state[planner.START_KEY] = stem
            st.switch_page("views/staffing_planner.py")


def capability_list(names: list[str]) -> str:
    return ", ".join(planner.CAPABILITY_TEXT[n][0].lower() for n in names) or "none"


st.title("mlorg: plan an ML organisation")
st.markdown(
    "mlorg simulates an ML organisation event by event — its data scientists, ML engineers and platform "
    "engineers, the models moving from *trained* to *live*, the serving load behind them, and the drift and "
    "incidents that hit them — and tells you, with 95% confidence intervals and the same answer for the same "
    "seed, how long trained models take to reach production, how many ship, how many pile up unshipped, where "
    "people's time goes and what it all costs.")
st.markdown("**Time to production** — days from a trained model to live predictions serving real users — is "
            "the headline figure.")

st.subheader("Questions it answers")
for who, question, where in QUESTIONS:
    st.markdown(f"- **{who}**: “{question}” → {where}")

st.subheader("The five capabilities of ML engineering practice")
st.markdown("ML engineering is operating trained models reliably in production. It rests on five capabilities; "
            "without all five an organisation is “shipping notebooks to a server and hoping”. In a scenario each "
            "one is in place from day 0, built by the platform team, or missing, and each changes how much work a "
            "model takes to ship and to keep alive.")
for number, (label, text) in enumerate(planner.CAPABILITY_TEXT.values(), start=1):
    st.markdown(f"{number}. **{label}** — {text}.")

st.subheader("Start from a scenario")
st.caption("Each button opens the scenario in the staffing planner and runs it, ready to edit and compare.")
folder = planner.scenario_folder()
scenarios, problems = planner.load_folder(folder)
if problems:
    st.error("Some scenario files could not be loaded:\n" + "\n".join(f"- {m}" for m in problems))
if not scenarios:
    st.error(f"No valid scenario files (*.toml) in {folder}.")
items = list(scenarios.items())
for row in range(0, len(items), CARD_COLUMNS):
    for column, (stem, scenario) in zip(st.columns(CARD_COLUMNS), items[row:row + CARD_COLUMNS], strict=False):
        with column:
            scenario_card(stem, scenario)
