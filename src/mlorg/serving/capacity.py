"""Capacity planning: the cheapest instance type and replica count that meet a p99 latency SLO.

A replica serves ``concurrency`` requests at once (by default one per vCPU), so c replicas form an M/G/(c·k)
queue. For exponential service times the p99 comes from the M/M/c formulas; for any other distribution it
is measured with the per-request kernel on seeded draws, since no closed form exists for M/G/c.
"""

from __future__ import annotations

import csv
import functools
import math
from dataclasses import dataclass
from pathlib import Path

from mlorg.scenario import Distribution
from mlorg.serving.analytic import mmc_response_percentile, service_quantile

INSTANCES_CSV = Path(__file__).resolve().parents[3] / "data" / "instances.csv"
HOURS_PER_MONTH = 730.0  # 8760 / 12
MAX_REPLICAS = 10_000


@dataclass(frozen=True)
class InstanceType:
    name: str
    vcpu: int
    memory_gib: float
    accelerator: str
    usd_per_hour: float
    source: str


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
            instance = InstanceType(row["instance"], int(row["vcpu"]), float(row["memory_gib"]),
                                    row["accelerator"], float(row["usd_per_hour"]), row["source"])
        except (KeyError, ValueError) as exc:
            raise ValueError(f"{path}:{line}: bad instance row ({exc})") from None
        if instance.vcpu < 1 or instance.usd_per_hour <= 0 or not instance.source:
            raise ValueError(f"{path}:{line}: {instance.name} needs vcpu >= 1, a price > 0 and a source")
        instances.append(instance)
    return tuple(instances)


@dataclass(frozen=True)
class Option:
    """One configuration: an instance type × replica count, with its latency and cost."""

    instance: str
    replicas: int
    servers: int
    utilisation: float
    p99_ms: float
    usd_per_hour: float

    @property
    def usd_per_month(self) -> float:
        return self.usd_per_hour * HOURS_PER_MONTH


def p99_ms(arrival_rps: float, service_ms: Distribution, servers: int, *, requests: int = 200_000,
           seed: int = 0) -> float:
    """The p99 response time of ``servers`` parallel servers at ``arrival_rps`` (inf when unstable)."""
    service_rate = 1000.0 / service_ms.mean  # per second
    if arrival_rps >= servers * service_rate:
        return math.inf
    if service_ms.dist == "exponential":
        return 1000.0 * mmc_response_percentile(arrival_rps, service_rate, servers, 0.99)
    from mlorg.serving.kernel import simulate_queue  # the kernel only when no formula applies

    return simulate_queue(arrival_rps, service_ms, servers, requests, seed).summary()["p99_ms"]


def service_percentile(service_ms: Distribution, q: float) -> float:
    """The q-quantile of the service time itself: the p99 a fleet with no queueing would show."""
    return service_quantile(service_ms, q)


def min_replicas(arrival_rps: float, service_ms: Distribution, concurrency: int, slo_p99_ms: float) -> int | None:
    """Fewest replicas whose p99 meets the SLO, or None if even an idle fleet cannot (service alone too slow)."""
    stable = math.floor(arrival_rps * service_ms.mean / 1000.0 / concurrency) + 1
    if service_percentile(service_ms, 0.99) > slo_p99_ms:
        return None  # even with no queueing, one request in a hundred takes longer than the SLO
    low, high = stable, stable
    while p99_ms(arrival_rps, service_ms, high * concurrency) > slo_p99_ms:
        low, high = high, high * 2
        if high > MAX_REPLICAS:
            return None
    while low < high:  # p99 falls as replicas are added, so bisect for the first that meets the SLO
        middle = (low + high) // 2
        if p99_ms(arrival_rps, service_ms, middle * concurrency) <= slo_p99_ms:
            high = middle
        else:
            low = middle + 1
    return high


def option(instance: InstanceType, replicas: int, arrival_rps: float, service_ms: Distribution,
           concurrency: int) -> Option:
    servers = replicas * concurrency
    return Option(instance.name, replicas, servers, arrival_rps * service_ms.mean / 1000.0 / servers,
                  p99_ms(arrival_rps, service_ms, servers), replicas * instance.usd_per_hour)


def cheapest(peak_rps: float, service_ms: Distribution, slo_p99_ms: float,
             instances: list[InstanceType] | None = None, concurrency: int | None = None) -> Option | None:
    """The cheapest instance type and replica count meeting the SLO at peak load (None if nothing can)."""
    _check(peak_rps, service_ms, slo_p99_ms)
    best = None
    for instance in instances or load_instances():
        per_replica = concurrency or instance.vcpu
        replicas = min_replicas(peak_rps, service_ms, per_replica, slo_p99_ms)
        if replicas is None:
            continue
        candidate = option(instance, replicas, peak_rps, service_ms, per_replica)
        if best is None or (candidate.usd_per_hour, candidate.replicas) < (best.usd_per_hour, best.replicas):
            best = candidate
    return best


def tradeoff(peak_rps: float, service_ms: Distribution, instance: InstanceType, *,
             concurrency: int | None = None, extra: int = 6) -> list[Option]:
    """Cost and p99 of one instance type from the fewest replicas that keep up with the load to ``extra`` more."""
    per_replica = concurrency or instance.vcpu
    first = math.floor(peak_rps * service_ms.mean / 1000.0 / per_replica) + 1
    return [option(instance, r, peak_rps, service_ms, per_replica) for r in range(first, first + extra + 1)]


def _check(peak_rps: float, service_ms: Distribution, slo_p99_ms: float) -> None:
    if not peak_rps > 0:
        raise ValueError(f"peak_rps: {peak_rps!r} is not allowed; must be > 0")
    if not service_ms.mean > 0:
        raise ValueError(f"service_ms: {service_ms.mean!r} is not allowed; must be > 0")
    if not slo_p99_ms > 0:
        raise ValueError(f"slo_p99_ms: {slo_p99_ms!r} is not allowed; must be > 0")
