from __future__ import annotations

from datetime import UTC, datetime

from tonewatch.aggregate.risk import band, score
from tonewatch.schema import LABELS, FamilyStats, SignalValue

DAY1, DAY9 = datetime(2025, 3, 3, tzinfo=UTC), datetime(2025, 3, 11, tzinfo=UTC)
QUIET = {
    "attention_demand": SignalValue(value=0.1, flagged=False),
    "unresponsiveness": SignalValue(value=0, flagged=False),
    "after_hours_pressure": SignalValue(value=0, flagged=False),
}


def _families(**stats: FamilyStats) -> dict[str, FamilyStats]:
    names = ("abuse", "leverage", "demands", "honesty", "payment", "cooperation")
    return {f: stats.get(f, FamilyStats()) for f in names}


def _flags(**counts: int) -> dict[str, int]:
    return {label: counts.get(label, 0) for label in LABELS}


def test_risk_pattern_outranks_incident_and_rising_outranks_stable() -> None:
    pattern = FamilyStats(count=5, conversations=3, days=4, first=DAY1, last=DAY9, pattern=True)
    incident = FamilyStats(count=5, conversations=1, days=1, first=DAY1, last=DAY1)
    rising = pattern.model_copy(update={"trend": "rising"})
    flags = _flags(personal_attack=5)
    r_incident, _ = score(_families(abuse=incident), flags, QUIET, 10)
    r_pattern, text = score(_families(abuse=pattern), flags, QUIET, 10)
    r_rising, text_rising = score(_families(abuse=rising), flags, QUIET, 10)
    assert 0 < r_incident < r_pattern < r_rising < 1
    assert "Abuse is a pattern: 5 flagged turns in 3 conversations on 4 days" in text
    assert "between 2025-03-03 and 2025-03-11" in text and "(personal attack)" in text
    assert "rising week over week" in text_rising


def test_risk_threat_weighs_more_than_other_abuse() -> None:
    incident = FamilyStats(count=1, conversations=1, days=1, first=DAY1, last=DAY1)
    r_threat, _ = score(_families(abuse=incident), _flags(threat=1), QUIET, 3)
    r_insult, _ = score(_families(abuse=incident), _flags(personal_attack=1), QUIET, 3)
    assert r_threat > r_insult


def test_risk_drivers_combine_and_are_explained_strongest_first() -> None:
    leverage = FamilyStats(count=2, conversations=2, days=2, first=DAY1, last=DAY9, pattern=True)
    signals = dict(QUIET)
    signals["unresponsiveness"] = SignalValue(value=3, flagged=True, detail="3 silences")
    alone, _ = score(_families(leverage=leverage), _flags(legal_threat=2), QUIET, 8)
    both, text = score(_families(leverage=leverage), _flags(legal_threat=2), signals, 8)
    assert both > alone
    assert text.startswith(f"{band(both)} risk ({both:.2f}), driven by: Leverage is a pattern")
    assert text.endswith("Unresponsive: 3 silences.")


def test_risk_none_without_drivers() -> None:
    risk, text = score(_families(), _flags(), QUIET, 7)
    assert risk == 0.0
    assert text == "Low risk (0.00): no red flag in 7 client turns and no behavioural signal."
