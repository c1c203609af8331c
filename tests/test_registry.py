"""The model registry: round trips, idempotent lineage records, aliases and history, tamper refusal, atomic writes."""

from __future__ import annotations

import functools
import hashlib
import pickle
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from mlorg.pipeline.registry import ArtifactError, Registry, RegistryError

FEATURE_SQL = "SELECT tx_id, amount, amount / nullif(avg_amount, 0) AS ratio FROM tx WHERE ts < $cutoff"
T0 = datetime(2024, 1, 1)


def make_frame(seed: int, n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "ts": pd.date_range(T0 + timedelta(days=seed), periods=n, freq="h"),
        "amount": rng.lognormal(3.0, 1.0, n),
        "ratio": rng.normal(1.0, 0.3, n),
        "merchant": rng.choice(["a", "b", "c"], n),
    })
    frame["is_fraud"] = (frame["ratio"] + rng.normal(0, 0.2, n) > 1.3).astype(int)
    return frame


@functools.cache
def fitted(seed: int, c: float) -> LogisticRegression:
    frame = make_frame(seed)
    return LogisticRegression(C=c).fit(frame[["amount", "ratio"]], frame["is_fraud"])


@pytest.fixture
def reg(tmp_path):
    registry = Registry(tmp_path / "nested" / "run.duckdb")
    yield registry
    registry.close()


@pytest.fixture
def lineage_ids(reg):
    """A registered dataset and feature set to hang models on."""
    return {"dataset_id": reg.register_dataset("tx_jan", make_frame(1)),
            "feature_version": reg.register_feature_set("fraud_v1", FEATURE_SQL, {"cutoff": "2024-02-01"})}


def add_model(reg: Registry, ids: dict, c: float = 1.0, seed: int = 1) -> int:
    return reg.register_model(fitted(seed, c), name="fraud_lr", params={"C": c},
                              metrics={"auc": np.float64(0.9), "n": np.int64(200)}, code_version="abc123", **ids)


def history_rows(reg: Registry) -> list[tuple]:
    frame = reg.history()
    return [(r.seq, r.version, r.action, r.alias, None if pd.isna(r.previous_version) else r.previous_version,
             r.reason, r.actor) for r in frame.itertuples()]


# -- round trips and idempotency

def test_model_round_trip_gives_identical_predictions(reg, lineage_ids):
    frame = make_frame(1)
    model = fitted(1, 0.5)
    version = reg.register_model(model, name="fraud_lr", params={"C": 0.5}, metrics={"auc": np.float64(0.91)},
                                 code_version="abc123", **lineage_ids)
    loaded = reg.load_model(version)
    X = frame[["amount", "ratio"]]
    assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))
    row = reg.model(version)
    assert (row["version"], row["name"], row["params"], row["metrics"]) == (1, "fraud_lr", {"C": 0.5}, {"auc": 0.91})
    assert (row["dataset_id"], row["feature_version"], row["code_version"]) == (
        lineage_ids["dataset_id"], lineage_ids["feature_version"], "abc123")
    artifact = reg.artifacts_dir / row["artifact_path"]
    assert artifact.name == f"model-1-{row['artifact_sha256'][:12]}.pkl"
    assert artifact.read_bytes() == pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    assert reg.artifacts_dir == reg.path.parent / "run.artifacts"
    assert reg.verify() == [] and reg.orphans() == []


def test_dataset_registration_is_idempotent_and_ignores_the_index(reg):
    frame = make_frame(1)
    first = reg.register_dataset("tx_jan", frame)
    assert reg.register_dataset("tx_jan_again", frame.set_axis(range(1000, 1200)).copy()) == first
    changed = frame.copy()
    changed.loc[5, "amount"] += 0.01
    assert reg.register_dataset("tx_jan", changed) != first
    assert reg.register_dataset("tx_jan", frame.astype({"is_fraud": "int32"})) != first  # dtype is content
    rows = reg._query("SELECT dataset_id, name, start_ts, end_ts, rows FROM datasets ORDER BY created_at")
    assert len(rows) == 3
    assert rows.iloc[0].tolist() == [first, "tx_jan", frame["ts"].min(), frame["ts"].max(), 200]


def test_dataset_needs_its_time_column(reg):
    with pytest.raises(RegistryError, match="no time column 'event_time'"):
        reg.register_dataset("tx", make_frame(1), time_column="event_time")


def test_feature_set_registration_is_idempotent(reg):
    first = reg.register_feature_set("fraud_v1", FEATURE_SQL, {"cutoff": "2024-02-01", "window": 7})
    assert reg.register_feature_set("fraud_v1", FEATURE_SQL, {"window": 7, "cutoff": "2024-02-01"}) == first
    assert reg.register_feature_set("fraud_v1", FEATURE_SQL, {"cutoff": "2024-03-01", "window": 7}) != first
    assert reg.register_feature_set("fraud_v1", FEATURE_SQL + " ", {"cutoff": "2024-02-01", "window": 7}) != first
    assert reg._query("SELECT count(*) AS n FROM feature_sets")["n"].item() == 3


# -- versions and references

def test_versions_increase_and_unknown_references_are_refused(reg, lineage_ids):
    assert [add_model(reg, lineage_ids, c) for c in (1.0, 0.5, 0.1)] == [1, 2, 3]
    assert reg.models()["version"].tolist() == [1, 2, 3]
    with pytest.raises(RegistryError, match="dataset 'nope' is not registered"):
        add_model(reg, {**lineage_ids, "dataset_id": "nope"})
    with pytest.raises(RegistryError, match="feature set 'nope' is not registered"):
        add_model(reg, {**lineage_ids, "feature_version": "nope"})
    with pytest.raises(RegistryError, match=r"model version 9 is not in registry .* \(it holds 1-3\)"):
        reg.model(9)
    with pytest.raises(RegistryError, match="must be JSON serialisable"):
        reg.register_model(fitted(1, 1.0), name="m", params={"C": object()}, metrics={},
                           code_version="x", **lineage_ids)
    assert reg.models()["version"].tolist() == [1, 2, 3]
    assert add_model(reg, lineage_ids) == 4  # refused attempts used up no version


def test_an_unpicklable_model_is_refused_before_anything_is_written(reg, lineage_ids):
    with pytest.raises(RegistryError, match="cannot be pickled"):
        reg.register_model(lambda x: x, name="m", params={}, metrics={}, code_version="x", **lineage_ids)
    assert reg.models().empty and reg.orphans() == []


# -- aliases and deployment history

def test_champion_promotion_and_rollback_are_recorded_in_order(reg, lineage_ids):
    v1, v2 = add_model(reg, lineage_ids, 1.0), add_model(reg, lineage_ids, 0.5)
    reg.set_alias("champion", v1, reason="first model", actor="ana")
    reg.set_alias("challenger", v2, reason="shadow v2", actor="ana")
    reg.set_alias("champion", v2, reason="v2 wins the shadow test", actor="bo", action="promote")
    assert (reg.alias("champion"), reg.alias("challenger"), reg.alias("canary")) == (2, 2, None)
    reg.set_alias("champion", v1, reason="precision alert on v2", actor="oncall", action="rollback")
    assert reg.alias("champion") == 1
    assert history_rows(reg) == [
        (1, 1, "deploy", "champion", None, "first model", "ana"),
        (2, 2, "deploy", "challenger", None, "shadow v2", "ana"),
        (3, 2, "promote", "champion", 1, "v2 wins the shadow test", "bo"),
        (4, 1, "rollback", "champion", 2, "precision alert on v2", "oncall"),
    ]
    reg.set_alias("challenger", v2, reason="shadow over", actor="ana", action="retire")
    assert reg.alias("challenger") is None
    assert history_rows(reg)[-1] == (5, 2, "retire", "challenger", 2, "shadow over", "ana")


def test_alias_changes_are_validated_and_leave_no_trace_when_refused(reg, lineage_ids):
    v1, v2 = add_model(reg, lineage_ids), add_model(reg, lineage_ids, 0.5)
    reg.set_alias("champion", v1, reason="first", actor="ana")
    refused = [
        (dict(alias="Champion", version=v1), "lowercase letters and underscores"),
        (dict(alias="champ-1", version=v1), "lowercase letters and underscores"),
        (dict(alias="champion", version=7), "model version 7 is not in registry"),
        (dict(alias="champion", version=v2, action="ship"), "action 'ship' is not one of"),
        (dict(alias="champion", version=v2, action="rollback"), "never held that alias"),
        (dict(alias="champion", version=v2, action="retire"), "champion points to 1"),
        (dict(alias="champion", version=v2, reason=""), "needs a reason and an actor"),
    ]
    for kwargs, message in refused:
        with pytest.raises(RegistryError, match=message):
            reg.set_alias(**{"reason": "r", "actor": "a", **kwargs})
    assert reg.alias("champion") == 1
    assert len(reg.history()) == 1


# -- artifact integrity

def test_a_tampered_artifact_is_refused_without_unpickling(reg, lineage_ids, monkeypatch):
    v1, v2 = add_model(reg, lineage_ids), add_model(reg, lineage_ids, 0.5)
    row = reg.model(v2)
    artifact = reg.artifacts_dir / row["artifact_path"]
    data = bytearray(artifact.read_bytes())
    data[len(data) // 2] ^= 0xFF
    artifact.write_bytes(bytes(data))

    def refuse(*args, **kwargs):
        raise AssertionError("unpickled a file that failed its hash check")

    monkeypatch.setattr(pickle, "loads", refuse)
    with pytest.raises(ArtifactError) as caught:
        reg.load_model(v2)
    message = str(caught.value)
    assert str(artifact) in message and row["artifact_sha256"] in message
    assert f"actual {hashlib.sha256(bytes(data)).hexdigest()}" in message
    monkeypatch.undo()
    assert reg.verify() == [message]
    assert reg.load_model(v1).predict_proba(make_frame(1)[["amount", "ratio"]]).shape == (200, 2)


def test_a_missing_artifact_is_named(reg, lineage_ids):
    version = add_model(reg, lineage_ids)
    artifact = reg.artifacts_dir / reg.model(version)["artifact_path"]
    artifact.unlink()
    with pytest.raises(ArtifactError, match=f"artifact for model 1 is missing: {artifact}"):
        reg.load_model(version)
    assert reg.verify() == [f"artifact for model 1 is missing: {artifact}"]


# -- scores and lineage

def test_lineage_names_the_model_data_and_features_behind_a_score(reg):
    features = reg.register_feature_set("fraud_v1", FEATURE_SQL, {"cutoff": "2024-02-01"})
    jan, feb = reg.register_dataset("tx_jan", make_frame(1)), reg.register_dataset("tx_feb", make_frame(31))
    v1 = add_model(reg, {"dataset_id": jan, "feature_version": features}, 1.0, seed=1)
    v2 = add_model(reg, {"dataset_id": feb, "feature_version": features}, 0.5, seed=31)

    def score(tx_ids: list[int], hour: int) -> None:
        version = reg.alias("champion")  # serving scores with whatever the champion is now
        reg.record_scores(pd.DataFrame({"tx_id": tx_ids, "model_version": version, "score": 0.1 * version,
                                        "scored_at": T0 + timedelta(hours=hour)}))

    reg.set_alias("champion", v1, reason="first", actor="ana")
    score([10, 11], 1)
    reg.set_alias("champion", v2, reason="better auc", actor="ana", action="promote")
    score([11, 12], 2)
    found = reg.lineage(10)
    assert (found["model"]["version"], found["dataset"]["dataset_id"], found["dataset"]["name"]) == (1, jan, "tx_jan")
    assert found["feature_set"] == {"version": features, "name": "fraud_v1", "sql": FEATURE_SQL,
                                    "params": {"cutoff": "2024-02-01"}}
    frame = make_frame(1)
    assert (found["dataset"]["start_ts"], found["dataset"]["end_ts"], found["dataset"]["rows"]) == (
        frame["ts"].min(), frame["ts"].max(), 200)
    assert found["model"]["params"] == {"C": 1.0} and found["scored_at"] == T0 + timedelta(hours=1)
    assert (reg.lineage(11)["model"]["version"], reg.lineage(11)["dataset"]["name"]) == (2, "tx_feb")

    reg.set_alias("champion", v1, reason="drift alert", actor="oncall", action="rollback")
    score([11, 13], 3)
    assert [reg.lineage(tx)["model"]["version"] for tx in (10, 11, 12, 13)] == [1, 1, 2, 1]
    with pytest.raises(RegistryError, match="transaction 99 was never scored"):
        reg.lineage(99)


def test_record_scores_of_100k_rows(reg, lineage_ids):
    version = add_model(reg, lineage_ids)
    n = 100_000
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"tx_id": np.arange(n, dtype="int64"), "model_version": version,
                          "score": rng.random(n), "scored_at": pd.Timestamp(T0), "extra": "ignored"})
    start = time.perf_counter()
    reg.record_scores(frame)
    elapsed = time.perf_counter() - start
    print(f"\nrecord_scores: {n:,} rows in {elapsed * 1000:.0f} ms")
    stored = reg._query("SELECT count(*) AS n, sum(score) AS total, max(tx_id) AS top FROM scores").iloc[0]
    assert (stored["n"], stored["top"]) == (n, n - 1)
    assert stored["total"] == pytest.approx(frame["score"].sum())


def test_record_scores_refuses_bad_frames_whole(reg, lineage_ids):
    version = add_model(reg, lineage_ids)
    good = pd.DataFrame({"tx_id": [1, 2], "model_version": version, "score": 0.5, "scored_at": pd.Timestamp(T0)})
    with pytest.raises(RegistryError, match="missing scored_at"):
        reg.record_scores(good.drop(columns="scored_at"))
    with pytest.raises(RegistryError, match="model versions not in .*: 5, 7"):
        reg.record_scores(pd.concat([good, good.assign(model_version=7), good.assign(model_version=5)]))
    with pytest.raises(RegistryError, match="a model version that is not a whole number"):
        reg.record_scores(good.assign(model_version="latest"))
    assert reg._query("SELECT count(*) AS n FROM scores")["n"].item() == 0
    reg.record_scores(good.iloc[:0])  # no scores: nothing to check, nothing written
    assert reg._query("SELECT count(*) AS n FROM scores")["n"].item() == 0


def test_alerts_round_trip(reg):
    reg.record_alert(at=T0 + timedelta(days=2), monitor="amount_drift", detector="psi", statistic=0.31,
                     threshold=0.2, detail="amount shifted up")
    reg.record_alert(at=T0 + timedelta(days=1), monitor="score_drift", detector="ks", statistic=0.12, threshold=0.1)
    alerts = reg.alerts()
    assert alerts[["monitor", "detector", "statistic", "threshold", "detail"]].values.tolist() == [
        ["score_drift", "ks", 0.12, 0.1, ""], ["amount_drift", "psi", 0.31, 0.2, "amount shifted up"]]
    assert alerts["at"].tolist() == [T0 + timedelta(days=1), T0 + timedelta(days=2)]


# -- consistency, sharing and isolation

def test_a_failure_between_alias_update_and_history_leaves_neither(tmp_path, monkeypatch):
    path = tmp_path / "run.duckdb"
    with Registry(path) as reg:
        ids = {"dataset_id": reg.register_dataset("tx", make_frame(1)),
               "feature_version": reg.register_feature_set("f", FEATURE_SQL, {})}
        v1, v2 = add_model(reg, ids), add_model(reg, ids, 0.5)
        reg.set_alias("champion", v1, reason="first", actor="ana")

        def crash(cur, **row):
            assert cur.execute("SELECT version FROM aliases").fetchone() == (v2,)  # the alias was updated...
            raise OSError("disk full")

        monkeypatch.setattr(Registry, "_append_deployment", staticmethod(crash))
        with pytest.raises(OSError, match="disk full"):
            reg.set_alias("champion", v2, reason="promote", actor="ana", action="promote")
        assert reg.alias("champion") == v1
    with Registry(path) as reopened:  # ...but nothing of it survives
        assert reopened.alias("champion") == v1
        assert history_rows(reopened) == [(1, 1, "deploy", "champion", None, "first", "ana")]


CRASH_SCRIPT = """
import os, sys
from mlorg.pipeline.registry import Registry
real = Registry._write_artifact
def crash(self, payload, filename):
    real(self, payload, filename)
    os._exit(3)  # killed after the artifact is on disk, before its row commits
Registry._write_artifact = crash
Registry(sys.argv[1]).register_model({"weights": [1, 2, 3]}, name="m", params={}, metrics={}, code_version="x",
                                     dataset_id=sys.argv[2], feature_version=sys.argv[3])
"""


def test_a_process_killed_mid_registration_leaves_only_an_orphan_file(tmp_path):
    path = tmp_path / "run.duckdb"
    with Registry(path) as reg:
        ids = {"dataset_id": reg.register_dataset("tx", make_frame(1)),
               "feature_version": reg.register_feature_set("f", FEATURE_SQL, {})}
        add_model(reg, ids)
    result = subprocess.run([sys.executable, "-c", CRASH_SCRIPT, str(path), ids["dataset_id"],
                             ids["feature_version"]], capture_output=True, text=True, timeout=60)
    assert result.returncode == 3, result.stderr
    with Registry(path) as reopened:
        assert reopened.models()["version"].tolist() == [1]
        assert reopened.verify() == []  # an orphan is not a failure...
        orphans = reopened.orphans()  # ...but it is listed
        assert [p.name[:8] for p in orphans] == ["model-2-"] and not any(reopened.artifacts_dir.glob("*.tmp"))
        assert add_model(reopened, ids, 0.5) == 2  # the orphan's version number is free again
        assert reopened.verify() == [] and reopened.orphans() == orphans


def test_a_second_registry_on_the_same_file_sees_committed_data(reg, lineage_ids):
    version = add_model(reg, lineage_ids)
    reg.set_alias("champion", version, reason="first", actor="ana")
    other = Registry(reg.path)
    try:
        assert other.alias("champion") == version
        assert other.models()["version"].tolist() == [version]
        model = other.load_model(version)
        assert np.array_equal(model.coef_, reg.load_model(version).coef_)
        assert add_model(other, lineage_ids) == 2
        assert reg.models()["version"].tolist() == [1, 2]
    finally:
        other.close()


def test_registries_in_separate_folders_do_not_share_anything(tmp_path):
    with Registry(tmp_path / "a" / "run.duckdb") as first, Registry(tmp_path / "b" / "run.duckdb") as second:
        ids = {"dataset_id": first.register_dataset("tx", make_frame(1)),
               "feature_version": first.register_feature_set("f", FEATURE_SQL, {})}
        add_model(first, ids)
        assert first.artifacts_dir != second.artifacts_dir
        assert second.models().empty and second.orphans() == [] and not second.artifacts_dir.exists()
        with pytest.raises(RegistryError, match="dataset .* is not registered"):
            add_model(second, ids)
        with pytest.raises(RegistryError, match="it holds none"):
            second.load_model(1)


def test_threads_write_through_their_own_cursors(reg, lineage_ids):
    version = add_model(reg, lineage_ids)
    errors: list[BaseException] = []

    def session(i: int) -> None:
        try:
            for j in range(5):
                reg.record_scores(pd.DataFrame({"tx_id": [i * 100 + j], "model_version": [version],
                                                "score": [0.5], "scored_at": [pd.Timestamp(T0)]}))
                reg.set_alias(f"session_{chr(97 + i)}", version, reason="load", actor=f"t{i}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=session, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert reg._query("SELECT count(DISTINCT tx_id) AS n FROM scores")["n"].item() == 20
    assert reg.history()["seq"].tolist() == list(range(1, 21))


# -- opening

def test_opening_is_checked(tmp_path):
    with pytest.raises(RegistryError, match="in-memory registry is not supported"):
        Registry(":memory:")
    path = tmp_path / "old.duckdb"
    Registry(path).close()
    con = duckdb.connect(str(path))
    con.execute("UPDATE registry_meta SET value = '99' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(RegistryError, match="schema version 99; this code reads version 3"):
        Registry(path)
    closed = Registry(tmp_path / "closed.duckdb")
    closed.close()
    with pytest.raises(RegistryError, match="is closed"):
        closed.models()
