"""Serving totals of real-time models over the hours they are live, hour by hour but vectorised.

One model's load in hour h is ``base_rps × profile[h]``, where ``profile`` is one org-wide array over all
simulated hours (daily and weekly shape × traffic growth × spikes) that the caller builds once. Each hour an
autoscaler sets the replica count for the load it saw ``reaction_delay_hours`` earlier, and the hour meets
the p99 SLO if its load is at most the largest rate at which ``replicas × concurrency`` M/M/c servers keep
the p99 response time within the SLO (:class:`~mlorg.serving.slo.SloTable`).

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

from mlorg.serving.profile_index import ProfileIndex, WindowPasses
from mlorg.serving.slo import RealtimePolicy, SloTable


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
        _check_shared(profile, profile_prefix, policy, table)
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
    _check_shared(profile, profile_prefix, policy, table)
    return _check_window(base_rps, start, end, len(profile))


def _check_shared(profile, profile_prefix, policy, table) -> None:
    """What every model on one profile and policy shares: the profile, its prefix sums, the policy's SLO table."""
    if np.ndim(profile) != 1:
        raise ValueError("profile: must be a one-dimensional array of hourly load multipliers")
    if np.ndim(profile_prefix) != 1 or len(profile_prefix) != len(profile) + 1:
        raise ValueError("profile_prefix: must be np.concatenate([[0.0], np.cumsum(profile)]), one longer "
                         "than profile")
    if (table.service != policy.service_seconds or table.slo_p99_ms != policy.slo_p99_ms
            or table.overhead_ms != policy.overhead_ms):
        raise ValueError(f"table: built for service {table.service_ms} ms, SLO {table.slo_p99_ms} ms and overhead "
                         f"{table.overhead_ms} ms, but the policy has {policy.service_ms} ms, {policy.slo_p99_ms} ms "
                         f"and {policy.overhead_ms} ms")


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
