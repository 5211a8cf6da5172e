"""Aggregation over fixture archives whose truth is known (tests/fixtures/report/scenarios.py)."""

from __future__ import annotations

import random
from datetime import UTC, timedelta

import pytest

from tonewatch.aggregate import Aggregator, aggregate
from tonewatch.schema import FAMILY_OF, LABELS, ClientReport, Family, Role


def _one(reports: list[ClientReport], client: str) -> ClientReport:
    (report,) = [r for r in reports if r.client == client]
    return report


@pytest.fixture(scope="module")
def archive_reports(scenarios) -> list[ClientReport]:
    from tonewatch.config import default_config

    return aggregate(scenarios.archive(), default_config().aggregate)


def test_aggregate_rising_pattern_over_weeks(scenarios, archive_reports) -> None:
    report = _one(archive_reports, scenarios.RISING)
    abuse = report.families["abuse"]
    assert report.verdict == "pattern"
    assert abuse.pattern and abuse.trend == "rising"
    assert abuse.count == 0 + 0 + 1 + 2 + 3 + 4
    assert abuse.conversations == 4 and abuse.days >= 4
    assert abuse.first < abuse.last
    assert sum(report.flags[label] for label in LABELS if FAMILY_OF[label] == "abuse") == 10
    # Staff turns said "pracujemy nad tym" 24 times: never counted.
    assert sum(report.tones.values()) == 24
    assert "Abuse is a pattern" in report.explanation and "rising" in report.explanation


def test_aggregate_single_hostile_day_is_incident(scenarios, archive_reports) -> None:
    report = _one(archive_reports, scenarios.INCIDENT)
    abuse = report.families["abuse"]
    assert report.verdict == "incident"
    assert abuse.count == 3 and abuse.conversations == 1 and abuse.days == 1
    assert not abuse.pattern
    assert abuse.trend != "rising"  # one bad week late in the period is not a trend
    assert {e.label.value for e in report.evidence} == {
        "aggressive_accusation",
        "personal_attack",
        "profanity",
    }
    rising = _one(archive_reports, scenarios.RISING)
    assert report.risk < rising.risk


def test_aggregate_polite_client_with_complaints_has_no_verdict(scenarios, archive_reports) -> None:
    report = _one(archive_reports, scenarios.POLITE)
    assert report.verdict == "none"
    assert report.risk == 0.0 and report.evidence == ()
    assert all(stats.count == 0 for stats in report.families.values())
    assert not any(signal.flagged for signal in report.signals.values())
    assert "no red flag in 4 client turns" in report.explanation


def test_aggregate_after_hours_pressure_uses_client_timezone(scenarios, config) -> None:
    seoul = _one(aggregate(scenarios.after_hours_pusher(), config), scenarios.AFTER_HOURS)
    signal = seoul.signals["after_hours_pressure"]
    assert signal.flagged and signal.value == 4
    assert "4 of 5 messages outside business hours" in signal.detail
    assert "After-hours pressure" in seoul.explanation
    # The same instants with a UTC offset: 23:30 in Seoul is 14:30 UTC, a working hour.
    utc = _one(aggregate(scenarios.after_hours_pusher(tz=UTC), config), scenarios.AFTER_HOURS)
    assert not utc.signals["after_hours_pressure"].flagged
    assert utc.signals["after_hours_pressure"].value < signal.value


def test_aggregate_after_hours_needs_a_demand(scenarios, config) -> None:
    pairs = scenarios.after_hours_pusher()
    calm = []
    for conversation, results in pairs:
        calm.append((conversation, [r.model_copy(update={"flags": ()}) for r in results]))
    # Without flags, the Korean urgency cues ("지금 당장", "즉시") still mark three demands.
    report = _one(aggregate(calm, config), scenarios.AFTER_HOURS)
    assert report.signals["after_hours_pressure"].value == 3


def test_aggregate_unresponsive_client(scenarios, archive_reports) -> None:
    report = _one(archive_reports, scenarios.UNRESPONSIVE)
    signal = report.signals["unresponsiveness"]
    # A 12-day silence after the contract request, an open one after the logo request,
    # and a call the client did not join.
    assert signal.flagged and signal.value == 3
    assert "missed call" in signal.detail and "no answer" in signal.detail
    assert report.verdict == "none" and report.risk > 0
    assert "Unresponsive" in report.explanation


def test_aggregate_responsive_client_is_not_flagged(scenarios, config) -> None:
    report = _one(aggregate(scenarios.responsive_client(), config), "sam.reed@example.com")
    signal = report.signals["unresponsiveness"]
    # The last staff turn ends with a courtesy question ("Anything else…?"): no answer needed.
    assert signal.value == 0 and not signal.flagged


def test_aggregate_open_silence_is_measured_to_as_of(scenarios, config) -> None:
    pairs = scenarios.unresponsive_client()
    mail, _ = pairs[0]
    last_ask = max(t.timestamp for t in mail.turns if t.role == Role.agent)
    soon = _one(
        aggregate(pairs, config, as_of=last_ask + timedelta(days=2)), scenarios.UNRESPONSIVE
    )
    late = _one(
        aggregate(pairs, config, as_of=last_ask + timedelta(days=30)), scenarios.UNRESPONSIVE
    )
    assert late.signals["unresponsiveness"].value == soon.signals["unresponsiveness"].value + 1


def test_aggregate_one_client_key_across_email_and_call(scenarios, archive_reports) -> None:
    report = _one(archive_reports, scenarios.CROSS)
    leverage = report.families["leverage"]
    assert leverage.conversations == 2 and leverage.days == 2 and leverage.pattern
    assert report.flags["legal_threat"] == 2 and report.flags["reputation_threat"] == 1
    assert report.names == ("Omar Haddad",)
    assert report.addresses == (scenarios.CROSS,)
    cited = {e.conversation for e in report.evidence}
    assert cited == {"ar-mail", "ar-call"}  # the pattern is shown in both channels
    assert leverage.trend == "none"  # two weeks of traffic: too little for a trend


def test_aggregate_evidence_cites_source_and_span(scenarios, archive_reports) -> None:
    turns = {t.id: t for c, _ in scenarios.archive() for t in c.turns}
    for report in archive_reports:
        for ref in report.evidence:
            turn = turns[ref.turn]
            assert ref.text in turn.text and ref.text
            assert ref.timestamp == turn.timestamp
            assert ref.source.startswith(turn.source.path)
            assert ref.message_id == turn.source.message_id
            assert turn.role == Role.client
            assert 0 < ref.score <= 1
    rising = _one(archive_reports, scenarios.RISING)
    assert len({e.conversation for e in rising.evidence}) == 4  # every conversation cited
    assert rising.evidence[0].message_id and rising.evidence[0].message_id.startswith("<pl-w")
    call = [
        e for e in _one(archive_reports, scenarios.CROSS).evidence if e.conversation == "ar-call"
    ]
    assert "cue 00:0" in call[0].source


def test_aggregate_evidence_respects_max_evidence(scenarios, config) -> None:
    small = config.model_copy(update={"max_evidence": 3})
    report = _one(aggregate(scenarios.rising_pattern(), small), scenarios.RISING)
    assert len(report.evidence) == 3
    assert len({e.conversation for e in report.evidence}) == 3  # spread over conversations


def test_aggregate_ignores_staff_flags(scenarios, config) -> None:
    thread = scenarios.Thread("x", "c@example.com", scenarios.Channel.email, "m.mbox", "C")
    thread.client_says("Hello, where is my order?", scenarios.at(0, 1, 10))
    thread.staff_says(
        "Quoting you: 'you idiots'. We are sorry.",
        scenarios.at(0, 1, 11),
        **{"personal_attack": "you idiots"},
    )
    (report,) = aggregate([thread.pair()], config)
    assert report.verdict == "none" and sum(report.flags.values()) == 0


def test_aggregate_is_order_independent_and_streams(scenarios, config) -> None:
    pairs = scenarios.archive()
    shuffled = [(c, random.Random(7).sample(r, len(r))) for c, r in pairs]
    random.Random(3).shuffle(shuffled)
    assert aggregate(iter(shuffled), config) == aggregate(iter(pairs), config)


def test_aggregate_ranks_by_risk_and_reports_every_family(scenarios, archive_reports) -> None:
    assert [r.risk for r in archive_reports] == sorted(
        (r.risk for r in archive_reports), reverse=True
    )
    assert archive_reports[0].client == scenarios.RISING
    assert archive_reports[-1].client == scenarios.POLITE
    for report in archive_reports:
        assert set(report.families) == {f.value for f in Family}
        assert set(report.flags) == set(LABELS)
        assert set(report.signals) == {
            "attention_demand",
            "unresponsiveness",
            "after_hours_pressure",
        }
        assert 0.0 <= report.risk <= 1.0


def test_aggregate_unscored_turns_do_not_count(scenarios, config) -> None:
    pairs = scenarios.rising_pattern()
    aggregator = Aggregator(config)
    for conversation, results in pairs:
        aggregator.add(conversation, results[: len(results) // 2])
    (detail,) = aggregator.details()
    assert detail.unscored_turns == detail.client_turns - sum(detail.report.tones.values())
    assert detail.unscored_turns > 0
