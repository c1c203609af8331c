"""The discrete-event model of an ML organisation."""

from mlorg.sim.levels import Level
from mlorg.sim.org import HOURS_PER_DAY, HOURS_PER_WEEK, HOURS_PER_YEAR, OrgSimulation, SimOutput, run_once

__all__ = ["HOURS_PER_DAY", "HOURS_PER_WEEK", "HOURS_PER_YEAR", "Level", "OrgSimulation", "SimOutput", "run_once"]
