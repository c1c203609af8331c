"""README.md stays true: its set-up commands, CLI usage and scenario-field table match the code.

Regenerate the field table with `uv run python -m tests.test_readme`.
"""

from __future__ import annotations

import re
from pathlib import Path

from mlorg.cli import build_parser
from mlorg.scenario import field_docs

README = Path(__file__).resolve().parent.parent / "README.md"


def field_table() -> str:
    lines = ["| field | unit | default | allowed | meaning |", "|---|---|---|---|---|"]
    for row in field_docs():
        lines.append(f"| `{row['field']}` | {row['unit']} | {row['default']} | {row['rule']} | {row['doc']} |")
    return "\n".join(lines)


def test_readme_gives_the_two_commands():
    text = README.read_text(encoding="utf-8")
    assert re.search(r"^uv run streamlit run app/streamlit_app\.py$", text, re.M)
    assert re.search(r"^uv run pytest$", text, re.M)


def test_readme_documents_every_scenario_field_with_its_default():
    text = README.read_text(encoding="utf-8")
    assert field_table() in text, "README scenario table is stale: run `uv run python -m tests.test_readme`"


def test_readme_documents_every_cli_command():
    text = README.read_text(encoding="utf-8")
    commands = build_parser()._subparsers._group_actions[0].choices
    for name in commands:
        assert f"mlorg {name}" in text


if __name__ == "__main__":
    print(field_table())
