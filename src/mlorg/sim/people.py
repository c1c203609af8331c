"""The organisation simulator's people: hiring, leaving, and each person's loop of work.

Time is in hours. People deliver ``productive_hours_per_week`` person-hours per calendar week, so an effort of E
person-hours at efficiency e takes E / (e · hours/168) calendar hours; a person hired after day 0 works at a pace
that rises over their first weeks (``org.ramp_up_days``). A person's steady load (toil, support: a share of their
capacity, :mod:`mlorg.sim.loads`) slows every task they start and is booked apart from it.

Each person is a state machine moved on by the clock's callbacks (:mod:`mlorg.sim.kernel`), in the order SimPy would
resume a process that loops: take the most urgent work (:mod:`mlorg.sim.dispatch`), or wait idle until some is
handed over; work the task's calendar hours; book them and say what was done. An incident call or leaving the
organisation interrupts them.
"""

from __future__ import annotations

from functools import partial
from heapq import heappush

from mlorg.sim.entities import HOURS_PER_DAY, HOURS_PER_YEAR, ModelDraws, Worker, WorkItem
from mlorg.sim.kernel import NORMAL


class People:
    """Hiring, leaving and each person's loop, as part of :class:`mlorg.sim.org.OrgSimulation` (which holds the
    staff, queues, clock and loads these use)."""

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
                governance=self.streams.uniforms(f"governance/{name}"),
                serving=self.serving.draws(name) if self.serving else None,
                incidents=self.incidents.draws(name) if self.incidents else None)
        self.workers[worker.id] = worker
        self.staff[role][worker.id] = worker
        self._set_headcount(role, +1)
        self.log("hired", worker=worker.id, detail=role)
        worker.resume = partial(self._resumed, worker)
        worker.expect = self.env.urgent(partial(self._start, worker))
        rate = getattr(self.s.attrition.annual_rate, role)
        if rate > 0:
            tenure = self.attrition_rng[role].exponential(HOURS_PER_YEAR / rate)
            self.at(now + tenure, lambda _number: self._interrupt_person(worker, "leaves"))

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

    # A person is a state machine moved on by the clock's callbacks, in the order SimPy would resume a process that
    # loops: take the most urgent work, or wait idle until some is handed over; work the task's calendar hours; book
    # them and say what was done. ``w.expect`` is the number of the one pending call that may move them on.

    def _start(self, w: Worker, _number: int | None = None) -> None:
        """A new person's first step (SimPy's process start)."""
        self._next(w)

    def _next(self, w: Worker) -> None:
        """Free: start the most urgent work this person will do, or wait idle for some to be handed over."""
        item = self._take(w)
        if item is None:
            w.state, w.expect = "idle", -1  # until _hand schedules the wake-up
            self.idle[w.role][w.id] = w
            self._begin(w, "idle", None, 0.0)
            return
        self._work_on(w, item)

    def _work_on(self, w: Worker, item: WorkItem) -> None:
        loads, now = self.loads, self.env._now
        item.state = "active"
        if item.effort != item.effort:  # NaN: first start, apply the capabilities now in force
            item.effort = item.base_effort * self.factor[item.kind]
        share = loads.share[w.role]
        pace = self._pace(w) if w.ramp_until > 0.0 else 1.0
        hours = item.effort / (w.efficiency[item.skill] * pace * (1.0 - share) * self.speed)
        w.activity, w.item, w.since, w.task_hours = item.kind, item, now, hours
        w.load_share, w.support_split = share, loads.support_split[w.role]
        w.end = end = now + hours
        # The clock's after(hours, w.resume), inline: this runs for every task (hours >= 0 always: no check).
        w.state, w.expect = "working", (number := next(self.env._eid))
        heappush(self.env._queue, (end, NORMAL, number, w.resume))

    def _resumed(self, w: Worker, number: int) -> None:
        """The call a person waited for: work handed over while idle, or the end of their task."""
        if number != w.expect:
            return  # an interrupt overtook it
        if w.state == "idle":
            elapsed = self.env._now - w.since  # _close, inline: this runs for every piece of work handed over
            if elapsed > 0:
                self._book(w, elapsed)
            self._work_on(w, w.item)
            return
        item = w.item
        self._book(w, w.task_hours)  # the whole task
        w.item = None
        item.state = "done"
        self._done(item, w)
        self._next(w)

    def _interrupted(self, w: Worker, cause: str, _number: int) -> None:
        """An interrupt reaches a person (SimPy's ``Interrupt`` thrown into their process)."""
        if not w.alive:  # interrupted twice in one instant, and the first ended it
            return
        w.expect = -1  # whatever they waited for no longer moves them on
        if w.state == "idle":
            self.idle[w.role].pop(w.id, None)
            if cause == "leaves":
                self._end(w)
                return
            self._close(w)
            if w.item is not None:  # work offered in the same instant: back to its queue, not started
                offered, w.item = w.item, None
                offered.state = "queued"
                self.queues[offered.kind].appendleft(offered)
                self._offer(offered)
            self._next(w)  # an incident call that arrived after the work it was meant to stop
        elif cause == "leaves":
            self._end(w)
        elif w.state == "working" and w.item.kind != "incident":
            self._set_aside(w, w.item)
            self._next(w)
        else:
            # A call meant for the work this person just finished: the incident they are on comes first, to its end.
            if w.state == "working":
                w.item.state = "active"
            w.state, w.expect = "finishing", self.env.after(w.end - self.env._now, w.resume)

    def _interrupt_person(self, w: Worker, cause: str) -> None:
        if not w.alive:
            raise RuntimeError(f"worker {w.id} has left and cannot be interrupted")
        self.env.urgent(partial(self._interrupted, w, cause))

    def _end(self, w: Worker) -> None:
        """The person leaves: their process ends (an event SimPy counts)."""
        self._leave(w)
        w.alive = False
        w.resume = None  # a cycle (the person and their call) that would keep their draws until a collector pass
        self.env.count_event()

    def _book(self, w: Worker, elapsed: float) -> None:
        """Book ``elapsed`` hours of the worker's current activity, its steady load apart (toil or support)."""
        hours = self.role_hours[w.role]
        if w.load_share:
            own = elapsed * (1.0 - w.load_share)
            hours[w.activity] += own
            hours["support"] += (elapsed - own) * w.support_split
            hours["toil"] += (elapsed - own) * (1.0 - w.support_split)
        else:  # no steady load: nothing to add to toil or support (adding 0.0 would leave them as they are)
            own = elapsed
            hours[w.activity] += own
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
