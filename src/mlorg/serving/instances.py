"""The price lists in ``data/``: instance types with their on-demand prices (what scenarios name, and what serving,
training and feature computation cost), and the other prices an infrastructure bill needs (storage). Every shipped
row cites its source and the date it was recorded."""

from __future__ import annotations

import csv
import functools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parents[3] / "data"
INSTANCES_CSV = DATA / "instances.csv"
PRICES_CSV = DATA / "prices.csv"


@dataclass(frozen=True)
class InstanceType:
    name: str
    vcpu: int
    memory_gib: float
    accelerator: str
    usd_per_hour: float
    source: str
    as_of: str = ""  # when the price was recorded (the shipped list dates every row; a user's own list may not)


def load_instances(path: str | Path | None = None) -> list[InstanceType]:
    """Instance types and on-demand prices from ``data/instances.csv`` (each row cites its source)."""
    return list(_read_instances(Path(path) if path is not None else INSTANCES_CSV))


@functools.cache  # read once per process: every validation and every replication that serves asks for it
def _read_instances(path: Path) -> tuple[InstanceType, ...]:
    instances = []
    for line, row in _rows(path):
        try:
            instance = InstanceType(row["instance"], int(row["vcpu"]), float(row["memory_gib"]), row["accelerator"],
                                    float(row["usd_per_hour"]), row["source"], row.get("as_of") or "")
        except (KeyError, ValueError) as exc:
            raise ValueError(f"{path}:{line}: bad instance row ({exc})") from None
        if instance.vcpu < 1 or instance.usd_per_hour <= 0 or not instance.source:
            raise ValueError(f"{path}:{line}: {instance.name} needs vcpu >= 1, a price > 0 and a source")
        instances.append(instance)
    return tuple(instances)


@dataclass(frozen=True)
class Price:
    item: str
    unit: str
    usd: float
    source: str
    as_of: str


@functools.cache
def load_prices(path: Path = PRICES_CSV) -> dict[str, Price]:
    """The prices besides instance types (``data/prices.csv``), each with its unit, source and date."""
    prices = {}
    for line, row in _rows(path):
        try:
            price = Price(row["item"], row["unit"], float(row["usd"]), row["source"], row["as_of"])
        except (KeyError, ValueError) as exc:
            raise ValueError(f"{path}:{line}: bad price row ({exc})") from None
        if not (math.isfinite(price.usd) and price.usd >= 0) or not price.source or not price.as_of:
            raise ValueError(f"{path}:{line}: {price.item} needs a price >= 0, a source and a date")
        prices[price.item] = price
    return prices


def _rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """A CSV file's rows with their line numbers (the header is line 1), for errors that name the line."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    yield from enumerate(rows, start=2)
