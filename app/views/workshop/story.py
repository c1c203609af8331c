"""What the workshop's steps share: how far a session has gone, results and charts computed once for the whole
server, and how days and money read."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import streamlit as st

from mlorg import workshop
from mlorg.workshop import DAY_ZERO

if TYPE_CHECKING:  # Altair loads with the first chart (views.workshop.steps), not with the first page
    import altair as alt

WITHOUT, WITH = "without monitoring", "with monitoring and rollback"
CEILING = "ceiling: every label known"

STEP = "workshop_step"  # how far this session has gone: an index into STEPS


STEPS = ("start", "trained", "deployed", "months", "question", "answer", "replay", "compare")


@st.cache_resource(show_spinner=False, max_entries=1024)
def derived(identity: tuple, _compute: Callable[[], Any]) -> Any:
    """What ``_compute`` gives, computed once for the whole server per ``identity`` (what it is, from which results:
    job keys) and shared, read-only, by every session. Every rerun of every session redraws the story so far, and a
    room of sessions redrawing the same tables and charts from scratch kept the server busy for seconds (an Altair
    chart alone takes 0.1–0.2 s to build)."""
    return _compute()


@st.cache_resource(show_spinner=False)
def load_charts_early() -> threading.Thread:
    """Import :mod:`mlorg.charts` (Altair: over half a second of CPU) once per server on a thread of its own, started
    when a session deploys, so that the story's first chart, on the next step, does not wait for it while the room
    reads (a session that gets there first waits on the same import, not a second one). Not sooner: the room's first
    answers, all asked for at once, would share the CPU with it."""
    thread = threading.Thread(target=importlib.import_module, args=("mlorg.charts",), name="mlorg-charts-import",
                              daemon=True)
    thread.start()
    return thread


def show_chart(identity: tuple, build: Callable[[], alt.TopLevelMixin]) -> None:
    st.vega_lite_chart(derived(("chart", *identity), lambda: arrow_datasets(build().to_dict())), width="stretch")


def arrow_datasets(spec: dict) -> dict:
    """The spec with its datasets as Arrow IPC streams, which Streamlit sends as they are instead of converting the
    records again on every rerun."""
    def arrow(records: list[dict]) -> bytes:
        table = pa.Table.from_pandas(pd.DataFrame.from_records(records))
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        return sink.getvalue().to_pybytes()

    return {**spec, "datasets": {name: arrow(records) for name, records in spec.get("datasets", {}).items()}}


def step() -> int:
    return st.session_state.get(STEP, 0)


def go_to(name: str) -> None:
    st.session_state[STEP] = STEPS.index(name)


def start_over() -> None:
    st.session_state[STEP] = 0
    st.session_state.pop("workshop_guess", None)


def next_button(label: str, target: str) -> None:
    """The button that moves the story on; shown only at the step the session has reached."""
    if step() == STEPS.index(target) - 1:
        st.button(label, type="primary", on_click=go_to, args=(target,), key=f"next_{target}")


def source_note(job: workshop.Job) -> str:
    return "from the server's cache" if job.from_cache else f"computed in {job.seconds:.0f} s, now shared"


def day_text(day: float) -> str:
    return f"day {day:.0f} ({(DAY_ZERO + pd.Timedelta(days=float(day))):%d %b %Y})"


def usd(value: float) -> str:
    return f"${value:,.0f}"
