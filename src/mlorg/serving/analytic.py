"""Closed-form results for the queues the simulator builds: M/M/1 and M/M/c (Erlang C).

Rates are per unit time (any unit, used consistently); ``servers`` is the number of parallel servers.
"""

from __future__ import annotations

import math


def _check(arrival_rate: float, service_rate: float, servers: int) -> float:
    if arrival_rate <= 0 or service_rate <= 0:
        raise ValueError("arrival_rate and service_rate must be > 0")
    if not isinstance(servers, int) or servers < 1:
        raise ValueError(f"servers must be an integer >= 1, got {servers!r}")
    utilisation = arrival_rate / (servers * service_rate)
    if utilisation >= 1:
        raise ValueError(f"unstable queue: utilisation {utilisation:.3f} >= 1 has no steady state")
    return utilisation


def erlang_c(arrival_rate: float, service_rate: float, servers: int) -> float:
    """Probability that an arrival has to wait in an M/M/c queue (Erlang's C formula)."""
    _check(arrival_rate, service_rate, servers)
    load = arrival_rate / service_rate  # offered load in Erlangs
    blocking = 1.0  # Erlang B by its stable recursion B(k) = a·B(k-1) / (k + a·B(k-1))
    for k in range(1, servers + 1):
        blocking = load * blocking / (k + load * blocking)
    return servers * blocking / (servers - load * (1.0 - blocking))


def mmc_mean_wait(arrival_rate: float, service_rate: float, servers: int) -> float:
    """Mean time in queue before service starts, M/M/c."""
    return erlang_c(arrival_rate, service_rate, servers) / (servers * service_rate - arrival_rate)


def mmc_mean_sojourn(arrival_rate: float, service_rate: float, servers: int) -> float:
    """Mean time in system (wait + service), M/M/c; for c = 1 this is 1 / (μ − λ)."""
    return mmc_mean_wait(arrival_rate, service_rate, servers) + 1.0 / service_rate


def mmc_wait_tail(arrival_rate: float, service_rate: float, servers: int, t: float) -> float:
    """P(wait > t) in an M/M/c queue: C · exp(−(cμ − λ) t)."""
    return erlang_c(arrival_rate, service_rate, servers) * math.exp(-(servers * service_rate - arrival_rate) * t)
