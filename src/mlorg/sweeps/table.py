"""The sweep: every grid cell × replication as one tidy table, its per-cell summary, and its files."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from mlorg import __version__, budget
from mlorg.metric_table import METRIC_DOCS
from mlorg.results import MAX_REPLICATIONS, metric_interval
from mlorg.scenario import Scenario
from mlorg.sweeps.execute import DEFAULT_TIMEOUT_S, Progress, Row, run_all
from mlorg.sweeps.grid import Cell, SweepError, Value, cells

FORMATS = (".csv", ".parquet", ".duckdb")
DUCKDB_TABLE = "sweep"


def sweep(scenario: Scenario, grid: Mapping[str, str | Sequence[Value]], replications: int = 10, seed: int = 0, *,
          backend: str = "process", workers: int | None = None, scheduler: Any = None,
          progress: Progress | None = None, timeout: float = DEFAULT_TIMEOUT_S,
          connect_timeout: float | None = None, allow_large: bool = False) -> pd.DataFrame:
    """Run ``replications`` of every cell of ``grid`` and return one row per (cell, replication).

    ``grid`` maps dotted field paths to values (a list, or a spec such as ``"0..8"`` or ``"1,2,4"``). The
    columns are ``cell``, one per varied path, ``replication``, then every run metric. Replication r of
    every cell shares its random streams (common random numbers), so cells differ by their inputs, not
    by luck. ``backend`` is ``"process"`` (a local process pool of ``workers``, default all cores),
    ``"serial"`` (this process) or ``"dask"`` (``scheduler``: an address, a ``distributed.Client`` or
    cluster, or None for a local cluster); the table is the same whichever runs it. ``progress(done,
    total)`` is called as runs finish; an exception raised from it cancels the sweep and reaches the caller.
    """
    check_replications(replications)
    check_seed(seed)
    grid_cells = cells(scenario, grid)
    check_budget([c.scenario for c in grid_cells], replications, allow_large)
    rows = run_all([c.scenario for c in grid_cells], replications, seed, backend=backend, workers=workers,
                   scheduler=scheduler, progress=progress, timeout=timeout, connect_timeout=connect_timeout)
    table = tidy(grid_cells, rows)
    table.attrs.update(scenario=scenario.name, seed=seed, replications=replications, mlorg_version=__version__)
    return table


def check_budget(scenarios: Sequence[Scenario], replications: int, allow_large: bool) -> None:
    """The work budget (:mod:`mlorg.budget`) over every cell: each cell's replications, and all of them together."""
    if allow_large:
        return
    largest = max(scenarios, key=lambda s: budget.estimate(s).models_per_replication)
    budget.check(largest, 1)  # the largest cell's replication; then every cell's replications together
    total = sum(budget.estimate(s, replications).models for s in scenarios)
    if total > budget.MAX_MODELS:
        raise budget.OverBudget(f"{largest.name}: this sweep would train up to {total:,.0f} models over "
                                f"{len(scenarios)} cells × {replications} replications; the budget is "
                                f"{budget.MAX_MODELS:,} in all. Fewer cells or replications fit; --allow-large runs "
                                "it anyway")


def check_replications(replications: int, minimum: int = 1) -> None:
    if (not isinstance(replications, int) or isinstance(replications, bool)
            or not minimum <= replications <= MAX_REPLICATIONS):
        raise SweepError(f"replications: {replications!r} is not allowed; must be an integer >= {minimum} and "
                         f"<= {MAX_REPLICATIONS}")


def check_seed(seed: int) -> None:
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**63:
        raise SweepError(f"seed: {seed!r} is not allowed; must be an integer >= 0 and < 2**63")


def check_metric(name: str, where: str = "metric") -> str:
    if name not in METRIC_DOCS:
        import difflib

        close = difflib.get_close_matches(name, list(METRIC_DOCS), n=1, cutoff=0.6)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise SweepError(f"{where}: {name!r} is not allowed; must be the name of a run metric, such as "
                         f"ttp_days_p90 or total_cost_usd{hint}")
    return name


def tidy(grid_cells: Sequence[Cell], rows: Sequence[Row]) -> pd.DataFrame:
    paths = list(grid_cells[0].values)
    records = [{"cell": index, **grid_cells[index].values, "replication": r, **values}
               for index, r, values in rows]
    table = pd.DataFrame.from_records(records, columns=["cell", *paths, "replication", *rows[0][2]])
    return table


def parameters(table: pd.DataFrame) -> list[str]:
    """The varied paths of a sweep table: the columns between ``cell`` and ``replication``."""
    columns = list(table.columns)
    return columns[columns.index("cell") + 1: columns.index("replication")]


def cell_values(group: pd.DataFrame, params: Sequence[str]) -> dict[str, Any]:
    """The varied values of one cell's rows, each keeping its column's type (a row would upcast ints)."""
    return {p: group[p].iloc[0] for p in params}


def summarise_cells(table: pd.DataFrame, metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """Mean and Student-t 95% interval of each metric in each cell (clipped to the metric's range): one row per
    (cell, metric)."""
    params = parameters(table)
    names = list(metrics) if metrics is not None else [c for c in table.columns if c in METRIC_DOCS]
    for name in names:
        check_metric(name)
    records = []
    for cell, group in table.groupby("cell", sort=True):
        values = cell_values(group, params)
        for name in names:
            records.append({"cell": cell, **values, "metric": name,
                            **metric_interval(name, group[name].dropna().to_numpy(dtype=float))})
    return pd.DataFrame.from_records(records, columns=["cell", *params, "metric", "mean", "ci95_low", "ci95_high",
                                                       "n"])


def write_table(table: pd.DataFrame, path: str | Path) -> Path:
    """Write a sweep table to ``.csv``, ``.parquet`` (through DuckDB) or a ``.duckdb`` file (table ``sweep``)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise SweepError(f"out: {str(path)!r} is not allowed; must end in {', '.join(FORMATS)}")
    if suffix == ".csv":
        table.to_csv(path, index=False)
        return path
    import duckdb

    with duckdb.connect(str(path) if suffix == ".duckdb" else ":memory:") as con:
        con.register("sweep_frame", table)
        if suffix == ".duckdb":
            con.execute(f"CREATE OR REPLACE TABLE {DUCKDB_TABLE} AS SELECT * FROM sweep_frame")
        else:
            # Recorded in the file's key-value metadata, so a parquet file says what made it.
            meta = ", ".join(f"{key}: '{_sql_text(value)}'" for key, value in table.attrs.items())
            options = f", KV_METADATA {{{meta}}}" if meta else ""
            con.execute(f"COPY sweep_frame TO '{_sql_text(path)}' (FORMAT parquet{options})")
    return path


def _sql_text(value: Any) -> str:
    return str(value).replace("'", "''")


def read_table(path: str | Path) -> pd.DataFrame:
    """A sweep table written by :func:`write_table`, back as a DataFrame."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return pd.read_csv(path)
    import duckdb

    with duckdb.connect(str(path) if suffix == ".duckdb" else ":memory:", read_only=suffix == ".duckdb") as con:
        source = DUCKDB_TABLE if suffix == ".duckdb" else f"read_parquet('{_sql_text(path)}')"
        return con.execute(f"SELECT * FROM {source}").df()


def finite_or_none(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x
