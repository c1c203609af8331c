"""The serving page's charts. They take the library's own records (capacity options, kernel summaries) by their
attributes or keys, so this module needs no import of the serving package."""

from __future__ import annotations

import math
from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from mlorg.charts.common import FIT_WIDTH, SLO_COLOUR, reference_line

LATENCY_PERCENTILES = {"p50_ms": "p50", "p95_ms": "p95", "p99_ms": "p99"}


def latency_table(sources: dict[str, dict | None]) -> pd.DataFrame:
    """Tidy percentiles (source, percentile, ms) from ``{source name: figures}``; a source that is None, or
    lacks a percentile (no formula gives it), has no row for it."""
    rows = [{"source": source, "percentile": label, "ms": float(figures[key])}
            for source, figures in sources.items() if figures
            for key, label in LATENCY_PERCENTILES.items()
            if figures.get(key) is not None and math.isfinite(figures[key])]
    return pd.DataFrame(rows, columns=["source", "percentile", "ms"])


def latency_percentiles(sources: dict[str, dict | None], *, slo_ms: float | None = None) -> alt.LayerChart:
    """p50, p95 and p99 response times side by side for each source (simulated, analytic, ...), with the SLO."""
    data = latency_table(sources)
    names = list(dict.fromkeys(data["source"]))
    y = alt.Y("ms:Q", title="response time (ms)")
    bars = alt.Chart(data).mark_bar().encode(
        x=alt.X("percentile:N", title=None, sort=list(LATENCY_PERCENTILES.values())),
        xOffset=alt.XOffset("source:N", sort=names),
        y=y,
        # Legends in rows of two: these charts take half the page, where one row was cut at 1000 px.
        color=alt.Color("source:N", title=None, sort=names, legend=alt.Legend(orient="bottom", columns=2,
                                                                             labelLimit=0)),
        tooltip=[alt.Tooltip("source:N"), alt.Tooltip("percentile:N"), alt.Tooltip("ms:Q", format=",.2f")],
    )
    layers = [bars]
    if slo_ms is not None:
        layers.append(reference_line(slo_ms, y, f"SLO p99 {slo_ms:g} ms"))
    return alt.layer(*layers).properties(title="Latency percentiles", height=260, autosize=FIT_WIDTH)


def options_frame(options: Sequence) -> pd.DataFrame:
    """Capacity options (``mlorg.serving.capacity.Option``) as rows: instance, replicas, servers, utilisation,
    p99_ms, usd_per_hour, usd_per_month."""
    columns = ["instance", "replicas", "servers", "utilisation", "p99_ms", "usd_per_hour", "usd_per_month"]
    return pd.DataFrame([[getattr(o, c) for c in columns] for o in options], columns=columns)


def cost_latency_curve(options: Sequence, *, slo_ms: float, chosen_replicas: int | None = None) -> alt.LayerChart:
    """p99 latency against monthly cost as replicas are added to one instance type, with the SLO line; each
    point says whether it meets the SLO, and the chosen replica count is ringed."""
    data = options_frame(options)
    data = data[np.isfinite(data["p99_ms"])].copy()
    data["meets_slo"] = np.where(data["p99_ms"] <= slo_ms, "meets the SLO", "misses the SLO")
    instance = data["instance"].iloc[0] if len(data) else ""
    # A tight log axis that always shows the SLO: p99 near saturation can be many times the rest.
    low, high = min([*data["p99_ms"], slo_ms]), max([*data["p99_ms"], slo_ms])
    x = alt.X("usd_per_month:Q", title="cost (USD per month)", scale=alt.Scale(zero=False))
    y = alt.Y("p99_ms:Q", title="p99 response time (ms, log scale)",
              scale=alt.Scale(type="log", domain=[low / 1.15, high * 1.15], nice=False))
    base = alt.Chart(data).encode(x=x, y=y)
    tooltip = [alt.Tooltip("replicas:Q"), alt.Tooltip("servers:Q"),
               alt.Tooltip("utilisation:Q", format=".0%"), alt.Tooltip("p99_ms:Q", title="p99 (ms)", format=",.1f"),
               alt.Tooltip("usd_per_month:Q", title="USD per month", format=",.0f")]
    line = base.mark_line(color="#bab0ac")
    points = base.mark_point(filled=True, size=70).encode(
        color=alt.Color("meets_slo:N", title=None, scale=alt.Scale(domain=["meets the SLO", "misses the SLO"],
                                                                   range=["#54a24b", SLO_COLOUR]),
                        legend=alt.Legend(orient="bottom", columns=2, labelLimit=0)),
        tooltip=tooltip)
    labels = base.mark_text(dy=14, fontSize=11).encode(text=alt.Text("replicas:Q"))
    layers = [line, points, labels, reference_line(slo_ms, y, f"SLO p99 {slo_ms:g} ms")]
    if chosen_replicas is not None:
        chosen = data[data["replicas"] == chosen_replicas]
        layers.append(alt.Chart(chosen).mark_point(size=320, strokeWidth=2, color="black").encode(
            x=x, y=y, tooltip=tooltip))
    return alt.layer(*layers).properties(
        title=alt.TitleParams(f"p99 against cost on {instance}", subtitle="labels: replicas"), height=260,
        autosize=FIT_WIDTH)


def instance_costs(options: Sequence) -> alt.Chart:
    """Monthly cost of each instance type's cheapest fleet that meets the SLO; the cheapest of all stands out."""
    data = options_frame(options).sort_values(["usd_per_hour", "replicas"], kind="stable").reset_index(drop=True)
    data["label"] = data["replicas"].astype(str) + " × " + data["instance"]
    data["cheapest"] = np.where(data.index == 0, "cheapest", "other")
    return alt.Chart(data).mark_bar().encode(
        y=alt.Y("label:N", title=None, sort=list(data["label"])),
        x=alt.X("usd_per_month:Q", title="cost (USD per month)"),
        color=alt.Color("cheapest:N", title=None, legend=None,
                        scale=alt.Scale(domain=["cheapest", "other"], range=["#54a24b", "#bab0ac"])),
        tooltip=[alt.Tooltip("instance:N"), alt.Tooltip("replicas:Q"), alt.Tooltip("servers:Q"),
                 alt.Tooltip("utilisation:Q", format=".0%"),
                 alt.Tooltip("p99_ms:Q", title="p99 (ms)", format=",.1f"),
                 alt.Tooltip("usd_per_month:Q", title="USD per month", format=",.0f")],
    ).properties(title="Cheapest fleet per instance type", height=260, autosize=FIT_WIDTH)
