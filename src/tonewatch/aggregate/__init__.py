"""Aggregate turn results into per-client reports: counts, incident vs pattern, trend,
behavioural signals, risk and evidence."""

from tonewatch.aggregate.aggregate import (
    Aggregator,
    ClientDetail,
    EvidenceTurn,
    WeekRow,
    aggregate,
)

__all__ = ["Aggregator", "ClientDetail", "EvidenceTurn", "WeekRow", "aggregate"]
