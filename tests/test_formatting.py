"""Figures as people read them (mlorg.formatting): the edge values that made unreadable text before."""

from __future__ import annotations

import math

import pytest

from mlorg import formatting as f


@pytest.mark.parametrize(("value", "text"), [
    (1.75e-100, "< 1e-6"), (9.99e-7, "< 1e-6"), (1e-6, "0.000001"), (0.000123, "0.000123"), (0.0, "0"), (0.5, "0.5"),
    (1.0, "1"), (0.707, "0.707"), (12.3456, "12.3"), (math.nan, "—"), (None, "—")])
def test_a_vanishing_probability_or_rate_reads_as_below_a_floor(value, text):
    assert f.small(value) == text


@pytest.mark.parametrize(("value", "text"), [
    (1e99, "≈ 10^99"), (3.2e101, "≈ 10^102"), (1e15, "≈ 10^15"), (999_999_999_999_999.0, "999,999,999,999,999"),
    (123_456.7, "123,457"), (12.0, "12"), (math.inf, "∞"), (math.nan, "—")])
def test_a_count_has_separators_and_an_astronomical_one_its_order_of_magnitude(value, text):
    assert f.count(value) == text


def test_numbers_keep_significant_digits_and_never_print_a_hundred():
    assert f.number(1234.5678) == "1,235"
    assert f.number(0.012345) == "0.0123"
    assert f.number(-5.5) == "-5.5"
    assert f.number(10.0) == "10"
    assert len(f.number(1.23e99)) < 12
    assert f.number(12.34, 4) == "12.34"


@pytest.mark.parametrize(("value", "unit", "text"), [
    (1, "day", "1 day"), (1.0, "day", "1 day"), (0.99999, "day", "1 day"), (0, "day", "0 days"),
    (2, "day", "2 days"), (1.5, "hour", "1.5 hours"), (12.25, "day", "12.2 days"), (math.nan, "day", "—")])
def test_units_agree_with_their_number(value, unit, text):
    assert f.quantity(value, unit) == text


def test_a_lag_that_never_ends_says_never_and_why():
    assert f.lag(math.inf) == "never (cannot detect this drift)"
    assert f.lag(math.inf, "day", reason="no alarm before the run ended") == "never (no alarm before the run ended)"
    assert f.lag(math.inf, reason="") == "never"
    assert f.lag(36.0) == "36 hours"
    assert f.days(1) == "1 day"
    assert f.days(math.inf) == "∞ days"  # a duration, not a lag: lag() says never


@pytest.mark.parametrize(("value", "text"), [
    (0, "$0"), (12_345.4, "$12,345"), (-4_000.0, "-$4,000"), (2.5e6, "$2.50M"), (-2.5e6, "-$2.50M"), (3e9, "$3.00B"),
    (1e99, "≈ $10^99"), (math.nan, "—")])
def test_money(value, text):
    assert f.usd(value) == text


def test_values_by_kind_and_signed_differences():
    assert f.value(3.0, "days") == "3 days"
    assert f.value(0.25, "share") == "25.0%"
    assert f.value(1.75e-100, "rate") == "< 1e-6"
    assert f.value(1.2e6, "usd") == "$1.20M"
    assert f.signed(1.2e6, "usd") == "+$1.20M"
    assert f.signed(-3.5, "days") == "-3.5 days"
    assert f.signed(0.0, "count") == "+0"
    assert f.signed(math.nan, "days") == "—"
