"""Which of mlorg's DuckDB files a file is. The run store and the registry each mark a file they create with their
kind and schema version (table ``mlorg_meta``), and refuse a file of the other kind, or one holding tables that are
not theirs, before writing anything into it. An unmarked file that holds only their own tables (made before the
marker existed) is adopted: marked, and kept as it is."""

from __future__ import annotations

import duckdb

META = "mlorg_meta"


class WrongKind(ValueError):
    """The file is another kind of DuckDB file than the one asked for."""


def claim(con: duckdb.DuckDBPyConnection, path: object, kind: str, version: str, tables: set[str]) -> str:
    """Mark the file behind ``con`` as ``kind`` (whose tables are ``tables``), or check that it is one; returns the
    schema version the file records. Raises WrongKind, naming the file and what it holds, for any other file."""
    existing = {name for (name,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main'"
    ).fetchall()}
    if META in existing:
        row = con.execute(f"SELECT kind, schema_version FROM {META}").fetchone()
        if row is None or row[0] != kind:
            found = "an unmarked mlorg file" if row is None else row[0]
            raise WrongKind(f"{path} is {found}, not {kind}; refusing to read or write it as one")
        return row[1]
    others = existing - tables
    if others:
        raise WrongKind(f"{path} holds tables that are not {kind}'s ({', '.join(sorted(others))}); refusing to read "
                        f"or write it as {kind}")
    con.execute(f"CREATE TABLE IF NOT EXISTS {META} (kind TEXT NOT NULL, schema_version TEXT NOT NULL)")
    con.execute(f"INSERT INTO {META} SELECT ?, ? WHERE NOT EXISTS (SELECT 1 FROM {META})", [kind, version])
    return version


def set_version(con: duckdb.DuckDBPyConnection, version: str) -> None:
    """Record a migration: the file's schema is now ``version``."""
    con.execute(f"UPDATE {META} SET schema_version = ?", [version])
