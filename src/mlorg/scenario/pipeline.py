"""The reference pipeline's settings: generated card transactions, the first model and the causes injected."""

from __future__ import annotations

from dataclasses import dataclass

from mlorg.scenario.fields import GUARD, spec

PIPELINE_CAUSES = ("fraud_pattern_shift", "covariate_shift", "upstream_break", "skew", "label_delay")


@dataclass(frozen=True, kw_only=True)
class PipelineCause:
    kind: str = spec("fraud_pattern_shift", choices=PIPELINE_CAUSES, doc="what changes in the generated data")
    start_day: float = spec(100.0, unit="days", lo=0.0, hi=3650.0, doc="day it begins")
    size: float = spec(0.5, lo=0.0, hi=1000.0, doc="how much: a share of fraud, traffic or rows (0–1), the "
                       "skew's factor − 1, or the label delay's multiplier")
    feature: str = spec("", doc="upstream_break: the source that breaks (device_id, country); skew: the feature "
                        "the online path computes wrongly")


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
    causes: tuple[PipelineCause, ...] = spec(factory=tuple, doc="injected causes: [[pipeline.causes]] kind, "
                                             "start_day, size, feature")
