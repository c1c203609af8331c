"""A decision between 2–4 scenarios under uncertain inputs: which has the highest expected net value, how often each
is the best, and what removing the uncertainty before deciding would be worth.

The expected value of perfect information is EVPI = E_θ[max_k NB_k(θ)] − max_k E_θ[NB_k(θ)]: what a leader who
could learn every input before choosing would gain, on average, over choosing now. It is 0 when one option is the
best in every draw, and it bounds what any study of the inputs is worth. The value of learning one input alone
(EVPPI) replaces NB_k(θ) by E[NB_k | θ_i], fitted by regression on the draws (Strong, Oakley & Brennan 2014, Med
Decis Making 34:311), with the same cubic fit as the variance shares.

Both rest on each draw's mean over r replications: the simulator's noise in those means adds a little to E[max]
(a maximum of noisy figures is biased upwards), so both are upper estimates, the less so the more replications a
draw has. The options run on common random numbers — the same replications, and the same draws of an input
they share — so their differences carry little of that noise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlorg.scenario import Scenario, ScenarioError, validate
from mlorg.sweeps.execute import DEFAULT_TIMEOUT_S, Progress, run_all
from mlorg.sweeps.grid import SweepError
from mlorg.sweeps.table import check_budget, check_metric, check_replications, check_seed
from mlorg.uncertainty.draws import draw_table, drawn_scenarios
from mlorg.uncertainty.runs import distinct
from mlorg.uncertainty.shares import fitted

MAX_OPTIONS = 4


def evpi(values: np.ndarray) -> float:
    """EVPI of a draws × options array of net values (higher is better)."""
    values = np.asarray(values, dtype=float)
    chosen = int(np.argmax(values.mean(axis=0)))
    # The mean of (best in each draw − the option chosen now) is E[max] − max E, and exactly 0 when the option
    # chosen now is the best in every draw.
    return float(np.mean(values.max(axis=1) - values[:, chosen]))


def evppi(x: np.ndarray, values: np.ndarray) -> float:
    """The expected value of learning one input (its draws ``x``) before choosing: E[max_k g_k(x)] − max_k E[g_k],
    with g_k each option's net value fitted on x, relative to option 0 (differences are less noisy)."""
    values = np.asarray(values, dtype=float)
    increments = values - values[:, [0]]
    g = np.column_stack([np.zeros(len(values))] + [fitted(x, increments[:, k]) for k in range(1, values.shape[1])])
    return max(0.0, float(np.mean(g.max(axis=1)) - np.max(g.mean(axis=0))))


def best_shares(values: np.ndarray) -> np.ndarray:
    """How often each option is the best, over the draws (a tie shares the draw)."""
    values = np.asarray(values, dtype=float)
    best = values == values.max(axis=1, keepdims=True)
    return (best / best.sum(axis=1, keepdims=True)).mean(axis=0)


@dataclass(frozen=True)
class Decision:
    options: tuple[str, ...]  # scenario names
    metric: str
    draws: pd.DataFrame  # one row per draw, one column per uncertain input of any option
    values: pd.DataFrame  # draws × options: each draw's mean of the metric over the replications
    replications: int
    seed: int

    @property
    def table(self) -> pd.DataFrame:
        """Per option: expected value over the draws with its 2.5–97.5% range, and how often it is the best."""
        v = self.values.to_numpy(dtype=float)
        return pd.DataFrame({"option": self.options, "expected": v.mean(axis=0),
                             "low": np.quantile(v, 0.025, axis=0), "high": np.quantile(v, 0.975, axis=0),
                             "best_share": best_shares(v)})

    @property
    def chosen(self) -> str:
        return self.options[int(np.argmax(self.values.to_numpy(dtype=float).mean(axis=0)))]

    @property
    def evpi(self) -> float:
        return evpi(self.values.to_numpy(dtype=float))

    def evppi(self) -> pd.Series:
        """EVPPI of each uncertain input, largest first."""
        v = self.values.to_numpy(dtype=float)
        out = {name: evppi(self.draws[name].to_numpy(dtype=float), v) for name in self.draws.columns}
        return pd.Series(out, dtype=float).sort_values(ascending=False, kind="stable")


def decide(scenarios: Sequence[Scenario], draws: int, replications: int = 10, seed: int = 0, *,
           metric: str = "net_value_usd", backend: str = "process", workers: int | None = None,
           scheduler: Any = None, progress: Progress | None = None, timeout: float = DEFAULT_TIMEOUT_S,
           connect_timeout: float | None = None, allow_large: bool = False) -> Decision:
    """Run each option at ``draws`` draws of its uncertain inputs (an input uncertain in several options draws the
    same values in each), ``replications`` each, and weigh them on ``metric`` (higher is better)."""
    if not 2 <= len(scenarios) <= MAX_OPTIONS:
        raise SweepError(f"options: {len(scenarios)} scenarios is not allowed; a decision weighs 2 to {MAX_OPTIONS}")
    check_metric(metric)
    check_replications(replications, minimum=1)
    check_seed(seed)
    options = [validate(s) for s in scenarios]
    names = [s.name for s in options]
    if len(set(names)) != len(names):
        raise SweepError(f"options: {', '.join(names)}: each option needs its own scenario name")
    if not any(s.uncertain for s in options):
        raise ScenarioError("no option has an uncertain input, so there is nothing to learn (EVPI is 0); mark the "
                            "inputs you are unsure of with uncertain = { dist = ..., ... }")
    tables = [draw_table(s, draws, seed) for s in options]
    per_option = [drawn_scenarios(s, t) if s.uncertain else [s] * draws for s, t in zip(options, tables, strict=True)]
    unique, flat = distinct([s for drawn in per_option for s in drawn])
    index_of = [flat[k * draws:(k + 1) * draws] for k in range(len(options))]
    check_budget(unique, replications, allow_large)
    rows = run_all(unique, replications, seed, backend=backend, workers=workers, scheduler=scheduler,
                   progress=progress, timeout=timeout, connect_timeout=connect_timeout)
    sums = np.zeros(len(unique))
    counts = np.zeros(len(unique))
    for index, _, run_metrics in rows:
        value = run_metrics[metric]
        if not math.isnan(value):
            sums[index] += value
            counts[index] += 1
    means = np.divide(sums, counts, out=np.full(len(unique), math.nan), where=counts > 0)
    values = pd.DataFrame({name: means[idx] for name, idx in zip(names, index_of, strict=True)},
                          index=pd.RangeIndex(draws, name="draw"))
    if values.isna().any().any():
        raise SweepError(f"{metric}: undefined in some draws (no replication defines it); weigh the options on a "
                         "metric every run has, such as net_value_usd")
    inputs = pd.concat(tables, axis=1)
    inputs = inputs.loc[:, ~inputs.columns.duplicated()]  # a shared input's draws are the same in every option
    return Decision(tuple(names), metric, inputs, values, replications, seed)
