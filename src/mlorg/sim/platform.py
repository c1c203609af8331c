"""The platform team's work: the capabilities of its build order, built in chunks several people share, and then
a roadmap of finite items, each with a stated effect when done.

A capability, once built, multiplies the effort of productionisation, retraining and toil and the review wait by
its factors and costs weekly upkeep. A roadmap item (they arrive once the build order is finished and at least one
capability exists) wins a share (the scenario's roadmap gains) of what is left between today's effort, toil and
rate of breaks and bad deploys and ``roadmap_floor`` of them: each item wins less than the one before. Items come
faster as the fleet grows (as the square root of live models beyond ``roadmap_models``). Nothing here is
busywork: with no item waiting, a platform engineer with nothing else to do is idle.
"""

from __future__ import annotations

import math

from mlorg.scenario import CAPABILITIES
from mlorg.sim.context import Organisation
from mlorg.sim.entities import HOURS_PER_YEAR, WorkItem


class PlatformWork:
    def __init__(self, sim: Organisation):
        self.sim = sim
        s = sim.s
        caps = s.platform.capabilities
        self.capability = {name: getattr(caps, name) for name in CAPABILITIES}
        self.chunks_left: dict[str, int] = {}
        self.capability_factor = {"productionisation": 1.0, "retraining": 1.0, "toil": 1.0, "review": 1.0}
        self.roadmap = {"effort": 1.0, "toil": 1.0, "drift": 1.0}
        self.upkeep_fixed = 0.0  # hours/week to keep the built capabilities running
        self.items_done = 0
        self.roadmap_started = False
        self.rng = sim.streams.generator("platform/roadmap")

    def start(self) -> None:
        for name, cap in self.capability.items():
            if cap.built:
                self._built(name)
        for name in self.sim.s.platform.build_order:
            if name not in self.sim.built:
                self._plan(name)
        self._maybe_start_roadmap()

    def done(self, item: WorkItem) -> None:
        """A chunk of a capability, or a roadmap item, is finished."""
        if item.step == "roadmap":
            self._item_done()
            return
        self.chunks_left[item.capability] -= 1
        if self.chunks_left[item.capability] == 0:
            self._built(item.capability)
            self._maybe_start_roadmap()

    # --------------------------------------------------------------------------------------- capabilities

    def _plan(self, name: str) -> None:
        effort = self.capability[name].build_effort_hours
        chunk = self.sim.s.platform.chunk_hours
        n = max(1, math.ceil(effort / chunk - 1e-9))
        self.chunks_left[name] = n
        for i in range(n):
            size = min(chunk, effort - i * chunk) if effort > 0 else 0.0
            self.sim.enqueue(WorkItem(kind="platform", base_effort=size, capability=name))

    def _built(self, name: str) -> None:
        cap, sim = self.capability[name], self.sim
        sim.built[name] = sim.env._now
        for kind, value in (("productionisation", cap.effort_factor), ("toil", cap.toil_factor),
                            ("retraining", cap.retraining_factor), ("review", cap.review_factor)):
            self.capability_factor[kind] *= value
        self.upkeep_fixed += cap.upkeep_hours_per_week
        sim.levels["capabilities_built"].set(sim.env._now, len(sim.built))
        sim.log("capability_built", detail=name)
        self._set_factors()
        sim.update_loads()

    # -------------------------------------------------------------------------------------------- roadmap

    def _maybe_start_roadmap(self) -> None:
        if self.roadmap_started or not self.sim.built or any(self.chunks_left.values()):
            return
        self.roadmap_started = True
        self._next_item()

    def _next_item(self) -> None:
        p = self.sim.s.platform
        live = self.sim.models_live.values[-1]
        rate = p.roadmap_items_per_year * math.sqrt(max(1.0, live / p.roadmap_models))
        if rate > 0:
            self.sim.at(self.sim.env._now + self.rng.exponential(HOURS_PER_YEAR / rate), self._item_arrives)

    def _item_arrives(self, _number: int | None = None) -> None:
        self.sim.enqueue(WorkItem(kind="platform", base_effort=self.sim.s.platform.roadmap_item_hours, step="roadmap"))
        self._next_item()

    def _item_done(self) -> None:
        p = self.sim.s.platform
        for key, gain in (("effort", p.roadmap_effort_gain), ("toil", p.roadmap_toil_gain),
                          ("drift", p.roadmap_drift_gain)):
            self.roadmap[key] -= gain * (self.roadmap[key] - p.roadmap_floor)
        self.items_done += 1
        self.sim.log("roadmap_item_done", detail=str(self.items_done))
        self._set_factors()
        self.sim.update_loads()

    def _set_factors(self) -> None:
        """The multipliers in force: capabilities built, times what the roadmap has won."""
        cap, road, factor = self.capability_factor, self.roadmap, self.sim.factor
        factor["productionisation"] = cap["productionisation"] * road["effort"]
        factor["retraining"] = cap["retraining"] * road["effort"]
        factor["toil"] = cap["toil"] * road["toil"]
        factor["review"] = cap["review"]
        factor["drift"] = road["drift"]

