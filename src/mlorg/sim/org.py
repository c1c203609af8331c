"""The model of an ML organisation: staff pulling prioritised work, and models moving to live.

People (:mod:`mlorg.sim.people`) take the most urgent work their role can do (:mod:`mlorg.sim.dispatch`). Toil,
pipeline work, upkeep and support are steady loads (:mod:`mlorg.sim.loads`): a share of each role's capacity that
slows every task the role starts. A trained model draws its class, traffic and value (:mod:`mlorg.sim.portfolio`),
passes validation and, after productionisation, its class's governance (:mod:`mlorg.sim.governance`) before it goes
live. The platform team builds capabilities and then works a roadmap (:mod:`mlorg.sim.platform`).

When the scenario simulates drift, live models suffer drift, pipeline breaks and bad deploys
(:mod:`mlorg.sim.incidents`). Incident work comes before everything and goes to the on-call person of the rota,
who stops what they are doing; an urgent retrain takes a data scientist off their work the same way.

The events run on a lean SimPy kernel (:mod:`mlorg.sim.kernel`) in exactly the order SimPy would give them.
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from functools import partial

from mlorg.rng import Streams
from mlorg.scenario import ACTIVITIES, ROLES, Distribution, Scenario
from mlorg.sim.dispatch import Dispatch
from mlorg.sim.entities import (
    HOURS_PER_DAY,
    HOURS_PER_MONTH,
    HOURS_PER_WEEK,
    EventLog,
    Model,
    SimOutput,
    Worker,
    WorkItem,
)
from mlorg.sim.governance import GovernanceSteps
from mlorg.sim.incidents import IncidentProcess
from mlorg.sim.kernel import Clock, collector_paused
from mlorg.sim.levels import Level
from mlorg.sim.loads import SteadyLoads
from mlorg.sim.people import People
from mlorg.sim.platform import PlatformWork
from mlorg.sim.portfolio import cumulative_shares, draw_traits
from mlorg.sim.serving import ServingLedger

BOOKED = (*ACTIVITIES, "governance", "incident", "support", "idle")  # where a role's hours go
WORK_KINDS = ("productionisation", "retraining", "governance", "platform", "incident")


class OrgSimulation(People, Dispatch):
    """One replication of a scenario. ``OrgSimulation(s, seed).run()`` returns a :class:`SimOutput`; a simulation
    runs once, and lets go of its working state as it returns."""

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
        self.portfolio_shares = cumulative_shares(self.portfolio)

        self.models: list[Model] = []
        self.events = EventLog()
        self._log = self.events.flat.extend
        self.deploys = 0  # versions put live, new models' first versions included
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
        # Settings read at every model's or version's step, read once here.
        self.lifetime_days = scenario.lifecycle.lifetime_days
        self.retrain_every_days = scenario.lifecycle.retrain_every_days
        self.abandon_after_hours = scenario.productionisation.abandon_after_days * HOURS_PER_DAY
        self.version_effort_share = scenario.productionisation.version_effort_share

    # ---------------------------------------------------------------------------------------- set-up

    def run(self) -> SimOutput:
        if not self.__dict__:
            raise RuntimeError("this simulation has run: make another to run again")
        s = self.s
        with collector_paused():  # from the first hire: a large organisation's set-up makes thousands of objects
            self.platform.start()
            for role, count in (("data_scientist", s.org.data_scientists), ("ml_engineer", s.org.ml_engineers),
                                ("platform_engineer", s.org.platform_engineers)):
                for _ in range(count):
                    self._hire(role)
            for hire in s.org.hiring:
                self.at(hire.day * HOURS_PER_DAY, lambda _ev, h=hire: [self._hire(h.role) for _ in range(h.count)])
            self.update_loads()
            self.env.run_until()
            out = self._finish()
            self._release()
        return out

    def at(self, time: float, callback) -> None:
        """Call ``callback(None)`` at an absolute time, if it falls within the horizon (``__init__`` binds the
        clock's :meth:`~mlorg.sim.kernel.Clock.call_at` over this; it is here for readers and type checkers).

        Callbacks are bound methods or ``functools.partial``s taking the event last, not lambdas: a
        lambda costs one more Python call per event.
        """
        self.env.call_at(time, callback)

    def log(self, event: str, model: int = -1, worker: int = -1, detail: str = "") -> None:
        self._log((self.env._now, event, model, worker, detail))

    def update_loads(self) -> None:
        self.loads.update()

    # ------------------------------------------------------------------------------- model lifecycle

    def _done(self, item: WorkItem, w: Worker) -> None:
        now, kind = self.env._now, item.kind
        if kind == "productionisation":  # the commonest first: a version's two tasks, then research
            self._log((now, "productionised", item.model.id, w.id, ""))  # self.log, inline: once a version
            self.governance.productionised(item)
        elif kind == "retraining":
            model = item.model
            self._log((now, "retrained", model.id, w.id, ""))
            if model.is_live:
                share = self.version_effort_share
                self.enqueue(WorkItem(kind="productionisation", base_effort=model.draws.effort() * share,
                                      model=model, is_version=True))
            else:
                model.version_pending = False
        elif kind == "research":
            self._trained(w, now)
        elif kind == "governance":
            self.governance.done(item)
        elif kind == "incident":
            self.incidents.step_done(item)
        elif kind == "platform":
            self.platform.done(item)

    def _trained(self, w: Worker, now: float) -> None:
        traits = draw_traits(self.portfolio, w.draws.traits, self.portfolio_shares)
        model = Model(id=len(self.models), trained_at=now, trained_by=w.id, draws=w.draws, traits=traits)
        self.models.append(model)
        self.log("trained", model.id, w.id, detail=traits.model_class.name)
        if not self.governance.passes_validation(model):
            return
        self.backlog.add(now, 1)
        production = WorkItem(kind="productionisation", base_effort=model.draws.effort(), model=model)
        self.enqueue(production)
        self.at(now + self.abandon_after_hours, partial(self._abandon, production))

    def _abandon(self, item: WorkItem, _number: int | None = None) -> None:
        started = item.effort == item.effort  # effort is NaN until someone starts the work
        if item.state != "queued" or started:
            return
        item.state = "abandoned"
        item.model.abandoned_at = self.env._now
        self.backlog.add(self.env._now, -1)
        self.log("abandoned", item.model.id)

    def _go_live(self, item: WorkItem, _number: int | None = None) -> None:
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
            if self.lifetime_days > 0:
                self.at(now + model.draws.lifetime(), partial(self._retire, model))
            self.update_loads()
            if self.serving:
                model.serving_mode, model.serving_level = self.serving.assign(model.draws.serving, model.traits)
            if self.incidents:
                self.incidents.model_live(model)
                self.update_loads()  # its monitors' false alarms join the triage load
        self.new_version(model)
        every = self.retrain_every_days
        if every > 0:
            self.at(now + every * HOURS_PER_DAY, partial(self._request_retraining, model))

    def new_version(self, model: Model) -> None:
        """A new version of a live model goes live: it ends what the old version suffered, and may bring defects."""
        if self.serving and model.serving_mode == "edge":  # only a rollout to devices costs anything at once
            model.serving_cost += self.serving.deployed(model.serving_mode, replaces_a_version=model.versions_live > 0)
        model.versions_live += 1
        self.deploys += 1
        self._log((self.env._now, "live", model.id, -1, f"v{model.versions_live}"))
        if self.incidents:
            self.incidents.new_version(model)

    def _request_retraining(self, model: Model, _number: int | None = None) -> None:
        if not model.is_live or model.version_pending:
            return
        model.version_pending = True
        self._log((self.env._now, "retraining_requested", model.id, -1, ""))
        self.enqueue(WorkItem(kind="retraining", base_effort=model.draws.retraining(), model=model))

    def _retire(self, model: Model, _number: int | None = None) -> None:
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

    def _release(self) -> None:
        """Let go of the run's working state once its output is made, so that reference counting frees it now.

        People, the clock's pending calls and the simulator's parts refer to one another in cycles, which only the
        cyclic collector frees: a large run left a quarter of a million objects for it, and the pass that freed them
        some runs later took a third as long as a run, while the memory they held slowed the runs in between. The
        models keep their records but drop their draws (the run's random streams)."""
        for worker in self.workers.values():
            worker.resume = None
        for model in self.models:
            model.draws = None
        self.env.discard()
        self.__dict__.clear()


def run_once(scenario: Scenario, seed: int = 0, replication: int = 0) -> SimOutput:
    """Simulate one replication of ``scenario``."""
    return OrgSimulation(scenario, seed, replication).run()
