"""Scenario files: TOML read (a file may extend another) and written back.

A scenario file is small, so what is read is bounded before it is parsed: a regular file (no device, folder or
pipe) of at most MAX_FILE_BYTES, its arrays and inline tables nested at most MAX_NESTING deep, and at most
MAX_EXTENDS files in an ``extends`` chain. ``extends`` names a file in the first file's folder tree, the shipped
scenarios' folder or ``$MLORG_SCENARIOS``'s, never elsewhere."""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path
from typing import Any

import tomli_w

from mlorg.scenario.fields import ScenarioError
from mlorg.scenario.schema import Scenario
from mlorg.scenario.text import toml_text
from mlorg.scenario.validation import as_data, from_dict

MAX_FILE_BYTES = 1_000_000  # the largest shipped scenario is under 20 kB
MAX_NESTING = 32  # arrays and inline tables in arrays and inline tables (a scenario needs 3)
MAX_EXTENDS = 16  # files in one extends chain (the shipped ones need 2)
SHIPPED = Path(__file__).resolve().parents[3] / "scenarios"


def load(path: str | Path) -> Scenario:
    """Read and validate a scenario file. A file may start from another with ``extends = "other.toml"`` (a path
    relative to it) and change only what differs: its tables are merged into the other's, key by key."""
    path = Path(path)
    roots = [path.resolve().parent, SHIPPED]
    if os.environ.get("MLORG_SCENARIOS"):
        roots.append(Path(os.environ["MLORG_SCENARIOS"]).resolve())
    data = _read(path, (), tuple(roots))
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
    if len(text) > MAX_FILE_BYTES:
        raise ScenarioError(f"{source}: {len(text):,} characters is not allowed; a scenario holds at most "
                            f"{MAX_FILE_BYTES:,}")
    depth = _nesting(text)
    if depth > MAX_NESTING:
        raise ScenarioError(f"{source}: arrays or inline tables nested {depth} deep are not allowed; a scenario nests "
                            f"at most {MAX_NESTING}")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib words its position as "(at line L, column C)"; lead with the file like a compiler does.
        raise ScenarioError(f"{source}: TOML syntax error: {exc}") from None


def _nesting(text: str) -> int:
    """How deep brackets and braces nest outside strings and comments (a table header's [[ ]] counts 2): checked
    before parsing, since the parser recurses once per level."""
    depth = deepest = 0
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in "\"'":
            quote = text[i:i + 3] if text[i:i + 3] in ('"""', "'''") else c
            i += len(quote)
            while i < n and not text.startswith(quote, i):
                i += 2 if c == '"' and text[i] == "\\" else 1
            i += len(quote)
            continue
        if c == "#":
            i = text.find("\n", i)
            if i < 0:
                break
        elif c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth -= 1
        i += 1
    return deepest


def _read(path: Path, chain: tuple[Path, ...], roots: tuple[Path, ...]) -> dict[str, Any]:
    where = f"{chain[-1]}: extends: " if chain else ""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ScenarioError(f"{where}{path}: no such file") from None
    except OSError as exc:
        raise ScenarioError(f"{where}{path}: cannot read ({exc})") from None
    if not stat.S_ISREG(info.st_mode):
        raise ScenarioError(f"{where}{path}: is not a regular file (a folder, device or pipe is not a scenario)")
    if info.st_size > MAX_FILE_BYTES:
        raise ScenarioError(f"{where}{path}: {info.st_size:,} bytes is not allowed; a scenario file holds at most "
                            f"{MAX_FILE_BYTES:,}")
    try:
        with path.open("rb") as fh:  # read no more than the limit, whatever the file grew to since
            text = fh.read(MAX_FILE_BYTES + 1).decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read ({exc})") from None
    data = _parse(text, str(path))
    base = data.pop("extends", None)
    if base is None:
        return data
    if not isinstance(base, str) or not base:
        raise ScenarioError(f"{path}: extends: {toml_text(base)} is not allowed; must be the name of a scenario file")
    base_path = path.parent / base
    resolved = base_path.resolve()
    if resolved in {p.resolve() for p in (*chain, path)}:
        raise ScenarioError(f"{path}: extends: {toml_text(base)} is not allowed; the files extend each other in a loop")
    if not any(resolved.is_relative_to(root) for root in roots):
        raise ScenarioError(f"{path}: extends: {toml_text(base)} is not allowed; it must name a file in "
                            f"{roots[0]} (or below), the shipped scenarios or $MLORG_SCENARIOS")
    if len(chain) + 2 > MAX_EXTENDS:
        raise ScenarioError(f"{path}: extends: a chain of more than {MAX_EXTENDS} files is not allowed")
    return _merge(_read(base_path, (*chain, path), roots), data)


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
