"""`mlorg calibrate --write`: the simulator's inputs measured on the reference pipeline, in a scenario that runs."""

from __future__ import annotations

import dataclasses
import json
import tomllib
from pathlib import Path

import pytest

from mlorg.cli import main
from mlorg.pipeline import calibrated
from mlorg.pipeline.monitors import MIN_RECALL_FRAUDS, RECALL_Z
from mlorg.pipeline.scale import at_scale
from mlorg.scenario import load, loads, validate

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


@pytest.fixture(scope="module")
def small():
    scenario = at_scale(load(SCENARIOS / "fraud_drift.toml"), "small")
    return scenario, calibrated.measure_inputs(scenario, 0, scenario.pipeline.days)


def test_the_measured_inputs_are_the_fraud_models_and_plausible(small):
    scenario, measured = small
    values = {f"{m.table}.{m.key}": m.value for m in measured}
    assert set(values) == {
        "drift.concept.prediction_shift", "drift.concept.performance_loss", "monitoring.predictions.dispersion",
        "incidents.recovery.interim.concept", "portfolio[0].recall", "portfolio[0].label_delay_days",
        "portfolio[0].label_delay_cv", "portfolio[0].value_loss.concept", "portfolio[0].retrain_half_labels",
        "monitoring.performance.z", "monitoring.performance.min_positives", "monitoring.performance.dispersion"}
    # The recall check's settings are copied from the pipeline, its frauds' clustering measured.
    assert (values["monitoring.performance.z"], values["monitoring.performance.min_positives"]) == (
        RECALL_Z, MIN_RECALL_FRAUDS)
    assert 1 < values["monitoring.performance.dispersion"] < 10  # campaigns of a few frauds on one card
    assert 0 < values["drift.concept.performance_loss"] < 1
    assert 0 < values["drift.concept.prediction_shift"] < 0.1  # fraud is 2% of transactions: the alerts barely move
    assert values["monitoring.predictions.dispersion"] >= 1
    # The generator's chargebacks: lognormal with mean 0.7 × impact.label_delay_days and cv 0.6 (per campaign).
    assert values["portfolio[0].label_delay_days"] == pytest.approx(0.7 * scenario.impact.label_delay_days, rel=0.1)
    assert values["portfolio[0].label_delay_cv"] == pytest.approx(0.6, abs=0.1)
    assert values["portfolio[0].value_loss.concept"] == values["drift.concept.performance_loss"]
    assert all(m.how for m in measured)


def test_the_written_scenario_is_self_contained_marked_and_runs(small, tmp_path):
    scenario, measured = small
    text = calibrated.write(scenario, measured, "a test")
    assert "extends" not in tomllib.loads(text)
    written = loads(text)
    assert validate(written) == written  # by the file rules
    assert written == calibrated.calibrated(scenario, measured)
    for m in measured:
        marked = [line for line in text.splitlines() if line.startswith(f"{m.key} = ") and m.how in line]
        assert len(marked) == 1, m
    # Only the measured fields differ from the scenario as written.
    assert written.drift.concept.prediction_shift == pytest.approx(measured[0].value, rel=1e-3)
    assert dataclasses.replace(written.drift, concept=scenario.drift.concept) == scenario.drift
    assert written.org == scenario.org and written.pipeline == scenario.pipeline
    path = tmp_path / "calibrated.toml"
    path.write_text(text)
    assert main(["run", str(path), "--replications", "2", "--json"]) == 0


def test_the_cli_writes_the_file_and_refuses_what_it_cannot_measure(tmp_path, capsys):
    out = tmp_path / "out.toml"
    assert main(["calibrate", str(SCENARIOS / "fraud_drift.toml"), "--scale", "small", "--write", str(out),
                 "--json"]) == 0
    measured = {m["field"] for m in json.loads(capsys.readouterr().out)["measured"]}
    assert "drift.concept.performance_loss" in measured and out.exists()
    no_shift = tmp_path / "break.toml"
    no_shift.write_text(f'extends = "{SCENARIOS / "fraud_drift.toml"}"\n[pipeline]\ncauses = [{{ kind = '
                        '"upstream_break", start_day = 150, size = 1.0, feature = "device_id" }]\n')
    assert main(["calibrate", str(no_shift), "--scale", "small", "--write", str(tmp_path / "x.toml")]) == 2
    err = capsys.readouterr().err
    assert "needs a fraud_pattern_shift cause" in err and "Traceback" not in err
    assert not (tmp_path / "x.toml").exists()
    assert main(["calibrate", str(SCENARIOS / "fraud_drift.toml"), "--scale", "small", "--write",
                 str(tmp_path / "missing" / "x.toml")]) == 2
    assert "--write:" in capsys.readouterr().err
