"""The fitted scenario as a self-contained TOML file (no ``extends``), each number saying where it came from, and
the fit's report as text."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd

from mlorg.fit.estimate import COVARIANCE_REPLICATIONS, METHOD, NOT_IDENTIFIED, Fit
from mlorg.scenario import to_toml


def fitted_toml(fit: Fit, base_name: str, today: dt.date | None = None) -> str:
    """The fitted scenario's file: a fitted value carries a comment naming the history, the date, the method and
    its 95% interval; every table says that what is not marked comes from the base."""
    day = (today or dt.date.today()).isoformat()
    source = fit.history.source
    marks = {e.path: (f"fitted from {source}, {day}, "
                      f"{'simulated method of moments' if e.source != 'direct' else 'exposure / retirements'}; "
                      f"95% interval {e.low:.4g}–{e.high:.4g}") for e in fit.estimates}
    if fit.scenario.horizon_days != fit.base.horizon_days:
        marks["horizon_days"] = f"the span of {source} ({fit.history.start:%Y-%m-%d} to {fit.history.end:%Y-%m-%d})"
    header = [
        f"# Fitted to the deploy history {source} on {day} by `mlorg fit` ({METHOD}, seed {fit.seed}).",
        f"# Day 0 is {fit.history.start:%Y-%m-%d}. Values marked \"fitted\" come from the history; every other value "
        f"comes from the base {base_name}",
        "# (its extends resolved), which gives the headcount and hiring the history cannot separate from effort.",
        f"# Time-to-production, history vs this scenario: KS distance {fit.ks_statistic:.3f}, p = "
        f"{fit.ks_pvalue_simulated:.3g} against simulated histories (p = {fit.ks_pvalue:.2g} if times were "
        "independent).",
    ]
    for path, why in {**fit.unidentified, **NOT_IDENTIFIED}.items():
        header.append(f"# Not fitted, from the base: {path}: {why}.")
    return "\n".join(header) + "\n\n" + _marked(to_toml(fit.scenario), marks, base_name)


def _marked(text: str, marks: dict[str, str], base_name: str) -> str:
    """Append each mark to the line of its dotted path, and a from-the-base note to every table header."""
    table, out = "", []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("[") and not stripped.startswith("[["):
            table = stripped.strip("[]")
            out.append(f"{line}  # from the base {base_name} unless marked")
            continue
        if stripped.startswith("[["):
            table = stripped.strip("[]")
        key = stripped.split("=", 1)[0].strip() if "=" in stripped and not stripped.startswith("{") else ""
        path = f"{table}.{key}" if table and key else key
        out.append(f"{line}  # {marks[path]}" if key and path in marks else line)
    return "\n".join(out) + "\n"


def report_text(fit: Fit) -> str:
    """What the fit found, for a terminal: estimates with intervals, what it could not identify, and the check."""
    h = fit.history
    lines = [f"{h.source}: {len(h.rows)} model versions from {h.start:%Y-%m-%d} to {h.end:%Y-%m-%d} "
             f"({h.span_days:.0f} days)",
             f"method: {METHOD}; {fit.replications} replications a candidate, {fit.iterations} Gauss–Newton steps, "
             f"{fit.seconds:.1f} s", "", "fitted (95% interval; base value):"]
    for e in fit.estimates:
        lines.append(f"  {e.path:<40} {e.value:>9.4g}  ({e.low:.4g} – {e.high:.4g}; base {e.base:g})"
                     f"{'  direct estimate' if e.source == 'direct' else ''}")
    if not fit.estimates:
        lines.append("  nothing: the history is too short to identify any parameter")
    lines += ["", "left at the base's value:"]
    for path, why in fit.unidentified.items():
        lines.append(f"  {path}: {why}")
    for path, why in NOT_IDENTIFIED.items():
        lines.append(f"  {path}: {why}")
    p = fit.ks_pvalue_simulated
    lines += ["", f"time-to-production, history vs fitted: KS distance {fit.ks_statistic:.3f}, p = {p:.3g} against "
              f"{COVARIANCE_REPLICATIONS} simulated histories (p = {fit.ks_pvalue:.2g} as if the history's times "
              "were independent; they are not: models share queues)"]
    if not math.isnan(p) and p < 0.05:
        lines.append("  the fitted scenario does not reproduce the history's time-to-production: look at the QQ chart "
                     "(Staffing planner) and at what the base assumes")
    return "\n".join(lines)


def estimates_frame(fit: Fit) -> pd.DataFrame:
    """One row per fitted parameter: its value, 95% interval, the base's value and how it was estimated."""
    return pd.DataFrame([{"parameter": e.path, "meaning": e.label, "fitted": e.value, "95% low": e.low,
                          "95% high": e.high, "base": e.base,
                          "how": "exposure / retirements" if e.source == "direct" else "simulated moments"}
                         for e in fit.estimates], columns=["parameter", "meaning", "fitted", "95% low", "95% high",
                                                           "base", "how"])


def unidentified_frame(fit: Fit) -> pd.DataFrame:
    """One row per parameter left at the base's value, with why."""
    rows = {**fit.unidentified, **NOT_IDENTIFIED}
    return pd.DataFrame({"parameter": list(rows), "why it keeps the base's value": list(rows.values())})
