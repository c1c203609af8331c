"""The numbers people type outside a scenario file, and what each allows: one table for the app's forms and the
command line's options, so that a value is refused in the same words wherever it is typed.

A refused value is named with the label the form shows, the value and what is allowed (``Replicas: 0 is not
allowed; must be an integer >= 1 and <= 100,000``). A value that is allowed but odd — a fleet far larger than the
load needs, an organisation with nobody to train a model — gets a warning that says what is odd
(:func:`serving_oddities`, :func:`team_oddities`); it still runs. Scenario fields have their rules in the schema
(:func:`mlorg.scenario.field_problem`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlorg import formatting


@dataclass(frozen=True)
class Input:
    label: str  # as a form labels it
    kind: type  # int or float
    lo: float
    hi: float
    lo_open: bool = False  # the lower bound itself is not allowed
    doc: str = ""

    @property
    def rule(self) -> str:
        kind = "an integer" if self.kind is int else "a number"
        return f"{kind} {'>' if self.lo_open else '>='} {_bound(self.lo)} and <= {_bound(self.hi)}"

    def problem(self, value: Any, name: str | None = None) -> str | None:
        """Why ``value`` is refused, named ``name`` (else by the label), or None when it is allowed."""
        refusal = self.refusal(value)
        return None if refusal is None else f"{name or self.label}: {refusal}"

    def refusal(self, value: Any) -> str | None:
        """``0 is not allowed; must be an integer >= 1 and <= 100,000``, or None when ``value`` is allowed."""
        if value is None:
            return f"empty is not allowed; must be {self.rule}"
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        if not is_number or not math.isfinite(value) or (self.kind is int and not float(value).is_integer()):
            return f"{_shown(value)} is not allowed; must be {self.rule}"
        too_low = value <= self.lo if self.lo_open else value < self.lo
        if too_low or value > self.hi:
            return f"{_shown(value)} is not allowed; must be {self.rule}"
        return None


def _bound(x: float) -> str:
    if isinstance(x, int) or float(x).is_integer() and abs(x) < 1e15:
        return f"{int(x):,}"
    return f"{x:g}"


def _shown(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return f"{value:g}"
    return repr(value) if isinstance(value, str) else str(value)


MAX_APP_SEED = 2**31 - 1  # what a browser's number box holds exactly

INPUTS: dict[str, Input] = {
    # A serving fleet (the Serving page, `mlorg serving`, `mlorg serving plan`).
    "arrival_rps": Input("Peak traffic (requests/s)", float, 0.0, 1e7, lo_open=True, doc="Poisson arrivals"),
    "slo_p99_ms": Input("SLO: p99 latency (ms)", float, 0.0, 1e6, lo_open=True,
                        doc="99% of requests must complete within this"),
    "service_ms": Input("Mean service time (ms)", float, 0.0, 1e7, lo_open=True,
                        doc="mean time one request takes on an idle replica"),
    "service_cv": Input("Coefficient of variation (sd / mean)", float, 0.0, 10.0,
                        doc="spread of the service time; exponential has 1 and deterministic 0 by definition"),
    "replicas": Input("Replicas", int, 1, 100_000, doc="copies of the model serving at once"),
    "concurrency": Input("Requests per replica at once", int, 1, 1024, doc="blank: one per vCPU of the instance"),
    "requests": Input("Requests simulated", int, 1000, 50_000_000, doc="the first 10% are discarded as warm-up"),
    "seed": Input("Seed", int, 0, MAX_APP_SEED, doc="the same seed gives the same results"),
    # A drift monitor (the Monitoring tuner, `mlorg monitor`).
    "threshold": Input("Threshold", float, 0.0, 1e6, lo_open=True, doc="alarm threshold in the detector's terms"),
    "window": Input("Window (samples)", int, 1, 10_000_000, doc="samples compared with the reference at each check"),
    "cadence_hours": Input("Check every (hours)", float, 0.0, 8760.0, lo_open=True, doc="hours between checks"),
    "traffic_per_hour": Input("Traffic (samples/hour)", float, 0.0, 1e9, lo_open=True,
                              doc="blank: one fresh window per check"),
    "bins": Input("Bins", int, 2, 1000, doc="PSI and Jensen–Shannon: the reference's quantile bins"),
    "reference_rows": Input("Reference rows (KS)", int, 1, 10**12,
                            doc="rows of the reference the KS test compares with; blank: so many it is the population"),
    "drift_size": Input("Drift size", float, 0.0, 100.0, lo_open=True,
                        doc="σ by which each sample's mean shifts, or the population PSI"),
    "budget": Input("False-alarm budget (per month)", float, 0.0, 1e6, doc="false alarms a month you accept"),
    # Thresholds tuned on a feature file (the Monitoring tuner's files tab, `mlorg drift tune`).
    "window_hours": Input("Window (hours)", float, 0.0, 8760.0, lo_open=True,
                          doc="the span of rows each check compares with the reference"),
    "tune_budget": Input("False alarms a month, all features", float, 0.0, 1e6, lo_open=True,
                         doc="split evenly between the tuned features"),
    "shift_sd": Input("Shift for the lag (σ)", float, 0.0, 100.0, lo_open=True,
                      doc="a mean shift in reference standard deviations, whose detection lag is shown"),
    "draws": Input("Windows drawn", int, 100, 100_000, doc="windows drawn from the reference for its null"),
    # Replications of the staffing planner (the command line allows up to 1,000: mlorg.results).
    "replications": Input("Replications", int, 2, 100, doc="independent runs; more give narrower intervals"),
    "input_draws": Input("Draws of the uncertain inputs", int, 10, 1000,
                         doc="how many times the inputs marked uncertain are drawn; each draw runs every "
                             "replication, and the variance shares need a few dozen"),
    # The reference pipeline (the Registry page, `mlorg pipeline run`); its lower bound depends on the scenario.
    "pipeline_seed": Input("Seed", int, 0, 2**32 - 1, doc="another seed generates other transactions"),
    "tx_id": Input("Transaction id", int, 0, 2**53 - 1, doc="a scored transaction's id"),
}


def problems(values: Mapping[str, Any], table: Mapping[str, Input] = INPUTS) -> list[str]:
    """One message per value the table refuses; values left blank on purpose (None where a blank is allowed)
    are the caller's to leave out."""
    found = [table[name].problem(value) for name, value in values.items()]
    return [message for message in found if message]


# ------------------------------------------------------------------------------------------- oddities

ODD_UTILISATION = 0.05  # a fleet below this busy is mostly idle: a sizing slip, not a plan
ODD_FLEET_COST_USD_PER_MONTH = 1e6


def serving_oddities(*, replicas: int, servers: int, utilisation: float, usd_per_month: float,
                     fewest_replicas: int | None = None) -> list[str]:
    """What is odd about a fleet that is allowed: far more replicas than the load needs, or a bill no team pays
    for one model."""
    odd = []
    if utilisation < ODD_UTILISATION:
        need = f"; {formatting.quantity(fewest_replicas, 'replica')} would keep up" if fewest_replicas else ""
        odd.append(f"{formatting.count(replicas)} replicas ({formatting.count(servers)} servers) would run at "
                   f"{formatting.share(utilisation, 2)} utilisation: almost all of the fleet would sit idle{need}.")
    if usd_per_month >= ODD_FLEET_COST_USD_PER_MONTH:
        odd.append(f"This fleet costs {formatting.usd(usd_per_month)} a month to serve one model: check the replica "
                   "count.")
    return odd


def team_oddities(at_start: Mapping[str, int], hired: Mapping[str, int]) -> list[str]:
    """What is odd about a team that is allowed: nobody at all, or nobody who trains models. Both map roles
    (``data_scientist`` …) to people: at day 0, and hired later."""
    if sum(at_start.values()) + sum(hired.values()) == 0:
        return ["Nobody is in the organisation and nobody is hired: nothing will be trained, shipped or spent, so "
                "every chart stays empty."]
    if at_start.get("data_scientist", 0) + hired.get("data_scientist", 0) == 0:
        return ["There are no data scientists, now or hired: no model will be trained, so nothing reaches "
                "production and the charts of models stay empty."]
    return []
