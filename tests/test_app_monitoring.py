"""The "Monitoring tuner" page through Streamlit's AppTest: its figures are the library's operating characteristics."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from mlorg import formatting
from mlorg.monitoring.characteristics import Monitor, meets_budget, operating_point, sweep

PAGE = Path(__file__).resolve().parents[1] / "app" / "views" / "monitoring_tuner.py"
PSI_SHIFT = math.sqrt(0.1)  # the default drift: a population PSI of 0.1


@pytest.fixture(autouse=True)
def empty_cache():
    st.cache_data.clear()
    yield
    st.cache_data.clear()


def page(**state) -> AppTest:
    """The page with widget values (by key, without the page's prefix) set before its first run."""
    at = AppTest.from_file(str(PAGE), default_timeout=30)
    for key, value in state.items():
        at.session_state[f"monitor.{key}"] = value
    at.run()
    assert not at.exception
    return at


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def hours(value: float) -> str:
    return formatting.lag(value, reason="")


def test_defaults_show_the_psi_setting_against_the_quickest_detection_bound():
    at = page()
    assert not at.error
    monitor = Monitor(detector="psi", threshold=0.1, window=5000, cadence_hours=24.0, traffic_per_hour=5000 / 24)
    expected = operating_point(monitor, PSI_SHIFT)
    assert metric(at, "Detection lag") == hours(expected.detection_lag_hours)
    assert metric(at, "Worst-case lag") == hours(expected.worst_case_lag_samples / monitor.traffic_per_hour)
    assert metric(at, "Quickest possible") == hours(expected.optimal_delay_samples / monitor.traffic_per_hour)
    # PSI 0.1 on 5,000 samples: practically never, and said so rather than as 1e-100.
    assert expected.false_alarms_per_month < 1e-6
    assert metric(at, "False alarms per month") == "< 1e-6"
    figures = at.dataframe[0].value["value"]
    assert figures["detection lag"] == formatting.lag(expected.detection_lag_samples, "sample")
    assert figures["ARL₀ (samples between false alarms)"] == formatting.count(expected.arl0_samples)
    assert len(figures["ARL₀ (samples between false alarms)"]) < 30  # never a hundred digits
    (chart,) = at.get("vega_lite_chart")
    assert json.loads(chart.proto.spec)["title"] == "Detection lag against false alarms, over thresholds"
    assert "Within 1 false alarm per month the quickest threshold is" in at.success[0].value


def test_the_budget_threshold_is_the_librarys_and_one_click_applies_it():
    at = page(detector="mean")
    assert at.number_input(key="monitor.threshold.mean").value == 3.0  # the mean detector's own default
    monitor = Monitor(detector="mean", threshold=3.0, window=5000, cadence_hours=24.0, traffic_per_hour=5000 / 24)
    best = meets_budget(sweep(monitor, PSI_SHIFT), 1.0)
    assert f"**{best.threshold:.4g}**" in at.success[0].value
    at.button(key="monitor.use_budget_threshold").click().run()
    assert not at.exception
    assert at.number_input(key="monitor.threshold.mean").value == pytest.approx(best.threshold)
    assert metric(at, "Detection lag") == hours(best.detection_lag_hours)
    assert metric(at, "False alarms per month") == formatting.small(best.false_alarms_per_month)
    # A smaller budget asks for a stricter threshold.
    at.number_input(key="monitor.budget").set_value(0.1).run()
    stricter = meets_budget(sweep(monitor, PSI_SHIFT), 0.1)
    assert stricter.threshold > best.threshold
    assert f"**{stricter.threshold:.4g}**" in at.success[0].value


def test_a_larger_drift_and_a_smaller_window_change_the_lag():
    at = page(detector="mean")
    base = metric(at, "Detection lag")
    at.radio(key="monitor.drift_kind").set_value("mean-shift")
    at.number_input(key="monitor.drift_size").set_value(0.5).run()
    monitor = Monitor(detector="mean", threshold=3.0, window=5000, cadence_hours=24.0, traffic_per_hour=5000 / 24)
    larger = operating_point(monitor, 0.5)
    assert metric(at, "Detection lag") == hours(larger.detection_lag_hours) != base
    # The traffic follows the window (window ÷ cadence, one fresh window per check) while its field is blank.
    at.number_input(key="monitor.window").set_value(500).run()
    smaller = Monitor(detector="mean", threshold=3.0, window=500, cadence_hours=24.0, traffic_per_hour=500 / 24)
    assert metric(at, "Detection lag") == hours(operating_point(smaller, 0.5).detection_lag_hours)
    assert "window 500 samples every 24 h" in " ".join(c.value for c in at.caption)


def test_bad_settings_show_the_field_and_what_is_allowed():
    at = page(detector="ks", **{"threshold.ks": 1.5})
    assert at.error[0].value == "Threshold: the KS threshold is a p-value, must be < 1, got 1.5"
    assert not at.metric and not at.get("vega_lite_chart")
    at = page(detector="cusum", traffic_per_hour=100.0)  # 100/h x 24 h = 2,400 samples a check < a window of 5,000
    assert at.error[0].value == ("Window (samples): a cusum takes one window mean per check, so its windows must "
                                 "not overlap: window 5000 must be <= traffic × cadence = 2400 samples")
    at = page(detector="mean", **{"threshold.mean": 0.0})
    assert at.error[0].value == "Threshold: 0 is not allowed; must be a number > 0 and <= 1,000,000"
    at = page(detector="mean", drift_size=0.0)
    assert at.error[0].value == "Drift size: 0 is not allowed; must be a number > 0 and <= 100"


def test_a_bad_value_after_good_ones_leaves_no_figure_of_the_old_setting():
    at = page(detector="mean")
    assert at.metric and at.get("vega_lite_chart")
    at.number_input(key="monitor.window").set_value(0)
    at.number_input(key="monitor.threshold.mean").set_value(-1.0).run()
    assert not at.exception
    assert at.error[0].value.splitlines() == [
        "- Threshold: -1 is not allowed; must be a number > 0 and <= 1,000,000",
        "- Window (samples): 0 is not allowed; must be an integer >= 1 and <= 10,000,000"]
    assert not at.metric and not at.get("vega_lite_chart") and not at.success


def test_measuring_on_the_pipeline_shows_both_sides_and_refuses_what_it_cannot_run(monkeypatch):
    """The button runs the same PSI setting on a small reference pipeline (70 days of 1,000 transactions) with a
    new segment of cards: the features see it the next day, in the pipeline and in the model."""
    monkeypatch.setenv("MLORG_TUNER_PIPELINE_DAYS", "70")
    monkeypatch.setenv("MLORG_TUNER_PIPELINE_TRANSACTIONS", "1000")
    at = page(window=1000, traffic_per_hour=1000 / 24)  # a day's window, as the pipeline checks daily
    at.selectbox(key="monitor.cause").select("covariate_shift")
    at.button(key="monitor.measure").click()
    at.run(timeout=120)
    assert not at.exception and not at.error
    assert metric(at, "Lag measured") == "1 day"
    assert metric(at, "Lag predicted") == "1 day"
    assert metric(at, "False alarms measured") == "0 / month"
    at = page(detector="ks")
    assert any("PSI on its features" in info.value for info in at.info)


# --- the "Your feature files" tab -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def feature_pair(tmp_path_factory):
    from mlorg.monitoring.feature_examples import write_pair

    return write_pair(tmp_path_factory.mktemp("files"), 6000, seed=8, columns=10, file_format="csv")


def files_page(reference=None, current=None, **state) -> AppTest:
    """The files tab with both files given as paths (None: not given) and its fields set by key."""
    at = AppTest.from_file(str(PAGE), default_timeout=60)
    at.session_state["monitor.tab"] = "Your feature files"
    for role, path in (("reference", reference), ("current", current)):
        at.session_state[f"files.{role}.how"] = "Path on this machine"
        if path is not None:
            at.session_state[f"files.{role}.path"] = str(path)
    for key, value in state.items():
        at.session_state[f"files.{key}"] = value
    at.run()
    assert not at.exception
    return at


def test_files_tab_compares_two_files_as_the_library_does(feature_pair):
    from mlorg.monitoring.file_drift import compare_files, comparison_frame

    reference, current = feature_pair
    at = files_page(reference, current, detector="jensen_shannon")
    assert not at.error
    expected = comparison_frame(compare_files(reference, current).drifts, "jensen_shannon")
    shown = at.dataframe[0].value
    assert list(shown["feature"]) == list(expected["feature"])
    assert list(shown["drift"]) == list(expected["drift"])
    assert np.allclose(shown["Jensen–Shannon"], expected["Jensen–Shannon"])
    drifted = list(expected.loc[expected["drift"] == "drift", "feature"])
    message = (at.warning if drifted else at.success)[0].value
    assert message.startswith(f"{len(drifted)} of {len(expected)} features drift by jensen_shannon at its default 0.1")


def test_files_tab_tunes_thresholds_and_the_comparison_uses_them(feature_pair):
    from mlorg.monitoring.file_drift import thresholds_frame, tune_file
    from mlorg.monitoring.file_tuning import TuneSettings

    reference, current = feature_pair
    at = files_page(reference, current, draws=200)
    assert "Press Tune" in " ".join(c.value for c in at.caption)
    at.button(key="files.tune").click().run()
    assert not at.exception and not at.error
    settings = TuneSettings(detector="psi", window_hours=24.0, cadence_hours=24.0, budget_per_month=1.0, shift=0.5,
                            draws=200)
    expected = thresholds_frame(tune_file(reference, "ts", settings))
    comparison, tuned = at.dataframe[0].value, at.dataframe[1].value
    assert np.allclose(tuned["tuned threshold"], expected["tuned threshold"])
    assert np.allclose(comparison["threshold"], expected["tuned threshold"])  # same features, same order
    assert "at the thresholds tuned below" in (at.warning or at.success)[0].value
    (chart,) = at.get("vega_lite_chart")
    assert "amount_0: detection lag against false alarms" in json.loads(chart.proto.spec)["title"]
    # A changed setting hides the tuning it no longer matches, and the comparison goes back to the defaults.
    at.number_input(key="files.window_hours").set_value(12.0).run()
    assert "settings or the file changed" in at.info[0].value
    assert len(at.dataframe) == 1 and np.allclose(at.dataframe[0].value["threshold"], 0.1)


def test_files_tab_says_what_is_wrong_in_place_and_draws_nothing(tmp_path, feature_pair):
    reference, _ = feature_pair
    at = files_page(tmp_path / "nowhere.csv")
    assert at.error[0].value.startswith(f"Reference file path: {tmp_path / 'nowhere.csv'} is not a file")
    assert not at.dataframe
    other = tmp_path / "other.csv"
    other.write_text("x,y\n1,2\n3,4\n", encoding="utf-8")
    at = files_page(reference, other)
    # The library's words, with the form's field where the command line's flag would be.
    assert "the current file lacks" in at.error[0].value and at.error[0].value.endswith("pick them with Columns")
    assert not at.dataframe
    at = files_page(reference, None, window_hours=0.0)
    assert at.error[0].value.startswith("Window (hours): 0 is not allowed")
    assert not [b for b in at.button if b.key == "files.tune"] and not at.dataframe  # nothing to tune with
    at = files_page(reference, None, window_hours=24.0 * 20)
    at.button(key="files.tune").click().run()
    assert at.error[0].value.startswith("Window (hours): 480 h is too long for a reference that covers")


def test_a_finite_ks_reference_changes_the_lag_as_the_library_says():
    at = page(detector="ks", **{"threshold.ks": 0.05, "window": 500, "cadence_hours": 24.0, "drift_kind": "mean-shift",
                                "drift_size": 0.15, "reference_rows": 500})
    assert not at.error
    monitor = Monitor(detector="ks", threshold=0.05, window=500, cadence_hours=24.0, traffic_per_hour=500 / 24,
                      reference_rows=500)
    assert metric(at, "Detection lag") == hours(operating_point(monitor, 0.15).detection_lag_hours)
    at = page(detector="psi", reference_rows=500)  # the field is KS's alone: another detector ignores it
    assert not at.error
