"""Drift, defects and incidents in the organisation simulator: what degrades a live model, who notices, and the
incident work that mitigates it.

Changes in the world reach each live model as a Poisson process; deploys may bring defects. A capability may stop a
cause before it reaches the model (:data:`mlorg.scenario.PREVENTED_BY`). Otherwise the degradation starts, and
:mod:`mlorg.sim.drift` says when a monitor or the business notices. Incident work then comes before everything:
the on-call person diagnoses, and mitigates by rollback, hot-fix, or a quick fix that holds until an urgent retrain
on post-drift labels.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Protocol

import numpy as np
import simpy

from mlorg.rng import Streams
from mlorg.scenario import DRIFT_CAUSES, PREVENTED_BY, Distribution, Scenario
from mlorg.sim.drift import Monitors, loss_per_hour
from mlorg.sim.entities import (
    HOURS_PER_DAY,
    HOURS_PER_MONTH,
    HOURS_PER_WEEK,
    HOURS_PER_YEAR,
    Incident,
    IncidentDraws,
    Model,
    WorkItem,
)

WORLD_CAUSES = ("covariate", "concept", "pipeline_break")
DEPLOY_CAUSES = ("skew", "bad_version", "latency_regression")
ROLLBACK_FIXES = DEPLOY_CAUSES  # what a previous version does not have
RETRAIN_FIXES = ("covariate", "concept")  # what only a model trained on post-drift labels fixes


class Organisation(Protocol):
    """What the incident process uses of the simulation that owns it (:class:`mlorg.sim.org.OrgSimulation`)."""

    s: Scenario
    env: simpy.Environment
    streams: Streams
    horizon: float
    built: dict[str, float]  # capabilities in place, and since when
    factor: dict[str, float]  # effort multipliers of the capabilities built

    def at(self, time: float, callback: Callable) -> None: ...
    def log(self, event: str, model: int = -1, worker: int = -1, detail: str = "") -> None: ...
    def enqueue(self, item: WorkItem) -> None: ...
    def new_version(self, model: Model) -> None: ...


class IncidentProcess:
    """The degradations of one run's live models, from their onset to their end."""

    def __init__(self, sim: Organisation):
        self.sim = sim
        s = sim.s
        self.s = s
        self.monitors = Monitors(s)
        self.incidents: list[Incident] = []
        self.prevented = dict.fromkeys(DRIFT_CAUSES, 0)
        self.world_rate = sum(getattr(s.drift, c).rate_per_model_year for c in WORLD_CAUSES) / HOURS_PER_YEAR
        self.monitored_hours = 0.0  # live-model hours under monitoring, for the false-alarm count
        self.monitored_since = 0.0
        self.monitored_live = 0.0
        self.false_alarms_per_model_month = self.monitors.false_alarms_per_model_month()

    def draws(self, name: str) -> IncidentDraws:
        """Drift arrivals and incident response for the models of the person ``name``."""
        i, streams = self.s.incidents, self.sim.streams
        return IncidentDraws(
            random=streams.generator(f"drift/{name}"),
            business=streams.sampler(f"incidents/business/{name}", Distribution(
                dist=i.business_detection_days.dist, mean=i.business_detection_days.mean * HOURS_PER_DAY,
                cv=i.business_detection_days.cv)),
            diagnose=streams.sampler(f"incidents/diagnose/{name}", i.diagnose_hours),
            manual_rollback=streams.sampler(f"incidents/rollback/{name}", i.manual_rollback_hours),
            hotfix=streams.sampler(f"incidents/hotfix/{name}", i.hotfix_hours))

    # ------------------------------------------------------------------------------ the model's life

    def model_live(self, model: Model) -> None:
        self._next_world_change(model)

    def new_version(self, model: Model) -> None:
        """A version trained on recent data and deployed from scratch no longer has the old version's skew or
        defects, nor its drift; a broken upstream pipeline stays broken. The new version may bring defects."""
        self._end_incidents(model, "new_version", lambda i: i.cause != "pipeline_break")
        rng = model.draws.incidents.random
        for cause in DEPLOY_CAUSES:
            defect = getattr(self.s.drift, cause)
            if defect.per_deploy > 0 and rng.random() < defect.per_deploy:
                self._arrive(model, cause)

    def retired(self, model: Model) -> None:
        self._end_incidents(model, "retired", lambda _i: True)

    # ------------------------------------------------------------------------------------ arrivals

    def _next_world_change(self, model: Model) -> None:
        """Changes in the world reach each live model as a Poisson process (all causes merged)."""
        if self.world_rate > 0:
            wait = model.draws.incidents.random.exponential(1.0 / self.world_rate)
            self.sim.at(self.sim.env._now + wait, partial(self._world_change, model))

    def _world_change(self, model: Model, _event: simpy.Event | None = None) -> None:
        if not model.is_live:
            return
        rng = model.draws.incidents.random
        rates = [getattr(self.s.drift, c).rate_per_model_year for c in WORLD_CAUSES]
        cause = WORLD_CAUSES[int(np.searchsorted(np.cumsum(rates), rng.random() * sum(rates), side="right"))]
        self._arrive(model, cause)
        self._next_world_change(model)

    def _arrive(self, model: Model, cause: str) -> None:
        """A cause reaches a live model: stopped by a capability, or the start of a degradation."""
        sim = self.sim
        rng, drift = model.draws.incidents.random, getattr(self.s.drift, cause)
        guard = PREVENTED_BY.get(cause)
        if guard in sim.built and drift.prevented_share > 0 and rng.random() < drift.prevented_share:
            self.prevented[cause] += 1
            sim.log("drift_prevented", model.id, detail=cause)
            return
        now = sim.env._now
        incident = Incident(model=model, cause=cause, onset=now, loss_per_hour=loss_per_hour(self.s, drift))
        self.incidents.append(incident)
        model.open_incidents.append(incident)
        sim.log("drift", model.id, detail=cause)
        detection = self.monitors.detect(
            cause, drift, rng, model.draws.incidents.business, monitoring_on="monitoring" in sim.built,
            latency_alerting="serving" in sim.built, max_hours=sim.horizon - now)
        sim.at(now + detection.lag_hours, partial(self._detected, incident, detection.by))

    # -------------------------------------------------------------------------------- response

    def _detected(self, incident: Incident, by: str, _event: simpy.Event | None = None) -> None:
        if incident.ended_at == incident.ended_at:  # ended before anyone noticed
            return
        incident.detected_at, incident.detected_by = self.sim.env._now, by
        self.sim.log("incident", incident.model.id, detail=f"{incident.cause} by {by}")
        draws = incident.model.draws.incidents
        self._work(incident, "diagnose", draws.diagnose())

    def _work(self, incident: Incident, step: str, effort: float, skill: str = "toil") -> None:
        self.sim.enqueue(WorkItem(kind="incident", base_effort=effort, effort=effort, skill=skill, incident=incident,
                                  step=step))

    def step_done(self, item: WorkItem) -> None:
        """Someone finished a step of incident work: decide the next one, or mitigate."""
        sim = self.sim
        incident, now = item.incident, sim.env._now
        if incident.ended_at == incident.ended_at:
            return
        model, draws = incident.model, incident.model.draws.incidents
        if item.step == "interim_fix":
            incident.relieved_at, incident.relief = now, self.s.incidents.interim_fix_recovery
            sim.log("relieved", model.id, detail=incident.cause)
            labels = (self.s.incidents.fresh_labels_days + self.s.impact.label_delay_days) * HOURS_PER_DAY
            effort = model.draws.retraining() * sim.factor["retraining"]
            sim.at(max(now, incident.onset + labels), partial(self._urgent_retrain, incident, effort))
            return
        if item.step != "diagnose":
            self._mitigate(incident, item.step)
            return
        if incident.cause in ROLLBACK_FIXES and "model_registry" in sim.built and model.versions_live >= 2:
            if "incident_process" in sim.built:  # an automated, rehearsed rollback to the previous version
                minutes = self.s.incidents.automated_rollback_minutes
                sim.at(now + minutes / 60.0, partial(self._mitigate_at, incident, "automated_rollback"))
            else:
                self._work(incident, "manual_rollback", draws.manual_rollback())
        elif incident.cause in RETRAIN_FIXES:
            # A model for the new world needs labels from it; until they arrive, a quick fix wins back some loss.
            self._work(incident, "interim_fix", draws.hotfix())
        else:  # a pipeline to repair, or a version with nothing to roll back to: fix it by hand
            self._work(incident, "hotfix", draws.hotfix())

    def _urgent_retrain(self, incident: Incident, effort: float, _event: simpy.Event | None = None) -> None:
        if incident.ended_at != incident.ended_at:
            self._work(incident, "retrain", effort, skill="retraining")

    def _mitigate_at(self, incident: Incident, how: str, _event: simpy.Event | None = None) -> None:
        self._mitigate(incident, how)

    def _mitigate(self, incident: Incident, how: str) -> None:
        if incident.ended_at == incident.ended_at:
            return
        incident.mitigated_at, incident.mitigation = self.sim.env._now, how
        self.sim.log("mitigated", incident.model.id, detail=f"{incident.cause} by {how}")
        self._end(incident, "mitigated")
        if how == "retrain" and incident.model.is_live:
            self.sim.new_version(incident.model)  # also ends the model's other drift

    def _end_incidents(self, model: Model, why: str, which) -> None:
        for incident in [i for i in model.open_incidents if which(i)]:
            self._end(incident, why)

    def _end(self, incident: Incident, why: str) -> None:
        if incident.ended_at == incident.ended_at:
            return
        incident.ended_at, incident.ended_by = self.sim.env._now, why
        incident.model.open_incidents.remove(incident)

    # ------------------------------------------------------------------------- false alarms and end

    def triage_hours_per_week(self, live: float) -> float:
        """Each false alarm pages the on-call for a look: a steady load like toil. Also keeps the integral of
        monitored live models over time, for the false-alarm count."""
        now = self.sim.env._now
        self.monitored_hours += self.monitored_live * (now - self.monitored_since)
        self.monitored_since = now
        watched = self.monitors.any and "monitoring" in self.sim.built
        self.monitored_live = live if watched else 0.0
        return (self.monitored_live * self.false_alarms_per_model_month * self.s.monitoring.triage_hours
                * HOURS_PER_WEEK / HOURS_PER_MONTH)

    def finish(self, models: list[Model]) -> int:
        """End every open degradation at the horizon; the number of false alarms over the monitored months."""
        for model in models:
            self._end_incidents(model, "horizon", lambda _i: True)
        months = self.monitored_hours / HOURS_PER_MONTH
        return int(self.sim.streams.generator("monitoring/false_alarms").poisson(
            months * self.false_alarms_per_model_month))
