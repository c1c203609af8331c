"""Instance types and their on-demand prices: the catalogue that scenarios name and serving costs read."""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from pathlib import Path

INSTANCES_CSV = Path(__file__).resolve().parents[3] / "data" / "instances.csv"


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
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    instances = []
    for line, row in enumerate(rows, start=2):
        try:
            instance = InstanceType(row["instance"], int(row["vcpu"]), float(row["memory_gib"]), row["accelerator"],
                                    float(row["usd_per_hour"]), row["source"], row.get("as_of") or "")
        except (KeyError, ValueError) as exc:
            raise ValueError(f"{path}:{line}: bad instance row ({exc})") from None
        if instance.vcpu < 1 or instance.usd_per_hour <= 0 or not instance.source:
            raise ValueError(f"{path}:{line}: {instance.name} needs vcpu >= 1, a price > 0 and a source")
        instances.append(instance)
    return tuple(instances)
