"""How the command line lays out what it prints: aligned columns, the metrics table, and JSON values."""

from __future__ import annotations

import math
from pathlib import Path

from mlorg import formatting
from mlorg.results import FEW_REPLICATIONS, Replications


def fmt(x: float | None) -> str:
    """A figure in a table: four significant digits, readable at any size (see :mod:`mlorg.formatting`)."""
    return formatting.number(x, 4)


def columns(rows: list[tuple[str, ...]]) -> str:
    """Rows as aligned text columns: the first left-aligned, the rest right-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def finite_or_none(x: float | None) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


def json_value(value):
    """A numpy scalar from a table as a plain JSON value."""
    value = value.item() if hasattr(value, "item") else value
    return finite_or_none(value) if isinstance(value, float) else value


def cell_text(value) -> str:
    """A scenario value in a table as a scenario file writes it: ``true``, ``3``, ``0.25``."""
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:g}" if isinstance(value, float) else str(value)


def metrics_json(summary) -> dict:
    return {name: {"mean": finite_or_none(row["mean"]), "ci95_low": finite_or_none(row["ci95_low"]),
                   "ci95_high": finite_or_none(row["ci95_high"])} for name, row in summary.iterrows()}


def result_json(reps: Replications, run_id: int | None = None) -> dict:
    out = {"scenario": reps.scenario.name, "seed": reps.seed, "replications": reps.n,
           "horizon_days": reps.scenario.horizon_days, "metrics": metrics_json(reps.summary)}
    if run_id is not None:
        out["run_id"] = run_id
    return out


def result_table(reps: Replications, run_id: int | None = None) -> str:
    s = reps.scenario
    head = (f"{s.name}: {s.description}\n{reps.n} replications of {formatting.days(s.horizon_days)}, seed {reps.seed}"
            + (f"; saved as run {run_id}" if run_id is not None else ""))
    return head + "\n\n" + metrics_table(reps.summary)


def metrics_table(summary) -> str:
    rows = [("metric", "mean", "95% CI")]
    for name, row in summary.iterrows():
        if row["n"] == 0:
            continue  # e.g. time shares of a role the organisation never had
        ci = "" if not math.isfinite(row["ci95_low"]) else f"{fmt(row['ci95_low'])} – {fmt(row['ci95_high'])}"
        rows.append((name, fmt(row["mean"]), ci))
    width = max(len(r[0]) for r in rows)
    lines = [f"{r[0]:<{width}}  {r[1]:>12}  {r[2]}".rstrip() for r in rows]
    lines.insert(1, "-" * (width + 30))
    return "\n".join(lines) + few_replications_note(int(summary["n"].max()) if len(summary) else 0)


def few_replications_note(n: int) -> str:
    """A line under a table whose intervals rest on fewer than FEW_REPLICATIONS runs (empty otherwise)."""
    if not 2 <= n < FEW_REPLICATIONS:
        return ""
    return (f"\n\n! Intervals from {n} replications are rough (the spread itself is poorly known below "
            f"{FEW_REPLICATIONS}); run more before deciding on them.")


def write_whole(path: Path, text: str, flag: str) -> None:
    """Write ``text`` to ``path`` whole or not at all (through a partial file renamed into place); a failure is a
    UsageError naming ``flag`` and the path."""
    from mlorg.cli.options import UsageError

    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    except OSError as exc:
        raise UsageError(f"{flag}: {path}: {exc.strerror or exc}") from None
