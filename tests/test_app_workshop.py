"""The "Fraud-drift workshop" page through Streamlit's AppTest, walking the whole story on the reference pipeline at
its small scale (MLORG_WORKSHOP_SCALE=small). The figures the page shows are checked against the same computations
read back through the library.

The results are kept in the pytest session's base folder, where tests/test_browser.py's server finds them: the story
is computed once per test session, not once per module.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from mlorg import workshop
from mlorg.pipeline import scale
from mlorg.scenario import load

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "app" / "views" / "fraud_workshop.py"
# The buttons that move the story on, in order, by key.
STORY = ("next_trained", "next_deployed", "next_months", "next_question", "next_answer", "next_replay",
         "next_compare")


def shared_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.getbasetemp() / "workshop-cache"


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    folder = shared_cache(tmp_path_factory)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLORG_WORKSHOP_SCALE", "small")
        patch.setenv("MLORG_WORKSHOP_CACHE", str(folder))
        yield folder


def page() -> AppTest:
    at = AppTest.from_file(str(PAGE), default_timeout=180).run()
    assert not at.exception
    return at


def walk(at: AppTest, until: str, guess: str | None = "fraud_pattern_shift") -> AppTest:
    """Press the story's buttons from the one the page shows up to and including ``until``, answering the question
    with ``guess``."""
    shown = [key for key in STORY if key in {b.key for b in at.button}]
    for key in STORY[STORY.index(shown[0]):STORY.index(until) + 1]:
        if key == "next_answer" and guess is not None:
            at.radio(key="workshop_guess").set_value(guess).run()  # choosing reruns the page, as in a browser
        at.button(key=key).click().run()
        assert not at.exception, (key, at.exception)
        assert not at.error, (key, [e.value for e in at.error])
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def charts(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]


def has_rule(spec: dict) -> bool:
    """Whether a chart draws a rule (the day the cause started)."""
    return '"mark": {"type": "rule"' in json.dumps(spec)


def chart_rows(at: AppTest, index: int) -> int:
    """Rows of data the chart ``index`` carries (its datasets travel as Arrow streams)."""
    datasets = at.get("vega_lite_chart")[index].proto.datasets
    return sum(pa.ipc.open_stream(d.data.data).read_all().num_rows for d in datasets)


def computed(cache: Path) -> tuple[workshop.Run, workshop.Evidence, workshop.Run, object]:
    """The story's results as the library has them (read back from the cache the page filled)."""
    before = scale.at_scale(load(ROOT / "scenarios" / "fraud_drift.toml"), "small")
    after = scale.at_scale(load(ROOT / "scenarios" / "fraud_drift_full.toml"), "small")
    shared = workshop.Workshop(cache)
    jobs = [shared.submit("run", before, 0), shared.submit("evidence", before, 0), shared.submit("run", after, 0)]
    assert all(job.wait(300) and job.error is None for job in jobs)
    return jobs[0].result, jobs[1].result, jobs[2].result, before


@pytest.fixture(scope="module")
def story(cache):
    """Snapshots of one session walking the whole story: after the months, and at the end."""
    at = walk(page(), "next_months")
    months = {"metrics": metrics(at), "charts": charts(at), "weekly_rows": chart_rows(at, 0)}
    walk(at, "next_compare")
    return months, at


def test_the_page_opens_on_the_question_and_computes_nothing_until_asked(cache):
    at = page()
    assert [b.key for b in at.button] == ["start_over", "next_trained"]
    assert not at.metric and not at.get("vega_lite_chart") and not at.error
    assert "fraud" in at.markdown[0].value.lower()


def test_training_and_deployment_show_the_runs_own_figures(cache, story):
    _, at = story
    before, _, _, scenario = computed(cache)
    shown = metrics(at)
    assert 0.85 < before.offline_auc < 1.0
    assert shown["Offline AUC (holdout)"] == f"{before.offline_auc:.3f}"
    assert shown["Transactions generated"] == f"{before.transactions:,}"
    assert shown["First week: fraud caught"] == f"{before.weekly['recall'].iloc[0]:.0%}"
    assert shown["Latency objective"] == f"{scenario.pipeline.score_slo_ms:g} ms"
    assert any("The team has no model registry, no monitoring, no incident process yet. No monitor is watching"
               in m.value for m in at.markdown)


def test_the_months_show_losses_rising_without_giving_the_answer_away(cache, story):
    months, _ = story
    before, _, _, _ = computed(cache)
    trend = workshop.trend(before.weekly, before.days)
    n = trend["weeks"]
    assert months["metrics"][f"Fraud losses per day, last {n} weeks"] == f"${trend['last_losses_per_day']:,.0f}"
    assert months["metrics"][f"Fraud caught, last {n} weeks"] == f"{trend['last_recall']:.0%}"
    assert trend["last_recall"] < trend["first_recall"]  # the shift costs the model recall
    assert months["weekly_rows"] == len(before.weekly)
    assert not any(has_rule(spec) for spec in months["charts"])  # the cause's day is not drawn before the reveal


def test_the_answer_reveals_the_cause_and_which_monitors_would_have_fired(cache, story):
    _, at = story
    _, evidence, _, scenario = computed(cache)
    cause = scenario.pipeline.causes[0]
    assert any(s.value.startswith("Right: **" + workshop.CAUSES["fraud_pattern_shift"]) for s in at.success)
    assert f"day {cause.start_day:.0f}" in at.success[0].value
    table = workshop.first_alarms(evidence, cause.kind, cause.start_day).set_index("monitor")
    shown = at.dataframe[0].value.set_index("monitor")
    for monitor, label in workshop.MONITORS.items():
        day = table.loc[monitor, "first_alarm_day"]
        assert shown.loc[label, "first alarm after the shift"].startswith(f"day {day:.0f} " if day == day else "never")
        assert shown.loc[label, "false alarms before it"] == table.loc[monitor, "false_alarms_before"]
    assert shown.loc[workshop.MONITORS["features"], "first alarm after the shift"] == "never"
    assert all(has_rule(spec) for spec in charts(at))  # now every chart marks the day of the shift
    assert at.radio(key="workshop_guess").disabled  # no changing the guess once the answer is out


def test_the_replay_and_comparison_show_the_monitored_run_against_the_first(cache, story):
    _, at = story
    before, _, after, scenario = computed(cache)
    shown = metrics(at)
    assert shown["Alerts"] == str(len(after.alerts)) and len(after.alerts) > 0
    assert shown["Models retrained"] == str(after.retrains)
    assert shown["Rollbacks"] == str(after.rollbacks)
    assert shown["Fraud losses saved"] == f"${before.fraud_losses_usd - after.fraud_losses_usd:,.0f}"
    assert after.fraud_losses_usd_without_monitoring == pytest.approx(before.fraud_losses_usd)  # same days replayed
    lag = workshop.first_response(after, scenario.pipeline.causes[0].start_day)["alert_lag_days"]
    assert shown["Drift detected after"] == f"{lag:.0f} days"
    comparison = at.dataframe[-1].value.set_index("measure")
    assert comparison.loc["days from the shift to the first alert", "without monitoring"] == "never"
    losses = comparison.loc["fraud losses while live", "with monitoring and rollback"]
    assert losses == f"${after.fraud_losses_usd:,.0f}"
    assert at.success or at.warning  # the verdict


def test_a_wrong_guess_is_told_the_right_answer(cache, story):
    at = walk(page(), "next_answer", guess="skew")
    assert at.warning[0].value.startswith("Not this time. It was: **" + workshop.CAUSES["fraud_pattern_shift"])
    assert not at.success


def test_the_weeks_slider_replays_the_months_and_start_over_goes_back(cache, story):
    at = walk(page(), "next_months")
    at.slider(key="workshop_weeks").set_value(2).run()
    assert chart_rows(at, 0) == 2
    assert "Fraud losses per day, last week" in metrics(at)  # of two weeks, the last against the first
    at.button(key="start_over").click().run()
    assert [b.key for b in at.button] == ["start_over", "next_trained"] and not at.metric


def test_a_bad_scale_names_the_variable_and_the_allowed_values(cache, monkeypatch):
    monkeypatch.setenv("MLORG_WORKSHOP_SCALE", "huge")
    at = page()
    assert at.error[0].value == "MLORG_WORKSHOP_SCALE: 'huge' is not allowed; must be one of full, small"
    assert "next_trained" not in [b.key for b in at.button]


def test_a_failed_computation_shows_its_message_not_a_stack_trace(cache, monkeypatch, tmp_path):
    def broken(scenario, seed, progress):
        raise ValueError("days: 20 is not allowed; must be more than train_days + holdout_days (44)")

    monkeypatch.setitem(workshop.KINDS, "run", (broken, workshop.Run))
    monkeypatch.setitem(workshop.KINDS, "evidence", (broken, workshop.Evidence))
    monkeypatch.setenv("MLORG_WORKSHOP_CACHE", str(tmp_path))  # a fresh cache: nothing kept to fall back on
    at = page()
    at.button(key="next_trained").click().run()
    assert not at.exception
    assert at.error[0].value == ("The computation of fraud_drift failed: days: 20 is not allowed; must be more than "
                                 "train_days + holdout_days (44). Start over to try again.")
    assert not at.metric


def test_a_bad_seed_is_refused_in_the_page_and_the_story_is_not_drawn(cache, story):
    at = walk(page(), "next_deployed")  # the story fixture has computed the runs: this walk reads them
    assert at.metric  # the story so far
    at.number_input(key="workshop_seed").set_value(-1).run()
    assert not at.exception
    assert at.error[0].value == "Seed: -1 is not allowed; must be an integer >= 0 and <= 4,294,967,295"
    assert not at.metric and not at.get("vega_lite_chart")
    assert [b.key for b in at.button] == ["start_over"]  # no step of the story until the seed is one
