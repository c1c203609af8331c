"""Queueing kernel speed, measured against the SimPy reference and a bare heapq loop in the same run.

Prints requests simulated per second by
  * the kernel, ``mlorg.serving.kernel.fcfs_waits`` (input checks and array conversions included;
    target >= 1,000,000 requests/s);
  * the SimPy reference, ``mlorg.serving.reference.simpy_waits``, on a prefix of the same draws;
  * a minimal heapq loop written below over ready-made Python lists (their making is not timed): the
    floor a pure-Python kernel cannot beat;
with the kernel's speed-up over SimPy and its overhead over the floor. All three see the same draws
(Poisson arrivals, exponential service, utilisation 0.9) and must return the same waits.

Run: uv run python benchmarks/serving_speed.py [--quick] [--servers N]
"""

from __future__ import annotations

import argparse
import heapq
import time
from collections.abc import Callable

import numpy as np

from mlorg.scenario import Distribution
from mlorg.serving.kernel import fcfs_waits, poisson_arrivals, service_draws
from mlorg.serving.reference import simpy_waits

TARGET = 1_000_000  # requests/s
MEAN_SERVICE_MS = 10.0
UTILISATION = 0.9


def floor_waits(arrivals: list[float], services: list[float], servers: int) -> list[float]:
    """The least work an FCFS multi-server loop in Python can do: no checks, no conversions."""
    free = [0.0] * servers
    waits = []
    for arrival, service in zip(arrivals, services, strict=True):
        first_free = free[0]
        if first_free > arrival:
            waits.append(first_free - arrival)
            heapq.heapreplace(free, first_free + service)
        else:
            waits.append(0.0)
            heapq.heapreplace(free, arrival + service)
    return waits


def best_rate(run: Callable[[], object], requests: int, repeats: int) -> tuple[float, object]:
    """Requests per second of the fastest of ``repeats`` calls, and that call's result."""
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = run()
        best = min(best, time.perf_counter() - start)
    return requests / best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests and repeats")
    parser.add_argument("--servers", type=int, default=4, help="number of servers (default 4)")
    args = parser.parse_args()
    requests = 500_000 if args.quick else 3_000_000
    simpy_requests = 20_000 if args.quick else 100_000
    repeats = 1 if args.quick else 3
    servers = args.servers

    rng = np.random.default_rng(0)
    arrivals = poisson_arrivals(UTILISATION * servers / MEAN_SERVICE_MS * 1000.0, requests, rng)
    services = service_draws(Distribution(dist="exponential", mean=MEAN_SERVICE_MS), requests, rng)
    arrival_list, service_list = arrivals.tolist(), services.tolist()

    kernel, kernel_waits = best_rate(lambda: fcfs_waits(arrivals, services, servers), requests, repeats)
    floor, floor_out = best_rate(lambda: floor_waits(arrival_list, service_list, servers), requests, repeats)
    reference, simpy_out = best_rate(
        lambda: simpy_waits(arrivals[:simpy_requests], services[:simpy_requests], servers), simpy_requests, 1)
    same = (np.array_equal(kernel_waits, floor_out)
            and np.array_equal(kernel_waits[:simpy_requests], simpy_out))

    print(f"== FCFS queue, {servers} servers, utilisation {UTILISATION}, exponential service "
          f"({requests:,} requests; SimPy {simpy_requests:,}; best of {repeats})")
    print(f"kernel (fcfs_waits)        {kernel:12,.0f} requests/s   (target >= {TARGET:,}: "
          f"{'met' if kernel >= TARGET else 'MISSED'})")
    print(f"SimPy reference            {reference:12,.0f} requests/s")
    print(f"heapq floor                {floor:12,.0f} requests/s")
    print(f"kernel speed-up over SimPy {kernel / reference:12.1f} x")
    print(f"kernel overhead over floor {floor / kernel:12.2f} x")
    print(f"identical waits            {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
