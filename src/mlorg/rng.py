"""Named, independent random streams derived from one seed.

Each stream is keyed by its *name* rather than by the order in which it was created, so adding a
data scientist or a new process family to a scenario leaves every other stream's draws unchanged
(common random numbers across scenarios). The key is a stable hash of the name, never Python's
salted ``hash``.
"""

from __future__ import annotations

import hashlib

import numpy as np

from mlorg.scenario import Distribution

_BLOCK = 256  # draws fetched from numpy at a time; scalar numpy calls cost ~1 µs each


def _name_key(name: str) -> int:
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little")


class Streams:
    """The random streams of one replication: ``Streams(seed, replication).generator("research/ds-3")``."""

    def __init__(self, seed: int, replication: int = 0):
        if not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
        if replication < 0:
            raise ValueError(f"replication must be >= 0, got {replication!r}")
        self.seed = seed
        self.replication = replication

    def generator(self, name: str) -> np.random.Generator:
        sequence = np.random.SeedSequence(self.seed, spawn_key=(self.replication, _name_key(name)))
        return np.random.default_rng(sequence)

    def sampler(self, name: str, distribution: Distribution) -> Sampler:
        return Sampler(self.generator(name), distribution)


class Sampler:
    """Draws from one :class:`Distribution`, fetched from its generator in blocks for speed."""

    def __init__(self, generator: np.random.Generator, distribution: Distribution):
        self.generator = generator
        self.distribution = distribution
        self._buffer: list[float] = []

    def __call__(self) -> float:
        if not self._buffer:
            self._buffer = self.block(_BLOCK).tolist()
            self._buffer.reverse()
        return self._buffer.pop()

    def block(self, n: int) -> np.ndarray:
        d, g = self.distribution, self.generator
        if d.dist == "deterministic" or d.mean == 0:
            return np.full(n, d.mean)
        if d.dist == "exponential":
            return g.exponential(d.mean, n)
        if d.dist == "lognormal":
            # Parameters chosen so that the draws have exactly the requested mean and cv.
            sigma2 = np.log1p(d.cv**2)
            return g.lognormal(np.log(d.mean) - sigma2 / 2, np.sqrt(sigma2), n)
        if d.dist == "gamma":
            shape = 1.0 / d.cv**2
            return g.gamma(shape, d.mean / shape, n)
        raise ValueError(f"unknown distribution {d.dist!r}")


def distribution_moments(distribution: Distribution) -> tuple[float, float]:
    """Theoretical mean and variance of a :class:`Distribution`."""
    d = distribution
    if d.dist == "deterministic":
        return d.mean, 0.0
    if d.dist == "exponential":
        return d.mean, d.mean**2
    return d.mean, (d.cv * d.mean) ** 2
