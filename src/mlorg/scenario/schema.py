"""The whole scenario: one section per part of the organisation, each declared in its own module."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from mlorg.scenario.drift import DRIFT_CAUSES, Drift, Impact, Incidents, Monitoring
from mlorg.scenario.fields import GUARD, Distribution, spec
from mlorg.scenario.infra import Infra
from mlorg.scenario.org import Attrition, Org, Policy, RoleCosts, Skills
from mlorg.scenario.pipeline import Pipeline
from mlorg.scenario.portfolio import ModelClass, ValueLoss
from mlorg.scenario.serving import Serving
from mlorg.scenario.uncertain import Uncertainty
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
    infra: Infra = field(default_factory=Infra)
    drift: Drift = field(default_factory=Drift)
    monitoring: Monitoring = field(default_factory=Monitoring)
    incidents: Incidents = field(default_factory=Incidents)
    impact: Impact = field(default_factory=Impact)
    pipeline: Pipeline = field(default_factory=Pipeline)
    portfolio: tuple[ModelClass, ...] = spec(
        factory=tuple, doc="the classes of models the organisation builds: [[portfolio]] name, share, value, … "
        "(none: one class from [impact] and [serving])")
    # The inputs written with an uncertainty, gathered from wherever they stand in the file (each field holds its
    # point value). Not a table of its own: a file writes each uncertainty at its field.
    uncertain: tuple[Uncertainty, ...] = field(default=(), metadata={"internal": True})

    def replace(self, **changes: Any) -> Scenario:
        return dataclasses.replace(self, **changes)

    def model_classes(self) -> tuple[ModelClass, ...]:
        """The classes of models the organisation builds; without a ``[[portfolio]]``, one class made from
        ``[impact]`` (its value: the positives a healthy model catches, times their worth) and ``[drift]`` (what
        each cause costs), served by the ``[serving]`` shares, as before classes existed."""
        if self.portfolio:
            return self.portfolio
        i = self.impact
        value = i.predictions_per_day * i.positive_rate * i.usd_per_positive * i.recall
        return (ModelClass(
            name="model", share=1.0, serving_mode="any",
            predictions_per_day=Distribution(dist="deterministic", mean=i.predictions_per_day, cv=0.0),
            value_per_day_usd=Distribution(dist="deterministic", mean=value, cv=0.0),
            value_source="[impact]: predictions a day × positive rate × value of a positive × recall",
            value_loss=ValueLoss(**{c: getattr(self.drift, c).performance_loss for c in DRIFT_CAUSES}),
            positive_rate=i.positive_rate, recall=i.recall, label_delay_days=i.label_delay_days,
            label_delay_cv=i.label_delay_cv),)


# Bounds on the whole run, checked after the fields: a scenario can be valid field by field and still ask
# for billions of events.
MAX_PEOPLE = 20_000
MAX_PERSON_YEARS = 200_000
