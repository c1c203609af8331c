"""`mlorg drift tune`: thresholds from the reference's own null, checked against theory where rows are independent,
against fresh data where they are not, and as a user runs the command."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

from mlorg.cli import main
from mlorg.monitoring.characteristics import Monitor, operating_point
from mlorg.monitoring.feature_examples import write_pair
from mlorg.monitoring.file_drift import compare_files, tune_file
from mlorg.monitoring.file_tuning import KS_ASYMPTOTIC_ROWS, TuneSettings, Windows, alarm_share, null_draws, tuned
from mlorg.monitoring.sorted_samples import SortedReference, numeric_statistics, psi_from_counts

DAYS, PER_DAY = 120, 200


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def independent_rows(seed: int = 11) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    hours = np.sort(rng.uniform(0, 24 * DAYS, DAYS * PER_DAY))
    return hours, rng.normal(size=hours.size)


def settings(detector: str, budget: float, **kw) -> TuneSettings:
    return TuneSettings(detector=detector, window_hours=24, cadence_hours=24, budget_per_month=budget, shift=0.5,
                        draws=kw.pop("draws", 2000), **kw)


@pytest.mark.parametrize("budget, tail", [(30, "empirical"), (0.3, "gamma"), (0.03, "gamma")])
def test_psi_threshold_on_independent_rows_keeps_the_null_alarm_probability(budget, tail):
    # The truth for independent rows: PSI of 100,000 fresh independent windows of a day's rows against the same
    # reference. At the tuned threshold they must alarm with the budget's per-check probability (1% read from the
    # draws, 0.1% from the gamma tail), within a factor 1.6 either way: what 120 daily windows side by side
    # resolve of such tails. (The χ² limit is no judge here: at 20 rows a bin PSI's tail is heavier than χ²'s.)
    hours, values = independent_rows()
    s = settings("psi", budget)
    threshold = tuned(null_draws("x", "numeric", values, Windows(hours, s), s), s, features=1)
    assert threshold.tail == tail
    reference = SortedReference(values)
    windows = np.random.default_rng(99).normal(size=(100_000, PER_DAY))
    bins = np.searchsorted(reference.edges, windows, side="left") + 11 * np.arange(100_000)[:, None]
    counts = np.bincount(bins.ravel(), minlength=11 * 100_000).reshape(100_000, 11)
    fresh = np.array([psi_from_counts(reference.counts, row) for row in counts])
    truth = alarm_share("psi", fresh, threshold.threshold)
    assert threshold.per_check_probability / 1.6 <= truth <= threshold.per_check_probability * 1.6


def test_ks_threshold_on_independent_rows_keeps_the_null_alarm_probability():
    # As for PSI, against 5,000 fresh independent windows (50 alarms expected); within a factor 2: the mean of
    # −ln p over 120 separate windows is known to ±9%, which moves a 1% tail by ±40%, and the asymptotic p-value of
    # 200 rows against 24,000 is itself not quite uniform, so the tuned p-value threshold is not the probability.
    hours, values = independent_rows(12)
    s = settings("ks", 0.3)
    threshold = tuned(null_draws("x", "numeric", values, Windows(hours, s), s), s, features=1)
    reference = SortedReference(values)
    rng = np.random.default_rng(98)
    fresh = np.array([numeric_statistics(reference, rng.normal(size=PER_DAY))["ks"] for _ in range(5000)])
    truth = alarm_share("ks", fresh, threshold.threshold)
    assert threshold.per_check_probability / 2 <= truth <= threshold.per_check_probability * 2


def test_lag_for_independent_rows_matches_the_operating_characteristics_model():
    # Two computations that share nothing but the lag recursion: drifted draws of this file against the PSI
    # model of mlorg.monitoring.characteristics at the same threshold, window and cadence. Within 10%.
    hours, values = independent_rows()
    s = settings("psi", 0.3)
    threshold = tuned(null_draws("x", "numeric", values, Windows(hours, s), s), s, features=1)
    model = operating_point(Monitor(detector="psi", threshold=threshold.threshold, window=PER_DAY, cadence_hours=24,
                                    traffic_per_hour=PER_DAY / 24, bins=10), 0.5)
    assert threshold.lag_hours == pytest.approx(model.detection_lag_hours, rel=0.1)
    assert threshold.worst_lag_hours == pytest.approx(model.worst_case_lag_samples / (PER_DAY / 24), rel=0.1)


def autocorrelated(days: int, seed: int, start_day: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """An hourly-load-like feature: a daily cycle plus an AR(1) that remembers about an hour."""
    rng = np.random.default_rng(seed)
    hours = 24 * start_day + np.arange(days * PER_DAY) * 24 / PER_DAY
    noise = np.empty(hours.size)
    noise[0] = rng.normal()
    shocks = rng.normal(0, np.sqrt(1 - 0.9**2), hours.size)
    for i in range(1, hours.size):
        noise[i] = 0.9 * noise[i - 1] + shocks[i]
    return hours, np.sin(2 * np.pi * hours / 24) + noise


def test_on_autocorrelated_rows_the_tuned_threshold_keeps_its_budget_where_iid_theory_does_not():
    # The reason for tuning on the reference's own null. Fresh days of the same process, each compared with the
    # reference as a monitor would: the tuned threshold alarms on about the share it promised (within a factor
    # 2.5: 300 fresh days, 6 alarms expected), the threshold independent rows would need at least five times as
    # often.
    hours, values = autocorrelated(120, seed=1)
    s = settings("psi", 0.6, draws=1000)  # 2% of daily checks
    threshold = tuned(null_draws("load", "numeric", values, Windows(hours, s), s), s, features=1)
    fresh_hours, fresh = autocorrelated(300, seed=2, start_day=120)
    days = np.floor(fresh_hours / 24).astype(int)
    reference = SortedReference(values)
    scores = np.array([numeric_statistics(reference, fresh[days == d])["psi"] for d in np.unique(days)])
    target = threshold.per_check_probability
    assert target / 2.5 <= alarm_share("psi", scores, threshold.threshold) <= target * 2.5
    iid = stats.chi2.isf(target, 9) * (1 / PER_DAY + 1 / hours.size)
    assert alarm_share("psi", scores, iid) >= 5 * target


def test_the_same_seed_gives_the_same_thresholds_and_another_seed_other_draws(tmp_path):
    reference, _ = write_pair(tmp_path, 3000, seed=2, columns=8, file_format="parquet")
    s = TuneSettings(detector="jensen_shannon", window_hours=24, cadence_hours=12, budget_per_month=1, shift=0.5,
                     draws=200, seed=5)
    first, again = tune_file(reference, "ts", s), tune_file(reference, "ts", s)
    assert first.thresholds == again.thresholds
    other = tune_file(reference, "ts", TuneSettings(**{**s.__dict__, "seed": 6}))
    assert [t.threshold for t in other.thresholds] != [t.threshold for t in first.thresholds]
    assert first.settings.checks_per_month == pytest.approx(730.5 / 12)
    assert {t.column for t in first.thresholds} == set(pd.read_parquet(reference).columns) - {"ts"}


def test_blocks_shorter_than_the_window_keep_the_window_length(tmp_path):
    hours = np.arange(0, 24 * 20, 0.5)
    s = TuneSettings(detector="psi", window_hours=24, cadence_hours=24, budget_per_month=1, shift=0.5, draws=100,
                     block_hours=6)
    windows = Windows(hours, s)
    assert windows.blocks == 4
    assert {windows.rows(d).size for d in range(100)} == {48}  # 4 blocks of 6 hours at two rows an hour
    assert windows.independent == pytest.approx((hours[-1] - hours[0]) / 24)


def test_settings_refuse_bad_values_naming_them():
    with pytest.raises(ValueError, match=r"window_hours: -1 is not allowed; must be a number > 0"):
        TuneSettings("psi", -1, 24, 1, 0.5)
    with pytest.raises(ValueError, match=r"draws: 10 is not allowed"):
        TuneSettings("psi", 24, 24, 1, 0.5, draws=10)
    with pytest.raises(ValueError, match=r"block_hours: 48 is not allowed; must be > 0 and <= the window \(24 h\)"):
        TuneSettings("psi", 24, 24, 1, 0.5, block_hours=48)
    with pytest.raises(ValueError, match=r"detector: 'mean' is not allowed"):
        TuneSettings("mean", 24, 24, 1, 0.5)


@pytest.fixture(scope="module")
def example_pair(tmp_path_factory):
    return write_pair(tmp_path_factory.mktemp("tune"), 6000, seed=3, columns=10, file_format="csv")


def test_tune_cli_writes_thresholds_that_compare_uses(capsys, tmp_path, example_pair):
    reference, current = example_pair
    out_file = tmp_path / "thresholds.json"
    code, out, err = run(capsys, "drift", "tune", reference, "--time-column", "ts", "--window", "1d", "--cadence",
                         "24h", "--budget", "1", "--draws", "300", "--out", out_file, "--json")
    assert (code, err) == (0, "")
    report = json.loads(out)
    saved = json.loads(out_file.read_text())
    assert saved["thresholds"] == {f["column"]: f["threshold"] for f in report["features"]}
    assert len(report["features"]) == 10  # every column but the time
    assert report["features"][0]["per_check_probability"] == pytest.approx(1 / (10 * 730.5 / 24))
    code, out, _ = run(capsys, "drift", "compare", reference, current, "--thresholds", out_file, "--json")
    assert code == 0
    compared = json.loads(out)
    drifts = {d.column: d for d in compare_files(reference, current).drifts}
    assert compared["drifted"] == [c for c, t in saved["thresholds"].items() if drifts[c].psi >= t]
    code, out, err = run(capsys, "drift", "compare", reference, current, "--thresholds", out_file, "--detector", "ks")
    assert code == 2 and "holds psi thresholds; pass --detector psi" in err


def test_tune_cli_table_names_the_tail_and_the_lag(capsys, example_pair):
    reference, _ = example_pair
    code, out, _ = run(capsys, "drift", "tune", reference, "--time-column", "ts", "--window", "12h", "--cadence",
                       "6h", "--draws", "200", "--shift", "1", "--columns", "score_0,channel")
    assert code == 0
    assert "psi thresholds for 1 false alarm a month across 2 features" in out
    assert "lag for 1σ" in out and "categorical features get no lag" in out


@pytest.mark.parametrize("argv, expected", [
    (["--time-column", "when"], "no column 'when' for the time"),
    (["--time-column", "channel"], "time column channel: row 1 holds 'web', which is not a date or time"),
    (["--time-column", "ts", "--window", "20d"], "--window: 480 h is too long for a reference that covers"),
    (["--time-column", "ts", "--window", "1m"], "--window: 0.0166667 h holds 0 rows on the median"),
    (["--time-column", "ts", "--window", "soon"], "argument --window: 'soon' is not allowed; must be a duration"),
    (["--time-column", "ts", "--detector", "ks"], "--detector ks needs numbers, and channel, segment are categorical"),
    (["--time-column", "ts", "--draws", "5"], "argument --draws: 5 is not allowed; must be >= 100"),
])
def test_tune_cli_refuses_bad_input_in_one_line(capsys, example_pair, argv, expected):
    reference, _ = example_pair
    defaults = {"--window": "1d", "--cadence": "1d"}
    extra = [x for flag, value in defaults.items() if flag not in argv for x in (flag, value)]
    with pytest.raises(SystemExit) if "argument" in expected else _no_exit():
        code, _, err = run(capsys, "drift", "tune", reference, *argv, *extra)
        assert code == 2 and len(err.strip().splitlines()) == 1 and expected in err
    if "argument" in expected:
        assert expected in capsys.readouterr().err


class _no_exit:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_ks_kolmogorov_limit_used_for_large_windows_is_close_to_scipys_exact_value():
    # The tuner reads large windows' KS p-values from Kolmogorov's limit for speed; at the sizes it does so the
    # exact two-sample value differs by under 3% down to p ≈ 1e-11.
    for n in (KS_ASYMPTOTIC_ROWS, 30000):
        for statistic in (1.22 / np.sqrt(n), 1.95 / np.sqrt(n), 3.5 / np.sqrt(n)):
            exact = stats.kstwo.sf(statistic, n)
            assert special.kolmogorov(np.sqrt(n) * statistic) == pytest.approx(exact, rel=0.03)
