"""Reading parsed TOML into the schema: every field checked against its declaration, every problem reported at
once with its dotted path, the value as the user wrote it and what is allowed."""

from __future__ import annotations

import dataclasses
import difflib
import functools
import math
import re
import typing
from typing import Any

from mlorg.scenario.checks import check_whole
from mlorg.scenario.docs import field_docs, field_rule
from mlorg.scenario.fields import Distribution, ScenarioError
from mlorg.scenario.schema import Scenario
from mlorg.scenario.text import range_text, toml_text
from mlorg.scenario.uncertain import Uncertainty, mean_value, nest, parse_uncertainty


def from_dict(data: dict[str, Any]) -> Scenario:
    """Build a scenario from parsed TOML, reporting every problem at once."""
    errors: list[str] = []
    found: list[Uncertainty] = []
    scenario = _build(Scenario(), data, "", errors, found)
    paths = [u.path for u in found]
    errors.extend(f"{path}: its uncertainty is given twice (as uncertain_{path.rpartition('.')[2]} and in a "
                  "{ value, uncertain } table); keep one" for i, path in enumerate(paths) if path in paths[:i])
    # In the schema's order whatever order the file wrote them in, so that equal scenarios compare equal.
    order = _field_order()
    found.sort(key=lambda u: (order.get(re.sub(r"\[\d+\]", "[]", u.path), len(order)), u.path))
    scenario = dataclasses.replace(scenario, uncertain=tuple(found))
    if not errors:
        errors.extend(check_whole(scenario))
    if errors:
        raise ScenarioError(errors)
    return scenario


@functools.cache
def _field_order() -> dict[str, int]:
    return {rule["field"]: i for i, rule in enumerate(field_docs())}


def validate(scenario: Scenario) -> Scenario:
    """Check a scenario built or edited in code (``replace`` skips the checks) by the same rules as a file."""
    return from_dict(as_data(scenario))


def field_problem(path: str, value: Any, name: str | None = None) -> str | None:
    """What is wrong with ``value`` for the field at ``path`` on its own (``org.ml_engineers: -1 is not allowed;
    must be an integer >= 0 and <= 5000``, or under ``name``, such as the label a form shows), or None when the
    field allows it. Forms check each box with this as it is typed; rules across fields are checked when the whole
    scenario is read."""
    rule = field_rule(path)
    if rule is None:
        return f"{name or path}: unknown field"
    errors: list[str] = []
    _scalar(rule.kind, rule.metadata, value, name or path, errors)
    return errors[0] if errors else None


def as_data(scenario: Scenario) -> dict[str, Any]:
    """The scenario as the plain tables and lists a TOML file holds, its uncertain inputs written as a file writes
    them."""
    def plain(value: Any) -> Any:
        if dataclasses.is_dataclass(value):
            return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                    if not f.metadata.get("internal")}
        if isinstance(value, tuple):
            return [plain(v) for v in value]
        return value

    return nest(plain(scenario), scenario.uncertain)


def _build(base: Any, data: Any, path: str, errors: list[str], found: list[Uncertainty]) -> Any:
    """Overlay ``data`` on ``base`` (the defaults of this part of the schema), field by field; the uncertain inputs
    met on the way are added to ``found``."""
    cls = type(base)
    if not isinstance(data, dict):
        errors.append(f"{path or 'scenario'}: {toml_text(data)} is not allowed; must be a table")
        return base
    fields = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for key, raw in data.items():
        where = f"{path}.{key}" if path else key
        target = key.removeprefix("uncertain_")
        if cls is Distribution and key.startswith("uncertain_") and target in ("mean", "cv"):
            u = parse_uncertainty(raw, f"{path}.{target}", where, float, fields[target].metadata, errors)
            if u is not None:
                found.append(u)
            continue
        if key not in fields:
            close = difflib.get_close_matches(key, list(fields), n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else f"; known keys: {', '.join(fields)}"
            errors.append(f"{where}: unknown key{hint}")
            continue
        value = _convert(hints[key], fields[key], getattr(base, key), raw, where, errors, found)
        if value is not None:
            values[key] = value
    return dataclasses.replace(base, **values)


def _convert(hint: Any, fld: dataclasses.Field, default: Any, raw: Any, where: str, errors: list[str],
             found: list[Uncertainty]) -> Any:
    meta = fld.metadata
    if dataclasses.is_dataclass(hint):
        return _build(default, raw, where, errors, found)
    if typing.get_origin(hint) is tuple:
        item_type = typing.get_args(hint)[0]
        if not isinstance(raw, list):
            errors.append(f"{where}: {toml_text(raw)} is not allowed; must be a list")
            return None
        if dataclasses.is_dataclass(item_type):
            return tuple(_build(item_type(), item, f"{where}[{i}]", errors, found) for i, item in enumerate(raw))
        items = [_scalar(item_type, meta, item, f"{where}[{i}]", errors) for i, item in enumerate(raw)]
        if any(item is None for item in items):
            return None
        if meta["choices"] and len(set(items)) != len(items):  # a list of names (build order) names each once
            errors.append(f"{where}: {toml_text(raw)} is not allowed; must not repeat an entry")
            return None
        return tuple(items)
    if hint in (int, float) and isinstance(raw, dict):
        return _uncertain_number(hint, meta, raw, where, errors, found)
    return _scalar(hint, meta, raw, where, errors)


def _uncertain_number(hint: Any, meta: Any, raw: dict[str, Any], where: str, errors: list[str],
                      found: list[Uncertainty]) -> Any:
    """A number written ``{ value = 4, uncertain = { dist = ..., ... } }``: its value, and its uncertainty added to
    ``found``. Without ``value`` the value is the uncertainty's mean."""
    unknown = [k for k in raw if k not in ("value", "uncertain")]
    if unknown or "uncertain" not in raw:
        errors.append(f"{where}: {toml_text(raw)} is not allowed; must be {range_text('a number', meta)}, or a "
                      "table { value = ..., uncertain = { dist = ..., ... } }")
        return None
    u = parse_uncertainty(raw["uncertain"], where, f"{where}.uncertain", hint, meta, errors)
    if u is None:
        return None
    found.append(u)
    return _scalar(hint, meta, raw.get("value", mean_value(u)), f"{where}.value", errors)


def _scalar(hint: Any, meta: Any, raw: Any, where: str, errors: list[str]) -> Any:
    if hint is bool:
        if not isinstance(raw, bool):
            errors.append(f"{where}: {toml_text(raw)} is not allowed; must be true or false")
            return None
        return raw
    if hint is str:
        if not isinstance(raw, str):
            errors.append(f"{where}: {toml_text(raw)} is not allowed; must be a string")
            return None
        if meta["choices"] and raw not in meta["choices"]:
            close = difflib.get_close_matches(raw, meta["choices"], n=1, cutoff=0.6)
            hint_text = f" (did you mean '{close[0]}'?)" if close else ""
            allowed = ", ".join(meta["choices"])
            errors.append(f"{where}: {toml_text(raw)} is not allowed; must be one of {allowed}{hint_text}")
            return None
        return raw
    if hint is int:
        ok = isinstance(raw, int) and not isinstance(raw, bool)
        kind = "an integer"
    else:
        ok = isinstance(raw, int | float) and not isinstance(raw, bool) and math.isfinite(raw)
        kind = "a number"
    rule = range_text(kind, meta)
    if not ok:
        errors.append(f"{where}: {toml_text(raw)} is not allowed; must be {rule}")
        return None
    lo, hi = meta["lo"], meta["hi"]
    too_low = lo is not None and (raw <= lo if meta["lo_open"] else raw < lo)
    if too_low or (hi is not None and raw > hi):
        reason = f" ({meta['hi_reason']})" if hi is not None and raw > hi and meta["hi_reason"] else ""
        errors.append(f"{where}: {toml_text(raw)} is not allowed; must be {rule}{reason}")
        return None
    return float(raw) if hint is float else raw
