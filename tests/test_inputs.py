"""The shared rules for what people type (mlorg.inputs): each input refused outside its range, in the same words
in every form and option, and odd-but-allowed values named."""

from __future__ import annotations

import math

import pytest

from mlorg.inputs import INPUTS, problems, serving_oddities, team_oddities


def inside(rule) -> float:
    """A value every rule allows: its lower bound, or just above it when the bound itself is refused."""
    if rule.kind is int:
        return int(rule.lo) + (1 if rule.lo_open else 0)
    return rule.lo + 1e-3 if rule.lo_open else rule.lo


@pytest.mark.parametrize("name", sorted(INPUTS))
def test_each_input_allows_its_range_and_refuses_what_is_outside(name):
    rule = INPUTS[name]
    assert rule.problem(inside(rule)) is None
    assert rule.problem(rule.hi) is None
    low = rule.lo if rule.lo_open else rule.lo - 1
    for bad in (low, rule.hi * 2 + 1, math.nan, math.inf, None, "10", True):
        message = rule.problem(bad)
        assert message is not None, bad
        assert message.startswith(f"{rule.label}: ")
        assert message.endswith(f"must be {rule.rule}")
    if rule.kind is int:
        assert rule.problem(inside(rule) + 0.5) is not None  # a whole number is asked for
    else:
        assert rule.problem(int(inside(rule) + 1)) is None  # a whole number is a number


def test_messages_name_the_value_as_typed_and_the_range_in_words():
    assert INPUTS["replicas"].problem(0) == "Replicas: 0 is not allowed; must be an integer >= 1 and <= 100,000"
    assert INPUTS["arrival_rps"].problem(-10.0) == (
        "Peak traffic (requests/s): -10 is not allowed; must be a number > 0 and <= 10,000,000")
    assert INPUTS["threshold"].problem(0.0) == "Threshold: 0 is not allowed; must be a number > 0 and <= 1,000,000"
    assert INPUTS["seed"].problem(None) == "Seed: empty is not allowed; must be an integer >= 0 and <= 2,147,483,647"
    assert INPUTS["budget"].problem(0.0) is None  # a budget of no false alarms is allowed
    assert INPUTS["service_cv"].problem(0.0) is None  # deterministic service has none
    assert INPUTS["replicas"].refusal(0) == "0 is not allowed; must be an integer >= 1 and <= 100,000"
    assert INPUTS["replicas"].problem(0, "--replicas").startswith("--replicas: 0 is not allowed")


def test_problems_lists_every_refused_value_in_order():
    assert problems({"replicas": 4, "window": 0, "bins": 1}) == [
        "Window (samples): 0 is not allowed; must be an integer >= 1 and <= 10,000,000",
        "Bins: 1 is not allowed; must be an integer >= 2 and <= 1,000"]
    assert problems({"replicas": 4}) == []


def test_a_fleet_far_above_its_load_or_its_budget_is_named():
    odd = serving_oddities(replicas=100_000, servers=400_000, utilisation=2.5e-5, usd_per_month=9.9e6,
                           fewest_replicas=3)
    assert odd[0] == ("100,000 replicas (400,000 servers) would run at 0.00% utilisation: almost all of the fleet "
                      "would sit idle; 3 replicas would keep up.")
    assert odd[1] == "This fleet costs $9.90M a month to serve one model: check the replica count."
    assert serving_oddities(replicas=4, servers=16, utilisation=0.6, usd_per_month=400.0) == []


def test_a_team_of_nobody_or_without_data_scientists_is_named():
    nobody = dict.fromkeys(("data_scientist", "ml_engineer", "platform_engineer"), 0)
    assert team_oddities(nobody, nobody)[0].startswith("Nobody is in the organisation and nobody is hired")
    engineers = {**nobody, "ml_engineer": 2}
    assert team_oddities(engineers, nobody)[0].startswith("There are no data scientists, now or hired")
    assert team_oddities(engineers, {**nobody, "data_scientist": 1}) == []  # one is hired later
    assert team_oddities({**nobody, "data_scientist": 4}, nobody) == []
