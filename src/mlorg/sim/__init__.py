"""The discrete-event model of an ML organisation."""

from mlorg.sim.entities import HOURS_PER_DAY, HOURS_PER_WEEK, HOURS_PER_YEAR, SimOutput
from mlorg.sim.levels import Level
from mlorg.sim.org import OrgSimulation, run_once

__all__ = ["HOURS_PER_DAY", "HOURS_PER_WEEK", "HOURS_PER_YEAR", "Level", "OrgSimulation", "SimOutput", "run_once"]
