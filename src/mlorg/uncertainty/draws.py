"""Draws of a scenario's uncertain inputs, and the scenario each draw makes.

Input ``path`` draws from the random stream named ``uncertain/<path>`` of the run's seed, one uniform per draw in
order, turned into a value by its distribution's inverse: draw d of an input is the same whatever other inputs are
uncertain and however many draws are asked for (the first 50 of 200 draws are the 50 draws), and two scenarios
that share an uncertain input draw the same values for it (common random numbers across the options of a
decision).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from mlorg.rng import Streams
from mlorg.scenario import Scenario, ScenarioError, from_dict
from mlorg.scenario.text import number_text
from mlorg.scenario.uncertain import set_value
from mlorg.scenario.validation import as_data
from mlorg.sweeps.grid import SweepError

MAX_DRAWS = 10_000  # a limit that keeps one analysis from running for days


def draw_table(scenario: Scenario, draws: int, seed: int) -> pd.DataFrame:
    """One row per draw (0 … draws-1), one column per uncertain input (its dotted path), in the schema's order."""
    if not isinstance(draws, int) or isinstance(draws, bool) or not 1 <= draws <= MAX_DRAWS:
        raise SweepError(f"uncertainty: {draws!r} is not allowed; must be an integer >= 1 and <= {MAX_DRAWS} "
                         "(draws of the uncertain inputs)")
    streams = Streams(seed)
    columns = {u.path: u.values(streams.generator(f"uncertain/{u.path}").random(draws)) for u in scenario.uncertain}
    return pd.DataFrame(columns, index=pd.RangeIndex(draws, name="draw"))


def drawn_scenario(scenario: Scenario, values: Mapping[str, float], draw: int | None = None) -> Scenario:
    """``scenario`` with each uncertain input at its drawn value and nothing left uncertain, checked by the schema's
    rules across fields (a drawn value can break one, such as a recall monitor's drop above a drawn recall)."""
    data = as_data(scenario.replace(uncertain=()))
    whole = {u.path for u in scenario.uncertain if u.integer}
    for path, value in values.items():
        set_value(data, path, int(value) if path in whole else float(value))
    try:
        return from_dict(data)
    except ScenarioError as exc:
        shown = ", ".join(f"{path} = {number_text(float(v))}" for path, v in values.items())
        which = f"draw {draw} of the uncertain inputs" if draw is not None else "a draw of the uncertain inputs"
        raise ScenarioError([f"{which} ({shown}) breaks a rule: {m}" for m in exc.messages]) from None


def drawn_scenarios(scenario: Scenario, table: pd.DataFrame) -> list[Scenario]:
    """The scenario of each row of a :func:`draw_table`."""
    problems, out = [], []
    for draw, row in table.iterrows():
        try:
            out.append(drawn_scenario(scenario, row.to_dict(), int(draw)))
        except ScenarioError as exc:
            problems.extend(exc.messages)
            if len(problems) >= 5:  # the first few say what is wrong; hundreds would bury it
                break
    if problems:
        raise ScenarioError(problems)
    return out
