"""Sweeps, sensitivity and goal-seeking: the same table whatever runs it, common random numbers, the
optimiser's pick holding on fresh runs, clear failures on a cluster that cannot run mlorg, and the CLI.

One Dask LocalCluster (two worker processes) serves the whole module; tiny scenarios (180 simulated days,
a few replications) keep every sweep to seconds.
"""

from __future__ import annotations

import json
import logging
import math
import socket
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlorg import __version__, cli
from mlorg.metric_table import METRIC_DOCS
from mlorg.results import replicate
from mlorg.scenario import Hire, Org, Scenario, ScenarioError, load
from mlorg.sweeps import (
    Objective,
    SweepError,
    cells,
    edit,
    execute,
    numeric_inputs,
    objective_of,
    on_dask,
    optimise,
    parse_target,
    parse_values,
    read_table,
    sensitivity,
    summarise_cells,
    sweep,
    write_table,
)
from mlorg.sweeps.sensitivity import varied_values

SCENARIO_DIR = Path(__file__).resolve().parents[1] / "scenarios"
FIRST_MLE = SCENARIO_DIR / "first_mle.toml"
GRID = {"org.ml_engineers": "0..2", "org.platform_engineers": [0, 1]}
DAYS_PER_YEAR = 365.0


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load(FIRST_MLE).replace(horizon_days=180.0)


@pytest.fixture(scope="module")
def serial_table(scenario) -> pd.DataFrame:
    return sweep(scenario, GRID, 3, seed=7, backend="serial")


@pytest.fixture(scope="module")
def dask_client():
    """Two single-threaded worker processes. They are forked from this process, which already holds mlorg
    and its imports: a spawned worker pays ~10 s of imports on this machine before its first task. Tasks
    still travel pickled to the other processes, and the version check still imports mlorg there."""
    dask = pytest.importorskip("dask")
    distributed = pytest.importorskip("distributed")
    with dask.config.set({"distributed.worker.multiprocessing-method": "fork"}), \
            distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                     dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR) as cluster, \
            distributed.Client(cluster, set_as_default=False) as client:
        yield client


# -------------------------------------------------------------------------------------------- the grid

def test_values_are_ranges_and_lists_typed_by_their_field():
    assert parse_values("org.ml_engineers", "0..8") == list(range(9))
    assert parse_values("org.ml_engineers", "0..8:4,10") == [0, 4, 8, 10]
    assert parse_values("research.cycle_hours.mean", "500..700:100") == [500.0, 600.0, 700.0]
    assert parse_values("policy.data_scientist_max_production_share", "0.1..0.3:0.1") == [0.1, 0.2, 0.3]
    assert parse_values("serving.realtime.instance", "c6i.xlarge,g4dn.xlarge") == ["c6i.xlarge", "g4dn.xlarge"]
    assert parse_values("serving.enabled", "true,false") == [True, False]
    assert parse_values("org.productive_hours_per_week", "32") == [32.0]  # a number field stores floats


@pytest.mark.parametrize(("spec", "problem"), [
    ("0..x", "a range must be START..STOP or START..STOP:STEP with numbers"),
    ("5..1", "a range needs STOP >= START and a STEP > 0"),
    ("0..4:0", "a range needs STOP >= START and a STEP > 0"),
    ("1,,2", "an empty item between commas"),
    ("1,2,1", "must not repeat a value (1)"),
    ("0..5000", "must give at most 1000 values"),
])
def test_a_bad_spec_names_the_field_and_what_is_allowed(spec, problem):
    with pytest.raises(SweepError) as info:
        parse_values("org.ml_engineers", spec)
    assert str(info.value) == f"org.ml_engineers: {spec!r} is not allowed; {problem}"


def test_every_value_is_checked_by_the_schema_before_anything_runs(scenario):
    with pytest.raises(ScenarioError) as info:
        cells(scenario, {"org.ml_engineers": [-1, 2, 1.5], "org.platform_engnieers": [0]})
    assert info.value.messages == [
        "org.ml_engineers: -1 is not allowed; must be an integer >= 0 and <= 5000",
        "org.ml_engineers: 1.5 is not allowed; must be an integer >= 0 and <= 5000",
        "org.platform_engnieers: unknown key; did you mean 'platform_engineers'?",
    ]


def test_a_combination_that_breaks_a_rule_across_fields_is_named_by_its_cell(scenario):
    with pytest.raises(ScenarioError) as info:
        cells(scenario, {"serving.realtime.min_replicas": [2, 50], "serving.realtime.max_replicas": [10, 100]})
    assert info.value.messages == ["with serving.realtime.min_replicas=50, serving.realtime.max_replicas=10: "
                                   "serving.realtime.min_replicas: 50 is not allowed; must be <= max_replicas (10)"]


def test_paths_reach_list_entries_and_refuse_what_is_not_a_field():
    scenario = Scenario(org=Org(hiring=(Hire(day=30.0, role="ml_engineer", count=1),)))
    assert edit(scenario, {"org.hiring[0].count": 3}).org.hiring[0].count == 3
    for path, message in [("org.hiring[1].count", "org.hiring[1]: no such entry; the scenario has 1 (from [0])"),
                          ("org.hiring.count", "org.hiring: a list of tables; name an entry, e.g. org.hiring[0]"),
                          ("org.ml_engineers.x", "org.ml_engineers.x: org.ml_engineers is a value, not a table; it "
                                                 "has no fields")]:
        with pytest.raises(ScenarioError) as info:
            edit(scenario, {path: 1})
        assert str(info.value) == message


def test_the_table_has_one_row_per_cell_and_replication_with_every_metric(serial_table):
    table = serial_table
    assert list(table.columns[:4]) == ["cell", "org.ml_engineers", "org.platform_engineers", "replication"]
    assert set(table.columns[4:]) == set(METRIC_DOCS)
    # Row-major cells (the last path varies fastest), replications 0..n-1 in each.
    assert table[["org.ml_engineers", "org.platform_engineers"]].drop_duplicates().values.tolist() == [
        [0, 0], [0, 1], [1, 0], [1, 1], [2, 0], [2, 1]]
    assert table["replication"].tolist() == [0, 1, 2] * 6
    assert table.attrs == {"scenario": "first_mle", "seed": 7, "replications": 3, "mlorg_version": __version__}
    # A platform engineer alone builds nothing a model needs in 180 days: same draws, same TTP, higher cost.
    by_pe = table.set_index(["org.ml_engineers", "replication", "org.platform_engineers"])
    assert by_pe["ttp_days_mean"].xs(0, level=2).equals(by_pe["ttp_days_mean"].xs(1, level=2))
    extra = by_pe["total_cost_usd"].xs(1, level=2) - by_pe["total_cost_usd"].xs(0, level=2)
    assert np.allclose(extra, 210_000 * 180 / DAYS_PER_YEAR)


def test_total_cost_adds_staff_serving_infrastructure_and_losses_counting_missing_parts_as_zero(serial_table):
    assert serial_table["serving_cost_usd"].isna().all() and serial_table["business_loss_usd"].isna().all()
    assert serial_table["infra_cost_usd"].isna().all()
    assert serial_table["total_cost_usd"].equals(serial_table["staff_cost_usd"])
    run = replicate(load(SCENARIO_DIR / "fraud_drift.toml").replace(horizon_days=365.0), 1, 0).runs[0].metrics
    parts = run["staff_cost_usd"] + run["serving_cost_usd"] + run["infra_cost_usd"] + run["business_loss_usd"]
    assert run["serving_cost_usd"] > 0 and run["business_loss_usd"] > 0 and run["infra_cost_usd"] > 0
    assert run["total_cost_usd"] == pytest.approx(parts, rel=1e-12)
    assert run["net_value_usd"] == pytest.approx(run["value_delivered_usd"] - parts, rel=1e-12)


def test_cell_summary_gives_each_metric_a_mean_and_interval(serial_table):
    summary = summarise_cells(serial_table, ["ttp_days_mean", "total_cost_usd"])
    assert len(summary) == 12
    one = summary[(summary["cell"] == 2) & (summary["metric"] == "ttp_days_mean")].iloc[0]
    values = serial_table.loc[serial_table["cell"] == 2, "ttp_days_mean"]
    assert one["mean"] == pytest.approx(values.mean()) and one["n"] == 3
    assert one["ci95_low"] < one["mean"] < one["ci95_high"]


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".duckdb"])
def test_tables_round_trip_through_csv_parquet_and_duckdb(serial_table, tmp_path, suffix):
    path = write_table(serial_table, tmp_path / f"sweep{suffix}")
    pd.testing.assert_frame_equal(read_table(path), serial_table, check_exact=True, check_dtype=False)


def test_an_unknown_file_kind_is_refused(serial_table, tmp_path):
    with pytest.raises(SweepError, match=r"out: '.*sweep.txt' is not allowed; must end in .csv, .parquet, .duckdb"):
        write_table(serial_table, tmp_path / "sweep.txt")


# ----------------------------------------------------------------------------------- backends agree

def test_chunks_cover_every_run_once():
    pieces = execute.chunks(n_scenarios=3, replications=25, n_workers=1)
    runs = [(index, r) for index, reps in pieces for r in reps]
    assert sorted(runs) == [(i, r) for i in range(3) for r in range(25)]
    assert max(len(reps) for _, reps in pieces) == 9  # 75 runs / (8 chunks per worker) per chunk


def test_serial_process_pool_and_dask_give_identical_tables(scenario, serial_table, dask_client):
    pool = sweep(scenario, GRID, 3, seed=7, backend="process", workers=2)
    one_worker = sweep(scenario, GRID, 3, seed=7, backend="process", workers=1)
    dask = sweep(scenario, GRID, 3, seed=7, backend="dask", scheduler=dask_client)
    for table in (pool, one_worker, dask):
        pd.testing.assert_frame_equal(table, serial_table, check_exact=True)


# ------------------------------------------------------------------------------- common random numbers

def test_common_random_numbers_make_adjacent_cells_differ_by_less_noise(scenario):
    """Cells share replication r's random streams, so the paired difference between one more data
    scientist and the base is far less noisy than between independently seeded runs of the two."""
    n, metric = 12, "ttp_days_mean"
    crn = sweep(scenario, {"org.data_scientists": "4..5"}, n, seed=0, backend="serial")
    other_seed = sweep(scenario, {"org.data_scientists": [5]}, n, seed=1, backend="serial")
    base = crn.loc[crn["org.data_scientists"] == 4, metric].to_numpy()
    paired = crn.loc[crn["org.data_scientists"] == 5, metric].to_numpy() - base
    independent = other_seed[metric].to_numpy() - base
    # A replication that ships nothing in 180 days has no TTP (NaN) and drops out of both.
    assert np.nanvar(paired, ddof=1) < 0.2 * np.nanvar(independent, ddof=1)


# ------------------------------------------------------------------------------------------ sensitivity

def test_sensitivity_inputs_are_the_numbers_that_can_matter(scenario):
    inputs = numeric_inputs(scenario)
    assert {"org.ml_engineers", "org.platform_engineers", "costs.ml_engineer", "research.cycle_hours.mean",
            "skills.data_scientist.productionisation", "policy.max_toil_share"} <= set(inputs)
    # No serving, drift, platform team or pipeline in this scenario; never the horizon or a shape.
    assert not [p for p in inputs if p.startswith(("serving.", "drift.", "platform.", "pipeline.", "impact."))]
    assert "horizon_days" not in inputs and not [p for p in inputs if p.endswith("cv")]
    assert "costs.platform_engineer" not in inputs and "attrition.time_to_hire_days" not in inputs
    drift = numeric_inputs(load(SCENARIO_DIR / "fraud_drift.toml"))
    assert {"drift.concept.rate_per_model_year", "impact.usd_per_positive",
            "serving.realtime.service_ms"} <= set(drift)


def test_integers_move_by_at_least_one_and_numbers_by_the_spread(scenario):
    assert varied_values(scenario, "org.ml_engineers", 0.2) == (0, 2)
    assert varied_values(scenario, "org.data_scientists", 0.2) == (3, 5)
    assert varied_values(scenario, "org.platform_engineers", 0.2) == (-1, 1)
    assert varied_values(scenario, "costs.ml_engineer", 0.2) == pytest.approx((168_000, 252_000))


def test_tornado_ranks_inputs_by_their_paired_swing(scenario):
    """Staff cost is exact arithmetic, so every swing is known: headcount × annual cost × 180/365."""
    table = sensitivity(scenario, "staff_cost_usd", 0.2, 2, inputs=["costs.data_scientist", "org.data_scientists",
                                                                    "org.ml_engineers", "org.platform_engineers"],
                        backend="serial")
    years = 180 / DAYS_PER_YEAR
    assert table["input"].tolist() == ["org.ml_engineers", "org.data_scientists", "costs.data_scientist",
                                       "org.platform_engineers"]
    assert table["rank"].tolist() == [1, 2, 3, 4]
    expected = [2 * 210_000 * years, 2 * 190_000 * years, 0.4 * 4 * 190_000 * years, 210_000 * years]
    assert table["swing_mean"].to_numpy() == pytest.approx(expected, rel=1e-9)
    assert (table["swing_ci95_high"] - table["swing_ci95_low"]).to_numpy() == pytest.approx(0, abs=1e-6)
    platform = table.iloc[3]  # 0 platform engineers has no lower side: the swing is the high side's
    assert pd.isna(platform["low_value"]) and math.isnan(platform["low_delta_mean"])
    assert platform["base_mean"] == pytest.approx((4 * 190_000 + 210_000) * years)


def test_sensitivity_refuses_an_unknown_metric_before_running(scenario):
    with pytest.raises(SweepError, match=r"metric: 'ttp_p90' is not allowed; .*\(did you mean 'ttp_days_p90'\?\)"):
        sensitivity(scenario, "ttp_p90")


# ------------------------------------------------------------------------------------------ goal-seeking

def test_the_optimisers_pick_meets_the_target_on_fresh_replications():
    # One class of model without governance, so that a time-to-production target separates the cells.
    year = load(FIRST_MLE).replace(horizon_days=365.0, portfolio=())
    result = optimise(year, {"org.ml_engineers": "0..3"}, "ttp_days_p90<=40", Objective("total_cost_usd", False),
                      replications=8, seed=0, backend="process", workers=2)
    assert result.best is not None and result.best["org.ml_engineers"] == 2
    assert result.best["target_bound"] <= 40 and result.best["target_bound"] > result.best["target_mean"]
    # Every cheaper cell fails its bound; the runner-up costs more, by a paired difference.
    evidence = result.cells.set_index("org.ml_engineers")
    assert not evidence.loc[[0, 1], "meets_target"].any() and (evidence.loc[[0, 1], "target_bound"] > 40).all()
    assert result.runners_up["org.ml_engineers"].tolist() == [3]
    assert result.runners_up["extra_mean"].iloc[0] == pytest.approx(210_000.0)
    fresh = replicate(edit(year, {"org.ml_engineers": 2}), 8, seed=2026, keep_runs=False).summary
    assert fresh.loc["ttp_days_p90", "mean"] <= 40


def test_targets_are_parsed_and_checked():
    target = parse_target("ttp_days_p90 <= 30")
    assert (target.metric, target.op, target.value, target.upper) == ("ttp_days_p90", "<=", 30.0, True)
    assert not parse_target("ship_share>0.5").upper
    for text in ("ttp_days_p90=30", "ttp_days_p90<=soon", "<=30"):
        with pytest.raises(SweepError, match="must be METRIC<=VALUE"):
            parse_target(text)


# ------------------------------------------------------------------------------ Dask fails fast and clearly

def _hide_mlorg() -> int:
    import sys

    hidden = {name: sys.modules.pop(name) for name in list(sys.modules) if name.split(".")[0] == "mlorg"}
    sys.modules["mlorg"] = None  # `import mlorg` now fails as if it were not installed
    sys.mlorg_hidden_by_test = hidden
    return len(hidden)


def _restore_mlorg() -> None:
    import sys

    sys.modules.pop("mlorg", None)
    sys.modules.update(sys.__dict__.pop("mlorg_hidden_by_test", {}))


def test_workers_that_cannot_import_mlorg_fail_fast_in_one_line(scenario, dask_client):
    """The module's cluster, with mlorg made unimportable on its workers: a task naming mlorg would kill a
    worker on unpickling and wait forever; the version check must say so first."""
    dask_client.run(on_dask._by_value(_hide_mlorg))
    try:
        start = time.monotonic()
        with pytest.raises(SweepError) as info:
            sweep(scenario, GRID, 2, backend="dask", scheduler=dask_client, timeout=5)
        took = time.monotonic() - start
    finally:
        dask_client.run(on_dask._by_value(_restore_mlorg))
    assert str(info.value) == ("2 of 2 Dask workers cannot import mlorg (ModuleNotFoundError: import of mlorg "
                               f"halted; None in sys.modules); install mlorg {__version__} where the workers run")
    assert took < 30  # a generous ceiling: without the check this would hang until the task timeout


def test_workers_at_another_version_are_refused(scenario, dask_client, monkeypatch):
    monkeypatch.setattr(on_dask, "__version__", "9.9.9")
    with pytest.raises(SweepError) as info:
        sweep(scenario, GRID, 2, backend="dask", scheduler=dask_client)
    assert str(info.value) == (f"2 of 2 Dask workers run mlorg {__version__}, this process 9.9.9; install the same "
                               "version on every worker")


def test_a_run_longer_than_the_timeout_stops_the_sweep(scenario, dask_client):
    with pytest.raises(SweepError, match=r"took longer than .* s \(the limit is 0.001 s a run\); the sweep was "
                                         "stopped"):
        sweep(scenario, GRID, 2, backend="dask", scheduler=dask_client, timeout=0.001)


def test_an_unreachable_scheduler_is_one_line(scenario):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(SweepError) as info:
        sweep(scenario, GRID, 2, backend="dask", scheduler=f"tcp://127.0.0.1:{port}", connect_timeout=1)
    assert str(info.value).startswith(f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port} (")
    assert len(str(info.value).splitlines()) == 1


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"backend": "ray"}, "backend: 'ray' is not supported"),
    ({"backend": "threads"}, "backend: 'threads' is not allowed; must be one of process, serial, dask"),
    ({"workers": 0}, "workers: 0 is not allowed; must be an integer >= 1 and <= 1024"),
    ({"scheduler": "tcp://x:1"}, "scheduler: only the dask backend uses a scheduler"),
])
def test_bad_execution_options_are_refused(scenario, kwargs, message):
    with pytest.raises(SweepError, match=message.replace("(", r"\(").replace(")", r"\)")):
        sweep(scenario, GRID, 2, **kwargs)


# ------------------------------------------------------------------------------------------------- CLI

FAST = ["--horizon-days", "180", "--replications", "3", "--backend", "serial"]


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_sweep_prints_cells_and_saves_every_run(capsys, tmp_path, scenario):
    out_file = tmp_path / "sweep.parquet"
    code, out, err = run_cli(capsys, "sweep", FIRST_MLE, "--vary", "org.ml_engineers=1,2", *FAST, "--seed", "3",
                             "--out", out_file)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "first_mle: 2 cells x 3 replications of 180 days, seed 3, serial backend; mean and 95% CI"
    assert lines[2].split() == ["org.ml_engineers", "ttp_days_median", "ttp_days_p90", "models_shipped",
                                "total_cost_usd"]
    assert [line.split()[0] for line in lines[3:5]] == ["1", "2"]
    assert lines[-1] == f"wrote 6 rows to {out_file}"
    expected = sweep(scenario, {"org.ml_engineers": [1, 2]}, 3, seed=3, backend="serial")
    pd.testing.assert_frame_equal(read_table(out_file), expected, check_exact=True)


def test_cli_sweep_json_summarises_each_cell(capsys):
    code, out, err = run_cli(capsys, "sweep", FIRST_MLE, "--vary", "org.ml_engineers=1..2", *FAST, "--json",
                             "--metric", "ttp_days_mean")
    assert (code, err) == (0, "")
    result = json.loads(out)
    assert result["parameters"] == ["org.ml_engineers"]
    assert [c["values"] for c in result["cells"]] == [{"org.ml_engineers": 1}, {"org.ml_engineers": 2}]
    assert set(result["cells"][0]["metrics"]) == {"ttp_days_mean"}
    assert set(result["cells"][0]["metrics"]["ttp_days_mean"]) == {"mean", "ci95_low", "ci95_high"}


@pytest.mark.parametrize(("vary", "expected"), [
    ("org.ml_engneers=1,2", "mlorg: error: --vary org.ml_engneers: unknown key; did you mean 'ml_engineers'?"),
    ("org.ml_engineers=1,-2", "mlorg: error: --vary org.ml_engineers: -2 is not allowed; must be an integer >= 0 "
                              "and <= 5000"),
    ("org.ml_engineers=0..x", "mlorg: error: --vary org.ml_engineers: '0..x' is not allowed; a range must be "
                              "START..STOP or START..STOP:STEP with numbers"),
    ("org.ml_engineers", "mlorg: error: --vary 'org.ml_engineers' is not allowed; must be PATH=VALUES, e.g. "
                         "org.ml_engineers=0..8 or org.platform_engineers=0,3"),
])
def test_cli_bad_vary_exits_2_naming_the_field(capsys, vary, expected):
    code, out, err = run_cli(capsys, "sweep", FIRST_MLE, "--vary", vary, *FAST)
    assert (code, out) == (2, "")
    assert err.splitlines() == [expected]


def test_cli_refuses_options_that_cannot_work_before_running(capsys, tmp_path):
    for argv, expected in [
        (["--out", tmp_path / "x.txt"], f"--out: '{tmp_path / 'x.txt'}' is not allowed; must end in .csv, "
                                        ".parquet, .duckdb"),
        (["--metric", "ttp"], "--metric: 'ttp' is not allowed; must be the name of a run metric, such as "
                              "ttp_days_p90 or total_cost_usd"),
        (["--scheduler", "tcp://x:1", "--backend", "process"], "--scheduler: only the dask backend uses a "
                                                               "scheduler (--backend is process)"),
    ]:
        code, out, err = run_cli(capsys, "sweep", FIRST_MLE, "--vary", "org.ml_engineers=1", "--horizon-days",
                                 "180", *argv)
        assert (code, out, err) == (2, "", f"mlorg: error: {expected}\n")


def test_cli_sensitivity_ranks_the_inputs(capsys):
    code, out, err = run_cli(capsys, "sensitivity", FIRST_MLE, "--metric", "staff_cost_usd", "--input",
                             "costs.ml_engineer", "--input", "org.ml_engineers", *FAST)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith("first_mle: staff_cost_usd = ")
    assert [line.split()[:2] for line in lines[3:5]] == [["1", "org.ml_engineers"], ["2", "costs.ml_engineer"]]
    code, out, _ = run_cli(capsys, "sensitivity", FIRST_MLE, "--input", "org.ml_engineers", *FAST, "--json")
    result = json.loads(out)
    assert (code, result["metric"], result["spread"]) == (0, "ttp_days_p90", 0.2)
    assert result["inputs"][0]["input"] == "org.ml_engineers" and result["inputs"][0]["swing_mean"] < 0


def test_the_optimiser_maximises_net_value_by_default_and_ranks_runners_up_by_it():
    result = optimise(load(FIRST_MLE).replace(horizon_days=365.0), {"org.ml_engineers": "0..2"}, "models_trained>=1",
                      replications=4, seed=0, backend="serial")
    assert result.objective == Objective("net_value_usd", maximise=True)
    means = result.cells.set_index("org.ml_engineers")["objective_mean"]
    assert result.best["objective_mean"] == means.max()
    assert result.runners_up["objective_mean"].is_monotonic_decreasing
    assert (result.runners_up["extra_mean"] <= 0).all()  # runner − pick: never more net value than the pick
    with pytest.raises(SweepError, match="minimise: 'total_cost_usd' is not allowed together with maximise"):
        objective_of("net_value_usd", "total_cost_usd")
    assert objective_of(minimise="total_cost_usd") == Objective("total_cost_usd", maximise=False)


def test_cli_optimise_names_the_pick_or_exits_1(capsys):
    grid = ["optimise", FIRST_MLE, "--vary", "org.ml_engineers=0..2"]
    args = [*grid, "--target", "models_trained>=1", *FAST]
    code, out, err = run_cli(capsys, *args, "--json")
    result = json.loads(out)
    assert (code, err) == (0, "")
    # 180 days: an ML engineer's half-year salary outweighs the value of the few models that ship sooner.
    assert result["maximise"] == "net_value_usd" and result["best"]["values"] == {"org.ml_engineers": 0}
    assert result["best"]["meets_target"] and len(result["cells"]) == 3
    code, out, err = run_cli(capsys, *args, "--minimise", "total_cost_usd")
    assert (code, err) == (0, "") and out.startswith("the lowest total_cost_usd among cells meeting models_trained>=1")
    with pytest.raises(SystemExit) as exited:  # argparse refuses both, exit 2
        run_cli(capsys, *args, "--minimise", "total_cost_usd", "--maximise", "net_value_usd")
    assert exited.value.code == 2 and "--maximise: not allowed with argument --minimise" in capsys.readouterr().err
    code, out, _ = run_cli(capsys, *grid, "--target", "ttp_days_p90<=1", *FAST)
    assert code == 1 and out.startswith("no cell meets ttp_days_p90<=1 with 95% confidence (upper bound)")
    code, out, err = run_cli(capsys, *args, "--minimise", "cost")
    assert (code, out) == (2, "") and err.startswith("mlorg: error: --minimise: 'cost' is not allowed")
    code, out, err = run_cli(capsys, *args, "--maximise", "value")
    assert (code, out) == (2, "") and err.startswith("mlorg: error: --maximise: 'value' is not allowed")


# Last: cancelling stops the pool's workers, so a process sweep after it would wait for new ones.

def test_a_progress_callback_sees_every_run_and_can_cancel(scenario):
    seen = []
    sweep(scenario, {"org.ml_engineers": [1, 2]}, 4, backend="process", workers=2,
          progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (8, 8) and [d for d, _ in seen] == sorted(d for d, _ in seen)

    class Cancelled(Exception):
        pass

    def cancel(done, total):
        raise Cancelled

    with pytest.raises(Cancelled):
        sweep(scenario, {"org.ml_engineers": [1, 2]}, 4, backend="process", workers=2, progress=cancel)


def test_a_cells_interval_stays_inside_its_metrics_range():
    """A 2-replication sweep printed serving_cost_usd 268,773 [-29436, …]: a cost cannot be negative, nor a share
    above 1; the interval is clipped to the range the metric table states, and nothing else is."""
    table = pd.DataFrame({"cell": [0, 0], "org.ml_engineers": [1, 1], "replication": [0, 1],
                          "serving_cost_usd": [1.0, 500_000.0], "ship_share": [0.2, 0.99]})
    summary = summarise_cells(table, ["serving_cost_usd", "ship_share"]).set_index("metric")
    assert summary.loc["serving_cost_usd", "ci95_low"] == 0.0
    assert summary.loc["serving_cost_usd", "ci95_high"] > 500_000
    assert summary.loc["ship_share", "ci95_high"] == 1.0 and summary.loc["ship_share", "ci95_low"] == 0.0
