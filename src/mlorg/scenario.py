"""The scenario schema: typed, frozen, validated in one place.

A scenario is a TOML file (see ``scenarios/``). Every field has a default, a unit and an allowed range,
declared next to it with :func:`spec`; :func:`from_dict` walks the dataclasses, so a wrong value is
reported with its dotted path, the value and what is allowed, and an unknown key with the closest
known one. Upper limits keep a run from hanging or exhausting memory and say so.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROLES = ("data_scientist", "ml_engineer", "platform_engineer")
ACTIVITIES = ("research", "productionisation", "retraining", "toil", "platform")
CAPABILITIES = ("feature_pipelines", "model_registry", "serving", "monitoring", "incident_process")
DISTRIBUTIONS = ("exponential", "lognormal", "gamma", "deterministic")

GUARD = "a limit that keeps one run from hanging or exhausting memory"


class ScenarioError(ValueError):
    """One or more invalid inputs; ``messages`` holds one readable line per problem."""

    def __init__(self, messages: list[str] | str):
        self.messages = [messages] if isinstance(messages, str) else list(messages)
        super().__init__("\n".join(self.messages))


def spec(default: Any = dataclasses.MISSING, *, unit: str = "", doc: str = "", lo: float | None = None,
         hi: float | None = None, lo_open: bool = False, hi_reason: str = "", choices: tuple = (),
         factory: Any = dataclasses.MISSING) -> Any:
    """A dataclass field with its unit, description and allowed range."""
    meta = {"unit": unit, "doc": doc, "lo": lo, "hi": hi, "lo_open": lo_open, "hi_reason": hi_reason,
            "choices": choices}
    if factory is not dataclasses.MISSING:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


# --------------------------------------------------------------------------------------------- schema

@dataclass(frozen=True, kw_only=True)
class Distribution:
    """A positive random quantity given by its mean and coefficient of variation."""

    dist: str = spec("lognormal", choices=DISTRIBUTIONS, doc="shape of the distribution")
    mean: float = spec(1.0, lo=0.0, hi=1e12, doc="mean, in the unit of the field")
    cv: float = spec(0.5, lo=0.0, hi=10.0,
                     doc="coefficient of variation (sd / mean); ignored by exponential (1) and deterministic (0)")


def dist(kind: str, mean: float, cv: float = 0.5) -> Any:
    return field(default_factory=lambda: Distribution(dist=kind, mean=mean, cv=cv))


@dataclass(frozen=True, kw_only=True)
class Hire:
    day: float = spec(0.0, unit="days", lo=0.0, hi=36500, doc="simulated day the people start")
    role: str = spec("ml_engineer", choices=ROLES, doc="role hired")
    count: int = spec(1, lo=1, hi=5000, hi_reason=GUARD, doc="number of people")


@dataclass(frozen=True, kw_only=True)
class Org:
    data_scientists: int = spec(4, unit="people", lo=0, hi=5000, hi_reason=GUARD,
                                doc="data scientists at day 0")
    ml_engineers: int = spec(0, unit="people", lo=0, hi=5000, hi_reason=GUARD, doc="ML engineers at day 0")
    platform_engineers: int = spec(0, unit="people", lo=0, hi=5000, hi_reason=GUARD,
                                   doc="platform engineers at day 0")
    productive_hours_per_week: float = spec(
        32.0, unit="hours/week", lo=1.0, hi=168.0,
        doc="hours a person works on project work per calendar week (40 h less meetings)")
    hiring: tuple[Hire, ...] = spec(factory=tuple, doc="hiring plan: [[org.hiring]] day, role, count")


@dataclass(frozen=True, kw_only=True)
class RoleRates:
    data_scientist: float = spec(0.0, unit="1/year", lo=0.0, hi=5.0, doc="annual attrition rate")
    ml_engineer: float = spec(0.0, unit="1/year", lo=0.0, hi=5.0, doc="annual attrition rate")
    platform_engineer: float = spec(0.0, unit="1/year", lo=0.0, hi=5.0, doc="annual attrition rate")


@dataclass(frozen=True, kw_only=True)
class Attrition:
    annual_rate: RoleRates = field(default_factory=RoleRates)
    backfill: bool = spec(True, doc="replace each leaver with a new hire")
    time_to_hire_days: float = spec(60.0, unit="days", lo=0.0, hi=3650, doc="vacancy length before a backfill starts")


@dataclass(frozen=True, kw_only=True)
class RoleCosts:
    data_scientist: float = spec(190_000.0, unit="USD/year", lo=0.0, hi=1e7, doc="fully loaded annual cost")
    ml_engineer: float = spec(210_000.0, unit="USD/year", lo=0.0, hi=1e7, doc="fully loaded annual cost")
    platform_engineer: float = spec(210_000.0, unit="USD/year", lo=0.0, hi=1e7, doc="fully loaded annual cost")


@dataclass(frozen=True, kw_only=True)
class Skill:
    """Efficiency of one role at each kind of work: 1 = a specialist's pace, 0 = never does it."""

    research: float = spec(0.0, lo=0.0, hi=2.0, doc="efficiency at research (training new models)")
    productionisation: float = spec(0.0, lo=0.0, hi=2.0, doc="efficiency at taking a trained model to production")
    retraining: float = spec(0.0, lo=0.0, hi=2.0, doc="efficiency at retraining a live model")
    toil: float = spec(0.0, lo=0.0, hi=2.0, doc="efficiency at per-model maintenance")
    platform: float = spec(0.0, lo=0.0, hi=2.0, doc="efficiency at building platform capabilities")


@dataclass(frozen=True, kw_only=True)
class Skills:
    # DS and MLE skills overlap ~30% (DESIGN.md): a data scientist does production work at 0.3.
    data_scientist: Skill = field(default_factory=lambda: Skill(
        research=1.0, productionisation=0.3, retraining=1.0, toil=0.3, platform=0.0))
    ml_engineer: Skill = field(default_factory=lambda: Skill(
        research=0.0, productionisation=1.0, retraining=0.0, toil=1.0, platform=0.0))
    platform_engineer: Skill = field(default_factory=lambda: Skill(
        research=0.0, productionisation=0.0, retraining=0.0, toil=1.0, platform=1.0))


@dataclass(frozen=True, kw_only=True)
class Policy:
    data_scientists_productionise: str = spec(
        "when_no_ml_engineers", choices=("never", "when_no_ml_engineers", "always"),
        doc="whether data scientists take trained models to production themselves")
    data_scientist_max_production_share: float = spec(
        0.12, lo=0.0, hi=1.0,
        doc="largest share of a data scientist's time spent on production work (the rest is research)")
    max_toil_share: float = spec(
        0.9, lo=0.0, hi=0.99, doc="largest share of a role's capacity that toil may take; the rest of the "
        "demand goes unmet")


@dataclass(frozen=True, kw_only=True)
class Research:
    # Productive data-scientist hours per trained model worth shipping (≈ 20 weeks). Spotify 2019 reports
    # 14 weeks from defined problem to production, of which productionising was 2 weeks on their platform.
    cycle_hours: Distribution = dist("lognormal", 640.0, 0.6)


@dataclass(frozen=True, kw_only=True)
class Productionisation:
    # Specialist hours to take one model to production with no platform capability.
    effort_hours: Distribution = dist("lognormal", 48.0, 0.8)
    version_effort_share: float = spec(
        0.3, lo=0.0, hi=1.0, doc="effort to ship a retrained version, as a share of a new model's effort")
    abandon_after_days: float = spec(
        180.0, unit="days", lo=0.0, lo_open=True, hi=36500,
        doc="a trained model still waiting for production work after this long is dropped (wall of demos)")


@dataclass(frozen=True, kw_only=True)
class Deploy:
    review_hours: Distribution = dist("lognormal", 48.0, 0.5)
    release_every_days: float = spec(
        7.0, unit="days", lo=0.0, hi=365,
        doc="release-train cadence; a reviewed model goes live at the next release (0 = continuous)")


@dataclass(frozen=True, kw_only=True)
class Lifecycle:
    toil_hours_per_model_week: float = spec(
        0.5, unit="hours/week", lo=0.0, hi=168, doc="maintenance of one live model with no platform")
    retrain_every_days: float = spec(
        180.0, unit="days", lo=0.0, hi=36500, doc="a live model asks for a new version this long after its "
        "last deploy (0 = never retrained)")
    retraining_effort_hours: Distribution = dist("lognormal", 40.0, 0.5)
    lifetime_days: float = spec(
        1095.0, unit="days", lo=0.0, hi=36500, doc="mean time a model stays live before retirement "
        "(exponential; 0 = never retired)")


@dataclass(frozen=True, kw_only=True)
class Capability:
    built: bool = spec(False, doc="exists at day 0")
    build_effort_hours: float = spec(800.0, unit="hours", lo=0.0, hi=1e6, hi_reason=GUARD,
                                     doc="platform-engineer hours to build it")
    effort_factor: float = spec(1.0, lo=0.0, hi=10, doc="multiplies productionisation effort once built")
    toil_factor: float = spec(1.0, lo=0.0, hi=10, doc="multiplies per-model toil once built")
    retraining_factor: float = spec(1.0, lo=0.0, hi=10, doc="multiplies retraining effort once built")
    review_factor: float = spec(1.0, lo=0.0, hi=10, doc="multiplies the review wait once built")
    upkeep_hours_per_week: float = spec(4.0, unit="hours/week", lo=0.0, hi=1e4,
                                        doc="platform-team time to keep it running once built")


def capability(**values: float) -> Any:
    return field(default_factory=lambda: Capability(**{k: float(v) for k, v in values.items()}))


@dataclass(frozen=True, kw_only=True)
class Capabilities:
    # Default factors are planning assumptions, not measurements: Sculley et al. 2015 put ML code at
    # <= 5% of a mature system, so most productionisation effort is glue that these capabilities absorb.
    feature_pipelines: Capability = capability(build_effort_hours=1600, effort_factor=0.6, toil_factor=0.5,
                                               retraining_factor=0.4, upkeep_hours_per_week=8)
    model_registry: Capability = capability(build_effort_hours=800, effort_factor=0.8, toil_factor=0.9,
                                            retraining_factor=0.5, review_factor=0.6, upkeep_hours_per_week=4)
    serving: Capability = capability(build_effort_hours=1600, effort_factor=0.45, toil_factor=0.7,
                                     review_factor=0.5, upkeep_hours_per_week=8)
    monitoring: Capability = capability(build_effort_hours=800, effort_factor=0.9, toil_factor=0.6,
                                        upkeep_hours_per_week=4)
    incident_process: Capability = capability(build_effort_hours=400, effort_factor=1.0, toil_factor=0.8,
                                              review_factor=0.8, upkeep_hours_per_week=2)


@dataclass(frozen=True, kw_only=True)
class Platform:
    build_order: tuple[str, ...] = spec(CAPABILITIES, choices=CAPABILITIES,
                                        doc="order in which platform engineers build missing capabilities")
    chunk_hours: float = spec(160.0, unit="hours", lo=1.0, hi=1e5,
                              doc="size of one platform work package; several engineers share a capability")
    upkeep_hours_per_model_week: float = spec(
        0.1, unit="hours/week", lo=0.0, hi=168, doc="platform-team time per live model once any capability exists")
    capabilities: Capabilities = field(default_factory=Capabilities)


# Traffic shape of a consumer-facing service, hour by hour (mean 1): low overnight, a midday and an evening
# peak; weekdays a little busier than weekends. An assumption to replace with your own traffic.
DAILY_PROFILE = (0.35, 0.25, 0.2, 0.2, 0.25, 0.4, 0.65, 0.95, 1.2, 1.3, 1.35, 1.4,
                 1.45, 1.4, 1.35, 1.3, 1.3, 1.35, 1.45, 1.5, 1.4, 1.15, 0.8, 0.55)
WEEKLY_PROFILE = (1.05, 1.05, 1.05, 1.05, 1.1, 0.85, 0.85)  # Monday first


@dataclass(frozen=True, kw_only=True)
class Realtime:
    """Online serving behind an API: traffic, service time, fleet and autoscaler of each real-time model."""

    base_rps: Distribution = dist("lognormal", 5.0, 1.0)
    daily_profile: tuple[float, ...] = spec(DAILY_PROFILE, lo=0.0, hi=100.0,
                                            doc="24 hourly load multipliers, hour 0 first (normalised to mean 1)")
    weekly_profile: tuple[float, ...] = spec(WEEKLY_PROFILE, lo=0.0, hi=100.0,
                                             doc="7 daily load multipliers, Monday first (normalised to mean 1)")
    growth_per_month: float = spec(0.02, unit="1/month", lo=-0.5, hi=2.0,
                                   doc="compound growth of every model's traffic per month since day 0")
    spikes_per_month: float = spec(0.5, unit="1/month", lo=0.0, hi=100.0,
                                   doc="org-wide traffic spikes (sales, incidents upstream) per month")
    spike_multiplier: float = spec(3.0, lo=1.0, hi=100.0, doc="load multiplier during a spike")
    spike_hours: float = spec(2.0, unit="hours", lo=1.0, hi=168.0, doc="length of a spike")
    service_ms: float = spec(5.0, unit="ms", lo=0.001, hi=1e5, doc="mean service time of one request")
    service_dist: str = spec("lognormal", choices=DISTRIBUTIONS, doc="shape of the service-time distribution")
    service_cv: float = spec(0.5, lo=0.0, hi=10.0, doc="coefficient of variation of the service time "
                             "(lognormal, gamma)")
    concurrency: int = spec(4, lo=1, hi=1024, doc="requests one replica serves at once")
    instance: str = spec("c6i.xlarge", doc="instance type of a replica (a row of data/instances.csv)")
    slo_p99_ms: float = spec(50.0, unit="ms", lo=0.001, hi=1e6, doc="p99 latency objective")
    fixed_replicas: int = spec(0, lo=0, hi=10_000, doc="replicas when not autoscaled (0 = autoscale)")
    min_replicas: int = spec(2, lo=1, hi=10_000, doc="autoscaler's lower bound (2 keeps one spare)")
    max_replicas: int = spec(100, lo=1, hi=10_000, doc="autoscaler's upper bound")
    target_utilisation: float = spec(0.6, lo=0.0, lo_open=True, hi=1.0, doc="utilisation the autoscaler aims at")
    reaction_delay_hours: int = spec(1, unit="hours", lo=0, hi=168,
                                     doc="the autoscaler sizes each hour for the load it saw this long before")


@dataclass(frozen=True, kw_only=True)
class Batch:
    """Scheduled scoring jobs: cost is compute time for the rows scored."""

    rows_per_day: Distribution = dist("lognormal", 1e6, 1.0)
    jobs_per_day: float = spec(1.0, lo=0.0, lo_open=True, hi=1440.0, doc="scoring jobs a day; the rows split evenly")
    deadline_hours: float = spec(4.0, unit="hours", lo=0.0, lo_open=True, hi=168.0,
                                 doc="a job must finish this soon; it runs on as many instances as that needs")
    ms_per_row: float = spec(0.5, unit="ms", lo=0.0, hi=1e5, doc="vCPU time to score one row")
    instance: str = spec("c6i.xlarge", doc="instance type the jobs run on (a row of data/instances.csv)")


@dataclass(frozen=True, kw_only=True)
class Edge:
    """On-device models: no replicas; each deployed version costs a rollout to every device."""

    devices: float = spec(100_000.0, lo=0.0, hi=1e10, doc="devices running the model")
    usd_per_device_rollout: float = spec(0.0005, unit="USD", lo=0.0, hi=100.0,
                                         doc="delivery cost of one version to one device")
    rollout_days: float = spec(14.0, unit="days", lo=0.0, hi=365.0,
                               doc="a new version reaches every device within this time, devices updating evenly")
    predictions_per_device_day: float = spec(20.0, lo=0.0, hi=1e7, doc="predictions a device makes per day")


@dataclass(frozen=True, kw_only=True)
class Serving:
    enabled: bool = spec(False, doc="compute serving cost and latency for live models")
    realtime_share: float = spec(1.0, lo=0.0, hi=1.0, doc="share of models served in real time")
    batch_share: float = spec(0.0, lo=0.0, hi=1.0, doc="share of models scored in batch jobs")
    edge_share: float = spec(0.0, lo=0.0, hi=1.0, doc="share of models run on devices")
    realtime: Realtime = field(default_factory=Realtime)
    batch: Batch = field(default_factory=Batch)
    edge: Edge = field(default_factory=Edge)


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


@dataclass(frozen=True, kw_only=True)
class SignalMonitor:
    enabled: bool = spec(False, doc="run this monitor once the monitoring capability is built")
    detector: str = spec("psi", choices=WINDOW_MONITOR_DETECTORS, doc="drift statistic (see mlorg monitor)")
    threshold: float = spec(0.1, lo=0.0, lo_open=True, hi=1e6,
                            doc="alarm threshold in the detector's own terms (KS: a p-value)")
    window_hours: float = spec(24.0, unit="hours", lo=0.0, lo_open=True, hi=8760.0,
                               doc="traffic compared with the reference at each check")
    cadence_hours: float = spec(24.0, unit="hours", lo=0.0, lo_open=True, hi=8760.0, doc="time between checks")


@dataclass(frozen=True, kw_only=True)
class PerformanceMonitoring:
    enabled: bool = spec(False, doc="watch recall on the labels that have arrived")
    max_drop: float = spec(0.05, lo=0.0, lo_open=True, hi=1.0,
                           doc="alarm when recall falls more than this below the reference recall")
    window_days: float = spec(7.0, unit="days", lo=0.0, lo_open=True, hi=365.0,
                              doc="labelled predictions in each check")
    cadence_hours: float = spec(24.0, unit="hours", lo=0.0, lo_open=True, hi=8760.0, doc="time between checks")


@dataclass(frozen=True, kw_only=True)
class Monitoring:
    """Monitors of each live model; they run once the monitoring capability is built."""

    features: SignalMonitor = field(default_factory=SignalMonitor)
    predictions: SignalMonitor = field(default_factory=lambda: SignalMonitor(detector="mean", threshold=3.0))
    performance: PerformanceMonitoring = field(default_factory=PerformanceMonitoring)
    triage_hours: float = spec(1.0, unit="hours", lo=0.0, hi=168.0,
                               doc="on-call time to look into one alarm that turns out to be false")


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
        doc="a retrain after drift waits until this many days of post-drift labels have arrived")
    interim_fix_recovery: float = spec(
        0.5, lo=0.0, hi=1.0, doc="share of a drift's loss won back by a quick fix (a rule, a threshold) made by "
        "the on-call while the retrain waits for labels")


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


@dataclass(frozen=True, kw_only=True)
class Scenario:
    name: str = spec("scenario", doc="short name shown in results")
    description: str = spec("", doc="what the scenario represents")
    horizon_days: float = spec(730.0, unit="days", lo=1.0, hi=36500, hi_reason=GUARD,
                               doc="simulated time")
    org: Org = field(default_factory=Org)
    attrition: Attrition = field(default_factory=Attrition)
    costs: RoleCosts = field(default_factory=RoleCosts)
    skills: Skills = field(default_factory=Skills)
    policy: Policy = field(default_factory=Policy)
    research: Research = field(default_factory=Research)
    productionisation: Productionisation = field(default_factory=Productionisation)
    deploy: Deploy = field(default_factory=Deploy)
    lifecycle: Lifecycle = field(default_factory=Lifecycle)
    platform: Platform = field(default_factory=Platform)
    serving: Serving = field(default_factory=Serving)
    drift: Drift = field(default_factory=Drift)
    monitoring: Monitoring = field(default_factory=Monitoring)
    incidents: Incidents = field(default_factory=Incidents)
    impact: Impact = field(default_factory=Impact)
    pipeline: Pipeline = field(default_factory=Pipeline)

    def replace(self, **changes: Any) -> Scenario:
        return dataclasses.replace(self, **changes)


# Bounds on the whole run, checked after the fields: a scenario can be valid field by field and still ask
# for billions of events.
MAX_PEOPLE = 20_000
MAX_PERSON_YEARS = 200_000


# ----------------------------------------------------------------------------------------- validation

def from_dict(data: dict[str, Any]) -> Scenario:
    """Build a scenario from parsed TOML, reporting every problem at once."""
    errors: list[str] = []
    scenario = _build(Scenario(), data, "", errors)
    if not errors:
        errors.extend(_check_whole(scenario))
    if errors:
        raise ScenarioError(errors)
    return scenario


def validate(scenario: Scenario) -> Scenario:
    """Check a scenario built or edited in code (``replace`` skips the checks) by the same rules as a file."""
    return from_dict(tomllib.loads(to_toml(scenario)))


def load(path: str | Path) -> Scenario:
    """Read and validate a scenario file. A file may start from another with ``extends = "other.toml"`` (a path
    relative to it) and change only what differs: its tables are merged into the other's, key by key."""
    path = Path(path)
    data = _read(path, ())
    try:
        return from_dict(data)
    except ScenarioError as exc:
        raise ScenarioError([f"{path}: {m}" for m in exc.messages]) from None


def loads(text: str, source: str = "<scenario>") -> Scenario:
    data = _parse(text, source)
    if "extends" in data:
        raise ScenarioError(f"{source}: extends: only a scenario file can extend another (its path is relative "
                            "to the file)")
    try:
        return from_dict(data)
    except ScenarioError as exc:
        raise ScenarioError([f"{source}: {m}" for m in exc.messages]) from None


def _parse(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib words its position as "(at line L, column C)"; lead with the file like a compiler does.
        raise ScenarioError(f"{source}: TOML syntax error: {exc}") from None


def _read(path: Path, chain: tuple[Path, ...]) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        where = f"{chain[-1]}: extends: " if chain else ""
        raise ScenarioError(f"{where}{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read ({exc})") from None
    data = _parse(text, str(path))
    base = data.pop("extends", None)
    if base is None:
        return data
    if not isinstance(base, str) or not base:
        raise ScenarioError(f"{path}: extends: {_show(base)} is not allowed; must be the name of a scenario file")
    base_path = path.parent / base
    if base_path.resolve() in {p.resolve() for p in (*chain, path)}:
        raise ScenarioError(f"{path}: extends: {_show(base)} is not allowed; the files extend each other in a loop")
    return _merge(_read(base_path, (*chain, path)), data)


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _build(base: Any, data: Any, path: str, errors: list[str]) -> Any:
    """Overlay ``data`` on ``base`` (the defaults of this part of the schema), field by field."""
    cls = type(base)
    if not isinstance(data, dict):
        errors.append(f"{path or 'scenario'}: {_show(data)} is not allowed; must be a table")
        return base
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for key, raw in data.items():
        where = f"{path}.{key}" if path else key
        if key not in fields:
            close = difflib.get_close_matches(key, list(fields), n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else f"; known keys: {', '.join(fields)}"
            errors.append(f"{where}: unknown key{hint}")
            continue
        value = _convert(hints[key], fields[key], getattr(base, key), raw, where, errors)
        if value is not None:
            values[key] = value
    return dataclasses.replace(base, **values)


def _convert(hint: Any, fld: dataclasses.Field, default: Any, raw: Any, where: str, errors: list[str]) -> Any:
    meta = fld.metadata
    if dataclasses.is_dataclass(hint):
        return _build(default, raw, where, errors)
    if typing.get_origin(hint) is tuple:
        item_type = typing.get_args(hint)[0]
        if not isinstance(raw, list):
            errors.append(f"{where}: {_show(raw)} is not allowed; must be a list")
            return None
        if dataclasses.is_dataclass(item_type):
            return tuple(_build(item_type(), item, f"{where}[{i}]", errors) for i, item in enumerate(raw))
        items = [_scalar(item_type, meta, item, f"{where}[{i}]", errors) for i, item in enumerate(raw)]
        if any(item is None for item in items):
            return None
        if meta["choices"] and len(set(items)) != len(items):  # a list of names (build order) names each once
            errors.append(f"{where}: {_show(raw)} is not allowed; must not repeat an entry")
            return None
        return tuple(items)
    return _scalar(hint, meta, raw, where, errors)


def _scalar(hint: Any, meta: Any, raw: Any, where: str, errors: list[str]) -> Any:
    if hint is bool:
        if not isinstance(raw, bool):
            errors.append(f"{where}: {_show(raw)} is not allowed; must be true or false")
            return None
        return raw
    if hint is str:
        if not isinstance(raw, str):
            errors.append(f"{where}: {_show(raw)} is not allowed; must be a string")
            return None
        if meta["choices"] and raw not in meta["choices"]:
            close = difflib.get_close_matches(raw, meta["choices"], n=1, cutoff=0.6)
            hint_text = f" (did you mean '{close[0]}'?)" if close else ""
            allowed = ", ".join(meta["choices"])
            errors.append(f"{where}: {_show(raw)} is not allowed; must be one of {allowed}{hint_text}")
            return None
        return raw
    if hint is int:
        ok = isinstance(raw, int) and not isinstance(raw, bool)
        kind = "an integer"
    else:
        ok = isinstance(raw, int | float) and not isinstance(raw, bool) and math.isfinite(raw)
        kind = "a number"
    rule = _range_text(kind, meta)
    if not ok:
        errors.append(f"{where}: {_show(raw)} is not allowed; must be {rule}")
        return None
    lo, hi = meta["lo"], meta["hi"]
    too_low = lo is not None and (raw <= lo if meta["lo_open"] else raw < lo)
    if too_low or (hi is not None and raw > hi):
        reason = f" ({meta['hi_reason']})" if hi is not None and raw > hi and meta["hi_reason"] else ""
        errors.append(f"{where}: {_show(raw)} is not allowed; must be {rule}{reason}")
        return None
    return float(raw) if hint is float else raw


def _show(value: Any) -> str:
    """A value as it is spelled in TOML, so messages quote what the user wrote."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _toml_value(value)
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_show(v)}" for k, v in value.items()) + "}"
    return str(value)


def _range_text(kind: str, meta: Any) -> str:
    lo, hi = meta["lo"], meta["hi"]
    parts = []
    if lo is not None:
        parts.append(f"{'>' if meta['lo_open'] else '>='} {_num(lo)}")
    if hi is not None:
        parts.append(f"<= {_num(hi)}")
    return f"{kind} {' and '.join(parts)}" if parts else kind


def _num(x: float) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def _check_whole(s: Scenario) -> list[str]:
    errors = []
    for name in ("research.cycle_hours", "productionisation.effort_hours", "deploy.review_hours",
                 "lifecycle.retraining_effort_hours", "incidents.business_detection_days",
                 "incidents.diagnose_hours", "incidents.manual_rollback_hours", "incidents.hotfix_hours"):
        d = _get(s, name)
        if d.dist != "deterministic" and d.mean > 0 and d.cv == 0 and d.dist != "exponential":
            errors.append(f"{name}.cv: 0 is not allowed for a {d.dist} distribution; must be > 0 "
                          "(use dist = \"deterministic\" for a fixed value)")
    if s.research.cycle_hours.mean < 1.0:
        errors.append(f"research.cycle_hours.mean: {_num(s.research.cycle_hours.mean)} is not allowed; "
                      f"must be >= 1 ({GUARD})")
    if s.platform.chunk_hours < 1.0:
        errors.append("platform.chunk_hours: must be >= 1")
    start = s.org.data_scientists + s.org.ml_engineers + s.org.platform_engineers
    hired = sum(h.count for h in s.org.hiring)
    if start + hired > MAX_PEOPLE:
        errors.append(f"org: {start + hired} people at start plus hiring plan is not allowed; must be "
                      f"<= {MAX_PEOPLE} ({GUARD})")
    person_years = (start + hired) * s.horizon_days / 365.0
    if person_years > MAX_PERSON_YEARS:
        errors.append(f"horizon_days: {_num(s.horizon_days)} days with {start + hired} people is "
                      f"{person_years:,.0f} person-years; must be <= {MAX_PERSON_YEARS:,} ({GUARD})")
    errors.extend(_check_serving(s.serving))
    errors.extend(_check_monitoring(s))
    errors.extend(_check_pipeline(s.pipeline))
    for i, hire in enumerate(s.org.hiring):
        if hire.day > s.horizon_days:
            errors.append(f"org.hiring[{i}].day: {_num(hire.day)} is not allowed; must be <= horizon_days "
                          f"({_num(s.horizon_days)})")
    return errors


def _check_serving(serving: Serving) -> list[str]:
    errors = []
    shares = serving.realtime_share + serving.batch_share + serving.edge_share
    if abs(shares - 1.0) > 1e-9:
        errors.append(f"serving: realtime_share + batch_share + edge_share = {shares:g} is not allowed; must be 1")
    rt = serving.realtime
    for name, values, n in (("daily_profile", rt.daily_profile, 24), ("weekly_profile", rt.weekly_profile, 7)):
        if len(values) != n or not sum(values) > 0:
            errors.append(f"serving.realtime.{name}: {len(values)} values is not allowed; must be {n} numbers "
                          "with a positive sum")
    if rt.service_dist in ("lognormal", "gamma") and rt.service_cv == 0:
        errors.append(f"serving.realtime.service_cv: 0 is not allowed for a {rt.service_dist} distribution; "
                      "must be > 0 (use service_dist = \"deterministic\" for a fixed service time)")
    if rt.min_replicas > rt.max_replicas:
        errors.append(f"serving.realtime.min_replicas: {rt.min_replicas} is not allowed; must be <= max_replicas "
                      f"({rt.max_replicas})")
    if serving.enabled:
        from mlorg.serving.capacity import load_instances  # only a scenario that serves needs the price list

        known = [i.name for i in load_instances()]
        for where, name in (("serving.realtime.instance", rt.instance), ("serving.batch.instance",
                                                                         serving.batch.instance)):
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                errors.append(f"{where}: {_show(name)} is not allowed; must be one of {', '.join(known)}{hint}")
    return errors


def _check_monitoring(s: Scenario) -> list[str]:
    """Each enabled monitor must make sense for the traffic: the detector's own checks, in scenario terms."""
    from mlorg.monitoring.characteristics import SEQUENTIAL_DETECTORS

    errors = []
    traffic = s.impact.predictions_per_day / 24.0
    for name in ("features", "predictions"):
        m = getattr(s.monitoring, name)
        if not m.enabled:
            continue
        where = f"monitoring.{name}"
        if m.detector == "ks" and m.threshold >= 1:
            errors.append(f"{where}.threshold: {_num(m.threshold)} is not allowed; a KS threshold is a p-value, "
                          "must be < 1")
        if m.detector in SEQUENTIAL_DETECTORS and m.window_hours > m.cadence_hours:
            errors.append(f"{where}.window_hours: {_num(m.window_hours)} is not allowed; a {m.detector} takes one "
                          f"window per check, so it must be <= cadence_hours ({_num(m.cadence_hours)})")
        if traffic * m.window_hours < 1:
            errors.append(f"{where}.window_hours: {_num(m.window_hours)} is not allowed; at "
                          f"impact.predictions_per_day = {_num(s.impact.predictions_per_day)} the window holds no "
                          "prediction")
    if s.monitoring.performance.enabled and s.impact.recall <= s.monitoring.performance.max_drop:
        errors.append(f"monitoring.performance.max_drop: {_num(s.monitoring.performance.max_drop)} is not allowed; "
                      f"must be < impact.recall ({_num(s.impact.recall)})")
    return errors


def _check_pipeline(p: Pipeline) -> list[str]:
    errors = []
    if p.train_days + p.holdout_days >= p.days:
        errors.append(f"pipeline.days: {p.days} is not allowed; must be more than train_days + holdout_days "
                      f"({p.train_days + p.holdout_days}) so the model serves some days")
    for i, cause in enumerate(p.causes):
        where = f"pipeline.causes[{i}]"
        if cause.start_day >= p.days:
            errors.append(f"{where}.start_day: {_num(cause.start_day)} is not allowed; must be < pipeline.days "
                          f"({p.days})")
        if cause.kind == "upstream_break" and cause.feature not in ("device_id", "country"):
            errors.append(f"{where}.feature: {_show(cause.feature)} is not allowed; an upstream break needs the "
                          "source that breaks: device_id or country")
        if cause.kind in ("fraud_pattern_shift", "covariate_shift", "upstream_break") and cause.size > 1:
            errors.append(f"{where}.size: {_num(cause.size)} is not allowed; a {cause.kind} size is a share, "
                          "must be <= 1")
        if cause.kind == "skew":
            from mlorg.pipeline.features import FEATURES  # only a skew needs the feature list

            if cause.feature not in FEATURES:
                errors.append(f"{where}.feature: {_show(cause.feature)} is not allowed; a skew names the feature "
                              f"the online path computes wrongly, one of {', '.join(FEATURES)}")
    return errors


def _get(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


# ------------------------------------------------------------------------------------- introspection

def field_docs() -> list[dict[str, Any]]:
    """Every leaf field of the schema with its dotted path, unit, default and rule (for the README)."""
    rows: list[dict[str, Any]] = []

    def walk(cls: type, instance: Any, prefix: str) -> None:
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            path = f"{prefix}{f.name}"
            value = getattr(instance, f.name)
            hint = hints[f.name]
            if dataclasses.is_dataclass(hint):
                walk(hint, value, path + ".")
                continue
            if typing.get_origin(hint) is tuple and dataclasses.is_dataclass(typing.get_args(hint)[0]):
                item = typing.get_args(hint)[0]
                rows.append({"field": path, "unit": "", "default": "[]", "rule": "list of tables",
                             "doc": f.metadata.get("doc", "")})
                walk(item, item(), path + "[].")
                continue
            meta = f.metadata
            unit = meta.get("unit", "")
            if cls is Distribution and f.name == "mean" and prefix.rstrip(".").endswith("_hours"):
                unit = "hours"  # a distribution's unit is named by the field that holds it
            if hint is bool:
                rule = "true/false"
            elif hint is str or typing.get_origin(hint) is tuple:
                rule = "one of " + ", ".join(meta["choices"]) if meta["choices"] else "text"
            else:
                rule = _range_text("integer" if hint is int else "number", meta)
            rows.append({"field": path, "unit": unit, "default": _default_text(value),
                         "rule": rule, "doc": meta.get("doc", "")})

    walk(Scenario, Scenario(), "")
    return rows


def _default_text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return "[" + ", ".join(f'"{v}"' for v in value) + "]"
    if isinstance(value, str):
        return f'"{value}"'
    return _num(value)



# ----------------------------------------------------------------------------------------------- output

def to_toml(scenario: Scenario) -> str:
    """The scenario as a TOML document that :func:`loads` reads back to an equal scenario."""
    lines: list[str] = []
    _toml_table(scenario, "", lines)
    return "\n".join(lines).strip() + "\n"


def _toml_table(obj: Any, prefix: str, lines: list[str]) -> None:
    nested = []
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            nested.append((f.name, value))
        elif isinstance(value, tuple) and value and dataclasses.is_dataclass(value[0]):
            nested.append((f.name, value))
        else:
            lines.append(f"{f.name} = {_toml_value(value)}")
    for name, value in nested:
        path = f"{prefix}{name}"
        if isinstance(value, tuple):
            for item in value:
                lines.extend(["", f"[[{path}]]"])
                _toml_table(item, path + ".", lines)
        else:
            lines.extend(["", f"[{path}]"])
            _toml_table(value, path + ".", lines)


_TOML_ESCAPES = {"\\": "\\\\", '"': '\\"', "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + "".join(_TOML_ESCAPES.get(ch) or (f"\\u{ord(ch):04x}" if ch < " " or ch == "\x7f" else ch)
                             for ch in value) + '"'
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return str(value)
