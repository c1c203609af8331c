"""The schema described: every field's path, unit, default and rule (for the README's table and the forms)."""

from __future__ import annotations

import dataclasses
import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlorg.scenario.fields import Distribution
from mlorg.scenario.schema import Scenario
from mlorg.scenario.text import number_text, range_text


def field_docs() -> list[dict[str, Any]]:
    """Every leaf field of the schema with its dotted path, unit, default and rule (for the README)."""
    rows: list[dict[str, Any]] = []

    def walk(cls: type, instance: Any, prefix: str) -> None:
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if f.metadata.get("internal"):
                continue
            path = f"{prefix}{f.name}"
            value = getattr(instance, f.name)
            hint = hints[f.name]
            if dataclasses.is_dataclass(hint):
                walk(hint, value, path + ".")
                continue
            if typing.get_origin(hint) is tuple and dataclasses.is_dataclass(typing.get_args(hint)[0]):
                item = typing.get_args(hint)[0]
                rows.append({"field": path, "unit": "", "default": "[]", "rule": "list of tables",
                             "doc": f.metadata.get("doc", "")})
                walk(item, item(), path + "[].")
                continue
            meta = f.metadata
            unit = meta.get("unit", "")
            if cls is Distribution and f.name == "mean" and prefix.rstrip(".").endswith("_hours"):
                unit = "hours"  # a distribution's unit is named by the field that holds it
            if hint is bool:
                rule = "true/false"
            elif hint is str or typing.get_origin(hint) is tuple:
                rule = "one of " + ", ".join(meta["choices"]) if meta["choices"] else "text"
            else:
                rule = range_text("integer" if hint is int else "number", meta)
            rows.append({"field": path, "unit": unit, "default": _default_text(value),
                         "rule": rule, "doc": meta.get("doc", "")})

    walk(Scenario, Scenario(), "")
    return rows


def _default_text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return "[" + ", ".join(f'"{v}"' for v in value) + "]"
    if isinstance(value, str):
        return f'"{value}"'
    return number_text(value)



@dataclass(frozen=True)
class FieldRule:
    """What one field is and allows, for a form that offers it: its type, unit, description and range."""

    path: str
    kind: type  # bool, int, float or str
    unit: str
    doc: str
    lo: float | None
    hi: float | None
    lo_open: bool
    choices: tuple
    metadata: Mapping[str, Any]

    @property
    def rule(self) -> str:
        if self.kind is bool:
            return "true or false"
        if self.choices:
            return "one of " + ", ".join(self.choices)
        if self.kind is str:
            return "text"
        return range_text("an integer" if self.kind is int else "a number", self.metadata)


def field_rule(path: str) -> FieldRule | None:
    """The declaration of the leaf field at a dotted path (``org.ml_engineers``, ``org.hiring[0].count``), or
    None when the path names no single field of the schema."""
    cls: Any = Scenario
    hint: Any = None
    meta: Mapping[str, Any] = {}
    for part in path.split("."):
        name, _, index = part.partition("[")
        if cls is None or not dataclasses.is_dataclass(cls):
            return None
        fields = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
        if name not in fields:
            return None
        hint, meta = typing.get_type_hints(cls)[name], fields[name].metadata
        if typing.get_origin(hint) is tuple:
            item = typing.get_args(hint)[0]
            if dataclasses.is_dataclass(item):
                if not index:
                    return None  # a list of tables: only its items' fields are single values
                hint = item
        cls = hint if dataclasses.is_dataclass(hint) else None
    if hint is None or dataclasses.is_dataclass(hint) or typing.get_origin(hint) is tuple:
        return None
    return FieldRule(path=path, kind=hint, unit=meta.get("unit", ""), doc=meta.get("doc", ""), lo=meta.get("lo"),
                     hi=meta.get("hi"), lo_open=meta.get("lo_open", False), choices=meta.get("choices", ()),
                     metadata=meta)


def field_label(path: str) -> str:
    """What a field is called where leaders see it: its declared label, else its path in words
    (``productionisation.effort_hours.mean`` → ``Productionisation · effort hours · mean``). Engineers get the
    path itself on hover."""
    declared = _metadata(path)
    if declared.get("label"):
        return declared["label"]
    parent, _, leaf = path.rpartition(".")
    if (built := re.fullmatch(r"platform\.capabilities\.(\w+)", parent)) and leaf == "built":
        return f"{_words(built[1]).capitalize()} in place at day 0"
    if skill := re.fullmatch(r"skills\.(\w+)", parent):
        return f"{_words(skill[1])[:1].upper()}{_words(skill[1])[1:]}: skill at {_words(leaf)}"
    if hire := re.fullmatch(r"org\.hiring\[(\d+)\]", parent):
        return f"Hire {int(hire[1]) + 1}: {_words(leaf)}"
    words = " · ".join(_words(part) for part in path.split("."))
    return words[:1].upper() + words[1:]


def _metadata(path: str) -> Mapping[str, Any]:
    """The declaration of any field at ``path``, a table or a list of tables included ({} if there is none)."""
    cls: Any = Scenario
    meta: Mapping[str, Any] = {}
    for part in path.split("."):
        fields = {f.name: f for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else {}
        name = part.partition("[")[0]
        if name not in fields:
            return {}
        meta, hint = fields[name].metadata, typing.get_type_hints(cls)[name]
        cls = typing.get_args(hint)[0] if typing.get_origin(hint) is tuple else hint
    return meta


WORDS = {"ml": "ML", "slo": "SLO", "usd": "USD", "rps": "requests/s", "psi": "PSI", "ks": "KS", "cv": "cv"}


def _words(name: str) -> str:
    name = re.sub(r"\[(\d+)\]", lambda m: f" {int(m[1]) + 1}", name)
    return " ".join(WORDS.get(word, word) for word in name.split("_"))
