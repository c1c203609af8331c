"""Vectorised serving totals of real-time models (mlorg.serving.fleet) and their SLO limits (mlorg.serving.slo)
against M/M/c theory and a plain loop."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from mlorg.scenario import Distribution
from mlorg.serving import fleet
from mlorg.serving.analytic import (
    erlang_c,
    erlang_c_array,
    mgc_response_tail,
    mgc_response_tail_array,
    mmc_response_percentile,
    mmc_response_tail,
    mmc_response_tail_array,
)
from mlorg.serving.fleet import ServingTotals, _per_hour_totals, realtime_totals
from mlorg.serving.profile_index import ProfileIndex, WindowPasses
from mlorg.serving.slo import RealtimePolicy, SloTable

SERVICE_MS = (2.0, 5.0, 20.0)
SLO_MS = (8.0, 50.0, 200.0)  # 8 ms is below the p99 of even 2 ms service (2 · ln 100 ≈ 9.2 ms): never met
_TABLES: dict[tuple[float, float], SloTable] = {}  # shared across cases so each server count is solved once


def table_for(policy: RealtimePolicy) -> SloTable:
    key = (policy.service_ms, policy.slo_p99_ms)
    if key not in _TABLES:
        _TABLES[key] = SloTable(policy)
    return _TABLES[key]


def prefix(profile: np.ndarray) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum(profile)])


def brute_force(base_rps, start, end, profile, policy, table) -> ServingTotals:
    """The rules of realtime_totals, one hour at a time in plain Python."""
    loads = [base_rps * float(profile[h]) for h in range(len(profile))]
    cost = replica_hours = predictions = meeting = 0.0
    for h in range(start, end):
        if policy.fixed_replicas > 0:
            replicas = policy.fixed_replicas
        else:
            seen = loads[max(h - policy.reaction_delay_hours, start)]
            needed = math.ceil(seen * (policy.service_ms / 1000.0) / (policy.concurrency * policy.target_utilisation))
            replicas = max(1, min(max(needed, policy.min_replicas), policy.max_replicas))
            # and more, up to max_replicas, until the p99 at the load seen meets the SLO (if any count can)
            if table.max_rps(policy.concurrency) > 0:
                while replicas < max(policy.max_replicas, 1) and table.max_rps(replicas * policy.concurrency) < seen:
                    replicas += 1
        cost += replicas * policy.usd_per_hour
        replica_hours += replicas
        predictions += loads[h] * 3600.0
        meeting += loads[h] <= table.max_rps(replicas * policy.concurrency)
    floor = policy.fixed_replicas if policy.fixed_replicas > 0 else max(policy.min_replicas, 1)
    return ServingTotals(cost, replica_hours, predictions, float(end - start), meeting,
                         floor * (end - start) * policy.usd_per_hour)


def assert_totals_equal(got: ServingTotals, want: ServingTotals, *, rel: float = 1e-9) -> None:
    assert got.replica_hours == want.replica_hours
    assert got.hours == want.hours
    assert got.hours_meeting_slo == want.hours_meeting_slo
    assert got.cost_usd == pytest.approx(want.cost_usd, rel=rel, abs=1e-9)
    assert got.predictions == pytest.approx(want.predictions, rel=rel, abs=1e-6)
    assert got.floor_cost_usd == pytest.approx(want.floor_cost_usd, rel=rel, abs=1e-9)


def random_policy(rng: np.random.Generator) -> RealtimePolicy:
    min_replicas = int(rng.integers(0, 5))
    return RealtimePolicy(
        service_ms=float(rng.choice(SERVICE_MS)), concurrency=int(rng.integers(1, 5)),
        usd_per_hour=float(rng.uniform(0.05, 3.0)), slo_p99_ms=float(rng.choice(SLO_MS)),
        fixed_replicas=int(rng.integers(1, 8)) if rng.random() < 0.2 else 0, min_replicas=min_replicas,
        max_replicas=int(rng.integers(max(min_replicas, 1), min_replicas + 15)),
        target_utilisation=float(rng.uniform(0.3, 1.0)), reaction_delay_hours=int(rng.integers(0, 5)))


def random_case(rng: np.random.Generator):
    hours = int(rng.integers(1, 200))
    profile = rng.gamma(2.0, 0.5, hours) * (rng.random(hours) > 0.05)  # some idle hours
    profile[rng.random(hours) < 0.03] *= 20.0  # spikes: hit max_replicas and overload
    start = int(rng.integers(0, hours + 1))
    end = int(rng.integers(start, hours + 1))
    base_rps = float(rng.lognormal(math.log(100.0), 2.0))  # from idle models to ones far past max_replicas
    return base_rps, start, end, profile, random_policy(rng)


def test_max_rps_puts_the_p99_on_the_slo():
    """At max_rps the M/M/c p99 equals the SLO (1e-6 relative); just above max_rps it exceeds it."""
    for service_ms, slo_ms in [(5.0, 50.0), (20.0, 100.0), (2.0, 10.0), (10.0, 46.1)]:
        table = SloTable(RealtimePolicy(service_ms, 1, 1.0, slo_ms))
        mu = 1000.0 / service_ms
        for servers in (1, 2, 8, 64, 400):
            rate = table.max_rps(servers)
            assert 0 < rate < servers * mu
            p99 = 1000.0 * mmc_response_percentile(rate, mu, servers, 0.99)
            assert p99 == pytest.approx(slo_ms, rel=1e-6)
            assert 1000.0 * mmc_response_percentile(rate * (1 + 1e-5), mu, servers, 0.99) > slo_ms
        rates = table.max_rps_array(np.array([[1, 2], [8, 64]]))
        assert rates.shape == (2, 2) and np.all(np.diff(rates.ravel()) > 0)  # more servers carry more load


def test_max_rps_is_zero_when_service_alone_misses_the_slo():
    """Exponential service alone has p99 = mean · ln 100 ≈ 4.6 × mean; an SLO below that can never be met."""
    table = SloTable(RealtimePolicy(10.0, 1, 1.0, 10.0 * math.log(100) * 0.999))
    assert table.max_rps(1) == 0.0 and table.max_rps(1000) == 0.0
    # and every hour with traffic misses it, whatever the replicas
    policy = RealtimePolicy(10.0, 4, 1.0, table.slo_p99_ms, min_replicas=50, max_replicas=50)
    profile = np.array([1.0, 0.0, 2.0])
    totals = realtime_totals(1.0, 0, 3, profile, prefix(profile), policy, table)
    assert totals.hours_meeting_slo == 1.0  # only the idle hour


def test_max_rps_array_solves_each_distinct_count_once():
    """max_rps_array matches max_rps elementwise and caches only the distinct server counts it saw."""
    table = SloTable(RealtimePolicy(5.0, 1, 1.0, 50.0))
    servers = np.array([3, 3, 7, 3, 12, 7])
    np.testing.assert_array_equal(table.max_rps_array(servers), [table.max_rps(int(c)) for c in servers])
    assert sorted(table._cache) == [3, 7, 12]


# Service shapes and SLOs for the array solver: M/M/c exact and the M/G/c approximation, an overhead outside the
# queue, and an SLO that even an idle server misses (every limit 0.0).
SOLVER_POLICIES = [
    RealtimePolicy(5.0, 1, 1.0, 50.0),
    RealtimePolicy(2.0, 1, 1.0, 12.0, overhead_ms=1.5),
    RealtimePolicy(3.0, 1, 1.0, 50.0, service_dist="lognormal", service_cv=1.5),
    RealtimePolicy(20.0, 1, 1.0, 100.0, service_dist="gamma", service_cv=0.5),
    RealtimePolicy(10.0, 1, 1.0, 12.0, service_dist="deterministic"),
    RealtimePolicy(10.0, 1, 1.0, 40.0),  # exponential p99 alone is 46 ms
]


@pytest.mark.parametrize("policy", SOLVER_POLICIES, ids=lambda p: f"{p.service_dist}-{p.service_ms:g}-{p.slo_p99_ms:g}")
def test_the_array_solver_gives_the_scalar_bisections_limits(policy):
    """_solve_many over server counts 1 … 2,000 (every count to 100, a seeded sample above) equals the scalar
    bisection _solve within 1e-12 relative (Erlang C from a closed form can flip a last step: ~1e-13), and max_rps,
    max_rps_array and limits all read those values."""
    rng = np.random.default_rng(11)
    servers = np.unique(np.concatenate([np.arange(1, 101), rng.integers(101, 2001, 40), [2000]]))
    table = SloTable(policy)
    got = table._solve_many(servers)
    want = np.array([table._solve(int(c)) for c in servers])
    if policy.slo_p99_ms == 40.0:
        assert np.all(want == 0.0) and np.all(got == 0.0)
    else:
        assert np.all(want > 0) and np.all(np.diff(want) > 0)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
    assert [table.max_rps(int(c)) for c in servers] == got.tolist()
    np.testing.assert_array_equal(table.max_rps_array(servers[::-1]), got[::-1])
    fresh = SloTable(policy)  # limits fill a range in one call; max_rps then reads the same values
    limits = fresh.limits(1, 25, 4)
    assert limits.tolist() == fresh._solve_many(np.arange(1, 26) * 4).tolist()
    assert [fresh.max_rps(4 * r) for r in range(1, 26)] == limits.tolist()


def test_erlang_c_over_arrays_matches_the_recursion():
    """The closed form of erlang_c_array against erlang_c's recursion for c = 1 … 3,000 (every count to 60, a seeded
    sample above) and loads from 1e-4 to 0.99999 of c: within 1e-12 relative wherever C >= 1e-100 (measured: 4e-14
    where C >= 1e-12); and the M/M/c and M/G/c tails built on it against the scalar tails, within 1e-12."""
    rng = np.random.default_rng(5)
    counts = np.unique(np.concatenate([np.arange(1, 61), rng.integers(61, 3001, 80), [3000]]))
    for utilisation in (1e-4, 0.1, 0.24, 0.26, 0.5, 0.8, 0.9, 0.99, 0.99999):
        loads = utilisation * counts * 0.5  # a service rate of 0.5
        want = np.array([erlang_c(float(a), 0.5, int(c)) for a, c in zip(loads, counts, strict=True)])
        np.testing.assert_allclose(erlang_c_array(loads, 0.5, counts), want, rtol=1e-12, atol=1e-100,
                                   err_msg=f"utilisation {utilisation}")
    servers = rng.integers(1, 1500, 200)
    rates = rng.uniform(0.01, 0.9999, 200) * servers * 100.0  # service rate 100/s: 10 ms
    lognormal = Distribution(dist="lognormal", mean=0.01, cv=0.8)
    for t in (0.005, 0.03, 0.2):
        np.testing.assert_allclose(
            mmc_response_tail_array(rates, 100.0, servers, t),
            [mmc_response_tail(float(r), 100.0, int(c), t) for r, c in zip(rates, servers, strict=True)], rtol=1e-12)
        np.testing.assert_allclose(
            mgc_response_tail_array(rates, lognormal, servers, t),
            [mgc_response_tail(float(r), lognormal, int(c), t) for r, c in zip(rates, servers, strict=True)],
            rtol=1e-12)
    with pytest.raises(ValueError, match="unstable"):
        erlang_c_array(np.array([1.0, 4.0]), 1.0, np.array([2, 4]))
    with pytest.raises(ValueError, match="whole numbers"):
        erlang_c_array(1.0, 1.0, np.array([2.5]))


def test_realtime_totals_match_a_plain_per_hour_loop():
    """Both the fast path and the forced per-hour path equal the brute-force loop on 300 random cases
    (delays, fixed replicas, idle hours, spikes past max_replicas and into overload); all paths were hit."""
    rng = np.random.default_rng(20240601)
    seen = {"fast": 0, "per_hour": 0, "missed": 0, "at_max": 0, "overload": 0, "delay": 0}
    for _ in range(300):
        base_rps, start, end, profile, policy = random_case(rng)
        table = table_for(policy)
        want = brute_force(base_rps, start, end, profile, policy, table)
        got = realtime_totals(base_rps, start, end, profile, prefix(profile), policy, table)
        slow = _per_hour_totals(base_rps, start, end, profile, prefix(profile), policy, table)
        assert_totals_equal(got, want)
        assert got == slow  # the fast path is exact, not approximately equal
        if end > start:
            peak = base_rps * profile[start:end].max()
            needed = math.ceil(peak * policy.service_ms / 1000 / (policy.concurrency * policy.target_utilisation))
            scales = policy.fixed_replicas == 0 and needed > policy.floor_replicas
            seen["per_hour"] += scales
            seen["fast"] += not scales
            seen["missed"] += want.hours_meeting_slo < want.hours
            seen["at_max"] += not policy.fixed_replicas and needed > policy.max_replicas
            seen["overload"] += not policy.fixed_replicas and peak * policy.service_ms / 1000 > \
                policy.max_replicas * policy.concurrency
            seen["delay"] += scales and policy.reaction_delay_hours > 0
    assert min(seen.values()) >= 10, seen


def test_the_profile_index_answers_as_a_pass_over_each_window():
    """The sparse table's max and min of every window of a 300-hour array, and of 2,000 random windows of a long one,
    are exactly numpy's; the rises it picks out of a window are exactly the hours a pass finds."""
    rng = np.random.default_rng(7)
    short = rng.gamma(2.0, 0.5, 300) * (rng.random(300) > 0.05)  # some hours with no load at all
    index, passes = ProfileIndex(short), WindowPasses(short)
    for start in range(300):
        for end in range(start + 1, 301):
            assert index.max(start, end) == short[start:end].max()
            assert index.min(start, end) == short[start:end].min()
            for delay, ratio in ((1, 1.5), (2, 3.0), (0, 0.5)):
                assert sorted(index.rises_above(delay, ratio, start, end)) == \
                    list(passes.rises_above(delay, ratio, start, end))
    long = rng.lognormal(0.0, 1.0, 43_801)
    index = ProfileIndex(long)
    for _ in range(2_000):
        start = int(rng.integers(0, len(long)))
        end = int(rng.integers(start + 1, len(long) + 1))
        assert (index.max(start, end), index.min(start, end)) == (long[start:end].max(), long[start:end].min())
    assert index.rises_above(1, 0.5, 0, len(long)) is None  # most hours rise that much: a pass is cheaper


def test_totals_with_the_profile_index_are_the_totals_without():
    """Giving realtime_totals the profile's index changes no total, on the random cases of the loop test and on
    smooth profiles with rare spikes, where only the spikes' hours are checked against the SLO; an index built for
    another profile is refused."""
    rng = np.random.default_rng(20240601)
    cases = [random_case(rng) for _ in range(300)]
    for _ in range(200):  # smooth daily swings (rises below the SLO's slack) and a few threefold spikes
        hours = int(rng.integers(48, 2_000))
        profile = 1.0 + 0.5 * np.sin(np.arange(hours) * 2 * np.pi / 24) ** 2
        profile[rng.random(hours) < 0.01] *= 3.0
        start = int(rng.integers(0, hours - 1))
        policy = dataclasses.replace(random_policy(rng), fixed_replicas=0, max_replicas=500,
                                     slo_p99_ms=float(rng.choice((50.0, 200.0))))
        cases.append((float(rng.lognormal(math.log(2_000.0), 1.0)), start, int(rng.integers(start + 1, hours + 1)),
                      profile, policy))
    by_rises = 0
    for base_rps, start, end, profile, policy in cases:
        table = table_for(policy)
        with_index = realtime_totals(base_rps, start, end, profile, prefix(profile), policy, table,
                                     ProfileIndex(profile))
        assert with_index == realtime_totals(base_rps, start, end, profile, prefix(profile), policy, table)
        assert_totals_equal(with_index, brute_force(base_rps, start, end, profile, policy, table))
        if end > start and not policy.fixed_replicas:
            seen = profile[start:max(end - policy.reaction_delay_hours, start + 1)]
            by_rises += fleet._scaled_by_rises(base_rps, start, end, profile, prefix(profile), policy, table,
                                               ProfileIndex(profile), base_rps * float(seen.min()),
                                               base_rps * float(seen.max())) is not None
    assert by_rises >= 50  # the cases reached the path that checks only the rises
    profile = np.ones(10)
    with pytest.raises(ValueError, match="index"):
        realtime_totals(1.0, 0, 5, profile, prefix(profile), RealtimePolicy(5.0, 1, 1.0, 50.0),
                        SloTable(RealtimePolicy(5.0, 1, 1.0, 50.0)), ProfileIndex(np.ones(11)))


def test_fast_path_with_misses_and_fixed_replicas_equals_per_hour_path():
    """Constant replicas that miss the SLO in some hours are counted hour by hour, as the per-hour path does."""
    profile = np.array([0.5, 1.0, 30.0, 1.0, 0.0, 40.0])
    for policy in (RealtimePolicy(5.0, 1, 2.0, 50.0, fixed_replicas=1),
                   RealtimePolicy(5.0, 1, 2.0, 50.0, min_replicas=3, max_replicas=3),
                   RealtimePolicy(5.0, 1, 2.0, 50.0, min_replicas=0, max_replicas=4, target_utilisation=1.0)):
        table = SloTable(policy)
        for base_rps in (0.0, 1.0, 10.0, 30.0):
            got = realtime_totals(base_rps, 1, 6, profile, prefix(profile), policy, table)
            assert got == _per_hour_totals(base_rps, 1, 6, profile, prefix(profile), policy, table)
            assert_totals_equal(got, brute_force(base_rps, 1, 6, profile, policy, table))


def test_slo_boundary_is_inclusive_on_both_paths():
    """A load exactly at max_rps meets the SLO; the next float above it misses on a fixed fleet, and makes an
    autoscaler that sees it add a replica in those hours (and meet it), on the fast and per-hour paths."""
    profile = np.array([1.0, 0.5, 1.0])
    fixed = RealtimePolicy(5.0, 2, 1.0, 50.0, fixed_replicas=3)
    autoscaled = RealtimePolicy(5.0, 2, 1.0, 50.0, min_replicas=3, max_replicas=9, target_utilisation=1.0)
    for policy, above in ((fixed, (9.0, 1.0)), (autoscaled, (11.0, 3.0))):
        table = SloTable(policy)
        limit = table.max_rps(3 * 2)
        for base_rps, (replica_hours, meeting) in ((limit, (9.0, 3.0)), (float(np.nextafter(limit, math.inf)), above)):
            for totals in (realtime_totals(base_rps, 0, 3, profile, prefix(profile), policy, table),
                           _per_hour_totals(base_rps, 0, 3, profile, prefix(profile), policy, table)):
                assert (totals.replica_hours, totals.hours_meeting_slo) == (replica_hours, meeting)


def test_predictions_are_exact():
    """Predictions are base_rps × 3600 × the window's summed profile, exactly (integer profile: no rounding)."""
    profile = np.arange(1.0, 1001.0)
    policy = RealtimePolicy(5.0, 4, 1.0, 50.0, min_replicas=2, max_replicas=10)
    totals = realtime_totals(3.0, 10, 990, profile, prefix(profile), policy, SloTable(policy))
    assert totals.predictions == 3.0 * 3600.0 * sum(range(11, 991))
    assert totals.hours == 980.0


def test_totals_add_and_split_windows_add_up():
    """ServingTotals add fieldwise; for a model without delay or fixed replicas, [a, c) = [a, b) + [b, c)."""
    rng = np.random.default_rng(3)
    profile = rng.gamma(2.0, 0.5, 500)
    policy = RealtimePolicy(5.0, 2, 0.5, 50.0, min_replicas=1, max_replicas=20)
    table = SloTable(policy)
    whole = realtime_totals(400.0, 50, 450, profile, prefix(profile), policy, table)
    parts = (realtime_totals(400.0, 50, 200, profile, prefix(profile), policy, table)
             + realtime_totals(400.0, 200, 450, profile, prefix(profile), policy, table))
    assert_totals_equal(parts, whole)
    assert ServingTotals(1, 2, 3, 4, 5) + ServingTotals(10, 20, 30, 40, 50) == ServingTotals(11, 22, 33, 44, 55)
    assert sum([ServingTotals(1, 1, 1, 1, 1)] * 3, ServingTotals()) == ServingTotals(3, 3, 3, 3, 3)


def test_monotone_in_base_rps_and_min_replicas():
    """On the same profile a bigger model never costs less, and a higher min_replicas never lowers the SLO
    hours (more replicas never hurt: max_rps grows with servers)."""
    rng = np.random.default_rng(11)
    for _ in range(60):
        base_rps, start, end, profile, policy = random_case(rng)
        table = table_for(policy)
        pre = prefix(profile)
        small = realtime_totals(base_rps, start, end, profile, pre, policy, table)
        big = realtime_totals(base_rps * float(rng.uniform(1.0, 5.0)), start, end, profile, pre, policy, table)
        assert big.cost_usd >= small.cost_usd and big.replica_hours >= small.replica_hours
        more = RealtimePolicy(**{**policy.__dict__, "min_replicas": policy.max_replicas})
        assert realtime_totals(base_rps, start, end, profile, pre, more, table).hours_meeting_slo \
            >= small.hours_meeting_slo


@pytest.mark.parametrize("change, name", [
    ({"service_ms": 0.0}, "service_ms"), ({"slo_p99_ms": -1.0}, "slo_p99_ms"), ({"concurrency": 0}, "concurrency"),
    ({"usd_per_hour": -0.1}, "usd_per_hour"), ({"fixed_replicas": -1}, "fixed_replicas"),
    ({"min_replicas": 5, "max_replicas": 4}, "min_replicas"), ({"max_replicas": 0}, "max_replicas"),
    ({"target_utilisation": 0.0}, "target_utilisation"), ({"target_utilisation": 1.5}, "target_utilisation"),
    ({"reaction_delay_hours": -1}, "reaction_delay_hours"), ({"concurrency": 2.5}, "concurrency"),
])
def test_policy_rejects_bad_values(change, name):
    """Each bad policy value is refused with a message naming it."""
    fields = {"service_ms": 5.0, "concurrency": 4, "usd_per_hour": 1.0, "slo_p99_ms": 50.0} | change
    with pytest.raises(ValueError, match=name):
        RealtimePolicy(**fields)


@pytest.mark.parametrize("base_rps, start, end, name", [
    (-1.0, 0, 5, "base_rps"), (math.nan, 0, 5, "base_rps"), (1.0, 4, 3, "start"), (1.0, -1, 3, "start"),
    (1.0, 0, 11, "end"), (1.0, 0.5, 3, "start"),
])
def test_realtime_totals_rejects_bad_arguments(base_rps, start, end, name):
    """Bad calls are refused with a message naming the argument."""
    profile = np.ones(10)
    policy = RealtimePolicy(5.0, 4, 1.0, 50.0)
    with pytest.raises(ValueError, match=name):
        realtime_totals(base_rps, start, end, profile, prefix(profile), policy, SloTable(policy))


def test_realtime_totals_rejects_a_mismatched_table_or_prefix():
    """A table built for another service time or SLO, or a prefix of the wrong length, is refused."""
    profile = np.ones(10)
    policy = RealtimePolicy(5.0, 4, 1.0, 50.0)
    other = SloTable(RealtimePolicy(5.0, 4, 1.0, 60.0))
    with pytest.raises(ValueError, match="table"):
        realtime_totals(1.0, 0, 5, profile, prefix(profile), policy, other)
    with pytest.raises(ValueError, match="profile_prefix"):
        realtime_totals(1.0, 0, 5, profile, np.cumsum(profile), policy, SloTable(policy))
    assert realtime_totals(1.0, 5, 5, profile, prefix(profile), policy, SloTable(policy)) == ServingTotals()


def test_a_tighter_slo_never_costs_less_and_more_load_never_costs_less():
    """The autoscaler sizes each hour for utilisation and for the SLO, so on 200 random cases halving the SLO
    never lowers the replica-hours, and doubling the load never does either (fixed fleets included). The one
    exception is stated: an SLO that even an idle replica misses is not chased with replicas that cannot help."""
    rng = np.random.default_rng(5)
    tighter_cost_more = 0
    for _ in range(200):
        base_rps, start, end, profile, policy = random_case(rng)
        strict = dataclasses.replace(policy, slo_p99_ms=policy.slo_p99_ms / 2)
        loose = realtime_totals(base_rps, start, end, profile, prefix(profile), policy, table_for(policy))
        tight = realtime_totals(base_rps, start, end, profile, prefix(profile), strict, SloTable(strict))
        busier = realtime_totals(2 * base_rps, start, end, profile, prefix(profile), policy, table_for(policy))
        if SloTable(strict).max_rps(1) > 0:
            assert tight.replica_hours >= loose.replica_hours
        assert busier.replica_hours >= loose.replica_hours
        tighter_cost_more += tight.replica_hours > loose.replica_hours
    assert tighter_cost_more > 3  # the SLO does bind in some cases, so the check is not vacuous


def test_an_overhead_outside_the_queue_takes_its_time_from_the_slo():
    """A request's time outside the queue (network, client) occupies no server: the fleet meets a 50 ms SLO with
    5 ms of overhead exactly as it meets 45 ms without it; an SLO within the overhead is never met; and a larger
    overhead never makes the bill smaller."""
    with_overhead = SloTable(RealtimePolicy(5.0, 1, 1.0, 50.0, overhead_ms=5.0))
    without = SloTable(RealtimePolicy(5.0, 1, 1.0, 45.0))
    for servers in (1, 4, 32):
        assert with_overhead.max_rps(servers) == without.max_rps(servers) > 0
    assert SloTable(RealtimePolicy(5.0, 1, 1.0, 50.0, overhead_ms=50.0)).max_rps(8) == 0.0
    with pytest.raises(ValueError, match="overhead_ms: -1.0 is not allowed; must be >= 0"):
        RealtimePolicy(5.0, 1, 1.0, 50.0, overhead_ms=-1.0)
    rng = np.random.default_rng(9)
    for _ in range(100):
        base_rps, start, end, profile, policy = random_case(rng)
        slower = dataclasses.replace(policy, overhead_ms=policy.slo_p99_ms / 4)
        plain = realtime_totals(base_rps, start, end, profile, prefix(profile), policy, table_for(policy))
        padded = realtime_totals(base_rps, start, end, profile, prefix(profile), slower, SloTable(slower))
        if SloTable(slower).max_rps(1) > 0:
            assert padded.replica_hours >= plain.replica_hours
        assert padded.hours_meeting_slo <= plain.hours_meeting_slo or padded.replica_hours > plain.replica_hours
