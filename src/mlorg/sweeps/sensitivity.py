"""One-at-a-time sensitivity: which input moves a metric most (the rows of a tornado chart).

Each numeric input that can matter in the scenario is set to its value × (1 − spread) and × (1 + spread),
the rest held at the base. Replication r of every variant shares its random streams with replication r
of the base (common random numbers), so each effect is a paired difference whose 95% interval reflects
the input's effect, not the noise between independent runs.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from mlorg.results import mean_ci
from mlorg.scenario import CAPABILITIES, ROLES, Scenario, ScenarioError, validate
from mlorg.sweeps.execute import DEFAULT_TIMEOUT_S, Progress, run_all
from mlorg.sweeps.grid import SweepError, edit
from mlorg.sweeps.table import check_budget, check_metric, check_replications, check_seed

ROLE_HEADCOUNT = {"data_scientist": "org.data_scientists", "ml_engineer": "org.ml_engineers",
                  "platform_engineer": "org.platform_engineers"}
# Inputs that describe the run or the reference pipeline rather than the organisation, or that are tied to
# others (the serving shares must add up to 1), are never varied; nor is a distribution's shape.
NEVER_VARIED = ("horizon_days", "pipeline.", "serving.realtime_share", "serving.batch_share", "serving.edge_share")


def numeric_inputs(scenario: Scenario) -> list[str]:
    """Dotted paths of the numeric inputs that can affect this scenario's results.

    That is every number of the schema except: the horizon, the reference pipeline, the serving shares,
    coefficients of variation (the shape of the noise), hiring-plan entries and lists; serving only when it
    is enabled (and each mode only with a share of models); drift, monitoring, incidents and impact only
    when drift is simulated (and a monitor only when it is enabled); a role's costs, skills and attrition
    only when the organisation has or hires that role; the platform only when it has platform engineers
    or a capability is built (a built one's build effort no longer matters). A value of 0 is skipped (± a
    share of nothing is nothing), except headcounts, where 0 → 1 is the question.
    """
    out = []
    for path, value in _numeric_leaves(scenario, scenario, ""):
        if path.startswith(NEVER_VARIED) or path.endswith("cv"):
            continue
        if (value == 0 and not path.startswith("org.")) or not _can_matter(scenario, path):
            continue
        out.append(path)
    return out


def _numeric_leaves(scenario: Scenario, obj: Any, prefix: str) -> list[tuple[str, float]]:
    leaves = []
    hints = typing.get_type_hints(type(obj))
    for f in dataclasses.fields(obj):
        value, hint = getattr(obj, f.name), hints[f.name]
        if dataclasses.is_dataclass(hint):
            leaves.extend(_numeric_leaves(scenario, value, f"{prefix}{f.name}."))
        elif hint in (int, float):
            leaves.append((f"{prefix}{f.name}", value))
    return leaves


def _staffed(scenario: Scenario) -> set[str]:
    roles = {role for role in ROLES if _get(scenario, ROLE_HEADCOUNT[role]) > 0}
    return roles | {hire.role for hire in scenario.org.hiring}


def _can_matter(s: Scenario, path: str) -> bool:
    parts = path.split(".")
    staffed = _staffed(s)
    if parts[0] in ("costs", "skills") or parts[:2] == ["attrition", "annual_rate"]:
        role = parts[1] if parts[0] != "attrition" else parts[2]
        return role in staffed
    if path == "attrition.time_to_hire_days":
        return s.attrition.backfill and any(getattr(s.attrition.annual_rate, r) > 0 for r in staffed)
    if parts[0] == "platform":
        builds = "platform_engineer" in staffed
        if parts[1] != "capabilities":
            return builds or any(getattr(s.platform.capabilities, c).built for c in CAPABILITIES)
        built = getattr(s.platform.capabilities, parts[2]).built
        return builds and not built if parts[3] == "build_effort_hours" else builds or built
    if parts[0] == "serving":
        if not s.serving.enabled:
            return False
        share = {"realtime": s.serving.realtime_share, "batch": s.serving.batch_share, "edge": s.serving.edge_share}
        return parts[1] not in share or share[parts[1]] > 0
    if parts[0] in ("drift", "incidents", "impact"):
        return s.drift.enabled
    if parts[0] == "monitoring":
        monitors = (s.monitoring.features, s.monitoring.predictions, s.monitoring.performance)
        if parts[1] == "triage_hours":
            return s.drift.enabled and any(m.enabled for m in monitors)
        return s.drift.enabled and getattr(s.monitoring, parts[1]).enabled
    return True


def _get(obj: Any, path: str) -> Any:
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def varied_values(scenario: Scenario, path: str, spread: float) -> tuple[Any, Any]:
    """The low and high values of one input: ± spread; an integer is rounded and moves by at least 1."""
    base = _get(scenario, path)
    if isinstance(base, int):
        low, high = round(base * (1 - spread)), round(base * (1 + spread))
        return min(low, base - 1), max(high, base + 1)
    return base * (1 - spread), base * (1 + spread)


def _edited(scenario: Scenario, path: str, value: Any) -> Scenario | None:
    """The scenario with one input changed, or None when the schema does not allow the value there."""
    try:
        return edit(scenario, {path: value})
    except ScenarioError:
        return None


def sensitivity(scenario: Scenario, metric: str = "ttp_days_p90", spread: float = 0.2, replications: int = 10,
                seed: int = 0, *, inputs: Sequence[str] | None = None, backend: str = "process",
                workers: int | None = None, scheduler: Any = None, progress: Progress | None = None,
                timeout: float = DEFAULT_TIMEOUT_S, connect_timeout: float | None = None,
                allow_large: bool = False) -> pd.DataFrame:
    """The tornado table of ``metric``: one row per input, ranked by the size of its swing.

    Columns: ``input``, ``base_value``, ``low_value``, ``high_value``, ``base_mean`` (the metric at the
    base), ``low_delta`` / ``high_delta`` (metric at the low / high value minus the base, paired by
    replication; mean and 95% interval), and ``swing`` (high minus low; mean and 95% interval). A side the
    schema does not allow (a share above 1, a headcount below 0) is left empty and counts as the base in
    the swing. ``inputs`` overrides :func:`numeric_inputs`.
    """
    check_metric(metric)
    check_replications(replications, minimum=2)
    check_seed(seed)
    if not (isinstance(spread, int | float) and 0 < spread <= 1):
        raise SweepError(f"spread: {spread!r} is not allowed; must be a number > 0 and <= 1 (0.2 is ±20%)")
    base = validate(scenario)
    paths = list(inputs) if inputs is not None else numeric_inputs(base)
    variants, scenarios = _variants(base, paths, spread)
    check_budget(scenarios, replications, allow_large)
    rows = run_all(scenarios, replications, seed, backend=backend, workers=workers, scheduler=scheduler,
                   progress=progress, timeout=timeout, connect_timeout=connect_timeout)
    values = np.full((len(scenarios), replications), math.nan)
    for index, r, run_metrics in rows:
        values[index, r] = run_metrics[metric]
    table = _tornado(variants, values)
    table.attrs.update(metric=metric, spread=spread, seed=seed, replications=replications, scenario=base.name)
    return table


def _variants(base: Scenario, paths: Sequence[str], spread: float) -> tuple[list[tuple], list[Scenario]]:
    """Per input (path, low, high, index of low run, index of high run); scenario 0 is the base."""
    problems, variants, scenarios = [], [], [base]
    for path in paths:
        try:
            value = _get(base, path)
        except AttributeError:
            problems.append(f"inputs: {path!r} is not a field of the scenario")
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.append(f"inputs: {path} is not a numeric input (its value is {value!r})")
            continue
        sides, indices = [], []
        for side in varied_values(base, path, spread):
            edited = _edited(base, path, side)
            sides.append(side if edited is not None else None)
            indices.append(len(scenarios) if edited is not None else None)
            if edited is not None:
                scenarios.append(edited)
        variants.append((path, value, *sides, *indices))
    if problems:
        raise SweepError(problems)
    return variants, scenarios


def _tornado(variants: list[tuple], values: np.ndarray) -> pd.DataFrame:
    base_values = values[0]
    records = []
    for path, value, low, high, low_index, high_index in variants:
        low_delta = values[low_index] - base_values if low_index is not None else None
        high_delta = values[high_index] - base_values if high_index is not None else None
        swing = None
        if low_delta is not None or high_delta is not None:
            swing = (high_delta if high_delta is not None else 0.0) - (low_delta if low_delta is not None else 0.0)
        records.append({"input": path, "base_value": value, "low_value": low, "high_value": high,
                        "base_mean": mean_ci(_defined(base_values))["mean"],
                        **_interval("low_delta", low_delta), **_interval("high_delta", high_delta),
                        **_interval("swing", swing)})
    table = pd.DataFrame.from_records(records)
    if table.empty:
        return table
    order = table["swing_mean"].abs().fillna(-1.0).sort_values(ascending=False, kind="stable").index
    table = table.loc[order].reset_index(drop=True)
    table.insert(0, "rank", range(1, len(table) + 1))
    return table


def _defined(values: np.ndarray) -> np.ndarray:
    return values[~np.isnan(values)]


def _interval(name: str, paired: np.ndarray | float | None) -> dict[str, float]:
    if paired is None:
        return {f"{name}_mean": math.nan, f"{name}_ci95_low": math.nan, f"{name}_ci95_high": math.nan}
    ci = mean_ci(_defined(np.asarray(paired, dtype=float)))
    return {f"{name}_mean": ci["mean"], f"{name}_ci95_low": ci["ci95_low"], f"{name}_ci95_high": ci["ci95_high"]}
