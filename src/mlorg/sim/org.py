"""The SimPy model of an ML organisation: staff pulling prioritised work, and models moving to live.

Time is in hours. People deliver ``productive_hours_per_week`` person-hours per calendar week, so an
effort of E person-hours at efficiency e takes E / (e · hours/168) calendar hours. Each person is a
process that, when free, takes the most urgent work its role can do:

    productionisation  >  retraining  >  platform building  >  research

Per-model toil and platform upkeep are steady loads, so they are modelled as a share of each role's
capacity (recomputed whenever the number of live models, capabilities or staff changes) rather than as
one event per model per week; that share slows every task the role starts and is booked as toil.
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from dataclasses import dataclass
from functools import partial

import simpy

from mlorg.rng import Sampler, Streams
from mlorg.scenario import ACTIVITIES, CAPABILITIES, ROLES, Distribution, Scenario
from mlorg.serving.fleet import ServingTotals
from mlorg.sim.levels import Level
from mlorg.sim.serving import ServingDraws, ServingLedger

# Who carries steady load, in order of preference: per-model toil falls to ML engineers if there are any,
# platform upkeep to platform engineers.
MODEL_TOIL_CARRIERS = ("ml_engineer", "data_scientist", "platform_engineer")
UPKEEP_CARRIERS = ("platform_engineer", "ml_engineer", "data_scientist")

HOURS_PER_DAY = 24.0
HOURS_PER_WEEK = 168.0
HOURS_PER_YEAR = 8760.0
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


@dataclass(slots=True, eq=False)
class WorkItem:
    kind: str  # one of ACTIVITIES other than toil
    base_effort: float  # person-hours at efficiency 1 before capability factors
    model: Model | None = None
    is_version: bool = False
    capability: str = ""
    effort: float = NAN  # person-hours left, fixed (with the factors then in force) when work starts
    state: str = "queued"  # queued | active | done | abandoned


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
        self.queues = {"productionisation": self.production, "retraining": self.retraining,
                       "platform": self.platform_work}
        self.chunks_left: dict[str, int] = {}
        # Idle people by role, longest idle first. OrderedDict, not dict: a dict that keeps losing its first
        # entries must skip the deleted slots on every iteration, which made dispatch grow with history.
        self.idle: dict[str, OrderedDict[int, Worker]] = {role: OrderedDict() for role in ROLES}
        self.workers: dict[int, Worker] = {}
        self.role_efficiency = {role: {a: getattr(getattr(scenario.skills, role), a) for a in ACTIVITIES}
                                for role in ROLES}
        self.role_count = dict.fromkeys(ROLES, 0)
        self.hires_by_role = dict.fromkeys(ROLES, 0)
        self.role_hours = {role: dict.fromkeys((*ACTIVITIES, "idle"), 0.0) for role in ROLES}
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
                serving=self.serving.draws(name) if self.serving else None)
        self.workers[worker.id] = worker
        self._set_headcount(role, +1)
        self._log("hired", worker=worker.id, detail=role)
        worker.process = self.env.process(self._work(worker))
        rate = getattr(self.s.attrition.annual_rate, role)
        if rate > 0:
            tenure = self.attrition_rng[role].exponential(HOURS_PER_YEAR / rate)
            self._at(self.env._now + tenure, lambda _ev: worker.process.interrupt("leaves"))

    def _set_headcount(self, role: str, delta: int) -> None:
        self.role_count[role] += delta
        self.levels[f"headcount_{role}"].set(self.env._now, self.role_count[role])
        self._update_toil()

    def _leave(self, worker: Worker) -> None:
        self.idle[worker.role].pop(worker.id, None)
        item = worker.item
        if item is not None and item.state == "active" and item.kind != "research":
            done_share = (self.env._now - worker.since) / worker.task_hours if worker.task_hours > 0 else 0.0
            item.effort *= max(0.0, 1.0 - done_share)
            item.state = "queued"
            self.queues[item.kind].appendleft(item)
            self._offer(item)
        worker.item = None
        del self.workers[worker.id]
        self._set_headcount(worker.role, -1)
        self._log("left", worker=worker.id, detail=worker.role)
        if self.s.attrition.backfill:
            self._at(self.env._now + self.s.attrition.time_to_hire_days * HOURS_PER_DAY,
                     lambda _ev, role=worker.role: self._hire(role))

    def _work(self, w: Worker):
        env, role_hours, toil_share = self.env, self.role_hours[w.role], self.toil_share
        speed, factor = self.speed, self.factor
        try:
            while True:
                item = self._take(w)
                if item is None:
                    w.wake = env.event()
                    self.idle[w.role][w.id] = w
                    self._begin(w, "idle", None, 0.0)
                    yield w.wake
                    self._close(w)
                    item = w.item
                item.state = "active"
                if item.effort != item.effort:  # NaN: first start, apply the capabilities now in force
                    item.effort = item.base_effort * factor[item.kind]
                share = toil_share[w.role]
                hours = item.effort / (w.efficiency[item.kind] * (1.0 - share) * speed)
                w.activity, w.item, w.since, w.task_hours, w.toil_share = item.kind, item, env._now, hours, share
                yield env.timeout(hours)
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
        except simpy.Interrupt:
            self._close(w)
            self._leave(w)

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
        """Hand queued work straight to the longest-idle person who would take it."""
        for role in ROLES:
            idle = self.idle[role]
            if not idle or self.role_efficiency[role][item.kind] <= 0:
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
        if self.serving:
            model.serving_cost += self.serving.deployed(model.serving_mode, replaces_a_version=item.is_version)
        model.versions_live += 1
        self.deploys.append((now, model.id, model.versions_live))
        self._log("live", model.id, detail=f"v{model.versions_live}")
        every = self.s.lifecycle.retrain_every_days
        if every > 0:
            self._at(now + every * HOURS_PER_DAY, partial(self._request_retraining, model))

    def _request_retraining(self, model: Model, _event: simpy.Event | None = None) -> None:
        if not model.is_live or model.version_pending:
            return
        model.version_pending = True
        self._log("retraining_requested", model.id)
        self._enqueue(WorkItem(kind="retraining", base_effort=model.draws.retraining(), model=model))

    def _retire(self, model: Model, _event: simpy.Event | None = None) -> None:
        model.retired_at = self.env._now
        model.is_live = False
        if self.serving:
            self._settle_serving(model)
        self.models_live.add(self.env._now, -1)
        self._log("retired", model.id)
        self._update_toil()

    def _settle_serving(self, model: Model) -> None:
        served = self.serving.settle(model.serving_mode, model.serving_level, model.live_at, self.env._now)
        model.serving_cost += served.cost_usd
        model.predictions += served.predictions

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
        return SimOutput(
            scenario=self.s, seed=self.seed, replication=self.replication, horizon=self.horizon,
            models=self.models, events=self.events, levels=self.levels, role_hours=self.role_hours,
            capabilities_built=dict(self.built), deploys=self.deploys,
            toil_unmet_hours=self.toil_unmet_hours,
            event_count=next(self.env._eid),  # SimPy's running count of scheduled events
            serving=self.serving.totals if self.serving else None,
            edge_stale_device_days=self.serving.edge_stale_device_days if self.serving else math.nan,
        )


def run_once(scenario: Scenario, seed: int = 0, replication: int = 0) -> SimOutput:
    """Simulate one replication of ``scenario``."""
    return OrgSimulation(scenario, seed, replication).run()
