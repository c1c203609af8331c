"""What degrades a live model, the monitors that watch it, the incident process, and the value it loses."""

from __future__ import annotations

from dataclasses import dataclass, field

from mlorg.scenario.fields import Distribution, dist, spec
from mlorg.scenario.org import ROLES

DRIFT_CAUSES = ("covariate", "concept", "pipeline_break", "skew", "bad_version", "latency_regression")
# What stops a cause before it reaches a live model: contracts and one shared feature definition (tested,
# versioned feature pipelines) catch breaks and training–serving skew; canary deploys on a serving platform
# catch bad versions and latency regressions. Nothing stops the world from changing.
PREVENTED_BY = {"pipeline_break": "feature_pipelines", "skew": "feature_pipelines", "bad_version": "serving",
                "latency_regression": "serving"}
SIGNAL_DOC = "σ of one sample of the signal, the shift a {} monitor sees"


@dataclass(frozen=True, kw_only=True)
class Effect:
    feature_shift: float = spec(0.0, unit="σ", lo=0.0, hi=100.0, doc=SIGNAL_DOC.format("feature-drift"))
    prediction_shift: float = spec(0.0, unit="σ", lo=0.0, hi=100.0,
                                   doc=SIGNAL_DOC.format("prediction-drift (score or alert-rate)"))
    performance_loss: float = spec(0.0, lo=0.0, hi=1.0,
                                   doc="share of the model's recall (its value) lost while degraded")


@dataclass(frozen=True, kw_only=True)
class WorldChange(Effect):
    rate_per_model_year: float = spec(0.0, unit="1/year", lo=0.0, hi=365.0, doc="arrivals per live model per year")


@dataclass(frozen=True, kw_only=True)
class Breakage(WorldChange):
    prevented_share: float = spec(0.0, lo=0.0, hi=1.0,
                                  doc="share stopped before it reaches a model once feature_pipelines is built")


@dataclass(frozen=True, kw_only=True)
class DeployDefect(Effect):
    per_deploy: float = spec(0.0, lo=0.0, hi=1.0, doc="probability that one deploy brings it")
    prevented_share: float = spec(0.0, lo=0.0, hi=1.0, doc="share stopped at deploy once the capability that "
                                  "catches it is built (feature_pipelines for skew, serving's canary otherwise)")


@dataclass(frozen=True, kw_only=True)
class Drift:
    """What degrades a live model. Sizes are planning assumptions; DESIGN.md lists the evidence on frequency."""

    enabled: bool = spec(False, doc="simulate drift, incidents and their losses")
    covariate: WorldChange = field(default_factory=lambda: WorldChange(
        rate_per_model_year=1.0, feature_shift=0.3, prediction_shift=0.1, performance_loss=0.1))
    concept: WorldChange = field(default_factory=lambda: WorldChange(
        rate_per_model_year=0.5, performance_loss=0.2))  # same features, different labels: only labels show it
    pipeline_break: Breakage = field(default_factory=lambda: Breakage(
        rate_per_model_year=1.0, feature_shift=5.0, prediction_shift=2.0, performance_loss=0.5,
        prevented_share=0.8))  # a feature turns null or constant
    skew: DeployDefect = field(default_factory=lambda: DeployDefect(
        per_deploy=0.05, feature_shift=0.5, prediction_shift=0.2, performance_loss=0.15, prevented_share=0.8))
    bad_version: DeployDefect = field(default_factory=lambda: DeployDefect(
        per_deploy=0.03, prediction_shift=0.5, performance_loss=0.3, prevented_share=0.7))
    latency_regression: DeployDefect = field(default_factory=lambda: DeployDefect(
        per_deploy=0.03, performance_loss=0.05, prevented_share=0.7))  # timeouts fall back to a default rule


WINDOW_MONITOR_DETECTORS = ("psi", "ks", "wasserstein", "jensen_shannon", "mean", "cusum", "page_hinkley")
# The detectors that take one window per check (mlorg.monitoring.characteristics.SEQUENTIAL_DETECTORS, held equal by a
# test): named here so that reading a scenario does not import the monitoring models and SciPy (≈ 1 s of CPU).
SEQUENTIAL_MONITOR_DETECTORS = ("cusum", "page_hinkley")


@dataclass(frozen=True, kw_only=True)
class SignalMonitor:
    enabled: bool = spec(False, doc="run this monitor once the monitoring capability is built")
    detector: str = spec("psi", choices=WINDOW_MONITOR_DETECTORS, doc="drift statistic (see mlorg monitor)")
    threshold: float = spec(0.1, lo=0.0, lo_open=True, hi=1e6,
                            doc="alarm threshold in the detector's own terms (KS: a p-value)")
    window_hours: float = spec(24.0, unit="hours", lo=0.0, lo_open=True, hi=8760.0,
                               doc="traffic compared with the reference at each check")
    cadence_hours: float = spec(24.0, unit="hours", lo=0.0, lo_open=True, hi=8760.0, doc="time between checks")
    dispersion: float = spec(1.0, lo=1.0, hi=1000.0,
                             doc="how much burstier the signal is than independent samples (fraud alerts come in "
                             "campaigns; `mlorg calibrate` measures it): a window counts as window / dispersion "
                             "samples")


@dataclass(frozen=True, kw_only=True)
class PerformanceMonitoring:
    enabled: bool = spec(False, doc="watch recall on the labels that have arrived")
    max_drop: float = spec(0.05, lo=0.0, lo_open=True, hi=1.0,
                           doc="alarm when recall falls more than this below the reference recall")
    window_days: float = spec(7.0, unit="days", lo=0.0, lo_open=True, hi=365.0,
                              doc="labelled predictions in each check")
    cadence_hours: float = spec(24.0, unit="hours", lo=0.0, lo_open=True, hi=8760.0, doc="time between checks")
    # The defaults are the plain check, which alarms on every dip below the line; the reference pipeline's check
    # is careful (mlorg.pipeline.monitors), and `mlorg calibrate --write` writes its settings.
    z: float = spec(0.0, lo=0.0, hi=10.0,
                    doc="alarm only when recall is below the line by more than this many standard errors")
    min_positives: int = spec(0, lo=0, hi=100_000,
                              doc="a check waits for this many labelled positives, reading further back to find them")
    dispersion: float = spec(1.0, lo=1.0, hi=1000.0,
                             doc="positives come in clusters caught or missed together (a fraud campaign hits one "
                             "card): n of them count as n / dispersion")
    reference_positives: float = spec(0.0, lo=0.0, hi=1e9,
                                      doc="labelled positives the reference recall was measured on, whose error the "
                                      "margin counts (0: the reference recall is known exactly)")


@dataclass(frozen=True, kw_only=True)
class Monitoring:
    """Monitors of each live model; they run once the monitoring capability is built."""

    features: SignalMonitor = field(default_factory=SignalMonitor)
    predictions: SignalMonitor = field(default_factory=lambda: SignalMonitor(detector="mean", threshold=3.0))
    performance: PerformanceMonitoring = field(default_factory=PerformanceMonitoring)
    triage_hours: float = spec(1.0, unit="hours", lo=0.0, hi=168.0,
                               doc="on-call time to look into one alarm that turns out to be false")


RECOVERY_DOC = "share of the value a {} cause cost that this action wins back"


@dataclass(frozen=True, kw_only=True)
class CauseShares:
    """One share per cause of degradation."""

    covariate: float = spec(0.0, lo=0.0, hi=1.0, doc=RECOVERY_DOC.format("covariate"))
    concept: float = spec(0.0, lo=0.0, hi=1.0, doc=RECOVERY_DOC.format("concept"))
    pipeline_break: float = spec(0.0, lo=0.0, hi=1.0, doc=RECOVERY_DOC.format("pipeline_break"))
    skew: float = spec(0.0, lo=0.0, hi=1.0, doc=RECOVERY_DOC.format("skew"))
    bad_version: float = spec(0.0, lo=0.0, hi=1.0, doc=RECOVERY_DOC.format("bad_version"))
    latency_regression: float = spec(0.0, lo=0.0, hi=1.0, doc=RECOVERY_DOC.format("latency_regression"))


def shares(**values: float):
    return field(default_factory=lambda: CauseShares(**values))


@dataclass(frozen=True, kw_only=True)
class Recovery:
    """What each incident action wins back, per cause. A rollback returns to the previous version, which had
    none of the new version's defects; a hot-fix repairs code or a pipeline; the interim fix is a threshold or
    analyst rule while labels accrue; a retrain wins back up to its share, scaled by the post-drift labels it has
    (the class's ``retrain_half_labels``)."""

    rollback: CauseShares = shares(skew=1.0, bad_version=1.0, latency_regression=1.0)
    hotfix: CauseShares = shares(pipeline_break=1.0, skew=1.0, bad_version=1.0, latency_regression=1.0)
    # The reference pipeline: flagging 2% of transactions instead of 1% after the fraud-pattern shift lifted
    # recall from 0.28 to 0.34 of a healthy 0.64, a sixth of what the shift cost; `mlorg calibrate` measures it.
    interim: CauseShares = shares(covariate=0.17, concept=0.17)
    retrain: CauseShares = shares(covariate=1.0, concept=1.0, skew=1.0, bad_version=1.0, latency_regression=1.0)


@dataclass(frozen=True, kw_only=True)
class Incidents:
    business_detection_days: Distribution = dist("exponential", 30.0)
    diagnose_hours: Distribution = dist("lognormal", 8.0, 0.8)
    automated_rollback_minutes: float = spec(
        15.0, unit="minutes", lo=0.0, hi=10080.0,
        doc="rollback with the incident process built, a registry and a previous good version")
    manual_rollback_hours: Distribution = dist("lognormal", 16.0, 0.5)
    hotfix_hours: Distribution = dist("lognormal", 24.0, 0.8)
    fresh_labels_days: float = spec(
        14.0, unit="days", lo=0.0, hi=3650.0,
        doc="an urgent retrain after drift trains on at least this many days of post-drift data")
    oncall_roles: tuple[str, ...] = spec(
        ("ml_engineer", "data_scientist"), choices=ROLES,
        doc="who is on the on-call rota: the first of these roles the organisation has, one person a rotation")
    oncall_rotation_days: float = spec(7.0, unit="days", lo=0.0, lo_open=True, hi=365.0,
                                       doc="how long one person is on call before the next takes over")
    recovery: Recovery = field(default_factory=lambda: Recovery())


@dataclass(frozen=True, kw_only=True)
class Impact:
    """The value model: while degraded, a model loses predictions × positive rate × value × recall lost."""

    predictions_per_day: float = spec(100_000.0, lo=0.0, lo_open=True, hi=1e10,
                                      doc="predictions one model makes a day (also the monitors' traffic)")
    positive_rate: float = spec(0.002, lo=0.0, lo_open=True, hi=1.0,
                                doc="share of predictions on positives (card fraud ≈ 0.2%)")
    usd_per_positive: float = spec(122.0, unit="USD", lo=0.0, hi=1e9,
                                   doc="value of catching one positive (mean fraud amount, ULB data)")
    recall: float = spec(0.8, lo=0.0, lo_open=True, hi=1.0, doc="share of positives a healthy model catches")
    label_delay_days: float = spec(30.0, unit="days", lo=0.0, hi=3650.0,
                                   doc="labels arrive this long after the prediction (chargebacks take weeks)")
    label_delay_cv: float = spec(0.0, lo=0.0, hi=10.0,
                                 doc="spread of the label delays (cv of a lognormal with the mean above); 0: all "
                                     "take exactly label_delay_days")
