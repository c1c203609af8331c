"""Governance on the way to live, part of time-to-production: what a model passes between trained and serving.

Right after training a share of models fails offline validation (no better than what it would replace) and never
ships. After productionisation: the deploy review's wait, an independent model-risk review for regulated classes
(work for a data scientist, in its own queue), a shadow or canary period, an A/B test of a stated length whose
result a data scientist reads (a share of new models lose it and never ship), and the release train. New versions
of a live model pass the same steps, but do not fail them: a version that would lose is retrained again later.
"""

from __future__ import annotations

import math
from functools import partial

import simpy

from mlorg.sim.context import Organisation
from mlorg.sim.entities import HOURS_PER_DAY, Model, WorkItem
from mlorg.sim.portfolio import quantile

REVIEW_SKILL = "research"  # model-risk review and A/B analysis: data scientists' work


class GovernanceSteps:
    def __init__(self, sim: Organisation, go_live):
        self.sim = sim
        self.go_live = go_live  # the simulation's step that puts a model or version live

    def passes_validation(self, model: Model) -> bool:
        """Offline validation right after training (one draw a model, whatever the class)."""
        u = model.draws.governance.random()
        if u < model.traits.model_class.governance.validation_failure_share:
            self._reject(model, "validation")
            return False
        return True

    def productionised(self, item: WorkItem) -> None:
        """Production work on a model or version is done: the deploy review's wait comes first."""
        review = item.model.draws.review() * self.sim.factor["review"]
        self.sim.at(self.sim.env._now + review, partial(self._risk_review, item))

    def _risk_review(self, item: WorkItem, _event: simpy.Event | None = None) -> None:
        g = item.model.traits.model_class.governance
        u = item.model.draws.governance.random()  # drawn for every model, reviewed or not
        if not g.risk_review:
            self._shadow(item)
            return
        effort = quantile(g.risk_review_hours, min(max(u, 1e-12), 1 - 1e-12))
        self.sim.enqueue(WorkItem(kind="governance", base_effort=effort, effort=effort, skill=REVIEW_SKILL,
                                  model=item.model, step="risk_review", parent=item))

    def _shadow(self, item: WorkItem) -> None:
        days = item.model.traits.model_class.governance.shadow_days
        self.sim.at(self.sim.env._now + days * HOURS_PER_DAY, partial(self._ab_test, item))

    def _ab_test(self, item: WorkItem, _event: simpy.Event | None = None) -> None:
        g = item.model.traits.model_class.governance
        if g.ab_test_days <= 0:
            self._release(item)
            return
        if not item.is_version:
            item.model.serving_at = self.sim.env._now  # its treatment arm serves real users from now
        self.sim.at(self.sim.env._now + g.ab_test_days * HOURS_PER_DAY, partial(self._ab_read, item))

    def _ab_read(self, item: WorkItem, _event: simpy.Event | None = None) -> None:
        hours = item.model.traits.model_class.governance.ab_analysis_hours
        self.sim.enqueue(WorkItem(kind="governance", base_effort=hours, effort=hours, skill=REVIEW_SKILL,
                                  model=item.model, step="ab_test", parent=item))

    def done(self, work: WorkItem) -> None:
        """A data scientist finished a review or read an A/B test."""
        item, model = work.parent, work.model
        if work.step == "risk_review":
            self._shadow(item)
            return
        u = model.draws.governance.random()
        if not item.is_version and u < model.traits.model_class.governance.ab_loss_share:
            self._reject(model, "ab_test")
            return
        self._release(item)

    def _release(self, item: WorkItem) -> None:
        """Live at the next release of the release train (or at once without one)."""
        now = self.sim.env._now
        every = self.sim.s.deploy.release_every_days * HOURS_PER_DAY
        live = math.ceil(now / every) * every if every > 0 else now
        self.sim.at(live, partial(self.go_live, item))

    def _reject(self, model: Model, why: str) -> None:
        now = self.sim.env._now
        model.rejected_at, model.rejected_by = now, why
        if why != "validation":
            self.sim.backlog.add(now, -1)  # it had joined the backlog; a model failing validation never did
        self.sim.log("rejected", model.id, detail=why)
