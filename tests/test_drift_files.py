"""Drift statistics on users' own files: the sorted-reference statistics against the detector functions, reading
and refusing files, and `mlorg drift compare` as a user runs it."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mlorg.cli import main
from mlorg.monitoring import detectors, feature_files
from mlorg.monitoring.feature_examples import DRIFTED, write_pair
from mlorg.monitoring.file_drift import compare_files, flagged
from mlorg.monitoring.sorted_samples import SortedReference, ks_distance, numeric_statistics, wasserstein_distance


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# --- the statistics, against the detector functions and scipy --------------------------------------------------

SAMPLES = {
    "normal, shifted and wider": lambda rng: (rng.normal(size=2000), rng.normal(0.3, 1.2, size=300)),
    "ties on a few integers": lambda rng: (rng.integers(0, 4, 60).astype(float), rng.integers(0, 5, 9).astype(float)),
    "one current value": lambda rng: (rng.normal(size=500), np.array([0.7])),
    "heavy tail": lambda rng: (rng.lognormal(0, 2, size=3000), rng.lognormal(0.2, 2, size=3000)),
    "missing values in both": lambda rng: (np.where(rng.uniform(size=800) < 0.1, np.nan, rng.normal(size=800)),
                                           np.where(rng.uniform(size=400) < 0.3, np.nan, rng.normal(size=400))),
    "constant reference": lambda rng: (np.full(50, 2.0), rng.normal(2, 1, size=20)),
}


@pytest.mark.parametrize("case", SAMPLES)
def test_sorted_reference_statistics_equal_the_detector_functions(case):
    reference, current = SAMPLES[case](np.random.default_rng(3))
    got = numeric_statistics(SortedReference(reference), current)
    assert got["psi"] == pytest.approx(detectors.psi(reference, current), rel=1e-12)
    assert got["jensen_shannon"] == pytest.approx(detectors.jensen_shannon(reference, current), rel=1e-12)
    assert got["ks_distance"] == pytest.approx(detectors.ks_statistic(reference, current), rel=1e-12)
    assert got["ks"] == pytest.approx(detectors.ks_pvalue(reference, current), rel=1e-9)
    assert got["wasserstein"] == pytest.approx(detectors.wasserstein(reference, current), rel=1e-9)


def test_an_all_missing_current_sample_is_maximal_drift_as_the_detectors_say():
    reference = np.random.default_rng(0).normal(size=100)
    got = numeric_statistics(SortedReference(reference), np.full(10, np.nan))
    assert got["ks"] == 0.0 and got["ks_distance"] == 1.0 and got["wasserstein"] == np.inf
    assert got["psi"] == pytest.approx(detectors.psi(reference, np.full(10, np.nan)))


def test_a_window_against_the_rest_of_the_reference_is_the_whole_reference_statistic_scaled():
    # F_{R∖W} − F_W = n / (n − w) · (F_R − F_W): the identity the tuner uses to leave a drawn window out.
    rng = np.random.default_rng(5)
    reference = rng.gamma(2.0, size=5000)
    rows = np.arange(1200, 1500)
    window = np.sort(reference[rows])
    rest = np.delete(reference, rows)
    factor = reference.size / rest.size
    whole = SortedReference(reference)
    assert ks_distance(whole, window) * factor == pytest.approx(stats.ks_2samp(rest, window).statistic, rel=1e-12)
    assert wasserstein_distance(whole, window) * factor == pytest.approx(stats.wasserstein_distance(rest, window),
                                                                          rel=1e-9)


# --- files ----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def example_pair(tmp_path_factory):
    return write_pair(tmp_path_factory.mktemp("features"), 6000, seed=4, columns=10, file_format="csv")


def test_compare_on_generated_files_finds_the_drifted_columns_and_agrees_with_the_detectors(example_pair):
    reference, current = example_pair
    comparison = compare_files(reference, current)
    by_column = {d.column: d for d in comparison.drifts}
    assert set(by_column) == set(pd.read_csv(reference, nrows=1).columns) - {"ts"}
    # A column compared from the file gives exactly what the detector function gives on the same numbers.
    ref_frame, cur_frame = pd.read_csv(reference), pd.read_csv(current)
    amount = by_column["amount_0"]
    assert amount.psi == pytest.approx(detectors.psi(ref_frame.amount_0, cur_frame.amount_0), rel=1e-12)
    assert amount.ks == pytest.approx(detectors.ks_pvalue(ref_frame.amount_0, cur_frame.amount_0), rel=1e-9)
    assert by_column["count_0"].current_missing == pytest.approx(cur_frame.count_0.isna().mean())
    assert by_column["channel"].kind == "categorical" and np.isnan(by_column["channel"].ks)
    # Each drifted column is further from the reference than any undrifted column of independent rows. The
    # autocorrelated hourly_load is not among those: a day of it can look as far off with no drift at all, which is
    # what `drift tune` is for.
    steady = set(by_column) - set(DRIFTED) - {"hourly_load"}
    assert min(by_column[c].jensen_shannon for c in DRIFTED) > max(by_column[c].jensen_shannon for c in steady)
    assert flagged(comparison.drifts, "jensen_shannon", {c: 0.05 for c in by_column}) == [
        d.column for d in comparison.drifts if d.jensen_shannon >= 0.05]


def test_a_categorical_value_new_in_the_current_file_is_a_bin_of_its_own(tmp_path):
    pd.DataFrame({"c": ["a", "b"] * 50}).to_csv(tmp_path / "r.csv", index=False)
    pd.DataFrame({"c": ["a", "b", "z", "z"] * 25}).to_csv(tmp_path / "c.csv", index=False)
    drift = compare_files(tmp_path / "r.csv", tmp_path / "c.csv").drifts[0]
    # Shares a 0.5 / b 0.5 / z 0 against a 0.25 / b 0.25 / z 0.5, the empty share as 1e-4 (Evidently's epsilon).
    expected = 2 * (0.25 - 0.5) * np.log(0.25 / 0.5) + (0.5 - 1e-4) * np.log(0.5 / 1e-4)
    assert drift.psi == pytest.approx(expected, rel=1e-9)


def test_an_identifier_column_is_left_out_and_said_why(tmp_path):
    frame = pd.DataFrame({"id": [f"u{i}" for i in range(3000)], "x": np.arange(3000.0)})
    frame.to_csv(tmp_path / "r.csv", index=False)
    frame.to_csv(tmp_path / "c.csv", index=False)
    comparison = compare_files(tmp_path / "r.csv", tmp_path / "c.csv")
    assert [d.column for d in comparison.drifts] == ["x"]
    assert [c.name for c in comparison.skipped] == ["id"] and "identifier" in comparison.skipped[0].note


def _write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


def bad_pairs(tmp_path):
    good = _write(tmp_path / "good.csv", "x,y\n" + "\n".join(f"{i},{'ab'[i % 2]}" for i in range(50)) + "\n")
    mixed = "x,y\n" + "\n".join(f"{i},a" for i in range(30000)) + "\nseven,a\n"
    return {
        "an empty file": (good, _write(tmp_path / "empty.csv", ""), "the file is empty"),
        "a header and no rows": (good, _write(tmp_path / "header.csv", "x,y\n"), "a header but no rows"),
        "one row": (_write(tmp_path / "one.csv", "x,y\n1,a\n"), good, "1 row is too few"),
        "different columns": (good, _write(tmp_path / "other.csv", "x,z\n1,a\n2,b\n"), "lacks y"),
        "a column numeric in one file, text in the other": (
            good, _write(tmp_path / "text.csv", "x,y\na,a\nb,b\n"), "column x is numeric"),
        "a text value after 30,000 numbers": (good, _write(tmp_path / "mixed.csv", mixed),
                                              "line 30002 holds 'seven'"),
        "an all-null reference column": (_write(tmp_path / "null.csv", "x,y\n,a\n,b\n,a\n"), good,
                                         "column x is empty in every row of the reference"),
        "an infinite value": (good, _write(tmp_path / "inf.csv", "x,y\n1,a\ninf,b\n"), "row 2 is infinite"),
        "an unknown format": (good, _write(tmp_path / "data.json", "{}"), ".json is not allowed"),
        "a missing file": (good, tmp_path / "nowhere.csv", "no such file"),
    }


CASES = ["an empty file", "a header and no rows", "one row", "different columns",
         "a column numeric in one file, text in the other", "a text value after 30,000 numbers",
         "an all-null reference column", "an infinite value", "an unknown format", "a missing file"]


@pytest.mark.parametrize("case", CASES)
def test_a_bad_file_gets_one_line_naming_what_is_wrong_and_exit_2(capsys, tmp_path, case):
    reference, current, expected = bad_pairs(tmp_path)[case]
    code, out, err = run(capsys, "drift", "compare", reference, current)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert expected in err


def test_a_file_over_the_size_limit_is_refused_before_it_is_loaded(tmp_path, monkeypatch):
    monkeypatch.setattr(feature_files, "MAX_VALUES", 100)
    path = _write(tmp_path / "big.csv", "x,y\n" + "1,2\n" * 51)
    with pytest.raises(feature_files.FeatureFileError, match=r"51 rows × 2 columns is 102 values; the limit is 100"):
        feature_files.FeatureFile(path, "reference")


def test_a_current_column_that_turned_null_is_drift_not_a_type_error(tmp_path):
    _write(tmp_path / "r.csv", "x,y\n" + "\n".join(f"{i},{i % 3}" for i in range(40)) + "\n")
    _write(tmp_path / "c.csv", "x,y\n" + "\n".join(f",{i % 3}" for i in range(40)) + "\n")
    drifts = {d.column: d for d in compare_files(tmp_path / "r.csv", tmp_path / "c.csv").drifts}
    assert drifts["x"].current_missing == 1.0
    assert drifts["x"].drifted("psi") and drifts["x"].drifted("ks") and drifts["x"].drifted("wasserstein")
    assert not drifts["y"].drifted("psi")


def test_compare_reads_parquet_and_csv_alike(tmp_path):
    frame = pd.DataFrame({"x": np.random.default_rng(1).normal(size=300), "c": ["a", "b", "c"] * 100})
    frame.to_csv(tmp_path / "r.csv", index=False)
    frame.iloc[:150].to_parquet(tmp_path / "c.parquet")
    frame.iloc[:150].to_csv(tmp_path / "c.csv", index=False)
    from_parquet = compare_files(tmp_path / "r.csv", tmp_path / "c.parquet").drifts
    from_csv = compare_files(tmp_path / "r.csv", tmp_path / "c.csv").drifts
    assert from_parquet == from_csv


def test_drift_compare_cli_table_and_json(capsys, example_pair):
    reference, current = example_pair
    code, out, err = run(capsys, "drift", "compare", reference, current, "--detector", "jensen_shannon", "--json")
    assert (code, err) == (0, "")
    report = json.loads(out)
    assert report["detector"] == "jensen_shannon"
    assert report["drifted"] == [f["column"] for f in report["features"] if f["jensen_shannon"] >= 0.1]
    channel = next(f for f in report["features"] if f["column"] == "channel")
    assert channel["ks_pvalue"] is None and channel["kind"] == "categorical"
    code, out, _ = run(capsys, "drift", "compare", reference, current, "--columns", "amount_0,channel")
    assert code == 0
    assert "amount_0" in out and "channel" in out and "score_0" not in out
    assert "of 2 features drift by psi at 0.1 (its default)" in out


def test_drift_compare_refuses_a_column_that_is_not_there(capsys, example_pair):
    reference, current = example_pair
    code, _, err = run(capsys, "drift", "compare", reference, current, "--columns", "amount_0,nope")
    assert code == 2 and "--columns: nope not in the reference file" in err
