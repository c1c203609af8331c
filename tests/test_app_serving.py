"""The "Serving and cost" page through Streamlit's AppTest: the figures it shows are the library's."""

import json
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import mlorg.serving.capacity
from mlorg import formatting, planner
from mlorg.results import replicate
from mlorg.scenario import Distribution, load
from mlorg.serve import check
from mlorg.serving.analytic import analytic_figures, mgc_response_percentile
from mlorg.serving.capacity import HOURS_PER_MONTH, cheapest, load_instances
from mlorg.serving.kernel import simulate_queue

PAGE = Path(__file__).resolve().parents[1] / "app" / "views" / "serving_cost.py"
REQUESTS = 100_000  # the tests simulate fewer requests than the page's default
EXPONENTIAL_20MS = Distribution(dist="exponential", mean=20.0, cv=1.0)


@pytest.fixture(autouse=True)
def empty_cache():
    st.cache_data.clear()
    yield
    st.cache_data.clear()


def page(**inputs) -> AppTest:
    """The page with fewer simulated requests and the given inputs (by key, without the page's prefix) set."""
    at = AppTest.from_file(str(PAGE), default_timeout=30)
    at.session_state["serving.requests"] = REQUESTS
    for key, value in inputs.items():
        at.session_state[f"serving.{key}"] = value
    at.run()
    assert not at.exception
    return at


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def titles(at: AppTest) -> list[str]:
    out = []
    for chart in at.get("vega_lite_chart"):
        title = json.loads(chart.proto.spec)["title"]
        out.append(title["text"] if isinstance(title, dict) else title)
    return out


def test_defaults_show_simulated_latency_beside_erlang_c_and_the_cheapest_fleet():
    at = page()
    assert not at.error
    c6g = load_instances()[0]  # the first instance type is the default: 4 replicas x 4 vCPUs = 16 servers
    simulated = simulate_queue(500.0, EXPONENTIAL_20MS, 16, REQUESTS, 0).summary()
    assert metric(at, "p99 (simulated)") == f"{simulated['p99_ms']:,.1f} ms"
    assert metric(at, "Cost per month") == formatting.usd(4 * c6g.usd_per_hour * HOURS_PER_MONTH)
    table = at.dataframe[0].value
    analytic = analytic_figures(500.0, EXPONENTIAL_20MS, 16)
    assert table.loc["p99 (ms)", "simulated"] == formatting.number(simulated["p99_ms"], 4)
    assert table.loc["p99 (ms)", "analytic"] == formatting.number(analytic["p99_ms"], 4)
    assert table.loc["share of requests that wait", "analytic"] == formatting.share(analytic["p_wait"], 2)
    assert "M/M/c (Erlang C)" in " ".join(c.value for c in at.caption)
    best = cheapest(500.0, EXPONENTIAL_20MS, 100.0)
    assert at.success[0].value.startswith(f"**{best.replicas} × {best.instance}**: ${best.usd_per_hour:.3f}/hour")
    assert titles(at) == ["Latency percentiles", "Cheapest fleet per instance type", f"p99 against cost on {c6g.name}"]
    trade_off = at.dataframe[1].value
    assert trade_off["replicas"].tolist() == list(range(3, 10))  # 500/s x 20 ms = 10 busy servers: 3 replicas keep up
    p99 = trade_off["p99 (ms)"].str.replace(",", "").astype(float)  # exact for exponential service: no ± shown
    assert trade_off["meets SLO"].tolist() == (p99 <= 100).tolist()
    assert "None" not in trade_off.to_string() and "nan" not in trade_off.to_string()


def test_more_traffic_raises_latency_and_another_instance_changes_the_cost():
    at = page()
    before = float(metric(at, "p99 (simulated)").split()[0])
    at.number_input(key="serving.arrival_rps").set_value(600.0).run()
    assert not at.exception and not at.error
    after = float(metric(at, "p99 (simulated)").split()[0])
    assert after > before
    assert "at 600 requests/s" in at.subheader[1].value
    at.selectbox(key="serving.instance").set_value("c5.2xlarge").run()  # 8 vCPUs at $0.34/hour
    assert metric(at, "Cost per month") == formatting.usd(4 * 0.34 * HOURS_PER_MONTH)
    assert any(c.value.startswith("32 servers (4 replicas × 8 requests at once)") for c in at.caption)
    assert titles(at)[-1] == "p99 against cost on c5.2xlarge"


def test_a_service_time_without_a_formula_shows_the_m_g_c_approximation(tmp_path, monkeypatch):
    # Two instance types keep the kernel's capacity search short.
    prices = tmp_path / "instances.csv"
    prices.write_text("instance,vcpu,memory_gib,accelerator,usd_per_hour,source\n"
                      "small,4,8,,0.2,test\nlarge,8,16,,0.3,test\n")
    monkeypatch.setattr(mlorg.serving.instances, "INSTANCES_CSV", prices)
    at = page(dist="lognormal", service_cv=1.5, slo_p99_ms=200.0)  # the service alone has a p99 of 139 ms
    assert not at.error, at.error[0].value
    service = Distribution(dist="lognormal", mean=20.0, cv=1.5)
    table = at.dataframe[0].value
    assert list(table.columns) == ["simulated", "analytic", "M/G/c approximation"]
    assert table.loc["p99 (ms)", "analytic"] == "—"  # no closed form for M/G/c
    assert table.loc["p99 (ms)", "M/G/c approximation"] == formatting.number(
        mgc_response_percentile(0.5, service, 16, 0.99), 4)
    assert table.loc["p99 (ms)", "simulated"] == formatting.number(
        simulate_queue(500.0, service, 16, REQUESTS, 0).summary()["p99_ms"], 4)
    best = cheapest(500.0, service, 200.0, load_instances(prices))
    assert at.success[0].value.startswith(f"**{best.replicas} × {best.instance}**")


def test_an_unstable_queue_is_refused_with_the_fewest_replicas_that_keep_up():
    at = page(replicas=2)
    message = at.error[0].value
    assert message.startswith("Replicas: 2 is not allowed at 500 requests/s")
    assert "utilisation 1.25" in message and "must be >= 3 replicas" in message
    assert not at.metric  # nothing simulated
    assert at.success  # the cheapest fleet is still found


def test_a_shaped_distribution_needs_spread_and_an_slo_below_the_service_time_cannot_be_met():
    at = page(dist="gamma", service_cv=0.0)
    assert at.error[0].value.startswith("Coefficient of variation (sd / mean): 0 is not allowed for a gamma service "
                                        "time; must be > 0")
    assert not at.metric
    at = page(slo_p99_ms=50.0)  # exponential service of 20 ms alone has a p99 of 20 ln 100 = 92.1 ms
    assert at.error[0].value == ("SLO: p99 latency (ms): 50 ms cannot be planned: no fleet can meet the SLO: the "
                                 "service time alone has a p99 of 92.1 ms; the SLO must be above it")
    assert metric(at, "p99 (simulated)").endswith("ms")  # the fleet's latency is still shown


def test_a_value_out_of_range_is_refused_in_the_page_and_no_figure_stays():
    at = page()
    assert at.metric and at.get("vega_lite_chart")
    at.number_input(key="serving.arrival_rps").set_value(-10.0)
    at.number_input(key="serving.replicas").set_value(0).run()
    assert not at.exception
    assert at.error[0].value.splitlines() == [
        "- Peak traffic (requests/s): -10 is not allowed; must be a number > 0 and <= 10,000,000",
        "- Replicas: 0 is not allowed; must be an integer >= 1 and <= 100,000"]
    assert not at.metric and not at.get("vega_lite_chart") and not at.dataframe and not at.success
    # Allowed but odd: a fleet a thousand times what the load needs is run, with a warning that says so.
    at.number_input(key="serving.arrival_rps").set_value(500.0)
    at.number_input(key="serving.replicas").set_value(100_000).run()
    assert not at.error
    assert at.warning[0].value.startswith("100,000 replicas (400,000 servers) would run at 0.00% utilisation")
    assert "3 replicas would keep up" in at.warning[0].value
    assert at.warning[1].value.startswith("This fleet costs $")


def test_a_scenarios_bill_is_the_librarys_line_by_line_with_its_floor():
    at = page()
    assert at.selectbox(key="bill.scenario").options  # the scenarios that price serving or infrastructure
    assert "fraud_drift" in at.selectbox(key="bill.scenario").options
    at.selectbox(key="bill.scenario").set_value("fraud_drift")
    at.slider(key="bill.replications").set_value(2)
    at.button(key="bill.run").click().run()
    assert not at.exception
    summary = replicate(load(Path(PAGE).parents[2] / "scenarios" / "fraud_drift.toml"), 2, 0).summary
    assert len(at.table) == 1
    assert at.table[0].value.equals(planner.bill_frame(summary).set_index("line"))
    assert any(planner.floor_text(summary) == m.value for m in at.markdown)
    assert at.warning[0].value.startswith("Intervals from 2 replications are rough")
    # Another scenario chosen: the old bill is marked as the old one's, not passed off as the new one's.
    at.selectbox(key="bill.scenario").set_value("uber_scale").run()
    assert any(i.value.startswith("The bill below is fraud_drift's; press Price it for uber_scale")
               for i in at.info)


def test_the_check_against_the_real_server_is_shown_when_there_is_one(tmp_path, monkeypatch):
    db = tmp_path / "pipeline.duckdb"
    monkeypatch.setenv("MLORG_REGISTRY_DB", str(db))
    at = page()
    assert any(i.value.startswith("No check yet. `uv run mlorg calibrate --serving`") for i in at.info)

    base = check.LowLoad(requests=120, latency_mean_ms=2.0, latency_cv=0.3, service_ms=1.2, overhead_ms=0.8)
    curve = [(20.0, 1.2), (200.0, 0.8), (1600.0, 0.4)]
    interval = {"mean": 2.1, "ci95_low": 1.9, "ci95_high": 2.3, "n": 3}
    levels = []
    for rho in check.UTILISATIONS:
        rate = check.rate_for(curve, rho)
        levels.append(check.Level(rho, rate, 0.5, rate * 0.5 / 1000, check.predicted(base, rate, 1, 0.5),
                                  check.predicted(base, rate, 1), {q: interval for q in ("p50", "p95", "p99")}, 0.4,
                                  rho <= check.CHECKED_UP_TO))
    check.saved_path(db).write_text(json.dumps({"registry": str(db), "repeats": 3, "seconds": 5,
                                                **check.to_json(base, curve, levels)}))
    at = page()
    tables = [t.value for t in at.table if t.value.index.name == "utilisation"]
    assert len(tables) == 1
    shown = tables[0]
    assert list(shown.index) == ["0.3", "0.5", "0.7", "0.85 (reported)"]
    assert shown.loc["0.5", "p99 predicted (ms)"] == f"{levels[1].predicted_ms['p99']:.2f}"
    assert shown.loc["0.5", "p99 measured (ms)"] == "2.10 [1.90, 2.30]"
    # Fed the low-load service time (1.2 ms) at a rate sized for 0.4–0.8 ms, the old model's queue is unstable.
    assert shown.loc["0.85 (reported)", "p99 by low-load service (ms)"] == "unstable"
    assert "1.20 ms at 20/s" in next(c.value for c in at.caption if "falls with the load" in c.value)

    check.saved_path(db).write_text("{not json")
    at = page()
    assert any("not a serving check this version can read" in e.value for e in at.error)
