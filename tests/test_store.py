"""The DuckDB run store: round trips, ids, atomic saves and readable errors."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from mlorg.results import Replications, replicate
from mlorg.scenario import Hire, Org, load
from mlorg.store import RunStore, StoreError, default_db_path

SCENARIO_DIR = Path(__file__).resolve().parents[1] / "scenarios"


@pytest.fixture(scope="module")
def reps() -> Replications:
    scenario = load(SCENARIO_DIR / "first_mle.toml").replace(horizon_days=90.0)
    return replicate(scenario, 3, seed=5, keep_runs=False)


@pytest.fixture(scope="module")
def reps_with_hiring() -> Replications:
    scenario = load(SCENARIO_DIR / "notebook_shipping.toml")
    scenario = scenario.replace(horizon_days=60.0, org=Org(
        data_scientists=2, hiring=(Hire(day=20.0, role="ml_engineer", count=1),)))
    return replicate(scenario, 2, seed=9, keep_runs=False)


@pytest.fixture
def store(tmp_path) -> RunStore:
    return RunStore(tmp_path / "nested" / "runs.duckdb")


def test_save_and_load_round_trip(store, reps):
    before = datetime.now()
    run_id = store.save(reps, label="baseline")
    saved = store.load(run_id)
    assert (saved.run_id, saved.label, saved.seed, saved.replications) == (run_id, "baseline", 5, 3)
    assert saved.scenario == reps.scenario
    pd.testing.assert_frame_equal(saved.per_replication, reps.per_replication)
    # DuckDB gives the count column back as int32; the values are what was saved.
    pd.testing.assert_frame_equal(saved.summary, reps.summary, check_dtype=False)
    assert saved.summary["n"].tolist() == reps.summary["n"].tolist()
    assert saved.summary.index.tolist() == reps.summary.index.tolist()
    # created_at is naive UTC; allow for the local clock being ahead of or behind UTC by up to a day.
    assert abs((saved.created_at - before).total_seconds()) < 86_400
    assert store.path.exists()


def test_round_trip_of_a_scenario_with_a_hiring_plan(store, reps_with_hiring):
    saved = store.load(store.save(reps_with_hiring))
    assert saved.scenario == reps_with_hiring.scenario
    assert saved.scenario.org.hiring == (Hire(day=20.0, role="ml_engineer", count=1),)
    assert saved.label == "notebook_shipping"  # the scenario name when no label is given
    pd.testing.assert_frame_equal(saved.per_replication, reps_with_hiring.per_replication)


def test_ids_increase_and_list_is_newest_first(store, reps, reps_with_hiring):
    other_seed = replicate(reps.scenario, 3, seed=6, keep_runs=False)
    ids = [store.save(reps, label="a"), store.save(reps_with_hiring, label="b"), store.save(other_seed, label="c")]
    assert ids == sorted(ids) and len(set(ids)) == 3
    listed = store.list()
    assert listed["run_id"].tolist() == ids[::-1]
    assert listed["label"].tolist() == ["c", "b", "a"]
    assert listed["scenario_name"].tolist() == ["first_mle", "notebook_shipping", "first_mle"]
    assert listed["seed"].tolist() == [6, 9, 5]
    assert listed["replications"].tolist() == [3, 2, 3]
    assert listed["horizon_days"].tolist() == [90.0, 60.0, 90.0]
    assert listed["models_shipped"].iloc[-1] == reps.summary.loc["models_shipped", "mean"]
    # Loading one run returns that run's figures, not another's.
    middle = store.load(ids[1])
    assert (middle.label, middle.seed) == ("b", 9)
    pd.testing.assert_frame_equal(middle.per_replication, reps_with_hiring.per_replication)


def test_an_identical_run_is_saved_once(store, reps, reps_with_hiring):
    assert store.find(reps) is None  # no file yet: nothing is created by asking
    assert not store.path.exists()
    first = store.save(reps, label="first")
    assert store.find(reps) == first and store.find(reps_with_hiring) is None
    # The same scenario, seed and replications give the same figures: saving again keeps the one row.
    assert store.save(reps, label="again") == first
    assert store.list()["run_id"].tolist() == [first]
    assert store.load(first).label == "first"
    # Another seed is another run.
    assert store.save(replicate(reps.scenario, 3, seed=6, keep_runs=False)) != first


def test_an_empty_store_lists_nothing(store):
    listed = store.list()
    assert listed.empty
    assert list(listed.columns) == ["run_id", "created_at", "label", "scenario_name", "seed", "replications",
                                    "horizon_days", "ttp_days_median", "models_shipped"]


def test_loading_a_missing_run_names_it_and_the_file(store, reps):
    store.save(reps)
    with pytest.raises(StoreError) as info:
        store.load(999)
    assert str(info.value) == f"run 999 is not in {store.path}"


class _FailingConnection:
    """A DuckDB connection whose n-th INSERT fails, as a full disk would."""

    def __init__(self, con: duckdb.DuckDBPyConnection, fail_at: int):
        self._con = con
        self._fail_at = fail_at
        self.inserts = 0

    def execute(self, sql: str, *args):
        if sql.lstrip().upper().startswith("INSERT"):
            self.inserts += 1
            if self.inserts == self._fail_at:
                raise duckdb.IOException("simulated failure")
        return self._con.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self._con, name)


@pytest.mark.parametrize("fail_at", [2, 3])
def test_a_failing_save_leaves_earlier_runs_and_no_partial_rows(store, reps, reps_with_hiring, monkeypatch,
                                                                fail_at):
    first = store.save(reps, label="kept")
    connect = RunStore._connect
    monkeypatch.setattr(RunStore, "_connect", lambda self: _FailingConnection(connect(self), fail_at))
    with pytest.raises(StoreError, match=f"could not save the run to {store.path}: .*simulated failure"):
        store.save(reps_with_hiring, label="lost")
    monkeypatch.undo()

    assert store.list()["run_id"].tolist() == [first]
    with duckdb.connect(str(store.path)) as con:
        counts = con.execute(
            "SELECT (SELECT count(*) FROM runs), "
            "(SELECT count(*) FROM run_metrics WHERE run_id <> ?), "
            "(SELECT count(*) FROM run_replications WHERE run_id <> ?), "
            "(SELECT count(*) FROM run_replications WHERE run_id = ?)", [first, first, first]).fetchone()
    n_metrics = len(reps.per_replication.columns)
    assert counts == (1, 0, 0, 3 * n_metrics)
    kept = store.load(first)
    assert kept.label == "kept"
    pd.testing.assert_frame_equal(kept.per_replication, reps.per_replication)
    # The store still works, and a later run gets a new, larger id.
    assert store.save(reps_with_hiring) > first


def test_unwritable_path_raises_store_error_naming_it(tmp_path, reps):
    blocker = tmp_path / "a_file"
    blocker.write_text("", encoding="utf-8")
    path = blocker / "runs.duckdb"  # its parent is a file, so it can be neither created nor opened
    store = RunStore(path)
    for call in (lambda: store.save(reps), lambda: store.load(1)):
        with pytest.raises(StoreError) as info:
            call()
        assert str(info.value).startswith(f"cannot open run store {path}: ")
    assert store.list().empty  # nothing was ever saved there, and listing creates nothing
    assert not path.exists()


def test_a_directory_is_not_a_store(tmp_path):
    with pytest.raises(StoreError) as info:
        RunStore(tmp_path).list()
    assert str(info.value).startswith(f"cannot open run store {tmp_path}: ")


def test_default_path_comes_from_mlorg_db(monkeypatch, tmp_path):
    monkeypatch.delenv("MLORG_DB", raising=False)
    assert default_db_path() == Path("data") / "mlorg.duckdb"
    monkeypatch.setenv("MLORG_DB", str(tmp_path / "x.duckdb"))
    assert default_db_path() == tmp_path / "x.duckdb"
    assert RunStore().path == tmp_path / "x.duckdb"
