"""The work a model takes from research to retirement, and the platform capabilities that make it cheaper."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlorg.scenario.fields import GUARD, Distribution, dist, spec

CAPABILITIES = ("feature_pipelines", "model_registry", "serving", "monitoring", "incident_process")


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
    # Planning assumptions, shown as such: ML engineers own each live model's data and feature pipelines, and help
    # the data scientists (reviews, data access, pairing on production code).
    pipeline_hours_per_model_week: float = spec(
        0.5, unit="hours/week", lo=0.0, hi=168,
        doc="data and feature pipeline work per live model, carried by ML engineers (capabilities cut it as toil)")
    support_hours_per_data_scientist_week: float = spec(
        2.0, unit="hours/week", lo=0.0, hi=168, doc="ML-engineer time helping each data scientist (with ML engineers)")


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
    build_order: tuple[str, ...] = spec(CAPABILITIES, choices=CAPABILITIES, label="Build order",
                                        doc="order in which platform engineers build missing capabilities")
    chunk_hours: float = spec(160.0, unit="hours", lo=1.0, hi=1e5,
                              doc="size of one platform work package; several engineers share a capability")
    upkeep_hours_per_model_week: float = spec(
        0.1, unit="hours/week", lo=0.0, hi=168, doc="platform-team time per live model once any capability exists")
    # Spotify (2019) ran ≈ 45 platform engineers for > 600 ML practitioners: ≈ 2.4 platform hours per practitioner
    # each week in all. Support is a planning assumption within that bound.
    support_hours_per_person_week: float = spec(
        1.0, unit="hours/week", lo=0.0, hi=168,
        doc="platform-team time supporting each data scientist and ML engineer once any capability exists")
    # After the build order, the platform team works a roadmap: finite items (new features, migrations, upgrades),
    # each winning a share of what is left to win. Planning assumptions, shown as such: a quarter's item each
    # quarter for a fleet of up to 100 models, more as the fleet grows (more teams ask, migrations touch more
    # models), as the square root of the fleet's size.
    roadmap_items_per_year: float = spec(
        4.0, unit="1/year", lo=0.0, hi=365.0,
        doc="roadmap items a year once the build order is built, for up to roadmap_models live models; beyond, "
            "times √(live models / roadmap_models)")
    roadmap_models: float = spec(100.0, unit="models", lo=1.0, hi=1e6,
                                 doc="the fleet size up to which the roadmap has roadmap_items_per_year items")
    roadmap_item_hours: float = spec(480.0, unit="hours", lo=0.0, hi=1e5, doc="platform-engineer hours per item")
    roadmap_effort_gain: float = spec(
        0.1, lo=0.0, hi=1.0, doc="share of the way from today's productionisation and retraining effort to "
        "roadmap_floor × the capabilities' effort that one item wins")
    roadmap_toil_gain: float = spec(0.1, lo=0.0, hi=1.0,
                                    doc="share of the way to roadmap_floor that one item wins on per-model toil and "
                                        "pipeline work")
    roadmap_drift_gain: float = spec(0.06, lo=0.0, hi=1.0,
                                     doc="share of the way to roadmap_floor that one item wins on the rate of breaks "
                                         "and bad deploys")
    roadmap_floor: float = spec(0.5, lo=0.0, lo_open=True, hi=1.0,
                                doc="the least any roadmap factor can reach: returns diminish towards it")
    capabilities: Capabilities = field(default_factory=Capabilities)


