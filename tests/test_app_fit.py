"""The Staffing planner's "Start from my history" tab through AppTest: fit the example history, see the estimates, the
unidentified parameters and the QQ chart, and open the fitted scenario on the Run tab."""

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from mlorg.fit.example import HISTORY, TRUTH
from mlorg.fit.history import HistoryError, read_history_bytes
from mlorg.scenario import loads
from views.planner.history_tab import EXAMPLE_BASE

pytestmark = pytest.mark.usefixtures("app_store")  # tests/conftest.py

PAGE = Path(__file__).resolve().parents[1] / "app" / "views" / "staffing_planner.py"


def fitted_page(downloads=None) -> AppTest:
    at = AppTest.from_file(str(PAGE), default_timeout=30).run()
    assert not at.exception
    assert "Upload a history, or use the example." in [c.value for c in at.caption]
    at.button(key="history.example").click().run()
    at.number_input(key="history.replications").set_value(2)
    at.button(key="history.fit").click().run()
    assert not at.exception
    return at


def test_the_example_history_is_fitted_and_shown_with_its_check(downloads):
    at = fitted_page()
    (estimates,) = [d.value for d in at.dataframe if "fitted" in d.value.columns]
    found = dict(zip(estimates["parameter"], estimates["fitted"], strict=True))
    assert found["research.cycle_hours.mean"] == pytest.approx(TRUTH["research.cycle_hours.mean"], rel=0.15)
    assert set(found) <= set(TRUTH)
    (left,) = [d.value for d in at.dataframe if "why it keeps the base's value" in d.value.columns]
    assert "deploy.review_hours" in set(left["parameter"])
    assert [m.label for m in at.metric][-2:] == ["KS distance, time to production",
                                                 "KS p-value against simulated histories"]
    titles = [json.loads(chart.proto.spec).get("title") for chart in at.get("vega_lite_chart")]
    assert "Time to production, quantile against quantile" in [t["text"] if isinstance(t, dict) else t
                                                               for t in titles]
    text = downloads["example_org_fitted.toml"].decode()
    assert loads(text).research.cycle_hours.mean == pytest.approx(found["research.cycle_hours.mean"], rel=1e-3)
    assert "# fitted from data/example_history.csv" in text


def test_an_uploaded_history_is_fitted_and_opens_on_the_run_tab():
    at = AppTest.from_file(str(PAGE), default_timeout=30).run()
    at.file_uploader(key="history.file").set_value(("mine.csv", HISTORY.read_bytes(), "text/csv")).run()
    at.selectbox(key="history.base").set_value(EXAMPLE_BASE)
    at.text_input(key="history.start").set_value("2024-01-01")
    at.number_input(key="history.replications").set_value(2)
    at.button(key="history.fit").click().run()
    assert not at.exception and not at.error
    assert at.subheader[-1].value == "Fitted to mine.csv"
    at.button(key="history.open").click().run()
    assert not at.exception
    assert at.selectbox(key="scenario").value == "fitted to mine.csv"
    assert any(i.value.startswith("Fitted to mine.csv: research.cycle_hours.mean") for i in at.info)
    assert at.number_input(key="data_scientists.fitted to mine.csv").value == 10
    assert any(m.label == "Median time to production" for m in at.metric)


def test_an_uploaded_bad_history_shows_its_line_and_no_fit():
    at = AppTest.from_file(str(PAGE), default_timeout=30).run()
    bad = b"model_id,version,trained_at,deployed_at\na,1,2024-03-01,2024-02-01\n"
    at.file_uploader(key="history.file").set_value(("mine.csv", bad, "text/csv")).run()
    at.button(key="history.fit").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == ["mine.csv: line 2: deployed_at 2024-02-01 00:00:00 is before trained_at "
                                           "2024-03-01 00:00:00"]
    assert not [d for d in at.dataframe if "fitted" in d.value.columns]


def test_an_uploaded_bad_history_is_named_by_its_upload():
    data = HISTORY.read_bytes().replace(b"m0003,1,2024-02-01 12:01,", b"m0003,1,2024-02-31 12:01,", 1)
    with pytest.raises(HistoryError) as raised:
        read_history_bytes(data, "mine.csv")
    assert raised.value.messages == ["mine.csv: line 5: trained_at '2024-02-31 12:01' is not a date (YYYY-MM-DD or "
                                     "an ISO timestamp)"]
