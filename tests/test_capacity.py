"""Queueing formulas and capacity planning."""

from __future__ import annotations

import math

import pytest

from mlorg.scenario import Distribution
from mlorg.serving.analytic import (
    erlang_c,
    mmc_mean_sojourn,
    mmc_mean_wait,
    mmc_response_percentile,
    mmc_response_tail,
    mmc_wait_tail,
    pk_mean_wait,
)
from mlorg.serving.capacity import (
    InstanceType,
    cheapest,
    load_instances,
    min_replicas,
    p99_ms,
    service_percentile,
    tradeoff,
)

EXPONENTIAL_20MS = Distribution(dist="exponential", mean=20.0, cv=1.0)


def test_erlang_c_known_values():
    # Two servers, offered load 1 Erlang: C = (A^c/c! · c/(c−A)) / (Σ_{k<c} A^k/k! + that) = 1 / 3.
    assert erlang_c(1.0, 1.0, 2) == pytest.approx(1 / 3)
    # One server: P(wait) = ρ, and the M/M/1 sojourn is 1 / (μ − λ).
    assert erlang_c(0.7, 1.0, 1) == pytest.approx(0.7)
    assert mmc_mean_sojourn(0.7, 1.0, 1) == pytest.approx(1 / 0.3)
    assert mmc_mean_wait(1.0, 1.0, 2) == pytest.approx((1 / 3) / (2 - 1))
    assert mmc_wait_tail(1.0, 1.0, 2, 0.0) == pytest.approx(1 / 3)


def test_mm1_response_time_is_exponential():
    rate = 1.0 - 0.7
    for t in (0.5, 2.0, 10.0):
        assert mmc_response_tail(0.7, 1.0, 1, t) == pytest.approx(math.exp(-rate * t))
    assert mmc_response_percentile(0.7, 1.0, 1, 0.99) == pytest.approx(math.log(100) / rate, rel=1e-9)
    assert mmc_response_percentile(0.7, 1.0, 1, 0.5) == pytest.approx(math.log(2) / rate, rel=1e-9)


def test_mmc_response_tail_handles_equal_rates():
    # θ = cμ − λ equals μ when λ = (c − 1)μ: the hypoexponential degenerates to an Erlang-2 tail.
    just_below, exact = mmc_response_tail(1.0 - 1e-7, 1.0, 2, 3.0), mmc_response_tail(1.0, 1.0, 2, 3.0)
    assert exact == pytest.approx(just_below, rel=1e-5)


def test_unstable_queues_are_refused():
    with pytest.raises(ValueError, match="unstable queue: utilisation 1.000 >= 1"):
        erlang_c(2.0, 1.0, 2)
    with pytest.raises(ValueError, match="servers must be an integer >= 1"):
        erlang_c(1.0, 1.0, 0)


def test_pollaczek_khinchine():
    # M/D/1 at ρ = 0.5 with unit service: Wq = λE[S²] / (2(1−ρ)) = 0.5; M/M/1 agrees with Erlang C.
    assert pk_mean_wait(0.5, 1.0, 0.0) == pytest.approx(0.5)
    assert pk_mean_wait(0.7, 1.0, 1.0) == pytest.approx(mmc_mean_wait(0.7, 1.0, 1))


def test_service_percentiles():
    assert service_percentile(EXPONENTIAL_20MS, 0.99) == pytest.approx(20 * math.log(100))
    assert service_percentile(Distribution(dist="deterministic", mean=20.0, cv=0.0), 0.99) == 20.0
    lognormal = Distribution(dist="lognormal", mean=20.0, cv=0.5)
    sigma = math.sqrt(math.log(1.25))
    assert service_percentile(lognormal, 0.5) == pytest.approx(20 * math.exp(-sigma**2 / 2))


def test_instances_cite_their_source_and_carry_the_design_prices():
    instances = {i.name: i for i in load_instances()}
    assert instances["c6i.xlarge"].usd_per_hour == 0.17
    assert instances["g4dn.xlarge"].usd_per_hour == 0.526
    assert instances["g5.xlarge"].accelerator == "NVIDIA A10G"
    assert all(i.source and i.vcpu >= 1 for i in instances.values())


def test_min_replicas_is_the_first_count_that_meets_the_slo():
    replicas = min_replicas(500.0, EXPONENTIAL_20MS, 4, 100.0)
    assert p99_ms(500.0, EXPONENTIAL_20MS, replicas * 4) <= 100.0
    assert p99_ms(500.0, EXPONENTIAL_20MS, (replicas - 1) * 4) > 100.0


def test_cheapest_option_meets_the_slo_at_least_cost():
    instances = [InstanceType("big", 8, 16, "", 0.30, "test"), InstanceType("small", 4, 8, "", 0.17, "test"),
                 InstanceType("dear", 4, 8, "", 0.50, "test")]
    best = cheapest(500.0, EXPONENTIAL_20MS, 100.0, instances)
    assert best.p99_ms <= 100.0
    for instance in instances:  # no instance type meets the SLO for less
        replicas = min_replicas(500.0, EXPONENTIAL_20MS, instance.vcpu, 100.0)
        assert replicas * instance.usd_per_hour >= best.usd_per_hour - 1e-12
    # An SLO below the service time's own p99 (92 ms for 20 ms exponential) cannot be met by any fleet.
    assert cheapest(500.0, EXPONENTIAL_20MS, 90.0, instances) is None


def test_tradeoff_costs_rise_and_p99_falls_with_replicas():
    rows = tradeoff(500.0, EXPONENTIAL_20MS, InstanceType("small", 4, 8, "", 0.17, "test"))
    assert [r.replicas for r in rows] == list(range(rows[0].replicas, rows[0].replicas + 7))
    assert rows[0].utilisation < 1
    assert all(a.usd_per_hour < b.usd_per_hour for a, b in zip(rows, rows[1:], strict=False))
    assert all(a.p99_ms >= b.p99_ms for a, b in zip(rows, rows[1:], strict=False))
