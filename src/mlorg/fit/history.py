"""A deploy history: one row per trained model version, read with DuckDB from CSV or Parquet and checked row by row.

Columns: ``model_id, version, trained_at, deployed_at`` (empty if never deployed), and optionally ``retired_at``
(when this version stopped serving: replaced by the next one or the model retired), ``team`` and ``kind``
(``new`` or ``retrain``; without it, a model's first version is new). Other columns are ignored.

Every problem is one line naming the line of the file (CSV, counting the header as line 1) or the row (Parquet),
the column, the value and what is allowed. A history longer than :data:`MAX_ROWS` is refused after counting at
most that many rows, so a 10-million-row file is never read into memory.
"""

from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

REQUIRED = ("model_id", "version", "trained_at", "deployed_at")
OPTIONAL = ("retired_at", "team", "kind")
KINDS = ("new", "retrain")
MAX_ROWS = 100_000  # a large organisation's history of model versions is thousands; the fit simulates each one
MAX_PROBLEMS = 20  # lines of problems shown; the rest are counted
HOURS_PER_DAY = 24.0


class HistoryError(Exception):
    """A history that cannot be fitted: one line per problem."""

    def __init__(self, messages: str | list[str]):
        self.messages = [messages] if isinstance(messages, str) else list(messages)
        super().__init__("\n".join(self.messages))


@dataclass(frozen=True)
class History:
    """A checked history. ``rows`` holds one row per version with times in days since ``start``:
    model_id, version, kind, team, trained_day, deployed_day (NaN: never), retired_day (NaN: not retired)."""

    source: str
    start: pd.Timestamp
    end: pd.Timestamp
    rows: pd.DataFrame
    has_retired: bool

    @property
    def span_days(self) -> float:
        return (self.end - self.start) / pd.Timedelta(days=1)


def read_history(path: str | Path, start: str | pd.Timestamp | None = None) -> History:
    """Read and check a history file. Day 0 is ``start`` (default: the first ``trained_at``); the history ends at
    its last date."""
    path = Path(path)
    raw, where = _read_raw(path)
    problems, rows = _check(raw, where, path)
    if problems:
        shown = problems[:MAX_PROBLEMS]
        if len(problems) > MAX_PROBLEMS:
            shown.append(f"{path}: … and {len(problems) - MAX_PROBLEMS} more problems")
        raise HistoryError(shown)
    first = rows["trained_at"].min()
    origin = first if start is None else _start(start, path)
    if origin > first:
        raise HistoryError(f"{path}: --start {origin:%Y-%m-%d} is after the first trained_at ({first:%Y-%m-%d}); "
                           "must be on or before it")
    end = rows[["trained_at", "deployed_at", "retired_at"]].max().max()
    days = {f"{c}_day": (rows[f"{c}_at"] - origin) / pd.Timedelta(days=1) for c in ("trained", "deployed", "retired")}
    frame = pd.DataFrame({"model_id": rows["model_id"], "version": rows["version"], "kind": rows["kind"],
                          "team": rows["team"], **days})
    return History(str(path), origin, end, frame.reset_index(drop=True), has_retired="retired_at" in raw.columns)


def read_history_bytes(data: bytes, name: str, start: str | pd.Timestamp | None = None) -> History:
    """A history uploaded as bytes (the app): read through a temporary file named like the upload, so that problems
    name the upload, not the temporary file."""
    suffix = ".parquet" if name.lower().endswith((".parquet", ".pq")) else ".csv"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"history{suffix}"
        path.write_bytes(data)
        try:
            history = read_history(path, start)
        except HistoryError as exc:
            raise HistoryError([m.replace(str(path), name) for m in exc.messages]) from None
    return dataclasses.replace(history, source=name)


def _start(text, path: Path) -> pd.Timestamp:
    try:
        return pd.Timestamp(text)
    except ValueError:
        raise HistoryError(f"{path}: --start {text!r} is not a date (YYYY-MM-DD)") from None


def _read_raw(path: Path) -> tuple[pd.DataFrame, str]:
    """Every value as text, with its line (CSV) or row (Parquet) number; at most MAX_ROWS rows."""
    if path.is_dir():
        raise HistoryError(f"{path}: is a folder; a history is one CSV or Parquet file")
    if not path.is_file():
        raise HistoryError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise HistoryError(f"{path}: empty file; a history has a header line and one row per trained model version")
    parquet = path.suffix.lower() in (".parquet", ".pq")
    source = "read_parquet(?)" if parquet else "read_csv(?, all_varchar = true, header = true)"
    where, first = ("row", 1) if parquet else ("line", 2)
    con = duckdb.connect()
    try:
        con.execute("SET threads = 1")  # one thread keeps the file's order, which the row numbers rely on
        rows = con.execute(f"SELECT count(*) FROM (SELECT 1 FROM {source} LIMIT {MAX_ROWS + 1})",
                           [str(path)]).fetchall()[0][0]
        if rows > MAX_ROWS:
            raise HistoryError(f"{path}: more than {MAX_ROWS:,} rows is not allowed; a history holds at most "
                               f"{MAX_ROWS:,} model versions")
        if rows == 0:
            raise HistoryError(f"{path}: no rows after the header; a history has one row per trained model version")
        columns = [d[0] for d in con.execute(f"SELECT * FROM {source} LIMIT 0", [str(path)]).description]
        missing = [c for c in REQUIRED if c not in columns]
        if missing:
            raise HistoryError(f"{path}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}; a "
                               f"history has {', '.join(REQUIRED)} and optionally {', '.join(OPTIONAL)}")
        wanted = [c for c in (*REQUIRED, *OPTIONAL) if c in columns]
        text = [f'trim(CAST("{c}" AS VARCHAR)) AS "{c}"' for c in wanted]
        # DuckDB's own timestamp parser: ISO dates and timestamps only, so "5" or "05/01/2024" are not dates.
        parsed = [f'TRY_CAST(trim(CAST("{c}" AS VARCHAR)) AS TIMESTAMP) AS "{c}_parsed"'
                  for c in wanted if c.endswith("_at")]
        raw = con.execute(f"SELECT row_number() OVER () + {first - 1} AS at, {', '.join(text + parsed)} "
                          f"FROM {source}", [str(path)]).df()
    except duckdb.Error as exc:
        reason = str(exc).strip().splitlines()[0]
        raise HistoryError(f"{path}: cannot be read as {'Parquet' if parquet else 'CSV'} ({reason})") from None
    finally:
        con.close()
    return raw, where


def _check(raw: pd.DataFrame, where: str, path: Path) -> tuple[list[str], pd.DataFrame]:
    """One line per bad value, then per bad row, in file order."""
    problems: list[tuple[int, str]] = []

    def bad(mask: pd.Series, say) -> None:
        for i in np.flatnonzero(mask.to_numpy()):
            problems.append((int(raw["at"].iat[i]), say(i)))

    def text(column: str) -> pd.Series:
        if column not in raw.columns:
            return pd.Series([None] * len(raw), dtype=object)
        return raw[column].astype(object).where(raw[column].notna(), None)

    model = text("model_id")
    bad(model.isna() | (model == ""), lambda i: "model_id is empty; every row names its model")
    version_text = text("version")
    version = pd.to_numeric(version_text, errors="coerce")
    bad_version = version.isna() | (version < 1) | (version != np.floor(version))
    bad(bad_version, lambda i: f"version {version_text.iat[i]!r} is not allowed; must be an integer >= 1")
    dates = {}
    for column in ("trained_at", "deployed_at", "retired_at"):
        values = text(column).replace("", None)
        parsed = pd.to_datetime(raw[f"{column}_parsed"]) if column in raw.columns else pd.Series(
            pd.NaT, index=raw.index, dtype="datetime64[ns]")
        dates[column] = parsed
        required = column == "trained_at"
        unparsed = values.notna() & parsed.isna()
        bad(unparsed, lambda i, c=column, v=values: f"{c} {v.iat[i]!r} is not a date (YYYY-MM-DD or an ISO "
            "timestamp)")
        if required:
            bad(values.isna(), lambda i: "trained_at is empty; every version has the time it was trained")
    kind_text = text("kind").replace("", None)
    bad(kind_text.notna() & ~kind_text.isin(KINDS),
        lambda i: f"kind {kind_text.iat[i]!r} is not allowed; must be new or retrain (or empty)")
    trained, deployed, retired = dates["trained_at"], dates["deployed_at"], dates["retired_at"]
    bad(deployed < trained, lambda i: f"deployed_at {deployed.iat[i]} is before trained_at {trained.iat[i]}")
    bad(retired < deployed, lambda i: f"retired_at {retired.iat[i]} is before deployed_at {deployed.iat[i]}")
    bad(retired.notna() & deployed.isna() & text("deployed_at").replace("", None).isna(),
        lambda i: "retired_at is set but deployed_at is empty; only a deployed version can retire")
    key = pd.DataFrame({"model": model, "version": version})
    first_at = raw["at"].groupby([model, version], dropna=True).transform("min")
    repeat = key.duplicated(keep="first") & model.notna() & version.notna()
    bad(repeat, lambda i: f"model {model.iat[i]} version {version.iat[i]:g} is already on {where} "
        f"{int(first_at.iat[i])}; each version has one row")
    lines = [f"{path}: {where} {at}: {say}" for at, say in sorted(problems, key=lambda p: p[0])]
    kind = kind_text.where(kind_text.notna(), None)
    first_version = version.groupby(model).transform("min")
    inferred = np.where(version == first_version, "new", "retrain")
    rows = pd.DataFrame({"model_id": model, "version": version, "trained_at": trained, "deployed_at": deployed,
                         "retired_at": retired, "team": text("team"),
                         "kind": kind.fillna(pd.Series(inferred, index=kind.index))})
    return lines, rows
