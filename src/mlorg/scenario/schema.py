"""The whole scenario: one section per part of the organisation, each declared in its own module."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from mlorg.scenario.drift import Drift, Impact, Incidents, Monitoring
from mlorg.scenario.fields import GUARD, spec
from mlorg.scenario.org import Attrition, Org, Policy, RoleCosts, Skills
from mlorg.scenario.pipeline import Pipeline
from mlorg.scenario.serving import Serving
from mlorg.scenario.work import Deploy, Lifecycle, Platform, Productionisation, Research


@dataclass(frozen=True, kw_only=True)
class Scenario:
    name: str = spec("scenario", doc="short name shown in results")
    description: str = spec("", doc="what the scenario represents")
    horizon_days: float = spec(730.0, unit="days", lo=1.0, hi=36500, hi_reason=GUARD,
                               doc="simulated time", label="Horizon (days)")
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
