"""The workshop's steps, each drawing one part of the story from the pipeline's results.

The steps that draw a chart import :mod:`mlorg.charts` (Altair) when they first draw: on a freshly started
server every session waits for the modules its first page imports, and the first answer has no chart.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mlorg import formatting, workshop
from mlorg.pipeline import scale
from mlorg.scenario import Scenario
from views.workshop.story import (
    CEILING,
    STEPS,
    WITH,
    WITHOUT,
    day_text,
    derived,
    show_chart,
    source_note,
    step,
    usd,
)


def show_training(run: workshop.Run, scenario: Scenario, job: workshop.Job) -> None:
    p = scenario.pipeline
    st.subheader("1 · Train")
    columns = st.columns(4)
    columns[0].metric("Offline AUC (holdout)", f"{run.offline_auc:.3f}")
    columns[1].metric("Transactions generated", f"{run.transactions:,}")
    columns[2].metric("Fraud rate", f"{run.fraud_rate:.2%}")
    columns[3].metric("Alert threshold", f"top {p.alert_share:.0%}", help="share of the holdout's scores above it")
    st.markdown(f"A gradient-boosted model learns fraud from card, merchant and device features computed in DuckDB "
                f"from past transactions only. It trains on days 0–{p.train_days - 1} with the chargebacks known by "
                f"day {scale.deploy_day(scenario)}, and on the next {p.holdout_days} days, which it never saw, it "
                f"ranks a random fraud above a random legitimate transaction with probability **{run.offline_auc:.3f}**"
                f" (the AUC). It will alert on the top {p.alert_share:.0%} of scores, a threshold set on those days.")
    st.caption(f"Reference pipeline run of `{scenario.name}`: {source_note(job)}.")


def show_deployment(run: workshop.Run, scenario: Scenario) -> None:
    st.subheader("2 · Deploy")
    first = run.weekly.iloc[0]
    columns = st.columns(4)
    columns[0].metric("First week: fraud caught", f"{first['recall']:.0%}")
    columns[1].metric("First week: alert rate", f"{first['alert_rate']:.2%}")
    columns[2].metric("Scoring p99", f"{run.scorer_p99_ms:.1f} ms", help=f"p50 {run.scorer_p50_ms:.1f} ms: one "
                      "transaction scored by the real-time scorer (online features and the model)")
    columns[3].metric("Latency objective", f"{scenario.pipeline.score_slo_ms:g} ms")
    capabilities = scenario.platform.capabilities
    missing = [name.replace("_", " ") for name in ("model_registry", "monitoring", "incident_process")
               if not getattr(capabilities, name).built]
    watching = [name for name in ("features", "predictions", "performance")
                if getattr(scenario.monitoring, name).enabled]
    st.markdown(f"On {day_text(scale.deploy_day(scenario))} version 1 goes live and scores every card "
                "transaction in real time. "
                + (f"The team has no {', no '.join(missing)} yet. " if missing else "")
                + ("No monitor is watching the model: the business will find out when the losses do."
                   if not watching else f"Monitors watching: {', '.join(watching)}."))


def show_months(run: workshop.Run, scenario: Scenario, job: workshop.Job) -> None:
    from mlorg import charts

    st.subheader("3 · Months pass")
    revealed = step() >= STEPS.index("answer")  # the day of the cause is drawn only once the answer is out
    weekly = derived(("weekly", job.key), lambda: workshop.weekly_losses(run.weekly, run.days))
    weeks = st.slider("Weeks live", min_value=1, max_value=len(weekly), value=len(weekly), key="workshop_weeks",
                      help="drag to watch the months go by")
    shown = weekly.iloc[:weeks]
    cause = scenario.pipeline.causes[0]
    show_chart(("weekly", job.key, weeks, revealed), lambda: charts.workshop_weekly(
        shown, shift_day=cause.start_day if revealed else None, shift_label=workshop.SHIFT_LABELS[cause.kind]))
    if weeks < 2:
        st.caption("Let more weeks pass to see a trend.")
        return
    trend = derived(("trend", job.key, weeks), lambda: workshop.trend(
        run.weekly.iloc[:weeks], int(shown["start_day"].iloc[-1] + shown["days"].iloc[-1])))
    n = "week" if trend["weeks"] == 1 else f"{trend['weeks']} weeks"
    columns = st.columns(2)
    columns[0].metric(f"Fraud losses per day, last {n}", usd(trend["last_losses_per_day"]),
                      delta=f"{trend['last_losses_per_day'] / trend['first_losses_per_day'] - 1:+.0%} on the first "
                      f"{n}" if trend["first_losses_per_day"] else None, delta_color="inverse")
    columns[1].metric(f"Fraud caught, last {n}", f"{trend['last_recall']:.0%}",
                      delta=f"{(trend['last_recall'] - trend['first_recall']) * 100:+.0f} points on the first {n}")
    months = (shown["days"].sum()) / 30.4
    st.markdown(f"After **{months:.1f} months** live the model catches **{trend['last_recall']:.0%}** of fraud, "
                f"against {trend['first_recall']:.0%} in its first {n}, and fraud losses run at "
                f"**{usd(trend['last_losses_per_day'])} a day** against {usd(trend['first_losses_per_day'])}.")


def show_question(offline_auc: float) -> None:
    st.subheader("4 · What went wrong?")
    choices = workshop.choices(offline_auc)
    st.radio("What went wrong?", options=list(choices), format_func=choices.get, index=None,
             key="workshop_guess", label_visibility="collapsed", disabled=step() >= STEPS.index("answer"))


def show_answer(evidence: workshop.Evidence, before: workshop.Run, scenario: Scenario, job: workshop.Job) -> None:
    from mlorg import charts

    st.subheader("5 · The answer, and the evidence")
    cause = scenario.pipeline.causes[0]
    truth = workshop.CAUSES[cause.kind]
    others = {c.kind: c for c in scenario.pipeline.causes[1:] if c.kind != cause.kind}
    also = "".join(f" Before it: **{workshop.CAUSES[c.kind]}**, on {day_text(c.start_day)}." for c in others.values())
    guess = st.session_state.get("workshop_guess")
    if guess is None:
        st.info(f"It was: **{truth}**, from {day_text(cause.start_day)}.{also}")
    elif guess == cause.kind or guess in others:
        st.success(f"Right: **{truth}**, from {day_text(cause.start_day)}.{also}")
    else:
        st.warning(f"Not this time. It was: **{truth}**, from {day_text(cause.start_day)}.{also}")
    table = derived(("first_alarms", job.key), lambda: workshop.first_alarms(evidence, cause.kind, cause.start_day))
    fired = table.dropna(subset=["lag_days"]).sort_values("lag_days")
    if len(fired):
        first = fired.iloc[0]
        silent = [workshop.MONITORS[m].lower() for m in table.loc[table["lag_days"].isna(), "monitor"]]
        st.markdown(f"Had the model been watched, **{workshop.MONITORS[first['monitor']].lower()}** "
                    f"({workshop.WATCHES[first['monitor']]}) would have fired first, on "
                    f"{day_text(first['first_alarm_day'])}: **{formatting.days(first['lag_days'])}** after the "
                    "shift. "
                    + (f"Never fired: {' and '.join(silent)}." if silent else ""))
    else:
        st.markdown("No monitor would have fired before the end of the run.")
    if cause.kind == "fraud_pattern_shift" and table.set_index("monitor").loc["features", "alarms_after"] == 0:
        st.caption(f"Fraud is {before.fraud_rate:.1%} of transactions: when fraudsters change pattern the features of "
                   "all traffic barely move, but the share of transactions the model alerts on and its recall do.")
    show_chart(("alarms", job.key), lambda: charts.alarm_timeline(
        evidence.alarms, workshop.MONITORS, shift_day=cause.start_day, first_day=scale.deploy_day(scenario),
        last_day=before.days, shift_label=workshop.SHIFT_LABELS[cause.kind]))
    shown = pd.DataFrame({
        "monitor": table["monitor"].map(workshop.MONITORS),
        "first alarm after the shift": [day_text(d) if d == d else "never" for d in table["first_alarm_day"]],
        "days after the shift": [f"{d:.0f}" if d == d else "—" for d in table["lag_days"]],
        "false alarms before it": table["false_alarms_before"],
        "lag the simulator predicts": [_days_or_never(d) if m != "contracts" else "—"
                                       for d, m in zip(table["predicted_lag_days"], table["monitor"], strict=True)],
    })
    st.dataframe(shown, hide_index=True, width="stretch")
    st.caption("What each watches: " + "; ".join(f"{workshop.MONITORS[m].lower()}, {w}"
                                                 for m, w in workshop.WATCHES.items())
               + ". They ran day by day beside the deployed model, nobody acting on their alarms "
               f"({source_note(job)}); the predicted lag is the simulator's for the same settings (`mlorg calibrate`).")


def show_replay(after: workshop.Run, before: workshop.Run, scenario: Scenario,
                story: dict[str, workshop.Job]) -> None:
    from mlorg import charts

    job = story["after"]
    p = scenario.pipeline
    st.subheader("6 · Replay with monitoring and automated rollback")
    cause = p.causes[0]
    st.markdown(f"The same months, the same fraudsters, replayed by `{scenario.name}`: {scenario.description}. "
                f"Investigators review the alerts and label them within {formatting.days(p.review_delay_days)}; "
                "other frauds come to light as chargebacks weeks later. After every deployment the previous version "
                f"keeps scoring in shadow for {p.probation_days} days and the new one is rolled back if the previous "
                "one's alerts held more fraud. An alert starts the incident process: the threshold drops so that "
                f"{p.interim_alert_share:.0%} of transactions are flagged, and a challenger retrained on the "
                "investigators' labels and the chargebacks up to yesterday scores in shadow for "
                f"{p.shadow_days} days, its alerts reviewed too; it is promoted when its alerts held more fraud "
                "dollars than the champion's by more than the noise.")
    ceiling = after.weekly.assign(losses_usd=after.weekly["losses_ceiling_usd"])
    show_chart(("losses", story["before"].key, job.key), lambda: charts.cumulative_losses(
        {WITHOUT: workshop.weekly_losses(before.weekly, before.days),
         CEILING: workshop.weekly_losses(ceiling, after.days),
         WITH: workshop.weekly_losses(after.weekly, after.days)},
        start_day=scale.deploy_day(scenario), actions=after.actions[~after.actions["action"].isin(["shadow", "keep"])],
        shift_day=cause.start_day, shift_label=workshop.SHIFT_LABELS[cause.kind]))
    columns = st.columns(4)
    columns[0].metric("Alerts", len(after.alerts))
    columns[1].metric("Rollbacks", after.rollbacks)
    columns[2].metric("Models retrained", after.retrains, help="routine retrains and the incident process's "
                      "challengers")
    columns[3].metric("Promotions", after.promotions)
    st.markdown("**The investigators' queue.** Each week's reviewed alerts against what the team can review; the "
                "interim threshold and a challenger in shadow fill the spare capacity.")
    show_chart(("queue", job.key), lambda: charts.review_queue(after.weekly, p.review_capacity_share,
                                                               shift_day=cause.start_day,
                                                               shift_label=workshop.SHIFT_LABELS[cause.kind]))
    if len(after.actions):
        with st.expander(f"What the team and its incident process did, and why ({len(after.actions)} actions)",
                         expanded=True):
            st.markdown(workshop.actions_text(after.actions))
    st.caption(f"Reference pipeline run of `{scenario.name}`: {source_note(job)}. The ceiling replays the same "
               "actions on the same days with every model trained on every true label: what was possible.")


def show_comparison(before: workshop.Run, after: workshop.Run, scenario: Scenario,
                    story: dict[str, workshop.Job]) -> None:
    st.subheader("7 · Compare")
    cause = scenario.pipeline.causes[0]
    table = derived(("comparison", story["before"].key, story["after"].key),
                    lambda: workshop.comparison(before, after, cause.start_day)).set_index("measure")
    saved = before.fraud_losses_usd - after.fraud_losses_usd
    lag = table.loc["days from the shift to the first alert", "with"]
    change = table.loc["days from the shift to a new model in service", "with"]
    columns = st.columns(3)
    columns[0].metric("Fraud losses saved", usd(saved),
                      delta=f"{-saved / before.fraud_losses_usd:+.0%} losses" if saved and before.fraud_losses_usd
                      else None, delta_color="inverse")
    columns[1].metric("Drift detected after", _days_or_never(lag),
                      help="days from the shift to the first alert, with monitoring; without it nobody was alerted")
    columns[2].metric("New model in service after", _days_or_never(change),
                      help="days from the shift to the first new model in service: a promoted challenger or a "
                           "routine retrain; never: none before the run ended")
    shown = table.reset_index()
    shown["without monitoring"] = [format_measure(v, u) for v, u in zip(shown["without"], shown["unit"], strict=True)]
    shown["with monitoring and rollback"] = [format_measure(v, u) for v, u in zip(shown["with"], shown["unit"],
                                                                                     strict=True)]
    st.dataframe(shown[["measure", "without monitoring", "with monitoring and rollback"]], hide_index=True,
                 width="stretch")
    if saved > 0:
        st.success(f"Monitoring with automated rollback saved {usd(saved)} of fraud losses "
                   f"({saved / before.fraud_losses_usd:.0%}).")
    else:
        st.warning(f"Monitoring did not cut losses here ({usd(-saved)} more): the monitors raised "
                   f"{len(after.alerts)} alerts, and the incident process rolled back {after.rollbacks} and promoted "
                   f"{after.promotions} times. The ceiling, the same actions with every label known, lost "
                   f"{usd(after.fraud_losses_usd_ceiling)}.")


def _days_or_never(days: float) -> str:
    """A lag in days, or "never" for one that did not happen within the run (NaN or infinite)."""
    return formatting.days(days) if days == days and days != float("inf") else "never"


def format_measure(value: float, unit: str) -> str:
    if unit == "days":
        return _days_or_never(value)
    if value != value:
        return "—" if unit == "USD" else "never"
    if unit == "USD":
        return usd(value)
    if unit == "share":
        return f"{value:.0%}"
    return f"{value:,.0f}"
