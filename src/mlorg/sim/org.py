"""The SimPy model of an ML organisation: staff pulling prioritised work, and models moving to live.

Time is in hours. People deliver ``productive_hours_per_week`` person-hours per calendar week, so an
effort of E person-hours at efficiency e takes E / (e · hours/168) calendar hours. Each person is a
process that, when free, takes the most urgent work its role can do:

    productionisation  >  retraining  >  platform building  >  research

Per-model toil and platform upkeep are steady loads, so they are modelled as a share of each role's
capacity (recomputed whenever the number of live models, capabilities or staff changes) rather than as
one event per model per week; that share slows every task the role starts and is booked as toil.

When the scenario simulates drift, live models suffer drift, pipeline breaks and bad deploys
(:mod:`mlorg.sim.drift` says when monitors or the business notice). Incident work comes before everything:
the on-call person (an ML engineer if there is one) stops what they are doing, diagnoses, and mitigates by
rollback, hot-fix or an urgent retrain by a data scientist, who is pulled off their work the same way.
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import simpy

from mlorg.rng import Sampler, Streams
from mlorg.scenario import ACTIVITIES, CAPABILITIES, DRIFT_CAUSES, PREVENTED_BY, ROLES, Distribution, Scenario
from mlorg.serving.fleet import ServingTotals
from mlorg.sim.drift import Monitors, loss_per_hour
from mlorg.sim.levels import Level
from mlorg.sim.serving import ServingDraws, ServingLedger

# Who carries steady load, in order of preference: per-model toil falls to ML engineers if there are any,
# platform upkeep to platform engineers.
MODEL_TOIL_CARRIERS = ("ml_engineer", "data_scientist", "platform_engineer")
UPKEEP_CARRIERS = ("platform_engineer", "ml_engineer", "data_scientist")
ONCALL = MODEL_TOIL_CARRIERS  # who answers an incident, in order of preference
WORLD_CAUSES = ("covariate", "concept", "pipeline_break")
DEPLOY_CAUSES = ("skew", "bad_version", "latency_regression")
ROLLBACK_FIXES = DEPLOY_CAUSES  # what a previous version does not have
RETRAIN_FIXES = ("covariate", "concept")  # what only a model trained on post-drift labels fixes

HOURS_PER_DAY = 24.0
HOURS_PER_WEEK = 168.0
HOURS_PER_YEAR = 8760.0
HOURS_PER_MONTH = 730.5  # as the monitors count false alarms per month (365.25 days / 12)
NAN = float("nan")


@dataclass(slots=True, eq=False)
class ModelDraws:
    """The random draws for the models one person trains, so that they do not depend on anyone else's
    (common random numbers: adding an ML engineer leaves each data scientist's models exactly as they were)."""

    effort: Sampler
    review: Sampler
    retraining: Sampler
    lifetime: Sampler
    serving: ServingDraws | None = None
    incidents: IncidentDraws | None = None


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
    """One cause degrading one live model, from onset until it ends (mitigated, replaced or retired)."""

    model: Model
    cause: str
    onset: float
    loss_per_hour: float
    detected_at: float = NAN
    detected_by: str = ""
    relieved_at: float = NAN  # a quick fix cut the loss while a retrain waits for labels
    relief: float = 0.0  # share of the loss it won back
    mitigated_at: float = NAN
    mitigation: str = ""
    ended_at: float = NAN
    ended_by: str = ""  # mitigated | new_version | retired | horizon


@dataclass(slots=True, eq=False)
class Model:
    """A trained model: the first version is a new model, later versions come from retraining."""

    id: int
    trained_at: float
    trained_by: int
    draws: ModelDraws
    live_at: float = NAN
    abandoned_at: float = NAN
    retired_at: float = NAN
    versions_live: int = 0
    version_pending: bool = False
    is_live: bool = False
    serving_mode: str = ""  # realtime | batch | edge, when the scenario serves models
    serving_level: float = 0.0  # requests/s, rows/day or devices
    serving_cost: float = 0.0
    predictions: float = 0.0
    open_incidents: list[Incident] = field(default_factory=list)


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
    step: str = ""  # incident work: diagnose | manual_rollback | hotfix | retrain

    def __post_init__(self):
        if not self.skill:
            self.skill = self.kind


@dataclass(slots=True, eq=False)
class Worker:
    id: int
    role: str
    efficiency: dict[str, float]
    process: simpy.Process | None = None
    wake: simpy.Event | None = None
    item: WorkItem | None = None
    activity: str = "idle"
    since: float = 0.0
    toil_share: float = 0.0
    task_hours: float = 0.0  # calendar length of the current task
    production_hours: float = 0.0
    worked_hours: float = 0.0
    research: Sampler | None = None
    draws: ModelDraws | None = None
    paused: WorkItem | None = None  # own research set aside for an incident


@dataclass
class SimOutput:
    """Raw records of one run; :mod:`mlorg.results` turns them into tidy frames."""

    scenario: Scenario
    seed: int
    replication: int
    horizon: float
    models: list[Model]
    events: list[tuple]
    levels: dict[str, Level]
    role_hours: dict[str, dict[str, float]]
    capabilities_built: dict[str, float]
    deploys: list[tuple[float, int, int]]  # (time, model id, version number)
    toil_unmet_hours: float
    event_count: int
    serving: dict[str, ServingTotals] | None  # by mode; None when the scenario does not serve models
    edge_stale_device_days: float  # edge devices × days on a superseded version during rollouts
    incidents: list[Incident] | None = None  # None when the scenario does not simulate drift
    drift_prevented: dict[str, int] | None = None
    false_alarms: int = 0
    monitored_model_months: float = 0.0


class OrgSimulation:
    """One replication of a scenario. ``OrgSimulation(s, seed).run()`` returns a :class:`SimOutput`."""

    def __init__(self, scenario: Scenario, seed: int = 0, replication: int = 0):
        self.s = scenario
        self.seed = seed
        self.replication = replication
        self.streams = Streams(seed, replication)
        self.env = simpy.Environment()
        self.horizon = scenario.horizon_days * HOURS_PER_DAY
        self.speed = scenario.org.productive_hours_per_week / HOURS_PER_WEEK  # person-hours per hour

        lc = scenario.lifecycle
        self.lifetime = Distribution(dist="exponential", mean=lc.lifetime_days * HOURS_PER_DAY)
        self.attrition_rng = {role: self.streams.generator(f"attrition/{role}") for role in ROLES}

        self.models: list[Model] = []
        self.events: list[tuple] = []
        self.deploys: list[tuple[float, int, int]] = []
        self.production: deque[WorkItem] = deque()
        self.retraining: deque[WorkItem] = deque()
        self.platform_work: deque[WorkItem] = deque()
        self.incident_work: deque[WorkItem] = deque()
        self.queues = {"productionisation": self.production, "retraining": self.retraining,
                       "platform": self.platform_work, "incident": self.incident_work}
        self.chunks_left: dict[str, int] = {}
        # Idle people by role, longest idle first. OrderedDict, not dict: a dict that keeps losing its first
        # entries must skip the deleted slots on every iteration, which made dispatch grow with history.
        self.idle: dict[str, OrderedDict[int, Worker]] = {role: OrderedDict() for role in ROLES}
        self.workers: dict[int, Worker] = {}
        self.staff: dict[str, dict[int, Worker]] = {role: {} for role in ROLES}  # the same people, by role
        self.role_efficiency = {role: {a: getattr(getattr(scenario.skills, role), a) for a in ACTIVITIES}
                                for role in ROLES}
        self.role_count = dict.fromkeys(ROLES, 0)
        self.hires_by_role = dict.fromkeys(ROLES, 0)
        self.role_hours = {role: dict.fromkeys((*ACTIVITIES, "incident", "idle"), 0.0) for role in ROLES}
        self.toil_share = dict.fromkeys(ROLES, 0.0)
        self.toil_efficiency = {role: getattr(scenario.skills, role).toil for role in ROLES}
        self.max_toil_share = scenario.policy.max_toil_share
        self.upkeep_fixed = 0.0  # hours/week to keep the built capabilities running
        self.toil_unmet_per_week = 0.0
        self.toil_unmet_hours = 0.0
        self.toil_unmet_since = 0.0

        caps = scenario.platform.capabilities
        self.capability = {name: getattr(caps, name) for name in CAPABILITIES}
        self.built: dict[str, float] = {}
        # Multipliers from the capabilities built so far, keyed by the work they change.
        self.factor = {"productionisation": 1.0, "retraining": 1.0, "research": 1.0, "platform": 1.0,
                       "toil": 1.0, "review": 1.0}
        self.levels = {name: Level(name) for name in (
            "backlog", "models_live", "capabilities_built", "model_toil_hours_per_week", "upkeep_hours_per_week",
            "toil_unmet_hours_per_week",
            *(f"headcount_{role}" for role in ROLES))}
        self.backlog, self.models_live = self.levels["backlog"], self.levels["models_live"]
        self.next_worker_id = 0
        self.serving = ServingLedger(scenario, self.streams, self.horizon) if scenario.serving.enabled else None
        self.drift = scenario.drift.enabled
        self.monitors = Monitors(scenario) if self.drift else None
        self.incidents: list[Incident] = []
        self.prevented = dict.fromkeys(DRIFT_CAUSES, 0)
        self.world_rate = sum(getattr(scenario.drift, c).rate_per_model_year for c in WORLD_CAUSES) / HOURS_PER_YEAR
        self.monitored_hours = 0.0  # live-model hours under monitoring, for the false-alarm count
        self.monitored_since = 0.0
        self.monitored_live = 0.0
        self.false_alarms_per_model_month = self.monitors.false_alarms_per_model_month() if self.drift else 0.0

    # ---------------------------------------------------------------------------------------- set-up

    def run(self) -> SimOutput:
        s = self.s
        for name, cap in self.capability.items():
            if cap.built:
                self._capability_built(name)
        for name in s.platform.build_order:
            if name not in self.built:
                self._plan_capability(name)
        for role, count in (("data_scientist", s.org.data_scientists), ("ml_engineer", s.org.ml_engineers),
                            ("platform_engineer", s.org.platform_engineers)):
            for _ in range(count):
                self._hire(role)
        for hire in s.org.hiring:
            self._at(hire.day * HOURS_PER_DAY, lambda _ev, h=hire: [self._hire(h.role) for _ in range(h.count)])
        self._update_toil()
        self.env.run(until=self.horizon)
        return self._finish()

    def _at(self, time: float, callback) -> None:
        """Call ``callback(event)`` at an absolute time, if it falls within the horizon.

        Callbacks are bound methods or ``functools.partial``s taking the event last, not lambdas: a
        lambda costs one more Python call per event.
        """
        if time < self.horizon:
            delay = time - self.env._now
            self.env.timeout(delay if delay > 0.0 else 0.0).callbacks.append(callback)

    def _log(self, event: str, model: int = -1, worker: int = -1, detail: str = "") -> None:
        self.events.append((self.env._now, event, model, worker, detail))

    # ----------------------------------------------------------------------------------------- staff

    def _hire(self, role: str) -> None:
        index = self.hires_by_role[role]
        self.hires_by_role[role] += 1
        worker = Worker(id=self.next_worker_id, role=role, efficiency=self.role_efficiency[role], since=self.env._now)
        self.next_worker_id += 1
        if worker.efficiency["research"] > 0:
            name, s = f"{role}/{index}", self.s
            worker.research = self.streams.sampler(f"research/{name}", s.research.cycle_hours)
            worker.draws = ModelDraws(
                effort=self.streams.sampler(f"productionisation/effort/{name}", s.productionisation.effort_hours),
                review=self.streams.sampler(f"deploy/review/{name}", s.deploy.review_hours),
                retraining=self.streams.sampler(f"lifecycle/retraining/{name}", s.lifecycle.retraining_effort_hours),
                lifetime=self.streams.sampler(f"lifecycle/lifetime/{name}", self.lifetime),
                serving=self.serving.draws(name) if self.serving else None,
                incidents=self._incident_draws(name) if self.drift else None)
        self.workers[worker.id] = worker
        self.staff[role][worker.id] = worker
        self._set_headcount(role, +1)
        self._log("hired", worker=worker.id, detail=role)
        worker.process = self.env.process(self._work(worker))
        rate = getattr(self.s.attrition.annual_rate, role)
        if rate > 0:
            tenure = self.attrition_rng[role].exponential(HOURS_PER_YEAR / rate)
            self._at(self.env._now + tenure, lambda _ev: worker.process.interrupt("leaves"))

    def _incident_draws(self, name: str) -> IncidentDraws:
        i = self.s.incidents
        return IncidentDraws(
            random=self.streams.generator(f"drift/{name}"),
            business=self.streams.sampler(f"incidents/business/{name}", Distribution(
                dist=i.business_detection_days.dist, mean=i.business_detection_days.mean * HOURS_PER_DAY,
                cv=i.business_detection_days.cv)),
            diagnose=self.streams.sampler(f"incidents/diagnose/{name}", i.diagnose_hours),
            manual_rollback=self.streams.sampler(f"incidents/rollback/{name}", i.manual_rollback_hours),
            hotfix=self.streams.sampler(f"incidents/hotfix/{name}", i.hotfix_hours))

    def _set_headcount(self, role: str, delta: int) -> None:
        self.role_count[role] += delta
        self.levels[f"headcount_{role}"].set(self.env._now, self.role_count[role])
        self._update_toil()

    def _leave(self, worker: Worker) -> None:
        self.idle[worker.role].pop(worker.id, None)
        item = worker.item
        started = worker.activity != "idle"  # an item offered to an idle person has not been started
        done_share = (self.env._now - worker.since) / worker.task_hours if started and worker.task_hours > 0 else 0.0
        self._close(worker)
        if item is not None and item.state in ("active", "preempted") and item.kind != "research":
            item.effort *= max(0.0, 1.0 - done_share)
            item.state = "queued"
            self.queues[item.kind].appendleft(item)
            self._offer(item)
        worker.item = None
        del self.workers[worker.id]
        del self.staff[worker.role][worker.id]
        self._set_headcount(worker.role, -1)
        self._log("left", worker=worker.id, detail=worker.role)
        if self.s.attrition.backfill:
            self._at(self.env._now + self.s.attrition.time_to_hire_days * HOURS_PER_DAY,
                     lambda _ev, role=worker.role: self._hire(role))

    def _work(self, w: Worker):
        env, role_hours, toil_share = self.env, self.role_hours[w.role], self.toil_share
        speed, factor = self.speed, self.factor
        while True:
            item = self._take(w)
            if item is None:
                w.wake = env.event()
                self.idle[w.role][w.id] = w
                self._begin(w, "idle", None, 0.0)
                try:
                    yield w.wake
                except simpy.Interrupt as stop:
                    self.idle[w.role].pop(w.id, None)
                    if stop.cause == "leaves":
                        self._leave(w)
                        return
                    self._close(w)
                    if w.item is not None:  # work offered in the same instant: back to its queue, not started
                        offered, w.item = w.item, None
                        offered.state = "queued"
                        self.queues[offered.kind].appendleft(offered)
                        self._offer(offered)
                    continue  # an incident call that arrived after the work it was meant to stop
                self._close(w)
                item = w.item
            item.state = "active"
            if item.effort != item.effort:  # NaN: first start, apply the capabilities now in force
                item.effort = item.base_effort * factor[item.kind]
            share = toil_share[w.role]
            hours = item.effort / (w.efficiency[item.skill] * (1.0 - share) * speed)
            w.activity, w.item, w.since, w.task_hours, w.toil_share = item.kind, item, env._now, hours, share
            end = env._now + hours
            try:
                yield env.timeout(hours)
            except simpy.Interrupt as stop:
                if stop.cause == "leaves":
                    self._leave(w)
                    return
                if item.kind != "incident":
                    self._set_aside(w, item)
                    continue
                # A call meant for the work this person just finished: the incident they are on comes first.
                item.state = "active"
                while True:
                    try:
                        yield env.timeout(end - env._now)
                        break
                    except simpy.Interrupt as again:
                        if again.cause == "leaves":
                            self._leave(w)
                            return
            # Book the task (inlined _close: this loop is the simulator's hot path).
            own = hours * (1.0 - share)
            role_hours[item.kind] += own
            role_hours["toil"] += hours - own
            w.worked_hours += hours
            if item.kind == "productionisation":
                w.production_hours += own
            w.since = env._now
            w.item = None
            item.state = "done"
            self._done(item, w)

    def _set_aside(self, w: Worker, item: WorkItem) -> None:
        """An incident took this person off ``item``: book the time so far and keep the rest of the work."""
        done_share = (self.env._now - w.since) / w.task_hours if w.task_hours > 0 else 1.0
        self._close(w)
        item.effort *= max(0.0, 1.0 - done_share)
        item.state = "queued"
        w.item = None
        if item.kind == "research":
            w.paused = item
        else:
            self.queues[item.kind].appendleft(item)
            self._offer(item)

    def _begin(self, w: Worker, activity: str, item: WorkItem | None, hours: float) -> None:
        w.activity = activity
        w.item = item
        w.since = self.env._now
        w.task_hours = hours
        w.toil_share = self.toil_share[w.role]

    def _close(self, w: Worker) -> None:
        """Book the time since the worker's last change of activity."""
        elapsed = self.env._now - w.since
        if elapsed <= 0:
            return
        hours = self.role_hours[w.role]
        own = elapsed * (1.0 - w.toil_share)
        hours[w.activity] += own
        hours["toil"] += elapsed - own
        w.worked_hours += elapsed
        if w.activity == "productionisation":
            w.production_hours += own
        w.since = self.env._now

    def _take(self, w: Worker) -> WorkItem | None:
        """The most urgent work this worker can and will do now, or None."""
        eff = w.efficiency
        if self.incident_work:
            item = self._incident_for(eff)
            if item is not None:
                return item
        if w.paused is not None:
            item, w.paused = w.paused, None
            return item
        if eff["productionisation"] > 0 and (w.role != "data_scientist" or self._takes_production(w)):
            item = self._pop(self.production)
            if item is not None:
                return item
        if eff["retraining"] > 0:
            item = self._pop(self.retraining)
            if item is not None:
                return item
        if eff["platform"] > 0:
            item = self._pop(self.platform_work)
            if item is not None:
                return item
        if eff["research"] > 0:
            return WorkItem(kind="research", base_effort=w.research(), effort=NAN)
        return None

    def _incident_for(self, efficiency: dict[str, float]) -> WorkItem | None:
        """The oldest queued incident work this person can do. Work handed straight to someone stays in the
        queue marked active, so drop it here; the queue is short (open incidents only)."""
        queue = self.incident_work
        for item in list(queue):
            if item.state != "queued":
                queue.remove(item)
            elif efficiency[item.skill] > 0:
                queue.remove(item)
                return item
        return None

    def _takes_production(self, w: Worker) -> bool:
        if w.role != "data_scientist":
            return True
        policy = self.s.policy
        if policy.data_scientists_productionise == "never":
            return False
        if policy.data_scientists_productionise == "when_no_ml_engineers" and self.role_count["ml_engineer"]:
            return False
        return w.production_hours < policy.data_scientist_max_production_share * w.worked_hours

    @staticmethod
    def _pop(queue: deque[WorkItem]) -> WorkItem | None:
        while queue:
            item = queue.popleft()
            if item.state == "queued":
                return item
        return None

    def _enqueue(self, item: WorkItem) -> None:
        self.queues[item.kind].append(item)
        self._offer(item)

    def _offer(self, item: WorkItem) -> None:
        """Hand queued work straight to the longest-idle person who would take it; incident work takes someone
        off their work if nobody who can do it is idle."""
        roles = ONCALL if item.kind == "incident" else ROLES
        for role in roles:
            idle = self.idle[role]
            if not idle or self.role_efficiency[role][item.skill] <= 0:
                continue
            if role == "data_scientist" and item.kind == "productionisation":
                worker = next((w for w in idle.values() if self._takes_production(w)), None)
                if worker is None:
                    continue
                del idle[worker.id]
            else:
                worker = idle.popitem(last=False)[1]
            item.state = "active"
            worker.item = item
            worker.wake.succeed()
            return
        if item.kind == "incident":
            self._preempt(item)

    def _preempt(self, item: WorkItem) -> None:
        for role in ONCALL:
            if self.role_efficiency[role][item.skill] <= 0:
                continue
            for worker in self.staff[role].values():
                if (worker.item is not None and worker.activity not in ("incident", "idle")
                        and worker.item.state == "active"):
                    worker.item.state = "preempted"  # not offered twice while the interrupt is on its way
                    worker.process.interrupt("incident")
                    return

    # ------------------------------------------------------------------------------- model lifecycle

    def _done(self, item: WorkItem, w: Worker) -> None:
        now = self.env._now
        if item.kind == "research":
            model = Model(id=len(self.models), trained_at=now, trained_by=w.id, draws=w.draws)
            self.models.append(model)
            self.backlog.add(now, 1)
            self._log("trained", model.id, w.id)
            production = WorkItem(kind="productionisation", base_effort=model.draws.effort(), model=model)
            self._enqueue(production)
            abandon_after = self.s.productionisation.abandon_after_days * HOURS_PER_DAY
            self._at(now + abandon_after, partial(self._abandon, production))
        elif item.kind == "retraining":
            model = item.model
            self._log("retrained", model.id, w.id)
            if model.is_live:
                share = self.s.productionisation.version_effort_share
                self._enqueue(WorkItem(kind="productionisation", base_effort=model.draws.effort() * share,
                                       model=model, is_version=True))
            else:
                model.version_pending = False
        elif item.kind == "productionisation":
            self._log("productionised", item.model.id, w.id)
            review = item.model.draws.review() * self.factor["review"]
            ready = now + review
            every = self.s.deploy.release_every_days * HOURS_PER_DAY
            live = math.ceil(ready / every) * every if every > 0 else ready
            self._at(live, partial(self._go_live, item))
        elif item.kind == "incident":
            self._incident_step_done(item)
        elif item.kind == "platform":
            self.chunks_left[item.capability] -= 1
            if self.chunks_left[item.capability] == 0:
                self._capability_built(item.capability)

    def _abandon(self, item: WorkItem, _event: simpy.Event | None = None) -> None:
        started = item.effort == item.effort  # effort is NaN until someone starts the work
        if item.state != "queued" or started:
            return
        item.state = "abandoned"
        item.model.abandoned_at = self.env._now
        self.backlog.add(self.env._now, -1)
        self._log("abandoned", item.model.id)

    def _go_live(self, item: WorkItem, _event: simpy.Event | None = None) -> None:
        now, model = self.env._now, item.model
        if item.is_version:
            model.version_pending = False
            if not model.is_live:
                return
        else:
            model.live_at = now
            model.is_live = True
            self.backlog.add(now, -1)
            self.models_live.add(now, 1)
            lifetime = self.s.lifecycle.lifetime_days
            if lifetime > 0:
                self._at(now + model.draws.lifetime(), partial(self._retire, model))
            self._update_toil()
            if self.serving:
                model.serving_mode, model.serving_level = self.serving.assign(model.draws.serving)
            if self.drift:
                self._next_world_change(model)
        self._new_version(model)
        every = self.s.lifecycle.retrain_every_days
        if every > 0:
            self._at(now + every * HOURS_PER_DAY, partial(self._request_retraining, model))

    def _new_version(self, model: Model) -> None:
        """A new version of a live model goes live: it ends what the old version suffered, and may bring defects."""
        now = self.env._now
        if self.serving:
            model.serving_cost += self.serving.deployed(model.serving_mode, replaces_a_version=model.versions_live > 0)
        model.versions_live += 1
        self.deploys.append((now, model.id, model.versions_live))
        self._log("live", model.id, detail=f"v{model.versions_live}")
        if self.drift:
            # A version trained on recent data and deployed from scratch no longer has the old version's skew or
            # defects, nor its drift; a broken upstream pipeline stays broken.
            self._end_incidents(model, "new_version", lambda i: i.cause != "pipeline_break")
            rng = model.draws.incidents.random
            for cause in DEPLOY_CAUSES:
                defect = getattr(self.s.drift, cause)
                if defect.per_deploy > 0 and rng.random() < defect.per_deploy:
                    self._arrive(model, cause)

    def _request_retraining(self, model: Model, _event: simpy.Event | None = None) -> None:
        if not model.is_live or model.version_pending:
            return
        model.version_pending = True
        self._log("retraining_requested", model.id)
        self._enqueue(WorkItem(kind="retraining", base_effort=model.draws.retraining(), model=model))

    def _retire(self, model: Model, _event: simpy.Event | None = None) -> None:
        model.retired_at = self.env._now
        model.is_live = False
        if self.drift:
            self._end_incidents(model, "retired", lambda _i: True)
        if self.serving:
            self._settle_serving(model)
        self.models_live.add(self.env._now, -1)
        self._log("retired", model.id)
        self._update_toil()

    def _settle_serving(self, model: Model) -> None:
        served = self.serving.settle(model.serving_mode, model.serving_level, model.live_at, self.env._now)
        model.serving_cost += served.cost_usd
        model.predictions += served.predictions

    # --------------------------------------------------------------------------- drift and incidents

    def _next_world_change(self, model: Model) -> None:
        """Changes in the world reach each live model as a Poisson process (all causes merged)."""
        if self.world_rate > 0:
            wait = model.draws.incidents.random.exponential(1.0 / self.world_rate)
            self._at(self.env._now + wait, partial(self._world_change, model))

    def _world_change(self, model: Model, _event: simpy.Event | None = None) -> None:
        if not model.is_live:
            return
        rng = model.draws.incidents.random
        rates = [getattr(self.s.drift, c).rate_per_model_year for c in WORLD_CAUSES]
        cause = WORLD_CAUSES[int(np.searchsorted(np.cumsum(rates), rng.random() * sum(rates), side="right"))]
        self._arrive(model, cause)
        self._next_world_change(model)

    def _arrive(self, model: Model, cause: str) -> None:
        """A cause reaches a live model: stopped by a capability, or the start of a degradation."""
        rng, drift = model.draws.incidents.random, getattr(self.s.drift, cause)
        guard = PREVENTED_BY.get(cause)
        if guard in self.built and drift.prevented_share > 0 and rng.random() < drift.prevented_share:
            self.prevented[cause] += 1
            self._log("drift_prevented", model.id, detail=cause)
            return
        now = self.env._now
        incident = Incident(model=model, cause=cause, onset=now, loss_per_hour=loss_per_hour(self.s, drift))
        self.incidents.append(incident)
        model.open_incidents.append(incident)
        self._log("drift", model.id, detail=cause)
        detection = self.monitors.detect(
            cause, drift, rng, model.draws.incidents.business, monitoring_on="monitoring" in self.built,
            latency_alerting="serving" in self.built, max_hours=self.horizon - now)
        self._at(now + detection.lag_hours, partial(self._detected, incident, detection.by))

    def _detected(self, incident: Incident, by: str, _event: simpy.Event | None = None) -> None:
        if incident.ended_at == incident.ended_at:  # ended before anyone noticed
            return
        incident.detected_at, incident.detected_by = self.env._now, by
        self._log("incident", incident.model.id, detail=f"{incident.cause} by {by}")
        draws = incident.model.draws.incidents
        self._incident_work(incident, "diagnose", draws.diagnose())

    def _incident_work(self, incident: Incident, step: str, effort: float, skill: str = "toil") -> None:
        self._enqueue(WorkItem(kind="incident", base_effort=effort, effort=effort, skill=skill, incident=incident,
                               step=step))

    def _incident_step_done(self, item: WorkItem) -> None:
        incident, now = item.incident, self.env._now
        if incident.ended_at == incident.ended_at:
            return
        model, draws = incident.model, incident.model.draws.incidents
        if item.step == "interim_fix":
            incident.relieved_at, incident.relief = now, self.s.incidents.interim_fix_recovery
            self._log("relieved", model.id, detail=incident.cause)
            labels = (self.s.incidents.fresh_labels_days + self.s.impact.label_delay_days) * HOURS_PER_DAY
            effort = model.draws.retraining() * self.factor["retraining"]
            self._at(max(now, incident.onset + labels), partial(self._urgent_retrain, incident, effort))
            return
        if item.step != "diagnose":
            self._mitigate(incident, item.step)
            return
        if incident.cause in ROLLBACK_FIXES and "model_registry" in self.built and model.versions_live >= 2:
            if "incident_process" in self.built:  # an automated, rehearsed rollback to the previous version
                minutes = self.s.incidents.automated_rollback_minutes
                self._at(now + minutes / 60.0, partial(self._mitigate_at, incident, "automated_rollback"))
            else:
                self._incident_work(incident, "manual_rollback", draws.manual_rollback())
        elif incident.cause in RETRAIN_FIXES:
            # A model for the new world needs labels from it; until they arrive, a quick fix wins back some loss.
            self._incident_work(incident, "interim_fix", draws.hotfix())
        else:  # a pipeline to repair, or a version with nothing to roll back to: fix it by hand
            self._incident_work(incident, "hotfix", draws.hotfix())

    def _urgent_retrain(self, incident: Incident, effort: float, _event: simpy.Event | None = None) -> None:
        if incident.ended_at != incident.ended_at:
            self._incident_work(incident, "retrain", effort, skill="retraining")

    def _mitigate_at(self, incident: Incident, how: str, _event: simpy.Event | None = None) -> None:
        self._mitigate(incident, how)

    def _mitigate(self, incident: Incident, how: str) -> None:
        if incident.ended_at == incident.ended_at:
            return
        incident.mitigated_at, incident.mitigation = self.env._now, how
        self._log("mitigated", incident.model.id, detail=f"{incident.cause} by {how}")
        self._end(incident, "mitigated")
        if how == "retrain" and incident.model.is_live:
            self._new_version(incident.model)  # also ends the model's other drift

    def _end_incidents(self, model: Model, why: str, which) -> None:
        for incident in [i for i in model.open_incidents if which(i)]:
            self._end(incident, why)

    def _end(self, incident: Incident, why: str) -> None:
        if incident.ended_at == incident.ended_at:
            return
        incident.ended_at, incident.ended_by = self.env._now, why
        incident.model.open_incidents.remove(incident)

    def _count_monitored(self) -> None:
        """Keep the integral of monitored live models over time, for the false-alarm count."""
        now = self.env._now
        self.monitored_hours += self.monitored_live * (now - self.monitored_since)
        self.monitored_since = now
        watched = self.monitors is not None and self.monitors.any and "monitoring" in self.built
        self.monitored_live = self.models_live.values[-1] if watched else 0.0

    # -------------------------------------------------------------------------------------- platform

    def _plan_capability(self, name: str) -> None:
        effort = self.capability[name].build_effort_hours
        chunk = self.s.platform.chunk_hours
        n = max(1, math.ceil(effort / chunk - 1e-9))
        self.chunks_left[name] = n
        for i in range(n):
            size = min(chunk, effort - i * chunk) if effort > 0 else 0.0
            self.platform_work.append(WorkItem(kind="platform", base_effort=size, capability=name))

    def _capability_built(self, name: str) -> None:
        cap = self.capability[name]
        self.built[name] = self.env._now
        self.factor["productionisation"] *= cap.effort_factor
        self.factor["toil"] *= cap.toil_factor
        self.factor["retraining"] *= cap.retraining_factor
        self.factor["review"] *= cap.review_factor
        self.upkeep_fixed += cap.upkeep_hours_per_week
        self.levels["capabilities_built"].set(self.env._now, len(self.built))
        self._log("capability_built", detail=name)
        self._update_toil()

    # ------------------------------------------------------------------------------------------ toil

    def _update_toil(self) -> None:
        """Spread the weekly toil over the roles that carry it, as a share of their capacity."""
        now = self.env._now
        self.toil_unmet_hours += self.toil_unmet_per_week * (now - self.toil_unmet_since) / HOURS_PER_WEEK
        self.toil_unmet_since = now
        live = self.models_live.values[-1]
        model_toil = live * self.s.lifecycle.toil_hours_per_model_week * self.factor["toil"]
        if self.drift:
            self._count_monitored()
            # Each false alarm pages the on-call for a look: a steady load like toil.
            model_toil += (self.monitored_live * self.false_alarms_per_model_month * self.s.monitoring.triage_hours
                           * HOURS_PER_WEEK / HOURS_PER_MONTH)
        upkeep = self.upkeep_fixed + (live * self.s.platform.upkeep_hours_per_model_week if self.built else 0.0)
        count, efficiency = self.role_count, self.toil_efficiency
        demand = dict.fromkeys(ROLES, 0.0)
        unmet = 0.0
        for hours, carriers in ((model_toil, MODEL_TOIL_CARRIERS), (upkeep, UPKEEP_CARRIERS)):
            if hours > 0:
                for role in carriers:
                    if count[role] and efficiency[role] > 0:
                        demand[role] += hours / efficiency[role]
                        break
                else:
                    unmet += hours
        for role in ROLES:
            capacity = count[role] * self.s.org.productive_hours_per_week
            share = demand[role] / capacity if capacity else 0.0
            self.toil_share[role] = min(share, self.max_toil_share)
            if share > self.max_toil_share:
                unmet += (share - self.max_toil_share) * capacity * efficiency[role]
        self.toil_unmet_per_week = unmet
        self.levels["toil_unmet_hours_per_week"].set(now, unmet)
        self.levels["model_toil_hours_per_week"].set(now, model_toil)
        self.levels["upkeep_hours_per_week"].set(now, upkeep)

    # ---------------------------------------------------------------------------------------- finish

    def _finish(self) -> SimOutput:
        for worker in self.workers.values():
            self._close(worker)
        if self.serving:
            for model in self.models:
                if model.is_live:
                    self._settle_serving(model)
        self._update_toil()
        false_alarms = 0
        if self.drift:
            for model in self.models:
                self._end_incidents(model, "horizon", lambda _i: True)
            months = self.monitored_hours / HOURS_PER_MONTH
            false_alarms = int(self.streams.generator("monitoring/false_alarms").poisson(
                months * self.false_alarms_per_model_month))
        return SimOutput(
            scenario=self.s, seed=self.seed, replication=self.replication, horizon=self.horizon,
            models=self.models, events=self.events, levels=self.levels, role_hours=self.role_hours,
            capabilities_built=dict(self.built), deploys=self.deploys,
            toil_unmet_hours=self.toil_unmet_hours,
            event_count=next(self.env._eid),  # SimPy's running count of scheduled events
            serving=self.serving.totals if self.serving else None,
            edge_stale_device_days=self.serving.edge_stale_device_days if self.serving else math.nan,
            incidents=self.incidents if self.drift else None,
            drift_prevented=dict(self.prevented) if self.drift else None,
            false_alarms=false_alarms,
            monitored_model_months=self.monitored_hours / HOURS_PER_MONTH,
        )


def run_once(scenario: Scenario, seed: int = 0, replication: int = 0) -> SimOutput:
    """Simulate one replication of ``scenario``."""
    return OrgSimulation(scenario, seed, replication).run()
