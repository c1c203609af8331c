"""What every part of the schema is made of: a field with its unit, description and allowed range, the error
that names the fields a scenario gets wrong, and a random quantity given by its mean and spread."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

DISTRIBUTIONS = ("exponential", "lognormal", "gamma", "deterministic")
GUARD = "a limit that keeps one run from hanging or exhausting memory"


class ScenarioError(ValueError):
    """One or more invalid inputs; ``messages`` holds one readable line per problem."""

    def __init__(self, messages: list[str] | str):
        self.messages = [messages] if isinstance(messages, str) else list(messages)
        super().__init__("\n".join(self.messages))


def spec(default: Any = dataclasses.MISSING, *, unit: str = "", doc: str = "", lo: float | None = None,
         hi: float | None = None, lo_open: bool = False, hi_reason: str = "", choices: tuple = (),
         factory: Any = dataclasses.MISSING, label: str = "") -> Any:
    """A dataclass field with its unit, description and allowed range, and the label people see it under (when
    its path would not read well to a leader)."""
    meta = {"unit": unit, "doc": doc, "lo": lo, "hi": hi, "lo_open": lo_open, "hi_reason": hi_reason,
            "choices": choices, "label": label}
    if factory is not dataclasses.MISSING:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True, kw_only=True)
class Distribution:
    """A positive random quantity given by its mean and coefficient of variation."""

    dist: str = spec("lognormal", choices=DISTRIBUTIONS, doc="shape of the distribution")
    mean: float = spec(1.0, lo=0.0, hi=1e12, doc="mean, in the unit of the field")
    cv: float = spec(0.5, lo=0.0, hi=10.0,
                     doc="coefficient of variation (sd / mean); ignored by exponential (1) and deterministic (0)")


def dist(kind: str, mean: float, cv: float = 0.5) -> Any:
    return field(default_factory=lambda: Distribution(dist=kind, mean=mean, cv=cv))

