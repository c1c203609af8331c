"""Grids of scenario edits: which fields vary, over which values, and the validated scenario of each cell.

A field is named by its dotted path in the scenario file (``org.ml_engineers``,
``serving.realtime.slo_p99_ms``, ``research.cycle_hours.mean``; an entry of a list of tables by its index,
``org.hiring[0].count``). Its values are written as comma-separated items, each a value or an inclusive
range ``START..STOP`` (step 1) or ``START..STOP:STEP``: ``0..8``, ``1,2,4``, ``0.1..0.5:0.1``, ``0..4,8,16``,
``true,false``, ``c6i.xlarge,g4dn.xlarge``. Every edited scenario goes through the schema's own validation,
so a bad path or value is reported with the field, the value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
import tomllib
import typing
from collections.abc import Mapping, Sequence
from typing import Any

from mlorg.scenario import Scenario, ScenarioError, from_dict, to_toml

MAX_VALUES = 1000  # values of one field; a longer list is almost certainly a mistyped step
MAX_CELLS = 10_000  # a limit that keeps one sweep from running for days

Value = bool | int | float | str
_INDEXED = re.compile(r"^(?P<key>[A-Za-z_][A-Za-z0-9_]*)(?:\[(?P<index>\d+)\])?$")


class SweepError(ValueError):
    """A sweep that cannot run as asked; ``messages`` holds one readable line per problem."""

    def __init__(self, messages: list[str] | str):
        self.messages = [messages] if isinstance(messages, str) else list(messages)
        super().__init__("\n".join(self.messages))


@dataclasses.dataclass(frozen=True)
class Cell:
    """One point of a grid: the values given to each varied field, and the scenario they make."""

    index: int
    values: dict[str, Value]
    scenario: Scenario


def parse_vary(text: str) -> tuple[str, str]:
    """Split a command-line ``PATH=SPEC`` into its path and its values spec."""
    path, sep, spec = text.partition("=")
    if not sep or not path.strip() or not spec.strip():
        raise SweepError(f"--vary {text!r} is not allowed; must be PATH=VALUES, e.g. org.ml_engineers=0..8 or "
                         "org.platform_engineers=0,3")
    return path.strip(), spec.strip()


def parse_values(path: str, spec: str) -> list[Value]:
    """The values of a spec such as ``0..8``, ``1,2,4`` or ``0.1..0.5:0.1``, typed by the field they go to."""
    hint = field_type(path)
    values: list[Value] = []
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            raise SweepError(f"{path}: {spec!r} is not allowed; an empty item between commas")
        if ".." in item and hint is not str:
            values.extend(_typed(hint, v) for v in _range(path, item))
        else:
            values.append(item if hint is str else _typed(hint, _scalar(item)))
        if len(values) > MAX_VALUES:
            raise SweepError(f"{path}: {spec!r} is not allowed; must give at most {MAX_VALUES} values")
    repeated = sorted({str(v) for v in values if values.count(v) > 1})
    if repeated:
        raise SweepError(f"{path}: {spec!r} is not allowed; must not repeat a value ({', '.join(repeated)})")
    return values


def _typed(hint: Any, value: Value) -> Value:
    """An integer given to a number field becomes a float, as the schema stores it (the table's column too)."""
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _scalar(text: str) -> Value:
    """A value as TOML would read it: true/false, an integer, a number, otherwise text."""
    if text in ("true", "false"):
        return text == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _range(path: str, item: str) -> list[Value]:
    bounds, _, step_text = item.partition(":")
    start_text, _, stop_text = bounds.partition("..")
    parts = [_scalar(t.strip()) for t in (start_text, stop_text, step_text or "1")]
    if not all(isinstance(p, int | float) and not isinstance(p, bool) and math.isfinite(p) for p in parts):
        raise SweepError(f"{path}: {item!r} is not allowed; a range must be START..STOP or START..STOP:STEP "
                         "with numbers")
    start, stop, step = parts
    if step <= 0 or stop < start:
        raise SweepError(f"{path}: {item!r} is not allowed; a range needs STOP >= START and a STEP > 0")
    span = (stop - start) / step  # inf when the range overflows a float: more values than any limit
    if not math.isfinite(span) or span + 1 > MAX_VALUES:
        raise SweepError(f"{path}: {item!r} is not allowed; must give at most {MAX_VALUES} values")
    count = math.floor(span + 1e-9) + 1
    if count > MAX_VALUES:
        raise SweepError(f"{path}: {item!r} is not allowed; must give at most {MAX_VALUES} values")
    if all(isinstance(p, int) for p in parts):
        return list(range(start, stop + 1, step))
    # Rounded to 12 significant digits so that 0.1..0.3:0.1 gives 0.3, not 0.30000000000000004.
    return [float(f"{start + i * step:.12g}") for i in range(count)]


def field_type(path: str) -> Any:
    """The Python type of the scenario field at ``path``, or None when the path names no field."""
    cls: Any = Scenario
    for part in path.split("."):
        match = _INDEXED.match(part)
        if not match or not dataclasses.is_dataclass(cls):
            return None
        hints = typing.get_type_hints(cls)
        hint = hints.get(match["key"])
        if hint is None:
            return None
        if typing.get_origin(hint) is tuple:
            hint = typing.get_args(hint)[0] if match["index"] is not None else tuple
        cls = hint
    return cls


def edit(scenario: Scenario, values: Mapping[str, Value]) -> Scenario:
    """The scenario with each dotted path set to its value, checked by the schema like a file would be."""
    data = tomllib.loads(to_toml(scenario))
    for path, value in values.items():
        _assign(data, path, value)
    return from_dict(data)


def _assign(data: dict[str, Any], path: str, value: Value) -> None:
    node: Any = data
    parts = path.split(".")
    for depth, part in enumerate(parts):
        where = ".".join(parts[: depth + 1])
        match = _INDEXED.match(part)
        if match is None:
            raise ScenarioError(f"{where}: not a field name; a path is dotted names such as org.ml_engineers "
                                "(a list entry as org.hiring[0].count)")
        if not isinstance(node, dict):
            raise ScenarioError(f"{where}: {'.'.join(parts[:depth])} is a value, not a table; it has no fields")
        key, index, last = match["key"], match["index"], depth == len(parts) - 1
        if index is not None:
            entries = node.get(key)
            if not isinstance(entries, list) or not entries or isinstance(entries[0], int | float | str | bool):
                raise ScenarioError(f"{where}: {key} is not a list of tables")
            if int(index) >= len(entries):
                raise ScenarioError(f"{where}: no such entry; the scenario has {len(entries)} (from [0])")
            node = entries[int(index)]
            if last:
                raise ScenarioError(f"{where}: a whole table is not allowed; name one of its fields")
            continue
        if last:
            node[key] = value
            node.pop(f"uncertain_{key}", None)  # a value set here is known: a distribution's uncertainty goes
        else:
            # A missing table is created so that the schema reports the unknown key with a suggestion.
            node = node.setdefault(key, {})
            if isinstance(node, list):
                raise ScenarioError(f"{where}: a list of tables; name an entry, e.g. {where}[0]")


def normalise_grid(grid: Mapping[str, str | Sequence[Value]]) -> dict[str, list[Value]]:
    """Each path's values as a list: a spec string is parsed, a sequence is taken as it is."""
    if not grid:
        raise SweepError("the grid is empty; vary at least one field (e.g. org.ml_engineers=0..8)")
    out = {}
    for path, values in grid.items():
        if isinstance(values, str):
            out[path] = parse_values(path, values)
        else:
            out[path] = [_typed(field_type(path), v) for v in values]
            if not out[path]:
                raise SweepError(f"{path}: no values to vary")
    return out


def cells(scenario: Scenario, grid: Mapping[str, str | Sequence[Value]]) -> list[Cell]:
    """Every combination of the grid's values, in row-major order (the last path varies fastest), validated.

    Each value is first checked on its own, so a bad one is reported once by its field; then each
    combination, for the checks that span fields (such as min_replicas <= max_replicas).
    """
    axes = normalise_grid(grid)
    count = math.prod(len(v) for v in axes.values())
    if count > MAX_CELLS:
        raise SweepError(f"the grid has {count:,} cells; must be <= {MAX_CELLS:,} (a limit that keeps one sweep "
                         "from running for days)")
    problems: list[str] = []
    alone: list[Cell] = []
    for path, values in axes.items():
        for value in values:
            try:
                alone.append(Cell(len(alone), {path: value}, edit(scenario, {path: value})))
            except ScenarioError as exc:
                problems.extend(m for m in exc.messages if m not in problems)
    if problems:
        raise ScenarioError(problems)
    if len(axes) == 1:
        return alone
    out = []
    for index, combination in enumerate(itertools.product(*axes.values())):
        values = dict(zip(axes, combination, strict=True))
        try:
            out.append(Cell(index, values, edit(scenario, values)))
        except ScenarioError as exc:
            where = ", ".join(f"{p}={_show(v)}" for p, v in values.items())
            problems.extend(f"with {where}: {m}" for m in exc.messages)
    if problems:
        raise ScenarioError(problems)
    return out


def _show(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:g}" if isinstance(value, float) else str(value)
