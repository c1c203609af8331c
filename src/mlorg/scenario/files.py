"""Scenario files: TOML read (a file may extend another) and written back."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import tomli_w

from mlorg.scenario.fields import ScenarioError
from mlorg.scenario.schema import Scenario
from mlorg.scenario.text import toml_text
from mlorg.scenario.validation import as_data, from_dict


def load(path: str | Path) -> Scenario:
    """Read and validate a scenario file. A file may start from another with ``extends = "other.toml"`` (a path
    relative to it) and change only what differs: its tables are merged into the other's, key by key."""
    path = Path(path)
    data = _read(path, ())
    try:
        return from_dict(data)
    except ScenarioError as exc:
        raise ScenarioError([f"{path}: {m}" for m in exc.messages]) from None


def loads(text: str, source: str = "<scenario>") -> Scenario:
    data = _parse(text, source)
    if "extends" in data:
        raise ScenarioError(f"{source}: extends: only a scenario file can extend another (its path is relative "
                            "to the file)")
    try:
        return from_dict(data)
    except ScenarioError as exc:
        raise ScenarioError([f"{source}: {m}" for m in exc.messages]) from None


def _parse(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib words its position as "(at line L, column C)"; lead with the file like a compiler does.
        raise ScenarioError(f"{source}: TOML syntax error: {exc}") from None


def _read(path: Path, chain: tuple[Path, ...]) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        where = f"{chain[-1]}: extends: " if chain else ""
        raise ScenarioError(f"{where}{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read ({exc})") from None
    data = _parse(text, str(path))
    base = data.pop("extends", None)
    if base is None:
        return data
    if not isinstance(base, str) or not base:
        raise ScenarioError(f"{path}: extends: {toml_text(base)} is not allowed; must be the name of a scenario file")
    base_path = path.parent / base
    if base_path.resolve() in {p.resolve() for p in (*chain, path)}:
        raise ScenarioError(f"{path}: extends: {toml_text(base)} is not allowed; the files extend each other in a loop")
    return _merge(_read(base_path, (*chain, path)), data)


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def to_toml(scenario: Scenario) -> str:
    """The scenario as a TOML document that :func:`loads` reads back to an equal scenario."""
    return tomli_w.dumps(as_data(scenario))
