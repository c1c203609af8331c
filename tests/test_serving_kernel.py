"""The per-request queueing kernel: hand-computed traces, agreement with the SimPy reference, properties."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlorg.scenario import Distribution
from mlorg.serving.kernel import (
    MAX_REQUESTS,
    QueueResult,
    fcfs_waits,
    poisson_arrivals,
    service_draws,
    simulate_queue,
)
from mlorg.serving.reference import simpy_waits

IMPLEMENTATIONS = [pytest.param(fcfs_waits, id="kernel"), pytest.param(simpy_waits, id="simpy")]
EXPONENTIAL_10MS = Distribution(dist="exponential", mean=10.0)


# ------------------------------------------------------------------------------------ hand-computed traces

@pytest.mark.parametrize("waits_of", IMPLEMENTATIONS)
@pytest.mark.parametrize(("arrivals", "services", "servers", "expected"), [
    # One server, each request arrives while the one before is in service: starts at 0, 3, 6.
    ([0, 1, 2], [3, 3, 3], 1, [0, 2, 4]),
    # The server idles between requests: nobody waits.
    ([0, 10, 20], [1, 1, 1], 1, [0, 0, 0]),
    # A request arriving exactly as the server frees does not wait.
    ([0, 3, 5], [3, 2, 1], 1, [0, 0, 0]),
    # Two servers: r0, r1 start at once; r2 takes the server r1 frees at 2; r3 the one r0 frees at 4.
    ([0, 0, 0, 1], [4, 2, 3, 1], 2, [0, 0, 2, 3]),
    # Simultaneous arrivals are served in index order: waits 0, 5, 5 + 1.
    ([0, 0, 0], [5, 1, 2], 1, [0, 5, 6]),
    # Zero service times take no server time.
    ([0, 0, 0], [0, 0, 0], 1, [0, 0, 0]),
    # More servers than requests.
    ([0, 0], [7, 7], 10, [0, 0]),
    # Three servers, five requests at once: the fourth and fifth take the servers that free first (1 and 2).
    ([0, 0, 0, 0, 0], [1, 2, 3, 4, 5], 3, [0, 0, 0, 1, 2]),
    ([], [], 3, []),
])
def test_hand_computed_waits(waits_of, arrivals, services, servers, expected):
    waits = waits_of(np.array(arrivals, dtype=float), np.array(services, dtype=float), servers)
    assert waits.tolist() == expected


def test_queue_result_statistics_of_a_hand_computed_trace():
    arrivals, services = np.array([0.0, 1.0, 2.0]), np.array([3.0, 3.0, 3.0])
    result = QueueResult(arrivals, services, fcfs_waits(arrivals, services, 1), 1)
    assert result.response_ms.tolist() == [3.0, 5.0, 7.0]
    assert result.utilisation == 1.0  # busy from 0 to the last departure at 9
    assert result.p_wait == pytest.approx(2 / 3)
    assert result.mean_wait_ms == 2.0
    assert result.percentile(50) == 5.0
    assert result.summary() == {"utilization": 1.0, "p_wait": pytest.approx(2 / 3), "mean_wait_ms": 2.0,
                                "p50_ms": 5.0, "p95_ms": pytest.approx(6.8), "p99_ms": pytest.approx(6.96),
                                "requests": 3}
    # Dropping the first third leaves requests 1 and 2: busy 6 ms of the 8 ms from arrival 1 to departure 9.
    assert result.summary(warmup=1 / 3) == {"utilization": 0.75, "p_wait": 1.0, "mean_wait_ms": 3.0,
                                            "p50_ms": 6.0, "p95_ms": pytest.approx(6.9),
                                            "p99_ms": pytest.approx(6.98), "requests": 2}


def test_utilisation_counts_idle_time_and_all_servers():
    arrivals, services = np.array([0.0, 10.0]), np.array([2.0, 2.0])
    result = QueueResult(arrivals, services, fcfs_waits(arrivals, services, 2), 2)
    assert result.utilisation == 4.0 / (2 * 12.0)


# ------------------------------------------------------------------------------ kernel == SimPy reference

@pytest.mark.parametrize("servers", [1, 2, 5])
@pytest.mark.parametrize("service", [EXPONENTIAL_10MS, Distribution(dist="lognormal", mean=10.0, cv=1.5)],
                         ids=["exponential", "lognormal"])
def test_kernel_equals_simpy_reference_on_random_draws(servers, service):
    rng = np.random.default_rng(100 + servers)
    arrivals = poisson_arrivals(servers * 0.92 * 100.0, 8_000, rng)  # utilisation 0.92: long queues
    services = service_draws(service, 8_000, rng)
    kernel = fcfs_waits(arrivals, services, servers)
    assert np.mean(kernel > 0) > 0.3  # the trace does exercise the queue
    assert np.array_equal(kernel, simpy_waits(arrivals, services, servers))


@pytest.mark.parametrize("servers", [1, 2, 3])
def test_kernel_equals_simpy_reference_with_ties(servers):
    # Integer arrival times with repeats and deterministic 2 ms services: many arrivals at one instant and
    # many arrivals exactly when a server frees.
    rng = np.random.default_rng(servers)
    arrivals = np.sort(rng.integers(0, 2 * 4_000 // servers, 4_000)).astype(float)
    services = service_draws(Distribution(dist="deterministic", mean=2.0, cv=0.0), 4_000, rng)
    kernel = fcfs_waits(arrivals, services, servers)
    assert np.mean(kernel > 0) > 0.3
    assert np.array_equal(kernel, simpy_waits(arrivals, services, servers))


# ------------------------------------------------------------------------------------------- properties

gaps = st.one_of(st.integers(0, 4).map(float), st.floats(0.0, 10.0, allow_nan=False))
service_times = st.one_of(st.integers(0, 6).map(float), st.floats(0.0, 20.0, allow_nan=False))


@st.composite
def traces(draw, max_requests: int = 60):
    n = draw(st.integers(1, max_requests))
    arrivals = np.cumsum(draw(st.lists(gaps, min_size=n, max_size=n)))
    services = np.array(draw(st.lists(service_times, min_size=n, max_size=n)))
    return arrivals, services


@settings(max_examples=200, deadline=None)
@given(trace=traces(), servers=st.integers(1, 6))
def test_waits_responses_and_percentiles_are_consistent(trace, servers):
    arrivals, services = trace
    result = QueueResult(arrivals, services, fcfs_waits(arrivals, services, servers), servers)
    assert np.all(result.wait_ms >= 0)
    assert np.array_equal(result.response_ms, result.wait_ms + result.service_ms)
    starts = arrivals + result.wait_ms  # rounds: arrival + (free time - arrival) can miss the free time by an ulp
    assert np.all(np.diff(starts) >= -1e-9)  # first come, first served
    summary = result.summary()
    assert summary["p50_ms"] <= summary["p95_ms"] <= summary["p99_ms"] <= float(np.max(result.response_ms))
    assert 0.0 <= summary["utilization"] <= 1.0 + 1e-12
    assert 0.0 <= summary["p_wait"] <= 1.0


@settings(max_examples=100, deadline=None)
@given(trace=traces(max_requests=30), servers=st.integers(1, 4))
def test_kernel_equals_simpy_reference_on_any_trace(trace, servers):
    arrivals, services = trace
    assert np.array_equal(fcfs_waits(arrivals, services, servers), simpy_waits(arrivals, services, servers))


@settings(max_examples=200, deadline=None)
@given(trace=traces(), servers=st.integers(1, 5), extra=st.integers(1, 3))
def test_more_servers_never_raise_any_wait(trace, servers, extra):
    arrivals, services = trace
    fewer = fcfs_waits(arrivals, services, servers)
    more = fcfs_waits(arrivals, services, servers + extra)
    assert np.all(more <= fewer)


@pytest.mark.parametrize("replicas", [3, 4, 6])
def test_more_replicas_never_raise_waits_or_p99_on_the_same_draws(replicas):
    fewer = simulate_queue(270.0, EXPONENTIAL_10MS, replicas, 50_000, seed=4)  # utilisation 0.9 at 3
    more = simulate_queue(270.0, EXPONENTIAL_10MS, replicas + 1, 50_000, seed=4)
    assert np.array_equal(fewer.arrival_ms, more.arrival_ms) and np.array_equal(fewer.service_ms, more.service_ms)
    assert np.all(more.wait_ms <= fewer.wait_ms)
    assert more.percentile(99) <= fewer.percentile(99)
    assert more.summary()["p99_ms"] <= fewer.summary()["p99_ms"]


# ---------------------------------------------------------------------------------------- simulate_queue

def test_same_seed_gives_identical_arrays_and_another_seed_does_not():
    a = simulate_queue(300.0, EXPONENTIAL_10MS, 4, 20_000, seed=7)
    b = simulate_queue(300.0, EXPONENTIAL_10MS, 4, 20_000, seed=7)
    for name in ("arrival_ms", "service_ms", "wait_ms"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
    assert a.summary() == b.summary()
    c = simulate_queue(300.0, EXPONENTIAL_10MS, 4, 20_000, seed=8)
    assert not np.array_equal(a.arrival_ms, c.arrival_ms)


def test_changing_the_service_distribution_keeps_the_arrivals():
    a = simulate_queue(300.0, EXPONENTIAL_10MS, 4, 5_000, seed=7)
    b = simulate_queue(300.0, Distribution(dist="gamma", mean=10.0, cv=0.5), 4, 5_000, seed=7)
    assert np.array_equal(a.arrival_ms, b.arrival_ms)


def test_warmup_share_drops_the_first_requests():
    full = simulate_queue(300.0, EXPONENTIAL_10MS, 4, 1_000, seed=3, warmup_share=0.0)
    kept = simulate_queue(300.0, EXPONENTIAL_10MS, 4, 1_000, seed=3)
    assert full.requests == 1_000 and kept.requests == 900
    assert np.array_equal(kept.wait_ms, full.wait_ms[100:])
    assert kept.summary() == full.summary(warmup=0.1)


def test_draws_have_the_requested_rate_and_mean():
    rng = np.random.default_rng(0)
    arrivals = poisson_arrivals(500.0, 200_000, rng)
    assert np.all(np.diff(arrivals) >= 0)
    assert 200_000 / arrivals[-1] * 1000 == pytest.approx(500.0, rel=0.01)
    services = service_draws(Distribution(dist="lognormal", mean=8.0, cv=1.5), 200_000, rng)
    assert services.dtype == float and np.mean(services) == pytest.approx(8.0, rel=0.03)
    assert service_draws(Distribution(dist="deterministic", mean=3, cv=0.0), 4, rng).tolist() == [3.0] * 4


def test_an_unstable_queue_is_refused():
    with pytest.raises(ValueError, match=re.escape("unstable queue: utilisation 1.000 >= 1")):
        simulate_queue(400.0, EXPONENTIAL_10MS, 4, 1_000, seed=0)
    with pytest.raises(ValueError, match=re.escape("unstable queue: utilisation 1.250 >= 1")):
        simulate_queue(500.0, EXPONENTIAL_10MS, 4, 1_000, seed=0)


# ---------------------------------------------------------------------------------------- input checks

@pytest.mark.parametrize(("arrivals", "services", "servers", "message"), [
    ([0, 1], [1], 1, "arrival_ms and service_ms must have equal lengths, got 2 and 1"),
    ([0, 1], [1, 1], 0, "servers must be an integer >= 1, got 0"),
    ([0, 1], [1, 1], 1.5, "servers must be an integer >= 1, got 1.5"),
    ([0, 1], [1, 1], True, "servers must be an integer >= 1, got True"),
    ([0, 2, 1], [1, 1, 1], 1, "arrival_ms must be non-decreasing; arrival 2 comes before arrival 1"),
    ([-1, 2], [1, 1], 1, "arrival_ms must be finite and >= 0"),
    ([0, np.nan], [1, 1], 1, "arrival_ms must be finite and >= 0"),
    ([0, 1], [1, -1], 1, "service_ms must be finite and >= 0"),
    ([0, 1], [1, np.inf], 1, "service_ms must be finite and >= 0"),
    ([[0, 1]], [[1, 1]], 1, "arrival_ms and service_ms must be one-dimensional"),
])
@pytest.mark.parametrize("waits_of", IMPLEMENTATIONS)
def test_bad_traces_are_refused_with_the_argument_named(waits_of, arrivals, services, servers, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        waits_of(np.array(arrivals, dtype=float), np.array(services, dtype=float), servers)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"requests": 0}, "requests must be >= 1"),
    ({"requests": 2.5}, "requests must be an integer >= 0, got 2.5"),
    ({"requests": MAX_REQUESTS + 1}, "requests = 50,000,001 is above 50,000,000, a limit that keeps one run "
                                     "from exhausting memory"),
    ({"servers": 0}, "servers must be an integer >= 1, got 0"),
    ({"arrival_rps": 0.0}, "arrival_rps must be > 0, got 0.0"),
    ({"warmup_share": 1.0}, "warmup_share must be >= 0 and < 1, got 1.0"),
    ({"seed": -1}, "seed must be an integer >= 0, got -1"),
])
def test_bad_simulation_arguments_are_refused(kwargs, message):
    arguments = {"arrival_rps": 100.0, "service": EXPONENTIAL_10MS, "servers": 2, "requests": 100, "seed": 0}
    with pytest.raises(ValueError, match=re.escape(message)):
        simulate_queue(**{**arguments, **kwargs})


def test_bad_result_queries_are_refused():
    result = QueueResult(np.zeros(2), np.ones(2), np.zeros(2), 1)
    with pytest.raises(ValueError, match=re.escape("q must be between 0 and 100, got 101")):
        result.percentile(101)
    with pytest.raises(ValueError, match=re.escape("warmup must be >= 0 and < 1, got 1")):
        result.summary(warmup=1)
    with pytest.raises(ValueError, match="must have equal lengths"):
        QueueResult(np.zeros(2), np.ones(3), np.zeros(2), 1)
