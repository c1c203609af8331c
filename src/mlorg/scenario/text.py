"""Values and rules as a message shows them: spelled as in TOML, so that a message quotes what the user wrote."""

from __future__ import annotations

import json
from typing import Any


def toml_text(value: Any) -> str:
    """A value as it is spelled in TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml_text(v)}" for k, v in value.items()) + "}"
    return str(value)


def number_text(x: float) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def range_text(kind: str, meta: Any) -> str:
    """What a field allows, from its declaration: ``an integer >= 0 and <= 5000``."""
    lo, hi = meta["lo"], meta["hi"]
    parts = []
    if lo is not None:
        parts.append(f"{'>' if meta['lo_open'] else '>='} {number_text(lo)}")
    if hi is not None:
        parts.append(f"<= {number_text(hi)}")
    return f"{kind} {' and '.join(parts)}" if parts else kind
