"""Saved runs in an embedded DuckDB file (``data/mlorg.duckdb`` unless told otherwise).

Each save is one transaction, so a failure part-way leaves earlier runs as they were. A connection is
opened per call: Streamlit serves each browser session from its own thread, and DuckDB connections must
not be shared across threads.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from mlorg import __version__, file_kind
from mlorg.results import Replications
from mlorg.scenario import Scenario, loads, to_toml

DEFAULT_DB = Path("data") / "mlorg.duckdb"
KIND = "an mlorg run store"
SCHEMA_VERSION = "1"
TABLES = {"runs", "run_metrics", "run_replications"}

SCHEMA = """
CREATE SEQUENCE IF NOT EXISTS run_ids START 1;
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY DEFAULT nextval('run_ids'),
    created_at TIMESTAMP NOT NULL,
    label TEXT NOT NULL,
    scenario_name TEXT NOT NULL,
    seed BIGINT NOT NULL,
    replications INTEGER NOT NULL,
    horizon_days DOUBLE NOT NULL,
    scenario_toml TEXT NOT NULL,
    mlorg_version TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS run_metrics (
    run_id INTEGER NOT NULL,
    metric TEXT NOT NULL,
    mean DOUBLE, ci95_low DOUBLE, ci95_high DOUBLE, n INTEGER,
    PRIMARY KEY (run_id, metric)
);
CREATE TABLE IF NOT EXISTS run_replications (
    run_id INTEGER NOT NULL,
    replication INTEGER NOT NULL,
    metric TEXT NOT NULL,
    value DOUBLE,
    PRIMARY KEY (run_id, replication, metric)
);
"""


LIST_COLUMNS = ["run_id", "created_at", "label", "scenario_name", "seed", "replications", "horizon_days",
                "ttp_days_median", "models_shipped"]


class StoreError(RuntimeError):
    """The run store cannot be opened or does not hold what was asked for."""


# Waiting for a store another process has open: DuckDB lets one process hold a file, and a save holds it for
# milliseconds, so a short wait with backoff turns "Could not set lock" into a queue; past the limit it is an error.
LOCK_WAIT_SECONDS = 10.0
# Saves in this process (one per app session thread) go one at a time: concurrent writers on one DuckDB database
# conflict ("write-write conflict") and one of them would fail.
_SAVE_LOCKS: dict[Path, threading.Lock] = {}
_SAVE_LOCKS_GUARD = threading.Lock()


def _save_lock(path: Path) -> threading.Lock:
    with _SAVE_LOCKS_GUARD:
        return _SAVE_LOCKS.setdefault(path.resolve(), threading.Lock())


def default_db_path() -> Path:
    return Path(os.environ.get("MLORG_DB", DEFAULT_DB))


@dataclass(frozen=True)
class SavedRun:
    run_id: int
    label: str
    scenario: Scenario
    seed: int
    replications: int
    created_at: datetime
    summary: pd.DataFrame  # index metric; mean, ci95_low, ci95_high, n
    per_replication: pd.DataFrame  # index replication; one column per metric


class RunStore:
    """Runs saved in one DuckDB file."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path is not None else default_db_path()

    def _connect(self) -> duckdb.DuckDBPyConnection:
        deadline, pause = time.monotonic() + LOCK_WAIT_SECONDS, 0.02
        while True:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                con = duckdb.connect(str(self.path))
                break
            except duckdb.IOException as exc:
                locked = "lock" in str(exc).lower()
                if not locked or time.monotonic() + pause > deadline:
                    busy = f" (another process holds it; waited {LOCK_WAIT_SECONDS:g} s)" if locked else ""
                    raise StoreError(f"cannot open run store {self.path}{busy}: {exc}") from None
                time.sleep(pause)
                pause = min(2 * pause, 0.5)
            except (OSError, duckdb.Error) as exc:
                raise StoreError(f"cannot open run store {self.path}: {exc}") from None
        try:
            file_kind.claim(con, self.path, KIND, SCHEMA_VERSION, TABLES)
            con.execute(SCHEMA)
        except file_kind.WrongKind as exc:
            con.close()
            raise StoreError(str(exc)) from None
        except duckdb.Error as exc:
            con.close()
            raise StoreError(f"cannot open run store {self.path}: {exc}") from None
        return con

    def find(self, replications: Replications) -> int | None:
        """The id of a saved run identical to this one (same scenario, seed, replications and mlorg version), or
        None. Runs are reproducible, so an identical run holds the same figures and is not stored twice."""
        if not self.path.exists():
            return None
        con = self._connect()
        try:
            rows = con.execute("SELECT run_id FROM runs WHERE scenario_toml = ? AND seed = ? AND replications = ? "
                               "AND mlorg_version = ? ORDER BY run_id LIMIT 1",
                               [to_toml(replications.scenario), replications.seed, replications.n,
                                __version__]).fetchall()
        finally:
            con.close()
        return int(rows[0][0]) if rows else None

    def save(self, replications: Replications, label: str = "") -> int:
        """Store a replicated run and return its id; an identical run already saved is not stored again (its id
        is returned: see :meth:`find`)."""
        with _save_lock(self.path):
            return self._save(replications, label)

    def _save(self, replications: Replications, label: str) -> int:
        existing = self.find(replications)
        if existing is not None:
            return existing
        summary = replications.summary.reset_index()
        long = (replications.per_replication.reset_index()
                .melt(id_vars="replication", var_name="metric", value_name="value"))
        scenario = replications.scenario
        con = self._connect()
        try:
            con.begin()
            run_id = con.execute(
                "INSERT INTO runs (created_at, label, scenario_name, seed, replications, horizon_days, "
                "scenario_toml, mlorg_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING run_id",
                [datetime.now(UTC).replace(tzinfo=None), label or scenario.name, scenario.name,
                 replications.seed, replications.n, scenario.horizon_days, to_toml(scenario), __version__],
            ).fetchall()[0][0]
            summary.insert(0, "run_id", run_id)
            long.insert(0, "run_id", run_id)
            con.register("summary_frame", summary)
            con.register("long_frame", long)
            con.execute("INSERT INTO run_metrics SELECT run_id, metric, mean, ci95_low, ci95_high, n "
                        "FROM summary_frame")
            con.execute("INSERT INTO run_replications SELECT run_id, replication, metric, value FROM long_frame")
            con.commit()
        except duckdb.Error as exc:
            con.rollback()
            raise StoreError(f"could not save the run to {self.path}: {exc}") from None
        except BaseException:
            con.rollback()
            raise
        finally:
            con.close()
        return int(run_id)

    def list(self) -> pd.DataFrame:
        """Saved runs, newest first, with their headline figures (none if the file does not exist yet)."""
        if not self.path.exists():
            return pd.DataFrame(columns=LIST_COLUMNS)
        con = self._connect()
        try:
            return con.execute(
                "SELECT r.run_id, r.created_at, r.label, r.scenario_name, r.seed, r.replications, "
                "r.horizon_days, "
                "max(CASE WHEN m.metric = 'ttp_days_median' THEN m.mean END) AS ttp_days_median, "
                "max(CASE WHEN m.metric = 'models_shipped' THEN m.mean END) AS models_shipped "
                "FROM runs r LEFT JOIN run_metrics m USING (run_id) "
                "GROUP BY ALL ORDER BY r.run_id DESC").df()
        finally:
            con.close()

    def load(self, run_id: int) -> SavedRun:
        con = self._connect()
        try:
            rows = con.execute("SELECT label, scenario_toml, seed, replications, created_at FROM runs "
                               "WHERE run_id = ?", [run_id]).fetchall()
            if not rows:
                raise StoreError(f"run {run_id} is not in {self.path}")
            label, scenario_toml, seed, n, created_at = rows[0]
            summary = con.execute("SELECT metric, mean, ci95_low, ci95_high, n FROM run_metrics "
                                  "WHERE run_id = ? ORDER BY rowid", [run_id]).df().set_index("metric")
            long = con.execute("SELECT replication, metric, value FROM run_replications WHERE run_id = ? "
                               "ORDER BY rowid", [run_id]).df()
        finally:
            con.close()
        per_replication = long.pivot(index="replication", columns="metric", values="value")
        per_replication = per_replication[list(dict.fromkeys(long["metric"]))]
        per_replication.columns.name = None
        per_replication.index = per_replication.index.astype("int64")
        return SavedRun(run_id, label, loads(scenario_toml, source=f"run {run_id}"), int(seed), int(n),
                        created_at, summary, per_replication)

