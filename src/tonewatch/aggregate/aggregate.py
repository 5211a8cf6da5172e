"""Fold (Conversation, TurnResults) pairs into one ClientReport per client key.

Streaming: ``Aggregator.add`` takes one conversation at a time and keeps only compact facts
per client (see ``counts.ClientFold``); the cohort-relative signal (attention demand) and the
ranking are computed once every conversation is in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from tonewatch.aggregate import signals
from tonewatch.aggregate.counts import FAMILIES, ClientFold, EvidenceCandidate
from tonewatch.aggregate.patterns import family_stats, verdict
from tonewatch.aggregate.risk import score
from tonewatch.config import AggregateConfig
from tonewatch.schema import (
    ClientReport,
    Conversation,
    EvidenceRef,
    Label,
    SignalValue,
    TurnResult,
)

_ELLIPSIS = " … "


@dataclass(frozen=True, slots=True)
class WeekRow:
    week: date  # Monday of the ISO week
    turns: int  # scored client turns
    flagged: dict[str, int]  # flagged turns per family


@dataclass(frozen=True, slots=True)
class EvidenceTurn:
    """A cited turn in full, for display: ``spans`` are (start, end, label) into ``text``."""

    conversation: str
    turn: str
    speaker: str
    channel: str
    source: str
    message_id: str | None
    timestamp: datetime | None
    text: str
    spans: tuple[tuple[int, int, str], ...]


@dataclass(frozen=True, slots=True)
class ClientDetail:
    """A ClientReport plus what a page shows beyond clients.json."""

    report: ClientReport
    weeks: tuple[WeekRow, ...]
    turns: tuple[EvidenceTurn, ...]
    conversations: int
    client_turns: int
    unscored_turns: int
    contacts: int
    channels: dict[str, int]
    languages: dict[str, int]
    first: datetime | None
    last: datetime | None


@dataclass
class Aggregator:
    config: AggregateConfig
    as_of: datetime | None = None  # "now" for open silences; default: latest timestamp seen
    folds: dict[str, ClientFold] = field(default_factory=dict, init=False)
    models: dict[str, None] = field(default_factory=dict, init=False)  # ids seen, in order
    conversations: int = field(default=0, init=False)
    _latest: datetime | None = field(default=None, init=False, repr=False)

    def add(self, conversation: Conversation, results: Iterable[TurnResult]) -> None:
        """Fold in one conversation and its turns' results (any order, any subset)."""
        by_id = {result.id: result for result in results}
        for result in by_id.values():
            self.models.setdefault(result.model)
        fold = self.folds.get(conversation.client_key)
        if fold is None:
            fold = self.folds[conversation.client_key] = ClientFold(conversation.client_key)
        fold.add(conversation, by_id, self.config)
        self.conversations += 1
        stamps = [t.timestamp for t in conversation.turns if t.timestamp is not None]
        if stamps and (self._latest is None or max(stamps) > self._latest):
            self._latest = max(stamps)

    def details(self) -> list[ClientDetail]:
        """Every client, highest risk first."""
        folds = list(self.folds.values())
        attention = signals.attention_demand(folds, self.config)
        as_of = self.as_of or self._latest or datetime.now().astimezone()
        details = [self._detail(f, a, as_of) for f, a in zip(folds, attention, strict=True)]
        details.sort(key=lambda d: (-d.report.risk, d.report.verdict != "pattern", d.report.client))
        return details

    def reports(self) -> list[ClientReport]:
        return [detail.report for detail in self.details()]

    def _detail(self, fold: ClientFold, attention: SignalValue, as_of: datetime) -> ClientDetail:
        config = self.config
        families = {
            family: family_stats(fold.families[family], fold.weeks, family, config)
            for family in FAMILIES
        }
        values = {
            "attention_demand": attention,
            "unresponsiveness": signals.unresponsiveness(fold, as_of, config),
            "after_hours_pressure": signals.after_hours_pressure(fold, config),
        }
        flags = {label.value: fold.flags.get(label.value, 0) for label in Label}
        risk, explanation = score(families, flags, values, fold.client_turns)
        # Chosen by score across families and conversations, shown in time order.
        chosen = sorted(
            _select_evidence(fold, families, config.max_evidence),
            key=lambda c: (c.timestamp is None, c.timestamp or 0, c.conversation, c.turn),
        )
        report = ClientReport(
            client=fold.client,
            names=tuple(fold.names),
            addresses=tuple(fold.addresses),
            verdict=verdict(families),
            risk=risk,
            explanation=explanation,
            families=families,
            flags=flags,
            tones=dict(fold.tones.most_common()),
            signals=values,
            evidence=tuple(_ref(c) for c in chosen),
        )
        return ClientDetail(
            report=report,
            weeks=_week_rows(fold),
            turns=_evidence_turns(chosen),
            conversations=fold.conversations,
            client_turns=fold.client_turns,
            unscored_turns=fold.unscored_turns,
            contacts=fold.contacts,
            channels=dict(fold.channels.most_common()),
            languages=dict(fold.languages.most_common()),
            first=fold.first,
            last=fold.last,
        )


def aggregate(
    pairs: Iterable[tuple[Conversation, Sequence[TurnResult]]],
    config: AggregateConfig,
    *,
    as_of: datetime | None = None,
) -> list[ClientReport]:
    """One ClientReport per client key, highest risk first.

    pairs: conversations with their turns' results (matched by turn id; any order).
    config: the ``[aggregate]`` section.
    as_of: the moment open silences are measured to; default the latest timestamp seen.
    RETURNS: the reports, as written to clients.json.
    """
    aggregator = Aggregator(config, as_of=as_of)
    for conversation, results in pairs:
        aggregator.add(conversation, results)
    return aggregator.reports()


def _week_rows(fold: ClientFold) -> tuple[WeekRow, ...]:
    """Every week from the first to the last with traffic, quiet weeks included (for plots)."""
    if not fold.weeks:
        return ()
    week, last = min(fold.weeks), max(fold.weeks)
    rows = []
    while week <= last:
        row = fold.weeks.get(week, [0] * (1 + len(FAMILIES)))
        rows.append(WeekRow(week, row[0], dict(zip(FAMILIES, row[1:], strict=True))))
        week += timedelta(days=7)
    return tuple(rows)


def _diverse(candidates: list[EvidenceCandidate]) -> list[EvidenceCandidate]:
    """Best first, but each conversation's best before any conversation's second best."""
    ranked = sorted(candidates, key=lambda c: (-c.score, c.conversation, c.turn))
    seen: dict[str, int] = {}
    keyed = []
    for c in ranked:
        seen[c.conversation] = seen.get(c.conversation, 0) + 1
        keyed.append((seen[c.conversation], len(keyed), c))
    return [c for *_, c in sorted(keyed, key=lambda k: k[:2])]


def _select_evidence(fold: ClientFold, families: dict, limit: int) -> list[EvidenceCandidate]:
    """Round-robin over families (patterns first, then by count) so each one is cited."""
    order = sorted(
        (f for f in FAMILIES if families[f].count),
        key=lambda f: (not families[f].pattern, -families[f].count, f),
    )
    queues = [_diverse(fold.families[f].candidates()) for f in order]
    chosen: list[EvidenceCandidate] = []
    while len(chosen) < limit and any(queues):
        for queue in queues:
            if queue and len(chosen) < limit:
                chosen.append(queue.pop(0))
    return chosen


def _span_text(candidate: EvidenceCandidate) -> str:
    if not candidate.spans:
        return candidate.text[:200]
    return _ELLIPSIS.join(candidate.text[start:end] for start, end in candidate.spans)


def _ref(candidate: EvidenceCandidate) -> EvidenceRef:
    return EvidenceRef(
        conversation=candidate.conversation,
        turn=candidate.turn,
        source=candidate.source,
        message_id=candidate.message_id,
        timestamp=candidate.timestamp,
        label=Label(candidate.label),
        score=candidate.score,
        text=_span_text(candidate),
    )


def _evidence_turns(chosen: list[EvidenceCandidate]) -> tuple[EvidenceTurn, ...]:
    """The cited turns, once each, with the spans of every cited label."""
    merged: dict[tuple[str, str], tuple[EvidenceCandidate, list[tuple[int, int, str]]]] = {}
    for c in chosen:
        _, spans = merged.setdefault((c.conversation, c.turn), (c, []))
        spans.extend((start, end, c.label) for start, end in c.spans)
    return tuple(
        EvidenceTurn(
            conversation=c.conversation,
            turn=c.turn,
            speaker=c.speaker,
            channel=c.channel,
            source=c.source,
            message_id=c.message_id,
            timestamp=c.timestamp,
            text=c.text,
            spans=tuple(sorted(spans)),
        )
        for c, spans in merged.values()
    )
