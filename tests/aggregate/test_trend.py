from __future__ import annotations

import itertools
import math

import pytest

from tonewatch.aggregate.trend import EXACT_MAX_N, mann_kendall, mann_kendall_s


def test_trend_monotone_series_reach_the_exact_minimum_p() -> None:
    # n distinct values in order: only 2 of n! orderings are as extreme, p = 2 / n!.
    for n in (4, 5, 6):
        up = mann_kendall(list(range(n)), alpha=0.1, min_weeks=4)
        assert up.direction == "rising" and up.s == n * (n - 1) // 2
        assert up.p_value == pytest.approx(2 / math.factorial(n))
        down = mann_kendall(list(range(n))[::-1], alpha=0.1, min_weeks=4)
        assert down.direction == "falling" and down.s == -up.s


def test_trend_exact_p_counts_tied_orderings() -> None:
    rates = [0.0, 0.0, 0.2, 0.3, 0.5]
    s = mann_kendall_s(rates)
    orderings = list(itertools.permutations(rates))
    expected = sum(abs(mann_kendall_s(o)) >= abs(s) for o in orderings) / len(orderings)
    result = mann_kendall(rates, alpha=0.1, min_weeks=4)
    assert result.s == s == 9
    assert result.p_value == pytest.approx(expected)
    assert result.direction == "rising"


def test_trend_one_late_spike_is_stable() -> None:
    assert mann_kendall([0, 0, 0, 0, 0.75, 0], alpha=0.1, min_weeks=4).direction == "stable"


def test_trend_needs_enough_weeks() -> None:
    assert mann_kendall([0.1, 0.2, 0.3], alpha=0.1, min_weeks=4).direction == "none"
    assert mann_kendall([], alpha=0.1, min_weeks=4).direction == "none"


def test_trend_constant_rates_are_stable() -> None:
    result = mann_kendall([0.0] * 6, alpha=0.1, min_weeks=4)
    assert result.direction == "stable" and result.p_value == 1.0


def test_trend_long_series_use_normal_approximation() -> None:
    n = EXACT_MAX_N + 12
    noisy_rise = [i / n + (0.3 if i % 3 == 0 else 0.0) for i in range(n)]
    result = mann_kendall(noisy_rise, alpha=0.1, min_weeks=4)
    assert result.direction == "rising" and result.p_value < 0.01
    flat = [0.2, 0.1] * (n // 2)
    assert mann_kendall(flat, alpha=0.1, min_weeks=4).direction == "stable"
