"""Registry: the reference pipeline's model versions, aliases, deployment history and the lineage of the live model,
read from its registry file (`mlorg pipeline run` writes one; so does the button here when there is none)."""

from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path

import pandas as pd
import streamlit as st

from mlorg import charts, inputs
from mlorg.pipeline.registry import Registry, RegistryError
from mlorg.scenario import Scenario, ScenarioError, field_rule, load, pipeline_minimum_days
from views.shared import forms

ROOT = Path(__file__).resolve().parents[2]
# MLORG_REGISTRY_DB names another registry file (tests use it); `mlorg pipeline run` writes this one by default.
REGISTRY_PATH = Path(os.environ.get("MLORG_REGISTRY_DB", ROOT / "data" / "pipeline.duckdb"))
PIPELINE_SCENARIO = ROOT / "scenarios" / "fraud_drift.toml"
LIVE_ALIAS = "champion"  # the alias the reference pipeline serves from
PIPELINE_MAX_DAYS = int(field_rule("pipeline.days").hi)
BUILT = "registry.built"  # the message of a build this session just finished, shown after the rerun


@st.cache_resource
def build_lock(path: str) -> threading.Lock:
    """One lock per registry file for the whole server, so two sessions never build into the same file."""
    return threading.Lock()


def read_registry(path: Path) -> dict:
    """Everything the page shows, read in one short visit: the file is closed again at once, so that
    `mlorg pipeline run` or `mlorg registry` in another process can open it."""
    with Registry(path) as registry:
        history = registry.history()
        aliases = {alias: registry.alias(alias) for alias in dict.fromkeys(history["alias"])}
        live = aliases.get(LIVE_ALIAS)
        return {"models": registry.models(), "history": history, "aliases": aliases,
                "live": registry.model(live) if live is not None else None, "alerts": registry.alerts(),
                "problems": registry.verify(), "orphans": registry.orphans()}


def build_section(path: Path) -> None:
    st.info(f"There is no registry at `{path}` yet. Make one from the command line with\n\n"
            f"`uv run mlorg pipeline run --db {path}`\n\n"
            "(it runs the reference fraud pipeline of scenarios/fraud_drift.toml: about a minute), or here:")
    try:
        scenario = load(PIPELINE_SCENARIO)
    except ScenarioError as exc:
        st.error("\n".join(exc.messages))
        return
    fewest, why = pipeline_minimum_days(scenario)
    with st.form("build"):
        left, right = st.columns(2)
        days = left.number_input("Days of transactions", value=scenario.pipeline.days, step=10, key="registry.days",
                                 help=f"days generated after the cards' history; at least {fewest} ({why}), at most "
                                      f"{PIPELINE_MAX_DAYS}")
        seed = forms.number("pipeline_seed", key="registry.seed", value=0, container=right)
        pressed = st.form_submit_button("Run the reference pipeline into it", type="primary")
    if pressed:
        problems = inputs.problems({"pipeline_seed": seed})
        if days is None or not fewest <= days <= PIPELINE_MAX_DAYS:
            problems.insert(0, f"Days of transactions: {'empty' if days is None else days} is not allowed; must be "
                               f">= {fewest} and <= {PIPELINE_MAX_DAYS} for {scenario.name}: {why}")
        if not forms.refuse(problems):
            build(scenario, path, int(days), int(seed))


def build(scenario: Scenario, path: Path, days: int, seed: int) -> None:
    from mlorg.pipeline.run import run_pipeline  # scikit-learn loads only when a pipeline runs

    lock = build_lock(str(path.resolve()))
    if not lock.acquire(blocking=False):
        st.warning(f"Another session is already building {path}; reload this page in a minute.")
        return
    bar = st.progress(0.0, text="Generating transactions and training the first model…")
    try:
        result = run_pipeline(scenario, path, seed=seed, days=days,
                              progress=lambda done, total: bar.progress(done / total,
                                                                        text=f"Serving day {done} of {total}"))
    except ValueError as exc:
        st.error(str(exc))
        return
    except RegistryError as exc:
        st.error(str(exc))
        return
    finally:
        bar.empty()
        lock.release()
    st.session_state[BUILT] = (f"Ran {scenario.name} for {days} days (seed {seed}) into {path}: "
                               f"{result.transactions:,} transactions, offline AUC {result.offline_auc:.3f}, "
                               f"{len(result.alerts)} alerts.")
    st.rerun()  # start again from the top, which now finds the registry and shows it


def short(digest: str) -> str:
    return digest[:12]


def show_verification(problems: list[str], models: int, orphans: list[Path]) -> None:
    if problems:
        st.error(f"The registry ({models} models) fails {len(problems)} check(s); it refuses to load a model "
                 "whose record or artifact fails:\n" + "\n".join(f"- {p}" for p in problems))
    else:
        st.success(f"All {models} model records and the deployment history carry this registry's signature, and "
                   "every artifact matches the sha256 recorded when it was registered.")
    if orphans:
        st.caption(f"{len(orphans)} file(s) in the artifacts folder belong to no model (left by an interrupted "
                   "registration; harmless): " + ", ".join(p.name for p in orphans))


def show_live_lineage(live: dict | None, problems: list[str], history: pd.DataFrame) -> None:
    st.subheader("The live model and its lineage")
    if live is None:
        st.info(f"No model holds the {LIVE_ALIAS} alias: nothing is live.")
        return
    version = live["version"]
    intact = not any(re.search(rf"\bmodel {version}\b", p) for p in problems)
    metrics = live["metrics"]
    columns = st.columns(3)
    columns[0].metric(f"Live model ({LIVE_ALIAS})", f"v{version}", help=live["name"])
    columns[1].metric("Offline AUC", f"{metrics['offline_auc']:.3f}" if "offline_auc" in metrics else "—")
    since = history.loc[history["alias"] == LIVE_ALIAS, "at"].iloc[-1]
    columns[2].metric("Live since", f"{pd.Timestamp(since):%Y-%m-%d}", help="the pipeline's (simulated) date of "
                      f"the last change of {LIVE_ALIAS}")
    measured = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in metrics.items())
    lineage = pd.DataFrame([
        ("training data", short(live["dataset_id"]), "dataset id: sha256 of the rows it was trained on"),
        ("features", short(live["feature_version"]), "feature set version: sha256 of its SQL and parameters"),
        ("code", live["code_version"], "mlorg version that trained it"),
        ("model", f"v{version} {live['name']}",
         f"registered {pd.Timestamp(live['created_at']):%Y-%m-%d %H:%M}; {measured}"),
        ("artifact", live["artifact_path"],
         f"{'verified' if intact else 'FAILS its hash check'}: sha256 {short(live['artifact_sha256'])}…"),
    ], columns=["step", "id", "what it is"])
    st.dataframe(lineage, hide_index=True, width="stretch")


def show_versions(models: pd.DataFrame, aliases: dict[str, int | None]) -> None:
    st.subheader("Model versions")
    holders: dict[int, list[str]] = {}
    for alias, version in aliases.items():
        if version is not None:
            holders.setdefault(version, []).append(alias)
    table = pd.DataFrame({
        "version": models["version"].astype(int),
        "name": models["name"],
        "aliases": [", ".join(holders.get(int(v), [])) for v in models["version"]],
        "offline AUC": [json.loads(m).get("offline_auc") for m in models["metrics_json"]],
        "registered": models["created_at"],
        "training data": models["dataset_id"].map(short),
        "features": models["feature_version"].map(short),
        "code": models["code_version"],
    })
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={"offline AUC": st.column_config.NumberColumn(format="%.3f")})
    set_aliases = {a: v for a, v in aliases.items() if v is not None}
    retired = [a for a, v in aliases.items() if v is None]
    st.caption("Aliases: " + (", ".join(f"{a} → v{v}" for a, v in set_aliases.items()) or "none set")
               + (f"; retired: {', '.join(retired)}" if retired else ""))


def show_history(history: pd.DataFrame, alerts: pd.DataFrame) -> None:
    st.subheader("Deployment history")
    if history.empty:
        st.info("Nothing has been deployed yet.")
        return
    st.altair_chart(charts.deployment_timeline(history), width="stretch")
    st.dataframe(history, hide_index=True, width="stretch",
                 column_config={"previous_version": st.column_config.NumberColumn("previous", format="%d")})
    with st.expander(f"Monitor alerts ({len(alerts)})"):
        if alerts.empty:
            st.caption("No monitor has raised an alert.")
        else:
            st.dataframe(alerts, hide_index=True, width="stretch")


def trace_transaction(path: Path) -> None:
    st.subheader("Trace a prediction")
    tx_id = forms.number("tx_id", key="registry.tx_id", placeholder="a scored transaction's id",
                         help_text="which model scored it, and which data and features trained that model")
    if tx_id is None or forms.refuse(inputs.problems({"tx_id": tx_id})):
        return
    try:
        with Registry(path) as registry:
            found = registry.lineage(int(tx_id))
    except RegistryError as exc:
        st.error(f"Transaction id: {exc}")
        return
    model, dataset, features = found["model"], found["dataset"], found["feature_set"]
    st.markdown(f"Transaction **{tx_id}** scored **{found['score']:.4f}** at {found['scored_at']} by model "
                f"**v{model['version']}** ({model['name']}), trained on dataset `{short(dataset['dataset_id'])}` "
                f"({dataset['name']}: {dataset['rows']:,} rows from {dataset['start_ts']} to {dataset['end_ts']}) "
                f"with feature set `{short(features['version'])}` ({features['name']}).")
    with st.expander("The feature set's SQL"):
        st.code(features["sql"], language="sql")


st.title("Registry")
st.caption(f"The reference pipeline's model registry: `{REGISTRY_PATH}` (set MLORG_REGISTRY_DB to read another). "
           "Every model version records the data and features that trained it; every change of alias is a "
           "deployment with its reason.")
if not REGISTRY_PATH.exists():
    build_section(REGISTRY_PATH)
if REGISTRY_PATH.exists():
    if BUILT in st.session_state:
        st.success(st.session_state.pop(BUILT))
    try:
        registry = read_registry(REGISTRY_PATH)
    except RegistryError as exc:
        st.error(f"Registry file: {exc}")
    else:
        show_verification(registry["problems"], len(registry["models"]), registry["orphans"])
        show_live_lineage(registry["live"], registry["problems"], registry["history"])
        show_versions(registry["models"], registry["aliases"])
        show_history(registry["history"], registry["alerts"])
        trace_transaction(REGISTRY_PATH)
