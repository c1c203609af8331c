"""The infrastructure bill besides serving: training, feature computation, storage and monitoring compute.

Prices come from the price lists in ``data/`` (instance types in ``instances.csv``, storage in ``prices.csv``, each
row with its source and date); the quantities below (hours a training takes, pipelines a model needs, bytes a
logged prediction takes) are assumptions unless a scenario sets them from its own figures, and the planner lists
them as such.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlorg.scenario.fields import spec


@dataclass(frozen=True, kw_only=True)
class Infra:
    enabled: bool = spec(False, doc="add training, feature, storage and monitoring compute to the bill")
    training_instance: str = spec("m6i.xlarge", doc="instance type a model trains on (a row of data/instances.csv); "
                                  "a class may name its own")
    training_hours: float = spec(4.0, unit="hours", lo=0.0, hi=10_000.0,
                                 doc="instance-hours to train one new model, its experiments included; a class may "
                                 "set its own")
    retraining_hours: float = spec(1.0, unit="hours", lo=0.0, hi=10_000.0,
                                   doc="instance-hours to retrain a live model's next version")
    feature_pipelines_per_model: float = spec(3.0, lo=0.0, hi=1000.0,
                                              doc="feature pipelines a live model reads from")
    batch_vcpu_hours_per_pipeline_day: float = spec(
        8.0, unit="vCPU-hours", lo=0.0, hi=1e6, doc="vCPU-hours a batch feature pipeline computes each day")
    streaming_vcpus_per_pipeline: float = spec(
        1.0, unit="vCPUs", lo=0.0, hi=1e4, doc="vCPUs a real-time model's feature pipeline keeps busy all the time "
        "(streaming aggregates: counts and amounts over the last minutes)")
    feature_instance: str = spec("c6i.xlarge", doc="instance type feature pipelines and monitors run on; a vCPU-hour "
                                 "costs its price ÷ its vCPUs")
    feature_store_reuse_share: float = spec(
        0.5, lo=0.0, hi=1.0, doc="share of a model's feature computation and storage that other models already pay "
        "for once the feature_pipelines capability (a shared feature store) is built")
    feature_gb_per_pipeline: float = spec(20.0, unit="GB", lo=0.0, hi=1e7,
                                          doc="stored feature values a pipeline keeps (offline store)")
    artifact_mb: float = spec(200.0, unit="MB", lo=0.0, hi=1e7,
                              doc="model artifact, training data snapshot and lineage kept for every trained version")
    prediction_log_bytes: float = spec(500.0, unit="bytes", lo=0.0, hi=1e7,
                                       doc="one logged prediction: its inputs, score and model version")
    prediction_log_days: float = spec(90.0, unit="days", lo=0.0, hi=3650.0,
                                      doc="how long logged predictions are kept (for labels, audits and retraining)")
    monitoring_vcpu_seconds_per_check: float = spec(
        2.0, unit="vCPU-seconds", lo=0.0, hi=1e6, doc="compute one monitor check of one model takes")
