"""A work budget: how much a run will cost, estimated from the scenario before it starts, and refused above a limit.

Most of a run's time and memory go to the models its people train. Every person who can do research trains at most
one model per research cycle of their productive hours (less when other work comes first), so

    models ≤ Σ over roles of research efficiency × people (at day 0 and hired) × productive hours over the horizon
             ÷ the mean research cycle

is an upper bound per replication (1.2–1.6 times the models the shipped scenarios train). Measured here, a model
costs ≈ 0.4–0.7 ms and ≈ 15–25 kB at the peak of Python's own allocations (organisations of 250–1,000 data
scientists over one or two years; ``uber_scale``: 10,116 models, 437,081 events, 71 MB), and the process's
resident memory is about half as much again: the budget takes 1 ms and 40 kB a model.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlorg.scenario import ROLES, Scenario

HOURS_PER_WEEK = 168.0
BYTES_PER_MODEL = 40_000
SECONDS_PER_MODEL = 0.001
MAX_MODELS_PER_REPLICATION = 50_000  # ≈ 2 GB and ≈ 1 minute for one replication
MAX_MODELS = 1_000_000  # over all replications (and sweep cells): ≈ 17 minutes of simulation on one core
# Above this, a server runs the replications on a process pool rather than in the thread serving the page: a
# job of a few seconds does not repay the pool's start (≈ 2–5 s on first use, while the workers import mlorg).
HEAVY_SECONDS = 10.0


class OverBudget(ValueError):
    """The run would cost more than the budget allows."""


@dataclass(frozen=True)
class Estimate:
    models_per_replication: float
    replications: int

    @property
    def models(self) -> float:
        return self.models_per_replication * self.replications

    @property
    def memory_gb(self) -> float:
        return self.models_per_replication * BYTES_PER_MODEL / 1e9

    @property
    def seconds(self) -> float:
        return self.models * SECONDS_PER_MODEL

    @property
    def minutes(self) -> float:
        return self.seconds / 60.0

    @property
    def heavy(self) -> bool:
        """Worth a process pool (see HEAVY_SECONDS)."""
        return self.seconds > HEAVY_SECONDS

    def describe(self) -> str:
        return (f"up to {self.models_per_replication:,.0f} models a replication × {self.replications} = "
                f"{self.models:,.0f} models, ≈ {self.memory_gb:.1f} GB a replication and ≈ {self.minutes:,.0f} "
                "minutes on one core")


def estimate(scenario: Scenario, replications: int = 1) -> Estimate:
    """The upper bound on the models a run trains (see the module's docstring)."""
    org = scenario.org
    people = {"data_scientist": org.data_scientists, "ml_engineer": org.ml_engineers,
              "platform_engineer": org.platform_engineers}
    for hire in org.hiring:
        people[hire.role] += hire.count
    hours = scenario.horizon_days * 24.0 * org.productive_hours_per_week / HOURS_PER_WEEK
    researchers = sum(getattr(scenario.skills, role).research * people[role] for role in ROLES)
    models = researchers * hours / max(scenario.research.cycle_hours.mean, 1e-9)
    return Estimate(models, replications)


def check(scenario: Scenario, replications: int = 1, *, allow_large: bool = False) -> Estimate:
    """The estimate, or OverBudget naming it and the limit when it is above the budget (unless ``allow_large``)."""
    cost = estimate(scenario, replications)
    if allow_large:
        return cost
    if cost.models_per_replication > MAX_MODELS_PER_REPLICATION or cost.models > MAX_MODELS:
        raise OverBudget(f"{scenario.name}: this run would train {cost.describe()}; the budget is "
                         f"{MAX_MODELS_PER_REPLICATION:,} models a replication and {MAX_MODELS:,} in all. Fewer "
                         "people, a shorter horizon or fewer replications fit; --allow-large runs it anyway")
    return cost
