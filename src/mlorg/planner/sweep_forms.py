"""The planner's Sweep, Sensitivity and Goal seek tabs run :mod:`mlorg.sweeps`; these helpers pick sensible
defaults for their forms and put the library's results into words."""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from mlorg import formatting, metric_table, sweeps
from mlorg.planner.edits import inline_text
from mlorg.scenario import Scenario, field_docs, field_label

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
        return (f"{path} is not a single value of this scenario: pick an input from the list, or type the path of "
                "one value, such as org.hiring[0].count.")
    row = _field_rows().get(re.sub(r"\[\d+\]", "[]", path))
    now = f"now {inline_text(value)}"
    if row is None:
        return f"{field_label(path)} (`{path}`): {now}."
    unit = f" {row['unit']}" if row["unit"] else ""
    return f"{field_label(path)} (`{path}`): {row['doc']}; {now}{unit}; {row['rule']}."


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
    return ",".join(inline_text(v) for v in values)


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


def value_text(value: Any) -> str:
    """An input's value as a scenario file writes it (true, 3, 0.25); empty for a missing one."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return inline_text(value)


def cell_text(values: Mapping[str, Any]) -> str:
    """A grid cell's values as ``path = value`` pairs."""
    return ", ".join(f"{path} = {value_text(value)}" for path, value in values.items())


def goal_verdict(optimum: Any) -> str:
    """What :func:`mlorg.sweeps.optimise` found, in a sentence: the pick and its evidence, or the cell that
    came closest when none meets the target."""
    target, cells = optimum.target, optimum.cells
    objective = optimum.objective
    target_kind, objective_kind = metric_table.kind(target.metric), metric_table.kind(objective.metric)
    level = f"{optimum.confidence:.0%}"
    side = "upper" if target.upper else "lower"
    if optimum.best is not None:
        best = optimum.best

        def score(key: str) -> str:
            return formatting.value(best[key], objective_kind)

        which = "highest" if objective.maximise else "lowest"
        return (f"The {which} {metric_table.label(objective.metric).lower()} among cells meeting {target} with "
                f"{level} confidence: {cell_text(best[optimum.parameters])}. "
                f"{metric_table.label(objective.metric)}: {score('objective_mean')} (95% CI "
                f"{score('objective_ci95_low')} to {score('objective_ci95_high')}); {target.metric}: mean "
                f"{formatting.value(best['target_mean'], target_kind)}, one-sided {level} {side} bound "
                f"{formatting.value(best['target_bound'], target_kind)}.")
    text = (f"No cell meets {target} with {level} confidence: the one-sided {side} bound of {target.metric}'s mean "
            f"must meet the target, with the metric defined in every replication.")
    judged = cells[np.isfinite(cells["target_bound"].to_numpy(dtype=float))]
    if judged.empty:
        return text + f" {target.metric} was not defined in enough replications of any cell to judge."
    closest = judged.loc[judged["target_bound"].idxmin() if target.upper else judged["target_bound"].idxmax()]
    return text + (f" Closest: {cell_text(closest[optimum.parameters])}, with a bound of "
                   f"{formatting.value(closest['target_bound'], target_kind)}.")
