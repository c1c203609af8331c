"""The planner's p99 for service times with no formula: replications, standard errors, decisions near the floor.

Every figure here comes from fixed seeds, so each test is deterministic; the tolerances say how far a figure
may be from the truth it is compared with, in its own standard errors (SE), should the draws ever change.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from mlorg.scenario import Distribution
from mlorg.serving import capacity, p99
from mlorg.serving.analytic import mmc_response_percentile
from mlorg.serving.capacity import (
    InstanceType,
    Option,
    ReplicaLimitError,
    cheapest,
    min_replicas,
    plan,
    tradeoff,
)
from mlorg.serving.kernel import simulate_queue
from mlorg.serving.p99 import REL_SE, PlanError, Z, p99_estimate, p99_ms, service_percentile

# The reported case: 10 ms lognormal service with cv 1.5 has an exact p99 of 69.33 ms ("69.3 ms"); an SLO of
# 69.6 ms at 1,300 requests/s takes 5 replicas of 4 vCPUs. One 200k-request run at seed 0 put the service
# time's p99 at 69.8 ms, so the planner used to refuse this SLO as impossible.
LOGNORMAL_10MS = Distribution(dist="lognormal", mean=10.0, cv=1.5)
PEAK_RPS, SLO_MS = 1300.0, 69.6
C6I = InstanceType("c6i.xlarge", 4, 8, "", 0.17, "test")
C5 = InstanceType("c5.2xlarge", 8, 16, "", 0.34, "test")
EXPONENTIAL_20MS = Distribution(dist="exponential", mean=20.0, cv=1.0)


def brute_force(arrival_rps: float, service: Distribution, servers: int, requests: int, seed: int):
    """The plain sample p99 of one long kernel run and a distribution-free interval around it: the order
    statistics 4 binomial standard deviations either side of the 99th percentile's rank. The interval
    ignores correlation between successive requests, so the cases below keep the SLO well outside it."""
    response = np.sort(simulate_queue(arrival_rps, service, servers, requests, seed).response_ms)
    rank, spread = int(0.99 * len(response)), int(4 * math.sqrt(len(response) * 0.99 * 0.01))
    return response[rank - spread], response[rank], response[rank + spread]


def test_the_reported_case_is_planned_and_confirmed_within_its_standard_error():
    floor = service_percentile(LOGNORMAL_10MS, 0.99)
    assert f"{floor:.3g}" == "69.3" and floor < SLO_MS
    best = cheapest(PEAK_RPS, LOGNORMAL_10MS, SLO_MS, [C6I, C5])
    assert best is not None and (best.instance, best.replicas, best.servers) == ("c6i.xlarge", 5, 20)
    assert floor <= best.p99_ms <= SLO_MS and 0 < best.p99_se_ms <= REL_SE * best.p99_ms
    # Confirmed by replications of another seed: at or under the SLO within its SE (it is ~5 SE under).
    assert floor <= best.p99_confirmed_ms <= SLO_MS + best.p99_confirmed_se_ms
    assert 0 < best.p99_confirmed_se_ms <= REL_SE * best.p99_confirmed_ms
    # And once more, independently of the planner, with a seed it never used.
    again = p99_estimate(PEAK_RPS, LOGNORMAL_10MS, 20, seed=2024)
    assert again.p99_ms - again.se_ms <= SLO_MS


def test_one_replica_fewer_misses_the_slo():
    """4 replicas have a p99 of ~71.2 ms, ~8 SE over the SLO; the test asks for Z = 3."""
    assert min_replicas(PEAK_RPS, LOGNORMAL_10MS, 4, SLO_MS) == 5
    fewer = p99_estimate(PEAK_RPS, LOGNORMAL_10MS, 16, seed=7)
    assert fewer.p99_ms - Z * fewer.se_ms > SLO_MS


def test_a_brute_force_check_backs_the_reported_case():
    """Long plain runs cannot resolve 5 replicas' p99 (~69.42 ms) from 69.6 ms: a 2M-request run's sample p99
    has an SE of ~0.2 ms there. They agree as far as they can: 4 replicas miss (70.9 ms, the interval's low end
    70.1 ms), and 5 replicas are not refuted (69.3 ms, interval 68.5-70.1 ms)."""
    low, _, _ = brute_force(PEAK_RPS, LOGNORMAL_10MS, 16, 2_000_000, 4242)
    assert low > SLO_MS
    low, _, _ = brute_force(PEAK_RPS, LOGNORMAL_10MS, 20, 2_000_000, 4242)
    assert low <= SLO_MS


@pytest.mark.parametrize(("arrival_rps", "service", "concurrency", "slo_ms", "expected"), [
    # Brute-force p99 (1M requests, seed 4242) at the two counts either side of the answer, and its interval:
    # 3: 104.3 [103.1, 105.6]; 4: 97.9 [96.6, 99.2]
    (500.0, Distribution(dist="lognormal", mean=20.0, cv=1.0), 4, 100.0, 4),
    # 7: 56.8 [56.5, 57.1]; 8: 51.2 [50.9, 51.5]
    (600.0, Distribution(dist="gamma", mean=20.0, cv=0.5), 2, 54.0, 8),
    # 4: 16.0 [15.95, 16.1]; 5: 11.6 [11.5, 11.6]
    (1300.0, Distribution(dist="deterministic", mean=10.0, cv=0.0), 4, 12.5, 5),
])
def test_min_replicas_agrees_with_brute_force(arrival_rps, service, concurrency, slo_ms, expected):
    """The SLOs sit several interval widths from both counts' brute-force p99, so the check is decisive."""
    assert min_replicas(arrival_rps, service, concurrency, slo_ms) == expected
    low, _, _ = brute_force(arrival_rps, service, (expected - 1) * concurrency, 1_000_000, 4242)
    assert low > slo_ms  # one replica fewer misses
    _, _, high = brute_force(arrival_rps, service, expected * concurrency, 1_000_000, 4242)
    assert high <= slo_ms  # the answer meets it


def test_the_standard_error_at_the_floor_is_small_and_honest():
    """At and near the floor the SE is ≤ 0.3% (it is ~0.03-0.06%); across 16 seeds the estimates spread as
    their SEs say (ratio measured 1.05; allowed 0.5-2, wide enough for 16 draws)."""
    floor = service_percentile(LOGNORMAL_10MS, 0.99)
    for servers in (20, 24, 40):
        estimate = p99_estimate(PEAK_RPS, LOGNORMAL_10MS, servers, seed=3)
        assert estimate.rel_se <= REL_SE and estimate.p99_ms >= floor
    assert abs(estimate.p99_ms - floor) <= Z * estimate.se_ms  # 40 servers: no queueing left to speak of
    spread = [p99_estimate(PEAK_RPS, LOGNORMAL_10MS, 20, seed=s, rel_se=None) for s in range(100, 116)]
    ratio = np.std([e.p99_ms for e in spread], ddof=1) / np.mean([e.se_ms for e in spread])
    assert 0.5 <= ratio <= 2.0


def test_the_estimate_never_falls_below_the_service_p99_and_falls_as_servers_are_added():
    """With the same replications at every size (common random numbers), waits can only shrink."""
    floor = service_percentile(LOGNORMAL_10MS, 0.99)
    figures = [p99_estimate(PEAK_RPS, LOGNORMAL_10MS, servers, rel_se=None, max_replications=8).p99_ms
               for servers in (14, 16, 18, 20, 24, 32)]
    assert all(a >= b for a, b in zip(figures, figures[1:], strict=False))
    assert figures[-1] >= floor


def test_an_slo_below_the_exact_service_p99_is_refused_and_one_just_above_is_planned():
    floor = service_percentile(LOGNORMAL_10MS, 0.99)
    for slo in (69.3, floor):  # below the floor, and at it (approached, never reached, by a continuous time)
        assert cheapest(PEAK_RPS, LOGNORMAL_10MS, slo, [C6I]) is None
        assert min_replicas(PEAK_RPS, LOGNORMAL_10MS, 4, slo) is None
        refused = plan(PEAK_RPS, LOGNORMAL_10MS, slo, [C6I])
        assert refused.impossible and refused.over_limit == () and "a p99 of 69.33 ms" in refused.reason
    # 0.01 ms above the floor still has a fleet; it needs more replicas.
    close = cheapest(PEAK_RPS, LOGNORMAL_10MS, 69.34, [C6I])
    assert close is not None and close.replicas > 5 and close.p99_ms <= 69.34
    # A deterministic service time is its own p99, and a fleet where under 1% of requests wait meets it.
    assert min_replicas(1300.0, Distribution(dist="deterministic", mean=10.0, cv=0.0), 4, 10.0) == 6


def test_needing_more_than_max_replicas_is_told_apart_from_impossible(monkeypatch):
    huge = 5e6  # 100,000 busy servers: 25,001 replicas of 4 (12,501 of 8) just to keep up
    with pytest.raises(ReplicaLimitError, match=r"needs 25,001 replicas of 4 to keep up, more than the 10,000 "):
        min_replicas(huge, EXPONENTIAL_20MS, 4, 200.0)
    assert cheapest(huge, EXPONENTIAL_20MS, 200.0, [C6I]) is None  # callers that only want an option
    limited = plan(huge, EXPONENTIAL_20MS, 200.0, [C6I, C5])
    assert not limited.impossible and limited.over_limit == ("c6i.xlarge", "c5.2xlarge")
    assert "more than 10,000 replicas of every instance type" in limited.reason
    # The same signal when the replicas that keep up are allowed but the SLO needs more of them.
    monkeypatch.setattr(capacity, "MAX_REPLICAS", 5)
    with pytest.raises(ReplicaLimitError, match=r"slo_p99_ms: 69.34 ms needs more than 5 replicas of 4"):
        min_replicas(PEAK_RPS, LOGNORMAL_10MS, 4, 69.34)
    assert issubclass(ReplicaLimitError, PlanError) and issubclass(PlanError, ValueError)


def test_exponential_service_still_uses_the_exact_mmc_formula(monkeypatch):
    def no_kernel(*args, **kwargs):
        raise AssertionError("the kernel ran for exponential service")

    monkeypatch.setattr(p99, "fcfs_waits", no_kernel)
    exact = 1000.0 * mmc_response_percentile(500.0, 50.0, 16, 0.99)
    estimate = p99_estimate(500.0, EXPONENTIAL_20MS, 16)
    assert (estimate.p99_ms, estimate.se_ms, estimate.exact) == (exact, 0.0, True)
    assert p99_ms(500.0, EXPONENTIAL_20MS, 16) == exact
    best = cheapest(500.0, EXPONENTIAL_20MS, 100.0, [C6I])
    assert best.p99_se_ms == 0.0 and best.p99_confirmed_ms == best.p99_ms
    assert p99_estimate(500.0, EXPONENTIAL_20MS, 10).p99_ms == math.inf  # unstable


def test_the_same_seed_gives_the_same_plan_and_another_seed_other_draws():
    first = p99_estimate(PEAK_RPS, LOGNORMAL_10MS, 20, seed=5)
    assert p99_estimate(PEAK_RPS, LOGNORMAL_10MS, 20, seed=5) == first
    assert p99_estimate(PEAK_RPS, LOGNORMAL_10MS, 20, seed=6).p99_ms != first.p99_ms
    one = cheapest(PEAK_RPS, LOGNORMAL_10MS, SLO_MS, [C6I], seed=9)
    capacity._search_within.cache_clear()  # searches are remembered; compute this one afresh
    capacity._confirm.cache_clear()
    assert dataclasses.astuple(cheapest(PEAK_RPS, LOGNORMAL_10MS, SLO_MS, [C6I], seed=9)) == dataclasses.astuple(one)
    assert one.p99_confirmed_ms != one.p99_ms  # confirmed with other draws


def test_replication_zero_is_the_kernels_own_run():
    run = p99._replicate(PEAK_RPS, LOGNORMAL_10MS, 16, 25_000, 5, 0)
    kernel = simulate_queue(PEAK_RPS, LOGNORMAL_10MS, 16, 25_000, 5)
    waited = kernel.wait_ms > 0
    assert run.requests == kernel.requests
    assert np.array_equal(run.waited_response, np.sort(kernel.response_ms[waited]))


def test_tradeoff_with_the_slo_agrees_with_the_plan():
    best = cheapest(PEAK_RPS, LOGNORMAL_10MS, SLO_MS, [C6I])
    rows = tradeoff(PEAK_RPS, LOGNORMAL_10MS, C6I, slo_p99_ms=SLO_MS, extra=3)
    assert [r.replicas for r in rows] == [4, 5, 6, 7]
    assert [r.p99_ms <= SLO_MS for r in rows] == [False, True, True, True]
    assert rows[1].p99_ms == best.p99_ms and rows[1].p99_se_ms == best.p99_se_ms
    assert all(math.isnan(r.p99_confirmed_ms) for r in rows)  # only a plan's choice is confirmed


def test_options_built_the_old_way_still_work():
    old = Option("c6i.xlarge", 2, 8, 0.5, 90.0, 0.34)
    assert (old.p99_se_ms, old.usd_per_month) == (0.0, 0.34 * capacity.HOURS_PER_MONTH)
    assert math.isnan(old.p99_confirmed_ms) and math.isnan(old.p99_confirmed_se_ms)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: cheapest(0.0, LOGNORMAL_10MS, 100.0, [C6I]), "peak_rps: 0.0 is not allowed; must be a finite number > 0"),
    (lambda: cheapest(math.inf, LOGNORMAL_10MS, 100.0, [C6I]), "peak_rps: inf is not allowed"),
    (lambda: cheapest(100.0, LOGNORMAL_10MS, -1.0, [C6I]), "slo_p99_ms: -1.0 is not allowed; must be > 0"),
    (lambda: cheapest(100.0, LOGNORMAL_10MS, 100.0, [C6I], 0),
     "concurrency: 0 is not allowed; must be an integer >= 1"),
    (lambda: p99_estimate(100.0, LOGNORMAL_10MS, 4, seed=-1), "seed: -1 is not allowed; must be an integer >= 0"),
    (lambda: p99_estimate(100.0, LOGNORMAL_10MS, 0), "servers: 0 is not allowed; must be an integer >= 1"),
], ids=["peak_rps", "infinite_peak_rps", "slo", "concurrency", "seed", "servers"])
def test_bad_input_names_the_value_and_what_is_allowed(call, message):
    with pytest.raises(PlanError, match=message.replace(".", r"\.")):
        call()
