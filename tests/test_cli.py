"""The ``mlorg`` command line, in-process through ``main`` and, for exit codes, as a real process."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from mlorg import cli, results
from mlorg.metric_table import METRIC_DOCS, TIME_ACTIVITIES
from mlorg.scenario import GUARD, ROLES

SCENARIO_DIR = Path(__file__).resolve().parents[1] / "scenarios"
SCENARIO_FILES = sorted(SCENARIO_DIR.glob("*.toml"))
FIRST_MLE = SCENARIO_DIR / "first_mle.toml"
FAST = ["--horizon-days", "60", "--replications", "3"]


@pytest.fixture(autouse=True)
def _no_default_db(tmp_path, monkeypatch):
    # Never touch data/mlorg.duckdb, even if a test forgets --db.
    monkeypatch.setenv("MLORG_DB", str(tmp_path / "default.duckdb"))


@pytest.fixture
def bad_files(tmp_path) -> dict[str, Path]:
    invalid = tmp_path / "invalid.toml"
    invalid.write_text("[org]\nml_engineers = -1\n", encoding="utf-8")
    syntax = tmp_path / "syntax.toml"
    syntax.write_text('name = "x"\n[org]\nml_engineers = = 2\n', encoding="utf-8")
    return {"invalid": invalid, "syntax": syntax, "missing": tmp_path / "missing.toml"}


def run_main(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv: str) -> dict:
    code, out, err = run_main(capsys, "run", *argv, "--json")
    assert (code, err) == (0, "")
    return json.loads(out)


# ---------------------------------------------------------------------------------------------- validate

def test_validate_accepts_every_shipped_scenario(capsys):
    code, out, err = run_main(capsys, "validate", *SCENARIO_FILES)
    assert (code, err) == (0, "")
    assert out.splitlines() == [f"{path}: ok" for path in SCENARIO_FILES]


def test_validate_reports_each_bad_file_and_exits_2(capsys, bad_files):
    code, out, err = run_main(capsys, "validate", FIRST_MLE, bad_files["invalid"], bad_files["missing"],
                              bad_files["syntax"])
    assert code == 2
    assert out == f"{FIRST_MLE}: ok\n"
    assert err.splitlines() == [
        f"mlorg: error: {bad_files['invalid']}: org.ml_engineers: -1 is not allowed; must be an integer >= 0 "
        "and <= 5000",
        f"mlorg: error: {bad_files['missing']}: no such file",
        f"mlorg: error: {bad_files['syntax']}: TOML syntax error: Invalid value (at line 3, column 16)",
    ]


# ---------------------------------------------------------------------------------------- run: user errors

@pytest.mark.parametrize(("case", "expected"), [
    ("invalid", "org.ml_engineers: -1 is not allowed; must be an integer >= 0 and <= 5000"),
    ("missing", "no such file"),
    ("syntax", "TOML syntax error: Invalid value (at line 3, column 16)"),
])
def test_run_with_a_bad_file_exits_2_with_one_line(capsys, bad_files, case, expected):
    code, out, err = run_main(capsys, "run", bad_files[case], *FAST)
    assert (code, out) == (2, "")
    assert err == f"mlorg: error: {bad_files[case]}: {expected}\n"


@pytest.mark.parametrize(("option", "value", "expected"), [
    ("--replications", "0", "argument --replications: 0 is not allowed; must be >= 1 and <= 1000"),
    ("--replications", "1001", "argument --replications: 1001 is not allowed; must be >= 1 and <= 1000"),
    ("--replications", "two", "argument --replications: 'two' is not allowed; must be an integer"),
    ("--seed", "-1", "argument --seed: -1 is not allowed; must be >= 0 and <= 9223372036854775807"),
    ("--horizon-days", "0.5", "argument --horizon-days: 0.5 is not allowed; must be >= 1 and <= 36500"),
    ("--horizon-days", "nan", "argument --horizon-days: nan is not allowed; must be >= 1 and <= 36500"),
])
def test_run_with_a_bad_option_exits_2(capsys, option, value, expected):
    with pytest.raises(SystemExit) as info:
        cli.main(["run", str(FIRST_MLE), option, value])
    out, err = capsys.readouterr()
    assert (info.value.code, out) == (2, "")
    assert err.splitlines()[-1] == f"mlorg run: error: {expected}"
    assert "Traceback" not in err


@pytest.mark.parametrize("case", ["syntax", "seed"])
def test_a_real_process_exits_2_without_a_traceback(tmp_path, bad_files, case):
    argv = ["run", str(bad_files["syntax"])] if case == "syntax" else ["run", str(FIRST_MLE), "--seed", "-1"]
    done = subprocess.run([sys.executable, "-m", "mlorg.cli", *argv], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    assert done.returncode == 2
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    last = done.stderr.splitlines()[-1]
    assert last.startswith("mlorg: error: " if case == "syntax" else "mlorg run: error: argument --seed: -1 ")


# ---------------------------------------------------------------------------------------------- run --json

def test_run_json_holds_every_metric_with_an_interval(capsys):
    result = run_json(capsys, FIRST_MLE, *FAST)
    assert {k: result[k] for k in ("scenario", "seed", "replications", "horizon_days")} == {
        "scenario": "first_mle", "seed": 0, "replications": 3, "horizon_days": 60.0}
    metrics = result["metrics"]
    required = {"ttp_days_median", "ttp_days_p90", "models_trained", "models_shipped", "models_live_end",
                "backlog_end", "models_abandoned", "staff_cost_usd"}
    required |= {f"time_share_{role}_{activity}" for role in ROLES for activity in TIME_ACTIVITIES}
    assert required <= set(metrics)
    assert set(metrics) == set(METRIC_DOCS)
    for name, value in metrics.items():
        assert set(value) == {"mean", "ci95_low", "ci95_high"}, name
        if value["ci95_low"] is not None:
            assert value["ci95_low"] <= value["mean"] <= value["ci95_high"], name
    # first_mle: 4 data scientists and 1 ML engineer, no attrition; 60 days of their fully loaded cost.
    cost = metrics["staff_cost_usd"]
    assert math.isclose(cost["mean"], (4 * 190_000 + 210_000) * 60 / 365, rel_tol=1e-12)
    assert math.isclose(cost["ci95_low"], cost["mean"], rel_tol=1e-12)
    assert metrics["time_share_platform_engineer_idle"] == {"mean": None, "ci95_low": None, "ci95_high": None}
    trained = metrics["models_trained"]["mean"]
    parts = sum(metrics[k]["mean"] for k in ("models_shipped", "models_abandoned", "backlog_end"))
    assert math.isclose(trained, parts, rel_tol=1e-12)


def test_run_json_is_reproducible_and_depends_on_the_seed(capsys):
    first = run_json(capsys, FIRST_MLE, *FAST, "--seed", "7")
    again = run_json(capsys, FIRST_MLE, *FAST, "--seed", "7")
    other = run_json(capsys, FIRST_MLE, *FAST, "--seed", "8")
    assert first == again
    assert other["seed"] == 8
    assert other["metrics"] != first["metrics"]


def test_horizon_days_option_overrides_the_scenario(capsys):
    short = run_json(capsys, FIRST_MLE, "--replications", "2", "--horizon-days", "30")
    longer = run_json(capsys, FIRST_MLE, "--replications", "2", "--horizon-days", "90")
    assert (short["horizon_days"], longer["horizon_days"]) == (30.0, 90.0)
    assert math.isclose(longer["metrics"]["staff_cost_usd"]["mean"],
                        3 * short["metrics"]["staff_cost_usd"]["mean"], rel_tol=1e-12)


def test_horizon_days_option_is_validated_against_the_person_years_guard(capsys, tmp_path, monkeypatch):
    path = tmp_path / "big.toml"
    path.write_text('name = "big"\n[org]\ndata_scientists = 5000\n', encoding="utf-8")
    assert run_main(capsys, "validate", path)[0] == 0  # 5000 people for 730 days is allowed

    def must_not_run(*args, **kwargs):
        raise AssertionError("the simulator was started on a scenario that breaks the person-years guard")

    monkeypatch.setattr(results, "run_once", must_not_run)
    code, out, err = run_main(capsys, "run", path, "--horizon-days", "36500")
    assert (code, out) == (2, "")
    assert err == (f"mlorg: error: horizon_days: 36500 days with 5000 people is 500,000 person-years; "
                   f"must be <= 200,000 ({GUARD})\n")


def test_run_prints_a_table(capsys):
    code, out, err = run_main(capsys, "run", FIRST_MLE, *FAST, "--seed", "4")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[:2] == ["first_mle: notebook_shipping plus one ML engineer", "3 replications of 60 days, seed 4"]
    assert lines[3].split() == ["metric", "mean", "95%", "CI"]
    assert lines[-1] == ("! Intervals from 3 replications are rough (the spread itself is poorly known below 5); "
                         "run more before deciding on them.")
    names = [line.split()[0] for line in lines[5:-2]]
    assert "models_trained" in names and "staff_cost_usd" in names
    # Roles the organisation never had are left out rather than shown as n/a.
    assert not any(name.startswith("time_share_platform_engineer") for name in names)


# ------------------------------------------------------------------------------------------- save and runs

def test_save_then_list_and_show(capsys, tmp_path):
    db = tmp_path / "runs.duckdb"
    saved = run_json(capsys, FIRST_MLE, *FAST, "--save", "--db", db)
    assert saved["run_id"] == 1
    second = run_json(capsys, FIRST_MLE, *FAST, "--seed", "1", "--save", "--db", db)
    assert second["run_id"] == 2

    code, out, err = run_main(capsys, "runs", "--db", db, "--json")
    assert (code, err) == (0, "")
    listed = json.loads(out)
    assert [row["run_id"] for row in listed] == [2, 1]
    assert [(row["label"], row["seed"], row["replications"], row["horizon_days"]) for row in listed] == [
        ("first_mle", 1, 3, 60.0), ("first_mle", 0, 3, 60.0)]
    # The listing goes through pandas' to_json, which keeps 10 significant decimals.
    assert listed[1]["models_shipped"] == pytest.approx(saved["metrics"]["models_shipped"]["mean"], rel=1e-9)

    code, out, err = run_main(capsys, "runs", "--db", db)
    assert (code, err) == (0, "")
    header, *rows = out.splitlines()
    assert header.split()[:3] == ["run_id", "created_at", "label"]
    assert [row.split()[0] for row in rows] == ["2", "1"]

    code, out, err = run_main(capsys, "runs", "1", "--db", db, "--json")
    assert (code, err) == (0, "")
    shown = json.loads(out)
    assert {k: shown[k] for k in ("run_id", "label", "scenario", "seed", "replications")} == {
        "run_id": 1, "label": "first_mle", "scenario": "first_mle", "seed": 0, "replications": 3}
    assert shown["metrics"] == saved["metrics"]

    code, out, err = run_main(capsys, "runs", "2", "--db", db)
    assert (code, err) == (0, "")
    assert out.startswith("run 2: first_mle (seed 1, 3 replications, saved ")


def test_runs_on_an_empty_store(capsys, tmp_path):
    db = tmp_path / "empty.duckdb"
    code, out, err = run_main(capsys, "runs", "--db", db)
    assert (code, out, err) == (0, f"no saved runs in {db}\n", "")
    code, out, err = run_main(capsys, "runs", "999", "--db", db)
    assert (code, out) == (2, "")
    assert err == f"mlorg: error: run 999 is not in {db}\n"


def test_runs_uses_mlorg_db_when_no_db_is_given(capsys, tmp_path, monkeypatch):
    db = tmp_path / "from_env.duckdb"
    monkeypatch.setenv("MLORG_DB", str(db))
    run_json(capsys, FIRST_MLE, *FAST, "--save")
    code, out, err = run_main(capsys, "runs", "1", "--json")
    assert (code, err) == (0, "")
    assert json.loads(out)["run_id"] == 1
    assert db.exists()


def test_unwritable_store_exits_2(capsys, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("", encoding="utf-8")
    db = blocker / "runs.duckdb"
    code, out, err = run_main(capsys, "run", FIRST_MLE, *FAST, "--save", "--db", db)
    assert (code, out) == (2, "")
    assert err.startswith(f"mlorg: error: cannot open run store {db}: ")
    # Listing a store that cannot exist finds nothing rather than failing, and creates nothing.
    code, out, err = run_main(capsys, "runs", "--db", db)
    assert (code, out, err) == (0, f"no saved runs in {db}\n", "")


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("mlorg ")
