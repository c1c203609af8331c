"""The router: every page it routes to exists, and the app opens on the Overview."""

import re
from pathlib import Path

import streamlit as st
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[1] / "app"


def test_every_routed_page_exists_and_every_page_is_routed():
    # A file directly in views/ is a page; what pages share lives in folders beside them (planner/, shared/ …).
    routed = set(re.findall(r'st\.Page\("(views/[\w.]+)"', (APP / "streamlit_app.py").read_text()))
    on_disk = {f"views/{p.name}" for p in (APP / "views").glob("*.py")}
    assert routed == on_disk and len(routed) == 6


def test_the_app_opens_on_the_overview(tmp_path, monkeypatch):
    monkeypatch.setenv("MLORG_DB", str(tmp_path / "runs.duckdb"))
    st.cache_data.clear()
    at = AppTest.from_file(str(APP / "streamlit_app.py"), default_timeout=30).run()
    assert not at.exception
    assert any("mlorg" in t.value for t in at.title)
