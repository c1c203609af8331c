"""Replications over draws of the uncertain inputs (probabilistic sensitivity analysis): N draws × r replications.

Draw d of the inputs runs replications 0 … r-1, the same replications as the point values and every other draw
(common random numbers), so what differs between draws is the inputs, not the noise. A scenario with no uncertain
input is run once, as ``mlorg run`` runs it, and its interval with input uncertainty is today's interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from mlorg.metric_table import METRICS
from mlorg.results import metric_interval
from mlorg.scenario import Scenario, validate
from mlorg.sweeps.execute import DEFAULT_TIMEOUT_S, Progress, run_all
from mlorg.sweeps.table import check_budget, check_replications, check_seed
from mlorg.uncertainty.draws import draw_table, drawn_scenarios
from mlorg.uncertainty.intervals import mixture_interval
from mlorg.uncertainty.shares import variance_shares


@dataclass(frozen=True)
class UncertainRuns:
    """The runs of one scenario at its point values and at each draw of its uncertain inputs."""

    scenario: Scenario
    seed: int
    replications: int
    draws: pd.DataFrame  # one row per draw, one column per uncertain input
    base: pd.DataFrame  # one row per replication at the point values: today's run
    runs: pd.DataFrame  # index (draw, replication), one column per metric

    @property
    def uncertain(self) -> bool:
        return len(self.draws.columns) > 0

    @property
    def n_draws(self) -> int:
        return len(self.draws)

    def draw_means(self, metric: str) -> pd.Series:
        """Each draw's mean of ``metric`` over its replications (NaN where no replication defines it)."""
        return self.runs[metric].groupby(level="draw").mean()

    def draw_noise(self, metric: str) -> pd.Series:
        """The variance of each draw's mean that is the simulator's noise: its replications' variance over r."""
        by_draw = self.runs[metric].groupby(level="draw")
        return by_draw.var(ddof=1) / by_draw.count()

    @property
    def summary(self) -> pd.DataFrame:
        """Per metric: today's mean and 95% interval over the point values' replications, and the mean over the
        draws and the 95% interval that includes input uncertainty (equal to today's with no input uncertain)."""
        rows = []
        for name in self.base.columns:
            today = metric_interval(name, self.base[name].dropna().to_numpy(dtype=float))
            if self.uncertain:
                groups = [g.to_numpy(dtype=float) for _, g in self.runs[name].groupby(level="draw")]
                low, high = _clipped(name, mixture_interval(groups))
                inputs = {"mean_with_inputs": float(self.draw_means(name).mean()), "low_with_inputs": low,
                          "high_with_inputs": high}
            else:
                inputs = {"mean_with_inputs": today["mean"], "low_with_inputs": today["ci95_low"],
                          "high_with_inputs": today["ci95_high"]}
            rows.append({"metric": name, **today, **inputs})
        return pd.DataFrame(rows).set_index("metric")


def _clipped(name: str, interval: tuple[float, float]) -> tuple[float, float]:
    metric = METRICS.get(name)
    if metric is None:
        return interval
    return tuple(min(max(v, metric.lo), metric.hi) if math.isfinite(v) else v for v in interval)  # type: ignore


def run_uncertain(scenario: Scenario, draws: int, replications: int = 10, seed: int = 0, *,
                  backend: str = "process", workers: int | None = None, scheduler: Any = None,
                  progress: Progress | None = None, timeout: float = DEFAULT_TIMEOUT_S,
                  connect_timeout: float | None = None, allow_large: bool = False) -> UncertainRuns:
    """Run ``scenario`` at its point values and at ``draws`` draws of its uncertain inputs, ``replications`` each,
    on the sweeps' machinery (a process pool by default; the same rows on any backend)."""
    check_replications(replications, minimum=1)
    check_seed(seed)
    scenario = validate(scenario)
    table = draw_table(scenario, draws, seed)
    point = scenario.replace(uncertain=())
    scenarios = [point, *(drawn_scenarios(scenario, table) if scenario.uncertain else ())]
    unique, index_of = distinct(scenarios)
    check_budget(unique, replications, allow_large)
    rows = run_all(unique, replications, seed, backend=backend, workers=workers, scheduler=scheduler,
                   progress=progress, timeout=timeout, connect_timeout=connect_timeout)
    by_scenario = _frames(rows, len(unique))
    base = by_scenario[index_of[0]]
    runs = pd.concat({d: by_scenario[index_of[1 + d] if scenario.uncertain else index_of[0]] for d in range(draws)},
                     names=["draw"])
    return UncertainRuns(point, seed, replications, table, base, runs)


def distinct(scenarios: Sequence[Scenario]) -> tuple[list[Scenario], list[int]]:
    """Each distinct scenario once (an integer input drawn to the same value twice is run once), and where each
    of ``scenarios`` went."""
    seen: dict[Scenario, int] = {}
    index_of = [seen.setdefault(s, len(seen)) for s in scenarios]
    return list(seen), index_of


def _frames(rows: list[tuple[int, int, dict[str, float]]], n_scenarios: int) -> list[pd.DataFrame]:
    grouped: list[list[dict[str, float]]] = [[] for _ in range(n_scenarios)]
    for index, r, run_metrics in rows:  # run_all sorts rows by (scenario, replication)
        grouped[index].append({"replication": r, **run_metrics})
    return [pd.DataFrame(g).set_index("replication") for g in grouped]



def shares_of(runs: UncertainRuns, metric: str) -> pd.DataFrame:
    """The variance shares of ``metric`` over the draws (:func:`~mlorg.uncertainty.shares.variance_shares`), with
    the simulator's part of each draw's mean as the noise."""
    means = runs.draw_means(metric)
    noise = runs.draw_noise(metric)
    return variance_shares(runs.draws, means.to_numpy(dtype=float),
                           noise_variance=float(noise.mean()) if noise.notna().any() else None, seed=runs.seed)
