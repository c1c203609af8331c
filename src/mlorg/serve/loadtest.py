"""An open-loop load generator: requests sent at Poisson arrival times whatever the server's state, as real users
send them. A closed loop (send, wait for the answer, send again) slows down with the server and hides the queue.

Every request is planned before the first is sent (seeded exponential gaps at ``rate`` for ``duration``), each on a
connection of its own, and the generator's own lateness (actual send − planned) is reported beside the server's
latency, so a generator that cannot keep up says so. Bounded: loopback only, at most ``MAX_RATE`` a second,
``MAX_DURATION_S`` and ``MAX_REQUESTS``, and every request gives up after ``request_timeout`` seconds.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import math
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import numpy as np

from mlorg.pipeline.features import FEATURES

MAX_RATE = 5_000.0
MAX_DURATION_S = 600.0
MAX_REQUESTS = 200_000
PERCENTILES = (50, 95, 99)


class LoadTestError(ValueError):
    """A load test that cannot be run as asked (named field, value and what is allowed)."""


@dataclass(frozen=True)
class LoadResult:
    planned_s: np.ndarray  # planned send times, seconds from the start
    sent_s: np.ndarray  # when each was sent
    latency_ms: np.ndarray  # send to the end of the answer; NaN when there was no answer
    status: np.ndarray  # HTTP status, 0 when the connection failed or timed out
    duration_s: float  # the load's planned length

    def summary(self) -> dict[str, float]:
        ok = self.status == 200
        answered = self.latency_ms[ok]
        lateness = (self.sent_s - self.planned_s) * 1000.0
        return {"requests": int(self.status.size), "ok": int(ok.sum()), "errors": int((~ok).sum()),
                "throughput_rps": float(ok.sum() / self.duration_s) if self.duration_s > 0 else math.nan,
                **{f"p{q}_ms": percentile(answered, q) for q in PERCENTILES},
                "generator_lateness_p99_ms": percentile(lateness, 99)}


def percentile(values: np.ndarray, q: float) -> float:
    """The q-th percentile by linear interpolation between order statistics (numpy's default); NaN for none."""
    values = np.asarray(values, dtype=float)
    return float(np.percentile(values, q)) if values.size else math.nan


def arrival_times(rate: float, duration: float, seed: int = 0) -> np.ndarray:
    """Poisson arrivals at ``rate`` a second over [0, duration): exponential gaps from a seeded generator."""
    rng = np.random.default_rng(seed)
    expected = rate * duration
    gaps = rng.exponential(1.0 / rate, size=int(expected + 10 * math.sqrt(expected) + 10))
    times = np.cumsum(gaps)
    return times[times < duration]


def default_body() -> bytes:
    """One transaction's features (mid-range values) for a server that scores the reference model."""
    return json.dumps({"features": dict.fromkeys(FEATURES, 1.0)}).encode()


def loadtest(url: str, rate: float, duration: float, *, body: bytes | None = None, seed: int = 0,
             request_timeout: float = 5.0) -> LoadResult:
    """Send POST requests with ``body`` to ``url`` (http on loopback) at Poisson times, and time each answer."""
    host, port, path = check_target(url)
    check_load(rate, duration, request_timeout)
    planned = arrival_times(rate, duration, seed)
    if planned.size > MAX_REQUESTS:
        raise LoadTestError(f"--rate × --duration: {planned.size:,} requests is not allowed; must be <= "
                            f"{MAX_REQUESTS:,}")
    request = _request(host, port, path, body if body is not None else default_body())
    sent, latency, status = asyncio.run(_drive(host, port, request, planned, request_timeout))
    return LoadResult(planned, sent, latency, status, float(duration))


def check_target(url: str) -> tuple[str, int, str]:
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise LoadTestError(f"url: {url!r} is not allowed; must be http://HOST:PORT/PATH on this machine")
    host = parts.hostname
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, parts.port or 80, type=socket.SOCK_STREAM)}
    except (socket.gaierror, ValueError) as exc:
        raise LoadTestError(f"url: {url!r} is not allowed; {host} does not resolve ({exc})") from None
    if not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        raise LoadTestError(f"url: {url!r} is not allowed; a load test targets loopback only (127.0.0.1, ::1, "
                            "localhost)")
    return host, parts.port or 80, parts.path or "/score"


def check_load(rate: float, duration: float, request_timeout: float) -> None:
    for name, value, high in (("--rate", rate, MAX_RATE), ("--duration", duration, MAX_DURATION_S),
                              ("--timeout", request_timeout, 60.0)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not (0 < value <= high):
            raise LoadTestError(f"{name}: {value!r} is not allowed; must be a number > 0 and <= {high:g}")


def _request(host: str, port: int, path: str, body: bytes) -> bytes:
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
    return head.encode() + body


async def _drive(host: str, port: int, request: bytes, planned: np.ndarray,
                 timeout: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = planned.size
    sent, latency, status = np.full(n, math.nan), np.full(n, math.nan), np.zeros(n, dtype=np.int64)
    start = time.perf_counter()

    async def one(i: int) -> None:
        began = time.perf_counter()
        sent[i] = began - start
        try:
            code = await asyncio.wait_for(_exchange(host, port, request), timeout)
        except (TimeoutError, OSError, ValueError):
            return
        latency[i] = (time.perf_counter() - began) * 1000.0
        status[i] = code

    tasks = []
    for i, at in enumerate(planned):
        delay = start + at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))  # not awaited: the next request goes at its time regardless
    if tasks:
        await asyncio.wait(tasks, timeout=timeout + 1.0)
    return sent, latency, status


async def _exchange(host: str, port: int, request: bytes) -> int:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(request)
        await writer.drain()
        answer = await reader.read()  # the server closes the connection after the answer (Connection: close)
    finally:
        writer.close()
    line = answer.split(b"\r\n", 1)[0].split()
    if len(line) < 2 or not line[1].isdigit():
        raise ValueError("not an HTTP answer")
    return int(line[1])
