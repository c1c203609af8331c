"""The M/G/c response-time approximation that the simulator's hourly SLO check uses, against the kernel.

No closed form exists for M/G/c percentiles. `analytic.mgc_response_tail` keeps Erlang C's probability of
waiting, stretches the wait's exponential tail by (1 + cv²)/2 (Allen–Cunneen, Kingman) and convolves it with
the real service distribution. These tests measure how far its p99 is from the per-request kernel's on one
million requests (first 10% dropped as warm-up; the kernel's p99 has a relative standard error below 1% at
these loads) and hold it to the accuracy the docstring claims.
"""

from __future__ import annotations

import pytest

from mlorg.scenario import Distribution
from mlorg.serving.analytic import mgc_response_percentile, mmc_response_percentile
from mlorg.serving.kernel import simulate_queue

CASES = [  # (distribution, cv, servers, tolerance)
    ("lognormal", 0.5, 4, 0.06), ("lognormal", 0.5, 8, 0.06), ("deterministic", 0.0, 4, 0.06),
    ("deterministic", 0.0, 8, 0.06), ("gamma", 0.7, 4, 0.06), ("lognormal", 1.5, 4, 0.12),
    ("lognormal", 1.5, 16, 0.06),
]


@pytest.mark.parametrize(("dist", "cv", "servers", "tolerance"), CASES)
@pytest.mark.parametrize("utilisation", [0.5, 0.8])
def test_mgc_p99_approximation_is_close_to_the_kernel(dist, cv, servers, tolerance, utilisation):
    service = Distribution(dist=dist, mean=1.0, cv=cv)  # ms
    arrival_per_ms = utilisation * servers
    approx = mgc_response_percentile(arrival_per_ms, service, servers, 0.99)
    measured = simulate_queue(arrival_per_ms * 1000.0, service, servers, 1_000_000, seed=9).summary()["p99_ms"]
    assert approx == pytest.approx(measured, rel=tolerance)


@pytest.mark.parametrize("servers", [1, 4, 16])
def test_mgc_approximation_reduces_to_erlang_c_for_exponential_service(servers):
    # Equal in theory; the 1,024-point quantile grid of the service time costs ≈ 1% at the p99.
    service = Distribution(dist="exponential", mean=1.0, cv=1.0)
    for utilisation in (0.3, 0.7, 0.9):
        rate = utilisation * servers
        exact = mmc_response_percentile(rate, 1.0, servers, 0.99)
        assert mgc_response_percentile(rate, service, servers, 0.99) == pytest.approx(exact, rel=0.015)
