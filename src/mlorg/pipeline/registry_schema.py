"""The registry's tables, as DuckDB creates them, and the version of their layout (``mlorg.pipeline.registry``
creates and upgrades them)."""

SCHEMA_VERSION = "3"  # 2: rows signed (a registry of version 1 is signed as it stands); 3: pipeline runs
KIND = "an mlorg model registry"
TABLES = {"registry_meta", "datasets", "feature_sets", "models", "aliases", "deployments", "scores", "alerts",
          "pipeline_runs"}

SCHEMA = """
CREATE TABLE datasets (
    dataset_id TEXT PRIMARY KEY, name TEXT NOT NULL, start_ts TIMESTAMP, end_ts TIMESTAMP,
    rows BIGINT NOT NULL, created_at TIMESTAMP NOT NULL
);
CREATE TABLE feature_sets (
    version TEXT PRIMARY KEY, name TEXT NOT NULL, sql TEXT NOT NULL, params_json TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE TABLE models (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, params_json TEXT NOT NULL, metrics_json TEXT NOT NULL,
    artifact_path TEXT NOT NULL, artifact_sha256 TEXT NOT NULL, dataset_id TEXT NOT NULL,
    feature_version TEXT NOT NULL, code_version TEXT NOT NULL, created_at TIMESTAMP NOT NULL, mac TEXT
);
CREATE TABLE aliases (alias TEXT PRIMARY KEY, version INTEGER NOT NULL, updated_at TIMESTAMP NOT NULL);
CREATE TABLE deployments (
    seq INTEGER PRIMARY KEY, "at" TIMESTAMP NOT NULL, version INTEGER NOT NULL, action TEXT NOT NULL,
    alias TEXT NOT NULL, previous_version INTEGER, reason TEXT NOT NULL, actor TEXT NOT NULL, mac TEXT
);
CREATE TABLE scores (tx_id BIGINT NOT NULL, model_version INTEGER NOT NULL, score DOUBLE, scored_at TIMESTAMP);
CREATE TABLE alerts (
    "at" TIMESTAMP NOT NULL, monitor TEXT NOT NULL, detector TEXT NOT NULL, statistic DOUBLE, threshold DOUBLE,
    detail TEXT NOT NULL
);
"""
# Version 3: a pipeline run is a unit. Its scores and alerts carry its id; a run that never finished (killed) is
# kept apart and reported, and a rerun starts a new id instead of adding to the old one's rows.
RUNS = """
CREATE TABLE pipeline_runs (
    run_id INTEGER PRIMARY KEY, scenario TEXT NOT NULL, seed BIGINT NOT NULL, started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP
);
ALTER TABLE scores ADD COLUMN run_id INTEGER;
ALTER TABLE alerts ADD COLUMN run_id INTEGER;
"""
