"""Fitting the simulator to a history recovers the organisation that wrote it: data/example_history.csv comes from
known values (mlorg.fit.example.TRUTH), so the fit is checked against them, not against itself."""

from __future__ import annotations

import math
import tomllib

import numpy as np
import pandas as pd
import pytest

from mlorg.cli import main
from mlorg.fit import matching, moments
from mlorg.fit.estimate import fit
from mlorg.fit.example import BASE, CONGESTED, HISTORY, ROOT, SEED, START, TRUTH, congested, truth
from mlorg.fit.fitted_file import fitted_toml
from mlorg.fit.history import read_history
from mlorg.fit.simulated import generate_history
from mlorg.scenario import load, loads

# Stated tolerances at this small scale (4 replications a candidate): the estimate within this share of the truth.
# Effort is the loosest: most of time-to-production is queueing, so its 95% interval is about ×/÷ 1.4; the research
# pace's is about ×/÷ 1.2, and 4 replications add matching noise to both.
TOLERANCE = {"research.cycle_hours.mean": 0.15, "productionisation.effort_hours.mean": 0.35,
             "lifecycle.retrain_every_days": 0.05, "lifecycle.lifetime_days": 0.25}


@pytest.fixture(scope="module")
def example_fit():
    return fit(read_history(HISTORY, START), load(BASE), seed=0, replications=4)


def test_the_example_history_is_what_the_generator_writes():
    assert pd.read_csv(HISTORY, keep_default_na=False).equals(
        generate_history(truth(), 17, START).reset_index(drop=True).astype({"version": "int64"}))


def test_the_fit_recovers_the_known_parameters(example_fit):
    found = {e.path: e for e in example_fit.estimates}
    assert set(found) == set(TOLERANCE)
    for path, share in TOLERANCE.items():
        assert found[path].value == pytest.approx(TRUTH[path], rel=share), path
        assert found[path].low < found[path].value < found[path].high
    for path in ("research.cycle_hours.mean", "productionisation.effort_hours.mean", "lifecycle.lifetime_days"):
        assert found[path].low <= TRUTH[path] <= found[path].high, path
    # Few models wait long enough to be abandoned in this organisation: the history cannot pin abandonment down.
    assert example_fit.unidentified["productionisation.abandon_after_days"].startswith("not identified")


def test_the_fitted_time_to_production_matches_the_history(example_fit):
    assert example_fit.ks_pvalue_simulated > 0.05
    assert example_fit.ks_statistic < 0.3
    assert example_fit.seconds < 60


def test_the_fitted_file_is_self_contained_and_says_where_each_number_came_from(example_fit):
    text = fitted_toml(example_fit, str(BASE))
    data = tomllib.loads(text)
    assert "extends" not in data
    scenario = loads(text)
    assert scenario.research.cycle_hours.mean == pytest.approx(example_fit.estimates[0].value, rel=1e-4)
    assert scenario.org.data_scientists == 10 and len(scenario.org.hiring) == 2  # the base's
    marked = [line for line in text.splitlines() if "# fitted from" in line]
    assert len(marked) == len(example_fit.estimates)
    assert all(f"fitted from {HISTORY}" in line and "95% interval" in line for line in marked)
    assert f"every other value comes from the base {BASE}" in text
    assert "# Not fitted, from the base: productionisation.abandon_after_days: not identified" in text


@pytest.fixture
def short_history(tmp_path):
    """The example's first 150 days: too short to see retrains or retirements."""
    rows = pd.read_csv(HISTORY, keep_default_na=False)
    rows = rows[rows["trained_at"] < "2024-05-31"].copy()
    for column in ("deployed_at", "retired_at"):
        rows.loc[rows[column] >= "2024-05-31", column] = ""
    path = tmp_path / "short.csv"
    rows.to_csv(path, index=False)
    return path


def test_a_short_history_is_too_short_to_identify_what_it_has_not_seen(short_history, tmp_path, capsys):
    out = tmp_path / "fitted.toml"
    assert main(["fit", str(short_history), "--base", str(BASE), "--start", START, "--out", str(out),
                 "--replications", "3"]) == 0
    printed = capsys.readouterr().out
    assert "lifecycle.retrain_every_days: too short to identify: retrained versions following a deployed one: 0 " \
           "(at least 5 needed)" in printed
    assert "lifecycle.lifetime_days: too short to identify: models retired: 1 (at least 5 needed)" in printed
    first = out.read_bytes()
    assert main(["fit", str(short_history), "--base", str(BASE), "--start", START, "--out", str(out),
                 "--replications", "3"]) == 0
    assert out.read_bytes() == first  # same seed, same fitted file


def test_the_cli_refuses_a_missing_base_a_bad_start_and_a_base_too_big_to_fit_in_one_line(short_history, capsys):
    assert main(["fit", str(short_history), "--base", "nowhere.toml"]) == 2
    assert capsys.readouterr().err.splitlines() == ["mlorg: error: nowhere.toml: no such file"]
    assert main(["fit", str(short_history), "--base", str(BASE), "--start", "2024-02-01"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert "--start 2024-02-01 is after the first trained_at" in line
    # A 600-person base would be simulated ≈ 1,100 times: refused before any work, in one line.
    assert main(["fit", str(HISTORY), "--base", str(ROOT / "scenarios" / "uber_scale.toml")]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("mlorg: error: uber_scale: fitting runs the base over the history's span up to ")


def test_the_statistics_of_a_hand_made_history():
    rows = pd.DataFrame({"model_id": ["a", "a", "a", "b", "c"], "version": [1, 2, 3, 1, 1],
                         "kind": ["new", "retrain", "retrain", "new", "new"],
                         "trained_day": [0.0, 110.0, 230.0, 10.0, 20.0],
                         "deployed_day": [10.0, 120.0, math.nan, 40.0, math.nan],
                         "retired_day": [120.0, 300.0, math.nan, math.nan, math.nan]})
    assert moments.ttp_days(rows).tolist() == [10.0, 30.0]
    assert moments.retrain_gaps(rows).tolist() == [100.0, 110.0]  # deploy of v1 → v2 trained, v2 → v3
    assert moments.counts(rows) == {"new_models": 3, "ttp_median": 2, "ship_share": 3, "ttp_p90": 2,
                                    "retrain_gap_median": 2}
    life = moments.lifetime(rows, end_day=400.0)
    # a: live 10 → 300 (its last deployed version retired); b: 40 → the end, still live.
    assert (life.retirements, life.exposure_days, life.mean_days) == (1, 290.0 + 360.0, 650.0)
    assert life.low < 650.0 < life.high


def test_a_flat_statistic_leaves_only_its_own_parameter_unidentified():
    jacobian = np.array([[-1.0, 0.1, 0.0], [0.5, 2.0, 1e-4], [0.0, 0.3, 1e-5]])
    se, kept = matching.standard_errors(jacobian, np.eye(3) * 0.01, replications=8)
    assert kept.tolist() == [True, True, False]
    assert se[0] == pytest.approx(0.1 * math.sqrt(1 + 1 / 8), rel=0.1)


def test_abandonment_is_recovered_where_models_queue_long_enough_to_be_dropped(tmp_path):
    """One ML engineer for ten data scientists: a wall of demos, whose slow tail ends near the abandonment wait."""
    known, base = congested()
    path = tmp_path / "congested.csv"
    generate_history(known, SEED, START).to_csv(path, index=False)
    found = {e.path: e for e in fit(read_history(path, START), base, seed=0, replications=4).estimates}
    abandon = found["productionisation.abandon_after_days"]
    assert abandon.value == pytest.approx(CONGESTED["productionisation.abandon_after_days"], rel=0.2)
    for name in ("productionisation.abandon_after_days", "productionisation.effort_hours.mean",
                 "research.cycle_hours.mean", "lifecycle.retrain_every_days"):
        assert found[name].low <= CONGESTED[name] <= found[name].high, name
