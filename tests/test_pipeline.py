"""The reference pipeline end to end, at a small scale: generate, train, deploy, serve, monitor, respond."""

from __future__ import annotations

import dataclasses
import json
import math
from functools import cache
from pathlib import Path

import duckdb
import numpy as np
import pytest

from mlorg.cli import main
from mlorg.pipeline.features import FEATURES, offline_features
from mlorg.pipeline.registry import Registry
from mlorg.pipeline.run import run_pipeline, transactions
from mlorg.pipeline.scale import at_scale
from mlorg.scenario import PipelineCause, load

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
SHIFT_DAY = 70


def small(name: str = "fraud_drift_full", *causes: PipelineCause):
    """The workshop's pipeline at a test's scale: 107 days of 1,500 transactions after 60 days of history (107: the
    shift on day 70, then the recall monitor's 7-day window of labels that arrive 30 days late)."""
    scenario = load(SCENARIOS / f"{name}.toml")
    causes = causes or (PipelineCause(kind="fraud_pattern_shift", start_day=SHIFT_DAY, size=0.8),)
    pipeline = dataclasses.replace(scenario.pipeline, days=107, transactions_per_day=1500, cards=8000,
                                   history_days=60, train_days=40, holdout_days=14, scorer_sample_per_day=10,
                                   causes=causes)
    return scenario.replace(pipeline=pipeline)


def shipped(name: str = "fraud_drift_full"):
    """The shipped scenario at the small scale: the fraud-pattern shift and the bad version where they fall in the
    shipped live days (day 82 and 69 of 120), a routine retrain every 25 days."""
    return at_scale(load(SCENARIOS / f"{name}.toml"), "small")


@cache
def story(tmp: Path):
    scenario = shipped()
    return scenario, run_pipeline(scenario, tmp / "story.duckdb", seed=3)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("pipeline")


def cause_day(scenario, kind: str) -> int:
    return int(next(c.start_day for c in scenario.pipeline.causes if c.kind == kind))


def test_the_story_the_shift_costs_recall_and_monitoring_saves_losses(folder):
    scenario, result = story(folder)
    out = result.to_json()
    assert {"offline_auc", "transactions", "fraud_rate", "weekly", "alerts", "actions", "detection_lag_days",
            "rollbacks", "retrains", "fraud_losses_usd", "fraud_losses_usd_without_monitoring",
            "fraud_losses_usd_ceiling", "saving_usd", "ceiling_saving_usd", "losses_since_shift_usd",
            "time_to_model_days", "reviewed_alerts", "scorer_p50_ms", "scorer_p99_ms"} <= set(out)
    assert json.loads(json.dumps(out)) == out  # plain JSON, no NaN
    assert 0.85 < result.offline_auc < 1.0
    assert out["saving_usd"] == pytest.approx(result.fraud_losses_usd_without_monitoring - result.fraud_losses_usd)
    shift = cause_day(scenario, "fraud_pattern_shift")
    assert result.shift_day == shift
    since = result.losses_since_shift_usd
    assert set(since) == {"monitored", "without_monitoring", "ceiling"}
    assert since["without_monitoring"] <= result.fraud_losses_usd_without_monitoring
    weekly = result.weekly
    # Without monitoring, the model in service catches less of the fraud once the new pattern is here.
    before = weekly[(weekly["start_day"] + 7 <= shift)]
    after = weekly[weekly["start_day"] >= shift + 7]
    caught = (weekly["recall_without_monitoring"] * weekly["frauds"])
    assert caught[after.index].sum() / after["frauds"].sum() < caught[before.index].sum() / before["frauds"].sum()
    # The weekly losses of each replay add up to its whole-run losses.
    assert weekly["losses_usd"].sum() == pytest.approx(result.fraud_losses_usd)
    assert weekly["losses_without_monitoring_usd"].sum() == pytest.approx(result.fraud_losses_usd_without_monitoring)
    assert weekly["losses_ceiling_usd"].sum() == pytest.approx(result.fraud_losses_usd_ceiling)
    assert result.saving_usd > 0, result.actions  # measured for this seed: the rollback of the bad version pays
    assert result.scorer_p99_ms < 100 and result.scorer_p50_ms <= result.scorer_p99_ms
    assert all(share == 0 for share in result.parity_mismatch.values())  # no skew injected: online = offline


def test_investigators_review_within_their_capacity(folder):
    scenario, result = story(folder)
    p = scenario.pipeline
    weekly = result.weekly
    # Never more than the capacity of the week's transactions (rounded per day), and the usual alerts at least.
    assert (weekly["reviewed"] <= weekly["transactions"] * p.review_capacity_share + 7).all()
    assert (weekly["reviewed"] >= weekly["transactions"] * p.alert_share * 0.5).all()
    assert result.reviewed_alerts == weekly["reviewed"].sum()
    assert weekly["precision"].between(0, 1).all()


def test_the_bad_version_is_rolled_back_by_the_end_of_its_probation_and_hurts_only_the_unwatched(folder):
    scenario, result = story(folder)
    bad_day = cause_day(scenario, "bad_version")
    actions = result.actions
    deploy = actions[(actions["action"] == "deploy") & (actions["day"] == bad_day)]
    assert len(deploy) == 1 and "lookups broken" in deploy["reason"].iloc[0]
    rollback = actions[(actions["action"] == "rollback") & (actions["day"] > bad_day)]
    assert len(rollback) and rollback["day"].iloc[0] <= bad_day + scenario.pipeline.probation_days - 1
    assert "previous version's alerts held" in rollback["reason"].iloc[0]
    assert rollback["version"].iloc[0] < deploy["version"].iloc[0]  # back to the version before
    # The replay without monitoring keeps the bad version until the next routine retrain.
    weekly = result.weekly
    held = weekly[(weekly["start_day"] > rollback["day"].iloc[0])
                  & (weekly["start_day"] + 7 <= bad_day + scenario.pipeline.retrain_every_days)]
    assert len(held)
    assert (held["losses_without_monitoring_usd"].sum() > held["losses_usd"].sum())


def test_the_registry_holds_lineage_and_the_history_of_every_action(folder):
    scenario, result = story(folder)
    with Registry(result.db_path) as registry:
        history = registry.history()
        assert history["action"].iloc[0] == "deploy" and history["version"].iloc[0] == 1
        assert "offline AUC" in history["reason"].iloc[0]
        recorded = result.actions[result.actions["action"] != "keep"]  # a decision to change nothing is no deployment
        assert len(history) == 1 + len(recorded)
        assert list(history["version"].iloc[1:]) == list(recorded["version"])
        assert list(history["reason"].iloc[1:]) == list(recorded["reason"])
        expected = recorded["action"].map({"deploy": "deploy", "promote": "promote", "rollback": "rollback",
                                           "interim": "threshold", "interim_end": "threshold", "shadow": "shadow"})
        assert list(history["action"].iloc[1:]) == list(expected)
        assert set(history["actor"].iloc[1:]) <= {"incident_process", "routine_retrain"}
        tx = transactions(scenario, 3, scenario.pipeline.days)
        deploy_day = scenario.pipeline.train_days + scenario.pipeline.holdout_days
        first_live = int(tx.loc[tx["day"] == deploy_day, "tx_id"].iloc[0])
        found = registry.lineage(first_live)
        assert found["model"]["version"] == 1
        assert found["dataset"]["rows"] > 0 and found["feature_set"]["name"] == "card_fraud_v1"
        assert registry.verify() == []
        assert len(registry.alerts()) == len(result.alerts)


def test_a_rollback_restores_the_previous_champions_scores_exactly(folder):
    # A rollback points the champion alias at an earlier version and loads its artifact: the scores it then gives
    # must be exactly the ones that version gave when it was live.
    scenario, result = story(folder)
    with Registry(result.db_path) as registry:
        model = registry.load_model(1)
    tx = transactions(scenario, 3, scenario.pipeline.days)
    rows = np.flatnonzero(tx["day"].to_numpy() == scenario.pipeline.train_days + scenario.pipeline.holdout_days)
    rescored = model.predict_proba(offline_features(tx).iloc[rows][list(FEATURES)].to_numpy(float))[:, 1]
    with duckdb.connect(str(result.db_path), read_only=True) as con:
        recorded = con.execute("SELECT tx_id, score FROM scores WHERE model_version = 1").fetchnumpy()
    by_tx = dict(zip(recorded["tx_id"].tolist(), recorded["score"].tolist(), strict=True))
    assert [by_tx[t] for t in tx["tx_id"].to_numpy()[rows].tolist()] == rescored.tolist()


def test_without_monitors_nothing_responds_and_the_losses_are_the_replay(folder):
    result = run_pipeline(shipped("fraud_drift"), folder / "none.duckdb", seed=3)
    assert set(result.alerts["monitor"]) <= {"contracts"}
    assert set(result.actions["action"]) == {"deploy"}  # the routine retrains, and nothing else
    assert result.rollbacks == 0 and result.promotions == 0
    assert result.fraud_losses_usd == pytest.approx(result.fraud_losses_usd_without_monitoring)
    _, monitored = story(folder)
    assert monitored.fraud_losses_usd_without_monitoring == pytest.approx(result.fraud_losses_usd)


def test_a_broken_upstream_source_fails_the_contracts_from_its_day(folder):
    scenario = small("fraud_drift", PipelineCause(kind="upstream_break", start_day=SHIFT_DAY, size=1.0,
                                                  feature="device_id"))
    result = run_pipeline(scenario, folder / "break.duckdb", seed=3)
    contracts = result.alerts[result.alerts["monitor"] == "contracts"]
    assert contracts["day"].min() == SHIFT_DAY
    assert (contracts["day"] >= SHIFT_DAY).all() and len(contracts) == scenario.pipeline.days - SHIFT_DAY
    assert "new_device" in contracts["detail"].iloc[0]
    assert result.detection_lag_days["upstream_break"]["contracts"] == 1.0


def test_training_serving_skew_shows_in_parity_on_the_skewed_feature_only(folder):
    scenario = small("fraud_drift", PipelineCause(kind="skew", start_day=SHIFT_DAY, size=99.0,
                                                  feature="amount_vs_card_avg"))
    result = run_pipeline(scenario, folder / "skew.duckdb", seed=3)
    mismatch = result.parity_mismatch
    assert mismatch["amount_vs_card_avg"] > 0.1
    assert all(share == 0 for name, share in mismatch.items() if name != "amount_vs_card_avg")
    assert not math.isnan(result.scorer_p50_ms)


def test_cli_runs_the_pipeline_and_answers_from_its_registry(tmp_path, capsys):
    scenario_file = tmp_path / "small.toml"
    scenario_file.write_text(
        f'extends = "{SCENARIOS / "fraud_drift_full.toml"}"\n'
        "[pipeline]\ndays = 86\ntransactions_per_day = 1000\ncards = 5000\nhistory_days = 20\ntrain_days = 35\n"
        "holdout_days = 14\nscorer_sample_per_day = 5\ncauses = []\n")
    db = tmp_path / "run.duckdb"
    assert main(["pipeline", "run", str(scenario_file), "--db", str(db), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["transactions"] > 0 and out["db"] == str(db)
    assert (tmp_path / "run.artifacts").is_dir()
    assert main(["registry", "history", "--db", str(db), "--json"]) == 0
    history = json.loads(capsys.readouterr().out)
    assert history[0]["action"] == "deploy"
    with duckdb.connect(str(db), read_only=True) as con:
        tx_id = con.execute("SELECT min(tx_id) FROM scores").fetchone()[0]
    assert main(["registry", "lineage", str(tx_id), "--db", str(db), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["model"]["version"] == 1
    assert main(["registry", "verify", "--db", str(db)]) == 0
    artifact = next((tmp_path / "run.artifacts").glob("model-*.pkl"))
    data = bytearray(artifact.read_bytes())
    data[len(data) // 2] ^= 0xFF
    artifact.write_bytes(bytes(data))
    assert main(["registry", "verify", "--db", str(db)]) == 4  # an integrity failure
    assert artifact.name in capsys.readouterr().err
    assert main(["registry", "history", "--db", str(tmp_path / "missing.duckdb")]) == 2
    assert "no such registry" in capsys.readouterr().err
    assert main(["pipeline", "run", str(scenario_file), "--db", str(db), "--days", "40"]) == 2
    err = capsys.readouterr().err
    assert "--days: 40 is not allowed; must be >= 86" in err
    assert "goes live on day 49" in err and "the recall monitor's 7-day window of labels" in err


def test_same_seed_same_pipeline(folder):
    scenario = small("fraud_drift")
    a = run_pipeline(scenario, folder / "a.duckdb", seed=5)
    b = run_pipeline(scenario, folder / "b.duckdb", seed=5)
    assert a.weekly.equals(b.weekly) and a.offline_auc == b.offline_auc
    assert np.isclose(a.fraud_losses_usd, b.fraud_losses_usd, rtol=0, atol=0)
