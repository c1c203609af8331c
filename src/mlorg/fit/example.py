"""The example history and the known organisation that made it: ``python -m mlorg.fit.example`` rewrites
``data/example_history.csv`` from :data:`TRUTH` applied to ``data/example_history_base.toml``, so that a fit of the
example can be checked against the values that generated it."""

from __future__ import annotations

from pathlib import Path

from mlorg.fit.simulated import generate_history
from mlorg.scenario import Scenario, load
from mlorg.sweeps.grid import edit

ROOT = Path(__file__).resolve().parents[3]
BASE = ROOT / "data" / "example_history_base.toml"
HISTORY = ROOT / "data" / "example_history.csv"
START = "2024-01-01"
SEED = 17
# The organisation's true values, which the base leaves at the schema's defaults (640, 48, 180, 180, 1095).
TRUTH = {
    "research.cycle_hours.mean": 320.0,
    "productionisation.effort_hours.mean": 60.0,
    "productionisation.abandon_after_days": 120.0,
    "lifecycle.retrain_every_days": 120.0,
    "lifecycle.lifetime_days": 540.0,
}

# A congested variant for the coverage benchmark: one ML engineer for ten data scientists, so trained models queue
# and those waiting past abandon_after_days are dropped (a wall of demos) — where abandonment shows in a history.
CONGESTED_STAFF = {"org.ml_engineers": 1}
CONGESTED = {**TRUTH, "productionisation.effort_hours.mean": 40.0, "productionisation.abandon_after_days": 60.0}


def truth() -> Scenario:
    return edit(load(BASE), TRUTH)


def congested() -> tuple[Scenario, Scenario]:
    """The congested organisation, and its base (the same staff; the fitted values at the schema's defaults)."""
    return edit(load(BASE), {**CONGESTED_STAFF, **CONGESTED}), edit(load(BASE), CONGESTED_STAFF)


def main() -> None:
    generate_history(truth(), SEED, START).to_csv(HISTORY, index=False)
    print(f"wrote {HISTORY}")


if __name__ == "__main__":
    main()
