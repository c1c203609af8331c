"""Closed-form results for the queues the simulator builds: M/M/1 and M/M/c (Erlang C).

Rates are per unit time (any unit, used consistently); ``servers`` is the number of parallel servers. The
``*_array`` functions at the end give the same figures elementwise over arrays of loads and server counts.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special, stats

from mlorg.rng import distribution_moments
from mlorg.scenario import Distribution


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


def mmc_response_tail(arrival_rate: float, service_rate: float, servers: int, t: float) -> float:
    """P(response time > t) in an M/M/c queue, response = wait + service.

    The wait is 0 with probability 1 − C and exponential with rate θ = cμ − λ with probability C; the service
    is exponential with rate μ; so the tail mixes an exponential and a hypoexponential (sum of the two).
    """
    p_wait = erlang_c(arrival_rate, service_rate, servers)
    theta, mu = servers * service_rate - arrival_rate, service_rate
    if t <= 0:
        return 1.0
    if math.isclose(theta, mu, rel_tol=1e-9):
        both = (1.0 + mu * t) * math.exp(-mu * t)
    else:
        both = (mu * math.exp(-theta * t) - theta * math.exp(-mu * t)) / (mu - theta)
    return (1.0 - p_wait) * math.exp(-mu * t) + p_wait * both


def mmc_response_percentile(arrival_rate: float, service_rate: float, servers: int, q: float) -> float:
    """The q-quantile (0 < q < 1) of the M/M/c response time, by bisection on its tail."""
    if not 0 < q < 1:
        raise ValueError(f"q must be > 0 and < 1, got {q!r}")
    target = 1.0 - q
    low, high = 0.0, 1.0 / service_rate
    while mmc_response_tail(arrival_rate, service_rate, servers, high) > target:
        high *= 2.0
    for _ in range(200):  # the tail is monotone; 200 halvings reach machine precision
        middle = 0.5 * (low + high)
        if mmc_response_tail(arrival_rate, service_rate, servers, middle) > target:
            low = middle
        else:
            high = middle
        if high - low <= 1e-12 * high:
            break
    return 0.5 * (low + high)


def pk_mean_wait(arrival_rate: float, mean_service: float, service_variance: float) -> float:
    """Mean wait in an M/G/1 queue (Pollaczek–Khinchine): λ·E[S²] / (2(1 − ρ))."""
    if mean_service <= 0 or service_variance < 0:
        raise ValueError("mean_service must be > 0 and service_variance >= 0")
    utilisation = _check(arrival_rate, 1.0 / mean_service, 1)
    second_moment = service_variance + mean_service**2
    return arrival_rate * second_moment / (2.0 * (1.0 - utilisation))


# ------------------------------------------------------------------------------------- M/G/c, approximate

QUANTILE_GRID = 1024  # points of the service-time distribution used to convolve it with the wait


def service_quantile(service: Distribution, q: float | np.ndarray) -> float | np.ndarray:
    """Quantile(s) of a service-time distribution, in its own unit."""
    q = np.asarray(q, dtype=float)
    d = service
    if d.dist == "deterministic" or d.mean == 0:
        out = np.full(q.shape, float(d.mean))
    elif d.dist == "exponential":
        out = -d.mean * np.log1p(-q)
    elif d.dist == "lognormal":
        sigma = math.sqrt(math.log1p(d.cv**2))
        out = np.exp(math.log(d.mean) - sigma**2 / 2 + sigma * stats.norm.ppf(q))
    else:  # gamma
        shape = 1.0 / d.cv**2
        out = stats.gamma.ppf(q, shape, scale=d.mean / shape)
    return float(out) if out.ndim == 0 else out


def service_cv(service: Distribution) -> float:
    return {"exponential": 1.0, "deterministic": 0.0}.get(service.dist, service.cv)


def mgc_response_tail(arrival_rate: float, service: Distribution, servers: int, t: float,
                      grid: np.ndarray | None = None) -> float:
    """Approximate P(response > t) for an M/G/c queue.

    The wait keeps the M/M/c probability of waiting C, and its exponential tail is stretched by the
    Allen–Cunneen / Kingman factor (1 + cv²) / 2; the response is that wait plus a service drawn from the
    real distribution (convolved on a grid of its quantiles). Exact for exponential service; against the
    per-request kernel it is within ≈ 5% at the p99 for 4 or more servers with cv ≤ 1.5, and within ≈ 15%
    (an underestimate for heavy tails) for one server (tests/test_theory_serving_approx.py measures it).
    """
    mu = 1.0 / service.mean
    p_wait = erlang_c(arrival_rate, mu, servers)
    rate = (servers * mu - arrival_rate) * 2.0 / (1.0 + service_cv(service) ** 2)
    if grid is None:
        grid = service_quantile(service, (np.arange(QUANTILE_GRID) + 0.5) / QUANTILE_GRID)
    waiting = p_wait * np.exp(-rate * np.clip(t - grid, 0.0, None))
    return float(np.mean(np.where(grid > t, 1.0, waiting)))


def mgc_response_percentile(arrival_rate: float, service: Distribution, servers: int, q: float) -> float:
    """The q-quantile of the approximate M/G/c response time (see :func:`mgc_response_tail`)."""
    if not 0 < q < 1:
        raise ValueError(f"q must be > 0 and < 1, got {q!r}")
    _check(arrival_rate, 1.0 / service.mean, servers)
    grid = service_quantile(service, (np.arange(QUANTILE_GRID) + 0.5) / QUANTILE_GRID)
    low, high = 0.0, service.mean
    while mgc_response_tail(arrival_rate, service, servers, high, grid) > 1.0 - q:
        high *= 2.0
    for _ in range(100):
        middle = 0.5 * (low + high)
        if mgc_response_tail(arrival_rate, service, servers, middle, grid) > 1.0 - q:
            low = middle
        else:
            high = middle
        if high - low <= 1e-10 * high:
            break
    return high


# ------------------------------------------------------------------------------------- over arrays of server counts
# Why these exist: SloTable solves its SLO limits for hundreds of server counts at once (thousands of servers each),
# each by a bisection of ≈ 45 tail evaluations. erlang_c's recursion is O(servers) in Python, which made filling the
# table most of a large scenario's first run; these evaluate a whole array in a few numpy passes instead. They
# repeat the scalar functions operation by operation, except Erlang C, which takes a closed form here: the scalar
# recursion stays the definition, and the tests hold the two within 1e-12 of each other.

_STIRLING = (1.0 / 12, 1.0 / 360, 1.0 / 1260, 1.0 / 1680, 1.0 / 1188)  # Stirling series: 1/(12n) − 1/(360n³) + …


def erlang_c_array(arrival_rate, service_rate, servers) -> np.ndarray:
    """:func:`erlang_c` elementwise (the arguments broadcast; ``servers`` whole numbers >= 1).

    Erlang B is the Poisson ratio P(N = c) / P(N <= c) for N ~ Poisson(a), a the offered load: the cdf is
    scipy's ``pdtr``; the probability is Loader's (2000) saddle-point form (:func:`_log_poisson_at`), which keeps
    its full precision where ``c·log a − a − log c!`` would lose three or four digits to cancellation at thousands of
    servers. Against the recursion, for c = 1 … 3,000 and loads up to 0.99999·c: within 4e-14 relative wherever
    C >= 1e-12 and 2e-13 wherever C >= 1e-100; only near the underflow (C < 1e-300), where no tail feels C, do they
    part further.
    """
    arrival_rate, service_rate, servers = np.broadcast_arrays(np.asarray(arrival_rate, dtype=float),
                                                              np.asarray(service_rate, dtype=float), servers)
    if not (np.all(arrival_rate > 0) and np.all(service_rate > 0)):
        raise ValueError("arrival_rate and service_rate must be > 0")
    count = servers.astype(float)
    if not np.all((count >= 1) & (count == np.floor(count))):
        raise ValueError("servers must be whole numbers >= 1")
    load = arrival_rate / service_rate
    if np.any(load >= count):
        raise ValueError("unstable queue: utilisation >= 1 has no steady state")
    blocking = np.exp(_log_poisson_at(count, load)) / special.pdtr(count, load)
    return count * blocking / (count - load * (1.0 - blocking))


def _log_poisson_at(count: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """log P(N = c) for N ~ Poisson(a), c = ``count`` a whole number, 0 < a = ``mean`` < c.

    Loader's (2000) form −½·log(2πc) − stirlerr(c) − bd0(c, a), with stirlerr(c) = log c! − Stirling's approximation
    (a series) and bd0 = c·log(c/a) + a − c. bd0 is taken as c·(u − log1p(u)), u = a/c − 1, where a is near c (the
    direct form's terms would cancel), and directly below a quarter of c (where u's rounding would be magnified).
    Counts up to 15 take the plain c·log a − a − log c!, which has little to cancel there."""
    with np.errstate(divide="ignore", invalid="ignore"):
        plain = special.xlogy(count, mean) - mean - special.gammaln(count + 1.0)
        square = count * count
        s0, s1, s2, s3, s4 = _STIRLING
        stirlerr = (s0 - (s1 - (s2 - (s3 - s4 / square) / square) / square) / square) / count
        ratio = mean / count - 1.0
        bd0 = np.where(mean < 0.25 * count, count * np.log(count / mean) + mean - count,
                       count * (ratio - np.log1p(ratio)))
        saddle = -0.5 * np.log(2.0 * math.pi * count) - stirlerr - bd0
    return np.where(count > 15, saddle, plain)  # the series is good to 1e-16 from 16 on


def mmc_response_tail_array(arrival_rate, service_rate: float, servers, t: float) -> np.ndarray:
    """:func:`mmc_response_tail` elementwise over arrays of arrival rates and server counts."""
    p_wait = erlang_c_array(arrival_rate, service_rate, servers)
    theta, mu = np.asarray(servers) * service_rate - np.asarray(arrival_rate, dtype=float), service_rate
    if t <= 0:
        return np.ones(p_wait.shape)
    close = np.abs(theta - mu) <= 1e-9 * np.maximum(np.abs(theta), abs(mu))  # math.isclose(theta, mu, rel_tol=1e-9)
    with np.errstate(divide="ignore", invalid="ignore"):
        both = np.where(close, (1.0 + mu * t) * math.exp(-mu * t),
                        (mu * np.exp(-theta * t) - theta * math.exp(-mu * t)) / (mu - theta))
    return (1.0 - p_wait) * math.exp(-mu * t) + p_wait * both


def mgc_response_tail_array(arrival_rate, service: Distribution, servers, t: float,
                            grid: np.ndarray | None = None) -> np.ndarray:
    """:func:`mgc_response_tail` elementwise over 1-D arrays of arrival rates and server counts (a row of the
    service grid per element, a block of rows at a time)."""
    arrival_rate, servers = np.broadcast_arrays(np.asarray(arrival_rate, dtype=float), servers)
    mu = 1.0 / service.mean
    p_wait = erlang_c_array(arrival_rate, mu, servers)
    rate = (servers * mu - arrival_rate) * 2.0 / (1.0 + service_cv(service) ** 2)
    if grid is None:
        grid = service_quantile(service, (np.arange(QUANTILE_GRID) + 0.5) / QUANTILE_GRID)
    gaps, beyond = np.clip(t - grid, 0.0, None), grid > t
    tail = np.empty(len(p_wait))
    block = max(1, 2**17 // len(grid))  # rows at a time: the temporaries stay about a megabyte
    for first in range(0, len(tail), block):
        rows = slice(first, first + block)
        waiting = np.multiply.outer(-rate[rows], gaps)
        np.exp(waiting, out=waiting)
        waiting *= p_wait[rows, None]
        waiting[:, beyond] = 1.0
        tail[rows] = waiting.mean(axis=1)  # numpy sums each row pairwise, as it does the scalar's one array
    return tail


def analytic_figures(arrival_rps: float, service: Distribution, servers: int) -> dict | None:
    """Closed-form figures where theory gives them: M/M/c (Erlang C) or M/G/1 (Pollaczek–Khinchine)."""
    mean_s = service.mean / 1000.0
    rate = 1.0 / mean_s
    if service.dist == "exponential":
        return {"utilization": arrival_rps * mean_s / servers, "p_wait": erlang_c(arrival_rps, rate, servers),
                "mean_wait_ms": 1000.0 * mmc_mean_wait(arrival_rps, rate, servers),
                "p50_ms": 1000.0 * mmc_response_percentile(arrival_rps, rate, servers, 0.50),
                "p95_ms": 1000.0 * mmc_response_percentile(arrival_rps, rate, servers, 0.95),
                "p99_ms": 1000.0 * mmc_response_percentile(arrival_rps, rate, servers, 0.99)}
    if servers == 1:
        _, variance = distribution_moments(service)
        return {"utilization": arrival_rps * mean_s, "p_wait": arrival_rps * mean_s,
                "mean_wait_ms": 1000.0 * pk_mean_wait(arrival_rps, mean_s, variance / 1e6)}
    return None
