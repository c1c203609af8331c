"""The app end to end in a real browser: Debian's Chromium driven by Playwright against `streamlit run` on a free
local port. Every page is opened, a staffing comparison and the whole fraud-drift workshop are run, the numbers on
screen are checked against the library, and each page is saved as a screenshot under test-output/browser/.

One server serves the whole test session (tests/test_concurrency.py shares it). The workshop runs at its small
scale and reads the results tests/test_app_workshop.py kept in the session's base folder, if it ran first.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd
import pytest
from benchmarks.app_sessions import AppServer, start_app

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "test-output" / "browser"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
PAGES = {"": "mlorg: plan an ML organisation", "staffing_planner": "Staffing planner",
         "serving_cost": "Serving and cost", "monitoring_tuner": "Monitoring tuner",
         "fraud_workshop": "Fraud-drift workshop", "registry": "Registry"}
NAVIGATION = ["Overview", "Staffing planner", "Serving and cost", "Monitoring tuner", "Registry",
              "Fraud-drift workshop"]
WIDTH = 1400
WIDTHS = (WIDTH, 1000)  # the app's usual width, and a narrow laptop's

_server: list[AppServer] = []  # the session's server, shared by every module that asks for it


@pytest.fixture(scope="session")
def app_server(tmp_path_factory) -> AppServer:
    """The app on a free port: saved runs and the registry in fresh files, the workshop at its small scale with its
    results kept in the session's base folder."""
    if not _server:
        base = tmp_path_factory.getbasetemp()
        folder = tmp_path_factory.mktemp("app")
        env = {"MLORG_DB": str(folder / "runs.duckdb"), "MLORG_REGISTRY_DB": str(folder / "registry.duckdb"),
               "MLORG_WORKSHOP_SCALE": "small", "MLORG_WORKSHOP_CACHE": str(base / "workshop-cache")}
        # Streamlit collects garbage after every script run (runner.postScriptGC); in this process's heap (pandas,
        # scikit-learn, Altair) each collection takes ~0.1 s of CPU, most of what 20 sessions cost the server
        # (benchmarks/app_sessions.py prints both). Off here so that the suite stays fast; behaviour is the same.
        _server.append(start_app(env, folder / "server.log", options={"runner.postScriptGC": "false"}))
    yield _server[0]
    _server[0].stop()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"the browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium; .ci/run "
                    "installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, app_server):
    """A new browser context (a new session), closed after the test; fails the test if the app showed a Python
    exception."""
    context = browser.new_context(viewport={"width": WIDTH, "height": 1000}, accept_downloads=True)
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    yield tab
    exceptions = tab.get_by_test_id("stException").all_inner_texts()
    context.close()
    assert not exceptions, exceptions


def open_app(page, server: AppServer, path: str) -> None:
    page.goto(f"{server.url}/{path}")
    page.get_by_role("heading", name=PAGES[path], exact=True).wait_for()
    settle(page)


def settle(page, timeout: float = 180_000) -> None:
    """Wait until the script run has finished (Streamlit's running indicator is gone)."""
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=timeout)


def press(page, name: str, then: str, timeout: float = 180_000) -> None:
    """Click the button ``name`` and wait for the text ``then`` to show and the run to finish."""
    page.get_by_role("button", name=name, exact=True).click()
    page.get_by_text(then).first.wait_for(timeout=timeout)
    settle(page, timeout)


def metrics(page, *wanted: str) -> dict[str, str]:
    """The metrics on the page, once those ``wanted`` have shown: the title can show before the status widget does,
    so a finished-looking page may still be drawing its figures."""
    for label in wanted:
        page.get_by_test_id("stMetricLabel").filter(has_text=label).first.wait_for(timeout=180_000)
    settle(page)
    return {m.get_by_test_id("stMetricLabel").inner_text().strip(): m.get_by_test_id("stMetricValue").inner_text()
            .strip() for m in page.get_by_test_id("stMetric").all()}


def number(page, label: str) -> float:
    return float(page.get_by_label(label, exact=True).input_value().replace(",", ""))


def screenshot(page, name: str) -> list[Path]:
    """The whole page, however long, at the app's usual width and at a narrow one (charts, legends and tables must
    fit both): the viewport is stretched to the page's height for each shot."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    paths = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 1000})
        page.wait_for_timeout(300)  # the layout and the charts redraw for the new width
        height = page.evaluate("""() => Math.max(document.body.scrollHeight,
            ...[...document.querySelectorAll('[data-testid="stMain"], [data-testid="stAppViewContainer"]')]
                .map(e => e.scrollHeight))""")
        page.set_viewport_size({"width": width, "height": min(max(int(height), 1000), 12_000)})
        page.wait_for_timeout(500)
        paths.append(SCREENSHOTS / f"{name}_{width}.png")
        page.screenshot(path=str(paths[-1]))
    page.set_viewport_size({"width": WIDTH, "height": 1000})
    return paths


def test_the_overview_offers_every_scenario_and_the_navigation_lists_every_page(page, app_server):
    from mlorg import planner

    open_app(page, app_server, "")
    scenarios, _ = planner.load_folder(planner.scenario_folder())
    assert page.get_by_role("button", name="Open in the staffing planner").count() == len(scenarios)
    for name in scenarios.values():
        assert page.get_by_text(name.name, exact=True).count() >= 1
    navigation = page.get_by_test_id("stSidebarNav").inner_text()
    assert [title for title in NAVIGATION if title in navigation] == NAVIGATION
    screenshot(page, "overview")


def test_a_staffing_comparison_shows_and_downloads_the_librarys_figures(page, app_server):
    from mlorg import formatting, planner, uncertainty
    from mlorg.results import replicate

    open_app(page, app_server, "staffing_planner")
    page.get_by_role("tab", name="Compare").click()
    replications = page.get_by_role("slider", name="Replications")
    replications.wait_for()
    replications.press("Home")  # the fewest: 2
    press(page, "Compare", "2 scenarios, 2 replications each from seed 0")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download comparison (CSV)").click()
    shown = pd.read_csv(download.value.path())
    scenarios, _ = planner.load_folder(planner.scenario_folder())
    expected = planner.comparison_table({name: replicate(scenarios[name], 2, 0) for name in ("fifth_ds", "first_mle")})
    expected = pd.read_csv(io.StringIO(expected.to_csv(index=False)))
    pd.testing.assert_frame_equal(shown, expected)
    assert set(shown["scenario"]) == {"fifth_ds", "first_mle"}
    screenshot(page, "staffing_planner")

    # The decision under input uncertainty, at the fewest draws: the option to choose now and the EVPI are the
    # library's for the same scenarios, replications, seed and draws.
    draws = page.get_by_role("spinbutton", name="Draws of the uncertain inputs")  # the Compare tab's, the visible one
    draws.fill("10")
    draws.press("Enter")
    settle(page)
    press(page, "Weigh the options under input uncertainty", "Choose now:")
    decision = uncertainty.decide([scenarios["fifth_ds"], scenarios["first_mle"]], 10, 2, 0, backend="serial")
    choice = page.get_by_test_id("stAlert").filter(has_text="Choose now:")
    assert choice.locator("strong").all_inner_texts() == [decision.chosen, formatting.value(decision.evpi, "usd")]
    assert "over 10 draws" in choice.inner_text()
    screenshot(page, "staffing_planner_decision")


def test_a_run_shows_its_figures_and_every_capability_of_the_scenario(page, app_server):
    from mlorg import formatting, planner
    from mlorg.results import replicate

    open_app(page, app_server, "staffing_planner")
    page.get_by_label("Scenario").first.click()
    page.get_by_role("option", name="platform_team", exact=True).click()
    settle(page)
    replications = page.get_by_role("slider", name="Replications").first
    replications.press("Home")  # the fewest: 2
    press(page, "Run", "Results: platform_team")
    scenarios, _ = planner.load_folder(planner.scenario_folder())
    expected = replicate(scenarios["platform_team"], 2, 0).summary
    shown = metrics(page, "Median time to production", "Serving cost")
    assert shown["Median time to production"] == formatting.days(expected.loc["ttp_days_median", "mean"])
    assert shown["Serving cost"] == formatting.usd(expected.loc["serving_cost_usd", "mean"], compact=True)
    for label in ("Feature pipelines", "Model registry", "Serving layer", "Monitoring", "Incident process"):
        # The capabilities table lists all five (the grid draws on a canvas; its cells are for screen readers).
        assert page.get_by_role("gridcell", name=label, exact=True, include_hidden=True).count() == 1
    screenshot(page, "staffing_planner_run")


def test_serving_and_cost_shows_a_utilisation_that_matches_the_load(page, app_server):
    open_app(page, app_server, "serving_cost")
    rps, service_ms = number(page, "Peak traffic (requests/s)"), number(page, "Mean service time (ms)")
    servers = int(re.search(r"(\d+) servers \(", page.get_by_text(re.compile(r"\d+ servers \(")).inner_text())[1])
    shown = metrics(page, "Utilisation", "p99 (simulated)")
    offered = rps * service_ms / 1000.0 / servers
    assert abs(float(shown["Utilisation"].rstrip("%")) / 100 - offered) <= 0.02
    assert shown["p99 (simulated)"].endswith(" ms")
    page.get_by_text("Cheapest fleet with p99").wait_for()
    # The scenario bill: the first priced scenario (fraud_drift), at the slider's default replications.
    press(page, "Price it", "of the serving bill is the real-time fleets' availability floor")
    page.get_by_text("The whole bill").first.wait_for(timeout=60_000)  # the bill's table, drawn before that line
    screenshot(page, "serving_cost")


def test_the_monitoring_tuner_shows_the_lag_the_library_predicts(page, app_server):
    from mlorg import formatting
    from mlorg.monitoring.characteristics import Monitor, default_threshold, operating_point, shift_from_psi

    open_app(page, app_server, "monitoring_tuner")
    window, cadence = number(page, "Window (samples)"), number(page, "Check every (hours)")
    size = number(page, "Drift size")
    assert number(page, "Threshold") == default_threshold("psi")
    monitor = Monitor(detector="psi", threshold=default_threshold("psi"), window=int(window), cadence_hours=cadence,
                      traffic_per_hour=window / cadence, bins=int(number(page, "Bins")))
    point = operating_point(monitor, shift_from_psi(size))  # the page's default drift is given as a PSI
    assert metrics(page, "Detection lag")["Detection lag"] == formatting.lag(point.detection_lag_hours, reason="")
    screenshot(page, "monitoring_tuner")


def test_the_monitoring_tuner_takes_uploaded_feature_files_and_tunes_their_thresholds(page, app_server,
                                                                                      tmp_path_factory):
    from mlorg.monitoring.feature_examples import DRIFTED, write_pair
    from mlorg.monitoring.file_drift import compare_files, flagged, tune_file
    from mlorg.monitoring.file_tuning import TuneSettings

    reference, current = write_pair(tmp_path_factory.mktemp("upload"), 30_000, seed=8, columns=10, file_format="csv")
    open_app(page, app_server, "monitoring_tuner")
    page.get_by_role("tab", name="Your feature files").click()
    page.get_by_text("Give a reference file").wait_for()
    uploads = page.locator('input[type="file"]')
    uploads.nth(0).set_input_files(str(reference))
    uploads.nth(1).set_input_files(str(current))
    drifted = flagged(compare_files(reference, current).drifts, "psi")
    page.get_by_text(f"{len(drifted)} of 10 features drift by psi at its default 0.1").wait_for(timeout=60_000)
    settle(page)
    settings = TuneSettings(detector="psi", window_hours=24, cadence_hours=24, budget_per_month=1, shift=0.5,
                            draws=1000)
    tuned = {t.column: t.threshold for t in tune_file(reference, "ts", settings).thresholds}
    by_tuned = [d.column for d in compare_files(reference, current).drifts if d.drifted("psi", tuned[d.column])]
    assert set(by_tuned) >= set(DRIFTED) - {"score_0"}  # the example's drifts, caught at the tuned thresholds
    press(page, "Tune thresholds", f"{len(by_tuned)} of 10 features drift by psi at the thresholds tuned below")
    page.get_by_text("detection lag against false alarms, thresholds from its own reference").first.wait_for()
    screenshot(page, "monitoring_tuner_files")


def test_the_registry_page_explains_how_to_make_a_registry_when_there_is_none(page, app_server):
    open_app(page, app_server, "registry")
    page.get_by_text("There is no registry at").wait_for()
    assert page.get_by_role("button", name="Run the reference pipeline into it").count() == 1
    screenshot(page, "registry")


def test_the_whole_workshop_runs_and_shows_the_pipelines_figures(page, app_server, tmp_path_factory):
    from mlorg import workshop
    from tests.test_app_workshop import computed, shared_cache

    open_app(page, app_server, "fraud_workshop")
    press(page, "Train the model", "1 · Train")
    press(page, "Deploy it", "2 · Deploy")
    press(page, "Let the months pass", "3 · Months pass")
    press(page, "Diagnose: what went wrong?", "4 · What went wrong?")
    page.get_by_text(workshop.CAUSES["fraud_pattern_shift"], exact=True).click()
    settle(page)
    press(page, "Reveal the answer", "5 · The answer, and the evidence")
    page.get_by_text("Right:").wait_for()
    press(page, "Turn on monitoring and automated rollback, and replay", "6 · Replay with monitoring")
    press(page, "Compare", "7 · Compare")

    before, _, after, _ = computed(shared_cache(tmp_path_factory))
    shown = metrics(page, "Fraud losses saved")
    assert shown["Offline AUC (holdout)"] == f"{before.offline_auc:.3f}"
    assert shown["Transactions generated"] == f"{before.transactions:,}"
    assert shown["Alerts"] == str(len(after.alerts))
    assert shown["Fraud losses saved"] == f"${before.fraud_losses_usd - after.fraud_losses_usd:,.0f}"
    assert page.get_by_test_id("stVegaLiteChart").count() == 4  # the months, the alarms, the losses, the queue
    screenshot(page, "fraud_workshop")
