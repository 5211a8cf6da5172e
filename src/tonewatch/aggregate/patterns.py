"""Incident or pattern, per family and per client.

TAXONOMY.md: "A single rude message can be a bad day. A support lead acts on a pattern: the
same flag (or family of flags) recurring across conversations and days." A family is a
pattern when its flagged turns fall in at least ``pattern_min_conversations`` distinct
conversations AND on at least ``pattern_min_days`` distinct days (the client's calendar);
anything less is an incident. Both conditions are needed: several conversations on one day
is one burst (an angry afternoon spread over chat and phone), and one long thread that
drags over days is still one dispute.
"""

from __future__ import annotations

from datetime import date

from tonewatch.aggregate.counts import FAMILIES, FamilyFold
from tonewatch.aggregate.trend import TrendTest, mann_kendall
from tonewatch.config import AggregateConfig
from tonewatch.schema import FamilyStats

VERDICTS = ("pattern", "incident", "none")


def is_pattern(fold: FamilyFold, config: AggregateConfig) -> bool:
    return (
        len(fold.conversations) >= config.pattern_min_conversations
        and len(fold.days) >= config.pattern_min_days
    )


def weekly_rates(weeks: dict[date, list[int]], family: str) -> list[float]:
    """Flagged turns of ``family`` over scored client turns, for each week with traffic.

    Weeks without client turns are left out rather than counted as 0: no traffic says
    nothing about how the client behaves.
    """
    column = 1 + FAMILIES.index(family)
    return [row[column] / row[0] for _, row in sorted(weeks.items()) if row[0]]


def family_trend(weeks: dict[date, list[int]], family: str, config: AggregateConfig) -> TrendTest:
    return mann_kendall(
        weekly_rates(weeks, family), alpha=config.trend_alpha, min_weeks=config.trend_min_weeks
    )


def family_stats(
    fold: FamilyFold, weeks: dict[date, list[int]], family: str, config: AggregateConfig
) -> FamilyStats:
    return FamilyStats(
        count=fold.count,
        conversations=len(fold.conversations),
        days=len(fold.days),
        first=fold.first,
        last=fold.last,
        pattern=is_pattern(fold, config),
        trend=family_trend(weeks, family, config).direction,
    )


def verdict(families: dict[str, FamilyStats]) -> str:
    """``pattern`` if any family recurs, ``incident`` if there is any flag at all, else ``none``."""
    if any(stats.pattern for stats in families.values()):
        return "pattern"
    if any(stats.count for stats in families.values()):
        return "incident"
    return "none"
