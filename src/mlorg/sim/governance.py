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
from heapq import heappop, heappush

from mlorg.scenario import Governance
from mlorg.sim.context import Organisation
from mlorg.sim.entities import HOURS_PER_DAY, Model, ModelDraws, WorkItem
from mlorg.sim.portfolio import quantile

REVIEW_SKILL = "research"  # model-risk review and A/B analysis: data scientists' work


class GovernanceSteps:
    def __init__(self, sim: Organisation, go_live):
        self.sim = sim
        self.go_live = go_live  # the simulation's step that puts a model or version live
        self.release_every_days = sim.s.deploy.release_every_days

    def passes_validation(self, model: Model) -> bool:
        """Offline validation right after training (one draw a model, whatever the class)."""
        u = self._uniform(model.draws)
        if u < model.traits.model_class.governance.validation_failure_share:
            self._reject(model, "validation")
            return False
        return True

    def productionised(self, item: WorkItem) -> None:
        """Production work on a model or version is done: the deploy review's wait comes first."""
        model = item.model
        review = model.draws.review() * self.sim.factor["review"]
        g = model.traits.model_class.governance
        if g.risk_review or g.ab_test_days > 0 or self.release_every_days > 0:
            self.sim.at(self.sim.env._now + review, partial(self._risk_review, item))
        else:
            self._straight_to_live(item, g, review)

    def _straight_to_live(self, item: WorkItem, g: Governance, review: float) -> None:
        """No model-risk review, A/B test or release train: the model goes live when the review's wait and then the
        shadow period end, and nothing in between needs an event. Both times are worked out now with the arithmetic
        the clock would have used at each step (:meth:`Clock.call_at`), so they are the times the steps would have
        had. The review's end still takes its governance draw (drawn for every model, reviewed or not): it is noted
        and taken just before the next draw of the same stream that comes after it (:meth:`_uniform`), so every
        draw gets the value it would have had — two events a version less."""
        env = self.sim.env
        now, until = env._now, env.until
        reviewed = now + review
        if not reviewed < until:
            return
        delay = reviewed - now
        reviewed = now + (delay if delay > 0.0 else 0.0)
        heappush(item.model.draws.governance_skipped, reviewed)
        live = reviewed + g.shadow_days * HOURS_PER_DAY
        if not live < until:
            return
        delay = live - reviewed
        env.call_exactly_at(reviewed + (delay if delay > 0.0 else 0.0), partial(self.go_live, item))

    def _uniform(self, draws: ModelDraws) -> float:
        """The next governance draw of a trainer's stream, once the draws noted by :meth:`_straight_to_live` before
        now are taken. (One noted for this very instant is left for later: the times are continuous, so no other
        draw of the stream falls in it.)"""
        skipped = draws.governance_skipped
        if skipped:
            now = self.sim.env._now
            while skipped and skipped[0] < now:
                heappop(skipped)
                draws.governance.random()
        return draws.governance.random()

    def _risk_review(self, item: WorkItem, _number: int | None = None) -> None:
        model = item.model
        g = model.traits.model_class.governance
        u = self._uniform(model.draws)  # drawn for every model, reviewed or not
        if not g.risk_review:
            self._shadow(item, g)
            return
        effort = quantile(g.risk_review_hours, min(max(u, 1e-12), 1 - 1e-12))
        self.sim.enqueue(WorkItem(kind="governance", base_effort=effort, effort=effort, skill=REVIEW_SKILL,
                                  model=item.model, step="risk_review", parent=item))

    def _shadow(self, item: WorkItem, g: Governance) -> None:
        end = self.sim.env._now + g.shadow_days * HOURS_PER_DAY
        if g.ab_test_days <= 0 and self.release_every_days <= 0:
            # No A/B test and no release train: the model goes live as its shadow period ends. Scheduled now rather
            # than through an event at that time that would only schedule it for the same instant: the same time
            # and the same order (nothing else falls in that instant), one event a version less.
            self.sim.at(end, partial(self.go_live, item))
            return
        self.sim.at(end, partial(self._ab_test, item))

    def _ab_test(self, item: WorkItem, _number: int | None = None) -> None:
        g = item.model.traits.model_class.governance
        if g.ab_test_days <= 0:
            self._release(item)
            return
        if not item.is_version:
            item.model.serving_at = self.sim.env._now  # its treatment arm serves real users from now
        self.sim.at(self.sim.env._now + g.ab_test_days * HOURS_PER_DAY, partial(self._ab_read, item))

    def _ab_read(self, item: WorkItem, _number: int | None = None) -> None:
        hours = item.model.traits.model_class.governance.ab_analysis_hours
        self.sim.enqueue(WorkItem(kind="governance", base_effort=hours, effort=hours, skill=REVIEW_SKILL,
                                  model=item.model, step="ab_test", parent=item))

    def done(self, work: WorkItem) -> None:
        """A data scientist finished a review or read an A/B test."""
        item, model = work.parent, work.model
        if work.step == "risk_review":
            self._shadow(item, model.traits.model_class.governance)
            return
        u = self._uniform(model.draws)
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
