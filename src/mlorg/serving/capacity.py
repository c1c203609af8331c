"""Capacity planning: the cheapest instance type and replica count that meet a p99 latency SLO.

A replica serves ``concurrency`` requests at once (by default one per vCPU), so c replicas form an M/G/(c·k)
queue. For exponential service times the p99 comes from the M/M/c formulas; for any other distribution it
is measured with the per-request kernel, since no closed form exists for M/G/c.

How a plan is trusted
---------------------
Every measured p99 comes with its standard error (:mod:`mlorg.serving.p99`). A fleet is judged once the SLO lies
at least ``Z`` standard errors from its estimate, or the replications run out, and meets the SLO when its estimate
is at most the SLO.

* **Confirmation.** The chosen fleet is measured again with replications of a different seed (derived from
  the first by ``SeedSequence``), to the 0.3% target; the :class:`Option` records that p99 and its standard
  error. If the fresh measurement says the fleet misses the SLO by more than 3 standard errors, a replica is
  added and measured again.
* **Impossible versus large.** Queueing delay vanishes as replicas are added, so the p99 falls towards the
  service time's own p99 from above: a fleet exists as soon as the SLO is above that exact p99
  (:func:`service_percentile`). Only an SLO below it (or at it: a continuous service time's p99 only
  approaches it) is refused as impossible (``None``). A fleet that would need more than ``MAX_REPLICAS``
  replicas makes :func:`min_replicas` raise
  :class:`ReplicaLimitError`; :func:`cheapest` then leaves that instance type out, and :func:`plan` says
  which of the two it was.

The same seed gives the same answers: nothing here draws from a global random state.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

from mlorg.scenario import Distribution
from mlorg.serving.instances import InstanceType, load_instances
from mlorg.serving.p99 import (
    QUANTILE,
    REL_SE,
    P99Estimate,
    PlanError,
    Z,
    check_service,
    confirm_seed,
    constant_service,
    p99_estimate,
    p99_ms,
    service_percentile,
    service_tail,
)

__all__ = ["HOURS_PER_MONTH", "MAX_REPLICAS", "InstanceType", "Option", "P99Estimate", "Plan", "PlanError",
           "ReplicaLimitError", "cheapest", "confirm_seed", "load_instances", "min_replicas", "option", "p99_estimate",
           "p99_ms", "plan", "service_percentile", "service_tail", "tradeoff"]

HOURS_PER_MONTH = 730.0  # 8760 / 12
MAX_REPLICAS = 10_000


class ReplicaLimitError(PlanError):
    """The SLO can be met, but only by more than ``MAX_REPLICAS`` replicas."""


@dataclass(frozen=True)
class Option:
    """One configuration: an instance type × replica count, with its latency and cost.

    ``p99_ms`` is the p99 the planner judged the fleet by and ``p99_se_ms`` its standard error (0 for the
    exact M/M/c formula); ``p99_confirmed_ms`` and ``p99_confirmed_se_ms`` are a fresh measurement with
    replications of a different seed (NaN where nothing was confirmed, as in :func:`tradeoff`).
    """

    instance: str
    replicas: int
    servers: int
    utilisation: float
    p99_ms: float
    usd_per_hour: float
    p99_se_ms: float = 0.0
    p99_confirmed_ms: float = math.nan
    p99_confirmed_se_ms: float = math.nan

    @property
    def usd_per_month(self) -> float:
        return self.usd_per_hour * HOURS_PER_MONTH


@dataclass(frozen=True)
class Plan:
    """The answer to "what is the cheapest fleet meeting the SLO?", with why there may be none.

    ``best`` is the cheapest of ``options`` (each instance type's cheapest fleet, confirmed), or None:
    ``impossible`` when the SLO is not above the service time's own p99 ``floor_ms`` (no fleet can meet it),
    otherwise every instance type in ``over_limit`` would need more than ``MAX_REPLICAS`` replicas.
    """

    best: Option | None
    options: tuple[Option, ...]
    floor_ms: float
    impossible: bool
    over_limit: tuple[str, ...] = field(default=())

    @property
    def reason(self) -> str:
        """Why there is no plan ("" when there is one)."""
        if self.best is not None:
            return ""
        if self.impossible:
            return (f"no fleet can meet the SLO: the service time alone has a p99 of {self.floor_ms:.4g} ms; "
                    f"the SLO must be above it")
        return (f"the SLO needs more than {MAX_REPLICAS:,} replicas of every instance type "
                f"({', '.join(self.over_limit)}); allow a higher p99 or plan for less traffic")


# ---------------------------------------------------------------------------------------- the service time


# --------------------------------------------------------------------------------------- measuring the p99


# ------------------------------------------------------------------------------------------------ planning


def _floor_unreachable(service_ms: Distribution, slo_p99_ms: float) -> bool:
    """True when no fleet can meet the SLO: it is below the service time's own p99 (or equal to it, for a
    continuous service time, whose p99 only approaches that floor as replicas are added)."""
    floor = service_percentile(service_ms, QUANTILE)
    return slo_p99_ms < floor or (not constant_service(service_ms) and slo_p99_ms <= floor)


def _first_stable(arrival_rps: float, service_ms: Distribution, concurrency: int) -> int:
    return math.floor(arrival_rps * service_ms.mean / 1000.0 / concurrency) + 1


def _search(arrival_rps: float, service_ms: Distribution, concurrency: int, slo_p99_ms: float,
            seed: int) -> tuple[int, P99Estimate] | None:
    """Fewest replicas meeting the SLO and the estimate that decided it; None if no fleet can meet it."""
    return _search_within(arrival_rps, service_ms, concurrency, slo_p99_ms, seed, MAX_REPLICAS)


# The answers are pure functions of their arguments (fixed seeds, no global state), so remembering them
# changes no result; it spares the instance types that share a vCPU count, which get the very same search.
@functools.lru_cache(maxsize=256)
def _search_within(arrival_rps: float, service_ms: Distribution, concurrency: int, slo_p99_ms: float, seed: int,
                   limit: int) -> tuple[int, P99Estimate] | None:
    if _floor_unreachable(service_ms, slo_p99_ms):
        return None
    stable = _first_stable(arrival_rps, service_ms, concurrency)
    if stable > limit:
        raise ReplicaLimitError(f"peak load: {arrival_rps:g} requests/s needs {stable:,} replicas of {concurrency} "
                                f"to keep up, more than the {limit:,} allowed")
    judged: dict[int, P99Estimate] = {}

    def meets(replicas: int) -> bool:
        judged[replicas] = p99_estimate(arrival_rps, service_ms, replicas * concurrency, seed=seed,
                                        slo_p99_ms=slo_p99_ms, rel_se=None)
        return judged[replicas].meets(slo_p99_ms)

    low, high = stable, stable
    while not meets(high):  # p99 falls as replicas are added: double until one meets, then bisect
        if high >= limit:
            raise ReplicaLimitError(
                f"slo_p99_ms: {slo_p99_ms:g} ms needs more than {limit:,} replicas of {concurrency} at "
                f"{arrival_rps:g} requests/s (the service time alone has a p99 of "
                f"{service_percentile(service_ms, QUANTILE):.4g} ms); allow a higher p99")
        low, high = high + 1, min(2 * high, limit)
    while low < high:
        middle = (low + high) // 2
        if meets(middle):
            high = middle
        else:
            low = middle + 1
    return high, judged[high]


def min_replicas(arrival_rps: float, service_ms: Distribution, concurrency: int, slo_p99_ms: float, *,
                 seed: int = 0) -> int | None:
    """Fewest replicas whose p99 meets the SLO.

    None only if no fleet can: the SLO is below the service time's exact p99, or equal to it for a service
    time with any spread (see the module's docstring).
    Raises :class:`ReplicaLimitError` (a ``ValueError``) if it takes more than ``MAX_REPLICAS`` replicas.
    """
    _check(arrival_rps, service_ms, slo_p99_ms, concurrency)
    found = _search(arrival_rps, service_ms, concurrency, slo_p99_ms, seed)
    return None if found is None else found[0]


def option(instance: InstanceType, replicas: int, arrival_rps: float, service_ms: Distribution,
           concurrency: int, *, seed: int = 0, slo_p99_ms: float | None = None) -> Option:
    """The configuration ``replicas`` × ``instance`` at ``arrival_rps``, its p99 measured with ``seed``.

    Without ``slo_p99_ms`` the p99 is measured to a standard error of ``REL_SE``; with it, as the planner
    judges a fleet (until the SLO is ``Z`` standard errors away), so the same fleet gets the same figure.
    """
    servers = replicas * concurrency
    estimate = p99_estimate(arrival_rps, service_ms, servers, seed=seed, slo_p99_ms=slo_p99_ms,
                            rel_se=REL_SE if slo_p99_ms is None else None)
    return _option(instance, replicas, arrival_rps, service_ms, concurrency, estimate)


def _option(instance: InstanceType, replicas: int, arrival_rps: float, service_ms: Distribution, concurrency: int,
            estimate: P99Estimate, confirmed: P99Estimate | None = None) -> Option:
    servers = replicas * concurrency
    return Option(instance.name, replicas, servers, arrival_rps * service_ms.mean / 1000.0 / servers,
                  estimate.p99_ms, replicas * instance.usd_per_hour, estimate.se_ms,
                  math.nan if confirmed is None else confirmed.p99_ms,
                  math.nan if confirmed is None else confirmed.se_ms)


@functools.lru_cache(maxsize=256)
def _confirm(arrival_rps: float, service_ms: Distribution, concurrency: int, slo_p99_ms: float, seed: int,
             replicas: int, estimate: P99Estimate, limit: int) -> tuple[int, P99Estimate, P99Estimate]:
    """The fleet measured again with a different seed, and a replica more while that says it clearly misses:
    the replicas, the estimate the planner judged them by and the confirming one."""
    again = confirm_seed(seed)
    while True:
        check = p99_estimate(arrival_rps, service_ms, replicas * concurrency, seed=again, slo_p99_ms=slo_p99_ms)
        if check.p99_ms - Z * check.se_ms <= slo_p99_ms or replicas >= limit:
            return replicas, estimate, check
        replicas += 1
        estimate = p99_estimate(arrival_rps, service_ms, replicas * concurrency, seed=seed, slo_p99_ms=slo_p99_ms,
                                rel_se=None)


def plan(peak_rps: float, service_ms: Distribution, slo_p99_ms: float, instances: list[InstanceType] | None = None,
         concurrency: int | None = None, *, seed: int = 0) -> Plan:
    """Each instance type's cheapest fleet meeting the SLO at peak load, confirmed, and the cheapest of all.

    Tells "no fleet can meet this SLO" (``impossible``) apart from "only more than ``MAX_REPLICAS`` replicas
    could" (``over_limit``); :attr:`Plan.reason` says which in words.
    """
    _check(peak_rps, service_ms, slo_p99_ms, concurrency)
    floor = service_percentile(service_ms, QUANTILE)
    if _floor_unreachable(service_ms, slo_p99_ms):
        return Plan(None, (), floor, True)
    found, over = [], []
    for instance in instances or load_instances():
        per_replica = concurrency or instance.vcpu
        try:
            replicas, estimate = _search(peak_rps, service_ms, per_replica, slo_p99_ms, seed)
        except ReplicaLimitError:
            over.append(instance.name)
            continue
        replicas, estimate, check = _confirm(peak_rps, service_ms, per_replica, slo_p99_ms, seed, replicas, estimate,
                                             MAX_REPLICAS)
        found.append(_option(instance, replicas, peak_rps, service_ms, per_replica, estimate, check))
    best = min(found, key=lambda o: (o.usd_per_hour, o.replicas)) if found else None
    return Plan(best, tuple(found), floor, False, tuple(over))


def cheapest(peak_rps: float, service_ms: Distribution, slo_p99_ms: float,
             instances: list[InstanceType] | None = None, concurrency: int | None = None, *,
             seed: int = 0) -> Option | None:
    """The cheapest instance type and replica count meeting the SLO at peak load.

    None if nothing can: either the SLO is below the service time's exact p99, or every instance type would
    need more than ``MAX_REPLICAS`` replicas; :func:`plan` tells the two apart.
    """
    return plan(peak_rps, service_ms, slo_p99_ms, instances, concurrency, seed=seed).best


def tradeoff(peak_rps: float, service_ms: Distribution, instance: InstanceType, *,
             concurrency: int | None = None, extra: int = 6, seed: int = 0,
             slo_p99_ms: float | None = None) -> list[Option]:
    """Cost and p99 of one instance type from the fewest replicas that keep up with the load to ``extra`` more.

    Pass ``slo_p99_ms`` to measure each p99 as the planner judges it, so that the rows agree with
    :func:`cheapest` about which fleets meet the SLO.
    """
    per_replica = concurrency or instance.vcpu
    first = _first_stable(peak_rps, service_ms, per_replica)
    return [option(instance, r, peak_rps, service_ms, per_replica, seed=seed, slo_p99_ms=slo_p99_ms)
            for r in range(first, first + extra + 1)]


def _check(peak_rps: float, service_ms: Distribution, slo_p99_ms: float, concurrency: int | None = None) -> None:
    if not 0 < peak_rps < math.inf:
        raise PlanError(f"peak_rps: {peak_rps!r} is not allowed; must be a finite number > 0")
    check_service(service_ms)
    if not slo_p99_ms > 0:
        raise PlanError(f"slo_p99_ms: {slo_p99_ms!r} is not allowed; must be > 0")
    if concurrency is not None and (isinstance(concurrency, bool) or not isinstance(concurrency, int)
                                    or concurrency < 1):
        raise PlanError(f"concurrency: {concurrency!r} is not allowed; must be an integer >= 1")


