"""Unit tests of time-weighted levels on hand-made step functions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mlorg.sim.levels import Level


@pytest.fixture
def steps() -> Level:
    # 2 on [0, 10), 5 on [10, 15), 1 on [15, 20), 4 from 20 on.
    level = Level("backlog", 2.0)
    level.set(10.0, 5.0)
    level.set(15.0, 1.0)
    level.add(20.0, 3.0)
    return level


def test_records_each_change(steps):
    assert steps.times == [0.0, 10.0, 15.0, 20.0]
    assert steps.values == [2.0, 5.0, 1.0, 4.0]
    assert steps.value == 4.0
    assert steps.name == "backlog"


def test_integral_and_mean_over_the_whole_run(steps):
    assert steps.integral(0.0, 30.0) == 2 * 10 + 5 * 5 + 1 * 5 + 4 * 10  # 90
    assert steps.mean(0.0, 30.0) == 3.0


@pytest.mark.parametrize(("start", "end", "expected"), [
    (12.0, 17.0, 5 * 3 + 1 * 2),  # inside two steps
    (10.0, 15.0, 25.0),  # exactly one step
    (0.0, 10.0, 20.0),
    (3.0, 4.5, 3.0),  # inside the first step
    (20.0, 100.0, 320.0),  # the last value holds to the end
    (15.0, 15.0, 0.0),  # empty interval
    (17.0, 12.0, 0.0),  # reversed interval
])
def test_integral_over_part_of_the_run(steps, start, end, expected):
    assert steps.integral(start, end) == expected


def test_mean_over_part_of_the_run_and_empty_interval(steps):
    assert steps.mean(12.0, 17.0) == 17.0 / 5.0
    assert math.isnan(steps.mean(5.0, 5.0))


def test_at_takes_the_last_change_at_or_before_each_time(steps):
    grid = np.array([0.0, 9.99, 10.0, 14.0, 15.0, 19.999, 20.0, 1000.0])
    assert steps.at(grid).tolist() == [2.0, 2.0, 5.0, 5.0, 1.0, 1.0, 4.0, 4.0]


def test_several_changes_at_one_instant_keep_only_the_last():
    level = Level("live", 0.0)
    level.add(5.0, 1.0)
    level.add(5.0, 1.0)
    level.set(5.0, 7.0)
    level.add(5.0, -1.0)
    level.set(8.0, 0.0)
    assert level.times == [0.0, 5.0, 8.0]
    assert level.values == [0.0, 6.0, 0.0]
    assert level.integral(0.0, 10.0) == 18.0
    assert level.at(np.array([4.9, 5.0, 7.9, 8.0])).tolist() == [0.0, 6.0, 6.0, 0.0]


def test_changes_at_the_start_replace_the_initial_value():
    level = Level("headcount", 3.0)
    level.add(0.0, 2.0)
    assert (level.times, level.values) == ([0.0], [5.0])
    assert level.integral(0.0, 4.0) == 20.0


def test_a_constant_level():
    level = Level("capabilities", 2.0, now=0.0)
    assert level.integral(0.0, 24.0) == 48.0
    assert level.mean(3.0, 9.0) == 2.0
    assert level.at(np.array([0.0, 1e9])).tolist() == [2.0, 2.0]
