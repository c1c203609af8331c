"""A model registry with lineage in one DuckDB file (``data/registry.duckdb`` unless told otherwise).

Models are pickled into a folder beside the database (``run.duckdb`` -> ``run.artifacts/``) and their sha256
is recorded; a file whose hash no longer matches is never unpickled. Every write is one transaction, and an
artifact file is written before the row that names it, so a crash leaves at worst an orphan file, which is
harmless: ``verify`` reports only missing or altered artifacts, ``orphans`` lists unreferenced files.

Every model and deployment row is signed with a key kept outside the database, each row's MAC chained to the
row before and the chains' heads kept with the key (:mod:`mlorg.pipeline.integrity`): someone who can write the
database and the folder but cannot read the key can neither point a model at another file, nor forge its hash,
nor delete, reorder or cut the history without ``verify`` saying so; and nothing is unpickled before the row's MAC,
the artifact's path (inside the artifacts folder) and the file's hash all check out. Whoever holds the key can
sign anything.

The registry holds one DuckDB connection and gives each thread its own cursor (Streamlit serves each
session from its own thread). Another process cannot open the file while a registry is open; ``close`` it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import re
import threading
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from mlorg import file_kind
from mlorg.durable import write_durably
from mlorg.pipeline import integrity, registry_checks
from mlorg.pipeline.registry_checks import DEPLOYMENT_FIELDS, MODEL_FIELDS
from mlorg.pipeline.registry_errors import ArtifactError, RegistryError
from mlorg.pipeline.registry_schema import KIND, RUNS, SCHEMA, SCHEMA_VERSION, TABLES

DEFAULT_REGISTRY = Path("data") / "registry.duckdb"
ACTIONS = ("deploy", "rollback", "promote", "retire", "threshold", "shadow")
SCORE_COLUMNS = ("tx_id", "model_version", "score", "scored_at")
ALIAS_PATTERN = re.compile(r"[a-z_]+")

# One write lock per database file, so two registries on one file in this process never race for a version.
_LOCKS: dict[Path, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def default_registry_path() -> Path:
    return Path(os.environ.get("MLORG_REGISTRY", DEFAULT_REGISTRY))


def dataset_hash(frame: pd.DataFrame) -> str:
    """sha256 over column names, dtypes and row hashes (index ignored): equal content gives an equal id."""
    digest = hashlib.sha256()
    digest.update(json.dumps([[str(c), str(t)] for c, t in frame.dtypes.items()]).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def feature_set_version(sql: str, params: dict) -> str:
    return hashlib.sha256(f"{sql}\0{_to_json(params, 'params')}".encode()).hexdigest()


def _to_json(value: dict, what: str) -> str:
    if not isinstance(value, dict):
        raise RegistryError(f"{what} must be a dict, not {type(value).__name__}")

    def plain(obj: Any) -> Any:  # numpy scalars, as sklearn metrics return them
        if hasattr(obj, "item"):
            return obj.item()
        raise TypeError(f"{type(obj).__name__} is not JSON serialisable")

    try:
        return json.dumps(value, sort_keys=True, default=plain)
    except (TypeError, ValueError) as exc:
        raise RegistryError(f"{what} must be JSON serialisable: {exc}") from None


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _naive_utc(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo is not None else at


def _sha256(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


class Registry:
    """Datasets, feature sets, models, aliases, deployments, scores and alerts in one DuckDB file."""

    def __init__(self, path: str | Path | None = None):
        if str(path) == ":memory:":
            raise RegistryError("an in-memory registry is not supported: artifacts need a folder beside the file")
        self.path = Path(path) if path is not None else default_registry_path()
        self.artifacts_dir = self.path.with_suffix(".artifacts")
        with _LOCKS_GUARD:
            self._write_lock = _LOCKS.setdefault(self.path.resolve(), threading.Lock())
        self._local = threading.local()
        self.current_run: int | None = None  # the pipeline run whose scores and alerts are being recorded
        # Versions seen committed: no write removes a model, so a batch of scores need not look them up (≈ 1 ms).
        self._versions: set[int] = set()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._root: duckdb.DuckDBPyConnection | None = duckdb.connect(str(self.path))
        except (OSError, duckdb.Error) as exc:
            raise RegistryError(f"cannot open registry {self.path}: {exc}") from None
        try:
            self._init_schema()
        except BaseException:
            self.close()
            raise

    def _init_schema(self) -> None:
        with self._transaction("create the registry tables") as cur:
            try:
                file_kind.claim(cur, self.path, KIND, SCHEMA_VERSION, TABLES)
            except file_kind.WrongKind as exc:
                raise RegistryError(str(exc)) from None
            cur.execute("CREATE TABLE IF NOT EXISTS registry_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            row = cur.execute("SELECT value FROM registry_meta WHERE key = 'schema_version'").fetchone()
            if row is None:
                cur.execute(SCHEMA)
                cur.execute(RUNS)
                cur.execute("INSERT INTO registry_meta VALUES ('schema_version', ?)", [SCHEMA_VERSION])
                self._sign_identity(cur)
            elif row[0] in ("1", "2"):
                if row[0] == "1":  # to signed rows: sign what is there, trusting it as it stands
                    cur.execute("ALTER TABLE models ADD COLUMN mac TEXT")
                    cur.execute("ALTER TABLE deployments ADD COLUMN mac TEXT")
                    self._sign_identity(cur)
                    self._sign_all(cur)
                cur.execute(RUNS)  # the scores and alerts written before carry no run
                cur.execute("UPDATE registry_meta SET value = ? WHERE key = 'schema_version'", [SCHEMA_VERSION])
                file_kind.set_version(cur, SCHEMA_VERSION)
            elif row[0] != SCHEMA_VERSION:
                raise RegistryError(f"registry {self.path} has schema version {row[0]}; this code reads "
                                    f"version {SCHEMA_VERSION}")
            identity = cur.execute("SELECT value FROM registry_meta WHERE key = 'registry_id'").fetchone()
            self.registry_id = identity[0] if identity else ""

    # -- signatures

    def signing_key(self, create: bool) -> bytes | None:
        try:
            return integrity.load_key(create)
        except integrity.KeyProblem as exc:
            raise RegistryError(str(exc)) from None

    def _sign_identity(self, cur: duckdb.DuckDBPyConnection) -> None:
        registry_id = uuid.uuid4().hex
        identity = integrity.mac(self.signing_key(create=True), registry_id, "registry", [], integrity.GENESIS)
        cur.execute("INSERT INTO registry_meta VALUES ('registry_id', ?), ('registry_mac', ?)", [registry_id, identity])

    def _sign_all(self, cur: duckdb.DuckDBPyConnection) -> None:
        key = self.signing_key(create=True)
        registry_id = cur.execute("SELECT value FROM registry_meta WHERE key = 'registry_id'").fetchone()[0]
        for table, kind, fields, order in (("models", "model", MODEL_FIELDS, "version"),
                                           ("deployments", "deployment", DEPLOYMENT_FIELDS, "seq")):
            previous = integrity.GENESIS
            for values in cur.execute(f"SELECT {', '.join(_quoted(fields))} FROM {table} ORDER BY {order}").fetchall():
                previous = integrity.mac(key, registry_id, kind, list(values), previous)
                cur.execute(f"UPDATE {table} SET mac = ? WHERE {order} = ?", [previous, values[0]])

    def _signed(self, cur: duckdb.DuckDBPyConnection, table: str, kind: str, fields: tuple, values: list) -> str:
        """The MAC of a new last row of ``table``, chained to the row before it."""
        order = fields[0]
        last = cur.execute(f"SELECT mac FROM {table} ORDER BY {order} DESC LIMIT 1").fetchone()
        previous = last[0] if last is not None and last[0] else integrity.GENESIS
        return integrity.mac(self.signing_key(create=True), self.registry_id, kind, values, previous)

    def _record_head(self) -> None:
        """After a write: the chains' last rows, kept beside the key so that a cut tail shows."""
        head = {}
        for table, order in (("models", "version"), ("deployments", "seq")):
            last = self._cursor().execute(f"SELECT {order}, mac FROM {table} ORDER BY {order} DESC LIMIT 1").fetchone()
            head[table] = [int(last[0]), last[1]] if last is not None else [0, integrity.GENESIS]
        try:
            integrity.write_head(self.registry_id, head)
        except OSError as exc:
            raise RegistryError(f"could not record the registry's head beside its key: {exc}") from None

    # -- connections and transactions

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        if self._root is None:
            raise RegistryError(f"registry {self.path} is closed")
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._root.cursor()
            self._local.cursor = cur  # dropped with its thread
        return cur

    @contextlib.contextmanager
    def _transaction(self, what: str) -> Iterator[duckdb.DuckDBPyConnection]:
        cur = self._cursor()
        with self._write_lock:
            cur.begin()
            try:
                yield cur
                cur.commit()
            except duckdb.Error as exc:
                self._rollback(cur)
                raise RegistryError(f"could not {what} in {self.path}: {exc}") from None
            except BaseException:
                self._rollback(cur)
                raise

    @staticmethod
    def _rollback(cur: duckdb.DuckDBPyConnection) -> None:
        with contextlib.suppress(duckdb.Error):  # a failed COMMIT has already rolled back
            cur.rollback()

    def _query(self, sql: str, params: list | None = None) -> pd.DataFrame:
        try:
            return self._cursor().execute(sql, params or []).df()
        except duckdb.Error as exc:
            raise RegistryError(f"could not read registry {self.path}: {exc}") from None

    def close(self) -> None:
        """Close the connection and every thread's cursor with it, releasing the file to other processes."""
        if self._root is not None:
            self._root.close()
            self._root = None

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- datasets and feature sets

    def register_dataset(self, name: str, frame: pd.DataFrame, time_column: str = "ts") -> str:
        """Record a dataset by content hash; registering the same content again returns the same id."""
        if not isinstance(frame, pd.DataFrame):
            raise RegistryError(f"frame must be a pandas DataFrame, not {type(frame).__name__}")
        if time_column not in frame.columns:
            raise RegistryError(f"dataset {name!r} has no time column {time_column!r} "
                                f"(columns: {', '.join(map(str, frame.columns))})")
        try:
            times = pd.to_datetime(frame[time_column], utc=True).dt.tz_localize(None)
        except (TypeError, ValueError) as exc:
            raise RegistryError(f"time column {time_column!r} of dataset {name!r} is not a time: {exc}") from None
        dataset_id = dataset_hash(frame)
        start, end = (None, None) if times.empty else (times.min().to_pydatetime(), times.max().to_pydatetime())
        with self._transaction(f"register dataset {name!r}") as cur:
            cur.execute("INSERT INTO datasets VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                        [dataset_id, name, start, end, len(frame), _now()])
        return dataset_id

    def register_feature_set(self, name: str, sql: str, params: dict) -> str:
        """Record a feature query; its version is the sha256 of the SQL and its parameters."""
        if not isinstance(sql, str) or not sql.strip():
            raise RegistryError(f"feature set {name!r} needs its SQL text")
        version = feature_set_version(sql, params)
        with self._transaction(f"register feature set {name!r}") as cur:
            cur.execute("INSERT INTO feature_sets VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                        [version, name, sql, _to_json(params, "params"), _now()])
        return version

    # -- models

    def register_model(self, model: Any, *, name: str, params: dict, metrics: dict, dataset_id: str,
                       feature_version: str, code_version: str) -> int:
        """Pickle a fitted model beside the database and record it as the next version (1, 2, ...)."""
        params_json, metrics_json = _to_json(params, "params"), _to_json(metrics, "metrics")
        try:
            payload = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            raise RegistryError(f"model {name!r} cannot be pickled: {exc}") from None
        digest = _sha256(payload)
        with self._transaction(f"register model {name!r}") as cur:
            if cur.execute("SELECT 1 FROM datasets WHERE dataset_id = ?", [dataset_id]).fetchone() is None:
                raise RegistryError(f"dataset {dataset_id!r} is not registered in {self.path}")
            if cur.execute("SELECT 1 FROM feature_sets WHERE version = ?", [feature_version]).fetchone() is None:
                raise RegistryError(f"feature set {feature_version!r} is not registered in {self.path}")
            version = cur.execute("SELECT coalesce(max(version), 0) + 1 FROM models").fetchone()[0]
            artifact = self._write_artifact(payload, f"model-{version}-{digest[:12]}.pkl")
            values = [version, name, params_json, metrics_json, artifact.name, digest, dataset_id, feature_version,
                      code_version, _now()]
            cur.execute("INSERT INTO models VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [*values, self._signed(cur, "models", "model", MODEL_FIELDS, values)])
        self._record_head()
        self._versions.add(int(version))
        return int(version)

    def _write_artifact(self, payload: bytes, filename: str) -> Path:
        # A reader never sees a half-written model under its final name.
        final = self.artifacts_dir / filename
        write_durably(final, payload)
        return final

    def _artifact_path(self, version: int, filename: str) -> Path:
        """The artifact's file, which must lie in the artifacts folder itself (no other folder, no link out)."""
        path = self.artifacts_dir / filename
        folder = self.artifacts_dir.resolve()
        if Path(filename).name != filename or path.resolve().parent != folder:
            raise ArtifactError(f"artifact of model {version} names {filename!r}, outside {self.artifacts_dir}; "
                                "refusing to read it")
        return path

    def checked_payload(self, version: int, filename: str, expected: str) -> bytes:
        path = self._artifact_path(version, filename)
        try:
            payload = path.read_bytes()
        except FileNotFoundError:
            raise ArtifactError(f"artifact for model {version} is missing: {path}") from None
        except OSError as exc:
            raise ArtifactError(f"artifact for model {version} cannot be read: {path}: {exc}") from None
        actual = _sha256(payload)
        if actual != expected:
            raise ArtifactError(f"artifact {path} of model {version} fails its hash check (expected sha256 "
                                f"{expected}, actual {actual}); refusing to unpickle it")
        return payload

    def load_model(self, version: int) -> Any:
        """The fitted model of a version, unpickled only after its row's MAC (chained to the row before), its
        path (inside the artifacts folder) and its file's sha256 all check out."""
        self._check_version(version)
        key = self.signing_key(create=False)
        if key is None:
            raise ArtifactError(f"no registry key here ({integrity.KEY_ENV} or {integrity.config_dir()}/registry.key):"
                                f" model {version}'s record cannot be checked, so it is not unpickled")
        rows = self.signed_rows("models", MODEL_FIELDS, "version <= ?", [version])
        if not rows or rows[-1][0] != version:
            self.model(version)  # names what the registry holds
            raise RegistryError(f"model version {version} is not in registry {self.path}")
        previous = rows[-2][-1] if len(rows) > 1 else integrity.GENESIS
        *values, signature = rows[-1]
        if not integrity.same(signature, integrity.mac(key, self.registry_id, "model", values, previous)):
            raise ArtifactError(f"the record of model {version} in {self.path} is not signed by this registry's key "
                                "(edited, or moved from elsewhere); refusing to unpickle its artifact")
        payload = self.checked_payload(version, values[MODEL_FIELDS.index("artifact_path")],
                                        values[MODEL_FIELDS.index("artifact_sha256")])
        return pickle.loads(payload)

    def signed_rows(self, table: str, fields: tuple, where: str = "true", params: list | None = None) -> list:
        """Rows of ``table`` (``fields`` and the row's MAC last) in the order of the first field."""
        try:
            return self._cursor().execute(f"SELECT {', '.join(_quoted(fields))}, mac FROM {table} WHERE {where} "
                                          f"ORDER BY {fields[0]}", params or []).fetchall()
        except duckdb.Error as exc:
            raise RegistryError(f"could not read registry {self.path}: {exc}") from None

    def model(self, version: int) -> dict:
        """A model's row, with params and metrics decoded; ``artifact_path`` is relative to artifacts_dir."""
        self._check_version(version)
        rows = self._query("SELECT * FROM models WHERE version = ?", [version]).to_dict("records")
        if not rows:
            known = self._query("SELECT min(version) AS lo, max(version) AS hi FROM models").iloc[0]
            span = "it holds none" if pd.isna(known["lo"]) else f"it holds {known['lo']}-{known['hi']}"
            raise RegistryError(f"model version {version} is not in registry {self.path} ({span})")
        row = rows[0]
        row["version"] = int(row["version"])
        row["params"] = json.loads(row.pop("params_json"))
        row["metrics"] = json.loads(row.pop("metrics_json"))
        return row

    def models(self) -> pd.DataFrame:
        """All model versions, oldest first, with params and metrics as JSON text."""
        return self._query("SELECT * FROM models ORDER BY version")

    @staticmethod
    def _check_version(version: int) -> None:
        if isinstance(version, bool) or not isinstance(version, int):
            raise RegistryError(f"a model version is an integer, not {version!r}")

    # -- aliases and deployments

    def set_alias(self, alias: str, version: int, *, reason: str, actor: str, action: str = "deploy",
                  at: datetime | None = None) -> None:
        """Point an alias at a version and append the deployment to the history, in one transaction.

        ``rollback`` must name a version the alias pointed to before; ``retire`` removes the alias and must
        name the version it points to now.
        """
        if not isinstance(alias, str) or not ALIAS_PATTERN.fullmatch(alias):
            raise RegistryError(f"alias {alias!r} must be lowercase letters and underscores, e.g. 'champion'")
        if action not in ACTIONS:
            raise RegistryError(f"action {action!r} is not one of {', '.join(ACTIONS)}")
        if not reason or not actor:
            raise RegistryError("a deployment needs a reason and an actor")
        self.model(version)  # unknown versions fail here with a clear message
        at = _naive_utc(at) if at is not None else _now()
        with self._transaction(f"{action} {alias} to model {version}") as cur:
            row = cur.execute("SELECT version FROM aliases WHERE alias = ?", [alias]).fetchone()
            previous = None if row is None else row[0]
            if action == "rollback" and cur.execute(
                    "SELECT 1 FROM deployments WHERE alias = ? AND version = ? AND action <> 'retire'",
                    [alias, version]).fetchone() is None:
                raise RegistryError(f"cannot roll {alias} back to model {version}: it never held that alias")
            if action == "retire":
                if previous != version:
                    raise RegistryError(f"cannot retire model {version} from {alias}: {alias} points to "
                                        f"{previous}")
                cur.execute("DELETE FROM aliases WHERE alias = ?", [alias])
            else:
                cur.execute("INSERT OR REPLACE INTO aliases VALUES (?, ?, ?)", [alias, version, at])
            self._append_deployment(cur, at=at, version=version, action=action, alias=alias,
                                    previous_version=previous, reason=reason, actor=actor)

        self._record_head()

    def _append_deployment(self, cur: duckdb.DuckDBPyConnection, **row: Any) -> None:
        seq = cur.execute("SELECT coalesce(max(seq), 0) + 1 FROM deployments").fetchone()[0]
        values = [seq, row["at"], row["version"], row["action"], row["alias"], row["previous_version"],
                  row["reason"], row["actor"]]
        cur.execute("INSERT INTO deployments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [*values, self._signed(cur, "deployments", "deployment", DEPLOYMENT_FIELDS, values)])

    def alias(self, alias: str) -> int | None:
        """The version an alias points to, or None if it is not set."""
        row = self._cursor().execute("SELECT version FROM aliases WHERE alias = ?", [alias]).fetchone()
        return None if row is None else int(row[0])

    def history(self) -> pd.DataFrame:
        """Every deployment, in the order it happened."""
        return self._query("SELECT * FROM deployments ORDER BY seq")

    # -- scores, alerts and lineage

    def record_scores(self, frame: pd.DataFrame) -> None:
        """Append predictions (tx_id, model_version, score, scored_at); every model_version must exist."""
        self.record_batch(frame, ())

    def record_alert(self, *, at: datetime, monitor: str, detector: str, statistic: float, threshold: float,
                     detail: str = "") -> None:
        self.record_batch(None, [{"at": at, "monitor": monitor, "detector": detector, "statistic": statistic,
                                  "threshold": threshold, "detail": detail}])

    def record_batch(self, scores: pd.DataFrame | None, alerts: Sequence[dict]) -> None:
        """Append scores (as ``record_scores``) and alerts (``record_alert``'s keywords) in one transaction: a
        reader, or a process killed part-way, sees all of them or none."""
        named = self._score_versions(scores) if scores is not None else []
        rows = [[_naive_utc(a["at"]), a["monitor"], a["detector"], float(a["statistic"]), float(a["threshold"]),
                 a.get("detail", ""), self.current_run] for a in alerts]
        what = " and ".join(w for w, given in (("scores", scores is not None), ("alerts", rows)) if given)
        with self._transaction(f"record {what or 'nothing'}") as cur:
            if scores is not None:
                self._insert_scores(cur, scores, named)
            if rows:
                cur.executemany("INSERT INTO alerts VALUES (?, ?, ?, ?, ?, ?, ?)", rows)

    def check_versions(self, named: list[int], cur: duckdb.DuckDBPyConnection | None = None) -> None:
        """Refuse scores that name a model version this registry does not hold."""
        unseen = [v for v in named if v not in self._versions]
        if not unseen:
            return
        found = {v for (v,) in (cur or self._cursor()).execute(
            "SELECT version FROM models WHERE list_contains(?::BIGINT[], version)", [unseen]).fetchall()}
        unknown = [v for v in unseen if v not in found]
        if unknown:
            raise RegistryError(f"scores name model versions not in {self.path}: "
                                f"{', '.join(str(v) for v in unknown)}")
        self._versions |= found

    @staticmethod
    def _score_versions(frame: pd.DataFrame) -> list[int]:
        missing = [c for c in SCORE_COLUMNS if c not in getattr(frame, "columns", ())]
        if missing:
            raise RegistryError(f"scores need columns {', '.join(SCORE_COLUMNS)}; missing {', '.join(missing)}")
        # The versions named are few (a day's scores come from one model): check them in Python rather than by a
        # DISTINCT over every row, which cost a quarter of the write.
        try:
            return sorted({int(v) for v in pd.unique(frame["model_version"])})
        except (TypeError, ValueError):
            raise RegistryError("scores name a model version that is not a whole number") from None

    def _insert_scores(self, cur: duckdb.DuckDBPyConnection, frame: pd.DataFrame, named: list[int]) -> None:
        self.check_versions(named, cur)
        view = f"scores_{uuid.uuid4().hex}"
        cur.register(view, frame[list(SCORE_COLUMNS)])
        try:
            cur.execute(f"INSERT INTO scores SELECT tx_id, model_version, score, scored_at, ? FROM {view}",
                        [self.current_run])
        finally:
            cur.unregister(view)

    def alerts(self) -> pd.DataFrame:
        """The alerts of the latest finished pipeline run (or of the latest run, or all, if none finished)."""
        return self._query(f"SELECT * EXCLUDE (run_id) FROM alerts WHERE {self._shown_run()} ORDER BY \"at\", rowid")

    # -- pipeline runs

    def start_run(self, scenario: str, seed: int) -> int:
        """A pipeline run begins: its scores and alerts are recorded under the id returned until ``finish_run``."""
        with self._transaction("start a pipeline run") as cur:
            run_id = cur.execute("SELECT coalesce(max(run_id), 0) + 1 FROM pipeline_runs").fetchone()[0]
            cur.execute("INSERT INTO pipeline_runs VALUES (?, ?, ?, ?, NULL)", [run_id, scenario, seed, _now()])
        self.current_run = int(run_id)
        return self.current_run

    def finish_run(self, run_id: int) -> None:
        with self._transaction("finish a pipeline run") as cur:
            cur.execute("UPDATE pipeline_runs SET finished_at = ? WHERE run_id = ?", [_now(), run_id])
        self.current_run = None

    def runs(self) -> pd.DataFrame:
        """Every pipeline run recorded here: id, scenario, seed, started_at and finished_at (NaT: never finished)."""
        return self._query("SELECT * FROM pipeline_runs ORDER BY run_id")

    def _shown_run(self) -> str:
        """The rows read by default: those of the latest finished run, else of the latest run, else all."""
        return ("run_id IS NOT DISTINCT FROM (SELECT coalesce((SELECT max(run_id) FROM pipeline_runs WHERE finished_at "
                "IS NOT NULL), (SELECT max(run_id) FROM pipeline_runs)))")

    def lineage(self, tx_id: int) -> dict:
        """For a transaction: its latest score, the model that made it, and that model's data and features."""
        rows = self._query(f"SELECT model_version, score, scored_at FROM scores WHERE tx_id = ? AND "
                           f"{self._shown_run()} ORDER BY scored_at DESC NULLS LAST, rowid DESC LIMIT 1",
                           [tx_id]).to_dict("records")
        if not rows:
            raise RegistryError(f"transaction {tx_id} was never scored in {self.path}")
        scored = rows[0]
        model = self.model(int(scored["model_version"]))
        dataset = self._query("SELECT dataset_id, name, start_ts, end_ts, rows FROM datasets WHERE dataset_id = ?",
                              [model["dataset_id"]]).to_dict("records")[0]
        features = self._query("SELECT version, name, sql, params_json FROM feature_sets WHERE version = ?",
                               [model["feature_version"]]).to_dict("records")[0]
        features["params"] = json.loads(features.pop("params_json"))
        return {"tx_id": tx_id, "score": scored["score"], "scored_at": scored["scored_at"], "model": model,
                "dataset": dataset, "feature_set": features}

    # -- integrity

    def verify(self) -> list[str]:
        """One message per problem; empty when the registry is intact (:func:`mlorg.pipeline.registry_checks.verify`).

        Orphan files (written by a registration that never committed) are not failures; see ``orphans``."""
        return registry_checks.verify(self)

    def meta(self, key: str) -> str | None:
        rows = self._query("SELECT value FROM registry_meta WHERE key = ?", [key])["value"].tolist()
        return rows[0] if rows else None

    def aliases(self) -> dict[str, int]:
        """Every alias and the version it points to."""
        frame = self._query("SELECT alias, version FROM aliases")
        return {str(a): int(v) for a, v in zip(frame["alias"], frame["version"], strict=True)}

    def orphans(self) -> list[Path]:
        """Files in the artifacts folder that no model row names (left by an interrupted registration)."""
        if not self.artifacts_dir.exists():
            return []
        named = set(self.models()["artifact_path"])
        return sorted(p for p in self.artifacts_dir.iterdir() if p.is_file() and p.name not in named)


def _quoted(fields: tuple) -> list[str]:
    return [f'"{f}"' for f in fields]  # "at" is a keyword
