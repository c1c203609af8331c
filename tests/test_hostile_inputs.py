"""Hostile inputs: every file of the committed corpus (``tests/hostile/``), and the ones too big to commit (a 10 MB
file, an extends chain of 1,100 files), CLI ranges that overflow, and DuckDB files that are corrupt, empty or of
another kind. Each exits with its documented code (README, "Exit codes") and one line naming the problem, without a
traceback, and within 60 s. Locked registries are in ``test_registry_integrity.py``."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from mlorg.cli import main

HOSTILE = Path(__file__).resolve().parent / "hostile"
# What each file must be refused for (a fragment of the one line).
EXPECTED = {
    "nan.toml": "horizon_days: nan is not allowed",
    "inf.toml": "org.productive_hours_per_week: inf is not allowed",
    "huge.toml": "research.cycle_hours.mean: 1e+308 is not allowed",
    "negative.toml": "org.data_scientists: -3 is not allowed",
    "million_staff.toml": "org.data_scientists: 1000000 is not allowed",
    "century.toml": "300,000 person-years",
    "deep_array.toml": "nested 200 deep are not allowed",
    "deep_inline.toml": "nested 200 deep are not allowed",
    "non_utf8.toml": "cannot read",
    "cycle_a.toml": "extend each other in a loop",
    "cycle_b.toml": "extend each other in a loop",
    "outside.toml": "it must name a file in",
    "device.toml": "it must name a file in",
    "directory.toml": "is not a regular file",
    "extends_number.toml": "must be the name of a scenario file",
    "uncertain_nan.toml": "org.ml_engineers.uncertain.low: nan is not allowed; must be a number",
    "uncertain_wide.toml": "research.cycle_hours.uncertain_mean: normal (mean 640, sd 1e+308) falls outside",
}


def refused(capsys, argv: list[str], code: int = 2) -> str:
    started = time.perf_counter()
    assert main(argv) == code
    assert time.perf_counter() - started < 60
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mlorg: error: ") and "Traceback" not in err, err
    return lines[0]


def test_the_corpus_is_what_the_test_expects():
    assert {p.name for p in HOSTILE.glob("*.toml")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("command", ["validate", "run"])
def test_every_hostile_scenario_is_refused_in_one_line(capsys, name, command):
    line = refused(capsys, [command, str(HOSTILE / name)])
    assert EXPECTED[name] in line and name in line


def test_a_10_mb_file_and_a_chain_of_1100_files_are_refused(capsys, tmp_path):
    big = tmp_path / "big.toml"
    big.write_text("# padding\n" * 1_000_000)
    assert "10,000,000 bytes is not allowed" in refused(capsys, ["run", str(big)])
    for i in range(1100):
        (tmp_path / f"chain{i}.toml").write_text(f'extends = "chain{i + 1}.toml"\n' if i < 1099 else 'name = "end"\n')
    assert "a chain of more than 16 files" in refused(capsys, ["run", str(tmp_path / "chain0.toml")])


def test_extends_reaches_the_shipped_scenarios_and_its_own_folder(tmp_path, capsys):
    shipped = Path(__file__).resolve().parents[1] / "scenarios" / "fraud_drift.toml"
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "base.toml").write_text(f'extends = "{shipped}"\nname = "base"\n')
    (tmp_path / "top.toml").write_text('extends = "sub/base.toml"\nname = "top"\n')
    assert main(["validate", str(tmp_path / "top.toml")]) == 0


@pytest.mark.parametrize("vary", ["org.ml_engineers=1..1e300:1e-300", "org.ml_engineers=0..1e308",
                                  "horizon_days=1..2:1e-320"])
def test_cli_ranges_that_overflow_are_refused(capsys, vary):
    assert "is not allowed" in refused(capsys, ["sweep", "scenarios/first_mle.toml", "--vary", vary])


@pytest.mark.parametrize("content", ["corrupt", "empty", "registry"])
def test_the_run_store_refuses_files_that_are_not_one(capsys, tmp_path, content):
    path = tmp_path / "x.duckdb"
    if content == "corrupt":
        path.write_bytes(b"not a database" * 100)
    elif content == "empty":
        path.write_bytes(b"")
    else:
        from mlorg.pipeline.registry import Registry

        Registry(path).close()
    line = refused(capsys, ["runs", "--db", str(path)])
    assert str(path) in line
    if content == "registry":
        assert "is an mlorg model registry, not an mlorg run store" in line
        with duckdb.connect(str(path)) as con:  # nothing was written into it
            tables = {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        assert "runs" not in tables


def test_the_registry_refuses_a_run_store_and_a_file_with_other_tables(capsys, tmp_path):
    store = tmp_path / "runs.duckdb"
    assert main(["run", "scenarios/first_mle.toml", "--replications", "2", "--save", "--db", str(store)]) == 0
    capsys.readouterr()
    line = refused(capsys, ["registry", "verify", "--db", str(store)])
    assert "is an mlorg run store, not an mlorg model registry" in line
    foreign = tmp_path / "foreign.duckdb"
    with duckdb.connect(str(foreign)) as con:
        con.execute("CREATE TABLE customers (id INTEGER)")
    assert "holds tables that are not an mlorg model registry's (customers)" in refused(
        capsys, ["registry", "history", "--db", str(foreign)])
    line = refused(capsys, ["runs", "--db", str(foreign)])
    assert "holds tables that are not an mlorg run store's (customers)" in line


def test_an_unmarked_store_of_our_own_tables_is_adopted(tmp_path, capsys):
    store = tmp_path / "old.duckdb"
    assert main(["run", "scenarios/first_mle.toml", "--replications", "2", "--save", "--db", str(store)]) == 0
    with duckdb.connect(str(store)) as con:
        con.execute("DROP TABLE mlorg_meta")  # as written before the marker existed
    capsys.readouterr()
    assert main(["runs", "--db", str(store)]) == 0
    assert "first_mle" in capsys.readouterr().out


def test_a_real_process_given_a_device_exits_2_without_a_traceback():
    done = subprocess.run([sys.executable, "-m", "mlorg.cli", "run", "/dev/zero"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr and "not a regular file" in done.stderr


def test_a_scheduler_that_is_not_an_address_is_refused_at_once_without_a_traceback():
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "mlorg.cli", "sweep", "scenarios/first_mle.toml", "--vary",
                           "org.ml_engineers=1..2", "--replications", "2", "--scheduler", "not a url"],
                          capture_output=True, text=True, timeout=60, cwd=HOSTILE.parents[1])
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "--scheduler: 'not a url' is not allowed" in done.stderr
    assert time.perf_counter() - started < 30  # it waited 20 s for a Client to close before
