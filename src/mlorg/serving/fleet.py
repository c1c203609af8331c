"""Serving totals of real-time models over the hours they are live, hour by hour but vectorised.

One model's load in hour h is ``base_rps × profile[h]``, where ``profile`` is one org-wide array over all
simulated hours (daily and weekly shape × traffic growth × spikes) that the caller builds once. Each hour an
autoscaler sets the replica count for the load it saw ``reaction_delay_hours`` earlier, and the hour meets
the p99 SLO if its load is at most the largest rate at which ``replicas × concurrency`` M/M/c servers keep
the p99 response time within the SLO (:class:`SloTable`).

Most models never leave their minimum replica count and meet the SLO at their peak, so
:func:`realtime_totals` first checks the window's peak (in two lookups, with the caller's
:class:`~mlorg.serving.profile_index.ProfileIndex`) and only works through the hours of the models that scale or
may miss the SLO. Of those, a model whose fleets keep their SLO limits well above the load they were scaled for can
miss it only where the load rises faster than that headroom: its replica counts are summed in place and only those
hours checked (:func:`_scaled_by_rises`). Every path gives the same totals as an hour-by-hour loop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mlorg.scenario import DISTRIBUTIONS, Distribution
from mlorg.serving.analytic import (
    QUANTILE_GRID,
    mgc_response_tail,
    mgc_response_tail_array,
    mmc_response_tail,
    mmc_response_tail_array,
    service_quantile,
)
from mlorg.serving.profile_index import ProfileIndex, WindowPasses

SLO_TAIL = 0.01  # the p99: at most 1% of requests may take longer than the SLO


@dataclass(frozen=True)
class RealtimePolicy:
    """How one real-time model is served: replica size and price, the SLO, and the autoscaler's rules."""

    service_ms: float  # mean service time of one request
    concurrency: int  # requests one replica serves at once
    usd_per_hour: float  # price of one replica
    slo_p99_ms: float
    fixed_replicas: int = 0  # > 0: always this many replicas; 0: autoscale
    min_replicas: int = 1
    max_replicas: int = 100
    target_utilisation: float = 0.6  # the autoscaler's target busy share of the servers, in (0, 1]
    reaction_delay_hours: int = 0  # the autoscaler acts on the load it saw this many hours earlier
    service_dist: str = "exponential"  # shape of the service time: exponential, deterministic, lognormal, gamma
    service_cv: float = 1.0  # its coefficient of variation (lognormal, gamma)
    # Time every request spends outside the queue (the network, the client, opening a connection): it occupies no
    # server, so it adds to every response without slowing the others. Measured by `mlorg calibrate --serving`.
    overhead_ms: float = 0.0

    def __post_init__(self) -> None:
        _positive("service_ms", self.service_ms)
        _positive("slo_p99_ms", self.slo_p99_ms)
        if not (math.isfinite(self.usd_per_hour) and self.usd_per_hour >= 0):
            raise ValueError(f"usd_per_hour: {self.usd_per_hour!r} is not allowed; must be >= 0")
        _integer("concurrency", self.concurrency, 1)
        _integer("fixed_replicas", self.fixed_replicas, 0)
        _integer("min_replicas", self.min_replicas, 0)
        _integer("max_replicas", self.max_replicas, 1)
        _integer("reaction_delay_hours", self.reaction_delay_hours, 0)
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"min_replicas: {self.min_replicas!r} is not allowed; must be <= max_replicas "
                             f"({self.max_replicas!r})")
        if self.service_dist not in DISTRIBUTIONS:
            raise ValueError(f"service_dist: {self.service_dist!r} is not allowed; must be one of "
                             f"{', '.join(DISTRIBUTIONS)}")
        if self.service_dist in ("lognormal", "gamma") and not self.service_cv > 0:
            raise ValueError(f"service_cv: {self.service_cv!r} is not allowed; must be > 0 for {self.service_dist}")
        if not (math.isfinite(self.overhead_ms) and self.overhead_ms >= 0):
            raise ValueError(f"overhead_ms: {self.overhead_ms!r} is not allowed; must be >= 0")
        if not 0 < self.target_utilisation <= 1:
            raise ValueError(f"target_utilisation: {self.target_utilisation!r} is not allowed; must be in (0, 1]")

    @property
    def service_seconds(self) -> Distribution:
        return Distribution(dist=self.service_dist, mean=self.service_ms / 1000.0, cv=self.service_cv)

    @property
    def floor_replicas(self) -> int:
        """The fewest replicas the autoscaler runs: min_replicas, but at least one."""
        return max(self.min_replicas, 1)


class SloTable:
    """The largest arrival rate (requests/s) at which c servers meet the p99 SLO, computed once per c.

    Exact M/M/c formulas for exponential service; for other service-time distributions the M/G/c
    approximation of :func:`analytic.mgc_response_tail`. Only the policy's service time and SLO matter, so
    policies that differ in price or replica limits can share one table. The counts asked for together (a range of
    ``limits``) are solved together in numpy (:meth:`_solve_many`): one at a time, a large scenario's table took
    a third of its first run.
    """

    def __init__(self, policy: RealtimePolicy) -> None:
        self.service_ms = float(policy.service_ms)
        self.slo_p99_ms = float(policy.slo_p99_ms)
        self.overhead_ms = float(policy.overhead_ms)
        self.service = policy.service_seconds
        self._grid = service_quantile(self.service, (np.arange(QUANTILE_GRID) + 0.5) / QUANTILE_GRID)
        self._cache: dict[int, float] = {}
        self._by_replicas: dict[int, np.ndarray] = {}
        self._slack: dict[tuple[int, float], np.ndarray] = {}

    def __repr__(self) -> str:
        return (f"SloTable(service_ms={self.service_ms}, slo_p99_ms={self.slo_p99_ms}, overhead_ms={self.overhead_ms}, "
                f"cached={len(self._cache)})")

    def max_rps(self, servers: int) -> float:
        """The largest λ with P(response > SLO) ≤ 1%; 0.0 if even an idle system misses the SLO."""
        servers = int(servers)
        if servers < 1:
            raise ValueError(f"servers: {servers!r} is not allowed; must be >= 1")
        value = self._cache.get(servers)
        if value is None:
            value = float(self._solved(np.array([servers]))[0])
        return value

    def limits(self, lowest: int, highest: int, concurrency: int) -> np.ndarray:
        """``max_rps(r × concurrency)`` for r = lowest … highest replicas, as an array (a read-only view of one kept
        per concurrency, grown as larger fleets are asked for: a run asks for these ranges thousands of times)."""
        by_replicas = self._by_replicas.get(concurrency)
        if by_replicas is None or len(by_replicas) <= highest:
            size = max(highest + 1, 2 * len(by_replicas) if by_replicas is not None else 0)
            by_replicas = np.concatenate([[0.0], self._solved(np.arange(1, size) * concurrency)])
            by_replicas.flags.writeable = False
            self._by_replicas[concurrency] = by_replicas
        return by_replicas[lowest:highest + 1]

    def slack(self, lowest: int, highest: int, concurrency: int, load_per_replica: float) -> float:
        """The least, over lowest … highest replicas r, of ``max_rps(r × concurrency)`` / (r × load_per_replica):
        how far above the load r replicas run at the target utilisation their SLO limit lies."""
        key = (concurrency, load_per_replica)
        ratios = self._slack.get(key)
        if ratios is None or len(ratios) <= highest:
            size = max(highest + 1, 2 * len(ratios) if ratios is not None else 0)
            counts = np.arange(1, size)
            ratios = np.concatenate([[np.inf], self.limits(1, size - 1, concurrency) / (counts * load_per_replica)])
            self._slack[key] = ratios
        return float(ratios[lowest:highest + 1].min())

    def max_rps_array(self, servers: np.ndarray) -> np.ndarray:
        """``max_rps`` elementwise, solving only for the distinct server counts."""
        distinct, inverse = np.unique(np.asarray(servers, dtype=np.int64), return_inverse=True)
        if len(distinct) and distinct[0] < 1:
            raise ValueError(f"servers: {int(distinct[0])!r} is not allowed; must be >= 1")
        return self._solved(distinct)[inverse].reshape(np.shape(servers))

    def _solved(self, servers: np.ndarray) -> np.ndarray:
        """``max_rps`` of each of ``servers`` (whole numbers >= 1): the cached ones read, the others solved together
        (:meth:`_solve_many`) and cached."""
        cache = self._cache
        values = np.array([cache.get(c, math.nan) for c in servers.tolist()])
        missing = np.flatnonzero(np.isnan(values))
        if len(missing):
            counts = np.unique(servers[missing])
            solved = self._solve_many(counts)
            cache.update(zip(counts.tolist(), solved.tolist(), strict=True))
            values[missing] = solved[np.searchsorted(counts, servers[missing])]
        return values

    def _solve_many(self, servers: np.ndarray) -> np.ndarray:
        """:meth:`_solve` for an array of distinct server counts at once, with the tail evaluated for all of them in
        numpy: each element takes the same bisection steps as the scalar (bracket, midpoint, stopping rules) and
        drops out where the scalar would stop. Erlang C comes from a closed form, so a limit may differ from
        ``_solve``'s in its last bits (the tests bound it at 1e-12 relative)."""
        mu = 1000.0 / self.service_ms  # per second
        t = (self.slo_p99_ms - self.overhead_ms) / 1000.0
        low = np.zeros(len(servers))
        if t <= 0 or service_quantile(self.service, 1.0 - SLO_TAIL) > t:
            return low
        high = servers * mu
        active = np.arange(len(servers))  # the elements still bisecting
        for _ in range(200):
            middle = 0.5 * (low[active] + high[active])
            keep = (low[active] < middle) & (middle < high[active])
            active, middle = active[keep], middle[keep]
            if not len(active):
                break
            meets = self._tail_array(middle, mu, servers[active], t) <= SLO_TAIL
            low[active[meets]] = middle[meets]
            high[active[~meets]] = middle[~meets]
            active = active[high[active] - low[active] > 1e-13 * high[active]]
        return low

    def _tail_array(self, arrival_rate: np.ndarray, mu: float, servers: np.ndarray, t: float) -> np.ndarray:
        if self.service.dist == "exponential":
            return mmc_response_tail_array(arrival_rate, mu, servers, t)
        return mgc_response_tail_array(arrival_rate, self.service, servers, t, self._grid)

    def _solve(self, servers: int) -> float:
        """The scalar bisection, kept as the definition :meth:`_solve_many` follows (the tests compare them)."""
        mu = 1000.0 / self.service_ms  # per second
        t = (self.slo_p99_ms - self.overhead_ms) / 1000.0  # what the queue and the service may take
        if t <= 0 or service_quantile(self.service, 1.0 - SLO_TAIL) > t:  # idle: the service and the overhead alone
            return 0.0
        low, high = 0.0, servers * mu  # the tail meets the target at low and (in the limit) fails at high
        for _ in range(200):  # the tail grows with λ, so bisect; stop at ~1e-13 relative precision
            middle = 0.5 * (low + high)
            if not low < middle < high:
                break
            if self._tail(middle, mu, servers, t) <= SLO_TAIL:
                low = middle
            else:
                high = middle
            if high - low <= 1e-13 * high:
                break
        return low

    def _tail(self, arrival_rate: float, mu: float, servers: int, t: float) -> float:
        if self.service.dist == "exponential":
            return mmc_response_tail(arrival_rate, mu, servers, t)
        return mgc_response_tail(arrival_rate, self.service, servers, t, self._grid)


@dataclass(frozen=True)
class ServingTotals:
    cost_usd: float = 0.0
    replica_hours: float = 0.0
    predictions: float = 0.0
    hours: float = 0.0
    hours_meeting_slo: float = 0.0
    # What the fleet would cost with no load at all: the autoscaler's availability floor (min replicas), or the
    # whole of a fixed fleet. The rest of the cost follows the load.
    floor_cost_usd: float = 0.0

    def __add__(self, other: ServingTotals) -> ServingTotals:
        if not isinstance(other, ServingTotals):
            return NotImplemented
        return ServingTotals(self.cost_usd + other.cost_usd, self.replica_hours + other.replica_hours,
                             self.predictions + other.predictions, self.hours + other.hours,
                             self.hours_meeting_slo + other.hours_meeting_slo,
                             self.floor_cost_usd + other.floor_cost_usd)


def realtime_totals(base_rps: float, start: int, end: int, profile: np.ndarray, profile_prefix: np.ndarray,
                    policy: RealtimePolicy, table: SloTable, index: ProfileIndex | None = None) -> ServingTotals:
    """Cost, replica-hours, predictions and SLO hours of one model live over the whole hours [start, end).

    ``profile_prefix`` is ``np.concatenate([[0.0], np.cumsum(profile)])``, and ``index`` (optional) is
    ``ProfileIndex(profile)``, both built once by the caller. When the replica count cannot change within the
    window (fixed, or the peak needs no more than the minimum) the totals come from the peak alone; otherwise from
    per-hour arrays (:func:`_per_hour_totals`). A caller with many models on the same profile and policy keeps a
    :class:`RealtimeFleet` instead.
    """
    return RealtimeFleet(profile, profile_prefix, policy, table, index).totals(base_rps, start, end)


class RealtimeFleet:
    """:func:`realtime_totals` for the models of one policy on one profile: the profile, its prefix sums and index,
    the policy and its SLO table are checked once here (a large run settles thousands of models against the same
    ones, and checking them at each took a fifth of the settling), and :meth:`totals` checks only the model's."""

    def __init__(self, profile: np.ndarray, profile_prefix: np.ndarray, policy: RealtimePolicy, table: SloTable,
                 index: ProfileIndex | None = None):
        _check_call(0.0, 0, 0, profile, profile_prefix, policy, table)
        if index is None:
            index = WindowPasses(profile)
        elif len(index) != len(profile):
            raise ValueError(f"index: built for a profile of {len(index)} hours, but the profile has {len(profile)}")
        self.profile, self.profile_prefix, self.policy, self.table, self.index = (
            profile, profile_prefix, policy, table, index)

    def totals(self, base_rps: float, start: int, end: int) -> ServingTotals:
        """The totals of one model of ``base_rps`` live over the whole hours [start, end)."""
        start, end = _check_window(base_rps, start, end, len(self.profile))
        if start == end:
            return ServingTotals()
        profile, profile_prefix, policy, table, index = (
            self.profile, self.profile_prefix, self.policy, self.table, self.index)
        hours = end - start
        predictions = _predictions(base_rps, start, end, profile_prefix)
        peak = base_rps * index.max(start, end)  # == max(base_rps × window): rounding is monotone
        if policy.fixed_replicas > 0:
            replicas = policy.fixed_replicas
        elif (math.ceil(_replicas_needed(peak, policy)) <= policy.floor_replicas
              and _floor_meets_slo(peak, policy, table)):
            replicas = policy.floor_replicas
        else:
            return _hourly(base_rps, start, end, profile, profile_prefix, policy, table, index)
        threshold = table.max_rps(replicas * policy.concurrency)
        if peak <= threshold:
            meeting = hours
        else:
            meeting = int(np.count_nonzero(base_rps * profile[start:end] <= threshold))
        replica_hours = float(replicas * hours)
        return ServingTotals(replica_hours * policy.usd_per_hour, replica_hours, predictions, float(hours),
                             float(meeting), _floor_cost(policy, hours))


def _per_hour_totals(base_rps: float, start: int, end: int, profile: np.ndarray, profile_prefix: np.ndarray,
                     policy: RealtimePolicy, table: SloTable) -> ServingTotals:
    """The same totals as :func:`realtime_totals`, always from per-hour arrays (no peak shortcut)."""
    start, end = _check_call(base_rps, start, end, profile, profile_prefix, policy, table)
    return _hourly(base_rps, start, end, profile, profile_prefix, policy, table, WindowPasses(profile))


def _hourly(base_rps: float, start: int, end: int, profile: np.ndarray, profile_prefix: np.ndarray,
            policy: RealtimePolicy, table: SloTable, index: ProfileIndex | WindowPasses) -> ServingTotals:
    """:func:`_per_hour_totals` on checked arguments. A window can be years of hours and this runs for every
    model that scales, so it makes as few passes over the window's arrays as it can: each costs more than the call."""
    hours = end - start
    if hours == 0:
        return ServingTotals()
    if policy.fixed_replicas > 0:
        load = base_rps * np.asarray(profile[start:end], dtype=float)
        replicas = np.zeros(hours, dtype=np.intp)  # as indices into the limits of the one count
        lowest, replica_hours = policy.fixed_replicas, float(policy.fixed_replicas * hours)
        limits = table.limits(lowest, lowest, policy.concurrency)
    else:
        # The autoscaler sees load[h − delay], and the first hour's load before the model existed: the loads seen
        # are the window's but its last ``delay`` hours (and at least its first).
        seen = start, max(end - policy.reaction_delay_hours, start + 1)
        seen_lowest, seen_highest = base_rps * index.min(*seen), base_rps * index.max(*seen)
        totals = _scaled_by_rises(base_rps, start, end, profile, profile_prefix, policy, table, index, seen_lowest,
                                  seen_highest)
        if totals is not None:
            return totals
        load = base_rps * np.asarray(profile[start:end], dtype=float)
        replicas, replica_hours, lowest, limits = _autoscaled(load, seen_lowest, seen_highest, policy, table)
        replicas -= lowest  # the counts are not needed again: they become indices into the limits, in place
    return ServingTotals(replica_hours * policy.usd_per_hour, replica_hours,
                         _predictions(base_rps, start, end, profile_prefix), float(hours),
                         float(np.count_nonzero(load <= limits.take(replicas))), _floor_cost(policy, hours))


def _scaled_by_rises(base_rps: float, start: int, end: int, profile: np.ndarray, profile_prefix: np.ndarray,
                     policy: RealtimePolicy, table: SloTable, index: ProfileIndex | WindowPasses, seen_lowest: float,
                     top: float) -> ServingTotals | None:
    """:func:`_hourly`'s totals for an autoscaled model (the lowest and highest loads it saw given), with the SLO
    checked only in the hours where the load rises fast; None where that does not hold, and the caller takes the
    hours one by one.

    The autoscaler gives hour h at least r = ⌈load_seen × per_request / per_replica⌉ replicas, so the load it saw is
    at most r's load at the target utilisation, B(r) = r × per_replica / per_request. When every count's SLO limit is
    at least ``slack`` × B(r), an hour can miss the SLO only if its load exceeds the load seen (``delay`` hours
    earlier) by more than ``slack``: the profile's rises by more than that (spikes, usually) are few and known, and
    only those hours are checked, exactly. No per-hour SLO arrays are needed; the replica counts are summed in
    place. (Hours the ceiling caps, or counts raised for the SLO, break the bound: those models take the hours.)"""
    delay = policy.reaction_delay_hours
    floor, ceiling = policy.floor_replicas, max(policy.max_replicas, policy.floor_replicas)
    per_request, per_replica = policy.service_ms / 1000.0, policy.concurrency * policy.target_utilisation
    least, most = math.ceil(seen_lowest * per_request / per_replica), math.ceil(top * per_request / per_replica)
    if most > ceiling:
        return None
    lowest, highest = min(max(least, floor), ceiling), max(most, floor)
    limits = table.limits(lowest, highest, policy.concurrency)
    slack = table.slack(lowest, highest, policy.concurrency, per_replica / per_request)
    if not slack > 1.0 + 1e-9:
        return None
    # The bound's arithmetic (three roundings each way) is covered many times over by a millionth of the slack.
    rises = index.rises_above(delay, slack * (1.0 - 1e-6), start, end)
    if rises is None:
        return None
    hours = end - start
    # Replica counts of the hours, summed: the hours [delay, hours) saw the loads of [0, hours − delay), the first
    # ``delay`` hours the first load. The same operations as the per-hour path, element by element.
    needed = np.multiply(profile[start:max(end - delay, start + 1)], base_rps)
    first = float(needed[0])
    needed *= per_request
    needed /= per_replica
    np.ceil(needed, out=needed)
    if least < floor:
        np.copyto(needed, float(floor), where=needed < floor)
    first_count = max(math.ceil(first * per_request / per_replica), floor)
    if delay < hours:
        replica_hours = float(needed.sum()) + min(delay, hours) * first_count
    else:
        replica_hours = float(hours * first_count)
    # The hours that may miss: the fast rises, and the first ``delay`` hours but the first (they saw the first
    # hour's load, and the first hour's own load is that load).
    misses = 0
    if delay > 1:
        rises = np.concatenate([np.arange(start + 1, min(start + delay, end)), rises])
    if len(rises):
        counts = np.ceil(base_rps * profile[np.maximum(rises - delay, start)] * per_request / per_replica)
        counts = np.maximum(counts, floor).astype(np.intp)
        misses = int(np.count_nonzero(base_rps * profile[rises] > limits.take(counts - lowest)))
    return ServingTotals(replica_hours * policy.usd_per_hour, replica_hours,
                         _predictions(base_rps, start, end, profile_prefix), float(hours),
                         float(hours - misses), _floor_cost(policy, hours))


def _floor_cost(policy: RealtimePolicy, hours: int) -> float:
    floor = policy.fixed_replicas if policy.fixed_replicas > 0 else policy.floor_replicas
    return floor * hours * policy.usd_per_hour


def _floor_meets_slo(load: float, policy: RealtimePolicy, table: SloTable) -> bool:
    """Whether the floor keeps the p99 within the SLO at ``load`` — or nothing can (an idle replica misses it)."""
    limit = table.max_rps(policy.floor_replicas * policy.concurrency)
    return load <= limit or limit == 0.0


def _autoscaled(load: np.ndarray, seen_lowest: float, top: float, policy: RealtimePolicy,
                table: SloTable) -> tuple[np.ndarray, float, int, np.ndarray]:
    """Replicas each hour for the load the autoscaler saw (``load[h − delay]``, and the model's first load before it
    existed; the lowest and highest of those loads given): enough to run it at the target utilisation, and enough to
    keep its p99 within the SLO (more replicas cannot help when an idle one misses it), within the bounds. Returns
    the replicas, their sum (replica-hours), the fewest of them, and the SLO limits of the fewest … the most."""
    hours = len(load)
    delay = min(policy.reaction_delay_hours, hours)
    floor, ceiling = policy.floor_replicas, max(policy.max_replicas, policy.floor_replicas)
    per_request, per_replica = policy.service_ms / 1000.0, policy.concurrency * policy.target_utilisation
    needed = np.empty(hours)  # _replicas_needed of the load seen, in place: the same operations in order
    np.multiply(load[:hours - delay], per_request, out=needed[delay:])
    needed[:delay] = load[0] * per_request
    needed /= per_replica
    np.ceil(needed, out=needed)
    # The fewest and most replicas are the counts for the lowest and highest loads seen: every step here is
    # monotone, so the same operations on those two loads give them without a pass over the hours.
    least, most = math.ceil(seen_lowest * per_request / per_replica), math.ceil(top * per_request / per_replica)
    # np.clip's bounds, each only when it binds, as a masked copy (numpy's maximum and clip take twice as long).
    if least < floor:
        np.copyto(needed, float(floor), where=needed < floor)
    if most > ceiling:
        np.copyto(needed, float(ceiling), where=needed > ceiling)
    # Summed as floats, exactly (whole numbers far below 2^53), and cast to 32 bits: both cheaper than in 64.
    replica_hours = float(needed.sum())
    replicas = needed.astype(np.int32 if ceiling < 2**31 else np.int64)
    lowest, highest = min(max(least, floor), ceiling), min(max(most, floor), ceiling)
    limits = table.limits(lowest, highest, policy.concurrency)
    if limits[-1] == 0.0:
        return replicas, replica_hours, lowest, limits
    # An hour whose count for the target utilisation misses the SLO needs more replicas. A count r below the most
    # serves loads up to r × per_replica / per_request (it is that quotient rounded up), so when each of their limits
    # clears that bound and the most replicas' limit clears the peak, no hour is short — the usual case — and the
    # hours need no pass. The bound is raised by 1e-12 to cover the rounding of the three operations.
    bounds = np.arange(lowest, highest, dtype=float) * (per_replica / per_request * (1.0 + 1e-12))
    if limits[-1] >= top and bool(np.all(limits[:-1] >= bounds)):
        return replicas, replica_hours, lowest, limits
    while limits[-1] < top and highest < ceiling:  # widen the range until its largest fleet meets the peak
        highest = min(ceiling, highest + max(1, highest - lowest + 1))
        limits = table.limits(lowest, highest, policy.concurrency)
    seen = np.empty(hours)
    seen[:delay] = load[0]
    seen[delay:] = load[:hours - delay]
    # The fewest replicas whose limit covers each hour's load (limits grow with replicas), or the ceiling.
    short = seen > limits.take(replicas - lowest)
    if short.any():
        replicas[short] = lowest + np.minimum(np.searchsorted(limits, seen[short], side="left"), len(limits) - 1)
        replica_hours = float(replicas.sum())
    return replicas, replica_hours, lowest, limits


def _replicas_needed(load, policy: RealtimePolicy):
    """Replicas (before rounding up) that run ``load`` at the target utilisation; works on arrays too."""
    return load * (policy.service_ms / 1000.0) / (policy.concurrency * policy.target_utilisation)


def _predictions(base_rps: float, start: int, end: int, profile_prefix: np.ndarray) -> float:
    return base_rps * 3600.0 * float(profile_prefix[end] - profile_prefix[start])


def _check_call(base_rps, start, end, profile, profile_prefix, policy, table) -> tuple[int, int]:
    if np.ndim(profile) != 1:
        raise ValueError("profile: must be a one-dimensional array of hourly load multipliers")
    start, end = _check_window(base_rps, start, end, len(profile))
    if np.ndim(profile_prefix) != 1 or len(profile_prefix) != len(profile) + 1:
        raise ValueError("profile_prefix: must be np.concatenate([[0.0], np.cumsum(profile)]), one longer "
                         "than profile")
    if (table.service != policy.service_seconds or table.slo_p99_ms != policy.slo_p99_ms
            or table.overhead_ms != policy.overhead_ms):
        raise ValueError(f"table: built for service {table.service_ms} ms, SLO {table.slo_p99_ms} ms and overhead "
                         f"{table.overhead_ms} ms, but the policy has {policy.service_ms} ms, {policy.slo_p99_ms} ms "
                         f"and {policy.overhead_ms} ms")
    return start, end


def _check_window(base_rps, start, end, hours: int) -> tuple[int, int]:
    """One model's arguments: its level, and a window of whole hours within the profile's ``hours``."""
    if not (math.isfinite(base_rps) and base_rps >= 0):
        raise ValueError(f"base_rps: {base_rps!r} is not allowed; must be finite and >= 0")
    for name, value in (("start", start), ("end", end)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise ValueError(f"{name}: {value!r} is not allowed; must be an integer hour")
    start, end = int(start), int(end)
    if start < 0:
        raise ValueError(f"start: {start!r} is not allowed; must be >= 0")
    if start > end:
        raise ValueError(f"start: {start!r} is not allowed; must be <= end ({end!r})")
    if end > hours:
        raise ValueError(f"end: {end!r} is not allowed; must be <= len(profile) ({hours})")
    return start, end


def _positive(name: str, value: float) -> None:
    if not (isinstance(value, int | float | np.floating) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name}: {value!r} is not allowed; must be finite and > 0")


def _integer(name: str, value: int, lowest: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < lowest:
        raise ValueError(f"{name}: {value!r} is not allowed; must be an integer >= {lowest}")
