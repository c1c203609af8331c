"""The scenario schema: typed, frozen, validated in one place.

A scenario is a TOML file (see ``scenarios/``). Every field has a default, a unit and an allowed range,
declared next to it with :func:`~mlorg.scenario.fields.spec` in the module of its section (``org``, ``work``,
``serving``, ``drift``, ``pipeline``); :func:`from_dict` walks the dataclasses, so a wrong value is reported
with its dotted path, the value and what is allowed, and an unknown key with the closest known one. Upper
limits keep a run from hanging or exhausting memory and say so. Rules across fields live in ``checks``.
"""

from mlorg.scenario.checks import pipeline_minimum_days
from mlorg.scenario.docs import field_docs, field_label, field_rule
from mlorg.scenario.drift import (
    DRIFT_CAUSES,
    PREVENTED_BY,
    WINDOW_MONITOR_DETECTORS,
    Breakage,
    CauseShares,
    DeployDefect,
    Drift,
    Effect,
    Impact,
    Incidents,
    Monitoring,
    PerformanceMonitoring,
    Recovery,
    SignalMonitor,
    WorldChange,
)
from mlorg.scenario.fields import DISTRIBUTIONS, GUARD, Distribution, ScenarioError
from mlorg.scenario.files import load, loads, to_toml
from mlorg.scenario.infra import Infra
from mlorg.scenario.org import ACTIVITIES, ROLES, Attrition, Hire, Org, Policy, RoleCosts, RoleRates, Skill, Skills
from mlorg.scenario.pipeline import PIPELINE_CAUSES, Pipeline, PipelineCause
from mlorg.scenario.portfolio import SERVING_MODES, Governance, ModelClass, ValueLoss
from mlorg.scenario.schema import MAX_PEOPLE, MAX_PERSON_YEARS, Scenario
from mlorg.scenario.serving import DAILY_PROFILE, WEEKLY_PROFILE, Batch, Edge, Realtime, Serving
from mlorg.scenario.validation import field_problem, from_dict, validate
from mlorg.scenario.work import (
    CAPABILITIES,
    Capabilities,
    Capability,
    Deploy,
    Lifecycle,
    Platform,
    Productionisation,
    Research,
)

__all__ = [
    "ACTIVITIES", "CAPABILITIES", "DAILY_PROFILE", "DISTRIBUTIONS", "DRIFT_CAUSES", "GUARD", "MAX_PEOPLE",
    "MAX_PERSON_YEARS", "PIPELINE_CAUSES", "PREVENTED_BY", "ROLES", "WEEKLY_PROFILE", "WINDOW_MONITOR_DETECTORS",
    "SERVING_MODES", "Attrition", "Batch", "CauseShares", "Governance", "ModelClass", "Recovery", "ValueLoss",
    "Breakage", "Capabilities", "Capability", "Deploy", "DeployDefect", "Distribution", "Drift", "Edge", "Effect",
    "Hire", "Impact", "Incidents", "Infra", "Lifecycle", "Monitoring", "Org", "PerformanceMonitoring", "Pipeline",
    "PipelineCause", "Platform", "Policy", "Productionisation", "Realtime", "Research", "RoleCosts", "RoleRates",
    "Scenario", "ScenarioError", "Serving", "SignalMonitor", "Skill", "Skills", "WorldChange", "field_docs",
    "field_label", "field_problem", "field_rule", "from_dict", "load", "loads", "pipeline_minimum_days", "to_toml",
    "validate",
]
