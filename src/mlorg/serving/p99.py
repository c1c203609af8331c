"""The p99 response time of a fleet with no closed form (M/G/c), measured so that a plan can trust it.

How a measured p99 is made trustworthy
--------------------------------------
One kernel run of 200,000 requests puts the p99 about 1% from the truth (the 99th percentile of that many
lognormal draws is that far from the distribution's own), and reusing that one run for every fleet size
never averages the error out: near the floor (an SLO barely above the service time's own p99) the planner
refused SLOs that a fleet meets, or could choose a fleet that missed its SLO by about 1%. So here:

* **Replications.** :func:`p99_estimate` runs independent replications: replication r of seed s draws from
  ``Streams(s, r)``, streams that numpy's ``SeedSequence`` derives from the one seed (replication 0 of n
  requests is exactly ``simulate_queue(..., n, s)``). Each starts empty and drops its first 10% as warm-up.
* **A control variate.** The response time R = S + W is the service time S plus the wait W, and
  P(R > t) = P(S > t) + P(S ≤ t < R). The first term is known exactly (:func:`service_tail`); only the
  second, the share of requests that waiting pushes past t, is measured. The p99 is the t at which the
  sum is 1%. This is an unbiased estimate of the steady-state tail (apart from what the warm-up leaves of
  the empty start), it is never below the service time's exact p99, and its variance vanishes as waiting
  does, exactly where the plain sample percentile was worst: at the floor its standard error is a few
  hundredths of a percent instead of ~1%.
* **Standard error by sectioning.** The estimate solves the equation above on all replications pooled;
  its standard error is the spread of the replications' own solutions, sd / √R (batch means over
  independent runs). When no request at all was pushed past the estimate, that spread is zero; the
  standard error is then taken as that of one such request among all those measured. With few
  replications of a heavily queued fleet (p99 well above the floor) the replications' solutions are skewed
  and the standard error can read up to ~1.4 times low (measured over 60 seeds); near the floor it is
  within ~10%.
* **Adaptive replications.** ``MIN_REPLICATIONS`` (8) first, then doubling up to ``MAX_REPLICATIONS`` (64),
  until the targets asked for hold: for a figure to report, a standard error of at most ``REL_SE`` (0.3%) of
  the estimate; to judge a fleet against an SLO, a sequential test: the SLO must lie at least ``Z`` (3)
  standard errors from the estimate, and the fleet meets the SLO when its estimate is at most the SLO. If
  the cap comes first the point estimate decides, and the fleet's p99 is then within 3 standard errors of the
  SLO either way (a few hundredths of a percent near the floor). Z = 3 also leaves room for a standard error
  that reads low.
The same seed gives the same answers: nothing here draws from a global random state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from mlorg.rng import Streams
from mlorg.scenario import Distribution
from mlorg.serving.analytic import mmc_response_percentile, service_quantile
from mlorg.serving.kernel import MAX_REQUESTS, fcfs_waits, poisson_arrivals, service_draws

QUANTILE = 0.99


REPLICATION_REQUESTS = 25_000  # requests per replication (more for large fleets: at least 100 per server)


WARMUP_SHARE = 0.1  # of each replication, dropped: the queue starts empty


MIN_REPLICATIONS = 8  # the standard error has 7 degrees of freedom at least


MAX_REPLICATIONS = 64  # 1.6 million requests at most for one fleet size


REL_SE = 0.003  # a reported p99's target standard error, relative to the estimate


Z = 3.0  # standard errors the SLO must lie from an estimate before the sequential test stops


_CONFIRM = 0x636F6E66  # "conf": mixed into the seed of the confirming replications


class PlanError(ValueError):
    """A capacity question that cannot be answered as asked; the message names the value and what is allowed."""


@dataclass(frozen=True)
class P99Estimate:
    """A p99 response time (ms) with its standard error, from ``replications`` kernel runs of ``seed``.

    ``replications`` is 0 when the p99 is exact (the M/M/c formula, or ``inf`` for an unstable queue);
    ``requests`` counts the requests measured in all, after warm-up.
    """

    p99_ms: float
    se_ms: float
    replications: int
    requests: int
    seed: int

    @property
    def exact(self) -> bool:
        return self.replications == 0

    @property
    def rel_se(self) -> float:
        return self.se_ms / self.p99_ms if self.p99_ms > 0 and math.isfinite(self.p99_ms) else 0.0

    def meets(self, slo_p99_ms: float) -> bool:
        return self.p99_ms <= slo_p99_ms


def service_percentile(service_ms: Distribution, q: float) -> float:
    """The q-quantile of the service time itself: the p99 a fleet with no queueing would show."""
    return service_quantile(service_ms, q)


def constant_service(service_ms: Distribution) -> bool:
    """True for a service time with no spread: deterministic, or a lognormal with cv 0."""
    d = service_ms
    return d.dist == "deterministic" or d.mean == 0 or (d.dist == "lognormal" and d.cv == 0)


def service_tail(service_ms: Distribution, t: float) -> float:
    """P(service time > t), exactly."""
    d = service_ms
    if constant_service(d):
        return 1.0 if t < d.mean else 0.0
    if t <= 0:
        return 1.0
    if d.dist == "exponential":
        return math.exp(-t / d.mean)
    if d.dist == "lognormal":
        sigma = math.sqrt(math.log1p(d.cv**2))
        mu = math.log(d.mean) - sigma**2 / 2
        return 0.5 * math.erfc((math.log(t) - mu) / (sigma * math.sqrt(2.0)))
    if d.dist == "gamma":
        shape = 1.0 / d.cv**2
        return float(special.gammaincc(shape, t * shape / d.mean))
    raise PlanError(f"service_ms.dist: {d.dist!r} is not allowed; must be exponential, deterministic, lognormal "
                    "or gamma")


def _service_density(service_ms: Distribution, t: float) -> float:
    """The service time's density at t (0 for a constant one, which has none)."""
    d = service_ms
    if constant_service(d) or t <= 0:
        return 0.0
    if d.dist == "exponential":
        return math.exp(-t / d.mean) / d.mean
    if d.dist == "lognormal":
        sigma = math.sqrt(math.log1p(d.cv**2))
        z = (math.log(t) - math.log(d.mean) + sigma**2 / 2) / sigma
        return math.exp(-z * z / 2) / (t * sigma * math.sqrt(2 * math.pi))
    shape = 1.0 / d.cv**2
    scale = d.mean / shape
    return math.exp((shape - 1) * math.log(t / scale) - t / scale - math.lgamma(shape)) / scale


@dataclass(frozen=True)
class _Replication:
    """What the tail estimator needs of one run: how many requests it measured, and the service and response
    times (sorted) of those that waited — the only ones whose response differs from their service."""

    requests: int
    waited_service: np.ndarray
    waited_response: np.ndarray

    def delayed(self, t: float) -> int:
        """How many requests waiting pushed past t: service <= t < response."""
        return int(np.searchsorted(self.waited_service, t, "right") - np.searchsorted(self.waited_response, t, "right"))


def _replicate(arrival_rps: float, service_ms: Distribution, servers: int, requests: int, seed: int,
               replication: int) -> _Replication:
    streams = Streams(seed, replication)  # the kernel's own streams: replication 0 is simulate_queue's run
    arrivals = poisson_arrivals(arrival_rps, requests, streams.generator("serving/arrivals"))
    services = service_draws(service_ms, requests, streams.generator("serving/service"))
    skip = int(WARMUP_SHARE * requests)
    waits = fcfs_waits(arrivals, services, servers)[skip:]
    services = services[skip:]
    waited = waits > 0
    return _Replication(len(waits), np.sort(services[waited]), np.sort(services[waited] + waits[waited]))


def _solve(service_ms: Distribution, floor: float, tail: float, delayed, requests: int, high: float) -> float:
    """The t >= floor at which service_tail(t) + delayed(t) / requests falls to ``tail``, by bisection."""
    def excess(t: float) -> float:
        return service_tail(service_ms, t) + delayed(t) / requests - tail

    if excess(floor) <= 0:
        return floor
    low, high = floor, max(high, floor)
    while excess(high) > 0:  # cannot happen past the largest response; kept as a guard
        high *= 2.0
    for _ in range(200):
        middle = 0.5 * (low + high)
        if excess(middle) > 0:
            low = middle
        else:
            high = middle
        if high - low <= 1e-10 * high:
            break
    return high


def _estimate(service_ms: Distribution, runs: list[_Replication], seed: int) -> P99Estimate:
    floor = service_percentile(service_ms, QUANTILE)
    tail = 1.0 - QUANTILE
    total = sum(r.requests for r in runs)
    pooled_service = np.sort(np.concatenate([r.waited_service for r in runs]))
    pooled_response = np.sort(np.concatenate([r.waited_response for r in runs]))
    pooled = _Replication(total, pooled_service, pooled_response)
    top = float(pooled_response[-1]) if len(pooled_response) else floor
    p99 = _solve(service_ms, floor, tail, pooled.delayed, total, top)
    each = np.array([_solve(service_ms, floor, tail, r.delayed, r.requests,
                            float(r.waited_response[-1]) if len(r.waited_response) else floor) for r in runs])
    se = float(np.sqrt(np.sum((each - p99) ** 2) / (len(runs) * (len(runs) - 1))))
    if pooled.delayed(p99) == 0:
        # No request was pushed past the estimate by waiting (so it is the service time's own p99): the spread
        # is then zero, which understates the uncertainty. Take at least the standard error of one such
        # request in all those measured, 1 / (N · density).
        density = _service_density(service_ms, p99)
        se = max(se, 1.0 / (total * density) if density > 0 else 0.0)
    return P99Estimate(p99, se, len(runs), total, seed)


def p99_estimate(arrival_rps: float, service_ms: Distribution, servers: int, *, seed: int = 0,
                 slo_p99_ms: float | None = None, rel_se: float | None = REL_SE,
                 requests: int = REPLICATION_REQUESTS, max_replications: int = MAX_REPLICATIONS) -> P99Estimate:
    """The p99 response time of ``servers`` parallel servers at ``arrival_rps``, with its standard error.

    Exponential service gives the exact M/M/c p99 (standard error 0) and an unstable queue ``inf``. Any
    other service time is measured by independent replications of ``requests`` requests each (at least 100
    per server, so that each warm-up spans several service times): ``MIN_REPLICATIONS`` first, then doubling
    up to ``max_replications``, until the standard error is at most ``rel_se`` of the estimate (when
    ``rel_se`` is given) and the SLO is at least ``Z`` standard errors away from it (when ``slo_p99_ms`` is
    given). At the cap the estimate is returned as it is. See the module's docstring for the estimator.
    """
    _check_queue(arrival_rps, service_ms, servers)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise PlanError(f"seed: {seed!r} is not allowed; must be an integer >= 0")
    if isinstance(requests, bool) or not isinstance(requests, int) or requests < 100:
        raise PlanError(f"requests: {requests!r} is not allowed; must be an integer >= 100")
    if isinstance(max_replications, bool) or not isinstance(max_replications, int) or max_replications < 2:
        raise PlanError(f"max_replications: {max_replications!r} is not allowed; must be an integer >= 2")
    if rel_se is not None and not rel_se > 0:
        raise PlanError(f"rel_se: {rel_se!r} is not allowed; must be > 0 (or None for no precision target)")
    service_rate = 1000.0 / service_ms.mean  # per second
    if arrival_rps >= servers * service_rate:
        return P99Estimate(math.inf, 0.0, 0, 0, seed)
    if service_ms.dist == "exponential":
        return P99Estimate(1000.0 * mmc_response_percentile(arrival_rps, service_rate, servers, QUANTILE), 0.0, 0, 0,
                           seed)
    per_run = min(max(requests, 100 * servers), MAX_REQUESTS)
    runs: list[_Replication] = []
    wanted = min(MIN_REPLICATIONS, max_replications)
    while True:
        runs.extend(_replicate(arrival_rps, service_ms, servers, per_run, seed, r) for r in range(len(runs), wanted))
        estimate = _estimate(service_ms, runs, seed)
        precise = rel_se is None or estimate.se_ms <= rel_se * estimate.p99_ms
        decided = slo_p99_ms is None or abs(estimate.p99_ms - slo_p99_ms) >= Z * estimate.se_ms
        if (precise and decided) or wanted >= max_replications:
            return estimate
        wanted = min(2 * wanted, max_replications)


def p99_ms(arrival_rps: float, service_ms: Distribution, servers: int, *, requests: int = REPLICATION_REQUESTS,
           seed: int = 0) -> float:
    """The p99 response time of ``servers`` parallel servers at ``arrival_rps`` (inf when unstable).

    :func:`p99_estimate`'s figure to report (standard error at most 0.3% or the replication cap);
    ``requests`` is per replication.
    """
    return p99_estimate(arrival_rps, service_ms, servers, requests=requests, seed=seed).p99_ms


def confirm_seed(seed: int) -> int:
    """The seed whose replications confirm a plan made with ``seed``: different, and derived from it."""
    return int(np.random.SeedSequence((seed, _CONFIRM)).generate_state(1, np.uint64)[0]) >> 1


def _check_queue(arrival_rps: float, service_ms: Distribution, servers: int) -> None:
    if not 0 < arrival_rps < math.inf:
        raise PlanError(f"arrival_rps: {arrival_rps!r} is not allowed; must be a finite number > 0")
    check_service(service_ms)
    if isinstance(servers, bool) or not isinstance(servers, int | np.integer) or servers < 1:
        raise PlanError(f"servers: {servers!r} is not allowed; must be an integer >= 1")


def check_service(service_ms: Distribution) -> None:
    if not 0 < service_ms.mean < math.inf:
        raise PlanError(f"service_ms: {service_ms.mean!r} is not allowed; must be a finite number > 0")
    if service_ms.dist == "gamma" and not service_ms.cv > 0:
        raise PlanError(f"service_ms.cv: {service_ms.cv!r} is not allowed for a gamma service time; must be > 0")
