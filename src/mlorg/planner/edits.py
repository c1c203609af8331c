"""A leader's changes to a scenario: applied through its TOML form and read back through the schema, so that a bad
value gets the same message (field path, value, allowed range) as in a file; and what changed, in words."""

from __future__ import annotations

import functools
import math
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mlorg.planner.scenarios import CAPABILITY_TEXT, capability_plan
from mlorg.scenario import CAPABILITIES, Scenario, ScenarioError, field_docs, field_label, from_dict, to_toml


def edit(base: Scenario, *, headcount: Mapping[str, Any] | None = None, horizon_days: Any = None,
         hiring: pd.DataFrame | Iterable[Mapping[str, Any]] | None = None,
         skills: pd.DataFrame | Mapping[str, Mapping[str, Any]] | None = None,
         in_place: Iterable[str] | None = None, build_order: Sequence[str] | None = None,
         capabilities: pd.DataFrame | None = None) -> Scenario:
    """``base`` with the planner's changes, validated like a file (raises ScenarioError naming each field).

    ``headcount`` maps org fields (``ml_engineers`` …) to people at day 0; ``hiring`` replaces the hiring
    plan with rows of day, role, count (blank rows are skipped, a blank cell is an error); ``skills`` maps
    role → activity → efficiency; ``in_place`` lists the capabilities that exist at day 0 and
    ``build_order`` those the platform team builds, in order (one already in place is not built again).
    """
    data = tomllib.loads(to_toml(base))
    errors: list[str] = []
    if headcount is not None:
        for name, count in headcount.items():
            data["org"][name] = _cell(count, f"org.{name}", errors, whole=True)
    if horizon_days is not None:
        data["horizon_days"] = _cell(horizon_days, "horizon_days", errors)
    if hiring is not None:
        data["org"]["hiring"] = _hiring_entries(hiring, errors)
    if skills is not None:
        _set_skills(data, skills, errors)
    if capabilities is not None:
        in_place, build_order = _capability_plan(capabilities, errors)
    if in_place is not None or build_order is not None:
        _set_capabilities(data, base, in_place, build_order)
    data = _drop_blanks(data)
    try:
        scenario = from_dict(data)
    except ScenarioError as exc:
        errors.extend(exc.messages)
    if errors:
        raise ScenarioError(errors)
    return scenario


_BLANK = object()  # a cell the user left empty; reported, then dropped before the schema reads the rest


def _cell(value: Any, where: str, errors: list[str], *, whole: bool = False) -> Any:
    """A table cell as a plain TOML value; an empty cell is reported with what the field allows."""
    if isinstance(value, np.generic):
        value = value.item()
    if _is_blank(value):
        errors.append(f"{where}: empty is not allowed; must be {_rule(where)}")
        return _BLANK
    if whole and isinstance(value, float) and value.is_integer():
        return int(value)  # table editors hand integers back as floats once a column has had a blank
    return value.strip() if isinstance(value, str) else value


@functools.cache
def _rules() -> dict[str, str]:
    return {row["field"]: row["rule"] for row in field_docs()}


def _rule(where: str) -> str:
    rule = _rules().get(re.sub(r"\[\d+\]", "[]", where), "a value")
    return re.sub(r"^(integer|number)\b", lambda m: ("an " if m[1] == "integer" else "a ") + m[1], rule)


def _records(rows: pd.DataFrame | Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return rows.to_dict("records") if isinstance(rows, pd.DataFrame) else list(rows)


def _is_blank(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float | np.floating) and math.isnan(value)) \
        or (isinstance(value, str) and not value.strip())


def _hiring_entries(rows: pd.DataFrame | Iterable[Mapping[str, Any]], errors: list[str]) -> list[dict]:
    entries = []
    for row in _records(rows):
        if all(_is_blank(row.get(name)) for name in ("day", "role", "count")):
            continue  # a row the table editor added and the user left empty
        where = f"org.hiring[{len(entries)}]"
        entries.append({"day": _cell(row.get("day"), f"{where}.day", errors),
                        "role": _cell(row.get("role"), f"{where}.role", errors),
                        "count": _cell(row.get("count"), f"{where}.count", errors, whole=True)})
    return entries


def _set_skills(data: dict, skills: pd.DataFrame | Mapping[str, Mapping[str, Any]], errors: list[str]) -> None:
    matrix = skills.to_dict("index") if isinstance(skills, pd.DataFrame) else skills
    for role, row in matrix.items():
        table = data["skills"].setdefault(str(role), {})
        for activity, value in row.items():
            table[str(activity)] = _cell(value, f"skills.{role}.{activity}", errors)


def _set_capabilities(data: dict, base: Scenario, in_place: Iterable[str] | None,
                      build_order: Sequence[str] | None) -> None:
    current_in_place, current_order = capability_plan(base)
    in_place = list(current_in_place if in_place is None else in_place)
    order = list(current_order if build_order is None else build_order)
    if set(in_place) == set(current_in_place) and order == current_order:
        return  # unchanged: keep the file's own build order, which may still name capabilities in place
    caps = data["platform"]["capabilities"]
    for name in dict.fromkeys([*CAPABILITIES, *in_place]):
        caps.setdefault(name, {})["built"] = name in in_place
    data["platform"]["build_order"] = [name for name in order if name not in in_place]


def _capability_plan(table: pd.DataFrame, errors: list[str]) -> tuple[list[str], list[str]]:
    """What is in place and the build order, from :func:`mlorg.planner.capability_frame`'s table as edited: places
    must be whole numbers from 1, each used once; a capability in place is not built again."""
    in_place, places = [], {}
    for name, row in table.iterrows():
        label = CAPABILITY_TEXT[name][0] if name in CAPABILITY_TEXT else name
        if bool(row["in_place"]):
            in_place.append(name)
            continue
        place = row["build_order"]
        if _is_blank(place):
            continue
        if isinstance(place, np.generic):
            place = place.item()
        if not isinstance(place, int | float) or isinstance(place, bool) or place < 1 or not float(place).is_integer():
            errors.append(f"Build order: {label}: {place} is not allowed; must be a whole number >= 1, or blank "
                          "for not built")
            continue
        places.setdefault(int(place), []).append(label)
    for place, labels in sorted(places.items()):
        if len(labels) > 1:
            errors.append(f"Build order: {place} is given to {' and '.join(labels)}; give each capability its own "
                          "place")
    order = [name for _, name in sorted((row["build_order"], name) for name, row in table.iterrows()
                                        if name not in in_place and not _is_blank(row["build_order"]))]
    return in_place, order


def _drop_blanks(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _drop_blanks(v) for k, v in data.items() if v is not _BLANK}
    if isinstance(data, list):
        return [_drop_blanks(v) for v in data]
    return data


def describe_changes(base: Scenario, edited: Scenario) -> list[str]:
    """One line per field that differs, ``path: old → new``, in schema order."""
    before, after = _values(base), _values(edited)
    lines = []
    for path in dict.fromkeys([*before, *after]):
        old, new = before.get(path, []), after.get(path, [])
        if old != new and path not in ("name", "description"):
            lines.append(f"{path}: {inline_text(old)} → {inline_text(new)}")
    return lines


def _values(scenario: Scenario) -> dict[str, Any]:
    """Each field's value by its dotted path. Uncertainties are left out: a field the leader sets is known (its
    uncertainty is dropped), and its new value is the change that names it."""
    return _flatten(tomllib.loads(to_toml(scenario.replace(uncertain=()))))


def _flatten(data: dict, prefix: str = "") -> dict[str, Any]:
    """Dotted paths to values; a list of tables (the hiring plan) stays one value so it reads as a whole."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def inline_text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} {inline_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(inline_text(v) for v in value) + "]"
    return str(value)


def file_stem(name: str) -> str:
    """A scenario name made safe for a download's file name."""
    return re.sub(r"[^\w.-]+", "_", name).strip("_") or "scenario"


MAX_NAME = 80


def change_summary(base: Scenario, edited: Scenario) -> list[str]:
    """What a leader changed, each in a few words under the field's label: ``ML engineers 2``, ``Horizon (days)
    365``, ``Hiring plan: 3 hires``, in schema order."""
    before, after = _values(base), _values(edited)
    items = []
    for path in dict.fromkeys([*before, *after]):
        old, new = before.get(path, []), after.get(path, [])
        if old == new or path in ("name", "description"):
            continue
        if path == "org.hiring":
            hires = sum(h.get("count", 0) for h in new)
            items.append(f"{field_label(path)}: {hires} hire{'' if hires == 1 else 's'}" if new else
                         f"{field_label(path)}: none")
        elif isinstance(new, bool):
            items.append(field_label(path) if new else f"not {field_label(path)[:1].lower()}{field_label(path)[1:]}")
        else:
            items.append(f"{field_label(path)} {inline_text(new)}")
    return items


def name_variant(base: Scenario, edited: Scenario) -> Scenario:
    """``edited`` named for what changed from ``base`` (``first_mle · ML engineers 2``), with the changes in its
    description, so that saved runs, ``mlorg runs`` and downloads say what they hold; ``base`` itself when nothing
    changed."""
    items = change_summary(base, edited)
    if not items:
        return edited if edited.name == base.name else edited.replace(name=base.name,
                                                                      description=base.description)
    name = f"{base.name} · " + ", ".join(items)
    if len(name) > MAX_NAME:
        shown = []
        for item in items:
            rest = len(items) - len(shown) - 1
            candidate = f"{base.name} · " + ", ".join([*shown, item]) + (f" + {rest} more" if rest else "")
            if len(candidate) > MAX_NAME and shown:
                break
            shown.append(item)
        more = len(items) - len(shown)
        name = f"{base.name} · " + ", ".join(shown) + (f" + {more} more" if more else "")
    changes = "; ".join(describe_changes(base, edited))
    lead = base.description.rstrip(". ")
    description = f"{lead + '. ' if lead else ''}Changed from {base.name}: {changes}."
    return edited.replace(name=name, description=description)
