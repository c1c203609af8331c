"""README.md stays true: its set-up commands, CLI usage, metric table and scenario-field table match the code.

Regenerate both tables with `uv run python -m tests.test_readme` (it rewrites them in README.md).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from mlorg.cli import build_parser
from mlorg.metric_table import METRICS, TIME_ACTIVITIES
from mlorg.scenario import DRIFT_CAUSES, field_docs

README = Path(__file__).resolve().parent.parent / "README.md"


def field_table() -> str:
    lines = ["| field | unit | default | allowed | meaning |", "|---|---|---|---|---|"]
    for row in field_docs():
        lines.append(f"| `{row['field']}` | {row['unit']} | {row['default']} | {row['rule']} | {row['doc']} |")
    return "\n".join(lines)


def metric_table() -> str:
    """One row per metric, from the metric table the CLI and the app use; the per-cause incident counts and the
    time shares as one row each."""
    lines = ["| metric | meaning | range |", "|---|---|---|"]
    for m in METRICS.values():
        if m.name.startswith("time_share_") or m.name.startswith("incidents_"):
            continue
        low, high = ("−∞" if m.lo == -math.inf else f"{m.lo:g}"), ("∞" if m.hi == math.inf else f"{m.hi:g}")
        lines.append(f"| `{m.name}` | {m.doc} | {low} to {high} |")
        if m.name == "incidents":
            lines.append(f"| `incidents_<cause>` | incidents by cause: {', '.join(f'`{c}`' for c in DRIFT_CAUSES)} "
                         "| 0 to ∞ |")
    lines.append("| `time_share_<role>_<activity>` | share of a role's time on "
                 f"{', '.join(f'`{a}`' for a in TIME_ACTIVITIES)} | 0 to 1 |")
    return "\n".join(lines)


def replace_table(text: str, header: str, table: str) -> str:
    lines = text.split("\n")
    start = lines.index(header)
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return "\n".join([*lines[:start], table, *lines[end:]])


def test_readme_gives_the_two_commands():
    text = README.read_text(encoding="utf-8")
    assert re.search(r"^uv run streamlit run app/streamlit_app\.py$", text, re.M)
    assert re.search(r"^uv run pytest$", text, re.M)


def test_readme_documents_every_scenario_field_with_its_default():
    text = README.read_text(encoding="utf-8")
    assert field_table() in text, "README scenario table is stale: run `uv run python -m tests.test_readme`"


def test_readme_documents_every_metric_with_its_range():
    text = README.read_text(encoding="utf-8")
    assert metric_table() in text, "README metric table is stale: run `uv run python -m tests.test_readme`"


def test_readme_documents_every_cli_command():
    text = README.read_text(encoding="utf-8")
    commands = build_parser()._subparsers._group_actions[0].choices
    for name in commands:
        assert f"mlorg {name}" in text


if __name__ == "__main__":
    readme = README.read_text(encoding="utf-8")
    readme = replace_table(readme, "| metric | meaning | range |", metric_table())
    readme = replace_table(readme, "| field | unit | default | allowed | meaning |", field_table())
    README.write_text(readme, encoding="utf-8")
