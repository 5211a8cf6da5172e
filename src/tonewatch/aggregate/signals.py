"""Behavioural signals (TAXONOMY.md): from timing and metadata, not from words.

- ``attention_demand``: contacts per active week, compared with the cohort (every client in
  the run) by a robust z-score on the log scale: (x - median) / (1.4826 * MAD). The median
  and MAD ignore the very outliers the signal looks for; the log turns "3x the usual"
  into the same distance for a quiet and a busy cohort.
- ``unresponsiveness``: silences of ``unresponsive_days`` or more after a staff turn that asks
  the client for something (no client contact on any channel in between), plus calls or
  meetings marked as missed ("[no answer]", "(client did not join)").
- ``after_hours_pressure``: client contacts outside business hours or days in the client's
  own timezone (the UTC offset recorded with the message) that demand an immediate reply or
  carry an ``unreasonable_demand`` flag.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from datetime import datetime

import numpy as np

from tonewatch.aggregate.counts import ClientFold
from tonewatch.config import AggregateConfig
from tonewatch.schema import SignalValue

DAY = 86_400.0
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def contacts_per_week(fold: ClientFold) -> float:
    """Contacts over the client's active span in weeks (first to last contact, at least 1)."""
    if fold.first is None or fold.last is None:
        return float(fold.contacts)
    days = (fold.last - fold.first).total_seconds() / DAY + 1
    return fold.contacts / max(1, math.ceil(days / 7))


def robust_z(values: Sequence[float]) -> np.ndarray:
    """(x - median) / (1.4826 * MAD); with MAD 0, 1.2533 * mean absolute deviation instead
    (Iglewicz & Hoaglin); all zeros when the values do not vary at all."""
    x = np.asarray(values, dtype=float)
    centre = np.median(x)
    scale = 1.4826 * np.median(np.abs(x - centre))
    if scale == 0:
        scale = 1.2533 * np.mean(np.abs(x - centre))
    if scale == 0:
        return np.zeros_like(x)
    return (x - centre) / scale


def attention_demand(folds: Sequence[ClientFold], config: AggregateConfig) -> list[SignalValue]:
    """One SignalValue per fold, in order; ``value`` is the robust z-score."""
    rates = [contacts_per_week(f) for f in folds]
    median = float(np.median(rates)) if rates else 0.0
    if len(folds) < config.attention_min_cohort:
        note = (
            f"{{rate:.1f}} contacts/week; a cohort of {len(folds)} clients is too small to "
            f"compare (needs {config.attention_min_cohort})"
        )
        return [SignalValue(value=0.0, flagged=False, detail=note.format(rate=r)) for r in rates]
    z = robust_z(np.log1p(rates))
    return [
        SignalValue(
            value=round(float(score), 2),
            flagged=bool(score >= config.attention_z),
            detail=f"{rate:.1f} contacts/week against a cohort median of {median:.1f}",
        )
        for rate, score in zip(rates, z, strict=True)
    ]


def _silences(fold: ClientFold, as_of: float, min_gap: float) -> list[float]:
    """Gaps (seconds) of at least ``min_gap`` between a staff ask and the client's next contact.

    Follow-ups asked during one silence are one silence, measured from the first ask.
    """
    contacts = sorted(fold.contact_times)
    longest: dict[int, float] = {}
    for ask in sorted(fold.asks):
        nxt = bisect.bisect_right(contacts, ask)
        until = contacts[nxt] if nxt < len(contacts) else as_of
        longest[nxt] = max(longest.get(nxt, 0.0), until - ask)
    return [gap for gap in longest.values() if gap >= min_gap]


def unresponsiveness(fold: ClientFold, as_of: datetime, config: AggregateConfig) -> SignalValue:
    """``value``: silences after a staff ask plus missed calls/meetings."""
    silences = _silences(fold, as_of.timestamp(), config.unresponsive_days * DAY)
    events = len(silences) + fold.no_shows
    parts = []
    if silences:
        parts.append(
            f"{len(silences)} silence(s) of {config.unresponsive_days}+ days after staff asked "
            f"something (longest {max(silences) / DAY:.0f} days)"
        )
    if fold.no_shows:
        notes = ", ".join(f"“{n}”" for n in fold.no_show_notes[:2])
        parts.append(f"{fold.no_shows} missed call(s) or meeting(s) ({notes})")
    return SignalValue(
        value=float(events),
        flagged=events >= config.unresponsive_min_events,
        detail="; ".join(parts) or "answers when asked",
    )


def _day_names(days: Sequence[int]) -> str:
    ordered = sorted(set(days))
    if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{_WEEKDAYS[ordered[0]]}–{_WEEKDAYS[ordered[-1]]}"
    return ", ".join(_WEEKDAYS[d] for d in ordered) or "no days"


def after_hours_pressure(fold: ClientFold, config: AggregateConfig) -> SignalValue:
    """``value``: contacts outside business hours that demand an immediate reply."""
    start, end = config.business_hours
    days = _day_names(config.business_days)
    detail = (
        f"{fold.after_hours} of {fold.timed_contacts} messages outside business hours "
        f"({start:02d}:00–{end:02d}:00, {days}, client's local time); {fold.pressing} of them "
        f"demand an immediate reply, on {len(fold.pressing_days)} day(s)"
    )
    flagged = (
        fold.pressing >= config.after_hours_min_contacts
        and len(fold.pressing_days) >= config.pattern_min_days
    )
    return SignalValue(value=float(fold.pressing), flagged=flagged, detail=detail)
