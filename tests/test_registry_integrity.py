"""The registry against someone who can edit its database file and artifacts folder but cannot read the key: every
forgery the issue found (a pickle's hash written into a row, a path out of the folder, a deleted, rewritten, cut or
emptied history) is refused by verify and by loading, and nothing is unpickled before the checks pass."""

from __future__ import annotations

import hashlib
import os
import pickle
import stat

import duckdb
import pytest

from mlorg.cli import main
from mlorg.pipeline import integrity
from mlorg.pipeline.registry import ArtifactError, Registry, RegistryError
from tests.test_registry import add_model, make_frame


class Evil:
    def __reduce__(self):  # what an attacker's pickle would run on load
        return (os.system, ("echo pwned",))


@pytest.fixture
def filled(tmp_path):
    """A registry with two models and a champion history: deploy 1, promote 2, roll back to 1."""
    path = tmp_path / "reg.duckdb"
    with Registry(path) as reg:
        ids = {"dataset_id": reg.register_dataset("tx", make_frame(1)),
               "feature_version": reg.register_feature_set("f", "SELECT 1", {})}
        add_model(reg, ids)
        add_model(reg, ids, 0.5)
        reg.set_alias("champion", 1, reason="first", actor="t")
        reg.set_alias("champion", 2, reason="better", actor="t", action="promote")
        reg.set_alias("champion", 1, reason="worse online", actor="t", action="rollback")
        assert reg.verify() == []
    return path


def edit(path, *sql, params=None):
    """What an attacker with write access to the file does: plain SQL on it, no key."""
    con = duckdb.connect(str(path))
    for statement in sql:
        con.execute(statement, params or [])
    con.close()


def problems(path) -> list[str]:
    with Registry(path) as reg:
        return reg.verify()


def no_unpickling(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("unpickled an artifact that had not passed every check")

    monkeypatch.setattr(pickle, "loads", refuse)


def test_a_forged_hash_for_a_swapped_artifact_is_refused_by_verify_and_loading(filled, monkeypatch):
    # The attacker writes their pickle beside the real ones and its sha256 into model 2's row.
    folder = filled.with_suffix(".artifacts")
    payload = pickle.dumps(Evil())
    (folder / "evil.pkl").write_bytes(payload)
    edit(filled, "UPDATE models SET artifact_path = 'evil.pkl', artifact_sha256 = ? WHERE version = 2",
         params=[hashlib.sha256(payload).hexdigest()])
    found = problems(filled)
    assert any("model 2" in p and "not signed" in p for p in found), found
    no_unpickling(monkeypatch)
    with Registry(filled) as reg, pytest.raises(ArtifactError, match="model 2 .* not signed"):
        reg.load_model(2)


def test_a_path_out_of_the_artifacts_folder_is_refused_even_with_a_valid_signature(filled, tmp_path, monkeypatch):
    outside = tmp_path / "outside.pkl"
    outside.write_bytes(pickle.dumps(Evil()))
    edit(filled, "UPDATE models SET artifact_path = '../outside.pkl' WHERE version = 1")
    found = problems(filled)
    assert any("outside" in p and "model 1" in p for p in found), found
    no_unpickling(monkeypatch)
    with Registry(filled) as reg, pytest.raises(ArtifactError):
        reg.load_model(1)
    # Even a row the key signed cannot name a file outside the folder (a bug, or a key used carelessly).
    with Registry(filled) as reg, pytest.raises(ArtifactError, match="outside"):
        reg.checked_payload(1, "../outside.pkl", "0" * 64)


@pytest.mark.parametrize(("sql", "expected"), [
    ("DELETE FROM deployments WHERE seq = 2", "deployment 3"),  # a deleted row breaks the next one's link
    ("UPDATE deployments SET reason = 'routine' WHERE seq = 3", "deployment 3"),  # a rewritten reason
    ("UPDATE deployments SET seq = 9 WHERE seq = 1", "deployment"),  # a reordered history
    ("DELETE FROM deployments WHERE seq = 3", "cut from its end"),  # a cut tail
    ("DELETE FROM models", "cut from its end"),  # an emptied table
    ("UPDATE aliases SET version = 2", "alias champion"),  # the alias moved without a deployment
    ("UPDATE registry_meta SET value = 'x' || value WHERE key = 'registry_id'", "identity"),
])
def test_every_edit_of_the_records_is_found(filled, sql, expected):
    edit(filled, sql)
    found = problems(filled)
    assert any(expected in p for p in found), found


def test_a_registry_ahead_of_its_head_is_fine(filled):
    # A crash between a commit and the head's write leaves the head behind: the extra rows are signed, so it is fine.
    with Registry(filled) as reg:
        head = integrity.read_head(reg.registry_id)
        reg.set_alias("challenger", 2, reason="shadow", actor="t", action="shadow")
        integrity.write_head(reg.registry_id, head)
        assert reg.verify() == []


def test_a_registry_of_the_first_schema_is_signed_when_opened_and_then_guarded(tmp_path):
    path = tmp_path / "old.duckdb"
    with Registry(path) as reg:
        ids = {"dataset_id": reg.register_dataset("tx", make_frame(1)),
               "feature_version": reg.register_feature_set("f", "SELECT 1", {})}
        add_model(reg, ids)
        reg.set_alias("champion", 1, reason="first", actor="t")
    # Make it what version 1 wrote: no MACs, no identity.
    edit(path, "ALTER TABLE models DROP COLUMN mac", "ALTER TABLE deployments DROP COLUMN mac",
         "DROP TABLE pipeline_runs", "ALTER TABLE scores DROP COLUMN run_id", "ALTER TABLE alerts DROP COLUMN run_id",
         "DROP TABLE mlorg_meta", "DELETE FROM registry_meta WHERE key <> 'schema_version'",
         "UPDATE registry_meta SET value = '1' WHERE key = 'schema_version'")
    assert problems(path) == []
    with Registry(path) as reg:
        assert reg.load_model(1).predict_proba(make_frame(1)[["amount", "ratio"]]).shape == (200, 2)
    edit(path, "UPDATE deployments SET actor = 'someone else'")
    assert any("deployment 1" in p for p in problems(path))


def test_without_the_key_nothing_is_unpickled_and_verify_says_why(filled, monkeypatch, tmp_path):
    monkeypatch.setenv("MLORG_CONFIG_DIR", str(tmp_path / "elsewhere"))
    with Registry(filled) as reg:
        assert reg.history().shape[0] == 3  # reading the records needs no key
        assert len(reg.verify()) == 1 and "no registry key" in reg.verify()[0]
        with pytest.raises(ArtifactError, match="no registry key"):
            reg.load_model(1)
    monkeypatch.setenv("MLORG_REGISTRY_KEY", "another key, long enough")
    assert any("identity" in p for p in problems(filled))  # signed by another key


@pytest.mark.skipif(os.name != "posix", reason="file modes")
def test_a_key_others_can_read_is_refused(filled, tmp_path, monkeypatch):
    monkeypatch.setenv("MLORG_CONFIG_DIR", str(tmp_path / "loose"))
    with Registry(tmp_path / "new.duckdb"):
        pass
    key = tmp_path / "loose" / "registry.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    key.chmod(0o644)
    with pytest.raises(RegistryError, match="can be read by others"), Registry(tmp_path / "new.duckdb") as reg:
        reg.verify()
    monkeypatch.setenv("MLORG_REGISTRY_KEY", "short")
    with pytest.raises(RegistryError, match="at least 16"), Registry(tmp_path / "other.duckdb"):
        pass


def test_the_cli_exits_4_with_one_line_per_problem(filled, capsys):
    assert main(["registry", "verify", "--db", str(filled)]) == 0
    edit(filled, "DELETE FROM deployments WHERE seq = 3")
    assert main(["registry", "verify", "--db", str(filled)]) == 4
    err = capsys.readouterr().err
    assert "cut from its end" in err and "Traceback" not in err


def test_a_model_registered_after_a_forgery_does_not_hide_it(filled):
    edit(filled, "UPDATE deployments SET reason = 'routine' WHERE seq = 2")
    with Registry(filled) as reg:
        reg.set_alias("champion", 2, reason="again", actor="t", action="promote")
        assert any("deployment 2" in p for p in reg.verify())


def test_a_registry_another_process_holds_exits_3_and_a_file_that_is_not_one_exits_2(filled, tmp_path, capsys):
    import subprocess
    import sys

    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from mlorg.pipeline.registry import Registry; "
                               f"r = Registry({str(filled)!r}); print('open', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        assert main(["registry", "history", "--db", str(filled)]) == 3
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "lock" in err.lower() and "Traceback" not in err
    finally:
        holder.kill()
        holder.wait(timeout=30)
    junk = tmp_path / "junk.duckdb"
    junk.write_bytes(b"not a database" * 100)
    assert main(["registry", "verify", "--db", str(junk)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mlorg: error: cannot open registry") and "Traceback" not in err


def test_a_pipeline_run_is_a_unit_a_rerun_keeps_its_rows_apart_and_a_killed_one_is_reported(tmp_path, capsys):
    from mlorg.pipeline.run import run_pipeline
    from mlorg.pipeline.scale import at_scale
    from mlorg.scenario import load

    scenario = at_scale(load("scenarios/fraud_drift_full.toml"), "small")
    db = tmp_path / "run.duckdb"
    first = run_pipeline(scenario, db, seed=0)
    with Registry(db) as reg:
        alerts, scores = len(reg.alerts()), reg._query("SELECT count(*) AS n FROM scores")["n"][0]
        assert alerts == len(first.alerts) and scores > 0
    # Killed part-way: a run that starts and never finishes, with some rows of its own.
    with Registry(db) as reg:
        reg.start_run(scenario.name, 1)
        reg.record_alert(at=make_frame(1)["ts"][0].to_pydatetime(), monitor="m", detector="d", statistic=1.0,
                         threshold=0.5, detail="from the killed run")
    with Registry(db) as reg:  # what is read is still the finished run's
        assert len(reg.alerts()) == alerts and "from the killed run" not in set(reg.alerts()["detail"])
    assert main(["registry", "verify", "--db", str(db)]) == 0
    assert "pipeline run 2 (fraud_drift_full, seed 1)" in capsys.readouterr().out
    # A rerun on the same registry: a new run whose alerts are its own, not added to the first run's.
    run_pipeline(scenario, db, seed=0)
    with Registry(db) as reg:
        assert len(reg.alerts()) == alerts
        runs = reg.runs()
        assert list(runs["run_id"]) == [1, 2, 3] and runs["finished_at"].isna().tolist() == [False, True, False]
        by_run = reg._query("SELECT run_id, count(*) AS n FROM scores GROUP BY run_id ORDER BY run_id")
        assert by_run["n"].tolist() == [scores, scores]  # runs 1 and 3, the same days scored once each
