from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from tonewatch.schema import (
    LABELS,
    Evidence,
    Location,
    Tone,
    ToneResult,
    Turn,
    TurnResult,
)


def test_schema_labels_follow_taxonomy_order() -> None:
    assert len(LABELS) == 12
    assert LABELS[0] == "threat" and LABELS[-1] == "dismissing_advice"


def test_schema_turn_rejects_naive_timestamp() -> None:
    with pytest.raises(ValidationError, match="timezone-aware"):
        Turn(
            id="t", speaker="a", text="x", timestamp=datetime(2026, 1, 1), source=Location(path="f")
        )
    turn = Turn(
        id="t",
        speaker="a",
        text="x",
        timestamp=datetime(2026, 1, 1, tzinfo=UTC),
        source=Location(path="f"),
    )
    assert Turn.model_validate_json(turn.model_dump_json()) == turn


def test_schema_evidence_checks_offsets() -> None:
    text = "I will call my lawyer today"
    ev = Evidence.from_span(text, 15, 21)
    assert ev.text == "lawyer"
    with pytest.raises(ValidationError):
        Evidence(start=5, end=5, text="")
    with pytest.raises(ValidationError):
        Evidence(start=0, end=3, text="toolong")


def test_schema_turn_result_requires_all_labels() -> None:
    tone = ToneResult(label=Tone.neutral, level=Tone.neutral.level, scores={t: 0.25 for t in Tone})
    with pytest.raises(ValidationError, match="miss labels"):
        TurnResult(id="t", tone=tone, scores={"threat": 0.1}, model="m")
    ok = TurnResult(id="t", tone=tone, scores=dict.fromkeys(LABELS, 0.0), model="m")
    assert ok.to_contract()["tone"]["level"] == 1


def test_schema_location_names_file_and_place() -> None:
    loc = Location(path="a.mbox", item=14, line=2031, message_id="<x@y>")
    assert str(loc) == "a.mbox: message 14, line 2031, <x@y>"
