"""Reading a deploy history: every bad history gets one clear line naming its line, and good ones read the same from
CSV and Parquet."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from mlorg.cli import main
from mlorg.fit.example import BASE, HISTORY
from mlorg.fit.history import MAX_ROWS, HistoryError, read_history

HEADER = "model_id,version,trained_at,deployed_at,retired_at,kind\n"
GOOD = "a,1,2024-01-01,2024-02-01,,new\nb,1,2024-01-05 10:00,,,new\n"


def problems(tmp_path, text: str, name: str = "h.csv") -> list[str]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(HistoryError) as raised:
        read_history(path)
    return raised.value.messages


def test_a_good_history_reads_with_days_since_its_start(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text(HEADER + GOOD + "a,2,2024-03-01,2024-03-10,,retrain\n", encoding="utf-8")
    history = read_history(path)
    assert history.start == pd.Timestamp("2024-01-01") and history.end == pd.Timestamp("2024-03-10")
    assert history.rows["trained_day"].tolist() == pytest.approx([0.0, 4 + 10 / 24, 60.0])
    assert history.rows["deployed_day"].iloc[0] == 31.0 and pd.isna(history.rows["deployed_day"].iloc[1])
    assert history.rows["kind"].tolist() == ["new", "new", "retrain"]


def test_kind_is_inferred_from_the_version_when_absent(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("model_id,version,trained_at,deployed_at\na,1,2024-01-01,\na,2,2024-02-01,\n", encoding="utf-8")
    history = read_history(path)
    assert history.rows["kind"].tolist() == ["new", "retrain"] and not history.has_retired


def test_deployed_before_trained_names_the_line(tmp_path):
    lines = problems(tmp_path, HEADER + GOOD + "c,1,2024-03-01,2024-02-01,,new\n")
    assert lines == [f"{tmp_path / 'h.csv'}: line 4: deployed_at 2024-02-01 00:00:00 is before trained_at "
                     "2024-03-01 00:00:00"]


def test_a_duplicated_version_names_both_lines(tmp_path):
    lines = problems(tmp_path, HEADER + GOOD + "a,1,2024-01-03,,,new\n")
    assert lines == [f"{tmp_path / 'h.csv'}: line 4: model a version 1 is already on line 2; each version has one "
                     "row"]


def test_an_unparseable_date_names_the_line_and_the_value(tmp_path):
    lines = problems(tmp_path, HEADER + GOOD + "c,1,05/01/2024,,,new\nd,1,2024-01-09,soon,,new\n")
    assert lines == [
        f"{tmp_path / 'h.csv'}: line 4: trained_at '05/01/2024' is not a date (YYYY-MM-DD or an ISO timestamp)",
        f"{tmp_path / 'h.csv'}: line 5: deployed_at 'soon' is not a date (YYYY-MM-DD or an ISO timestamp)"]


def test_a_bad_version_and_kind_each_get_a_line(tmp_path):
    lines = problems(tmp_path, HEADER + GOOD + "c,0,2024-01-02,,,new\nd,1,2024-01-02,,,old\n")
    assert [line.split(": ", 1)[1] for line in lines] == [
        "line 4: version '0' is not allowed; must be an integer >= 1",
        "line 5: kind 'old' is not allowed; must be new or retrain (or empty)"]


def test_an_empty_file_and_a_header_alone_are_refused(tmp_path):
    assert problems(tmp_path, "") == [f"{tmp_path / 'h.csv'}: empty file; a history has a header line and one row "
                                      "per trained model version"]
    assert problems(tmp_path, HEADER) == [f"{tmp_path / 'h.csv'}: no rows after the header; a history has one row "
                                          "per trained model version"]


def test_a_missing_column_is_named(tmp_path):
    (line,) = problems(tmp_path, "model_id,version,trained_at\na,1,2024-01-01\n")
    assert line.endswith("missing column deployed_at; a history has model_id, version, trained_at, deployed_at "
                         "and optionally retired_at, team, kind")


def test_ten_million_rows_are_refused_without_reading_them(tmp_path):
    path = tmp_path / "big.csv"
    with duckdb.connect() as con:
        con.execute(f"COPY (SELECT i AS model_id, 1 AS version, DATE '2024-01-01' AS trained_at, NULL AS deployed_at "
                    f"FROM range(10000000) t(i)) TO '{path}' (HEADER)")
    with pytest.raises(HistoryError) as raised:
        read_history(path)
    assert raised.value.messages == [f"{path}: more than {MAX_ROWS:,} rows is not allowed; a history holds at most "
                                     f"{MAX_ROWS:,} model versions"]


def test_parquet_reads_like_csv_and_names_rows(tmp_path):
    path = tmp_path / "h.parquet"
    with duckdb.connect() as con:
        con.execute(f"COPY (SELECT * FROM read_csv('{HISTORY}')) TO '{path}' (FORMAT parquet)")
    assert read_history(path).rows.equals(read_history(HISTORY).rows)
    with duckdb.connect() as con:
        con.execute(f"COPY (SELECT 'a' AS model_id, 1 AS version, TIMESTAMP '2024-02-01' AS trained_at, "
                    f"TIMESTAMP '2024-01-01' AS deployed_at) TO '{path}' (FORMAT parquet)")
    with pytest.raises(HistoryError) as raised:
        read_history(path)
    assert raised.value.messages[0].startswith(f"{path}: row 1: deployed_at 2024-01-01")


def test_the_cli_refuses_a_bad_history_in_one_line_with_exit_2(tmp_path, capsys):
    path = tmp_path / "h.csv"
    path.write_text(HEADER + GOOD + "c,1,2024-03-01,2024-02-01,,new\n", encoding="utf-8")
    code = main(["fit", str(path), "--base", str(BASE)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert err.splitlines() == [f"mlorg: error: {path}: line 4: deployed_at 2024-02-01 00:00:00 is before "
                                "trained_at 2024-03-01 00:00:00"]


def test_a_folder_or_a_missing_file_is_named(tmp_path):
    with pytest.raises(HistoryError) as raised:
        read_history(tmp_path)
    assert raised.value.messages == [f"{tmp_path}: is a folder; a history is one CSV or Parquet file"]
    with pytest.raises(HistoryError) as raised:
        read_history(tmp_path / "none.csv")
    assert raised.value.messages == [f"{tmp_path / 'none.csv'}: no such file"]
