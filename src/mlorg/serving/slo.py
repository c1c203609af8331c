"""A real-time model's serving policy and its p99 SLO: the largest load each fleet size serves within it.

:class:`RealtimePolicy` is how one model is served (replica size and price, the SLO, the autoscaler's rules);
:class:`SloTable` the largest arrival rate at which ``replicas × concurrency`` servers keep the p99 response time
within the SLO, solved once per server count from the closed forms of :mod:`mlorg.serving.analytic`.
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


def _positive(name: str, value: float) -> None:
    if not (isinstance(value, int | float | np.floating) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name}: {value!r} is not allowed; must be finite and > 0")


def _integer(name: str, value: int, lowest: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < lowest:
        raise ValueError(f"{name}: {value!r} is not allowed; must be an integer >= {lowest}")
