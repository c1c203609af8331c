"""Feature contracts: what each feature's values may be (range, allowed values, share of nulls), checked on every
batch before it is trained on or scored, so that a broken upstream source is refused rather than learned."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mlorg.pipeline.features import FEATURES


class ContractError(ValueError):
    """A feature batch broke its contract; ``violations`` lists every broken rule, one line each."""

    def __init__(self, violations: list[str]):
        self.violations = list(violations)
        super().__init__(f"feature contract violated ({len(violations)}):\n- " + "\n- ".join(violations))


@dataclass(frozen=True)
class Rule:
    """What one feature's values may be: a null share at most ``max_null_share``, finite values in [low, high],
    only the ``allowed`` values when that is non-empty, whole numbers when ``integer``."""

    max_null_share: float = 0.0
    low: float = -math.inf
    high: float = math.inf
    allowed: tuple[float, ...] = ()
    integer: bool = False


_COUNT = Rule(low=0, integer=True)
_BINARY = Rule(allowed=(0.0, 1.0))
# A broken device or country source turns these null for everyone; a few nulls are normal, most are an outage.
_SOURCED_BINARY = Rule(max_null_share=0.05, allowed=(0.0, 1.0))


def _default_rules() -> dict[str, Rule]:
    return {
        "log_amount": Rule(low=0),
        "hour": Rule(low=0, high=23, integer=True),
        "is_ecom": _BINARY,
        "is_atm": _BINARY,
        "card_count_1h": _COUNT,
        "card_count_24h": _COUNT,
        "card_count_7d": _COUNT,
        "card_amount_24h": Rule(low=0),
        "card_amount_7d": Rule(low=0),
        # new cards have no 30-day history, so this one is often null
        "amount_vs_card_avg": Rule(max_null_share=0.6, low=0),
        "new_device": _SOURCED_BINARY,
        "foreign_country": _SOURCED_BINARY,
        "new_country": _SOURCED_BINARY,
        "category_risk": Rule(low=0, high=1),
    }


@dataclass(frozen=True)
class Contract:
    """The columns and dtypes a feature batch must have, and each feature's ``Rule``."""

    dtypes: dict[str, str] = field(default_factory=lambda: {"tx_id": "int64", **dict.fromkeys(FEATURES, "float64")})
    rules: dict[str, Rule] = field(default_factory=_default_rules)


DEFAULT_CONTRACT = Contract()


def _examples(values: np.ndarray) -> str:
    return ", ".join(f"{v:g}" for v in np.unique(values)[:5])


def _rule_violations(name: str, values: np.ndarray, rule: Rule) -> list[str]:
    found = []
    null = np.isnan(values)
    share = float(null.mean()) if values.size else 0.0
    if share > rule.max_null_share:
        found.append(
            f"{name}: null share {share:.3f} exceeds max {rule.max_null_share:.3f} ({int(null.sum())} of "
            f"{values.size} rows null)"
        )
    present = values[~null]
    infinite = present[np.isinf(present)]
    if infinite.size:
        found.append(f"{name}: {infinite.size} infinite value(s): {_examples(infinite)}")
    finite = present[np.isfinite(present)]
    outside = finite[(finite < rule.low) | (finite > rule.high)]
    if outside.size:
        found.append(
            f"{name}: {outside.size} value(s) outside [{rule.low:g}, {rule.high:g}]: {_examples(outside)} "
            f"(min {finite.min():g}, max {finite.max():g})"
        )
    if rule.allowed:
        other = finite[~np.isin(finite, rule.allowed)]
        if other.size:
            allowed = ", ".join(f"{v:g}" for v in rule.allowed)
            found.append(f"{name}: {other.size} value(s) not in {{{allowed}}}: {_examples(other)}")
    if rule.integer:
        fractional = finite[finite != np.round(finite)]
        if fractional.size:
            found.append(f"{name}: {fractional.size} non-integer value(s): {_examples(fractional)}")
    return found


def check_contract(features: pd.DataFrame, contract: Contract = DEFAULT_CONTRACT) -> None:
    """Raise ``ContractError`` listing every violation in the batch; return None when it is clean."""
    violations = []
    for column, dtype in contract.dtypes.items():
        if column not in features.columns:
            violations.append(f"{column}: missing column")
        elif str(features[column].dtype) != dtype:
            violations.append(f"{column}: dtype {features[column].dtype}, expected {dtype}")
    for name, rule in contract.rules.items():
        if name in features.columns and pd.api.types.is_numeric_dtype(features[name]):
            values = features[name].to_numpy(dtype="float64", na_value=np.nan)
            violations.extend(_rule_violations(name, values, rule))
    if violations:
        raise ContractError(violations)
