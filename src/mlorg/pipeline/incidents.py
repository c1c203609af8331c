"""The monitored run's operator: the monitors, the incident process and the registry.

When a monitor fires (outside the cooldown after an action, and while no challenger is on trial) the incident
process chooses a remedy from the evidence, as a fraud team does:

* **rollback** — the champion was deployed in the last probation_days, so the previous version still scores beside it
  with its alerts reviewed: if the previous version's alerts hold more known fraud dollars over the days since the
  deployment, the new version is the cause and goes (the deployment is on probation; the alarm is the evidence).
  At the end of the probation the same comparison rolls back without an alarm (a canary comparison);
* otherwise **interim and retrain** — the alert threshold drops so that interim_alert_share of transactions are
  flagged (within the investigators' capacity), and a challenger retrained on both label streams (reviewed alerts
  and chargebacks, up to yesterday) scores in shadow for shadow_days, its own alerts sharing the review capacity
  (otherwise only the champion's alerts would be labelled quickly, which favours it). It is **promoted** when its
  alerts hold more known fraud dollars than the champion's by SE_MARGIN standard errors of the difference; if not,
  another challenger is trained on the labels that have come since, up to MAX_CHALLENGERS, then the interim ends.

Every action goes to the registry's deployment history with its reason. The day's scores and alerts go to the
registry a few whole days at a time (:mod:`mlorg.pipeline.score_buffer`), written before any other registry write.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pandas as pd

from mlorg import __version__
from mlorg.pipeline.features import FeatureSet
from mlorg.pipeline.live import DAY, DAY_ZERO, Arm, Change, Data
from mlorg.pipeline.monitors import Alert, DailyMonitors, ScoredStream
from mlorg.pipeline.realtime import RealTimeSample
from mlorg.pipeline.registry import Registry
from mlorg.pipeline.score_buffer import DEFAULT_DAYS, ScoreBuffer
from mlorg.pipeline.training import Model

# A challenger is trained on fresher labels than a champion an alarm has just questioned, so one standard error of the
# difference is asked of it: at two, seed 1 kept a degraded champion through four challengers (28 days) that each
# held more fraud than it.
SE_MARGIN = 1.0
MAX_CHALLENGERS = 4
REGISTRY_ACTIONS = {"deploy": ("champion", "deploy"), "promote": ("champion", "promote"),
                    "rollback": ("champion", "rollback"), "interim": ("champion", "threshold"),
                    "interim_end": ("champion", "threshold"), "shadow": ("challenger", "shadow")}


def _errors() -> str:
    return f"{SE_MARGIN:g} standard error{'' if SE_MARGIN == 1 else 's'}"


def _params(feature_set: FeatureSet) -> dict:
    return {"windows_hours": list(feature_set.windows_hours), "avg_days": feature_set.avg_days,
            "risk_prior": feature_set.risk_prior, "risk_strength": feature_set.risk_strength}


def _jsonable(params: dict) -> dict:
    return {k: v if isinstance(v, bool | int | float | str | type(None)) else repr(v) for k, v in params.items()}


class IncidentProcess:
    """Monitors, incident process, registry and the real-time sample of the monitored arm."""

    def __init__(self, data: Data, served: pd.DataFrame, registry: Registry, monitors: DailyMonitors,
                 holdout: np.ndarray, realtime: RealTimeSample | None, *, acting: bool = True,
                 batch_days: int = DEFAULT_DAYS):
        self.served = served
        self.buffer = ScoreBuffer(registry, batch_days)  # the registry's current run is the one being served
        self.acting = acting  # False: alerts are recorded, nobody acts on them (no incident process yet)
        self.data, self.registry, self.monitors, self.holdout = data, registry, monitors, holdout
        self.realtime = realtime
        self.alerts: list[Alert] = []
        self.cooldown_until = -math.inf
        self.challengers = 0
        self.feature_set = FeatureSet()
        self.stream: ScoredStream | None = None

    def attach(self, arm: Arm) -> None:
        """Read ``arm``'s scores and flags as they fill up."""
        self.stream = ScoredStream(self.data.tx, self.served, arm.scores, arm.flagged, alerted=arm.alerted)

    # ------------------------------------------------------------------------------------------- each day

    def before_day(self, arm: Arm, d: int) -> None:
        pass  # the routine retrain is the arm's own; the process acts on what a day showed

    def after_day(self, arm: Arm, d: int, rows: np.ndarray) -> None:
        champion = arm.champion
        self.buffer.add_scores(self.data.tx["tx_id"].to_numpy()[rows], champion.version, arm.scores[rows],
                               self.data.tx["ts"].to_numpy()[rows])
        if self.realtime is not None:
            self.realtime.day(rows, champion)
        end = DAY_ZERO + (d + 1) * DAY
        fired = []
        for alert in self.monitors.check(d, end, rows, self.stream, lambda: self._holdout_scores(arm.champion)):
            self._record_alert(alert)
            fired.append(alert.monitor)
        self.buffer.end_day()  # its scores and alerts are all in; what it leads to below is written after them
        if not self.acting:
            return
        shadow = arm.shadow
        if shadow is not None and shadow.last_day <= d:
            if shadow.kind == "challenger":
                self._decide(arm, d)
            else:
                self._end_probation(arm, d)
        on_trial = arm.shadow is not None and arm.shadow.kind == "challenger"
        if fired and d >= self.cooldown_until and not on_trial:
            self._respond(arm, d, sorted(set(fired)))

    def _holdout_scores(self, model: Model) -> np.ndarray:
        """A model's scores on the holdout, computed once per model (not every day)."""
        if model.holdout_scores is None:
            model.holdout_scores = model.scores(self.data.offline[self.holdout])
        return model.holdout_scores

    def _record_alert(self, alert: Alert) -> None:
        self.alerts.append(alert)
        self.buffer.add_alert(at=(DAY_ZERO + (alert.day + 1) * DAY).to_pydatetime(), monitor=alert.monitor,
                              detector=alert.detector, statistic=float(alert.statistic),
                              threshold=float(alert.threshold), detail=alert.detail)

    # ------------------------------------------------------------------------------------------ remedies

    def _respond(self, arm: Arm, d: int, fired: list[str]) -> None:
        cause = f"alert from {', '.join(fired)}"
        shadow = arm.shadow
        if shadow is not None and shadow.kind == "previous":
            previous, new, _ = arm.dollars_caught(shadow.first_day, d, d)
            since = f"since version {arm.champion.version} was deployed on day {shadow.first_day}"
            if previous > new:
                self.cooldown_until = d + arm.p.cooldown_days
                arm.rollback(d, f"{cause}; {since} the previous version's alerts held ${previous:,.0f} of known fraud "
                                f"against ${new:,.0f} for the new one: roll back")
                return
            cause += (f"; {since} its alerts held ${new:,.0f} of known fraud against ${previous:,.0f} for the previous "
                      "version, so the deployment is not the cause")
        arm.set_interim(d, f"{cause}: flag {arm.p.interim_alert_share:.1%} of transactions while a challenger is "
                           "trained")
        self.challengers = 0
        self._challenge(arm, d, cause)

    def _end_probation(self, arm: Arm, d: int) -> None:
        """The end of a new version's probation: roll back if the previous version's alerts held more known fraud
        dollars (a canary comparison the registry makes possible). The burden is the new version's: going back to the
        version that served until last week risks little, keeping a worse one costs every day until the next retrain."""
        shadow = arm.shadow
        previous, new, _ = arm.dollars_caught(shadow.first_day, shadow.last_day, d)
        arm.shadow = None
        evidence = (f"probation of version {arm.champion.version} ended: over days {shadow.first_day}–{shadow.last_day}"
                    f" the previous version's alerts held ${previous:,.0f} of known fraud against ${new:,.0f}")
        if previous > new:
            self.cooldown_until = d + arm.p.cooldown_days
            arm.rollback(d, f"{evidence}: roll back")
        else:
            arm.keep(d, f"{evidence}: keep it")

    def _challenge(self, arm: Arm, d: int, why: str) -> None:
        challenger = arm.train(d + 1)
        self.challengers += 1
        frauds = int(arm.labels.known_fraud(arm.data.rows(max(0, d + 1 - arm.p.retrain_window_days), d),
                                            arm.data.end_hours(d)).sum())
        arm.start_shadow(d, challenger, f"{why}; challenger {self.challengers} retrained on the last "
                                        f"{arm.p.retrain_window_days} days with the {frauds} frauds known on day "
                                        f"{d + 1} (reviewed alerts and chargebacks), in shadow for "
                                        f"{arm.p.shadow_days} days")

    def _decide(self, arm: Arm, d: int) -> None:
        shadow = arm.shadow
        theirs, mine, se = arm.dollars_caught(shadow.first_day, shadow.last_day, d)
        evidence = (f"over days {shadow.first_day}–{shadow.last_day} the challenger's alerts held ${theirs:,.0f} of "
                    f"known fraud, the champion's ${mine:,.0f} (standard error of the difference ${se:,.0f})")
        self.cooldown_until = d + arm.p.cooldown_days
        if theirs - mine > SE_MARGIN * se:
            arm.shadow = None
            arm.deploy(d, shadow.model, "promote", f"{evidence}: promote, a gain beyond {_errors()}")
        elif self.challengers < MAX_CHALLENGERS:
            self._challenge(arm, d, f"{evidence}: not beyond {_errors()}, keep the champion")
        else:
            arm.shadow = None
            arm.end_interim(d, f"{evidence}: {MAX_CHALLENGERS} challengers did not beat the champion; the interim "
                               "threshold ends")

    # ------------------------------------------------------------------------------------------ registry

    def changed(self, arm: Arm, d: int, action: str, model: Model, reason: str) -> None:
        at = (DAY_ZERO + (d + 1) * DAY).to_pydatetime()
        if model.version < 0 or action in REGISTRY_ACTIONS:
            self.buffer.flush()  # the days that led to this change are written before it, as they happened
        if model.version < 0:
            rows = arm.data.rows(max(0, model.trained_day - arm.p.retrain_window_days), model.trained_day - 1)
            dataset_id = self.registry.register_dataset(f"retrain-day-{model.trained_day}", self.data.tx.iloc[rows])
            feature_version = self.registry.register_feature_set(self.feature_set.name, self.feature_set.sql,
                                                                 _params(self.feature_set))
            model.version = self.registry.register_model(
                model.estimator, name="card_fraud", params=_jsonable(model.estimator.get_params()),
                metrics={"threshold": model.threshold, "trained_day": model.trained_day}, dataset_id=dataset_id,
                feature_version=feature_version, code_version=__version__)
        if action not in REGISTRY_ACTIONS:  # a decision to change nothing is kept in the run's actions only
            return
        alias, registry_action = REGISTRY_ACTIONS[action]
        self.registry.set_alias(alias, model.version, reason=reason, actor="incident_process"
                                if action != "deploy" else "routine_retrain", action=registry_action, at=at)


class Script:
    """The ceiling's operator: the monitored arm's changes on the same days, every model trained on every true label
    (the arm's label book is an oracle)."""

    def __init__(self, changes: list[Change]):
        self.by_day: dict[int, list[Change]] = defaultdict(list)
        for change in changes:
            self.by_day[change.day].append(change)

    def before_day(self, arm: Arm, d: int) -> None:
        for change in self.by_day.get(d, []):
            if change.action == "deploy":  # routine retrains deploy before the day's scoring
                arm.deploy(d, arm.train(d, bad=arm.bad_version_due(d) if change.bad else ()), "deploy",
                           change.reason, bad=change.bad)

    def after_day(self, arm: Arm, d: int, rows: np.ndarray) -> None:
        for change in self.by_day.get(d, []):
            if change.action == "rollback":
                arm.rollback(d, change.reason)
            elif change.action == "interim":
                arm.set_interim(d, change.reason)
            elif change.action == "interim_end":
                arm.end_interim(d, change.reason)
            elif change.action == "promote":
                arm.shadow = None
                arm.deploy(d, arm.train(change.trained_day), "promote", change.reason)

    def changed(self, arm: Arm, d: int, action: str, model: Model, reason: str) -> None:
        pass
