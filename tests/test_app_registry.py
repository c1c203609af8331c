"""The "Registry" page through Streamlit's AppTest, on a registry written through the library's own API (three
versions, a deploy, a promotion and a rollback), and on a small reference pipeline run by the page's button."""

import dataclasses
import json
import shutil
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import mlorg.pipeline.run
from mlorg.pipeline.registry import Registry
from mlorg.scenario import PipelineCause

PAGE = Path(__file__).resolve().parents[1] / "app" / "views" / "registry.py"
AUCS = {1: 0.94, 2: 0.96, 3: 0.91}


@pytest.fixture(scope="module")
def registry_path(tmp_path_factory) -> Path:
    """v1 deployed, v2 promoted over it, then rolled back to v1; v3 registered but never deployed."""
    path = tmp_path_factory.mktemp("registry") / "reference.duckdb"
    training = pd.DataFrame({"ts": pd.date_range("2026-01-01", periods=30, freq="D"), "amount": range(30)})
    with Registry(path) as registry:
        dataset = registry.register_dataset("training", training)
        features = registry.register_feature_set("card_fraud_v1", "SELECT tx_id, amount FROM tx", {"window_days": 7})
        for version, auc in AUCS.items():
            registry.register_model({"weights": [version]}, name="card_fraud", params={"depth": 3},
                                    metrics={"offline_auc": auc}, dataset_id=dataset, feature_version=features,
                                    code_version="0.1.0")
        registry.set_alias("champion", 1, reason="first model", actor="pipeline", at=datetime(2026, 3, 1))
        registry.set_alias("champion", 2, reason="challenger better", actor="pipeline", action="promote",
                           at=datetime(2026, 4, 1))
        registry.set_alias("champion", 1, reason="recall fell", actor="incident process", action="rollback",
                           at=datetime(2026, 4, 10))
        registry.record_scores(pd.DataFrame({"tx_id": [100, 101], "model_version": [1, 2], "score": [0.25, 0.75],
                                             "scored_at": [datetime(2026, 3, 2), datetime(2026, 4, 2)]}))
        registry.record_alert(at=datetime(2026, 4, 9), monitor="performance", detector="recall", statistic=0.5,
                              threshold=0.7, detail="recall fell")
    return path


@pytest.fixture(autouse=True)
def isolated(monkeypatch, registry_path):
    monkeypatch.setenv("MLORG_REGISTRY_DB", str(registry_path))
    st.cache_data.clear()
    yield
    st.cache_data.clear()


def page() -> AppTest:
    at = AppTest.from_file(str(PAGE), default_timeout=30).run()
    assert not at.exception
    return at


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_shows_the_live_model_its_lineage_versions_and_history(registry_path):
    at = page()
    assert not at.error
    assert at.success[0].value == ("All 3 model records and the deployment history carry this registry's signature, "
                                   "and every artifact matches the sha256 recorded when it was registered.")
    assert metric(at, "Live model (champion)") == "v1"  # rolled back from v2
    assert metric(at, "Offline AUC") == "0.940"
    assert metric(at, "Live since") == "2026-04-10"
    with Registry(registry_path) as registry:
        live = registry.model(1)
    lineage = at.dataframe[0].value.set_index("step")
    assert lineage.loc["training data", "id"] == live["dataset_id"][:12]
    assert lineage.loc["features", "id"] == live["feature_version"][:12]
    assert lineage.loc["artifact", "id"] == live["artifact_path"]
    assert lineage.loc["artifact", "what it is"] == f"verified: sha256 {live['artifact_sha256'][:12]}…"
    versions = at.dataframe[1].value
    assert versions["version"].tolist() == [1, 2, 3]
    assert versions["aliases"].tolist() == ["champion", "", ""]
    assert versions["offline AUC"].tolist() == list(AUCS.values())
    history = at.dataframe[2].value
    assert history["action"].tolist() == ["deploy", "promote", "rollback"]
    assert history["reason"].tolist() == ["first model", "challenger better", "recall fell"]
    (chart,) = at.get("vega_lite_chart")
    assert json.loads(chart.proto.spec)["title"] == "Deployments: the version behind each alias"
    assert at.dataframe[3].value["detail"].tolist() == ["recall fell"]  # the monitor alerts
    assert "Aliases: champion → v1" in [c.value for c in at.caption]


def test_tracing_a_transaction_names_its_model_data_and_features():
    at = page()
    at.number_input(key="registry.tx_id").set_value(101).run()
    assert not at.exception and not at.error
    text = " ".join(m.value for m in at.markdown)
    assert "Transaction **101** scored **0.7500**" in text and "by model **v2** (card_fraud)" in text
    assert "(training: 30 rows from 2026-01-01 00:00:00 to 2026-01-30 00:00:00)" in text
    assert "SELECT tx_id, amount FROM tx" in [c.value for c in at.code]
    at.number_input(key="registry.tx_id").set_value(999).run()
    assert at.error[0].value.startswith("Transaction id: transaction 999 was never scored in ")


def test_a_tampered_artifact_fails_verification(tmp_path, monkeypatch, registry_path):
    copy = tmp_path / "copy.duckdb"
    shutil.copy(registry_path, copy)
    shutil.copytree(registry_path.with_suffix(".artifacts"), copy.with_suffix(".artifacts"))
    with Registry(copy) as registry:
        artifact = copy.with_suffix(".artifacts") / registry.model(1)["artifact_path"]
    artifact.write_bytes(b"not the model that was registered")
    monkeypatch.setenv("MLORG_REGISTRY_DB", str(copy))
    at = page()
    assert at.error[0].value.startswith("The registry (3 models) fails 1 check(s)")
    assert f"artifact {artifact} of model 1 fails its hash check" in at.error[0].value
    assert at.dataframe[0].value.set_index("step").loc["artifact", "what it is"].startswith("FAILS its hash check")


def test_a_forged_record_and_an_escaping_path_fail_verification_on_the_page(tmp_path, monkeypatch, registry_path):
    # Someone who can edit the database but not read the key: a pickle's hash written into model 2's row, model 3
    # pointed outside its folder. Neither may read as intact.
    import duckdb

    copy = tmp_path / "copy.duckdb"
    shutil.copy(registry_path, copy)
    shutil.copytree(registry_path.with_suffix(".artifacts"), copy.with_suffix(".artifacts"))
    con = duckdb.connect(str(copy))
    con.execute("UPDATE models SET artifact_sha256 = repeat('a', 64) WHERE version = 2")
    con.execute("UPDATE models SET artifact_path = '../../outside.pkl' WHERE version = 3")
    con.close()
    monkeypatch.setenv("MLORG_REGISTRY_DB", str(copy))
    at = page()
    error = at.error[0].value
    assert error.startswith("The registry (3 models) fails") and "model 2" in error and "model 3" in error
    assert "outside" in error and "not signed" in error
    assert not at.success


def test_a_file_that_is_not_a_registry_is_an_error(tmp_path, monkeypatch):
    junk = tmp_path / "junk.duckdb"
    junk.write_text("not a database")
    monkeypatch.setenv("MLORG_REGISTRY_DB", str(junk))
    at = page()
    assert at.error[0].value.startswith(f"Registry file: cannot open registry {junk}")
    assert not at.metric


def small(scenario):
    """The reference pipeline at a test's scale: 45 days of 500 transactions a day."""
    pipeline = dataclasses.replace(scenario.pipeline, days=45, transactions_per_day=500, cards=2000, history_days=7,
                                   train_days=14, holdout_days=14, scorer_sample_per_day=5,
                                   causes=(PipelineCause(kind="fraud_pattern_shift", start_day=35, size=0.8),))
    return scenario.replace(pipeline=pipeline)


def test_without_a_registry_the_page_says_how_to_make_one_and_its_button_builds_it(tmp_path, monkeypatch):
    path = tmp_path / "new" / "pipeline.duckdb"
    monkeypatch.setenv("MLORG_REGISTRY_DB", str(path))
    at = page()
    assert f"`uv run mlorg pipeline run --db {path}`" in at.info[0].value
    assert at.number_input(key="registry.days").value == 270  # scenarios/fraud_drift.toml's pipeline.days
    # A bad number of days is refused before anything is written.
    at.number_input(key="registry.days").set_value(100)
    at.button[0].click().run()
    assert at.error[0].value == ("Days of transactions: 100 is not allowed; must be >= 179 and <= 730 for "
                                 "fraud_drift: the last cause starts on day 178, and one day of serving follows it")
    assert "at least 179" in at.number_input(key="registry.days").help  # the form says the minimum before
    assert not path.exists()

    real = mlorg.pipeline.run.run_pipeline
    calls = []

    def run_small(scenario, db_path, *, seed, days, progress):
        calls.append((scenario.name, Path(db_path), seed, days))

        def counted(done, total):
            calls.append((done, total))
            progress(done, total)  # the page's bar

        return real(small(scenario), db_path, seed=seed, progress=counted)

    monkeypatch.setattr(mlorg.pipeline.run, "run_pipeline", run_small)
    at.number_input(key="registry.days").set_value(270)
    at.button[0].click().run()
    assert not at.exception and not at.error
    # The run was asked for the shipped scenario's days; the bar then moved through every served day of the three
    # replays (45 days, live after 14 training and 14 holdout days: 17 days, three times).
    assert calls == [("fraud_drift", path, 0, 270)] + [(step, 51) for step in range(1, 52)]
    assert at.success[0].value.startswith(f"Ran fraud_drift for 270 days (seed 0) into {path}")
    assert path.exists() and not at.info and not at.button  # the page shows the new registry at once
    assert metric(at, "Live model (champion)") == "v1"
    assert at.success[1].value.startswith("All 1 model records and the deployment history carry")
    assert at.dataframe[2].value["reason"].iloc[0].startswith("first model: offline AUC")
