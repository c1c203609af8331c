"""The Serving and cost page's check of the queueing model against the real server: the last `mlorg calibrate
--serving` of the registry's champion, predicted beside measured (the check loads this machine for a minute or more,
so the page shows it rather than running it)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import streamlit as st

from mlorg import formatting
from mlorg.serve import check

ROOT = Path(__file__).resolve().parents[3]


def show_serving_check() -> None:
    st.subheader("The queueing model against a real server")
    # The registry the Registry page reads, and `mlorg calibrate --serving` serves by default.
    path = check.saved_path(Path(os.environ.get("MLORG_REGISTRY_DB", ROOT / "data" / "pipeline.duckdb")))
    if not path.is_file():
        st.info("No check yet. `uv run mlorg calibrate --serving` serves the registry's champion with `mlorg serve`, "
                "loads it open-loop at utilisations 0.3, 0.5, 0.7 and 0.85, and sets the measured latency beside "
                "this model's prediction; the page then shows it here.")
        return
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
        base, levels = result["low_load"], result["levels"]
        table = pd.DataFrame([_row(level) for level in levels])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        st.error(f"{path}: not a serving check this version can read ({exc}); run `mlorg calibrate --serving` again.")
        return
    curve = ", ".join(f"{point['service_ms']:.2f} ms at {point['rate']:g}/s" for point in result["service_curve"])
    st.caption(f"Measured {result.get('measured_at', '')} on {result.get('registry', '')}: one server worker on this "
               f"machine, {result.get('repeats')} × {result.get('seconds')} s a utilisation. At low load a request "
               f"took {base['latency_mean_ms']:.2f} ms, {base['overhead_ms']:.2f} ms of it outside the queue (the "
               f"overhead). The server's CPU per request — the service time, which queues — falls with the load "
               f"({curve}): a lone request pays for waking the idle server. Predicted: the overhead plus the "
               "simulator's M/G/c response with the service time measured at that load; beside it, the p99 the "
               "model gave fed the low-load service time. Measured: mean [95% interval] over the repeats. Above "
               f"utilisation {result.get('checked_up_to', check.CHECKED_UP_TO):g} the load generator competes with "
               "the server for the cores: reported, not checked; so is a level where the generator fell more than "
               f"{check.GENERATOR_LATE_MS:g} ms behind its schedule (late).")
    st.table(table.set_index("utilisation"))


def _row(level: dict) -> dict:
    mark = "" if level["checked"] else " (reported)" if level["utilisation"] > check.CHECKED_UP_TO else " (late)"
    row = {"utilisation": f"{level['utilisation']:g}" + mark,
           "requests/s": f"{level['rate']:,.0f}", "service (CPU/request)": f"{level['service_ms_here']:.2f} ms"}
    for q in ("p50", "p95", "p99"):
        m = level["measured_ms"][q]
        interval = f" [{m['ci95_low']:.2f}, {m['ci95_high']:.2f}]" if m["ci95_low"] is not None else ""
        row[f"{q} predicted (ms)"] = _ms(level["predicted_ms"][q])
        row[f"{q} measured (ms)"] = f"{m['mean']:.2f}{interval}"
    row["p99 by low-load service (ms)"] = _ms(level["predicted_low_load_ms"]["p99"])
    row["generator late (p99)"] = formatting.value(level["lateness_p99_ms"], "count") + " ms"
    return row


def _ms(value: float | None) -> str:
    return "unstable" if value is None else f"{value:.2f}"
