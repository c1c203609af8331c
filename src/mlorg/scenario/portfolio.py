"""The models an organisation builds, by class: how many of each, how each is served and how busy it is, what it
is worth when healthy and what each kind of degradation costs it, how its labels arrive, and what governance it
passes before it serves real users.

Values are the figures a leader's decision rests on: each shipped scenario states where its classes' values come
from (``value_source``); a class a scenario does not describe gets the old single-model defaults, from
``[impact]`` and ``[serving]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mlorg.scenario.fields import Distribution, dist, spec

SERVING_MODES = ("any", "realtime", "batch", "edge")
CAUSE_DOC = "share of the model's value lost while {} degrades it"


@dataclass(frozen=True, kw_only=True)
class ValueLoss:
    """Per cause, the share of a model's value lost while that cause degrades it (NaN-free: 0 to 1)."""

    covariate: float = spec(0.1, lo=0.0, hi=1.0, doc=CAUSE_DOC.format("a covariate shift"))
    concept: float = spec(0.2, lo=0.0, hi=1.0, doc=CAUSE_DOC.format("a concept drift"))
    pipeline_break: float = spec(0.5, lo=0.0, hi=1.0, doc=CAUSE_DOC.format("a broken feature pipeline"))
    skew: float = spec(0.15, lo=0.0, hi=1.0, doc=CAUSE_DOC.format("training–serving skew"))
    bad_version: float = spec(0.3, lo=0.0, hi=1.0, doc=CAUSE_DOC.format("a bad model version"))
    latency_regression: float = spec(0.05, lo=0.0, hi=1.0, doc=CAUSE_DOC.format("a latency regression"))


@dataclass(frozen=True, kw_only=True)
class Governance:
    """What a trained model passes before it serves everyone: offline validation, a model-risk review, a shadow or
    canary period and an A/B test. Each adds to time-to-production; validation and the A/B test can stop it."""

    validation_failure_share: float = spec(
        0.0, lo=0.0, hi=1.0, doc="share of trained models that fail offline validation (no better than what they "
        "would replace) and never ship")
    risk_review: bool = spec(False, doc="an independent model-risk review before use (Federal Reserve SR 11-7), "
                             "for regulated classes such as fraud and credit; for new models and new versions")
    risk_review_hours: Distribution = dist("lognormal", 80.0, 0.5)
    shadow_days: float = spec(0.0, unit="days", lo=0.0, hi=365.0,
                              doc="days a new model or version runs in shadow or canary before it takes traffic")
    ab_test_days: float = spec(0.0, unit="days", lo=0.0, hi=365.0,
                               doc="length of the A/B test a new model must win before it ships (0: none)")
    ab_analysis_hours: float = spec(8.0, unit="hours", lo=0.0, hi=1000.0,
                                    doc="data-scientist hours to analyse and decide one A/B test")
    ab_loss_share: float = spec(0.0, lo=0.0, hi=1.0,
                                doc="share of A/B tests the new model does not win: it never ships")


@dataclass(frozen=True, kw_only=True)
class ModelClass:
    """One class of models the organisation builds (fraud, ranking, forecasting, batch propensity, …)."""

    name: str = spec("model", doc="short name of the class")
    share: float = spec(1.0, lo=0.0, hi=1.0, doc="share of newly trained models that are of this class")
    serving_mode: str = spec("any", choices=SERVING_MODES,
                             doc="how its models serve; any: by the [serving] shares, as before classes existed")
    predictions_per_day: Distribution = dist("lognormal", 100_000.0, 1.0)
    service_ms: float = spec(0.0, unit="ms", lo=0.0, hi=1e5,
                             doc="mean service time of one request to a real-time model of this class (0: "
                             "serving.realtime.service_ms); gradient-boosted trees on a CPU take less than a deep "
                             "model")
    instance: str = spec("", doc="instance type of this class's real-time replicas, a row of data/instances.csv "
                         "(empty: serving.realtime.instance); a model that needs a GPU names a GPU instance")
    concurrency: int = spec(0, lo=0, hi=1024, doc="requests one replica of this class serves at once (0: "
                            "serving.realtime.concurrency)")
    training_instance: str = spec("", doc="instance type this class trains on, a row of data/instances.csv (empty: "
                                  "infra.training_instance); a deep model names a GPU instance")
    training_hours: float = spec(0.0, unit="hours", lo=0.0, hi=10_000.0,
                                 doc="instance-hours to train one new model of this class, experiments included (0: "
                                 "infra.training_hours)")
    value_per_day_usd: Distribution = dist("lognormal", 5_000.0, 1.0)
    value_source: str = spec("", doc="where the value figure comes from (shown to people beside it)")
    value_loss: ValueLoss = field(default_factory=ValueLoss)
    drift_rate_factor: float = spec(1.0, lo=0.0, hi=100.0,
                                    doc="multiplies the world's drift and break rates for this class")
    positive_rate: float = spec(0.002, lo=0.0, lo_open=True, hi=1.0,
                                doc="share of predictions on positives (what the label monitor counts)")
    recall: float = spec(0.8, lo=0.0, lo_open=True, hi=1.0, doc="share of positives a healthy model catches")
    label_delay_days: float = spec(30.0, unit="days", lo=0.0, hi=3650.0,
                                   doc="mean delay of the labels that arrive late (chargebacks, outcomes)")
    label_delay_cv: float = spec(0.0, lo=0.0, hi=10.0, doc="spread of those delays (lognormal cv; 0: all alike)")
    reviewed_share: float = spec(0.0, lo=0.0, hi=1.0,
                                 doc="share of positives labelled fast by people reviewing the model's alerts")
    reviewed_delay_days: float = spec(1.0, unit="days", lo=0.0, hi=365.0, doc="delay of those reviewed labels")
    retrain_half_labels: float = spec(
        200.0, lo=0.0, lo_open=True, hi=1e9,
        doc="post-drift positive labels at which a retrain wins back half of what drift cost (more labels, more back)")
    governance: Governance = field(default_factory=Governance)
