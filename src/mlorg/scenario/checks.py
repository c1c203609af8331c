"""Rules across fields, checked once every field is valid on its own: totals, orderings and what the rest of
the scenario makes of a value (a monitor window that holds no prediction, an instance type with no price)."""

from __future__ import annotations

import difflib
import math
from typing import Any

from mlorg.scenario.drift import SEQUENTIAL_MONITOR_DETECTORS
from mlorg.scenario.fields import GUARD
from mlorg.scenario.pipeline import Pipeline
from mlorg.scenario.schema import MAX_PEOPLE, MAX_PERSON_YEARS, Scenario
from mlorg.scenario.serving import Serving
from mlorg.scenario.text import number_text, toml_text


def check_whole(s: Scenario) -> list[str]:
    errors = []
    for name in ("research.cycle_hours", "productionisation.effort_hours", "deploy.review_hours",
                 "lifecycle.retraining_effort_hours", "incidents.business_detection_days",
                 "incidents.diagnose_hours", "incidents.manual_rollback_hours", "incidents.hotfix_hours"):
        d = _get(s, name)
        if d.dist != "deterministic" and d.mean > 0 and d.cv == 0 and d.dist != "exponential":
            errors.append(f"{name}.cv: 0 is not allowed for a {d.dist} distribution; must be > 0 "
                          "(use dist = \"deterministic\" for a fixed value)")
    if s.research.cycle_hours.mean < 1.0:
        errors.append(f"research.cycle_hours.mean: {number_text(s.research.cycle_hours.mean)} is not allowed; "
                      f"must be >= 1 ({GUARD})")
    if s.platform.chunk_hours < 1.0:
        errors.append("platform.chunk_hours: must be >= 1")
    start = s.org.data_scientists + s.org.ml_engineers + s.org.platform_engineers
    hired = sum(h.count for h in s.org.hiring)
    if start + hired > MAX_PEOPLE:
        errors.append(f"org: {start + hired} people at start plus hiring plan is not allowed; must be "
                      f"<= {MAX_PEOPLE} ({GUARD})")
    person_years = (start + hired) * s.horizon_days / 365.0
    if person_years > MAX_PERSON_YEARS:
        errors.append(f"horizon_days: {number_text(s.horizon_days)} days with {start + hired} people is "
                      f"{person_years:,.0f} person-years; must be <= {MAX_PERSON_YEARS:,} ({GUARD})")
    errors.extend(check_serving(s.serving))
    errors.extend(check_instances(s))
    errors.extend(check_monitoring(s))
    errors.extend(check_pipeline(s.pipeline))
    errors.extend(check_portfolio(s))
    if s.pipeline.causes and not errors:  # a scenario that injects causes is a pipeline scenario: it must run
        fewest, why = pipeline_minimum_days(s)
        if s.pipeline.days < fewest:
            errors.append(f"pipeline.days: {s.pipeline.days} is not allowed; must be >= {fewest}: {why}")
    for i, hire in enumerate(s.org.hiring):
        if hire.day > s.horizon_days:
            errors.append(f"org.hiring[{i}].day: {number_text(hire.day)} is not allowed; must be <= horizon_days "
                          f"({number_text(s.horizon_days)})")
    return errors


def check_serving(serving: Serving) -> list[str]:
    errors = []
    shares = serving.realtime_share + serving.batch_share + serving.edge_share
    if abs(shares - 1.0) > 1e-9:
        errors.append(f"serving: realtime_share + batch_share + edge_share = {shares:g} is not allowed; must be 1")
    rt = serving.realtime
    for name, values, n in (("daily_profile", rt.daily_profile, 24), ("weekly_profile", rt.weekly_profile, 7)):
        if len(values) != n or not sum(values) > 0:
            errors.append(f"serving.realtime.{name}: {len(values)} values is not allowed; must be {n} numbers "
                          "with a positive sum")
    if rt.service_dist in ("lognormal", "gamma") and rt.service_cv == 0:
        errors.append(f"serving.realtime.service_cv: 0 is not allowed for a {rt.service_dist} distribution; "
                      "must be > 0 (use service_dist = \"deterministic\" for a fixed service time)")
    if rt.min_replicas > rt.max_replicas:
        errors.append(f"serving.realtime.min_replicas: {rt.min_replicas} is not allowed; must be <= max_replicas "
                      f"({rt.max_replicas})")
    return errors


def check_instances(s: Scenario) -> list[str]:
    """Every instance type a serving or infrastructure bill names must be in the price list."""
    named = []
    if s.serving.enabled:
        named += [("serving.realtime.instance", s.serving.realtime.instance),
                  ("serving.batch.instance", s.serving.batch.instance)]
        named += [(f"portfolio[{i}].instance", c.instance) for i, c in enumerate(s.portfolio) if c.instance]
    if s.infra.enabled:
        named += [("infra.training_instance", s.infra.training_instance),
                  ("infra.feature_instance", s.infra.feature_instance)]
        named += [(f"portfolio[{i}].training_instance", c.training_instance)
                  for i, c in enumerate(s.portfolio) if c.training_instance]
    if not named:
        return []
    from mlorg.serving.instances import load_instances  # only a scenario that pays for instances needs the list

    known = [i.name for i in load_instances()]
    errors = []
    for where, name in named:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            errors.append(f"{where}: {toml_text(name)} is not allowed; must be one of {', '.join(known)}{hint}")
    return errors


def check_monitoring(s: Scenario) -> list[str]:
    """Each enabled monitor must make sense for the traffic: the detector's own checks, in scenario terms."""
    errors = []
    # The quietest class's typical model (its traffic's mean) sets what a window holds.
    quietest = min(s.model_classes(), key=lambda c: c.predictions_per_day.mean)
    traffic = quietest.predictions_per_day.mean / 24.0
    where_traffic = (f"impact.predictions_per_day = {number_text(quietest.predictions_per_day.mean)}"
                     if not s.portfolio else
                     f"{number_text(quietest.predictions_per_day.mean)} predictions a day (class {quietest.name!r})")
    for name in ("features", "predictions"):
        m = getattr(s.monitoring, name)
        if not m.enabled:
            continue
        where = f"monitoring.{name}"
        if m.detector == "ks" and m.threshold >= 1:
            errors.append(f"{where}.threshold: {number_text(m.threshold)} is not allowed; a KS threshold is a "
                          "p-value, must be < 1")
        if m.detector in SEQUENTIAL_MONITOR_DETECTORS and m.window_hours > m.cadence_hours:
            errors.append(f"{where}.window_hours: {number_text(m.window_hours)} is not allowed; a {m.detector} "
                          "takes one window per check, so it must be <= cadence_hours "
                          f"({number_text(m.cadence_hours)})")
        if traffic * m.window_hours < 1:
            errors.append(f"{where}.window_hours: {number_text(m.window_hours)} is not allowed; at "
                          f"{where_traffic} the window holds no prediction")
    if not s.portfolio and s.monitoring.performance.enabled and s.impact.recall <= s.monitoring.performance.max_drop:
        errors.append(f"monitoring.performance.max_drop: {number_text(s.monitoring.performance.max_drop)} is not "
                      f"allowed; must be < impact.recall ({number_text(s.impact.recall)})")
    return errors


def check_pipeline(p: Pipeline) -> list[str]:
    errors = []
    if p.train_days + p.holdout_days >= p.days:
        errors.append(f"pipeline.days: {p.days} is not allowed; must be more than train_days + holdout_days "
                      f"({p.train_days + p.holdout_days}) so the model serves some days")
    for i, cause in enumerate(p.causes):
        where = f"pipeline.causes[{i}]"
        if cause.start_day >= p.days:
            errors.append(f"{where}.start_day: {number_text(cause.start_day)} is not allowed; must be < pipeline.days "
                          f"({p.days})")
        if cause.kind in ("upstream_break", "bad_version") and cause.feature not in ("device_id", "country"):
            errors.append(f"{where}.feature: {toml_text(cause.feature)} is not allowed; {cause.kind} needs the "
                          "source that breaks: device_id or country")
        if cause.kind in ("fraud_pattern_shift", "covariate_shift", "upstream_break", "bad_version") and cause.size > 1:
            errors.append(f"{where}.size: {number_text(cause.size)} is not allowed; a {cause.kind} size is a share, "
                          "must be <= 1")
        if cause.kind == "skew":
            from mlorg.pipeline.features import FEATURES  # only a skew needs the feature list

            if cause.feature not in FEATURES:
                errors.append(f"{where}.feature: {toml_text(cause.feature)} is not allowed; a skew names the feature "
                              f"the online path computes wrongly, one of {', '.join(FEATURES)}")
    if p.interim_alert_share < p.alert_share:
        errors.append(f"pipeline.interim_alert_share: {number_text(p.interim_alert_share)} is not allowed; the interim "
                      f"remedy flags more, so it must be >= alert_share ({number_text(p.alert_share)})")
    if p.interim_alert_share + p.alert_share > p.review_capacity_share + 1e-12:
        errors.append(f"pipeline.review_capacity_share: {number_text(p.review_capacity_share)} is not allowed; the "
                      f"investigators must be able to review the interim alerts and a shadow model's, so it must be "
                      f">= interim_alert_share + alert_share ({number_text(p.interim_alert_share + p.alert_share)})")
    return errors


def check_portfolio(s: Scenario) -> list[str]:
    errors = []
    if not s.portfolio:
        return errors
    total = sum(c.share for c in s.portfolio)
    if abs(total - 1.0) > 1e-9:
        errors.append(f"portfolio: the classes' shares add up to {total:g}, which is not allowed; must be 1")
    names = [c.name for c in s.portfolio]
    for i, name in enumerate(names):
        if names.index(name) != i:
            errors.append(f"portfolio[{i}].name: {toml_text(name)} is not allowed; each class needs its own name")
    for i, c in enumerate(s.portfolio):
        for where, d in (("predictions_per_day", c.predictions_per_day), ("value_per_day_usd", c.value_per_day_usd),
                         ("governance.risk_review_hours", c.governance.risk_review_hours)):
            if d.dist in ("lognormal", "gamma") and d.mean > 0 and d.cv == 0:
                errors.append(f"portfolio[{i}].{where}.cv: 0 is not allowed for a {d.dist} distribution; must be "
                              "> 0 (use dist = \"deterministic\" for a fixed value)")
        if s.monitoring.performance.enabled and c.recall <= s.monitoring.performance.max_drop:
            errors.append(f"portfolio[{i}].recall: {number_text(c.recall)} is not allowed; must be > "
                          f"monitoring.performance.max_drop ({number_text(s.monitoring.performance.max_drop)})")
    return errors


def pipeline_minimum_days(s: Scenario) -> tuple[int, str]:
    """The fewest days a reference-pipeline run of ``s`` can have, and why: the later of the day the model goes
    live and the day the last cause starts (cause days count from day 0), plus one window of the widest monitor
    switched on — for the recall monitor, its window of labels and the label delay before they arrive."""
    p, m = s.pipeline, s.monitoring
    go_live = p.train_days + p.holdout_days
    last_cause = max((math.ceil(c.start_day) for c in p.causes), default=0)
    start = max(go_live, last_cause)
    why = (f"the last cause starts on day {last_cause}" if last_cause > go_live
           else f"the model goes live on day {go_live} (after {p.train_days} training and {p.holdout_days} holdout "
                "days)")
    windows = {"one day of serving": 1.0}
    if m.features.enabled:
        windows["the feature monitor's window"] = m.features.window_hours / 24.0
    if m.predictions.enabled:
        windows["the prediction monitor's window"] = m.predictions.window_hours / 24.0
    if m.performance.enabled:
        windows[f"the recall monitor's {number_text(m.performance.window_days)}-day window of labels, which arrive "
                f"{number_text(s.impact.label_delay_days)} days late"] = (m.performance.window_days
                                                                          + s.impact.label_delay_days)
    name, days = max(windows.items(), key=lambda item: item[1])
    return start + math.ceil(days), f"{why}, and {name} follows it"


def _get(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj

