"""The infrastructure bill of one run besides serving, line by line, settled from the run's records afterwards.

- **training**: every trained model (its class's training hours, experiments included) and every retrain (routine
  or urgent), each on its instance type at its on-demand price;
- **features**: each live model's feature pipelines — batch computation every day, and for a real-time model a
  streaming pipeline kept busy all the time — priced per vCPU-hour of the feature instance;
- **storage**: features kept by each live model's pipelines, an artifact for every trained version (kept to the
  end of the run), and every logged prediction for the retention period (the end of the run does not cut that
  short: it is storage those predictions are owed), at the object-storage price;
- **monitoring**: every check of every enabled monitor on every monitored live model.

A built ``feature_pipelines`` capability (a shared feature store) cuts a model's feature computation and storage by
``feature_store_reuse_share`` from the hour it is built: other models already compute and keep those features.
Settling afterwards touches neither the simulation nor its random streams, so the rest of a run is the same with the
bill on or off.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mlorg.serving.instances import load_instances, load_prices
from mlorg.sim.entities import HOURS_PER_DAY, HOURS_PER_MONTH, SimOutput

LINES = ("training", "features", "storage", "monitoring")


@dataclass(frozen=True)
class InfraBill:
    training_usd: float = 0.0
    features_usd: float = 0.0
    storage_usd: float = 0.0
    monitoring_usd: float = 0.0

    @property
    def total_usd(self) -> float:
        return self.training_usd + self.features_usd + self.storage_usd + self.monitoring_usd

    def by_line(self) -> dict[str, float]:
        return {line: getattr(self, f"{line}_usd") for line in LINES}


def infra_bill(out: SimOutput) -> InfraBill:
    """The run's bill besides serving (see the module's docstring)."""
    s = out.scenario
    infra = s.infra
    instances = {i.name: i for i in load_instances()}
    storage_gb_month = load_prices()["object_storage"].usd
    feature_instance = instances[infra.feature_instance]
    vcpu_hour = feature_instance.usd_per_hour / feature_instance.vcpu
    classes = s.model_classes()
    shared_from = out.capabilities_built.get("feature_pipelines", math.inf)
    reuse = infra.feature_store_reuse_share

    retrains = [0] * len(out.models)
    for _time, event, model_id, _worker, _detail in out.events:
        if event in ("retrained", "urgent_retrain"):
            retrains[model_id] += 1

    training = features = storage_gb_months = 0.0
    for model in out.models:
        model_class = classes[model.traits.index]
        instance = instances[model_class.training_instance or infra.training_instance]
        hours = model_class.training_hours or infra.training_hours
        training += (hours + retrains[model.id] * infra.retraining_hours) * instance.usd_per_hour
        versions = 1 + retrains[model.id]
        storage_gb_months += versions * infra.artifact_mb / 1000.0 * (out.horizon - model.trained_at) / HOURS_PER_MONTH
        if math.isnan(model.live_at):
            continue
        until = out.horizon if math.isnan(model.retired_at) else model.retired_at
        # Live hours, with those after the feature store was built counting (1 − reuse).
        own_hours = _hours_before(model.live_at, until, shared_from) + (1.0 - reuse) * _hours_after(
            model.live_at, until, shared_from)
        pipelines = infra.feature_pipelines_per_model
        vcpus = infra.batch_vcpu_hours_per_pipeline_day / HOURS_PER_DAY
        if model.serving_mode == "realtime" or (not model.serving_mode and model_class.serving_mode == "realtime"):
            vcpus += infra.streaming_vcpus_per_pipeline
        features += pipelines * vcpus * own_hours * vcpu_hour
        storage_gb_months += pipelines * infra.feature_gb_per_pipeline * own_hours / HOURS_PER_MONTH
        predictions = (model.predictions if s.serving.enabled
                       else model.traits.predictions_per_day * (until - model.live_at) / HOURS_PER_DAY)
        kept_months = infra.prediction_log_days * HOURS_PER_DAY / HOURS_PER_MONTH
        storage_gb_months += predictions * infra.prediction_log_bytes / 1e9 * kept_months

    checks_per_hour = sum(1.0 / m.cadence_hours for m in (s.monitoring.features, s.monitoring.predictions,
                                                          s.monitoring.performance) if m.enabled)
    monitoring = (out.monitored_model_months * HOURS_PER_MONTH * checks_per_hour
                  * infra.monitoring_vcpu_seconds_per_check / 3600.0 * vcpu_hour)
    return InfraBill(training, features, storage_gb_months * storage_gb_month, monitoring)


def _hours_before(start: float, end: float, moment: float) -> float:
    return max(0.0, min(end, moment) - start)


def _hours_after(start: float, end: float, moment: float) -> float:
    return max(0.0, end - max(start, moment))
