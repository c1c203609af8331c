"""The serving queue written plainly in SimPy: the reference the fast kernel is tested against.

Each request is a process started at its arrival time that asks a ``simpy.Resource`` with one slot per
server for a slot, holds it for its service time and releases it. SimPy grants a Resource first come,
first served, so this is the FCFS multi-server queue of :func:`mlorg.serving.kernel.fcfs_waits`, written
for reading rather than speed; on the same draws the two give identical waits.
"""

from __future__ import annotations

import numpy as np
import simpy

from mlorg.serving.kernel import _check_trace


def simpy_waits(arrival_ms: np.ndarray, service_ms: np.ndarray, servers: int) -> np.ndarray:
    """Each request's wait in queue (ms), FCFS on ``servers`` identical servers, simulated with SimPy."""
    arrivals, services = _check_trace(arrival_ms, service_ms, servers)
    env = simpy.Environment()
    slots = simpy.Resource(env, capacity=int(servers))
    waits = np.zeros(len(arrivals))

    def request(index: int, arrival: float, service: float):
        with slots.request() as slot:
            yield slot
            waits[index] = env.now - arrival
            yield env.timeout(service)

    def start(index: int, arrival: float, service: float):
        # A timeout from time 0 fires at exactly `arrival` (0 + arrival), with no rounding from summing gaps.
        # Timeouts due at the same instant fire in the order they were made, so simultaneous arrivals
        # ask for a slot in index order.
        env.timeout(arrival).callbacks.append(lambda _event: env.process(request(index, arrival, service)))

    for index, (arrival, service) in enumerate(zip(arrivals.tolist(), services.tolist(), strict=True)):
        start(index, arrival, service)
    env.run()
    return waits
