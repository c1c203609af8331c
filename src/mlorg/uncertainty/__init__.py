"""Probabilistic sensitivity analysis: the figures once the inputs marked uncertain are drawn from their
distributions — the interval that includes input uncertainty, which inputs explain the variance, and what learning
them before a decision would be worth."""

from mlorg.uncertainty.decision import Decision, best_shares, decide, evpi, evppi
from mlorg.uncertainty.draws import MAX_DRAWS, draw_table, drawn_scenario, drawn_scenarios
from mlorg.uncertainty.intervals import mixture_interval
from mlorg.uncertainty.runs import UncertainRuns, run_uncertain, shares_of
from mlorg.uncertainty.shares import METHOD, explained_text, variance_shares

__all__ = ["MAX_DRAWS", "METHOD", "Decision", "UncertainRuns", "best_shares", "decide", "draw_table", "drawn_scenario",
           "drawn_scenarios", "evpi", "evppi", "explained_text", "mixture_interval", "run_uncertain", "shares_of",
           "variance_shares"]
