"""The reference pipeline end to end: generate, train, register, deploy, serve day by day, monitor, respond.

The model trains on the first ``train_days`` of transactions (with the labels known by the day it deploys), is
measured on the following ``holdout_days`` (offline AUC), and goes live with an alert threshold that flags
``alert_share`` of the holdout. The live days are then replayed three times from that model
(:mod:`mlorg.pipeline.live`), each day scored on the features the online path computes (skew included),
investigators reviewing the alerts (:mod:`mlorg.pipeline.labels`) and a routine retrain every
``retrain_every_days``:

* **monitored** — the scenario's monitors (:mod:`mlorg.pipeline.monitors`), the incident process and its remedies
  (:mod:`mlorg.pipeline.incidents`, when the scenario has built the incident process and the model registry) and
  the registry; a sample of each day is also scored one by one by the real-time
  scorer to measure its latency and its parity with the offline features (:mod:`mlorg.pipeline.realtime`);
* **without monitoring** — the same routine retrains and reviews, nobody watching (a bad version hurts it too);
* **ceiling** — the monitored run's actions on the same days, every model trained on every true label: what was
  possible, to read the saving against.

Fraud the model does not flag is lost (its amount).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

from mlorg import __version__
from mlorg.monitoring import detectors
from mlorg.pipeline.data import Cause, DataSpec, generate
from mlorg.pipeline.features import FEATURES, FeatureSet, offline_features
from mlorg.pipeline.incidents import IncidentProcess, Script, _jsonable, _params
from mlorg.pipeline.live import DAY, DAY_ZERO, Arm, Data
from mlorg.pipeline.monitors import MONITORS, Alert, DailyMonitors, alert_dispersion, clustered_share
from mlorg.pipeline.realtime import RealTimeSample
from mlorg.pipeline.registry import Registry
from mlorg.pipeline.registry_errors import RegistryError
from mlorg.pipeline.score_buffer import DEFAULT_DAYS
from mlorg.pipeline.training import Model, fit
from mlorg.scenario import Scenario, pipeline_minimum_days

REFERENCE_ROWS = 20_000  # holdout rows kept as the feature-drift reference
DATA_CAUSES = ("fraud_pattern_shift", "covariate_shift", "upstream_break", "skew", "label_delay")


@dataclass
class PipelineResult:
    """What one run of the reference pipeline measured."""

    scenario: str
    seed: int
    db_path: Path
    offline_auc: float
    transactions: int
    fraud_rate: float
    weekly: pd.DataFrame  # see WEEKLY
    alerts: pd.DataFrame  # day, monitor, detector, statistic, threshold, detail
    actions: pd.DataFrame  # day, action, version, reason
    detection_lag_days: dict[str, dict[str, float | None]]  # cause -> monitor -> days from its start to the alert
    rollbacks: int
    retrains: int
    promotions: int
    fraud_losses_usd: float
    fraud_losses_usd_without_monitoring: float
    fraud_losses_usd_ceiling: float  # the same actions with every model trained on every true label
    shift_day: float | None  # the fraud-pattern shift's start (the first cause's if there is none)
    losses_since_shift_usd: dict[str, float]  # arm (monitored, without_monitoring, ceiling) -> losses from shift_day
    time_to_model_days: float | None  # from shift_day to the first model promoted after it
    reviewed_alerts: int
    scorer_p50_ms: float
    scorer_p99_ms: float
    scorer_slo_attainment: float
    parity_mismatch: dict[str, float] = field(default_factory=dict)  # feature -> share of sampled rows that differ

    def to_json(self) -> dict:
        def clean(x):
            if isinstance(x, float | np.floating):
                return float(x) if math.isfinite(x) else None
            return x

        weekly = [{k: clean(v) for k, v in row.items()} for row in self.weekly.to_dict(orient="records")]
        alerts = [{k: clean(v) for k, v in row.items()} for row in self.alerts.to_dict(orient="records")]
        return {
            "scenario": self.scenario, "seed": self.seed, "db": str(self.db_path),
            "offline_auc": clean(self.offline_auc), "transactions": self.transactions,
            "fraud_rate": clean(self.fraud_rate), "weekly": weekly, "alerts": alerts,
            "detection_lag_days": {c: {m: clean(v) for m, v in lags.items()}
                                   for c, lags in self.detection_lag_days.items()},
            "rollbacks": self.rollbacks, "retrains": self.retrains, "promotions": self.promotions,
            "fraud_losses_usd": clean(self.fraud_losses_usd),
            "fraud_losses_usd_without_monitoring": clean(self.fraud_losses_usd_without_monitoring),
            "fraud_losses_usd_ceiling": clean(self.fraud_losses_usd_ceiling),
            "saving_usd": clean(self.saving_usd), "ceiling_saving_usd": clean(self.ceiling_saving_usd),
            "shift_day": clean(self.shift_day),
            "losses_since_shift_usd": {k: clean(v) for k, v in self.losses_since_shift_usd.items()},
            "time_to_model_days": clean(self.time_to_model_days), "reviewed_alerts": self.reviewed_alerts,
            "actions": [{k: clean(v) for k, v in row.items()} for row in self.actions.to_dict(orient="records")],
            "scorer_p50_ms": clean(self.scorer_p50_ms), "scorer_p99_ms": clean(self.scorer_p99_ms),
            "scorer_slo_attainment": clean(self.scorer_slo_attainment),
            "parity_mismatch": {k: clean(v) for k, v in self.parity_mismatch.items()},
        }

    @property
    def saving_usd(self) -> float:
        """Fraud losses monitoring saved: the replay without monitoring less the monitored run."""
        return self.fraud_losses_usd_without_monitoring - self.fraud_losses_usd

    @property
    def ceiling_saving_usd(self) -> float:
        """What the same actions could have saved had every model known every true label."""
        return self.fraud_losses_usd_without_monitoring - self.fraud_losses_usd_ceiling




def data_spec(scenario: Scenario, days: int | None = None) -> DataSpec:
    """What to generate: ``history_days`` before day 0 (card histories for the features, never trained on) and
    then the scenario's days; cause days count from day 0."""
    p = scenario.pipeline
    days = days or p.days
    fewest, why = pipeline_minimum_days(scenario)
    if days < fewest:
        raise ValueError(f"days: {days} is not allowed; must be >= {fewest} for {scenario.name}: {why}")
    history = p.history_days
    causes = tuple(Cause(kind=c.kind, start_day=c.start_day + history, size=c.size, feature=c.feature)
                   for c in p.causes if c.kind in DATA_CAUSES)  # a bad version breaks a retrain, not the data
    return DataSpec(days=days + history, transactions_per_day=p.transactions_per_day, cards=p.cards,
                    merchants=p.merchants, fraud_rate=p.fraud_rate,
                    fraud_label_delay_days=scenario.impact.label_delay_days * 0.7,
                    legit_label_delay_days=scenario.impact.label_delay_days, causes=causes,
                    start=str((DAY_ZERO - history * DAY).date()))


def transactions(scenario: Scenario, seed: int, days: int | None = None) -> pd.DataFrame:
    """The generated transactions, with ``day`` counted from day 0 (history days are negative)."""
    tx = generate(data_spec(scenario, days), seed)
    tx["day"] = tx["day"] - scenario.pipeline.history_days
    return tx


def run_pipeline(scenario: Scenario, db_path: str | Path, *, seed: int = 0, days: int | None = None,
                 progress: Callable[[int, int], None] | None = None,
                 batch_days: int = DEFAULT_DAYS) -> PipelineResult:
    """Run the reference pipeline of ``scenario`` into the registry at ``db_path``, writing the monitored run's
    scores and alerts ``batch_days`` whole days at a time (:mod:`mlorg.pipeline.score_buffer`: what a kill loses)."""
    # One thread for scikit-learn's OpenMP: on two cores shared with anything else, more threads made a fit
    # crawl (minutes instead of seconds), and the day-sized matrices gain nothing from more.
    with threadpool_limits(1):
        return _run(scenario, db_path, seed, days, progress, batch_days)


@dataclass
class Prepared:
    """A run's data and its first model, before anything is served."""

    tx: pd.DataFrame
    offline: pd.DataFrame  # the features as defined offline
    served: pd.DataFrame  # what the online path computes, skew included
    train: np.ndarray  # row masks
    holdout: np.ndarray
    estimator: HistGradientBoostingClassifier
    holdout_scores: np.ndarray
    threshold: float  # flags alert_share of the holdout
    offline_auc: float
    holdout_recall: float
    holdout_precision: float  # share of fraud among the holdout's alerts
    deploy_day: int
    holdout_recall_se: float = math.nan  # standard errors, frauds grouped by card (a campaign hits one card)
    holdout_precision_se: float = math.nan

    @property
    def recall_estimate(self) -> tuple[float, float]:
        return self.holdout_recall, self.holdout_recall_se

    @property
    def precision_estimate(self) -> tuple[float, float]:
        return self.holdout_precision, self.holdout_precision_se

    @property
    def dispersion(self) -> float:
        """How much burstier the holdout's daily alert rate is than independent alerts (monitors.alert_dispersion)."""
        return alert_dispersion(self.tx["day"].to_numpy()[self.holdout], self.holdout_scores >= self.threshold)


def prepare(scenario: Scenario, seed: int, days: int) -> Prepared:
    """Generate the transactions, compute the features and train the first model on ``train_days``.

    It is trained with the labels known when it deploys: a fraud whose chargeback has come is fraud, the rest is
    presumed legitimate. (Keeping only labelled rows would keep the recent frauds and drop the recent legitimate
    transactions, whose labels take longer, and teach the model that recent means fraud.)"""
    p = scenario.pipeline
    tx = transactions(scenario, seed, days)  # refuses fewer days than the scenario needs
    offline = offline_features(tx, FeatureSet())
    served = _served_features(offline, tx, scenario)
    y = tx["is_fraud"].to_numpy()
    day = tx["day"].to_numpy()
    deploy_day = p.train_days + p.holdout_days
    train = (day >= 0) & (day < p.train_days)
    known = y & (tx["label_time"] <= DAY_ZERO + deploy_day * DAY).to_numpy()
    holdout = (day >= p.train_days) & (day < deploy_day)
    estimator = fit(offline.loc[train, list(FEATURES)].to_numpy(float), known[train], seed)
    holdout_scores = estimator.predict_proba(offline.loc[holdout, list(FEATURES)].to_numpy(float))[:, 1]
    threshold = float(np.quantile(holdout_scores, 1.0 - p.alert_share))
    alerts = holdout_scores >= threshold
    cards, frauds = tx["card_id"].to_numpy()[holdout], y[holdout]
    recall = clustered_share(alerts[frauds], cards[frauds]) if frauds.any() else (math.nan, math.nan)
    precision = clustered_share(frauds[alerts], cards[alerts]) if alerts.any() else (math.nan, math.nan)
    return Prepared(tx, offline, served, train, holdout, estimator, holdout_scores, threshold,
                    offline_auc=detectors.roc_auc(y[holdout], holdout_scores), holdout_recall=recall[0],
                    holdout_precision=precision[0], deploy_day=deploy_day, holdout_recall_se=recall[1],
                    holdout_precision_se=precision[1])


def _run(scenario: Scenario, db_path: str | Path, seed: int, days: int | None,
         progress: Callable[[int, int], None] | None, batch_days: int) -> PipelineResult:
    days = days or scenario.pipeline.days
    prepared = prepare(scenario, seed, days)
    tx, deploy_day = prepared.tx, prepared.deploy_day
    data = Data(scenario, seed, tx, prepared.served[list(FEATURES)].to_numpy(float),
                prepared.offline[list(FEATURES)].to_numpy(float), deploy_day)
    live_days = days - deploy_day
    done = 0

    def step():
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, 3 * live_days)

    def first() -> Model:
        return Model(1, prepared.estimator, prepared.threshold, deploy_day, prepared.holdout_scores)

    registry = Registry(db_path)
    try:
        run_id = registry.start_run(scenario.name, seed)  # a run killed before finish_run stays marked unfinished
        feature_set = FeatureSet()
        dataset_id = registry.register_dataset("training", tx.loc[prepared.train])
        feature_version = registry.register_feature_set(feature_set.name, feature_set.sql, _params(feature_set))
        version = registry.register_model(
            prepared.estimator, name="card_fraud", params=_jsonable(prepared.estimator.get_params()),
            metrics={"offline_auc": prepared.offline_auc, "holdout_recall": prepared.holdout_recall,
                     "threshold": prepared.threshold},
            dataset_id=dataset_id, feature_version=feature_version, code_version=__version__)
        registry.set_alias("champion", version, reason=f"first model: offline AUC {prepared.offline_auc:.3f} on the "
                           "holdout", actor="pipeline", action="deploy",
                           at=(DAY_ZERO + deploy_day * DAY).to_pydatetime())
        rng = np.random.default_rng(seed)
        monitors = DailyMonitors(scenario, drift_reference(prepared.offline, prepared.holdout, rng),
                                 int(prepared.holdout.sum()), prepared.recall_estimate, prepared.precision_estimate,
                                 prepared.dispersion)
        realtime = RealTimeSample(tx, data.offline, scenario.pipeline.scorer_sample_per_day,
                                  scenario.pipeline.score_slo_ms, rng, _skew(scenario))
        built = scenario.platform.capabilities
        acting = built.incident_process.built and built.model_registry.built  # a rollback needs the registry
        process = IncidentProcess(data, prepared.served, registry, monitors, prepared.holdout, realtime,
                                  acting=acting, batch_days=batch_days)
        model = first()
        model.version = version
        monitored = Arm(data, model, data.book(), operator=process, probation=acting)
        process.attach(monitored)
        arms = [monitored, Arm(data, first(), data.book())]
        try:
            for d in range(deploy_day, days):
                monitored.day(d)
                step()
        except BaseException:
            with contextlib.suppress(RegistryError):  # the failure to report is the first one
                process.buffer.flush()  # a failed day loses itself only, not the whole days buffered before it
            raise
        process.buffer.flush()  # the monitored run's last days, before the replays that write nothing
        for d in range(deploy_day, days):
            arms[1].day(d)
            step()
        # The ceiling replays the monitored run's changes, so it starts once they are all known.
        arms.append(Arm(data, first(), data.book(oracle=True), routine=False, operator=Script(monitored.changes)))
        for d in range(deploy_day, days):
            arms[-1].day(d)
            step()
        monitored, without, ceiling = arms
        registry.finish_run(run_id)
        return _result(scenario, seed, db_path, prepared, monitored, without, ceiling, process)
    finally:
        registry.close()


def _result(scenario: Scenario, seed: int, db_path, prepared: Prepared, monitored: Arm, without: Arm, ceiling: Arm,
            process: IncidentProcess) -> PipelineResult:
    y = prepared.tx["is_fraud"].to_numpy()
    shifts = [c.start_day for c in scenario.pipeline.causes if c.kind == "fraud_pattern_shift"]
    shift = shifts[0] if shifts else (scenario.pipeline.causes[0].start_day if scenario.pipeline.causes else None)
    actions = pd.DataFrame([(c.day, c.action, c.version, c.reason) for c in monitored.changes],
                           columns=["day", "action", "version", "reason"])
    promoted = actions[(actions["action"] == "promote") & (actions["day"] + 1 > (shift or 0))]
    weekly = monitored.weekly(prepared.deploy_day)
    for name, arm in (("without_monitoring", without), ("ceiling", ceiling)):
        other = arm.weekly(prepared.deploy_day)
        weekly[f"losses_{name}_usd"] = other["losses_usd"].to_numpy()
        weekly[f"recall_{name}"] = other["recall"].to_numpy()
    reviewed = np.isfinite(monitored.labels.reviewed_at)
    weekly["reviewed"] = [int(reviewed[monitored.data.rows(w, w + 6)].sum()) for w in weekly["start_day"]]
    since = {} if shift is None else {name: arm.losses_between(shift) for name, arm in
                                     (("monitored", monitored), ("without_monitoring", without),
                                      ("ceiling", ceiling))}
    realtime = process.realtime
    return PipelineResult(
        scenario=scenario.name, seed=seed, db_path=Path(db_path), offline_auc=prepared.offline_auc,
        transactions=len(prepared.tx), fraud_rate=float(y.mean()), weekly=weekly, alerts=alert_frame(process.alerts),
        actions=actions, detection_lag_days=detection_lags(scenario, process.alerts),
        rollbacks=int((actions["action"] == "rollback").sum()),
        retrains=int((actions["action"].isin(["deploy", "shadow"])).sum()),
        promotions=int((actions["action"] == "promote").sum()), fraud_losses_usd=monitored.losses,
        fraud_losses_usd_without_monitoring=without.losses, fraud_losses_usd_ceiling=ceiling.losses,
        shift_day=shift, losses_since_shift_usd=since,
        time_to_model_days=float(promoted["day"].min() + 1 - shift) if shift is not None and len(promoted) else None,
        reviewed_alerts=int(reviewed.sum()),
        scorer_p50_ms=realtime.percentile(50), scorer_p99_ms=realtime.percentile(99),
        scorer_slo_attainment=realtime.slo_attainment(), parity_mismatch=realtime.parity_mismatch())


def detection_lags(scenario: Scenario, alerts: list[Alert]) -> dict[str, dict[str, float | None]]:
    """Per cause and monitor: days from the cause's start to the monitor's first alert after it."""
    frame = alert_frame(alerts)
    out = {}
    for cause in scenario.pipeline.causes:
        lags = {}
        for monitor in MONITORS:
            after = frame[(frame["monitor"] == monitor) & (frame["day"] + 1 > cause.start_day)]
            lags[monitor] = float(after["day"].min() + 1 - cause.start_day) if len(after) else None
        out[cause.kind] = lags
    return out


def _skew(scenario: Scenario):
    for cause in scenario.pipeline.causes:
        if cause.kind == "skew":
            return cause.feature, cause.size, DAY_ZERO + cause.start_day * DAY
    return None


def drift_reference(offline: pd.DataFrame, holdout: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The feature-drift reference: the holdout (the most recent traffic before the model went live), sampled down
    to REFERENCE_ROWS rows."""
    rows = np.flatnonzero(holdout)
    if rows.size > REFERENCE_ROWS:
        rows = np.sort(rng.choice(rows, REFERENCE_ROWS, replace=False))
    return offline.iloc[rows][list(FEATURES)].to_numpy(dtype=float)


def alert_frame(alerts: list[Alert]) -> pd.DataFrame:
    columns = ["day", "monitor", "detector", "statistic", "threshold", "detail"]
    return pd.DataFrame([[getattr(a, c) for c in columns] for a in alerts], columns=columns)


def _served_features(offline: pd.DataFrame, tx: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """The features the online path computes: the offline ones, with the injected skew from its start."""
    served = offline.copy()
    for cause in scenario.pipeline.causes:
        if cause.kind == "skew":
            after = tx["day"].to_numpy() >= cause.start_day
            served.loc[after, cause.feature] = served.loc[after, cause.feature] * (1.0 + cause.size)
    return served
