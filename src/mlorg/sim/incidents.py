"""Drift, defects and incidents in the organisation simulator: what degrades a live model, who notices, and what
each remedy wins back.

Changes in the world reach each live model as a Poisson process (its class's rate); deploys may bring defects. A
capability may stop a cause before it reaches the model (:data:`mlorg.scenario.PREVENTED_BY`). Otherwise the
degradation starts and costs the model its class's share of value for that cause; :mod:`mlorg.sim.drift` says when
a monitor or the business notices. The on-call person of the rota diagnoses, then acts, and each action wins back
its share of that cost (``incidents.recovery``, per cause): a rollback to the previous version (automated with a
registry and an incident process), a hot-fix, or for drift an interim threshold or rule and then an urgent retrain
once enough post-drift labels exist, which wins back more the more labels it has. A degradation is restored when
``RESTORED`` of its cost is won back, measured from its onset (time to restore = detection + response); the first
action that wins anything back is its mitigation.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from mlorg.scenario import DRIFT_CAUSES, PREVENTED_BY, Distribution
from mlorg.sim.context import Organisation
from mlorg.sim.drift import Monitors, traffic_bucket
from mlorg.sim.entities import (
    HOURS_PER_DAY,
    HOURS_PER_MONTH,
    HOURS_PER_WEEK,
    HOURS_PER_YEAR,
    RESTORED,
    Incident,
    IncidentDraws,
    Model,
    WorkItem,
)
from mlorg.sim.portfolio import labelled_positives, retrain_recovery

WORLD_CAUSES = ("covariate", "concept", "pipeline_break")
DEPLOY_CAUSES = ("skew", "bad_version", "latency_regression")
ROLLBACK_FIXES = DEPLOY_CAUSES  # what a previous version does not have
RETRAIN_FIXES = ("covariate", "concept")  # what only a model trained on post-drift labels fixes
ROADMAP_CUT = ("pipeline_break", "skew", "bad_version", "latency_regression")  # what the platform roadmap makes rarer


class IncidentProcess:
    """The degradations of one run's live models, from their onset to their end."""

    def __init__(self, sim: Organisation):
        self.sim = sim
        self.s = sim.s
        self.incidents: list[Incident] = []
        self.prevented = dict.fromkeys(DRIFT_CAUSES, 0)
        self.monitors: dict[tuple[int, float], Monitors] = {}
        self.false_alarm_rate: dict[int, float] = {}  # per live model: its monitors' false alarms per month
        self.monitored_hours = 0.0  # live-model hours under monitoring, for the false-alarm count
        self.expected_false_alarms = 0.0
        self.rate_sum = 0.0  # false alarms per month of the monitored live models
        self.monitored_live = 0
        self.since = 0.0

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

    def monitors_for(self, model: Model) -> Monitors:
        traits = model.traits
        key = (traits.index, traffic_bucket(traits.predictions_per_day))
        if key not in self.monitors:
            self.monitors[key] = Monitors(self.s, traits.model_class, key[1])
        return self.monitors[key]

    # ------------------------------------------------------------------------------ the model's life

    def model_live(self, model: Model) -> None:
        self._track_monitored()
        monitors = self.monitors_for(model)
        self.false_alarm_rate[model.id] = monitors.false_alarms_per_model_month() if monitors.any else 0.0
        self._track_monitored()
        self._next_world_change(model)

    def new_version(self, model: Model) -> None:
        """A new version, trained on recent data and deployed from scratch: none of the old version's defects, and
        drift won back as far as the post-drift labels it learnt from allow; a broken upstream pipeline stays
        broken. The new version may bring defects of its own."""
        for incident in list(model.open_incidents):
            if incident.cause in DEPLOY_CAUSES:
                self._recover(incident, "new_version", 1.0)
            elif incident.cause in RETRAIN_FIXES:
                self._recover(incident, "new_version", self._retrain_share(incident))
        rng = model.draws.incidents.random
        for cause in DEPLOY_CAUSES:
            defect = getattr(self.s.drift, cause)
            if defect.per_deploy > 0 and rng.random() < defect.per_deploy * self.sim.factor["drift"]:
                self.arrive(model, cause)

    def retired(self, model: Model) -> None:
        for incident in list(model.open_incidents):
            self._end(incident, "retired")
        self._track_monitored()
        self.false_alarm_rate.pop(model.id, None)
        self._track_monitored()

    # ------------------------------------------------------------------------------------ arrivals

    def _world_rates(self, model: Model) -> list[float]:
        factor = model.traits.model_class.drift_rate_factor
        return [getattr(self.s.drift, c).rate_per_model_year * factor
                * (self.sim.factor["drift"] if c in ROADMAP_CUT else 1.0) for c in WORLD_CAUSES]

    def _next_world_change(self, model: Model) -> None:
        """Changes in the world reach each live model as a Poisson process (all causes merged)."""
        rate = sum(self._world_rates(model)) / HOURS_PER_YEAR
        if rate > 0:
            wait = model.draws.incidents.random.exponential(1.0 / rate)
            self.sim.at(self.sim.env._now + wait, partial(self._world_change, model))

    def _world_change(self, model: Model, _number: int | None = None) -> None:
        if not model.is_live:
            return
        rng = model.draws.incidents.random
        rates = self._world_rates(model)
        cause = WORLD_CAUSES[int(np.searchsorted(np.cumsum(rates), rng.random() * sum(rates), side="right"))]
        self.arrive(model, cause)
        self._next_world_change(model)

    def arrive(self, model: Model, cause: str) -> None:
        """A cause reaches a live model: stopped by a capability, or the start of a degradation."""
        sim = self.sim
        rng, drift = model.draws.incidents.random, getattr(self.s.drift, cause)
        guard = PREVENTED_BY.get(cause)
        if guard in sim.built and drift.prevented_share > 0 and rng.random() < drift.prevented_share:
            self.prevented[cause] += 1
            sim.log("drift_prevented", model.id, detail=cause)
            return
        now = sim.env._now
        share = getattr(model.traits.model_class.value_loss, cause)
        incident = Incident(model=model, cause=cause, onset=now, loss_per_hour=model.traits.value_per_hour * share,
                            accrued_to=now)
        self.incidents.append(incident)
        if not model.open_incidents:
            model.open_incidents = []
        model.open_incidents.append(incident)
        sim.log("drift", model.id, detail=cause)
        detection = self.monitors_for(model).detect(
            cause, drift, share, rng, model.draws.incidents.business, monitoring_on="monitoring" in sim.built,
            latency_alerting="serving" in sim.built, max_hours=sim.horizon - now)
        sim.at(now + detection.lag_hours, partial(self._detected, incident, detection.by))

    # -------------------------------------------------------------------------------- response

    def _detected(self, incident: Incident, by: str, _number: int | None = None) -> None:
        if incident.ended_at == incident.ended_at:  # ended before anyone noticed
            return
        incident.detected_at, incident.detected_by = self.sim.env._now, by
        self.sim.log("incident", incident.model.id, detail=f"{incident.cause} by {by}")
        self._work(incident, "diagnose", incident.model.draws.incidents.diagnose())

    def _work(self, incident: Incident, step: str, effort: float, skill: str = "toil") -> None:
        self.sim.enqueue(WorkItem(kind="incident", base_effort=effort, effort=effort, skill=skill, incident=incident,
                                  step=step))

    def step_done(self, item: WorkItem) -> None:
        """Someone finished a step of incident work: act on what the diagnosis found, or record what it won."""
        sim = self.sim
        incident, now = item.incident, sim.env._now
        if incident.ended_at == incident.ended_at:
            return
        model, draws = incident.model, incident.model.draws.incidents
        if item.step == "interim":
            self._recover(incident, "interim", getattr(self.s.incidents.recovery.interim, incident.cause))
            self._plan_retrain(incident)
        elif item.step == "retrain":
            if model.is_live:
                sim.log("urgent_retrain", model.id, detail=incident.cause)
                sim.new_version(model)  # wins back what its labels allow, for this and the model's other drift
        elif item.step == "manual_rollback":
            self._recover(incident, "rollback", getattr(self.s.incidents.recovery.rollback, incident.cause))
        elif item.step == "hotfix":
            self._recover(incident, "hotfix", getattr(self.s.incidents.recovery.hotfix, incident.cause))
        elif incident.cause in ROLLBACK_FIXES and "model_registry" in sim.built and model.versions_live >= 2:
            if "incident_process" in sim.built:  # an automated, rehearsed rollback to the previous version
                minutes = self.s.incidents.automated_rollback_minutes
                sim.at(now + minutes / 60.0, partial(self._rolled_back, incident))
            else:
                self._work(incident, "manual_rollback", draws.manual_rollback())
        elif incident.cause in RETRAIN_FIXES:
            # A model for the new world needs labels from it; until they arrive, a threshold or rule wins some back.
            self._work(incident, "interim", draws.hotfix())
        else:  # a pipeline to repair, or a version with nothing to roll back to: fix it by hand
            self._work(incident, "hotfix", draws.hotfix())

    def _rolled_back(self, incident: Incident, _number: int | None = None) -> None:
        self._recover(incident, "automated_rollback", getattr(self.s.incidents.recovery.rollback, incident.cause))

    def _plan_retrain(self, incident: Incident) -> None:
        """An urgent retrain on the new world's labels, once it has trained on ``fresh_labels_days`` of it and its
        labels let it win back ``RESTORED`` of what a retrain can (or, at the latest, once the slow labels of those
        days have had three mean delays to arrive). Retraining earlier on fewer labels would win back less and
        leave the model degraded until the next version."""
        model_class = incident.model.traits.model_class
        ppd = incident.model.traits.predictions_per_day
        enough = model_class.retrain_half_labels * RESTORED / (1.0 - RESTORED)
        now_days = (self.sim.env._now - incident.onset) / HOURS_PER_DAY
        first = max(now_days, self.s.incidents.fresh_labels_days)
        last = max(first, self.s.incidents.fresh_labels_days + 3 * model_class.label_delay_days
                   + model_class.reviewed_delay_days)
        day = first
        while day < last and labelled_positives(model_class, ppd, day) < enough:
            day += 1.0
        effort = incident.model.draws.retraining() * self.sim.factor["retraining"]
        self.sim.at(incident.onset + min(day, last) * HOURS_PER_DAY, partial(self._urgent_retrain, incident, effort))

    def _urgent_retrain(self, incident: Incident, effort: float, _number: int | None = None) -> None:
        if incident.ended_at != incident.ended_at:
            self._work(incident, "retrain", effort, skill="retraining")

    def _retrain_share(self, incident: Incident) -> float:
        traits = incident.model.traits
        days = (self.sim.env._now - incident.onset) / HOURS_PER_DAY
        labels = labelled_positives(traits.model_class, traits.predictions_per_day, days)
        return retrain_recovery(getattr(self.s.incidents.recovery.retrain, incident.cause), labels,
                                traits.model_class.retrain_half_labels)

    # ------------------------------------------------------------------------------- recovery and end

    def _recover(self, incident: Incident, how: str, share: float) -> None:
        """An action won back ``share`` of what the degradation costs (never less than already won back)."""
        if incident.ended_at == incident.ended_at or share <= incident.recovered:
            return
        now = self.sim.env._now
        self._accrue(incident, now)
        incident.recovered = share
        if incident.mitigated_at != incident.mitigated_at:
            incident.mitigated_at, incident.mitigation = now, how
        self.sim.log("mitigated", incident.model.id, detail=f"{incident.cause} by {how}: {share:.0%} back")
        if share >= RESTORED:
            incident.restored_at, incident.restored_by = now, how
            self._end(incident, "restored")

    def _accrue(self, incident: Incident, until: float) -> None:
        incident.loss_usd += incident.loss_per_hour * (1.0 - incident.recovered) * (until - incident.accrued_to)
        incident.accrued_to = until

    def _end(self, incident: Incident, why: str) -> None:
        if incident.ended_at == incident.ended_at:
            return
        now = self.sim.env._now
        self._accrue(incident, now)
        incident.ended_at, incident.ended_by = now, why
        incident.model.open_incidents.remove(incident)

    # ------------------------------------------------------------------------- false alarms and end

    def _track_monitored(self) -> None:
        """Keep the integrals of monitored live models, and of their false-alarm rates, up to now."""
        now = self.sim.env._now
        elapsed = now - self.since
        self.monitored_hours += self.monitored_live * elapsed
        self.expected_false_alarms += self.rate_sum * elapsed / HOURS_PER_MONTH
        self.since = now
        watched = "monitoring" in self.sim.built
        rates = [r for r in self.false_alarm_rate.values() if r > 0] if watched else []
        self.monitored_live = len(rates)
        self.rate_sum = float(sum(rates))

    def triage_hours_per_week(self, _live: float) -> float:
        """Each false alarm pages the on-call for a look: a steady load like toil."""
        self._track_monitored()
        return self.rate_sum * self.s.monitoring.triage_hours * HOURS_PER_WEEK / HOURS_PER_MONTH

    def finish(self, models: list[Model]) -> int:
        """End every open degradation at the horizon; the number of false alarms over the monitored months."""
        for model in models:
            for incident in list(model.open_incidents):
                self._end(incident, "horizon")
        self._track_monitored()
        return int(self.sim.streams.generator("monitoring/false_alarms").poisson(self.expected_false_alarms))

