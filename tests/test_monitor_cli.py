"""`mlorg monitor` and the drift figures of `mlorg run --json`, as a user runs them."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from mlorg.cli import main
from mlorg.monitoring.sequential import siegmund_arl
from mlorg.scenario import DRIFT_CAUSES

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
KEYS = {"detection_lag_samples", "detection_lag_hours", "false_alarms_per_month", "arl0_samples",
        "optimal_delay_samples", "lorden_approx_samples"}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_monitor_json_for_the_textbook_cusum(capsys):
    # A CUSUM (k = 0.5, h = 5) fed one N(0, 1) observation an hour (window 1, 1 sample/h) is the textbook chart:
    # ARL0 ≈ 930 (two-sided: about half), delay at a 1σ shift ≈ 10.4 observations from zero.
    code, out, err = run(capsys, "monitor", "--detector", "cusum", "--threshold", "5", "--window", "1",
                         "--cadence-hours", "1", "--drift-size", "1", "--json")
    assert (code, err) == (0, "")
    figures = json.loads(out)
    assert KEYS <= set(figures)
    assert figures["arl0_samples"] == pytest.approx(930 / 2, rel=0.02)
    assert figures["false_alarms_per_month"] == pytest.approx(730.5 / figures["arl0_samples"], rel=1e-9)
    # Worst case: the shift starts just after a check, so the next observation is the first shifted one.
    assert figures["worst_case_lag_samples"] == pytest.approx(10.4, rel=0.02)
    # The reference CUSUM is tuned to the same shift (k = 0.5) and ARL0, so its delay is the one-sided chart's.
    assert figures["optimal_delay_samples"] <= figures["worst_case_lag_samples"]
    assert figures["lorden_approx_samples"] == pytest.approx(math.log(figures["arl0_samples"]) / 0.5)


def test_monitor_psi_drift_kind_and_defaults(capsys):
    code, out, _ = run(capsys, "monitor", "--detector", "psi", "--window", "500", "--cadence-hours", "24",
                       "--drift-size", "0.25", "--drift-kind", "psi", "--json")
    assert code == 0
    figures = json.loads(out)
    assert figures["threshold"] == 0.1 and figures["shift_sd"] == pytest.approx(0.5)
    # One fresh window a day (traffic defaults to window / cadence); a 0.5σ shift is caught at the first full one.
    assert 12 <= figures["detection_lag_hours"] <= 36
    assert figures["detection_lag_samples"] == pytest.approx(figures["detection_lag_hours"] * 500 / 24)


def test_monitor_sweep_recommends_the_quickest_threshold_within_budget(capsys):
    code, out, _ = run(capsys, "monitor", "--detector", "mean", "--window", "200", "--cadence-hours", "1",
                       "--drift-size", "0.2", "--sweep", "--budget", "2", "--json")
    assert code == 0
    figures = json.loads(out)
    points = figures["sweep"]
    alarms = [p["false_alarms_per_month"] for p in points]
    assert alarms == sorted(alarms, reverse=True)  # stricter thresholds, fewer false alarms
    lags = [p["detection_lag_hours"] for p in points]
    assert lags == sorted(lags)  # ... and slower detection
    chosen = figures["budget"]["threshold"]
    within = [p for p in points if p["false_alarms_per_month"] <= 2]
    assert chosen == min(within, key=lambda p: p["detection_lag_hours"])["threshold"]
    # z > t two-sided on hourly checks: 730.5 · 2Φ(−t) false alarms a month.
    from scipy.stats import norm
    for p in points:
        assert p["false_alarms_per_month"] == pytest.approx(730.5 * 2 * norm.sf(p["threshold"]), rel=1e-9)


def test_monitor_text_names_the_quickest_detection_reference(capsys):
    code, out, _ = run(capsys, "monitor", "--detector", "ks", "--window", "300", "--cadence-hours", "6",
                       "--drift-size", "0.3", "--sweep")
    assert code == 0
    assert "optimal CUSUM delay at the same ARL0" in out and "ln(ARL0) / KL" in out
    assert "within 1 false alarm per month: threshold" in out


@pytest.mark.parametrize("argv, message", [
    (["--detector", "nope"], "argument --detector: invalid choice: 'nope'"),
    (["--detector", "psi", "--window", "0", "--cadence-hours", "1", "--drift-size", "1"],
     "argument --window: 0 is not allowed; must be an integer >= 1"),
])
def test_monitor_refuses_bad_options(capsys, argv, message):
    with pytest.raises(SystemExit) as info:
        main(["monitor", *argv])
    assert info.value.code == 2
    assert message in capsys.readouterr().err.splitlines()[-1]


@pytest.mark.parametrize("argv, message", [
    (["--detector", "cusum", "--window", "100", "--cadence-hours", "1", "--drift-size", "1",
      "--traffic-per-hour", "10"], "--window: a cusum takes one window mean per check"),
    (["--detector", "ks", "--threshold", "1.5", "--window", "100", "--cadence-hours", "1", "--drift-size", "1"],
     "--threshold: the KS threshold is a p-value, must be < 1"),
])
def test_monitor_refuses_settings_that_do_not_fit_together(capsys, argv, message):
    code, out, err = run(capsys, "monitor", *argv)
    assert (code, out) == (2, "")
    assert message in err.splitlines()[-1]


def test_monitor_errors_reach_a_real_terminal_without_traceback():
    done = subprocess.run([sys.executable, "-m", "mlorg.cli", "monitor", "--detector", "ks", "--threshold", "3",
                           "--window", "9", "--cadence-hours", "1", "--drift-size", "1"], capture_output=True,
                          text=True, timeout=120)
    assert (done.returncode, done.stdout) == (2, "")
    expected = "mlorg: error: --threshold: the KS threshold is a p-value, must be < 1, got 3.0"
    assert done.stderr.splitlines() == [expected]


def test_run_json_has_the_drift_figures(capsys):
    code, out, err = run(capsys, "run", SCENARIOS / "fraud_drift_full.toml", "--replications", "3", "--json")
    assert (code, err) == (0, "")
    metrics = json.loads(out)["metrics"]
    names = {"drift_events", "detection_lag_hours_median", "false_alarms_per_model_month", "incidents", "mttd_hours",
             "mttr_hours", "degraded_model_days", "business_loss_usd", *(f"incidents_{c}" for c in DRIFT_CAUSES)}
    assert names <= set(metrics)
    assert metrics["incidents"]["mean"] == pytest.approx(sum(metrics[f"incidents_{c}"]["mean"] for c in DRIFT_CAUSES))
    assert metrics["business_loss_usd"]["mean"] > 0 and metrics["mttd_hours"]["mean"] > 0
    # Scenarios without drift report the figures as null rather than as zero.
    code, out, _ = run(capsys, "run", SCENARIOS / "first_mle.toml", "--replications", "2", "--horizon-days", "30",
                       "--json")
    assert json.loads(out)["metrics"]["business_loss_usd"] == {"mean": None, "ci95_low": None, "ci95_high": None}


def test_siegmund_is_what_the_issue_quotes():
    assert siegmund_arl(0.5, 5, 0) == pytest.approx(938, rel=0.001)
    assert siegmund_arl(0.5, 5, 1) == pytest.approx(10.3, rel=0.01)


def test_monitor_ks_against_a_finite_reference_is_slower_and_says_so(capsys):
    argv = ["monitor", "--detector", "ks", "--window", "500", "--cadence-hours", "24", "--drift-size", "0.15"]
    code, out, _ = run(capsys, *argv, "--json")
    population = json.loads(out)
    code, out, _ = run(capsys, *argv, "--reference-rows", "500", "--json")
    finite = json.loads(out)
    assert code == 0 and finite["detection_lag_hours"] > population["detection_lag_hours"]
    assert finite["false_alarms_per_month"] == population["false_alarms_per_month"]  # a p-value stays uniform
    code, out, _ = run(capsys, *argv, "--reference-rows", "500")
    assert "against a reference of 500 rows" in out
    code, out, err = run(capsys, *argv[:2], "psi", *argv[3:], "--reference-rows", "500")
    assert code == 2 and out == "" and err.strip().count("\n") == 0
    assert "--reference-rows: only the KS test is modelled against a finite reference, not psi" in err
