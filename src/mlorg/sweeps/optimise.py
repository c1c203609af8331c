"""Goal-seeking: the best grid cell (by default the highest net value) whose target holds with 95% confidence.

A cell meets ``ttp_days_p90<=30`` when the one-sided 95% upper bound of its mean p90 TTP is at most 30
(for ``>=``, the lower bound at least the value), and the metric is defined in every replication (a cell
that ships nothing in some replication has no TTP there, and does not meet a TTP target). Among the cells
that meet it, the pick has the highest mean of the metric to maximise, or the lowest of the one to minimise
(on a tie, the one further inside the target); the runners-up follow, each with its paired difference from
the pick (replications share random streams, so the interval is tight). Each cell is judged on its own: one
whose true mean sits right at the target passes with probability at most 5%, so among many such cells one may
pass by chance.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from mlorg.results import mean_ci
from mlorg.scenario import Scenario
from mlorg.sweeps.execute import DEFAULT_TIMEOUT_S, Progress
from mlorg.sweeps.grid import SweepError, Value
from mlorg.sweeps.table import cell_values, check_metric, check_replications, parameters, sweep

OPERATORS = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt}
_TARGET = re.compile(r"^\s*(?P<metric>[a-z0-9_]+)\s*(?P<op><=|>=|<|>)\s*(?P<value>\S+)\s*$")


@dataclass(frozen=True)
class Target:
    metric: str
    op: str
    value: float

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.value:g}"

    @property
    def upper(self) -> bool:
        """True when the target caps the metric (<=, <): the upper confidence bound must meet it."""
        return self.op in ("<=", "<")


def parse_target(text: str) -> Target:
    match = _TARGET.match(text)
    value = None
    if match:
        try:
            value = float(match["value"])
        except ValueError:
            value = None
    if match is None or value is None or not math.isfinite(value):
        raise SweepError(f"target: {text!r} is not allowed; must be METRIC<=VALUE (or <, >=, >), e.g. "
                         "ttp_days_p90<=30")
    return Target(check_metric(match["metric"], "target"), match["op"], value)


DEFAULT_OBJECTIVE = "net_value_usd"


@dataclass(frozen=True)
class Objective:
    """The metric the pick is best at, and which way is better."""

    metric: str = DEFAULT_OBJECTIVE
    maximise: bool = True

    @property
    def verb(self) -> str:
        return "maximise" if self.maximise else "minimise"

    def __str__(self) -> str:
        return f"{self.verb} {self.metric}"


def objective_of(maximise: str | None = None, minimise: str | None = None) -> Objective:
    """The objective from a maximise or a minimise metric (not both); net value, maximised, by default."""
    if maximise is not None and minimise is not None:
        raise SweepError(f"minimise: {minimise!r} is not allowed together with maximise ({maximise!r}); give one")
    if minimise is not None:
        return Objective(check_metric(minimise, "minimise"), maximise=False)
    return Objective(check_metric(maximise or DEFAULT_OBJECTIVE, "maximise"), maximise=True)


@dataclass(frozen=True)
class Optimum:
    """The result of :func:`optimise`: the pick (None when no cell meets the target), the runners-up, and
    the evidence for every cell."""

    target: Target
    objective: Objective
    confidence: float
    best: pd.Series | None
    runners_up: pd.DataFrame  # the next cells that meet the target, best first, with paired differences (runner − pick)
    cells: pd.DataFrame  # every cell: its values, the target's mean and bound, whether it meets it, the objective
    table: pd.DataFrame  # the sweep itself: one row per (cell, replication)

    @property
    def parameters(self) -> list[str]:
        return parameters(self.table)


def optimise(scenario: Scenario, grid: Mapping[str, str | Sequence[Value]], target: str | Target,
             objective: Objective | None = None, replications: int = 10, seed: int = 0, *,
             confidence: float = 0.95, runners_up: int = 3, backend: str = "process", workers: int | None = None,
             scheduler: Any = None, progress: Progress | None = None, timeout: float = DEFAULT_TIMEOUT_S,
             connect_timeout: float | None = None, allow_large: bool = False) -> Optimum:
    """Sweep ``grid`` and pick the cell with the best mean ``objective`` (by default the highest net value) among
    those meeting ``target``."""
    target = parse_target(target) if isinstance(target, str) else target
    objective = objective or Objective()
    check_metric(objective.metric, objective.verb)
    check_replications(replications, minimum=2)  # a confidence bound needs two replications
    if not (isinstance(confidence, float) and 0.5 <= confidence < 1):
        raise SweepError(f"confidence: {confidence!r} is not allowed; must be a number >= 0.5 and < 1")
    table = sweep(scenario, grid, replications, seed, backend=backend, workers=workers, scheduler=scheduler,
                  progress=progress, timeout=timeout, connect_timeout=connect_timeout, allow_large=allow_large)
    evidence = judge_cells(table, target, objective, confidence)
    feasible = evidence[evidence["meets_target"]]
    best = feasible.iloc[0] if len(feasible) else None
    others = feasible.iloc[1:1 + runners_up].copy()
    if best is not None:
        _add_paired_difference(others, table, int(best["cell"]), objective.metric)
    return Optimum(target, objective, confidence, best, others.reset_index(drop=True), evidence, table)


def judge_cells(table: pd.DataFrame, target: Target, objective: Objective, confidence: float = 0.95) -> pd.DataFrame:
    """Per cell: the target metric's mean and one-sided bound, whether the target holds, and the objective
    (mean and 95% interval); sorted with the cells that meet the target first, best first."""
    params = parameters(table)
    records = []
    for cell, group in table.groupby("cell", sort=True):
        values = group[target.metric].to_numpy(dtype=float)
        defined = values[~np.isnan(values)]
        bound = one_sided_bound(defined, confidence, upper=target.upper)
        holds = len(defined) == len(values) and math.isfinite(bound) and OPERATORS[target.op](bound, target.value)
        score = mean_ci(group[objective.metric].dropna().to_numpy(dtype=float))
        records.append({"cell": cell, **cell_values(group, params),
                        "target_mean": float(np.mean(defined)) if len(defined) else math.nan,
                        "target_bound": bound, "target_defined": len(defined), "meets_target": bool(holds),
                        "objective_mean": score["mean"], "objective_ci95_low": score["ci95_low"],
                        "objective_ci95_high": score["ci95_high"], "replications": len(values)})
    evidence = pd.DataFrame.from_records(records)
    # Equal objective (two roles at one salary, say): the cell further inside the target first.
    evidence = evidence.sort_values(["meets_target", "objective_mean", "target_mean", "cell"],
                                    ascending=[False, not objective.maximise, target.upper, True], kind="stable",
                                    na_position="last")
    return evidence.reset_index(drop=True)


def one_sided_bound(values: np.ndarray, confidence: float, *, upper: bool) -> float:
    """The one-sided Student-t confidence bound of the mean (upper, or lower); NaN with fewer than 2 values."""
    n = len(values)
    if n < 2:
        return math.nan
    half = float(stats.t.ppf(confidence, n - 1) * np.std(values, ddof=1) / math.sqrt(n))
    mean = float(np.mean(values))
    return mean + half if upper else mean - half


def _add_paired_difference(others: pd.DataFrame, table: pd.DataFrame, best_cell: int, metric: str) -> None:
    best = table[table["cell"] == best_cell].set_index("replication")[metric]
    rows = []
    for cell in others["cell"]:
        diff = table[table["cell"] == cell].set_index("replication")[metric] - best
        rows.append(mean_ci(diff.dropna().to_numpy(dtype=float)))
    others["extra_mean"] = [r["mean"] for r in rows]
    others["extra_ci95_low"] = [r["ci95_low"] for r in rows]
    others["extra_ci95_high"] = [r["ci95_high"] for r in rows]
