"""Users' own feature files (CSV or Parquet) read with DuckDB, column by column, with every refusal in one line.

A CSV file is parsed once into an in-memory DuckDB table and a Parquet file is read in place; columns then leave
them one at a time as numpy arrays, so a million-row file of twenty features never sits in memory as a whole
DataFrame. Each column gets a kind:
numeric (integers and decimals, compared as numbers), categorical (text and booleans, compared as shares of each
value), time (timestamps and dates: the time column of ``mlorg drift tune``, never compared) or skipped with a
reason (a text column with so many distinct values that it is an identifier, not a feature).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

MAX_VALUES = 200_000_000  # cells per file (1.6 GB as float64 on a 24 GB machine); sample a bigger file first
MIN_ROWS = 2  # KS and the quantile bins need two values
MAX_CATEGORIES = 1000  # more distinct text values than this is an identifier
READERS = {".csv": "read_csv", ".tsv": "read_csv", ".txt": "read_csv", ".parquet": "read_parquet",
           ".pq": "read_parquet"}
NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                 "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "REAL")
TIME_TYPES = ("DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S")


class FeatureFileError(ValueError):
    """A feature file mlorg cannot compare; the message names the file and, where there is one, the column and
    row."""


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # "numeric", "categorical", "time" or "skipped"
    sql_type: str
    note: str = ""  # why a column is skipped


def _kind(sql_type: str) -> str:
    base = sql_type.split("(")[0].upper()
    if base in NUMERIC_TYPES or base == "DECIMAL":
        return "numeric"
    if base in TIME_TYPES:
        return "time"
    return "categorical"


def describe(path: str | Path) -> dict[str, str]:
    """Each column's kind ("numeric", "categorical" or "time") from the file's header or schema, without loading
    it; empty for a file DuckDB cannot describe (opening it with :class:`FeatureFile` says why)."""
    reader = READERS.get(Path(path).suffix.lower())
    if reader is None or not Path(path).is_file():
        return {}
    try:
        with duckdb.connect() as con:
            described = con.execute(f"DESCRIBE SELECT * FROM {reader}(?)", [str(path)]).fetchall()
    except duckdb.Error:
        return {}
    return {name: _kind(sql_type) for name, sql_type, *_ in described}


class FeatureFile:
    """One CSV file loaded into an in-memory DuckDB table, or one Parquet file read in place. ``role``
    ("reference" or "current") names it in messages."""

    def __init__(self, path: str | Path, role: str):
        self.path = Path(path)
        self.role = role
        self._con = duckdb.connect()
        reader = READERS.get(self.path.suffix.lower())
        if reader is None:
            raise FeatureFileError(f"{self._name}: {self.path.suffix or 'no extension'} is not allowed; must be a "
                                   "CSV (.csv, .tsv, .txt) or Parquet (.parquet, .pq) file")
        if not self.path.is_file():
            raise FeatureFileError(f"{self._name}: no such file")
        if self.path.stat().st_size == 0:
            raise FeatureFileError(f"{self._name}: the file is empty")
        source = f"{reader}(?)"
        try:
            described = self._con.execute(f"DESCRIBE SELECT * FROM {source}", [str(self.path)]).fetchall()
            self.rows = int(self._con.execute(f"SELECT count(*) FROM {source}", [str(self.path)]).fetchall()[0][0])
            if self.rows * len(described) > MAX_VALUES:
                raise FeatureFileError(f"{self._name}: {self.rows:,} rows × {len(described)} columns is "
                                       f"{self.rows * len(described):,} values; the limit is {MAX_VALUES:,}: "
                                       "sample the rows or pick columns with --columns")
            if reader == "read_parquet":
                # Parquet is columnar: each column is read from the file when asked for, so neither file sits in
                # memory whole. A CSV must be parsed once, into a table.
                literal = "'" + str(self.path).replace("'", "''") + "'"
                self._con.execute(f"CREATE VIEW features AS SELECT * FROM read_parquet({literal}, "
                                  "file_row_number = true)")
                self._row_key = "file_row_number"
            else:
                self._con.execute(f"CREATE TABLE features AS SELECT * FROM {source}", [str(self.path)])
                self._row_key = "rowid"
        except duckdb.Error as exc:
            raise FeatureFileError(f"{self._name}: {_duckdb_reason(exc)}") from None
        if self.rows == 0:
            raise FeatureFileError(f"{self._name}: the file has a header but no rows")
        if self.rows < MIN_ROWS:
            raise FeatureFileError(f"{self._name}: {self.rows} row is too few; drift statistics need at least "
                                   f"{MIN_ROWS} rows")
        self._order_sql: str | None = None
        self.columns = {name: self._column(name, sql_type) for name, sql_type, *_ in described}

    def _column(self, name: str, sql_type: str) -> Column:
        kind = _kind(sql_type)
        if kind == "categorical":
            query = f"SELECT approx_count_distinct({_quoted(name)}) FROM features"
            distinct = self._con.execute(query).fetchall()[0][0]
            if distinct > MAX_CATEGORIES:
                return Column(name, "skipped", sql_type, f"≈ {distinct:,} distinct text values: an identifier, not a "
                                                         f"feature (at most {MAX_CATEGORIES:,} categories)")
        return Column(name, kind, sql_type)

    def _time_order(self, wanted: bool) -> str:
        if not wanted:
            return ""
        if self._order_sql is None:
            raise RuntimeError("read the time column with hours() before asking for rows in time order")
        return self._order_sql

    @property
    def _name(self) -> str:
        return f"{self.role} file {self.path}"

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> FeatureFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def numeric(self, name: str, in_time_order: bool = False) -> np.ndarray:
        """A numeric column as float64, NULL as NaN, in file order or in the order of :meth:`hours`."""
        order = self._time_order(in_time_order)
        cursor = self._con.cursor()  # one cursor per call: the page may read from several threads
        try:
            query = f"SELECT CAST({_quoted(name)} AS DOUBLE) AS v FROM features{order}"
            array = cursor.execute(query).fetchnumpy()["v"]
        finally:
            cursor.close()
        values = np.ma.filled(np.ma.asarray(array, dtype=float), np.nan)
        if not np.all(np.isfinite(values[~np.isnan(values)])):
            row = int(np.flatnonzero(np.isinf(values))[0]) + 1
            raise FeatureFileError(f"{self._name}: column {name}: row {row} is infinite; drift statistics need "
                                   "finite numbers (leave it empty for missing)")
        return values

    def is_empty(self, name: str) -> bool:
        """True when every row of the column is NULL."""
        return self._con.execute(f"SELECT count({_quoted(name)}) FROM features").fetchall()[0][0] == 0

    def category_counts(self, name: str) -> dict[str | None, int]:
        """How many rows hold each value of a categorical column (None for NULL)."""
        cursor = self._con.cursor()
        try:
            rows = cursor.execute(f"SELECT CAST({_quoted(name)} AS VARCHAR), count(*) FROM features GROUP BY 1"
                                  ).fetchall()
        finally:
            cursor.close()
        return {value: int(count) for value, count in rows}

    def category_codes(self, name: str, categories: list[str], in_time_order: bool = False) -> np.ndarray:
        """Each row's index in ``categories``; ``len(categories)`` for a value not among them, and one more for
        NULL; in file order or in the order of :meth:`hours`."""
        order = self._time_order(in_time_order)
        cursor = self._con.cursor()
        try:
            values = cursor.execute(f"SELECT CAST({_quoted(name)} AS VARCHAR) AS v FROM features{order}"
                                    ).fetchnumpy()["v"]
        finally:
            cursor.close()
        filled = np.ma.filled(np.ma.asarray(values, dtype=object), None)
        codes = pd.Categorical(filled, categories=categories).codes.astype(np.int64)
        codes[codes < 0] = len(categories)  # a value the reference never had
        codes[pd.isna(filled)] = len(categories) + 1
        return codes

    def hours(self, name: str) -> np.ndarray:
        """A time column (timestamp, date or a number of hours) as hours since its earliest value, sorted."""
        column = self.columns.get(name)
        if column is None:
            raise FeatureFileError(f"{self._name}: no column {name!r} for the time; columns: "
                                   f"{', '.join(self.columns)}")
        if column.kind == "numeric":
            expression = f"CAST({_quoted(name)} AS DOUBLE)"
        elif column.kind == "time":
            expression = f"epoch(CAST({_quoted(name)} AS TIMESTAMP)) / 3600.0"
        else:
            expression = f"epoch(TRY_CAST({_quoted(name)} AS TIMESTAMP)) / 3600.0"
            bad = self._con.execute(
                f"SELECT n, v FROM (SELECT row_number() OVER () AS n, {_quoted(name)} AS v FROM features) "
                f"WHERE v IS NOT NULL AND TRY_CAST(v AS TIMESTAMP) IS NULL LIMIT 1").fetchall()
            if bad:
                raise FeatureFileError(f"{self._name}: time column {name}: row {bad[0][0]} holds {bad[0][1]!r}, "
                                       "which is not a date or time (e.g. 2024-05-01 13:00)")
        nulls = self._con.execute(
            f"SELECT n FROM (SELECT row_number() OVER () AS n, {_quoted(name)} AS v FROM features) "
            "WHERE v IS NULL LIMIT 1").fetchall()
        if nulls:
            raise FeatureFileError(f"{self._name}: time column {name}: row {nulls[0][0]} is empty; every row needs "
                                   "a time")
        # Rows at the same time stay in file order, so that the same file always gives the same order.
        self._order_sql = f" ORDER BY {expression}, {self._row_key}"
        times = self._con.execute(f"SELECT {expression} AS t FROM features{self._order_sql}").fetchnumpy()["t"]
        times = np.asarray(times, dtype=float)
        return times - times[0]


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


_LINE = re.compile(r"CSV Error on Line: (\d+)")
_CONVERT = re.compile(r'converting column "([^"]+)"\. Could not convert string "([^"]*)" to \'?(\w+)')


def _duckdb_reason(exc: duckdb.Error) -> str:
    """DuckDB's error in one line: a value that breaks its column's type names the column, the line and the
    value."""
    text = str(exc)
    line, convert = _LINE.search(text), _CONVERT.search(text)
    if line and convert:
        column, value, sql_type = convert.groups()
        kind = "numbers" if _kind(sql_type) == "numeric" else sql_type.lower() + " values"
        return (f"column {column}: line {line.group(1)} holds {value!r} where the lines before hold {kind} (mixed "
                "types); fix the value, or leave the column out with --columns")
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return f"cannot be read ({first})"


def skipped(reference: FeatureFile) -> list[Column]:
    """Columns not compared unless named: identifiers (see :data:`MAX_CATEGORIES`)."""
    return [c for c in reference.columns.values() if c.kind == "skipped"]


def check_pair(reference: FeatureFile, current: FeatureFile, columns: list[str] | None) -> list[Column]:
    """The reference columns to compare (``columns``, or every column but times and identifiers), after checking
    both files hold them with the same kind."""
    wanted = columns if columns else [name for name, c in reference.columns.items() if c.kind not in ("time",
                                                                                                        "skipped")]
    unknown = [name for name in wanted if name not in reference.columns]
    if unknown:
        raise FeatureFileError(f"--columns: {', '.join(unknown)} not in the reference file; its columns are "
                               f"{', '.join(reference.columns)}")
    missing = [name for name in wanted if name not in current.columns]
    if missing:
        extra = [name for name in current.columns if name not in reference.columns]
        raise FeatureFileError(f"the current file lacks {', '.join(missing)}, which the reference has"
                               + (f" (it has {', '.join(extra)} instead)" if extra else "")
                               + "; compare the same columns, or pick them with --columns")
    picked = []
    for name in wanted:
        ref, cur = reference.columns[name], current.columns[name]
        if ref.kind in ("time", "skipped"):
            raise FeatureFileError(f"--columns: {name} cannot be compared: "
                                   + (ref.note if ref.kind == "skipped" else f"it holds times ({ref.sql_type})"))
        if reference.is_empty(name):
            raise FeatureFileError(f"column {name} is empty in every row of the reference file: there is nothing "
                                   "to compare with; leave it out with --columns")
        # A column that turned all-null has no type of its own in a CSV (DuckDB reads it as text): it is drift, the
        # kind a monitor must catch, not a type mismatch.
        if ref.kind != cur.kind and not current.is_empty(name):
            raise FeatureFileError(f"column {name} is {ref.kind} ({ref.sql_type}) in the reference but {cur.kind} "
                                   f"({cur.sql_type}) in the current file (mixed types); make them agree or leave "
                                   "it out with --columns")
        picked.append(ref)
    return picked
