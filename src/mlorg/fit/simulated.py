"""The deploy history a simulated organisation would have written: one row per trained model version.

The fit compares these rows with a real history through the same statistics, so both pass through one shape:
model_id, version, kind, team, trained_day, deployed_day (NaN: never), retired_day (NaN: still serving). The
example history (``data/example_history.csv``) is these rows from a known scenario, written with dates.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from mlorg.scenario import Scenario, validate
from mlorg.sim import HOURS_PER_DAY, SimOutput, run_once

COLUMNS = ["model_id", "version", "kind", "team", "trained_day", "deployed_day", "retired_day"]


def simulated_rows(out: SimOutput) -> pd.DataFrame:
    """One row per version a run trained. Version 1 is the model; version k+1 is its k-th retrain, deployed with
    its (k+1)-th go-live. A version stops serving when the next one goes live or the model retires."""
    retrained: dict[int, list[float]] = {}
    live: dict[int, list[float]] = {}
    for time, event, model, _worker, _detail in out.events:
        if event == "retrained":
            retrained.setdefault(model, []).append(time / HOURS_PER_DAY)
        elif event == "live":
            live.setdefault(model, []).append(time / HOURS_PER_DAY)
    rows = []
    for m in out.models:
        trained = [m.trained_at / HOURS_PER_DAY, *retrained.get(m.id, ())]
        deployed = live.get(m.id, [])
        retired = m.retired_at / HOURS_PER_DAY
        for k, trained_day in enumerate(trained):
            deployed_day = deployed[k] if k < len(deployed) else math.nan
            if math.isnan(deployed_day):
                retired_day = math.nan
            elif k + 1 < len(deployed):
                retired_day = deployed[k + 1]
            else:
                retired_day = retired
            rows.append((f"m{m.id:04d}", k + 1, "new" if k == 0 else "retrain", m.traits.model_class.name,
                         trained_day, deployed_day, retired_day))
    return pd.DataFrame.from_records(rows, columns=COLUMNS)


def simulate_history(scenario: Scenario, seed: int = 0, replication: int = 0) -> pd.DataFrame:
    """The rows of one replication of ``scenario`` (valid scenario assumed checked by the caller)."""
    return simulated_rows(run_once(scenario, seed, replication))


def dated(rows: pd.DataFrame, start: pd.Timestamp) -> pd.DataFrame:
    """The rows as a history file has them: dates to the minute, empty where a version never deployed or
    retired."""
    def when(days: pd.Series) -> pd.Series:
        stamps = start + pd.to_timedelta(days, unit="D")
        return stamps.dt.strftime("%Y-%m-%d %H:%M").where(days.notna(), "")

    return pd.DataFrame({"model_id": rows["model_id"], "version": rows["version"],
                         "trained_at": when(rows["trained_day"]), "deployed_at": when(rows["deployed_day"]),
                         "retired_at": when(rows["retired_day"]), "team": rows["team"], "kind": rows["kind"]})


def generate_history(scenario: Scenario, seed: int, start: str = "2024-01-01") -> pd.DataFrame:
    """A history file's rows, as the organisation of ``scenario`` would have recorded them from ``start``."""
    rows = simulate_history(validate(scenario), seed)
    return dated(rows.sort_values(["trained_day", "model_id"], kind="stable"), pd.Timestamp(start))


def history_end(rows: pd.DataFrame) -> float:
    """The last day anything happened in the rows."""
    values = rows[["trained_day", "deployed_day", "retired_day"]].to_numpy(dtype=float)
    return float(np.nanmax(values)) if values.size else 0.0
