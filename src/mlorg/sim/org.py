"""The SimPy model of an ML organisation: staff pulling prioritised work, and models moving to live.

Time is in hours. People deliver ``productive_hours_per_week`` person-hours per calendar week, so an
effort of E person-hours at efficiency e takes E / (e · hours/168) calendar hours; a person hired after day 0
works at a pace that rises over their first weeks (``org.ramp_up_days``). Each person is a process that, when
free, takes the most urgent work its role can do:

    incident work  >  productionisation  >  retraining  >  governance reviews  >  platform work  >  research

Toil, pipeline work, upkeep and support are steady loads (:mod:`mlorg.sim.loads`): a share of each role's
capacity that slows every task the role starts. A trained model draws its class, traffic and value
(:mod:`mlorg.sim.portfolio`), passes validation and, after productionisation, its class's governance
(:mod:`mlorg.sim.governance`) before it goes live. The platform team builds capabilities and then works a
roadmap (:mod:`mlorg.sim.platform`).

When the scenario simulates drift, live models suffer drift, pipeline breaks and bad deploys
(:mod:`mlorg.sim.incidents`). Incident work comes before everything and goes to the on-call person of the rota,
who stops what they are doing; an urgent retrain takes a data scientist off their work the same way.
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from functools import partial

import simpy

from mlorg.rng import Streams
from mlorg.scenario import ACTIVITIES, ROLES, Distribution, Scenario
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
from mlorg.sim.governance import GovernanceSteps
from mlorg.sim.incidents import IncidentProcess
from mlorg.sim.kernel import Clock, collector_paused
from mlorg.sim.levels import Level
from mlorg.sim.loads import SteadyLoads
from mlorg.sim.platform import PlatformWork
from mlorg.sim.portfolio import draw_traits
from mlorg.sim.serving import ServingLedger

BOOKED = (*ACTIVITIES, "governance", "incident", "support", "idle")  # where a role's hours go
WORK_KINDS = ("productionisation", "retraining", "governance", "platform", "incident")


class OrgSimulation:
    """One replication of a scenario. ``OrgSimulation(s, seed).run()`` returns a :class:`SimOutput`."""

    def __init__(self, scenario: Scenario, seed: int = 0, replication: int = 0):
        self.s = scenario
        self.seed = seed
        self.replication = replication
        self.streams = Streams(seed, replication)
        self.horizon = scenario.horizon_days * HOURS_PER_DAY
        self.env = Clock(until=self.horizon)
        self.at = self.env.call_at  # the clock's own: one Python call less for each of a run's many timed calls
        self.speed = scenario.org.productive_hours_per_week / HOURS_PER_WEEK  # person-hours per hour
        self.lifetime = Distribution(dist="exponential", mean=scenario.lifecycle.lifetime_days * HOURS_PER_DAY)
        self.attrition_rng = {role: self.streams.generator(f"attrition/{role}") for role in ROLES}
        self.portfolio = scenario.model_classes()

        self.models: list[Model] = []
        self.events: list[tuple] = []
        self.deploys: list[tuple[float, int, int]] = []
        self.queues: dict[str, deque[WorkItem]] = {kind: deque() for kind in WORK_KINDS}
        # Idle people by role, longest idle first. OrderedDict, not dict: a dict that keeps losing its first
        # entries must skip the deleted slots on every iteration, which made dispatch grow with history.
        self.idle: dict[str, OrderedDict[int, Worker]] = {role: OrderedDict() for role in ROLES}
        self.workers: dict[int, Worker] = {}
        self.staff: dict[str, dict[int, Worker]] = {role: {} for role in ROLES}  # the same people, by role
        self.role_efficiency = {role: {a: getattr(getattr(scenario.skills, role), a) for a in ACTIVITIES}
                                for role in ROLES}
        self.role_count = dict.fromkeys(ROLES, 0)
        self.hires_by_role = dict.fromkeys(ROLES, 0)
        self.role_hours = {role: dict.fromkeys(BOOKED, 0.0) for role in ROLES}
        self.built: dict[str, float] = {}
        # Multipliers in force from the capabilities built and the roadmap items done, keyed by what they change.
        self.factor = {"productionisation": 1.0, "retraining": 1.0, "research": 1.0, "platform": 1.0,
                       "governance": 1.0, "toil": 1.0, "review": 1.0, "drift": 1.0}
        self.levels = {name: Level(name) for name in (
            "backlog", "models_live", "capabilities_built", "model_toil_hours_per_week", "upkeep_hours_per_week",
            "support_hours_per_week", "toil_unmet_hours_per_week", *(f"headcount_{role}" for role in ROLES))}
        self.backlog, self.models_live = self.levels["backlog"], self.levels["models_live"]
        self.next_worker_id = 0
        self.serving = ServingLedger(scenario, self.streams, self.horizon) if scenario.serving.enabled else None
        self.incidents = IncidentProcess(self) if scenario.drift.enabled else None
        self.platform = PlatformWork(self)
        self.loads = SteadyLoads(self, self.platform, self.incidents)
        self.governance = GovernanceSteps(self, self._go_live)
        self.ramp_hours = scenario.org.ramp_up_days * HOURS_PER_DAY
        self.rota_hours = scenario.incidents.oncall_rotation_days * HOURS_PER_DAY

    # ---------------------------------------------------------------------------------------- set-up

    def run(self) -> SimOutput:
        s = self.s
        self.platform.start()
        for role, count in (("data_scientist", s.org.data_scientists), ("ml_engineer", s.org.ml_engineers),
                            ("platform_engineer", s.org.platform_engineers)):
            for _ in range(count):
                self._hire(role)
        for hire in s.org.hiring:
            self.at(hire.day * HOURS_PER_DAY, lambda _ev, h=hire: [self._hire(h.role) for _ in range(h.count)])
        self.update_loads()
        with collector_paused():
            self.env.run_until()
        return self._finish()

    def at(self, time: float, callback) -> None:
        """Call ``callback(None)`` at an absolute time, if it falls within the horizon (``__init__`` binds the
        clock's :meth:`~mlorg.sim.kernel.Clock.call_at` over this; it is here for readers and type checkers).

        Callbacks are bound methods or ``functools.partial``s taking the event last, not lambdas: a
        lambda costs one more Python call per event.
        """
        self.env.call_at(time, callback)

    def log(self, event: str, model: int = -1, worker: int = -1, detail: str = "") -> None:
        self.events.append((self.env._now, event, model, worker, detail))

    def update_loads(self) -> None:
        self.loads.update()

    # ----------------------------------------------------------------------------------------- staff

    def _hire(self, role: str) -> None:
        index = self.hires_by_role[role]
        self.hires_by_role[role] += 1
        now = self.env._now
        worker = Worker(id=self.next_worker_id, role=role, efficiency=self.role_efficiency[role], since=now,
                        ramp_until=now + self.ramp_hours if now > 0 else 0.0)
        self.next_worker_id += 1
        if worker.efficiency["research"] > 0:
            name, s = f"{role}/{index}", self.s
            worker.research = self.streams.sampler(f"research/{name}", s.research.cycle_hours)
            worker.draws = ModelDraws(
                effort=self.streams.sampler(f"productionisation/effort/{name}", s.productionisation.effort_hours),
                review=self.streams.sampler(f"deploy/review/{name}", s.deploy.review_hours),
                retraining=self.streams.sampler(f"lifecycle/retraining/{name}", s.lifecycle.retraining_effort_hours),
                lifetime=self.streams.sampler(f"lifecycle/lifetime/{name}", self.lifetime),
                traits=self.streams.generator(f"portfolio/{name}"),
                governance=self.streams.generator(f"governance/{name}"),
                serving=self.serving.draws(name) if self.serving else None,
                incidents=self.incidents.draws(name) if self.incidents else None)
        self.workers[worker.id] = worker
        self.staff[role][worker.id] = worker
        self._set_headcount(role, +1)
        self.log("hired", worker=worker.id, detail=role)
        worker.process = self.env.start(self._work(worker))
        rate = getattr(self.s.attrition.annual_rate, role)
        if rate > 0:
            tenure = self.attrition_rng[role].exponential(HOURS_PER_YEAR / rate)
            self.at(now + tenure, lambda _ev: worker.process.interrupt("leaves"))

    def _set_headcount(self, role: str, delta: int) -> None:
        self.role_count[role] += delta
        self.levels[f"headcount_{role}"].set(self.env._now, self.role_count[role])
        self.update_loads()

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

    def _pace(self, w: Worker) -> float:
        """A person's pace: 1, or while they ramp up after joining, rising evenly from ``ramp_up_start``."""
        left = w.ramp_until - self.env._now
        if left <= 0:
            return 1.0
        start = self.s.org.ramp_up_start
        return start + (1.0 - start) * (1.0 - left / self.ramp_hours)

    def _work(self, w: Worker):
        env, loads = self.env, self.loads
        speed, factor = self.speed, self.factor
        while True:
            item = self._take(w)
            if item is None:
                w.wake = env.signal()
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
            share = loads.share[w.role]
            pace = self._pace(w) if w.ramp_until > 0.0 else 1.0
            hours = item.effort / (w.efficiency[item.skill] * pace * (1.0 - share) * speed)
            w.activity, w.item, w.since, w.task_hours = item.kind, item, env._now, hours
            w.load_share, w.support_split = share, loads.support_split[w.role]
            end = env._now + hours
            try:
                yield env.wait(hours)
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
                        yield env.wait(end - env._now)
                        break
                    except simpy.Interrupt as again:
                        if again.cause == "leaves":
                            self._leave(w)
                            return
            self._book(w, hours)  # the whole task
            w.item = None
            item.state = "done"
            self._done(item, w)

    def _book(self, w: Worker, elapsed: float) -> None:
        """Book ``elapsed`` hours of the worker's current activity, its steady load apart (toil or support)."""
        hours = self.role_hours[w.role]
        own = elapsed * (1.0 - w.load_share)
        hours[w.activity] += own
        hours["support"] += (elapsed - own) * w.support_split
        hours["toil"] += (elapsed - own) * (1.0 - w.support_split)
        w.worked_hours += elapsed
        if w.activity == "productionisation":
            w.production_hours += own
        w.since = self.env._now

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
        w.load_share, w.support_split = self.loads.share[w.role], self.loads.support_split[w.role]

    def _close(self, w: Worker) -> None:
        """Book the time since the worker's last change of activity."""
        elapsed = self.env._now - w.since
        if elapsed > 0:
            self._book(w, elapsed)

    # ------------------------------------------------------------------------------------ dispatch

    def _take(self, w: Worker) -> WorkItem | None:
        """The most urgent work this worker can and will do now, or None."""
        eff, queues = w.efficiency, self.queues
        if queues["incident"]:
            item = self._incident_for(w)
            if item is not None:
                return item
        if w.paused is not None:
            item, w.paused = w.paused, None
            return item
        if eff["productionisation"] > 0 and (w.role != "data_scientist" or self._takes_production(w)):
            item = self._pop(queues["productionisation"])
            if item is not None:
                return item
        if eff["retraining"] > 0:
            item = self._pop(queues["retraining"])
            if item is not None:
                return item
        if eff["research"] > 0 and queues["governance"]:
            item = self._pop(queues["governance"])
            if item is not None:
                return item
        if eff["platform"] > 0:
            item = self._pop(queues["platform"])
            if item is not None:
                return item
        if eff["research"] > 0:
            return WorkItem(kind="research", base_effort=w.research(), effort=NAN)
        return None

    def _incident_for(self, w: Worker) -> WorkItem | None:
        """The oldest queued incident work this person can do: diagnosis and fixes only for the on-call rota's
        role. Work handed straight to someone stays in the queue marked active, so drop it here; the queue is
        short (open incidents only)."""
        queue = self.queues["incident"]
        rota_role = self.oncall_role()
        for item in list(queue):
            if item.state != "queued":
                queue.remove(item)
            elif w.efficiency[item.skill] > 0 and (item.skill != "toil" or w.role == rota_role):
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
        """Hand queued work straight to the longest-idle person who would take it. Diagnosis and fixes go to
        the on-call person, taking them off their work; an urgent retrain takes a data scientist off theirs."""
        if item.kind == "incident" and item.skill == "toil":
            self._page(item)
            return
        for role in ROLES:
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
            self._hand(worker, item)
            return
        if item.kind == "incident":
            busy = next((w for role in ROLES if self.role_efficiency[role][item.skill] > 0
                         for w in self.staff[role].values() if self._interruptible(w)), None)
            if busy is not None:
                self._interrupt(busy)

    def _page(self, item: WorkItem) -> None:
        """The on-call person takes it (idle, or taken off their work); if they are on another incident, an idle
        colleague of the rota's role does; otherwise it waits for the first of them to be free."""
        person = self.oncall_person()
        if person is None:
            return
        if person.id in self.idle[person.role]:
            del self.idle[person.role][person.id]
            self._hand(person, item)
        elif self._interruptible(person):
            self._interrupt(person)
        elif self.idle[person.role]:
            self._hand(self.idle[person.role].popitem(last=False)[1], item)

    def oncall_role(self) -> str | None:
        """The rota's role: the first of ``incidents.oncall_roles`` the organisation has who can do the work."""
        return next((r for r in self.s.incidents.oncall_roles
                     if self.role_count[r] and self.role_efficiency[r]["toil"] > 0), None)

    def oncall_person(self) -> Worker | None:
        """Who is on call now: the rota's people take turns of ``oncall_rotation_days``."""
        role = self.oncall_role()
        if role is None:
            return None
        people = self.staff[role]
        turn = int(self.env._now // self.rota_hours) % len(people)
        return people[sorted(people)[turn]]

    @staticmethod
    def _interruptible(w: Worker) -> bool:
        return w.item is not None and w.activity not in ("incident", "idle") and w.item.state == "active"

    @staticmethod
    def _interrupt(w: Worker) -> None:
        w.item.state = "preempted"  # not offered twice while the interrupt is on its way
        w.process.interrupt("incident")

    @staticmethod
    def _hand(worker: Worker, item: WorkItem) -> None:
        item.state = "active"
        worker.item = item
        worker.wake.succeed()

    # ------------------------------------------------------------------------------- model lifecycle

    def _done(self, item: WorkItem, w: Worker) -> None:
        now = self.env._now
        if item.kind == "research":
            self._trained(w, now)
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
            self.governance.productionised(item)
        elif item.kind == "governance":
            self.governance.done(item)
        elif item.kind == "incident":
            self.incidents.step_done(item)
        elif item.kind == "platform":
            self.platform.done(item)

    def _trained(self, w: Worker, now: float) -> None:
        traits = draw_traits(self.portfolio, w.draws.traits)
        model = Model(id=len(self.models), trained_at=now, trained_by=w.id, draws=w.draws, traits=traits)
        self.models.append(model)
        self.log("trained", model.id, w.id, detail=traits.model_class.name)
        if not self.governance.passes_validation(model):
            return
        self.backlog.add(now, 1)
        production = WorkItem(kind="productionisation", base_effort=model.draws.effort(), model=model)
        self.enqueue(production)
        self.at(now + self.s.productionisation.abandon_after_days * HOURS_PER_DAY, partial(self._abandon, production))

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
            if model.serving_at != model.serving_at:
                model.serving_at = now
            model.is_live = True
            self.backlog.add(now, -1)
            self.models_live.add(now, 1)
            if self.s.lifecycle.lifetime_days > 0:
                self.at(now + model.draws.lifetime(), partial(self._retire, model))
            self.update_loads()
            if self.serving:
                model.serving_mode, model.serving_level = self.serving.assign(model.draws.serving, model.traits)
            if self.incidents:
                self.incidents.model_live(model)
                self.update_loads()  # its monitors' false alarms join the triage load
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
        self._settle(model)
        if self.incidents:
            self.incidents.retired(model)
        self.models_live.add(self.env._now, -1)
        self.log("retired", model.id)
        self.update_loads()

    def _settle(self, model: Model) -> None:
        """What a model served, cost and was worth while live (settled once, when it stops)."""
        now = self.env._now
        model.value_usd = model.traits.value_per_hour * (now - model.live_at)
        if self.serving:
            served = self.serving.settle(model.serving_mode, model.serving_level, model.live_at, now,
                                         model.traits.index)
            model.serving_cost += served.cost_usd
            model.predictions += served.predictions

    # ---------------------------------------------------------------------------------------- finish

    def _finish(self) -> SimOutput:
        for worker in self.workers.values():
            self._close(worker)
        for model in self.models:
            if model.is_live:
                self._settle(model)
        self.update_loads()
        false_alarms = self.incidents.finish(self.models) if self.incidents else 0
        return SimOutput(
            scenario=self.s, seed=self.seed, replication=self.replication, horizon=self.horizon,
            models=self.models, events=self.events, levels=self.levels, role_hours=self.role_hours,
            capabilities_built=dict(self.built), deploys=self.deploys,
            toil_unmet_hours=self.loads.unmet_hours,
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
