"""The work budget: an upper bound on the models a run trains, estimated before it starts, and a run over the budget
refused in one line before any work (with --allow-large to run it anyway)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from mlorg import budget
from mlorg.cli import main
from mlorg.results import replicate
from mlorg.scenario import load
from mlorg.sim.org import run_once

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


@pytest.mark.parametrize("name", ["notebook_shipping", "fraud_drift_full", "platform_team", "uber_scale"])
def test_the_estimate_bounds_the_models_trained_and_is_not_vacuous(name):
    scenario = load(SCENARIOS / f"{name}.toml")
    if name == "uber_scale":
        scenario = scenario.replace(horizon_days=365)
    trained = len(run_once(scenario, 0, 0).models)
    bound = budget.estimate(scenario).models_per_replication
    assert trained <= bound <= 2.5 * trained + 10, (trained, bound)


def big(tmp_path) -> Path:
    path = tmp_path / "big.toml"  # the organisation that ran for minutes and took 4.8 GB before the budget
    path.write_text('horizon_days = 3650\n[org]\ndata_scientists = 5000\n')
    return path


def test_a_run_over_the_budget_is_refused_at_once_in_one_line(tmp_path, capsys):
    started = time.perf_counter()
    assert main(["run", str(big(tmp_path))]) == 2
    assert time.perf_counter() - started < 10
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "130,357 models a replication" in err[0] and "--allow-large" in err[0]


def test_a_sweep_over_the_budget_in_all_is_refused(capsys):
    assert main(["sweep", str(SCENARIOS / "uber_scale.toml"), "--vary", "org.data_scientists=100..400:100",
                 "--replications", "100"]) == 2
    assert "models over 4 cells × 100 replications" in capsys.readouterr().err


def test_allow_large_runs_what_the_budget_would_refuse(monkeypatch):
    scenario = load(SCENARIOS / "notebook_shipping.toml")
    monkeypatch.setattr(budget, "MAX_MODELS_PER_REPLICATION", 5)
    with pytest.raises(budget.OverBudget, match="the budget is 5 models a replication"):
        replicate(scenario, 2)
    assert len(replicate(scenario, 2, allow_large=True).per_replication) == 2


def test_a_heavy_job_is_one_for_a_process_pool_and_a_light_one_is_not(tmp_path):
    assert not budget.estimate(load(SCENARIOS / "notebook_shipping.toml"), 3).heavy
    assert budget.estimate(load(SCENARIOS / "uber_scale.toml"), 10).heavy  # ≈ 100 s of simulation


def test_replications_on_a_process_pool_are_the_same_as_in_this_thread():
    scenario = load(SCENARIOS / "notebook_shipping.toml").replace(horizon_days=180)
    here = replicate(scenario, 3, seed=5)
    done = []
    pooled = replicate(scenario, 3, seed=5, workers=2, keep_events=False, progress=lambda d, n: done.append((d, n)))
    assert pooled.per_replication.equals(here.per_replication)
    assert done == [(1, 3), (2, 3), (3, 3)]
    for a, b in zip(here.runs, pooled.runs, strict=True):
        assert a.models.equals(b.models) and a.timeseries.equals(b.timeseries)
        assert len(a.events) > 0 and len(b.events) == 0
    with pytest.raises(ValueError, match="workers: 0 is not allowed; must be an integer >= 1"):
        replicate(scenario, 2, workers=0)
