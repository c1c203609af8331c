"""The things the organisation simulator moves around: models, work items, people, incidents, and the raw output
of one run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from mlorg.rng import Sampler, Uniforms
from mlorg.scenario import Scenario
from mlorg.serving.fleet import ServingTotals
from mlorg.sim.levels import Level
from mlorg.sim.portfolio import ModelTraits
from mlorg.sim.serving import ServingDraws

HOURS_PER_DAY = 24.0
HOURS_PER_WEEK = 168.0
HOURS_PER_YEAR = 8760.0
HOURS_PER_MONTH = 730.5  # as the monitors count false alarms per month (365.25 days / 12)
NAN = float("nan")
RESTORED = 0.95  # a degradation counts as restored once this share of what it cost is won back


@dataclass(slots=True, eq=False)
class ModelDraws:
    """The random draws for the models one person trains, so that they do not depend on anyone else's
    (common random numbers: adding an ML engineer leaves each data scientist's models exactly as they were)."""

    effort: Sampler
    review: Sampler
    retraining: Sampler
    lifetime: Sampler
    traits: np.random.Generator  # each model's class, traffic and value (three draws a model)
    governance: Uniforms  # validation and A/B outcomes, risk-review effort (two draws and a sample)
    serving: ServingDraws | None = None
    incidents: IncidentDraws | None = None
    # Times of governance draws due but not yet taken from ``governance`` (a heap; see GovernanceSteps._uniform).
    governance_skipped: list[float] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class IncidentDraws:
    """Drift arrivals and incident response for the models one person trains."""

    random: np.random.Generator  # arrivals, causes, defects at deploy, monitor lags
    business: Sampler
    diagnose: Sampler
    manual_rollback: Sampler
    hotfix: Sampler


@dataclass(slots=True, eq=False)
class Incident:
    """One cause degrading one live model, from onset until it ends (restored, replaced, retired or the horizon).

    ``loss_per_hour`` is what the cause costs at full strength; each action wins back a share of it
    (``recovered``, which only rises), and the loss accrues at ``loss_per_hour × (1 − recovered)``.
    """

    model: Model
    cause: str
    onset: float
    loss_per_hour: float
    detected_at: float = NAN
    detected_by: str = ""
    recovered: float = 0.0
    loss_usd: float = 0.0  # accrued up to ``accrued_to``
    accrued_to: float = NAN
    mitigated_at: float = NAN  # the first action that won anything back
    mitigation: str = ""
    restored_at: float = NAN  # when what was won back reached RESTORED
    restored_by: str = ""
    ended_at: float = NAN
    ended_by: str = ""  # restored | new_version | retired | horizon


@dataclass(slots=True, eq=False)
class Model:
    """A trained model: the first version is a new model, later versions come from retraining."""

    id: int
    trained_at: float
    trained_by: int
    draws: ModelDraws | None  # the trainer's draws while the run lasts; None after it
    traits: ModelTraits
    live_at: float = NAN
    serving_at: float = NAN  # first served real users: its A/B test began, or it went live without one
    abandoned_at: float = NAN
    rejected_at: float = NAN  # failed validation or lost its A/B test: never ships
    rejected_by: str = ""
    retired_at: float = NAN
    versions_live: int = 0
    version_pending: bool = False
    is_live: bool = False
    serving_mode: str = ""  # realtime | batch | edge, when the scenario serves models
    serving_level: float = 0.0  # requests/s, rows/day or devices
    serving_cost: float = 0.0
    predictions: float = 0.0
    value_usd: float = 0.0  # its value when healthy over the hours it was live (settled when it stops)
    # Degradations open now; a list from its first one on (an empty list for each of a large run's ten thousand
    # models, most never degraded, was that many more objects for the collector to walk after the run).
    open_incidents: list[Incident] | tuple[()] = ()


@dataclass(slots=True, eq=False)
class WorkItem:
    kind: str  # one of ACTIVITIES other than toil
    base_effort: float  # person-hours at efficiency 1 before capability factors
    model: Model | None = None
    is_version: bool = False
    capability: str = ""
    effort: float = NAN  # person-hours left, fixed (with the factors then in force) when work starts
    state: str = "queued"  # queued | active | done | abandoned
    skill: str = ""  # the efficiency that applies: the kind itself, or for incident work toil or retraining
    incident: Incident | None = None
    step: str = ""  # incident work: diagnose | manual_rollback | hotfix | interim | retrain; governance: its step
    parent: WorkItem | None = None  # governance work: the production item whose model waits for it

    def __post_init__(self):
        if not self.skill:
            self.skill = self.kind


@dataclass(slots=True, eq=False)
class Worker:
    id: int
    role: str
    efficiency: dict[str, float]
    # Where the person is in their loop (org.py): starting | idle | working | finishing (an incident, to its end),
    # the number of the one clock call that may move them on, the bound call itself, and when their task ends.
    state: str = "starting"
    expect: int = -1
    resume: Callable[[int], None] | None = None
    alive: bool = True
    end: float = 0.0
    item: WorkItem | None = None
    activity: str = "idle"
    since: float = 0.0
    ramp_until: float = 0.0  # a person hired after day 0 reaches full pace then (day-0 staff: at once)
    load_share: float = 0.0  # share of their capacity taken by steady load when the current task started
    support_split: float = 0.0  # of that load, the share that is support (the rest is toil)
    task_hours: float = 0.0  # calendar length of the current task
    production_hours: float = 0.0
    worked_hours: float = 0.0
    research: Sampler | None = None
    draws: ModelDraws | None = None
    paused: WorkItem | None = None  # own research set aside for an incident


EVENT_FIELDS = 5  # time (hours), event, model id, worker id, detail


class EventLog:
    """What happened in a run, in order: rows of (time, event, model id, worker id, detail), kept flat in one list.
    A large run logs a quarter of a million rows; as tuples they were as many objects for the garbage collector to
    walk once the run ended (a twentieth of the run's time), where a list of numbers and strings is one object."""

    __slots__ = ("flat",)

    def __init__(self) -> None:
        self.flat: list = []

    def __len__(self) -> int:
        return len(self.flat) // EVENT_FIELDS

    def __iter__(self):
        return zip(*self.columns(), strict=True)

    def columns(self) -> list[list]:
        """The five columns, each a list."""
        return [self.flat[i::EVENT_FIELDS] for i in range(EVENT_FIELDS)]


@dataclass
class SimOutput:
    """Raw records of one run; :mod:`mlorg.results` turns them into tidy frames."""

    scenario: Scenario
    seed: int
    replication: int
    horizon: float
    models: list[Model]
    events: EventLog
    levels: dict[str, Level]
    role_hours: dict[str, dict[str, float]]
    capabilities_built: dict[str, float]
    deploys: int  # versions put live, new models' first versions included (each is also a "live" event)
    toil_unmet_hours: float
    event_count: int
    serving: dict[str, ServingTotals] | None  # by mode; None when the scenario does not serve models
    edge_stale_device_days: float  # edge devices × days on a superseded version during rollouts
    incidents: list[Incident] | None = None  # None when the scenario does not simulate drift
    drift_prevented: dict[str, int] | None = None
    false_alarms: int = 0
    monitored_model_months: float = 0.0
