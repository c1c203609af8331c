"""The workshop's library: its scale, the shared computations (once per key, kept on disk, safe from many threads)
and the story's summaries, on hand-made frames (the real pipeline runs in tests/test_app_workshop.py)."""

from __future__ import annotations

import json
import math
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlorg import workshop
from mlorg.pipeline import scale
from mlorg.scenario import load, validate

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def make_run(losses=(100.0, 300.0, 50.0), *, seed: int = 0, alerts=(), actions=(), days: int = 65) -> workshop.Run:
    """Three live weeks from day 50; the run ends on day 65, so the last one holds a single day."""
    weekly = pd.DataFrame({"week": [0, 1, 2], "start_day": [50, 57, 64], "transactions": [700, 700, 100],
                           "frauds": [10, 10, 2], "auc": [0.9, 0.8, math.nan], "recall": [0.8, 0.4, 0.5],
                           "alert_rate": [0.01, 0.009, 0.008], "precision": [0.2, 0.1, math.nan],
                           "reviewed": [7, 6, 1], "losses_usd": list(losses), "champion": [1, 1, 1],
                           "losses_without_monitoring_usd": [100.0, 300.0, 50.0],
                           "recall_without_monitoring": [0.8, 0.4, 0.5], "losses_ceiling_usd": [90.0, 100.0, 10.0],
                           "recall_ceiling": [0.8, 0.6, 0.5]})
    return workshop.Run(
        scenario="s", seed=seed, days=days, offline_auc=0.93, transactions=1500, fraud_rate=0.01, weekly=weekly,
        alerts=pd.DataFrame(list(alerts), columns=workshop.ALERTS),
        actions=pd.DataFrame(list(actions), columns=workshop.ACTIONS),
        detection_lag_days={"fraud_pattern_shift": {"features": None, "predictions": 3.0}}, rollbacks=0,
        promotions=sum(1 for a in actions if a[1] == "promote"), retrains=len(actions),
        fraud_losses_usd=float(sum(losses)), fraud_losses_usd_without_monitoring=450.0,
        fraud_losses_usd_ceiling=200.0, time_to_model_days=math.nan, reviewed_alerts=14, scorer_p50_ms=2.0,
        scorer_p99_ms=math.nan)


# ------------------------------------------------------------------------------------------------ scale

def test_small_scale_keeps_each_cause_at_the_same_point_of_the_live_period():
    full = load(SCENARIOS / "fraud_drift.toml")
    small = scale.at_scale(full, "small")
    assert scale.at_scale(full, "full") is full
    # Shipped: live from day 88 to 270, the shift on day 178 (90 of 182 live days), the bad version with the
    # routine retrain of day 148 (60 days in); small: live from 44 to 120, the same shares of its 76 days.
    shipped = {c.kind: c.start_day for c in full.pipeline.causes}
    assert (scale.deploy_day(full), shipped["fraud_pattern_shift"], shipped["bad_version"]) == (88, 178, 148)
    assert scale.deploy_day(small) == 44 and small.pipeline.days == 120
    moved = {c.kind: c.start_day for c in small.pipeline.causes}
    assert moved["fraud_pattern_shift"] == 44 + round(90 * 76 / 182)
    assert moved["bad_version"] == 44 + round(60 * 76 / 182)
    assert small.pipeline.retrain_every_days == round(60 * 76 / 182)  # the bad version still comes with a retrain
    assert small.pipeline.causes[0].size == full.pipeline.causes[0].size
    assert small.pipeline.transactions_per_day * (small.pipeline.days + small.pipeline.history_days) < 0.15 * (
        full.pipeline.transactions_per_day * (full.pipeline.days + full.pipeline.history_days))
    validate(small)  # still a valid scenario by the file rules


def test_an_unknown_scale_is_refused_with_the_allowed_ones():
    with pytest.raises(ValueError, match=r"scale: 'huge' is not allowed; must be one of full, small"):
        scale.at_scale(load(SCENARIOS / "fraud_drift.toml"), "huge")


# ------------------------------------------------------------------------------------- shared computations

@pytest.fixture
def counted(monkeypatch):
    """The "run" computation replaced by a slow stand-in that counts its calls and reports progress."""
    calls = []
    release = threading.Event()

    def fake(scenario, seed, progress):
        calls.append((scenario.name, seed))
        for day in range(1, 4):
            progress(day, 3)
        release.wait(5)
        return make_run(seed=seed)

    monkeypatch.setitem(workshop.KINDS, "run", (fake, workshop.Run))
    return calls, release


def test_twenty_sessions_asking_at_once_share_one_computation(tmp_path, counted):
    calls, release = counted
    shared = workshop.Workshop(tmp_path)
    scenario = load(SCENARIOS / "fraud_drift.toml")
    jobs, start = [], threading.Barrier(20)

    def ask():
        start.wait()
        jobs.append(shared.submit("run", scenario, 7))

    threads = [threading.Thread(target=ask) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(job) for job in jobs}) == 1
    job = jobs[0]
    assert not job.wait(0.05) and job.state in ("queued", "running")  # held until released
    release.set()
    assert job.wait(5) and job.state == "done" and job.error is None
    assert calls == [("fraud_drift", 7)] and shared.computed == 1
    assert job.fraction == 1.0 and job.result.seed == 7 and not job.from_cache and job.seconds >= 0
    assert shared.submit("run", scenario, 7) is job  # asked again later: the same finished job


def test_results_are_kept_on_disk_and_a_new_server_reads_them_instead_of_computing(tmp_path, counted):
    calls, release = counted
    release.set()
    scenario = load(SCENARIOS / "fraud_drift.toml")
    first = workshop.Workshop(tmp_path).submit("run", scenario, 1)
    assert first.wait(5)
    assert len(list(tmp_path.glob("run-*.json"))) == 1

    later = workshop.Workshop(tmp_path)
    again = later.submit("run", scenario, 1)
    assert again.finished and again.from_cache and later.computed == 0
    assert again.result.weekly.equals(first.result.weekly)
    # Another seed or another scenario is another computation.
    assert later.submit("run", scenario, 2).wait(5)
    assert later.submit("run", scenario.replace(name="other"), 1).wait(5)
    assert later.computed == 2 and len(calls) == 3


def test_an_unreadable_kept_file_is_computed_again(tmp_path, counted):
    calls, release = counted
    release.set()
    scenario = load(SCENARIOS / "fraud_drift.toml")
    assert workshop.Workshop(tmp_path).submit("run", scenario, 0).wait(5)
    (kept,) = tmp_path.glob("run-*.json")
    kept.write_text("{not json")
    job = workshop.Workshop(tmp_path).submit("run", scenario, 0)
    assert job.wait(5) and not job.from_cache and len(calls) == 2


@pytest.mark.parametrize("poison", [
    lambda d: d["weekly"][0].update(losses_usd="a lot"),  # a string where a number belongs
    lambda d: d.update(rollbacks="2"),
    lambda d: d.update(offline_auc=[0.9]),
    lambda d: d["actions"].append({"day": 1}),  # a record missing its columns
    lambda d: d.update(detection_lag_days={"shift": {"performance": "soon"}}),
    lambda d: d.pop("weekly"),
    lambda d: d.update(extra=1),
])
def test_a_kept_file_of_the_wrong_shape_or_types_is_computed_again_not_served(tmp_path, counted, poison):
    calls, release = counted
    release.set()
    scenario = load(SCENARIOS / "fraud_drift.toml")
    assert workshop.Workshop(tmp_path).submit("run", scenario, 0).wait(5)
    (kept,) = tmp_path.glob("run-*.json")
    data = json.loads(kept.read_text())
    poison(data)
    kept.write_text(json.dumps(data))
    job = workshop.Workshop(tmp_path).submit("run", scenario, 0)
    assert job.wait(5) and not job.from_cache and len(calls) == 2 and job.error is None


def test_a_failed_computation_reports_its_message_and_is_tried_again(tmp_path, monkeypatch):
    attempts = []

    def failing(scenario, seed, progress):
        attempts.append(seed)
        if len(attempts) == 1:
            raise ValueError("days: 20 is not allowed; must be more than train_days + holdout_days (54)")
        return make_run(seed=seed)

    monkeypatch.setitem(workshop.KINDS, "run", (failing, workshop.Run))
    shared = workshop.Workshop(tmp_path)
    scenario = load(SCENARIOS / "fraud_drift.toml")
    job = shared.submit("run", scenario, 0)
    assert job.wait(5) and job.state == "failed" and job.result is None
    assert job.error.startswith("days: 20 is not allowed")
    assert list(tmp_path.glob("*.json")) == []  # nothing kept
    retry = shared.submit("run", scenario, 0)
    assert retry is not job and retry.wait(5) and retry.state == "done"


def test_an_unknown_kind_is_refused(tmp_path):
    with pytest.raises(ValueError, match="kind: 'train' is not allowed; must be one of run, evidence"):
        workshop.Workshop(tmp_path).submit("train", load(SCENARIOS / "fraud_drift.toml"), 0)


def test_runs_and_evidence_survive_their_json_form():
    run = make_run(alerts=[(58, "predictions", "mean", 3.5, 3.0, "alert rate 0.0080 against 0.0100")],
                   actions=[(58, "keep", 1, "alert from predictions")])
    back = workshop.Run.from_json(run.to_json())
    assert back.weekly.equals(run.weekly) and back.alerts.equals(run.alerts) and back.actions.equals(run.actions)
    assert math.isnan(back.scorer_p99_ms) and back.detection_lag_days == run.detection_lag_days
    assert back.offline_auc == run.offline_auc
    evidence = workshop.Evidence("s", 0, pd.DataFrame([{
        "monitor": "features", "detector": "psi", "threshold": 0.1, "cause": "fraud_pattern_shift", "start_day": 60.0,
        "measured_lag_days": math.nan, "predicted_lag_days": math.inf, "measured_false_alarms_per_month": 0.0,
        "predicted_false_alarms_per_month": 0.0}]), run.alerts)
    again = workshop.Evidence.from_json(evidence.to_json())
    assert again.alarms.equals(evidence.alarms)
    assert math.isnan(again.monitors.loc[0, "predicted_lag_days"])  # JSON has no infinity: "never" either way


def test_the_workshop_counts_days_from_the_pipelines_day_zero():
    from mlorg.pipeline.live import DAY_ZERO

    assert workshop.DAY_ZERO == DAY_ZERO


# ---------------------------------------------------------------------------------------------- the story

def test_weekly_losses_count_the_days_of_a_short_last_week():
    weekly = workshop.weekly_losses(make_run().weekly, days=65)
    assert list(weekly["days"]) == [7, 7, 1]
    assert list(weekly["losses_per_day"]) == pytest.approx([100 / 7, 300 / 7, 50.0])


def test_trend_compares_the_first_and_last_weeks_per_day_and_weighted_by_fraud():
    trend = workshop.trend(make_run().weekly, days=65, weeks=4)
    assert trend["weeks"] == 1  # at most half of three weeks
    assert trend["first_losses_per_day"] == pytest.approx(100 / 7)
    assert trend["last_losses_per_day"] == pytest.approx(50.0)
    assert (trend["first_recall"], trend["last_recall"]) == (0.8, 0.5)


def test_first_alarms_separate_false_alarms_from_detections_and_name_silent_monitors():
    alarms = pd.DataFrame([(55, "predictions", "mean", 3.2, 3.0, "x"), (61, "predictions", "mean", 3.4, 3.0, "x"),
                           (63, "predictions", "mean", 3.9, 3.0, "x"), (59, "performance", "recall", 0.5, 0.6, "x")],
                          columns=workshop.ALERTS)
    monitors = pd.DataFrame({"monitor": ["features", "predictions", "performance"], "cause": "fraud_pattern_shift",
                             "predicted_lag_days": [math.inf, 4.5, 9.0]})
    table = workshop.first_alarms(workshop.Evidence("s", 0, monitors, alarms), "fraud_pattern_shift", 60.0)
    table = table.set_index("monitor")
    assert list(table.index) == list(workshop.MONITORS)
    # The alarm at the end of day 59 came before a shift that starts with day 60: a false alarm.
    assert table.loc["performance", "false_alarms_before"] == 1 and math.isnan(table.loc["performance", "lag_days"])
    assert (table.loc["predictions", "first_alarm_day"], table.loc["predictions", "lag_days"]) == (61, 2)
    assert (table.loc["predictions", "alarms_after"], table.loc["predictions", "false_alarms_before"]) == (2, 1)
    assert table.loc["predictions", "predicted_lag_days"] == 4.5
    assert np.isnan(table.loc["contracts", "predicted_lag_days"]) and table.loc["contracts", "alarms_after"] == 0


def test_comparison_sets_the_runs_side_by_side():
    before = make_run(losses=(100.0, 300.0, 50.0))
    after = make_run(losses=(100.0, 120.0, 10.0), alerts=[(52, "predictions", "mean", 3.1, 3.0, "false"),
                                                          (58, "performance", "recall", 0.4, 0.6, "")],
                     actions=[(58, "keep", 1, "gate"), (59, "promote", 2, "better")])
    table = workshop.comparison(before, after, start_day=57.0).set_index("measure")
    assert table.loc["fraud losses while live"].tolist()[:2] == [450.0, 230.0]
    assert table.loc["fraud losses from the week of the shift"].tolist()[:2] == [350.0, 130.0]  # weeks 57 and 64
    row = table.loc["days from the shift to the first alert"]
    assert math.isnan(row["without"]) and row["with"] == 58 + 1 - 57  # the alert on day 52 came before the shift
    assert table.loc["days from the shift to a new model in service", "with"] == 59 + 1 - 57
    assert table.loc["alerts"].tolist()[:2] == [0, 2] and table.loc["promotions", "with"] == 1
    assert table.loc["fraud caught after the shift", "without"] == pytest.approx((0.4 * 10 + 0.5 * 2) / 12)
