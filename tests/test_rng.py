"""Unit tests of the named random streams and the samplers built on them."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import numpy as np
import pytest

from mlorg.rng import Sampler, Streams, _name_key, _uint32_words, distribution_moments
from mlorg.scenario import Distribution


def draws(seed: int, replication: int, name: str, n: int = 5) -> list[float]:
    return Streams(seed, replication).generator(name).random(n).tolist()


# ------------------------------------------------------------------------------------------- streams

def test_same_seed_name_and_replication_give_identical_draws():
    assert draws(7, 3, "research/data_scientist/0") == draws(7, 3, "research/data_scientist/0")
    a = Streams(7, 3).sampler("deploy/review", Distribution(dist="gamma", mean=5.0, cv=0.7))
    b = Streams(7, 3).sampler("deploy/review", Distribution(dist="gamma", mean=5.0, cv=0.7))
    assert [a() for _ in range(300)] == [b() for _ in range(300)]


def test_different_names_replications_and_seeds_differ():
    base = draws(7, 3, "research/data_scientist/0")
    assert draws(7, 3, "research/data_scientist/1") != base
    assert draws(7, 4, "research/data_scientist/0") != base
    assert draws(8, 3, "research/data_scientist/0") != base
    # Replication r of seed s is not replication s of seed r.
    assert draws(1, 2, "x") != draws(2, 1, "x")


def test_many_names_give_pairwise_different_streams():
    names = [f"research/data_scientist/{i}" for i in range(50)] + ["deploy/review", "lifecycle/lifetime"]
    firsts = {Streams(0, 0).generator(name).random() for name in names}
    assert len(firsts) == len(names)


def test_a_new_stream_does_not_change_another_streams_draws():
    streams = Streams(11, 0)
    alone = streams.generator("attrition/ml_engineer").random(10).tolist()
    other = Streams(11, 0)
    other.generator("research/data_scientist/9").random(1000)  # a stream that did not exist before
    other.sampler("new/process", Distribution(dist="exponential", mean=3.0))()
    assert other.generator("attrition/ml_engineer").random(10).tolist() == alone


def test_a_stream_does_not_depend_on_the_order_streams_are_created():
    first = Streams(5, 2)
    a1, b1 = first.generator("a").random(3).tolist(), first.generator("b").random(3).tolist()
    second = Streams(5, 2)
    b2, a2 = second.generator("b").random(3).tolist(), second.generator("a").random(3).tolist()
    assert (a1, b1) == (a2, b2)


def test_stream_keys_do_not_depend_on_pythons_hash_seed():
    # Python's str hash is salted per process; the stream key must not be.
    code = ("from mlorg.rng import Streams; "
            "print(repr(Streams(3, 1).generator('research/data_scientist/0').random()))")
    outputs = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
        outputs.add(done.stdout)
    assert outputs == {repr(Streams(3, 1).generator("research/data_scientist/0").random()) + "\n"}


@pytest.mark.parametrize("seed", [0, 1, 7, 2**32 - 1, 2**32, 2**70 + 3, 2**140 + 1])
@pytest.mark.parametrize("replication", [0, 3, 2**32 + 9])
def test_a_streams_generator_is_numpys_generator_for_its_seed_sequence(seed, replication):
    # Streams.generator assembles SeedSequence's words itself; it must give the generator numpy's spawn key gives.
    streams = Streams(seed, replication)
    for name in ("research/data_scientist/0", "governance/ml_engineer/12", "", "x" * 300):
        expected = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(replication, _name_key(name))))
        assert streams.generator(name).bit_generator.state == expected.bit_generator.state


def test_integer_words_are_seed_sequences_words():
    from numpy.random.bit_generator import _coerce_to_uint32_array  # numpy's own splitting, to compare with
    for n in (0, 1, 2**31, 2**32 - 1, 2**32, 2**32 + 1, 2**64 - 1, 2**64, 2**96 + 2**33 + 5):
        assert _uint32_words(n) == _coerce_to_uint32_array(n).tolist()


@pytest.mark.parametrize(("seed", "replication", "message"), [
    (-1, 0, "seed must be an integer >= 0, got -1"),
    (1.5, 0, "seed must be an integer >= 0, got 1.5"),
    ("3", 0, "seed must be an integer >= 0, got '3'"),
    (0, -1, "replication must be >= 0, got -1"),
])
def test_streams_reject_bad_arguments(seed, replication, message):
    with pytest.raises(ValueError) as info:
        Streams(seed, replication)
    assert str(info.value) == message


def test_large_seeds_are_accepted():
    assert draws(2**63 - 1, 999, "x") == draws(2**63 - 1, 999, "x")
    assert draws(2**63 - 1, 0, "x") != draws(2**63 - 2, 0, "x")


# ------------------------------------------------------------------------------------------- samplers

N_DRAWS = 200_000
TOLERANCE_SE = 4.0  # standard errors; the draws are seeded, so the test is deterministic


@pytest.mark.parametrize("distribution", [
    Distribution(dist="exponential", mean=3.0),
    Distribution(dist="exponential", mean=48.0, cv=0.1),  # cv is ignored: an exponential's cv is 1
    Distribution(dist="lognormal", mean=640.0, cv=0.6),
    Distribution(dist="lognormal", mean=2.0, cv=1.0),
    Distribution(dist="gamma", mean=48.0, cv=0.8),
    Distribution(dist="gamma", mean=5.0, cv=1.5),
], ids=lambda d: f"{d.dist}-{d.mean:g}-{d.cv:g}")
def test_sampler_moments_match_distribution_moments(distribution):
    x = Streams(2024, 0).sampler("moments", distribution).block(N_DRAWS)
    mean, variance = distribution_moments(distribution)
    assert x.min() > 0
    mean_se = math.sqrt(variance / N_DRAWS)
    assert abs(x.mean() - mean) < TOLERANCE_SE * mean_se
    # Standard error of the sample variance from the sample's own fourth central moment.
    squared = (x - x.mean()) ** 2
    variance_se = squared.std() / math.sqrt(N_DRAWS)
    assert abs(x.var(ddof=1) - variance) < TOLERANCE_SE * variance_se


def test_distribution_moments_values():
    assert distribution_moments(Distribution(dist="exponential", mean=3.0, cv=0.2)) == (3.0, 9.0)
    assert distribution_moments(Distribution(dist="lognormal", mean=10.0, cv=0.5)) == (10.0, 25.0)
    assert distribution_moments(Distribution(dist="gamma", mean=4.0, cv=2.0)) == (4.0, 64.0)
    assert distribution_moments(Distribution(dist="deterministic", mean=7.0, cv=0.9)) == (7.0, 0.0)


def test_deterministic_and_zero_mean_draws_are_exact():
    sampler = Streams(0).sampler("d", Distribution(dist="deterministic", mean=7.5, cv=0.9))
    assert [sampler() for _ in range(300)] == [7.5] * 300
    for kind in ("exponential", "lognormal", "gamma"):
        zero = Streams(0).sampler("z", Distribution(dist=kind, mean=0.0, cv=0.5))
        assert [zero() for _ in range(3)] == [0.0, 0.0, 0.0]


def test_unknown_distribution_is_an_error():
    sampler = Sampler(np.random.default_rng(0), Distribution(dist="normal", mean=1.0))
    with pytest.raises(ValueError, match="^unknown distribution 'normal'$"):
        sampler()


@pytest.mark.parametrize("kind", ["exponential", "lognormal", "gamma"])
def test_buffered_draws_equal_blocks_from_a_fresh_generator(kind):
    distribution = Distribution(dist=kind, mean=12.0, cv=0.7)
    sampler = Streams(9, 1).sampler("buffered", distribution)
    buffered = [sampler() for _ in range(600)]  # more than two buffers' worth
    fresh = Streams(9, 1).sampler("buffered", distribution)
    assert buffered[:256] == fresh.block(256).tolist()
    assert buffered[256:512] == fresh.block(256).tolist()
    assert buffered[512:] == fresh.block(256).tolist()[:88]
    assert buffered == Streams(9, 1).sampler("buffered", distribution).block(600).tolist()
