"""Who does what next: the organisation simulator's queues of work, and handing work to people.

A free person takes the most urgent work their role can and will do:

    incident work  >  productionisation  >  retraining  >  governance reviews  >  platform work  >  research

Queued work goes straight to the longest-idle person who would take it. Diagnosis and fixes go to the on-call
person of the rota, who stops what they are doing; an urgent retrain takes a data scientist off their work the
same way.
"""

from __future__ import annotations

from collections import deque

from mlorg.scenario import ROLES
from mlorg.sim.entities import NAN, Worker, WorkItem

# The queues a free person looks at after productionisation, most urgent first, each with the skill it needs.
AFTER_PRODUCTIONISATION = (("retraining", "retraining"), ("governance", "research"), ("platform", "platform"))


class Dispatch:
    """The queues and the hand-over of work, as part of :class:`mlorg.sim.org.OrgSimulation` (which holds the
    queues, the idle people and the staff these use)."""

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
        # Each queue is looked at only if it holds anything: most of the time most are empty.
        queue = queues["productionisation"]
        if queue and eff["productionisation"] > 0 and (w.role != "data_scientist" or self._takes_production(w)):
            item = self._pop(queue)
            if item is not None:
                return item
        for kind, skill in AFTER_PRODUCTIONISATION:
            queue = queues[kind]
            if queue and eff[skill] > 0:
                item = self._pop(queue)
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

    def _interrupt(self, w: Worker) -> None:
        w.item.state = "preempted"  # not offered twice while the interrupt is on its way
        self._interrupt_person(w, "incident")

    def _hand(self, worker: Worker, item: WorkItem) -> None:
        item.state = "active"
        worker.item = item
        worker.expect = self.env.after(0.0, worker.resume)
