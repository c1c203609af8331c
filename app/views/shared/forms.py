"""What every page does with the numbers people type. A box takes any number (the browser's own range check
only turns a box red, with the reason on hover, and keeps the old value); the page checks each value against
:mod:`mlorg.inputs` or the schema, shows every reason in the page, and draws no result from a refused value.
Values that are allowed but odd get a warning that says what is odd."""

from __future__ import annotations

from collections.abc import Iterable

import streamlit as st

from mlorg.inputs import INPUTS
from mlorg.scenario import field_label, field_rule


def number(name: str, *, key: str, value: float | None = None, container=st, label: str | None = None,
           step: float | None = None, placeholder: str | None = None, disabled: bool = False,
           help_text: str | None = None):
    """A number box for the input ``name`` of :data:`mlorg.inputs.INPUTS`, labelled and explained as the table
    says; check what it returns with :func:`refuse`."""
    rule = INPUTS[name]
    whole = rule.kind is int
    if value is not None:
        value = int(value) if whole else float(value)
    return container.number_input(
        label or rule.label, value=value, key=key, step=step if step is not None else (1 if whole else None),
        format=None if whole else "%g", placeholder=placeholder, disabled=disabled,
        help=f"{help_text or rule.doc}. Allowed: {rule.rule}.")


def field_number(path: str, *, key: str, value: float, container=st, step: float | None = None,
                 whole: bool | None = None):
    """A number box for the scenario field at ``path``, labelled and explained by the schema (``whole``: a box of
    integers for a number field, such as whole days); check what it returns with
    :func:`mlorg.scenario.field_problem`."""
    rule = field_rule(path)
    whole = rule.kind is int if whole is None else whole
    unit = f" ({rule.unit})" if rule.unit and rule.unit not in field_label(path) else ""
    return container.number_input(
        field_label(path), value=int(value) if whole else float(value), key=key,
        step=step if step is not None else (1 if whole else None), format=None if whole else "%g",
        help=f"{rule.doc}{unit}. Allowed: {rule.rule}. Field: `{path}`.")


def refuse(problems: Iterable[str]) -> bool:
    """Show each problem in the page; True when there is any (the caller then draws no result)."""
    problems = list(problems)
    if problems:
        st.error(problems[0] if len(problems) == 1 else "\n".join(f"- {p}" for p in problems))
    return bool(problems)


def warn(oddities: Iterable[str]) -> None:
    for odd in oddities:
        st.warning(odd)
