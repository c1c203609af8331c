"""Sweeps, sensitivity and goal-seeking over many replicated runs: in this process, on a local process
pool (joblib's loky backend) or on a Dask cluster, with the same results whichever runs them.

``sweep`` runs a grid of scenario edits; ``sensitivity`` varies each numeric input ± a spread (a tornado
table); ``optimise`` finds the grid cell with the highest net value (or the best of another metric) that meets a target
with 95% confidence.
"""

from mlorg.sweeps.execute import BACKENDS, CONNECT_TIMEOUT_S, DEFAULT_TIMEOUT_S
from mlorg.sweeps.grid import Cell, SweepError, cells, edit, parse_values, parse_vary
from mlorg.sweeps.optimise import Objective, Optimum, Target, judge_cells, objective_of, optimise, parse_target
from mlorg.sweeps.sensitivity import numeric_inputs, sensitivity
from mlorg.sweeps.table import parameters, read_table, summarise_cells, sweep, write_table

__all__ = [
    "BACKENDS", "CONNECT_TIMEOUT_S", "DEFAULT_TIMEOUT_S", "Cell", "Objective", "Optimum", "SweepError", "Target",
    "cells", "edit", "judge_cells", "numeric_inputs", "objective_of", "optimise", "parameters", "parse_target",
    "parse_values", "parse_vary", "read_table", "sensitivity", "summarise_cells", "sweep", "write_table",
]
