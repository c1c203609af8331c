"""The Overview page through AppTest: what it explains, and its one-click start into the staffing planner."""

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from mlorg import planner
from mlorg.results import replicate
from mlorg.scenario import load

pytestmark = pytest.mark.usefixtures("app_store")  # tests/conftest.py

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT / "app" / "views"
SCENARIOS = ROOT / "scenarios"


def two_page_app(folder: Path) -> Path:
    """A router over the real Overview and planner files, so the start button can switch pages in AppTest.

    The pages are linked, not copied: Streamlit resolves them to the files in app/views.
    """
    (folder / "views").mkdir()
    for name in ("overview.py", "staffing_planner.py"):
        (folder / "views" / name).symlink_to(PAGES / name)
    router = folder / "app.py"
    router.write_text('import streamlit as st\n\nst.navigation([st.Page("views/overview.py", default=True), '
                      'st.Page("views/staffing_planner.py")]).run()\n')
    return router


def test_overview_explains_the_capabilities_and_offers_every_scenario():
    at = AppTest.from_file(str(PAGES / "overview.py"), default_timeout=30).run()
    assert not at.exception and not at.error
    text = "\n".join(m.value for m in at.markdown)
    for number, (label, what) in enumerate(planner.CAPABILITY_TEXT.values(), start=1):
        assert f"{number}. **{label}** — {what}." in text
    assert "Time to production" in text
    stems = sorted(p.stem for p in SCENARIOS.glob("*.toml"))
    assert [b.key for b in at.button] == [f"start.{stem}" for stem in stems]
    assert {b.label for b in at.button} == {"Open in the staffing planner"}
    platform = load(SCENARIOS / "platform_team.toml")
    assert f"{planner.org_text(platform)}; 730 days. In place at day 0: none. The platform team builds: feature " \
           "pipelines, model registry, serving layer, monitoring, incident process." in text


def test_start_opens_the_planner_with_the_scenario_picked_and_run(tmp_path):
    at = AppTest.from_file(str(two_page_app(tmp_path)), default_timeout=30).run()
    assert not at.exception
    at.button(key="start.notebook_shipping").click().run()
    assert not at.exception and not at.error
    assert [t.value for t in at.title] == ["Staffing planner"]
    assert at.selectbox(key="scenario").value == "notebook_shipping"
    assert at.session_state["planner.tab"] == "Run"
    scenario = load(SCENARIOS / "notebook_shipping.toml")
    n = planner.default_replications(scenario)
    assert at.slider(key="replications").value == n == 10
    expected = replicate(scenario, n, 0).summary.loc["models_shipped", "mean"]
    assert next(m.value for m in at.metric if m.label == "Models shipped") == f"{expected:,.1f}"


def test_overview_names_the_broken_scenario_files(tmp_path, monkeypatch):
    shutil.copy(SCENARIOS / "platform_team.toml", tmp_path / "platform_team.toml")
    (tmp_path / "broken.toml").write_text("[org]\nml_engineers = -1\n")
    monkeypatch.setenv("MLORG_SCENARIOS", str(tmp_path))
    at = AppTest.from_file(str(PAGES / "overview.py"), default_timeout=30).run()
    assert not at.exception
    assert "broken.toml: org.ml_engineers: -1 is not allowed; must be an integer >= 0" in at.error[0].value
    assert [b.key for b in at.button] == ["start.platform_team"]
