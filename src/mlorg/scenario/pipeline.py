"""The reference pipeline's settings: generated card transactions, the first model and the causes injected."""

from __future__ import annotations

from dataclasses import dataclass

from mlorg.scenario.fields import GUARD, spec

PIPELINE_CAUSES = ("fraud_pattern_shift", "covariate_shift", "upstream_break", "skew", "label_delay", "bad_version")


@dataclass(frozen=True, kw_only=True)
class PipelineCause:
    kind: str = spec("fraud_pattern_shift", choices=PIPELINE_CAUSES, doc="what changes in the generated data")
    start_day: float = spec(100.0, unit="days", lo=0.0, hi=3650.0, doc="day it begins")
    size: float = spec(0.5, lo=0.0, hi=1000.0, doc="how much: a share of fraud, traffic or rows (0–1; for a "
                       "bad_version, of the training table's rows), the skew's factor − 1, or the label delay's "
                       "multiplier")
    feature: str = spec("", doc="upstream_break and bad_version: the source that breaks (device_id, country), in "
                        "serving or in the training table of the routine retrain on or after start_day; skew: the "
                        "feature the online path computes wrongly")


@dataclass(frozen=True, kw_only=True)
class Pipeline:
    """The reference pipeline (``mlorg pipeline run``): a real fraud model on generated card transactions."""

    days: int = spec(180, unit="days", lo=30, hi=730, hi_reason=GUARD, doc="days of transactions generated")
    transactions_per_day: float = spec(4000.0, lo=100.0, hi=50_000.0, hi_reason=GUARD,
                                       doc="card transactions a day")
    cards: int = spec(20_000, lo=100, hi=1_000_000, hi_reason=GUARD, doc="cards issued")
    merchants: int = spec(800, lo=10, hi=100_000, doc="merchants")
    fraud_rate: float = spec(0.002, lo=0.0, lo_open=True, hi=0.5, doc="share of transactions that are fraud")
    history_days: int = spec(60, unit="days", lo=0, hi=365,
                             doc="transactions before day 0 that give cards their history (features only)")
    train_days: int = spec(60, unit="days", lo=7, hi=365, doc="the first model trains on these first days")
    holdout_days: int = spec(28, unit="days", lo=7, hi=365,
                             doc="the following days, on which offline AUC is measured before the model goes live")
    alert_share: float = spec(0.01, lo=0.0, lo_open=True, hi=0.5,
                              doc="share of holdout transactions above the alert threshold the model is deployed with")
    score_slo_ms: float = spec(10.0, unit="ms", lo=0.001, hi=10_000.0, doc="latency objective of the real-time scorer")
    scorer_sample_per_day: int = spec(50, lo=0, hi=100_000,
                                      doc="transactions a day scored one by one by the real-time scorer")
    cooldown_days: float = spec(7.0, unit="days", lo=0.0, hi=365.0,
                                doc="after an incident action, alerts are only logged for this long")
    # How a fraud team labels and retrains (Dal Pozzolo et al., "Credit card fraud detection: a realistic modeling
    # and a novel learning strategy", IEEE TNNLS 2018: investigators label the alerts within a day or two, every
    # other fraud arrives as a chargeback weeks later).
    review_capacity_share: float = spec(0.03, lo=0.0, lo_open=True, hi=0.5,
                                        doc="share of a day's transactions the investigators can review (assumption: "
                                        "three times the usual alert volume, so the interim threshold and a shadow "
                                        "model's alerts fit in it)")
    review_delay_days: float = spec(1.0, unit="days", lo=0.0, hi=30.0,
                                    doc="days until a reviewed alert is labelled fraud or legitimate")
    interim_alert_share: float = spec(0.02, lo=0.0, lo_open=True, hi=0.5,
                                      doc="share of transactions flagged while a drifted model waits for its "
                                      "replacement (the interim remedy: a lower threshold)")
    retrain_every_days: int = spec(60, unit="days", lo=1, hi=3650,
                                   doc="routine retraining: a new version every so many days after go-live, "
                                   "monitored or not")
    retrain_window_days: int = spec(90, unit="days", lo=7, hi=3650,
                                    doc="a retrain learns from this many days before it, with the labels known then")
    shadow_days: int = spec(7, unit="days", lo=1, hi=365,
                            doc="days a challenger scores in shadow before the incident process compares the fraud "
                            "dollars its alerts and the champion's held")
    probation_days: int = spec(14, unit="days", lo=1, hi=365,
                               doc="days the previous version keeps scoring in shadow after a deployment, so that a "
                               "rollback can be judged on the same reviewed days")
    causes: tuple[PipelineCause, ...] = spec(factory=tuple, doc="injected causes: [[pipeline.causes]] kind, "
                                             "start_day, size, feature")
