"""The queueing kernel against queueing theory: Erlang C (M/M/c) and Pollaczek–Khinchine (M/G/1).

Each estimate is the mean over seeded replications of ``simulate_queue``; every replication starts empty
and drops its first 10% of requests (warm-up). Run sizes were chosen from the replication-to-replication
spread measured over 20 seeds of one million requests each, so that each tolerance is at least four to
five standard errors of the replicated mean; the spread grows steeply with utilisation, so the ρ = 0.9
case gets the most requests. Each assertion reports the error and the standard error it was measured with.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from mlorg.rng import distribution_moments
from mlorg.scenario import Distribution
from mlorg.serving.analytic import erlang_c, mmc_mean_wait, mmc_response_percentile, pk_mean_wait
from mlorg.serving.kernel import simulate_queue

MEAN_SERVICE_MS = 10.0
REQUESTS_PER_REPLICATION = 1_000_000
WARMUP_SHARE = 0.1

ERLANG_SERVERS = 4
# Replications of one million requests per utilisation. Measured relative sd of one replication's estimate:
# mean wait 1.0% / 1.2% / 2.1%, P(wait) 0.7% / 0.5% / 0.4%, p99 response 0.2% / 0.5% / 2.8% at 0.5 / 0.7 / 0.9.
ERLANG_REPLICATIONS = {0.5: 6, 0.7: 6, 0.9: 12}


@functools.cache
def replications(utilisation: float, service: Distribution, servers: int, count: int) -> np.ndarray:
    """One row per seeded replication: mean wait (ms), P(wait), p99 response (ms)."""
    arrival_rps = utilisation * servers / service.mean * 1000.0
    rows = []
    for seed in range(count):
        result = simulate_queue(arrival_rps, service, servers, REQUESTS_PER_REPLICATION, seed,
                                warmup_share=WARMUP_SHARE)
        rows.append((result.mean_wait_ms, result.p_wait, result.percentile(99)))
    return np.array(rows)


def check(estimates: np.ndarray, expected: float, tolerance: float, what: str) -> None:
    """The replicated mean is within ``tolerance`` (relative) of theory."""
    mean = float(np.mean(estimates))
    standard_error = float(np.std(estimates, ddof=1) / np.sqrt(len(estimates)))
    error = mean / expected - 1.0
    assert abs(error) <= tolerance, (
        f"{what}: simulated {mean:.4f}, theory {expected:.4f}, error {error:+.2%} "
        f"(tolerance {tolerance:.0%}, standard error {standard_error / expected:.2%})")


def erlang_runs(utilisation: float) -> tuple[np.ndarray, float, float]:
    service = Distribution(dist="exponential", mean=MEAN_SERVICE_MS)
    runs = replications(utilisation, service, ERLANG_SERVERS, ERLANG_REPLICATIONS[utilisation])
    arrival_rate = utilisation * ERLANG_SERVERS / MEAN_SERVICE_MS  # per ms
    return runs, arrival_rate, 1.0 / MEAN_SERVICE_MS


@pytest.mark.parametrize("utilisation", sorted(ERLANG_REPLICATIONS))
def test_mmc_mean_wait_and_probability_of_waiting_match_erlang_c(utilisation):
    """M/M/4, exponential service of mean 10 ms: mean wait and P(wait) within 3% of Erlang C.

    Warm-up: the first 10% of each replication. Run size: 6, 6 and 12 million requests at ρ = 0.5, 0.7 and
    0.9, which puts the standard error of the mean wait at 0.4%, 0.5% and 0.6% (of P(wait) at most 0.3%).
    """
    runs, arrival_rate, service_rate = erlang_runs(utilisation)
    check(runs[:, 0], mmc_mean_wait(arrival_rate, service_rate, ERLANG_SERVERS), 0.03, f"mean wait at ρ={utilisation}")
    check(runs[:, 1], erlang_c(arrival_rate, service_rate, ERLANG_SERVERS), 0.03, f"P(wait) at ρ={utilisation}")


@pytest.mark.parametrize("utilisation", sorted(ERLANG_REPLICATIONS))
def test_mmc_p99_response_matches_theory(utilisation):
    """M/M/4, exponential service of mean 10 ms: p99 of the response time within 5% of the exact M/M/c quantile.

    Warm-up: the first 10% of each replication. Same runs as the Erlang C test; the standard error of the
    p99 is 0.1%, 0.2% and 0.8% at ρ = 0.5, 0.7 and 0.9.
    """
    runs, arrival_rate, service_rate = erlang_runs(utilisation)
    expected = mmc_response_percentile(arrival_rate, service_rate, ERLANG_SERVERS, 0.99)
    check(runs[:, 2], expected, 0.05, f"p99 response at ρ={utilisation}")


@pytest.mark.parametrize(("service", "count"), [
    (Distribution(dist="deterministic", mean=MEAN_SERVICE_MS, cv=0.0), 4),
    (Distribution(dist="lognormal", mean=MEAN_SERVICE_MS, cv=1.5), 12),
], ids=["M/D/1", "M/G/1-lognormal-cv1.5"])
def test_mg1_mean_wait_matches_pollaczek_khinchine(service, count):
    """One server at ρ = 0.8, service of mean 10 ms: mean wait within 3% of Pollaczek–Khinchine.

    Warm-up: the first 10% of each replication. Run size: 4 million requests for deterministic service and
    12 million for lognormal service with cv 1.5 (one replication's relative sd: 0.9% and 1.6%), so the
    standard error is 0.45% and 0.5%.
    """
    utilisation = 0.8
    runs = replications(utilisation, service, 1, count)
    mean, variance = distribution_moments(service)
    expected = pk_mean_wait(utilisation / mean, mean, variance)
    check(runs[:, 0], expected, 0.03, f"{service.dist} mean wait")
