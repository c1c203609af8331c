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
from functools import partial

import simpy

from mlorg.rng import Streams
from mlorg.scenario import ACTIVITIES, CAPABILITIES, ROLES, Distribution, Scenario
from mlorg.sim.entities import (
    HOURS_PER_DAY,
    HOURS_PER_MONTH,
    HOURS_PER_WEEK,
    HOURS_PER_YEAR,
    NAN,
    Model,
    ModelDraws,
    SimOutput,
    Worker,
    WorkItem,
)
from mlorg.sim.incidents import IncidentProcess
from mlorg.sim.levels import Level
from mlorg.sim.serving import ServingLedger

# Who carries steady load, in order of preference: per-model toil falls to ML engineers if there are any,
# platform upkeep to platform engineers.
MODEL_TOIL_CARRIERS = ("ml_engineer", "data_scientist", "platform_engineer")
UPKEEP_CARRIERS = ("platform_engineer", "ml_engineer", "data_scientist")
ONCALL = MODEL_TOIL_CARRIERS  # who answers an incident, in order of preference



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
        self.incidents = IncidentProcess(self) if scenario.drift.enabled else None

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
            self.at(hire.day * HOURS_PER_DAY, lambda _ev, h=hire: [self._hire(h.role) for _ in range(h.count)])
        self._update_toil()
        self.env.run(until=self.horizon)
        return self._finish()

    def at(self, time: float, callback) -> None:
        """Call ``callback(event)`` at an absolute time, if it falls within the horizon.

        Callbacks are bound methods or ``functools.partial``s taking the event last, not lambdas: a
        lambda costs one more Python call per event.
        """
        if time < self.horizon:
            delay = time - self.env._now
            self.env.timeout(delay if delay > 0.0 else 0.0).callbacks.append(callback)

    def log(self, event: str, model: int = -1, worker: int = -1, detail: str = "") -> None:
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
                incidents=self.incidents.draws(name) if self.incidents else None)
        self.workers[worker.id] = worker
        self.staff[role][worker.id] = worker
        self._set_headcount(role, +1)
        self.log("hired", worker=worker.id, detail=role)
        worker.process = self.env.process(self._work(worker))
        rate = getattr(self.s.attrition.annual_rate, role)
        if rate > 0:
            tenure = self.attrition_rng[role].exponential(HOURS_PER_YEAR / rate)
            self.at(self.env._now + tenure, lambda _ev: worker.process.interrupt("leaves"))

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
        self.log("left", worker=worker.id, detail=worker.role)
        if self.s.attrition.backfill:
            self.at(self.env._now + self.s.attrition.time_to_hire_days * HOURS_PER_DAY,
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

    def enqueue(self, item: WorkItem) -> None:
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
            self.log("trained", model.id, w.id)
            production = WorkItem(kind="productionisation", base_effort=model.draws.effort(), model=model)
            self.enqueue(production)
            abandon_after = self.s.productionisation.abandon_after_days * HOURS_PER_DAY
            self.at(now + abandon_after, partial(self._abandon, production))
        elif item.kind == "retraining":
            model = item.model
            self.log("retrained", model.id, w.id)
            if model.is_live:
                share = self.s.productionisation.version_effort_share
                self.enqueue(WorkItem(kind="productionisation", base_effort=model.draws.effort() * share,
                                       model=model, is_version=True))
            else:
                model.version_pending = False
        elif item.kind == "productionisation":
            self.log("productionised", item.model.id, w.id)
            review = item.model.draws.review() * self.factor["review"]
            ready = now + review
            every = self.s.deploy.release_every_days * HOURS_PER_DAY
            live = math.ceil(ready / every) * every if every > 0 else ready
            self.at(live, partial(self._go_live, item))
        elif item.kind == "incident":
            self.incidents.step_done(item)
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
        self.log("abandoned", item.model.id)

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
                self.at(now + model.draws.lifetime(), partial(self._retire, model))
            self._update_toil()
            if self.serving:
                model.serving_mode, model.serving_level = self.serving.assign(model.draws.serving)
            if self.incidents:
                self.incidents.model_live(model)
        self.new_version(model)
        every = self.s.lifecycle.retrain_every_days
        if every > 0:
            self.at(now + every * HOURS_PER_DAY, partial(self._request_retraining, model))

    def new_version(self, model: Model) -> None:
        """A new version of a live model goes live: it ends what the old version suffered, and may bring defects."""
        now = self.env._now
        if self.serving:
            model.serving_cost += self.serving.deployed(model.serving_mode, replaces_a_version=model.versions_live > 0)
        model.versions_live += 1
        self.deploys.append((now, model.id, model.versions_live))
        self.log("live", model.id, detail=f"v{model.versions_live}")
        if self.incidents:
            self.incidents.new_version(model)

    def _request_retraining(self, model: Model, _event: simpy.Event | None = None) -> None:
        if not model.is_live or model.version_pending:
            return
        model.version_pending = True
        self.log("retraining_requested", model.id)
        self.enqueue(WorkItem(kind="retraining", base_effort=model.draws.retraining(), model=model))

    def _retire(self, model: Model, _event: simpy.Event | None = None) -> None:
        model.retired_at = self.env._now
        model.is_live = False
        if self.incidents:
            self.incidents.retired(model)
        if self.serving:
            self._settle_serving(model)
        self.models_live.add(self.env._now, -1)
        self.log("retired", model.id)
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
        self.log("capability_built", detail=name)
        self._update_toil()

    # ------------------------------------------------------------------------------------------ toil

    def _update_toil(self) -> None:
        """Spread the weekly toil over the roles that carry it, as a share of their capacity."""
        now = self.env._now
        self.toil_unmet_hours += self.toil_unmet_per_week * (now - self.toil_unmet_since) / HOURS_PER_WEEK
        self.toil_unmet_since = now
        live = self.models_live.values[-1]
        model_toil = live * self.s.lifecycle.toil_hours_per_model_week * self.factor["toil"]
        if self.incidents:
            model_toil += self.incidents.triage_hours_per_week(live)
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
        false_alarms = self.incidents.finish(self.models) if self.incidents else 0
        return SimOutput(
            scenario=self.s, seed=self.seed, replication=self.replication, horizon=self.horizon,
            models=self.models, events=self.events, levels=self.levels, role_hours=self.role_hours,
            capabilities_built=dict(self.built), deploys=self.deploys,
            toil_unmet_hours=self.toil_unmet_hours,
            event_count=next(self.env._eid),  # SimPy's running count of scheduled events
            serving=self.serving.totals if self.serving else None,
            edge_stale_device_days=self.serving.edge_stale_device_days if self.serving else math.nan,
            incidents=self.incidents.incidents if self.incidents else None,
            drift_prevented=dict(self.incidents.prevented) if self.incidents else None,
            false_alarms=false_alarms,
            monitored_model_months=self.incidents.monitored_hours / HOURS_PER_MONTH if self.incidents else 0.0,
        )


def run_once(scenario: Scenario, seed: int = 0, replication: int = 0) -> SimOutput:
    """Simulate one replication of ``scenario``."""
    return OrgSimulation(scenario, seed, replication).run()
