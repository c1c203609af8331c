"""Shared test set-up."""

import os
import sys
from pathlib import Path

import pytest
import streamlit as st
from hypothesis import settings
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

# Pages import their shared modules as `views.…`, from the app's folder, which `streamlit run app/streamlit_app.py`
# puts on the path; AppTest runs a page in this process, so the tests put it there too.
APP = Path(__file__).resolve().parents[1] / "app"
if str(APP) not in sys.path:
    sys.path.insert(0, str(APP))

# In CI the property tests draw the same examples every run, so a red build is reproducible; locally they
# explore new examples each time.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(autouse=True, scope="session")
def registry_key_folder(tmp_path_factory):
    """The registry's signing key and heads live in a folder of the test session's own, never the user's."""
    folder = tmp_path_factory.mktemp("mlorg-config")
    previous = os.environ.get("MLORG_CONFIG_DIR")
    os.environ["MLORG_CONFIG_DIR"] = str(folder)  # subprocesses (the CLI, streamlit run) inherit it
    os.environ.pop("MLORG_REGISTRY_KEY", None)
    yield folder
    if previous is None:
        os.environ.pop("MLORG_CONFIG_DIR", None)
    else:
        os.environ["MLORG_CONFIG_DIR"] = previous


@pytest.fixture
def app_store(tmp_path, monkeypatch):
    """An app test's own run store, the shipped scenario folder, and an empty cache before and after."""
    monkeypatch.setenv("MLORG_DB", str(tmp_path / "runs.duckdb"))
    monkeypatch.delenv("MLORG_SCENARIOS", raising=False)
    st.cache_data.clear()
    yield
    st.cache_data.clear()


@pytest.fixture
def downloads(monkeypatch):
    """Captures the bytes behind each download button of an AppTest, by file name."""
    captured: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def spy(self, path_or_data, mimetype, kind, filename=None):
        captured[filename] = path_or_data.encode() if isinstance(path_or_data, str) else path_or_data
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", spy)
    return captured
