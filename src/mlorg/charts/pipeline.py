"""The reference pipeline's charts: the registry's deployment timeline and the fraud-drift workshop's story."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from mlorg.charts.common import FIT_WIDTH

ACTION_COLOURS = {"deploy": "#4c78a8", "promote": "#54a24b", "rollback": "#e45756", "retire": "#bab0ac"}


def deployment_timeline(history: pd.DataFrame) -> alt.LayerChart:
    """Which model version each alias served over time: a step line per alias through its deployments (the
    registry's history: seq, at, version, action, alias, reason, actor), each marked by its action."""
    missing = [c for c in ("at", "version", "action", "alias", "reason", "actor") if c not in history.columns]
    if missing:
        raise ValueError(f"columns {missing} are not in the history; it has {list(history.columns)}")
    data = history.assign(version=history["version"].astype("int64"))
    seen = set(data["action"])
    actions = [a for a in ACTION_COLOURS if a in seen] + sorted(seen - set(ACTION_COLOURS))
    tooltip = [alt.Tooltip("at:T", title="at", format="%Y-%m-%d %H:%M"), alt.Tooltip("alias:N"),
               alt.Tooltip("action:N"), alt.Tooltip("version:Q"), alt.Tooltip("reason:N"), alt.Tooltip("actor:N")]
    x = alt.X("at:T", title="deployed at", axis=alt.Axis(format="%Y-%m-%d", labelAngle=0))
    y = alt.Y("version:Q", title="model version", axis=alt.Axis(tickMinStep=1, format="d"),
              scale=alt.Scale(zero=False, padding=12))
    line = alt.Chart(data).mark_line(interpolate="step-after").encode(
        x=x, y=y, detail="alias:N", strokeDash=alt.StrokeDash("alias:N", title="alias"))
    points = alt.Chart(data).mark_point(filled=True, size=110).encode(
        x=x, y=y, tooltip=tooltip,
        color=alt.Color("action:N", title="action", sort=actions,
                        scale=alt.Scale(domain=actions, range=[ACTION_COLOURS.get(a, "#999999") for a in actions]),
                        legend=alt.Legend(orient="bottom")))
    return alt.layer(line, points).properties(title="Deployments: the version behind each alias", height=220,
                                              autosize=FIT_WIDTH)


# ------------------------------------------------------------------------------- fraud-drift workshop

LOSS_COLOUR = "#e45756"
RECALL_COLOUR = "#4c78a8"
SHIFT_COLOUR = "#9d755d"
RUN_COLOURS = {"without monitoring": "#e45756", "with monitoring and rollback": "#54a24b",
               "ceiling: every label known": "#bab0ac"}
ALARM_COLOURS = {"before the shift (false alarm)": "#bab0ac", "after the shift": "#e45756"}


def _shift_rule(day: float | None, label: str) -> list[alt.Chart]:
    """A dashed line at the day a cause starts, with its label; nothing when the day is not to be shown yet."""
    if day is None:
        return []
    data = pd.DataFrame({"day": [day], "label": [label]})
    rule = alt.Chart(data).mark_rule(color=SHIFT_COLOUR, strokeDash=[6, 4]).encode(x="day:Q")
    text = alt.Chart(data).mark_text(color=SHIFT_COLOUR, align="left", dx=4, dy=-2, baseline="bottom").encode(
        x="day:Q", y=alt.value(12), text="label:N")
    return [rule, text]


def workshop_weekly(weekly: pd.DataFrame, *, shift_day: float | None = None,
                    shift_label: str = "the cause starts") -> alt.LayerChart:
    """Each live week's fraud losses per day (bars spanning the week) and the share of its fraud the model caught
    (line, right axis). ``weekly`` has start_day, days, losses_per_day, recall and frauds (see
    ``mlorg.workshop.weekly_losses``); ``shift_day`` draws the day the cause started (left out before the answer
    is revealed)."""
    missing = [c for c in ("start_day", "days", "losses_per_day", "recall", "frauds") if c not in weekly.columns]
    if missing:
        raise ValueError(f"columns {missing} are not in the weekly frame; it has {list(weekly.columns)}")
    data = weekly.assign(end_day=weekly["start_day"] + weekly["days"], mid_day=weekly["start_day"] + weekly["days"] / 2)
    x = alt.X("start_day:Q", title="day", scale=alt.Scale(zero=False, nice=False))
    tooltip = [alt.Tooltip("start_day:Q", title="week from day", format=".0f"),
               alt.Tooltip("losses_per_day:Q", title="fraud losses per day (USD)", format=",.0f"),
               alt.Tooltip("recall:Q", title="fraud caught", format=".0%"),
               alt.Tooltip("frauds:Q", title="frauds", format=",.0f")]
    # A rectangle from 0 per week: a bar given x and x2 would lie along x, a thin line at its y.
    bars = alt.Chart(data).mark_rect(color=LOSS_COLOUR, opacity=0.75, stroke="white").encode(
        x=x, x2="end_day:Q", y=alt.Y("losses_per_day:Q", title="fraud losses per day (USD)",
                                     scale=alt.Scale(zero=True),
                                     axis=alt.Axis(titleColor=LOSS_COLOUR, format="$,.0f")),
        y2=alt.datum(0), tooltip=tooltip)
    line = alt.Chart(data).mark_line(color=RECALL_COLOUR, point=True).encode(
        x=alt.X("mid_day:Q"), y=alt.Y("recall:Q", title="share of fraud caught", scale=alt.Scale(domain=[0, 1]),
                                      axis=alt.Axis(titleColor=RECALL_COLOUR, format=".0%")), tooltip=tooltip)
    return alt.layer(alt.layer(bars, *_shift_rule(shift_day, shift_label)), line).resolve_scale(y="independent") \
        .properties(title="Weeks live: fraud losses per day (bars) and share of fraud caught (line)", height=300,
                    autosize=FIT_WIDTH)


def alarm_timeline(alarms: pd.DataFrame, monitors: dict[str, str], *, shift_day: float, first_day: float,
                   last_day: float, shift_label: str = "the cause starts") -> alt.LayerChart:
    """Every alarm the monitors raised (``alarms``: day, monitor, detail), one row per monitor in ``monitors``
    (name -> label, all shown even when silent), coloured by whether it came before the cause (a false alarm) or
    after, between the days the model was live."""
    missing = [c for c in ("day", "monitor", "detail") if c not in alarms.columns]
    if missing:
        raise ValueError(f"columns {missing} are not in the alarms; they have {list(alarms.columns)}")
    data = alarms[alarms["monitor"].isin(list(monitors))].assign(
        label=lambda f: f["monitor"].map(monitors),
        when=lambda f: np.where(f["day"] + 1 > shift_day, "after the shift", "before the shift (false alarm)"))
    labels = list(monitors.values())
    whens = list(ALARM_COLOURS)
    points = alt.Chart(data).mark_tick(thickness=3, size=18).encode(
        x=alt.X("day:Q", title="day", scale=alt.Scale(domain=[first_day, last_day], nice=False)),
        y=alt.Y("label:N", title=None, sort=labels, scale=alt.Scale(domain=labels),
                axis=alt.Axis(labelLimit=320)),
        color=alt.Color("when:N", title=None, scale=alt.Scale(domain=whens, range=list(ALARM_COLOURS.values())),
                        legend=alt.Legend(orient="bottom", labelLimit=0)),
        tooltip=[alt.Tooltip("day:Q", format=".0f"), alt.Tooltip("label:N", title="monitor"),
                 alt.Tooltip("detail:N")])
    return alt.layer(points, *_shift_rule(shift_day, shift_label)).properties(
        title="Alarms the monitors would have raised (nobody acting on them)", height=60 + 34 * len(labels),
        autosize=FIT_WIDTH)


def cumulative_losses(runs: dict[str, pd.DataFrame], *, start_day: float, actions: pd.DataFrame | None = None,
                      shift_day: float | None = None, shift_label: str = "the cause starts") -> alt.LayerChart:
    """Fraud losses accumulated week by week for each run (name -> weekly frame with start_day, days and
    losses_usd), from 0 on ``start_day``; ``actions`` (day, action, version, reason) of the last run are marked on
    its line, shaped by action."""
    rows = []
    for name, weekly in runs.items():
        missing = [c for c in ("start_day", "days", "losses_usd") if c not in weekly.columns]
        if missing:
            raise ValueError(f"columns {missing} are not in the weekly frame of {name!r}; it has "
                             f"{list(weekly.columns)}")
        ends = (weekly["start_day"] + weekly["days"]).to_numpy(dtype=float)
        rows.append(pd.DataFrame({"run": name, "day": [start_day, *ends],
                                  "losses": [0.0, *weekly["losses_usd"].cumsum()]}))
    data = pd.concat(rows[::-1], ignore_index=True)  # the first run drawn last, on top
    names = list(runs)
    colours = [RUN_COLOURS.get(n, "#4c78a8") for n in names]
    x = alt.X("day:Q", title="day", scale=alt.Scale(zero=False, nice=False))
    y = alt.Y("losses:Q", title="fraud losses since going live (USD)", axis=alt.Axis(format="$,.0f"))
    # The first run dashed and drawn last, so that it stays visible where the runs lose the same.
    dashes = [[6, 4]] + [[1, 0]] * (len(names) - 1)
    lines = alt.Chart(data).mark_line(point=True).encode(
        x=x, y=y, color=alt.Color("run:N", title=None, sort=names, scale=alt.Scale(domain=names, range=colours),
                                  # vertical, so that three runs and the actions' shapes fit a narrow page
                                  legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=0)),
        strokeDash=alt.StrokeDash("run:N", sort=names, scale=alt.Scale(domain=names, range=dashes), legend=None),
        tooltip=[alt.Tooltip("run:N"), alt.Tooltip("day:Q", format=".0f"),
                 alt.Tooltip("losses:Q", title="losses (USD)", format="$,.0f")])
    layers = [lines, *_shift_rule(shift_day, shift_label)]
    if actions is not None and len(actions):
        last = data[data["run"] == names[-1]]
        marks = actions.assign(day=actions["day"] + 1.0)  # an action is taken at the end of its day
        marks["losses"] = np.interp(marks["day"], last["day"], last["losses"])
        seen = list(dict.fromkeys(marks["action"]))
        layers.append(alt.Chart(marks).mark_point(shape="diamond", size=120, filled=True).encode(
            x=x, y=y, shape=alt.Shape("action:N", title="incident process", sort=seen,
                                      legend=alt.Legend(orient="bottom", direction="vertical")),
            fill=alt.value("#222222"),
            tooltip=[alt.Tooltip("day:Q", format=".0f"), alt.Tooltip("action:N"),
                     alt.Tooltip("version:Q", title="model version"), alt.Tooltip("reason:N")]))
    return alt.layer(*layers).properties(title="Fraud losses, with and without monitoring", height=320,
                                         autosize=FIT_WIDTH)


def review_queue(weekly: pd.DataFrame, capacity_share: float, *, shift_day: float | None = None,
                 shift_label: str = "the cause starts") -> alt.LayerChart:
    """Alerts the investigators reviewed each week (weekly frame with start_day, transactions, reviewed, precision)
    against their capacity (``capacity_share`` of the week's transactions)."""
    missing = [c for c in ("start_day", "transactions", "reviewed", "precision") if c not in weekly.columns]
    if missing:
        raise ValueError(f"columns {missing} are not in the weekly frame; it has {list(weekly.columns)}")
    data = weekly.assign(capacity=weekly["transactions"] * capacity_share)
    x = alt.X("start_day:Q", title="week starting on day", scale=alt.Scale(zero=False, nice=False))
    bars = alt.Chart(data).mark_bar(color="#4c78a8", width=8).encode(
        x=x, y=alt.Y("reviewed:Q", title="alerts reviewed in the week"),
        tooltip=[alt.Tooltip("start_day:Q", title="from day", format=".0f"), alt.Tooltip("reviewed:Q", format=",.0f"),
                 alt.Tooltip("capacity:Q", format=",.0f"),
                 alt.Tooltip("precision:Q", title="share of fraud among the alerts", format=".1%")])
    capacity = alt.Chart(data).mark_line(color="#e45756", strokeDash=[6, 4], interpolate="step-after").encode(
        x=x, y="capacity:Q")
    return alt.layer(bars, capacity, *_shift_rule(shift_day, shift_label)).properties(
        title="The investigators' queue: alerts reviewed each week, and their capacity (dashed)", height=220,
        autosize=FIT_WIDTH)
