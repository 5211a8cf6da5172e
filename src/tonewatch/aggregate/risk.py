"""Risk score 0..1 and the plain-language explanation of what drives it.

Each driver (a flagged family, a flagged behavioural signal) contributes a probability-like
weight; they combine by noisy-OR, ``risk = 1 - prod(1 - c)``: independent reasons add up,
one strong reason is enough, and the score never leaves 0..1. Weights follow the severity
order of TAXONOMY.md (safety before leverage before commercial friction); an incident counts
half a pattern, a rising trend raises a family's weight by 30% and a falling one lowers it.
docs/report.md explains the choice of numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tonewatch.schema import FAMILY_OF, FamilyStats, SignalValue

FAMILY_WEIGHT = {
    "abuse": 0.55,
    "leverage": 0.45,
    "demands": 0.30,
    "payment": 0.30,
    "honesty": 0.20,
    "cooperation": 0.15,
}
THREAT_WEIGHT = 0.70  # a threat of harm outranks every other flag
SIGNAL_WEIGHT = {"after_hours_pressure": 0.30, "unresponsiveness": 0.25, "attention_demand": 0.20}
INCIDENT_FACTOR = 0.5
TREND_FACTOR = {"rising": 1.3, "falling": 0.7}
BANDS = ((0.6, "High"), (0.3, "Medium"), (0.0, "Low"))

_SIGNAL_NAMES = {
    "attention_demand": "Attention demand",
    "unresponsiveness": "Unresponsive",
    "after_hours_pressure": "After-hours pressure",
}


@dataclass(frozen=True, slots=True)
class Driver:
    weight: float
    sentence: str


def band(risk: float) -> str:
    return next(name for floor, name in BANDS if risk >= floor)


def _where(stats: FamilyStats) -> str:
    convs = f"{stats.conversations} conversation{'s' if stats.conversations != 1 else ''}"
    if stats.first is None or stats.last is None:
        return f"{convs} (no dates)"
    first, last = stats.first.date().isoformat(), stats.last.date().isoformat()
    if stats.days <= 1:
        return f"{convs} on {first}"
    return f"{convs} on {stats.days} days between {first} and {last}"


def _family_driver(family: str, stats: FamilyStats, flags: Mapping[str, int]) -> Driver:
    labels = sorted(
        (label for label, n in flags.items() if n and FAMILY_OF[label] == family),
        key=lambda label: -flags[label],
    )
    weight = THREAT_WEIGHT if "threat" in labels else FAMILY_WEIGHT[family]
    weight *= 1.0 if stats.pattern else INCIDENT_FACTOR
    weight = min(0.95, weight * TREND_FACTOR.get(stats.trend, 1.0))
    what = ", ".join(label.replace("_", " ") for label in labels[:3])
    turns = f"{stats.count} flagged turn{'s' if stats.count != 1 else ''}"
    kind = "is a pattern" if stats.pattern else "incident"
    head = f"{family.capitalize()} {kind}: {turns} in {_where(stats)}"
    trend = {"rising": ", rising week over week", "falling": ", falling week over week"}
    return Driver(weight, f"{head}{trend.get(stats.trend, '')} ({what}).")


def score(
    families: Mapping[str, FamilyStats],
    flags: Mapping[str, int],
    signals: Mapping[str, SignalValue],
    client_turns: int,
) -> tuple[float, str]:
    """RETURNS: (risk in 0..1, explanation naming each driver, strongest first)."""
    drivers = [
        _family_driver(family, stats, flags) for family, stats in families.items() if stats.count
    ]
    drivers += [
        Driver(SIGNAL_WEIGHT[name], f"{_SIGNAL_NAMES[name]}: {value.detail}.")
        for name, value in signals.items()
        if value.flagged
    ]
    drivers.sort(key=lambda d: -d.weight)
    keep = 1.0
    for driver in drivers:
        keep *= 1.0 - driver.weight
    risk = round(1.0 - keep, 3)
    if not drivers:
        turns = f"{client_turns} client turn{'s' if client_turns != 1 else ''}"
        return risk, f"Low risk (0.00): no red flag in {turns} and no behavioural signal."
    lead = f"{band(risk)} risk ({risk:.2f}), driven by:"
    return risk, " ".join([lead, *(d.sentence for d in drivers)])
