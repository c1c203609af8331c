"""The staffing planner's work on scenarios, without Streamlit.

A leader starts from a shipped scenario and changes headcount, the hiring plan, the skills matrix and which
platform capabilities exist or get built. :func:`edit` applies those changes to the scenario's TOML form and
reads it back through the schema, so a bad value gets the same message (field path, value, allowed range) as
it would in a file. :func:`comparison_table` lays replicated scenarios side by side with their paired
differences from a baseline; the figures come from :mod:`mlorg.results`.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlorg import sweeps
from mlorg.results import Replications, compare
from mlorg.scenario import (
    ACTIVITIES,
    CAPABILITIES,
    ROLES,
    Scenario,
    ScenarioError,
    field_docs,
    from_dict,
    load,
    to_toml,
)

ROOT = Path(__file__).resolve().parents[2]

# The five capabilities of ML engineering practice (DESIGN.md): label and what each one gives.
CAPABILITY_TEXT = {
    "feature_pipelines": ("Feature pipelines", "versioned and tested, so training and serving compute each "
                          "feature the same way (no training–serving skew)"),
    "model_registry": ("Model registry", "lineage from training data to the deployed artifact, and the previous "
                       "good version to roll back to"),
    "serving": ("Serving layer", "a real-time API, batch scoring or edge deployment, with SLOs"),
    "monitoring": ("Monitoring", "catches data drift, prediction drift and performance regressions"),
    "incident_process": ("Incident process", "diagnoses a misbehaving model and rolls it back"),
}

HEADCOUNT_FIELDS = {"data_scientists": "Data scientists", "ml_engineers": "ML engineers",
                    "platform_engineers": "Platform engineers"}

# metric: (label, kind); the kind picks the format.
METRICS = {
    "ttp_days_median": ("Median time to production", "days"),
    "ttp_days_p90": ("P90 time to production", "days"),
    "models_shipped": ("Models shipped", "count"),
    "models_live_end": ("Models live at end", "count"),
    "backlog_end": ("Backlog at end", "count"),
    "models_abandoned": ("Models abandoned", "count"),
    "staff_cost_usd": ("Staff cost", "usd"),
    "serving_cost_usd": ("Serving cost", "usd"),
    "business_loss_usd": ("Business loss", "usd"),
}
HEADLINES = ("ttp_days_median", "ttp_days_p90", "models_shipped", "backlog_end", "models_abandoned",
             "staff_cost_usd")
COMPARE_METRICS = tuple(METRICS)

# The Overview page sends a user to the planner with a scenario to open by putting its file stem under
# this session key; the planner takes it (and runs the scenario) on its next run.
START_KEY = "planner.start"

# Replications the planner runs by default shrink for big organisations, so that the first answer of any
# shipped scenario comes in well under a minute (≈ 2–5 ms of simulation per person-year on one core).
DEFAULT_REPLICATIONS = 10
PERSON_YEARS_PER_DEFAULT_RUN = 2000.0


# ----------------------------------------------------------------------------------------- scenarios

def scenario_folder() -> Path:
    """Where the offered scenarios are: ``$MLORG_SCENARIOS``, else the repository's ``scenarios/``."""
    return Path(os.environ.get("MLORG_SCENARIOS", ROOT / "scenarios"))


def load_folder(folder: Path) -> tuple[dict[str, Scenario], list[str]]:
    """Valid scenarios by file stem, and one message per problem in the files that failed to load."""
    scenarios, problems = {}, []
    for path in sorted(Path(folder).glob("*.toml")):
        try:
            scenarios[path.stem] = load(path)
        except ScenarioError as exc:
            problems.extend(exc.messages)
    return scenarios, problems


def folder_stamp(folder: Path) -> tuple[tuple[str, int], ...]:
    """Each scenario file's name and modification time: a cache key that changes when a file does."""
    return tuple((p.name, p.stat().st_mtime_ns) for p in sorted(Path(folder).glob("*.toml")))


def person_years(scenario: Scenario) -> float:
    """People at day 0 plus every planned hire, times the horizon in years: a measure of simulation work."""
    org = scenario.org
    people = org.data_scientists + org.ml_engineers + org.platform_engineers + sum(h.count for h in org.hiring)
    return people * scenario.horizon_days / 365.0


def default_replications(scenario: Scenario) -> int:
    """10 replications, fewer (at least 2) for organisations too big to replicate 10 times quickly."""
    affordable = PERSON_YEARS_PER_DEFAULT_RUN / max(person_years(scenario), 1.0)
    return int(max(2, min(DEFAULT_REPLICATIONS, math.floor(affordable))))


def capability_plan(scenario: Scenario) -> tuple[list[str], list[str]]:
    """Capabilities in place at day 0, and those the platform team builds, in its build order."""
    caps = scenario.platform.capabilities
    in_place = [c for c in CAPABILITIES if getattr(caps, c).built]
    return in_place, [c for c in scenario.platform.build_order if c not in in_place]


def platform_builders(scenario: Scenario) -> int:
    """People at day 0 or hired later in roles with any skill at platform work: those who build capabilities."""
    org = scenario.org
    counts = {"data_scientist": org.data_scientists, "ml_engineer": org.ml_engineers,
              "platform_engineer": org.platform_engineers}
    for hire in org.hiring:
        counts[hire.role] += hire.count
    return sum(n for role, n in counts.items() if getattr(scenario.skills, role).platform > 0)


def hiring_frame(scenario: Scenario) -> pd.DataFrame:
    """The hiring plan as an editable table: day, role, count."""
    hires = scenario.org.hiring
    return pd.DataFrame({"day": pd.Series([h.day for h in hires], dtype="float64"),
                         "role": pd.Series([h.role for h in hires], dtype="object"),
                         # nullable, so that a row the user adds with its count still blank is a blank
                         "count": pd.Series([h.count for h in hires], dtype="Int64")})


def skills_frame(scenario: Scenario) -> pd.DataFrame:
    """The skills matrix as a table: one row per role, one column per kind of work."""
    rows = {role: [getattr(getattr(scenario.skills, role), a) for a in ACTIVITIES] for role in ROLES}
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=list(ACTIVITIES), dtype="float64")
    frame.index.name = "role"
    return frame


# --------------------------------------------------------------------------------------------- edits

def edit(base: Scenario, *, headcount: Mapping[str, Any] | None = None, horizon_days: Any = None,
         hiring: pd.DataFrame | Iterable[Mapping[str, Any]] | None = None,
         skills: pd.DataFrame | Mapping[str, Mapping[str, Any]] | None = None,
         in_place: Iterable[str] | None = None, build_order: Sequence[str] | None = None) -> Scenario:
    """``base`` with the planner's changes, validated like a file (raises ScenarioError naming each field).

    ``headcount`` maps org fields (``ml_engineers`` …) to people at day 0; ``hiring`` replaces the hiring
    plan with rows of day, role, count (blank rows are skipped, a blank cell is an error); ``skills`` maps
    role → activity → efficiency; ``in_place`` lists the capabilities that exist at day 0 and
    ``build_order`` those the platform team builds, in order (one already in place is not built again).
    """
    data = tomllib.loads(to_toml(base))
    errors: list[str] = []
    if headcount is not None:
        for name, count in headcount.items():
            data["org"][name] = _cell(count, f"org.{name}", errors, whole=True)
    if horizon_days is not None:
        data["horizon_days"] = _cell(horizon_days, "horizon_days", errors)
    if hiring is not None:
        data["org"]["hiring"] = _hiring_entries(hiring, errors)
    if skills is not None:
        _set_skills(data, skills, errors)
    if in_place is not None or build_order is not None:
        _set_capabilities(data, base, in_place, build_order)
    data = _drop_blanks(data)
    try:
        scenario = from_dict(data)
    except ScenarioError as exc:
        errors.extend(exc.messages)
    if errors:
        raise ScenarioError(errors)
    return scenario


_BLANK = object()  # a cell the user left empty; reported, then dropped before the schema reads the rest


def _cell(value: Any, where: str, errors: list[str], *, whole: bool = False) -> Any:
    """A table cell as a plain TOML value; an empty cell is reported with what the field allows."""
    if isinstance(value, np.generic):
        value = value.item()
    if _is_blank(value):
        errors.append(f"{where}: empty is not allowed; must be {_rule(where)}")
        return _BLANK
    if whole and isinstance(value, float) and value.is_integer():
        return int(value)  # table editors hand integers back as floats once a column has had a blank
    return value.strip() if isinstance(value, str) else value


@functools.cache
def _rules() -> dict[str, str]:
    return {row["field"]: row["rule"] for row in field_docs()}


def _rule(where: str) -> str:
    rule = _rules().get(re.sub(r"\[\d+\]", "[]", where), "a value")
    return re.sub(r"^(integer|number)\b", lambda m: ("an " if m[1] == "integer" else "a ") + m[1], rule)


def _records(rows: pd.DataFrame | Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return rows.to_dict("records") if isinstance(rows, pd.DataFrame) else list(rows)


def _is_blank(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float | np.floating) and math.isnan(value)) \
        or (isinstance(value, str) and not value.strip())


def _hiring_entries(rows: pd.DataFrame | Iterable[Mapping[str, Any]], errors: list[str]) -> list[dict]:
    entries = []
    for row in _records(rows):
        if all(_is_blank(row.get(name)) for name in ("day", "role", "count")):
            continue  # a row the table editor added and the user left empty
        where = f"org.hiring[{len(entries)}]"
        entries.append({"day": _cell(row.get("day"), f"{where}.day", errors),
                        "role": _cell(row.get("role"), f"{where}.role", errors),
                        "count": _cell(row.get("count"), f"{where}.count", errors, whole=True)})
    return entries


def _set_skills(data: dict, skills: pd.DataFrame | Mapping[str, Mapping[str, Any]], errors: list[str]) -> None:
    matrix = skills.to_dict("index") if isinstance(skills, pd.DataFrame) else skills
    for role, row in matrix.items():
        table = data["skills"].setdefault(str(role), {})
        for activity, value in row.items():
            table[str(activity)] = _cell(value, f"skills.{role}.{activity}", errors)


def _set_capabilities(data: dict, base: Scenario, in_place: Iterable[str] | None,
                      build_order: Sequence[str] | None) -> None:
    current_in_place, current_order = capability_plan(base)
    in_place = list(current_in_place if in_place is None else in_place)
    order = list(current_order if build_order is None else build_order)
    if set(in_place) == set(current_in_place) and order == current_order:
        return  # unchanged: keep the file's own build order, which may still name capabilities in place
    caps = data["platform"]["capabilities"]
    for name in dict.fromkeys([*CAPABILITIES, *in_place]):
        caps.setdefault(name, {})["built"] = name in in_place
    data["platform"]["build_order"] = [name for name in order if name not in in_place]


def _drop_blanks(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _drop_blanks(v) for k, v in data.items() if v is not _BLANK}
    if isinstance(data, list):
        return [_drop_blanks(v) for v in data]
    return data


# ----------------------------------------------------------------------------------------- changes

def describe_changes(base: Scenario, edited: Scenario) -> list[str]:
    """One line per field that differs, ``path: old → new``, in schema order."""
    before, after = _flatten(tomllib.loads(to_toml(base))), _flatten(tomllib.loads(to_toml(edited)))
    lines = []
    for path in dict.fromkeys([*before, *after]):
        old, new = before.get(path, []), after.get(path, [])
        if old != new:
            lines.append(f"{path}: {_inline(old)} → {_inline(new)}")
    return lines


def _flatten(data: dict, prefix: str = "") -> dict[str, Any]:
    """Dotted paths to values; a list of tables (the hiring plan) stays one value so it reads as a whole."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _inline(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} {_inline(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    return str(value)


def variant_label(scenario: Scenario, changes: Sequence[str], limit: int = 90) -> str:
    """A short name for an edited scenario: its name and what changed."""
    text = f"{scenario.name}: " + "; ".join(c.replace("org.", "") for c in changes) if changes else scenario.name
    return text if len(text) <= limit else text[: limit - 1] + "…"


def file_stem(name: str) -> str:
    """A scenario name made safe for a download's file name."""
    return re.sub(r"[^\w.-]+", "_", name).strip("_") or "scenario"


# -------------------------------------------------------------------------------------- comparison

def comparison_table(results: Mapping[str, Replications],
                     metrics: Sequence[str] = COMPARE_METRICS) -> pd.DataFrame:
    """Scenarios side by side, the first as baseline: one row per scenario and metric.

    Columns: scenario, metric, label, kind, mean, ci95_low, ci95_high, n, and the paired difference from
    the baseline with its 95% interval (diff_mean, diff_low, diff_high; NaN on the baseline's rows).
    The replications must share seed and count, so that replication r of each scenario drew the same
    random numbers (common random numbers); metrics no scenario defines are left out.
    """
    if len(results) < 2:
        raise ValueError(f"scenarios: {len(results)} given; a comparison needs at least 2")
    labels = list(results)
    baseline = results[labels[0]]
    rows = []
    for label in labels:
        reps = results[label]
        summary = reps.summary
        diffs = None if label == labels[0] else compare(baseline, reps)
        for metric in (m for m in metrics if m in summary.index):
            name, kind = METRICS.get(metric, (metric, "count"))
            row = {"scenario": label, "metric": metric, "label": name, "kind": kind,
                   **summary.loc[metric, ["mean", "ci95_low", "ci95_high", "n"]].to_dict()}
            if diffs is None:
                row.update(diff_mean=math.nan, diff_low=math.nan, diff_high=math.nan)
            else:
                row.update(diff_mean=diffs.loc[metric, "mean"], diff_low=diffs.loc[metric, "ci95_low"],
                           diff_high=diffs.loc[metric, "ci95_high"])
            rows.append(row)
    table = pd.DataFrame(rows)
    defined = table.groupby("metric", sort=False)["mean"].transform(lambda s: s.notna().any())
    table = table[defined].reset_index(drop=True)
    table["n"] = table["n"].astype("int64")
    return table


def difference_verdict(low: float, high: float) -> str:
    """Whether a paired 95% interval of a difference excludes zero."""
    if math.isnan(low) or math.isnan(high):
        return "no interval"
    if low > 0:
        return "higher"
    if high < 0:
        return "lower"
    return "no clear difference"


# ------------------------------------------------------------------------------------------ format

def format_value(value: float | None, kind: str) -> str:
    if value is None or math.isnan(value):
        return "—"
    if kind == "days":
        return f"{value:,.1f} days"
    if kind == "usd":
        sign = "-" if value < 0 else ""
        return f"{sign}${abs(value) / 1e6:,.2f}M" if abs(value) >= 1e6 else f"{sign}${abs(value):,.0f}"
    if kind == "share":
        return f"{value:.1%}"
    return f"{value:,.1f}"


def interval_text(row: Mapping[str, float], kind: str, total: int) -> str:
    """The 95% interval of a summary row, and over how many replications the metric was defined."""
    if row["n"] == 0:
        return "not defined in any replication"
    text = (f"95% CI {format_value(row['ci95_low'], kind)} to {format_value(row['ci95_high'], kind)}"
            if row["n"] > 1 else "no interval from one replication")
    return text if row["n"] == total else f"{text} (over {int(row['n'])} of {total} replications)"


def people(count: int, role: str) -> str:
    return f"{count} {role}{'' if count == 1 else 's'}"


def org_text(scenario: Scenario) -> str:
    org = scenario.org
    text = (f"{people(org.data_scientists, 'data scientist')}, {people(org.ml_engineers, 'ML engineer')}, "
            f"{people(org.platform_engineers, 'platform engineer')} at day 0")
    hired = sum(h.count for h in org.hiring)
    return f"{text}, {people(hired, 'hire')} planned" if hired else text


# ---------------------------------------------------------------------- sweeps, sensitivity, goal seek
# The planner's Sweep, Sensitivity and Goal seek tabs run mlorg.sweeps; these helpers pick sensible
# defaults for their forms and put the library's results into words.

# Inputs the Sensitivity tab starts with, when the scenario has them: the levers a leader controls (people)
# and the efforts that drive time-to-production. All ~100 inputs of a drift scenario at 5 replications is
# over a thousand runs; a handful answers the usual question in seconds.
SENSITIVITY_DEFAULTS = ("org.data_scientists", "org.ml_engineers", "org.platform_engineers",
                        "research.cycle_hours.mean", "productionisation.effort_hours.mean",
                        "deploy.review_hours.mean", "deploy.release_every_days",
                        "lifecycle.toil_hours_per_model_week")
DEFAULT_FACTORS = (0.5, 0.75, 1.0, 1.25, 1.5)  # a number field's default sweep: ±50% around its value
_PATH_PART = re.compile(r"^(?P<key>[A-Za-z_]\w*)(?:\[(?P<index>\d+)\])?$")


def field_value(scenario: Scenario, path: str) -> Any:
    """The value at a dotted path (``org.ml_engineers``, ``org.hiring[0].count``), or None when the path
    names no single value of the scenario."""
    node: Any = scenario
    for part in path.split("."):
        match = _PATH_PART.match(part)
        if match is None or not dataclasses.is_dataclass(node) or match["key"] not in node.__dataclass_fields__:
            return None
        node = getattr(node, match["key"])
        if match["index"] is not None:
            if not isinstance(node, tuple) or int(match["index"]) >= len(node):
                return None
            node = node[int(match["index"])]
    return None if dataclasses.is_dataclass(node) or isinstance(node, tuple) else node


def field_help(scenario: Scenario, path: str) -> str:
    """What a field is, what it allows and its value in this scenario, for a form's caption."""
    value = field_value(scenario, path)
    if value is None:
        try:  # the schema's own word on the path: an unknown key with a suggestion, a list without an index …
            sweeps.edit(scenario, {path: 0})
        except ValueError as exc:
            return getattr(exc, "messages", [str(exc)])[0]
        return f"{path} is not a single value of this scenario; the README's scenario table lists the fields."
    row = _field_rows().get(re.sub(r"\[\d+\]", "[]", path))
    now = f"now {_inline(value)}"
    if row is None:
        return f"{path}: {now}."
    unit = f" {row['unit']}" if row["unit"] else ""
    return f"{path}: {row['doc']}; {now}{unit}; {row['rule']}."


@functools.cache
def _field_rows() -> dict[str, dict[str, Any]]:
    return {row["field"]: row for row in field_docs()}


@functools.lru_cache(maxsize=64)
def sweep_fields(scenario: Scenario) -> tuple[str, ...]:
    """The inputs the sweep forms offer: :func:`mlorg.sweeps.numeric_inputs` (cached: every rerun asks)."""
    return tuple(sweeps.numeric_inputs(scenario))


@functools.lru_cache(maxsize=256)
def default_spec(scenario: Scenario, path: str) -> str:
    """Values to sweep a field over by default: headcounts and other small integers a few steps either
    side, other numbers ±50%, true/false both; only values the schema allows in this scenario."""
    value = field_value(scenario, path)
    if isinstance(value, bool):
        return "false,true"
    if isinstance(value, int):
        low = max(0, value - 2)
        candidates = list(range(low, low + 5)) if value <= 4 else sorted({round(value * f) for f in DEFAULT_FACTORS})
    elif isinstance(value, float):
        candidates = [float(f"{value * f:.3g}") for f in DEFAULT_FACTORS] if value else [0.0]
    else:
        return "" if value is None else str(value)
    allowed = []
    for candidate in candidates:
        try:
            sweeps.edit(scenario, {path: candidate})
        except ValueError:
            continue
        allowed.append(candidate)
    return spec_text(allowed or [value])


def spec_text(values: Sequence[Any]) -> str:
    """Values as a spec: a run of consecutive integers as ``START..STOP``, otherwise a comma list."""
    if len(values) > 2 and all(isinstance(v, int) for v in values) and list(values) == list(
            range(values[0], values[-1] + 1)):
        return f"{values[0]}..{values[-1]}"
    return ",".join(_inline(v) for v in values)


def sweep_grid(axes: Sequence[tuple[str, str]]) -> dict[str, str]:
    """The grid for :func:`mlorg.sweeps.sweep` from (path, spec) pairs; a blank or repeated path is refused
    (a dict would silently keep only one of two entries for the same field)."""
    grid: dict[str, str] = {}
    for number, (path, spec) in enumerate(axes, start=1):
        path, spec = path.strip(), spec.strip()
        if not path:
            raise ValueError(f"input {number}: no field picked; pick or type a field path such as org.ml_engineers")
        if path in grid:
            raise ValueError(f"input {number}: {path} is already varied as input 1; pick another field")
        if not spec:
            raise ValueError(f"{path}: no values given; must be values such as 0..8, 1,2,4 or 0.1..0.5:0.1")
        grid[path] = spec
    return grid


def sweep_runs(grid: Mapping[str, str], replications: int) -> int | None:
    """How many runs a grid makes at ``replications`` each, or None while a spec does not parse."""
    try:
        return math.prod(len(sweeps.parse_values(path, spec)) for path, spec in grid.items()) * replications
    except ValueError:
        return None


def default_sensitivity_inputs(inputs: Sequence[str]) -> list[str]:
    """The inputs the Sensitivity tab starts with: :data:`SENSITIVITY_DEFAULTS` that can matter here."""
    return [path for path in SENSITIVITY_DEFAULTS if path in inputs]


def metric_label(metric: str) -> str:
    """A metric's display name: the planner's label where it has one, else the metric's own name."""
    return METRICS[metric][0] if metric in METRICS else metric


def metric_kind(metric: str) -> str:
    """How to format a metric (see :func:`format_value`), guessed from its name when the planner has no label."""
    if metric in METRICS:
        return METRICS[metric][1]
    if metric.endswith("_usd"):
        return "usd"
    if "days" in metric:
        return "days"
    if "share" in metric or metric == "slo_attainment":
        return "share"
    return "count"


def value_text(value: Any) -> str:
    """An input's value as a scenario file writes it (true, 3, 0.25); empty for a missing one."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return _inline(value)


def cell_text(values: Mapping[str, Any]) -> str:
    """A grid cell's values as ``path = value`` pairs."""
    return ", ".join(f"{path} = {value_text(value)}" for path, value in values.items())


def goal_verdict(optimum: Any) -> str:
    """What :func:`mlorg.sweeps.optimise` found, in a sentence: the pick and its evidence, or the cell that
    came closest when none meets the target."""
    target, cells = optimum.target, optimum.cells
    target_kind, objective_kind = metric_kind(target.metric), metric_kind(optimum.minimise)
    level = f"{optimum.confidence:.0%}"
    side = "upper" if target.upper else "lower"
    if optimum.best is not None:
        best = optimum.best
        return (f"Cheapest cell meeting {target} with {level} confidence: {cell_text(best[optimum.parameters])}. "
                f"{metric_label(optimum.minimise)}: {format_value(best['objective_mean'], objective_kind)} (95% CI "
                f"{format_value(best['objective_ci95_low'], objective_kind)} to "
                f"{format_value(best['objective_ci95_high'], objective_kind)}); {target.metric}: mean "
                f"{format_value(best['target_mean'], target_kind)}, one-sided {level} {side} bound "
                f"{format_value(best['target_bound'], target_kind)}.")
    text = (f"No cell meets {target} with {level} confidence: the one-sided {side} bound of {target.metric}'s mean "
            f"must meet the target, with the metric defined in every replication.")
    judged = cells[np.isfinite(cells["target_bound"].to_numpy(dtype=float))]
    if judged.empty:
        return text + f" {target.metric} was not defined in enough replications of any cell to judge."
    closest = judged.loc[judged["target_bound"].idxmin() if target.upper else judged["target_bound"].idxmax()]
    return text + (f" Closest: {cell_text(closest[optimum.parameters])}, with a bound of "
                   f"{format_value(closest['target_bound'], target_kind)}.")
