"""Twenty people walk the fraud-drift workshop at the same moment on one server, each in their own websocket session
speaking Streamlit's protocol as a browser tab does (benchmarks/app_sessions.py; it also prints their times to
answer). The server is the test session's one server (tests/test_browser.py)."""

from __future__ import annotations

import asyncio

from benchmarks.app_sessions import STORY, WORKSHOP_PAGE, Session, walk_together

from tests.test_app_workshop import computed, shared_cache
from tests.test_browser import app_server  # noqa: F401 - the session's server, shared with the browser tests

SESSIONS = 20


def test_twenty_sessions_walk_the_workshop_together_without_errors(app_server, tmp_path_factory):  # noqa: F811
    walks = asyncio.run(walk_together(app_server.url, SESSIONS))
    problems = [e for w in walks for e in w.errors]
    assert not problems, problems[:5]
    assert all(len(w.seconds) == len(STORY) for w in walks)  # every step answered, in every session
    # One shared computation: everyone read the same figures, and they are the pipeline's.
    before, _, after, _ = computed(shared_cache(tmp_path_factory))
    assert {w.offline_auc for w in walks} == {f"{before.offline_auc:.3f}"}
    assert {w.losses_saved for w in walks} == {f"${before.fraud_losses_usd - after.fraud_losses_usd:,.0f}"}
    assert "Traceback" not in app_server.log.read_text()


def test_a_session_opened_after_them_starts_at_the_beginning(app_server):  # noqa: F811
    async def open_workshop():
        async with Session(app_server.url, WORKSHOP_PAGE) as session:
            return await session.run()

    page = asyncio.run(open_workshop())
    assert [b.label for b in page.of("button")] == ["Start over", "Train the model"]
    assert not page.of("metric") and not page.errors()
