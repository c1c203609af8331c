"""Named, independent random streams derived from one seed.

Each stream is keyed by its *name* rather than by the order in which it was created, so adding a
data scientist or a new process family to a scenario leaves every other stream's draws unchanged
(common random numbers across scenarios). The key is a stable hash of the name, never Python's
salted ``hash``.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Callable

import numpy as np

from mlorg.scenario import Distribution

_BLOCK = 256  # draws fetched from numpy at a time; scalar numpy calls cost ~1 µs each


def _name_key(name: str) -> int:
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little")


def _uint32_words(n: int) -> list[int]:
    """``n``'s 32-bit words, least significant first, as SeedSequence splits an integer (0 is one word)."""
    words = [n & 0xFFFFFFFF]
    n >>= 32
    while n:
        words.append(n & 0xFFFFFFFF)
        n >>= 32
    return words


class Streams:
    """The random streams of one replication: ``Streams(seed, replication).generator("research/ds-3")``."""

    def __init__(self, seed: int, replication: int = 0):
        if not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
        if replication < 0:
            raise ValueError(f"replication must be >= 0, got {replication!r}")
        self.seed = seed
        self.replication = replication
        # SeedSequence(seed, spawn_key=(replication, key)) mixes these words and then the key's into its pool: the
        # seed's, padded with zeros to the pool's four, then the replication's.
        seed_words = _uint32_words(seed)
        self._words = seed_words + [0] * (4 - len(seed_words)) + _uint32_words(replication)

    def generator(self, name: str) -> np.random.Generator:
        """The stream ``name``'s generator: ``default_rng(SeedSequence(seed, spawn_key=(replication, key)))`` for the
        name's key, made from the words that sequence assembles (the same pool, so the same generator; a test holds
        them equal). Working the words out in numpy took half of the 12 µs a stream costs, and a run makes
        thousands."""
        words = np.array(self._words + _uint32_words(_name_key(name)), dtype=np.uint32)
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence(words)))

    def sampler(self, name: str, distribution: Distribution) -> Sampler:
        """A sampler of the stream ``name``, whose generator is made at its first draw: making one costs about
        12 µs, and a third of a run's samplers are never drawn from (or draw a constant)."""
        return Sampler(None, distribution, make_generator=NamedStream(self, name))

    def uniforms(self, name: str) -> Uniforms:
        """The stream ``name``'s uniform draws, one at a time (see :class:`Uniforms`)."""
        return Uniforms(NamedStream(self, name))

    def lazy_generator(self, name: str) -> LazyGenerator:
        """The stream ``name``'s generator, made at its first use (for streams that many runs never draw from)."""
        return LazyGenerator(NamedStream(self, name))


class NamedStream:
    """Makes the stream ``name``'s generator when called: ``partial(streams.generator, name)`` in one object rather
    than three (a run holds thousands of these until their first draw, and the collector walks each object)."""

    __slots__ = ("streams", "name")

    def __init__(self, streams: Streams, name: str):
        self.streams, self.name = streams, name

    def __call__(self) -> np.random.Generator:
        return self.streams.generator(self.name)


# The buffer of a sampler that has drawn nothing yet: shared, and never added to (a full block replaces it).
# Buffers are arrays of doubles, not lists of floats: the garbage collector walks every item of a list, and a
# large run's samplers held a million leftover floats when the collector resumed after it.
_NO_DRAWS = array("d")


def _reversed_buffer(block: np.ndarray) -> array:
    """``block``'s draws as a buffer that ``pop()`` gives back in order."""
    return array("d", block[::-1].astype(np.float64, copy=False).tobytes())


class Uniforms:
    """A stream's uniform draws on [0, 1), made at the first draw and fetched in blocks: ``random()`` gives exactly
    what the stream's generator's ``random()`` would, in the same order (numpy fills an array with the draws it
    would make one at a time). For a stream that nothing else draws from."""

    __slots__ = ("_make", "_generator", "_buffer")

    def __init__(self, make: Callable[[], np.random.Generator]):
        self._make: Callable[[], np.random.Generator] | None = make
        self._generator: np.random.Generator | None = None
        self._buffer = _NO_DRAWS

    def random(self) -> float:
        try:
            return self._buffer.pop()
        except IndexError:  # once every _BLOCK draws
            if self._generator is None:
                self._generator, self._make = self._make(), None
            self._buffer = _reversed_buffer(self._generator.random(_BLOCK))
            return self._buffer.pop()


class LazyGenerator:
    """Stands in for a named stream's generator until something draws from it; then it is that generator."""

    __slots__ = ("_make", "_generator")

    def __init__(self, make: Callable[[], np.random.Generator]):
        self._make = make
        self._generator: np.random.Generator | None = None

    def __getattr__(self, name: str):
        if self._generator is None:
            self._generator, self._make = self._make(), None
        return getattr(self._generator, name)


class Sampler:
    """Draws from one :class:`Distribution`, fetched from its generator in blocks for speed. Without a generator,
    ``make_generator`` makes it at the first draw."""

    __slots__ = ("_generator", "_make_generator", "distribution", "_buffer")

    def __init__(self, generator: np.random.Generator | None, distribution: Distribution, *,
                 make_generator: Callable[[], np.random.Generator] | None = None):
        if generator is None and make_generator is None:
            raise ValueError("Sampler needs a generator or make_generator")
        self._generator = generator
        self._make_generator = make_generator
        self.distribution = distribution
        self._buffer = _NO_DRAWS

    @property
    def generator(self) -> np.random.Generator:
        if self._generator is None:
            self._generator, self._make_generator = self._make_generator(), None
        return self._generator

    def __call__(self) -> float:
        try:
            return self._buffer.pop()
        except IndexError:  # once every _BLOCK draws
            self._buffer = _reversed_buffer(self.block(_BLOCK))
            return self._buffer.pop()

    def block(self, n: int) -> np.ndarray:
        d = self.distribution
        if d.dist == "deterministic" or d.mean == 0:
            return np.full(n, d.mean, dtype=float)
        g = self.generator
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
