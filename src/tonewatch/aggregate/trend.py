"""Trend of a family's weekly rate: the Mann-Kendall test.

Mann-Kendall asks whether later weeks tend to have higher (or lower) rates than earlier ones,
using only the order of the values. It is the standard test for monotone trends in short,
noisy series and needs no assumption about the shape of the rise, and a single extreme week
moves it far less than it moves a regression slope: one bad day late in the period does not
read as a rising trend.

For short series (at most ``EXACT_MAX_N`` weeks) the p-value is exact: the statistic is
computed for every ordering of the observed rates, so ties (weeks at rate 0) are handled
without approximation. Longer series use the normal approximation with the tie-corrected
variance and a continuity correction (Kendall 1975; Hipel & McLeod 1994).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

EXACT_MAX_N = 8  # 8! = 40,320 orderings: a few milliseconds


@dataclass(frozen=True, slots=True)
class TrendTest:
    direction: str  # rising | stable | falling | none
    s: int  # Mann-Kendall S: concordant minus discordant pairs of weeks
    p_value: float
    weeks: int


@functools.cache
def _orderings(n: int) -> np.ndarray:
    return np.array(list(itertools.permutations(range(n))), dtype=np.int8)


def _pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    i, j = np.triu_indices(n, k=1)
    return i, j


def mann_kendall_s(values: Sequence[float]) -> int:
    y = np.asarray(values, dtype=float)
    i, j = _pairs(len(y))
    return int(np.sign(y[j] - y[i]).sum())


@functools.cache
def _null_abs_s(tie_groups: tuple[int, ...]) -> np.ndarray:
    """Sorted |S| over every ordering of a series with these tie-group sizes (value order).

    The null distribution depends on the values only through their tie structure, so it is
    computed once per structure: a report over thousands of clients reuses a handful.
    """
    y = np.repeat(np.arange(len(tie_groups)), tie_groups)
    i, j = _pairs(len(y))
    permuted = y[_orderings(len(y))]
    return np.sort(np.abs(np.sign(permuted[:, j] - permuted[:, i]).sum(axis=1)))


def _exact_p(y: np.ndarray, s: int) -> float:
    _, counts = np.unique(y, return_counts=True)
    null = _null_abs_s(tuple(int(c) for c in counts))
    return float((len(null) - np.searchsorted(null, abs(s), side="left")) / len(null))


def _normal_p(y: np.ndarray, s: int) -> float:
    n = len(y)
    _, counts = np.unique(y, return_counts=True)
    ties = float(np.sum(counts * (counts - 1) * (2 * counts + 5)))
    var = (n * (n - 1) * (2 * n + 5) - ties) / 18.0
    if var <= 0 or s == 0:
        return 1.0
    z = (abs(s) - 1) / np.sqrt(var)
    return float(2 * norm.sf(z))


def mann_kendall(values: Sequence[float], *, alpha: float, min_weeks: int) -> TrendTest:
    """Two-sided Mann-Kendall test on ``values`` (weekly rates in time order).

    RETURNS: ``direction`` "none" when there are fewer than ``min_weeks`` values, else
    "rising"/"falling" when ``p_value < alpha``, else "stable".
    """
    y = np.asarray(values, dtype=float)
    n = len(y)
    if n < max(min_weeks, 2):
        return TrendTest("none", 0, 1.0, n)
    s = mann_kendall_s(y)
    if s == 0:
        return TrendTest("stable", 0, 1.0, n)
    p = _exact_p(y, s) if n <= EXACT_MAX_N else _normal_p(y, s)
    if p >= alpha:
        return TrendTest("stable", s, p, n)
    return TrendTest("rising" if s > 0 else "falling", s, p, n)
