"""Score rows written a week at a time: the same run as one day at a time, and a killed run keeps whole days only."""

from __future__ import annotations

import signal
import subprocess
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlorg.pipeline.live import DAY_ZERO
from mlorg.pipeline.registry import Registry
from mlorg.pipeline.registry_errors import RegistryError
from mlorg.pipeline.run import run_pipeline
from mlorg.pipeline.scale import at_scale, deploy_day
from mlorg.pipeline.score_buffer import DEFAULT_DAYS, ScoreBuffer
from mlorg.scenario import load

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "fraud_drift_full.toml"
DEPLOYMENT_COLUMNS = ["seq", "at", "version", "action", "alias", "previous_version", "reason", "actor"]


def scenario():
    return at_scale(load(SCENARIO), "small")


@cache
def finished(folder: Path, batch_days: int):
    """A whole run at the small scale, seed 0, and what its registry holds."""
    db = folder / f"batch-{batch_days}.duckdb"
    result = run_pipeline(scenario(), db, seed=0, batch_days=batch_days)
    return result, held(db)


def held(db: Path, run_id: int = 1) -> dict[str, pd.DataFrame]:
    """A run's scores and alerts, and the registry's deployments, in the order they were written."""
    with Registry(db) as reg:
        assert reg.verify() == []
        return {"scores": reg._query("SELECT tx_id, model_version, score, scored_at FROM scores WHERE run_id = ? "
                                     "ORDER BY rowid", [run_id]),
                "alerts": reg._query("SELECT * EXCLUDE (run_id) FROM alerts WHERE run_id = ? ORDER BY rowid",
                                     [run_id]),
                "deployments": reg.history()[DEPLOYMENT_COLUMNS], "runs": reg.runs()}


def day_of(times: pd.Series) -> np.ndarray:
    return ((pd.to_datetime(times) - DAY_ZERO) // pd.Timedelta(days=1)).to_numpy()


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("score_buffer")


# ------------------------------------------------------------------------------------------------ the buffer

@pytest.fixture
def registry(tmp_path):
    with Registry(tmp_path / "r.duckdb") as reg:
        dataset = reg.register_dataset("d", pd.DataFrame({"ts": pd.to_datetime(["2026-01-01"])}))
        features = reg.register_feature_set("f", "SELECT 1", {})
        reg.register_model({"w": 1}, name="m", params={}, metrics={}, dataset_id=dataset, feature_version=features,
                           code_version="x")
        reg.start_run("test", 0)
        yield reg


def day_scores(day: int, rows: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """tx_id, score and scored_at of a day."""
    return (np.arange(rows) + 100 * day, np.full(rows, 0.5),
            np.full(rows, (DAY_ZERO + pd.Timedelta(days=day)).to_datetime64()))


def test_rows_are_written_in_whole_days_every_few_days_and_on_flush(registry):
    buffer = ScoreBuffer(registry, days=3)
    written = []
    for day in range(7):
        tx_id, score, scored_at = day_scores(day)
        buffer.add_scores(tx_id, 1, score, scored_at)
        if day == 4:
            buffer.add_alert(at=DAY_ZERO, monitor="m", detector="d", statistic=1.0, threshold=0.5)
            buffer.flush()  # as before a deployment: the whole days go, the day in progress stays
        buffer.end_day()
        counts = registry._query("SELECT (SELECT count(*) FROM scores) AS s, (SELECT count(*) FROM alerts) AS a")
        written.append((int(counts["s"][0]), int(counts["a"][0]), buffer.pending_days))
    buffer.flush()
    assert written == [(0, 0, 1), (0, 0, 2), (9, 0, 0), (9, 0, 1), (12, 0, 1), (12, 0, 2), (21, 1, 0)]
    assert buffer.pending_days == 0
    rows = registry._query("SELECT tx_id, model_version, score, scored_at FROM scores WHERE run_id = 1 ORDER BY rowid")
    expected = [day_scores(day) for day in range(7)]
    pd.testing.assert_frame_equal(rows, pd.DataFrame({
        "tx_id": np.concatenate([e[0] for e in expected]), "model_version": np.full(21, 1, dtype=np.int32),
        "score": np.concatenate([e[1] for e in expected]),
        "scored_at": np.concatenate([e[2] for e in expected]).astype("datetime64[us]")}))


def test_bad_scores_are_refused_when_added_not_at_the_write(registry):
    buffer = ScoreBuffer(registry, days=2)
    tx_id, score, scored_at = day_scores(0)
    with pytest.raises(RegistryError, match="as many tx_id, score and scored_at; got 3, 2 and 3"):
        buffer.add_scores(tx_id, 1, score[:2], scored_at)
    with pytest.raises(RegistryError, match="model versions not in .*: 7"):
        buffer.add_scores(tx_id, 7, score, scored_at)
    with pytest.raises(RegistryError, match="a model version is an integer, not 'latest'"):
        buffer.add_scores(tx_id, "latest", score, scored_at)
    buffer.add_scores(tx_id, 1, score, scored_at)
    buffer.end_day()
    registry.finish_run(1)
    with pytest.raises(RegistryError, match="scores of pipeline run 1 cannot be written under run None"):
        buffer.flush()
    for days in (0, 1.5, True):
        with pytest.raises(ValueError, match="days must be a whole number >= 1"):
            ScoreBuffer(registry, days=days)


# ------------------------------------------------------------------------------------- the same run, batched

def test_a_run_batched_by_the_week_is_the_run_written_a_day_at_a_time(folder, monkeypatch):
    writes = {}
    real = Registry.record_batch

    def counted(self, scores, alerts):
        writes[self.path.name] = writes.get(self.path.name, 0) + 1
        return real(self, scores, alerts)

    monkeypatch.setattr(Registry, "record_batch", counted)
    daily, daily_rows = finished(folder, 1)
    weekly, weekly_rows = finished(folder, DEFAULT_DAYS)
    for name in ("scores", "alerts", "deployments"):
        pd.testing.assert_frame_equal(weekly_rows[name], daily_rows[name], obj=name)
    live = deploy_day(scenario())
    assert set(day_of(weekly_rows["scores"]["scored_at"])) == set(range(live, scenario().pipeline.days))
    assert len(weekly_rows["alerts"]) == len(weekly.alerts) > 0 and len(weekly_rows["deployments"]) > 2
    for field in ("fraud_losses_usd", "fraud_losses_usd_without_monitoring", "fraud_losses_usd_ceiling",
                  "rollbacks", "retrains", "promotions"):
        assert getattr(weekly, field) == getattr(daily, field), field
    pd.testing.assert_frame_equal(weekly.alerts, daily.alerts)
    pd.testing.assert_frame_equal(weekly.actions, daily.actions)
    pd.testing.assert_frame_equal(weekly.weekly, daily.weekly)
    days = scenario().pipeline.days - live
    assert writes["batch-1.duckdb"] == days  # one write a day...
    assert writes["batch-7.duckdb"] < days / 3  # ...against one a week, and one before each deployment


# ---------------------------------------------------------------------------------------------- killed runs

KILL_SCRIPT = """
import os, signal, sys
from pathlib import Path
import pandas as pd
from mlorg.pipeline.registry import Registry
from mlorg.pipeline.score_buffer import ScoreBuffer
from mlorg.pipeline.run import run_pipeline
from mlorg.pipeline.scale import at_scale
from mlorg.scenario import load

db, where, nth = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
calls = 0
if where == "write":  # inside the write's transaction, its rows inserted, before the commit
    real = Registry._insert_scores
    def insert(self, cur, frame, named):
        global calls
        real(self, cur, frame, named)
        calls += 1
        if calls == nth:
            print(frame["scored_at"].min().isoformat(), len(frame), flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
    Registry._insert_scores = insert
else:  # while scoring: a day scored, whole days waiting in the buffer
    real = ScoreBuffer.add_scores
    def add(self, tx_id, version, score, scored_at):
        global calls
        calls += 1
        if calls == nth:
            print(pd.Timestamp(scored_at.min()).isoformat(), self.pending_days, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        real(self, tx_id, version, score, scored_at)
    ScoreBuffer.add_scores = add
run_pipeline(at_scale(load(sys.argv[4]), "small"), db, seed=0)
"""


# Killed in the 12th write (days 112-118, every one of them alarmed) and while scoring day 116, four whole days in the
# buffer: in both, the registry has kept the alert of day 111 and the deployments it led to, and lost later alerts.
@pytest.mark.parametrize(("where", "nth"), [("write", 12), ("scoring", 73)])
def test_a_run_killed_mid_scoring_leaves_whole_days_of_the_finished_run_and_a_rerun_completes(folder, tmp_path, where,
                                                                                             nth):
    db = tmp_path / "killed.duckdb"
    killed = subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(db), where, str(nth), str(SCENARIO)],
                            capture_output=True, text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    said = killed.stdout.split()
    dying_day = int(day_of(pd.Series([pd.Timestamp(said[0])]))[0])
    kept = held(db)  # opens, and passes its integrity checks
    whole, whole_rows = finished(folder, DEFAULT_DAYS)
    assert kept["runs"]["finished_at"].isna().tolist() == [True]  # reported as a run that never finished
    days = day_of(kept["scores"]["scored_at"])
    last = int(days.max())
    # What it kept is the finished run up to the end of a day, every row and alert of each day it holds...
    all_days = day_of(whole_rows["scores"]["scored_at"])
    pd.testing.assert_frame_equal(kept["scores"], whole_rows["scores"][all_days <= last])
    alert_days = day_of(whole_rows["alerts"]["at"]) - 1  # an alert is dated at the end of its day
    assert kept["alerts"].to_dict("records") == whole_rows["alerts"][alert_days <= last].to_dict("records")
    # ...and the deployments that followed them, no later than the next day's start.
    deployments = whole_rows["deployments"]
    pd.testing.assert_frame_equal(kept["deployments"], deployments.iloc[:len(kept["deployments"])])
    deployed_day = day_of(deployments["at"]) - 1
    assert len(kept["deployments"]) >= (deployed_day <= last).sum()
    assert (deployed_day[:len(kept["deployments"])] <= last + 1).all()
    assert 0 < len(kept["alerts"]) < len(whole_rows["alerts"])  # the kill points above are where they should be
    if where == "write":  # the batch being written is lost whole, and nothing before it
        assert last == dying_day - 1
    else:  # at most the days in the buffer and the day being scored
        assert dying_day - DEFAULT_DAYS <= last < dying_day and last == dying_day - 1 - int(said[1])
    # A rerun on the killed registry is a run of its own, the same as the finished one (its models numbered after
    # the killed run's).
    with Registry(db) as reg:
        models = len(reg.models())
    rerun = run_pipeline(scenario(), db, seed=0)
    again = held(db, run_id=2)
    assert again["runs"]["finished_at"].isna().tolist() == [True, False]
    pd.testing.assert_frame_equal(again["scores"], whole_rows["scores"].assign(
        model_version=whole_rows["scores"]["model_version"] + models))
    pd.testing.assert_frame_equal(again["alerts"], whole_rows["alerts"])
    assert rerun.fraud_losses_usd == whole.fraud_losses_usd


def test_a_run_that_fails_writes_its_whole_days_and_loses_only_the_day_it_failed_in(folder, tmp_path, monkeypatch):
    from mlorg.pipeline.realtime import RealTimeSample

    real, calls = RealTimeSample.day, []

    def failing(self, rows, champion):  # between the day's scores and its monitors
        calls.append(rows[0])
        if len(calls) == 73:  # day 116, with days 112-115 waiting in the buffer
            raise RuntimeError("the feature store went away")
        real(self, rows, champion)

    monkeypatch.setattr(RealTimeSample, "day", failing)
    db = tmp_path / "failed.duckdb"
    with pytest.raises(RuntimeError, match="went away"):
        run_pipeline(scenario(), db, seed=0)
    kept, (_, whole_rows) = held(db), finished(folder, DEFAULT_DAYS)
    failed_day = deploy_day(scenario()) + 72
    assert set(day_of(kept["scores"]["scored_at"])) == set(range(deploy_day(scenario()), failed_day))
    all_days = day_of(whole_rows["scores"]["scored_at"])
    pd.testing.assert_frame_equal(kept["scores"], whole_rows["scores"][all_days < failed_day])
    assert kept["runs"]["finished_at"].isna().tolist() == [True]
