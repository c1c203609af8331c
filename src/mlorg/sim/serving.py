"""Serving in the organisation simulator: what each live model costs to serve, and whether it met its SLO.

A model is given a serving mode when it goes live (real-time, batch or edge, by the scenario's shares).
Its serving is settled in one vectorised step when it stops serving — at retirement or at the end of the
run — over the whole hours it was live, rather than as one simulated event per model-hour.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from mlorg.rng import LazyGenerator, Sampler, Streams
from mlorg.scenario import Scenario
from mlorg.serving.fleet import RealtimeFleet, ServingTotals
from mlorg.serving.instances import load_instances
from mlorg.serving.profile_index import ProfileIndex
from mlorg.serving.slo import RealtimePolicy, SloTable
from mlorg.serving.traffic import hourly_profile
from mlorg.sim.portfolio import ModelTraits

MODES = ("realtime", "batch", "edge")


# SLO tables by what their limits depend on: service time (mean, shape, cv), SLO and overhead.
_SLO_TABLES: dict[tuple[float, float, float, str, float], SloTable] = {}


def shared_slo_table(policy: RealtimePolicy) -> SloTable:
    """The SLO table for ``policy``'s service time, SLO and overhead, shared by every run in this process: its
    limits are pure functions of those, and solving them again in each replication cost a tenth of a large run."""
    key = (policy.service_ms, policy.slo_p99_ms, policy.overhead_ms, policy.service_dist, policy.service_cv)
    table = _SLO_TABLES.get(key)
    if table is None:
        if len(_SLO_TABLES) >= 64:  # a sweep over service times: keep the memory bounded
            _SLO_TABLES.clear()
        table = _SLO_TABLES[key] = SloTable(policy)
    return table


@dataclass(slots=True)
class ServingDraws:
    """One trainer's serving draws for the models they train (common random numbers, like ModelDraws)."""

    mode: LazyGenerator
    base_rps: Sampler
    rows_per_day: Sampler


@dataclass
class ServingLedger:
    scenario: Scenario
    streams: Streams
    horizon_hours: float
    totals: dict[str, ServingTotals] = field(default_factory=lambda: {m: ServingTotals() for m in MODES})
    edge_stale_device_days: float = 0.0  # device-days scored by a superseded version during rollouts

    def __post_init__(self) -> None:
        serving = self.scenario.serving
        realtime = serving.realtime
        instances = {i.name: i for i in load_instances()}
        self.hours = math.ceil(self.horizon_hours)
        self.profile = hourly_profile(realtime, self.hours, self.streams.generator("serving/spikes"))
        self.profile_prefix = np.concatenate([[0.0], np.cumsum(self.profile)])
        self.profile_index = ProfileIndex(self.profile)
        # One policy per model class (its service time, instance and concurrency, or the [serving.realtime]
        # defaults), and one SLO table per service time: classes that serve alike share it.
        self.policies: list[RealtimePolicy] = []
        self.tables: list[SloTable] = []
        for model_class in self.scenario.model_classes():
            instance = instances[model_class.instance or realtime.instance]
            policy = RealtimePolicy(
                service_ms=model_class.service_ms or realtime.service_ms,
                concurrency=model_class.concurrency or realtime.concurrency,
                usd_per_hour=instance.usd_per_hour, slo_p99_ms=realtime.slo_p99_ms,
                fixed_replicas=realtime.fixed_replicas, min_replicas=realtime.min_replicas,
                max_replicas=realtime.max_replicas, target_utilisation=realtime.target_utilisation,
                reaction_delay_hours=realtime.reaction_delay_hours, service_dist=realtime.service_dist,
                service_cv=realtime.service_cv, overhead_ms=realtime.overhead_ms)
            self.policies.append(policy)
            self.tables.append(shared_slo_table(policy))
        self.fleets = [RealtimeFleet(self.profile, self.profile_prefix, policy, table, self.profile_index)
                       for policy, table in zip(self.policies, self.tables, strict=True)]
        batch_instance = instances[serving.batch.instance]
        self.batch_vcpu, self.batch_usd_per_hour = batch_instance.vcpu, batch_instance.usd_per_hour
        self.cutoffs = (serving.realtime_share, serving.realtime_share + serving.batch_share)

    def draws(self, name: str) -> ServingDraws:
        serving = self.scenario.serving
        # Made at first use: models of classes with a serving mode of their own never draw from these.
        return ServingDraws(mode=self.streams.lazy_generator(f"serving/mode/{name}"),
                            base_rps=self.streams.sampler(f"serving/base_rps/{name}", serving.realtime.base_rps),
                            rows_per_day=self.streams.sampler(f"serving/rows/{name}", serving.batch.rows_per_day))

    def assign(self, draws: ServingDraws, traits: ModelTraits) -> tuple[str, float]:
        """A new live model's mode and traffic level (requests/s, rows/day or devices): its class's mode and
        traffic, or for a class served ``any`` way, the [serving] shares and traffic draws."""
        mode = traits.model_class.serving_mode
        if mode == "realtime":
            return mode, traits.predictions_per_day / 86_400.0
        if mode == "batch":
            return mode, traits.predictions_per_day
        if mode == "edge":
            return mode, self.scenario.serving.edge.devices
        u = draws.mode.random()
        mode = "realtime" if u < self.cutoffs[0] else "batch" if u < self.cutoffs[1] else "edge"
        # Both draws are taken whatever the mode, so one model's mode never shifts the next model's levels.
        base_rps, rows = draws.base_rps(), draws.rows_per_day()
        level = {"realtime": base_rps, "batch": rows, "edge": self.scenario.serving.edge.devices}[mode]
        return mode, level

    def deployed(self, mode: str, replaces_a_version: bool) -> float:
        """Cost of deploying a version: an edge rollout reaches every device; other modes pay by the hour.

        An edge rollout is not instant: while it runs, devices not yet updated keep scoring with the old
        version — the update lag, counted in device-days (devices × rollout_days / 2 per new version).
        """
        if mode != "edge":
            return 0.0
        edge = self.scenario.serving.edge
        cost = edge.devices * edge.usd_per_device_rollout
        self.totals["edge"] = self.totals["edge"] + ServingTotals(cost_usd=cost)
        if replaces_a_version:
            self.edge_stale_device_days += edge.devices * edge.rollout_days / 2.0
        return cost

    def batch_cost_per_day(self, rows_per_day: float) -> float:
        """Jobs run on as many instances as finish them by the deadline; cloud billing is per second with a
        one-minute minimum per instance, so spreading a small job wide costs a little more."""
        batch = self.scenario.serving.batch
        vcpu_hours = rows_per_day / batch.jobs_per_day * batch.ms_per_row / 3.6e6  # per job
        instances = max(1, math.ceil(vcpu_hours / (batch.deadline_hours * self.batch_vcpu)))
        hours_each = max(vcpu_hours / (instances * self.batch_vcpu), 1.0 / 60.0)
        return batch.jobs_per_day * instances * hours_each * self.batch_usd_per_hour

    def settle(self, mode: str, level: float, live_at: float, until: float, class_index: int = 0) -> ServingTotals:
        """Serve a model of the portfolio's class ``class_index`` over whole hours from going live to ``until``; add
        it to the totals and return it."""
        start = min(math.ceil(live_at), self.hours)
        end = max(start, min(math.ceil(until), self.hours))
        if mode == "realtime":
            totals = self.fleets[class_index].totals(level, start, end)
        elif mode == "batch":
            days = (end - start) / 24.0
            totals = ServingTotals(cost_usd=days * self.batch_cost_per_day(level), predictions=level * days,
                                   hours=float(end - start))
        else:
            edge = self.scenario.serving.edge
            totals = ServingTotals(predictions=level * edge.predictions_per_device_day * (end - start) / 24.0,
                                   hours=float(end - start))
        self.totals[mode] = self.totals[mode] + totals
        return totals
