"""What the parts of the organisation simulator use of the simulation that owns them: its scenario, clock, random
streams and the few operations they call (:class:`mlorg.sim.org.OrgSimulation` is the one implementation)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from mlorg.rng import Streams
from mlorg.scenario import Scenario
from mlorg.sim.entities import Model, WorkItem
from mlorg.sim.kernel import Clock
from mlorg.sim.levels import Level


class Organisation(Protocol):
    s: Scenario
    env: Clock
    streams: Streams
    horizon: float
    built: dict[str, float]  # capabilities in place, and since when
    factor: dict[str, float]  # effort multipliers in force: capabilities built and roadmap items done
    role_count: dict[str, int]
    levels: dict[str, Level]
    models_live: Level
    backlog: Level

    def at(self, time: float, callback: Callable) -> None: ...
    def log(self, event: str, model: int = -1, worker: int = -1, detail: str = "") -> None: ...
    def enqueue(self, item: WorkItem) -> None: ...
    def new_version(self, model: Model) -> None: ...
    def update_loads(self) -> None: ...
