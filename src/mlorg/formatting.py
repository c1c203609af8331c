"""Figures as people read them, the same in the command line and the app.

A figure a person reads is rounded to what it can claim, never printed with 99 digits or as ``1.75e-100``: a
probability too small to matter reads ``< 1e-6``, an astronomically large count ``≈ 10^99``, a lag that never
ends ``never`` with the reason, and units agree with their number (``1 day``, ``2 days``). Machine output (JSON,
CSV) keeps the raw numbers; only what is shown goes through here.
"""

from __future__ import annotations

import math

MISSING = "—"  # a figure with no value (not defined in any replication, no closed form …)
SMALLEST = 1e-6  # below this a probability or a rate reads "< 1e-6": its digits mean nothing to a reader
LARGEST = 1e15  # above this a count reads "≈ 10^k": no reader can use its digits
NEVER = "never"


def _missing(x: float | None) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def number(x: float | None, digits: int = 3) -> str:
    """A plain figure: thousands separators for large values, ``digits`` significant digits for small ones."""
    if _missing(x):
        return MISSING
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    if abs(x) >= LARGEST:
        return power_of_ten(x)
    if x == 0:
        return "0"
    if abs(x) >= 10 ** (digits - 1):
        return f"{x:,.0f}"
    if abs(x) < SMALLEST:
        return f"{x:.{max(digits - 1, 0)}e}"
    decimals = digits - 1 - math.floor(math.log10(abs(x)))
    text = f"{x:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def power_of_ten(x: float) -> str:
    """A huge value by its order of magnitude: ``≈ 10^99``."""
    sign = "-" if x < 0 else ""
    return f"≈ {sign}10^{round(math.log10(abs(x)))}"


def count(x: float | None) -> str:
    """A count of things: whole, with thousands separators; astronomically large as ``≈ 10^k``."""
    if _missing(x):
        return MISSING
    if math.isinf(x):
        return "∞"
    if abs(x) >= LARGEST:
        return power_of_ten(x)
    return f"{x:,.0f}"


def small(x: float | None, digits: int = 3, floor: float = SMALLEST) -> str:
    """A probability or a rate that can be vanishingly small: below ``floor`` it reads ``< 1e-6``."""
    if _missing(x):
        return MISSING
    if 0 < abs(x) < floor:
        return "< " + f"{floor:g}".replace("e-0", "e-")
    return number(x, digits)


def quantity(x: float | None, unit: str, digits: int = 3, plural_unit: str | None = None) -> str:
    """A number with its unit, plural-aware: ``1 day``, ``12.5 days``, ``3 alarms``."""
    if _missing(x):
        return MISSING
    text = number(x, digits)
    return f"{text} {unit if text == '1' else (plural_unit or unit + 's')}"  # as it reads: "1 day", "1.0 … days"


def lag(x: float | None, unit: str = "hour", *, reason: str = "cannot detect this drift", digits: int = 3) -> str:
    """A detection lag or delay; one that never ends reads ``never (cannot detect this drift)``."""
    if x is not None and math.isinf(x):
        return f"{NEVER} ({reason})" if reason else NEVER
    return quantity(x, unit, digits)


def usd(x: float | None, *, compact: bool = False) -> str:
    """Money: ``$12,345``, ``$1.23M``, ``-$4,000``; ``compact`` shortens thousands too (``$268k``) for a tile."""
    if _missing(x):
        return MISSING
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    sign = "-" if x < 0 else ""
    x = abs(x)
    if x >= LARGEST:
        return f"≈ {sign}${power_of_ten(x)[2:]}"
    if x >= 1e12:
        return f"{sign}${x / 1e12:,.2f}T"
    if x >= 1e9:
        return f"{sign}${x / 1e9:,.2f}B"
    if x >= 1e6:
        return f"{sign}${x / 1e6:,.2f}M"
    if compact and x >= 1e4:
        return f"{sign}${x / 1e3:,.0f}k"
    return f"{sign}${x:,.0f}"


def share(x: float | None, decimals: int = 1) -> str:
    """A share as a percentage: ``12.5%``."""
    if _missing(x):
        return MISSING
    return f"{x:.{decimals}%}"


def days(x: float | None, digits: int = 3) -> str:
    return quantity(x, "day", digits)


def value(x: float | None, kind: str, *, compact: bool = False) -> str:
    """A metric's value by its kind (see :mod:`mlorg.metric_table`): days, usd, share, hours or count."""
    if kind == "days":
        return days(x)
    if kind == "hours":
        return quantity(x, "hour")
    if kind == "usd":
        return usd(x, compact=compact)
    if kind == "share":
        return share(x)
    if kind == "rate":
        return small(x)
    return number(x)


def signed(x: float | None, kind: str) -> str:
    """A difference, with its sign: ``+$1.20M``, ``-3.5 days``, ``+0``."""
    text = value(x, kind)
    if _missing(x) or text.startswith(("-", MISSING)):
        return text
    return "+" + text
