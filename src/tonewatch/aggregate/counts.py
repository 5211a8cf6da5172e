"""The per-client fold: compact facts of each client turn, added one conversation at a time.

A fold keeps counts, sets of conversation ids and days, weekly counters and epoch seconds;
the only text it keeps is that of the best evidence turns (a bounded heap per family), so
memory grows with the number of clients, not with the archive.
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from tonewatch.aggregate.cues import annotations, asks_client, demands_now, no_show
from tonewatch.aggregate.cues import strip_annotations as spoken_text
from tonewatch.config import AggregateConfig
from tonewatch.schema import (
    FAMILY_OF,
    Channel,
    Conversation,
    Family,
    Flag,
    Role,
    Turn,
    TurnResult,
)

FAMILIES: tuple[str, ...] = tuple(f.value for f in Family)
_FAMILY_INDEX = {family: i for i, family in enumerate(FAMILIES)}
_tiebreak = itertools.count()


@dataclass(slots=True)
class EvidenceCandidate:
    score: float
    label: str
    family: str
    conversation: str
    turn: str
    source: str
    message_id: str | None
    timestamp: datetime | None
    speaker: str
    channel: str
    text: str  # the whole turn text: evidence is shown in context
    spans: tuple[tuple[int, int], ...]


@dataclass(slots=True)
class FamilyFold:
    count: int = 0  # flagged client turns (a turn with two abuse labels counts once)
    conversations: set[str] = field(default_factory=set)
    days: set[date] = field(default_factory=set)
    first: datetime | None = None
    last: datetime | None = None
    # Evidence heaps (min-heaps of the best ``keep``): each conversation's best turn goes to
    # ``lead``, its others to ``extra``, so one long angry thread cannot crowd out the other
    # conversations a pattern needs to be shown in.
    lead: list[tuple[float, float, int, EvidenceCandidate]] = field(default_factory=list)
    extra: list[tuple[float, float, int, EvidenceCandidate]] = field(default_factory=list)

    def add(self, conversation: str, when: datetime | None) -> None:
        self.count += 1
        self.conversations.add(conversation)
        if when is not None:
            self.days.add(when.date())  # the client's own calendar day
            self.first = when if self.first is None else min(self.first, when)
            self.last = when if self.last is None else max(self.last, when)

    def offer(self, candidates: list[EvidenceCandidate], keep: int) -> None:
        """Offer one conversation's candidates for this family."""
        ranked = sorted(candidates, key=lambda c: c.score, reverse=True)
        for rank, candidate in enumerate(ranked):
            heap = self.lead if rank == 0 else self.extra
            when = candidate.timestamp.timestamp() if candidate.timestamp else 0.0
            item = (candidate.score, when, next(_tiebreak), candidate)
            if len(heap) < keep:
                heapq.heappush(heap, item)
            elif item[:2] > heap[0][:2]:
                heapq.heapreplace(heap, item)

    def candidates(self) -> list[EvidenceCandidate]:
        return [item[-1] for item in self.lead + self.extra]


def week_of(when: datetime) -> date:
    """Monday of the ISO week, on the client's own calendar."""
    day = when.date()
    return day - timedelta(days=day.weekday())


def _timestamps(turns: tuple[Turn, ...]) -> list[datetime | None]:
    """Each turn's timestamp; a turn without one borrows its nearest earlier (else later) one."""
    known = [t.timestamp for t in turns]
    filled: list[datetime | None] = []
    last: datetime | None = next((ts for ts in known if ts is not None), None)
    for ts in known:
        last = ts or last
        filled.append(last)
    return filled


@dataclass(slots=True)
class ClientFold:
    client: str
    names: dict[str, None] = field(default_factory=dict)  # ordered sets
    addresses: dict[str, None] = field(default_factory=dict)
    conversations: int = 0
    channels: Counter[str] = field(default_factory=Counter)
    languages: Counter[str] = field(default_factory=Counter)
    client_turns: int = 0
    unscored_turns: int = 0
    contacts: int = 0  # emails and chat messages, plus one per call the client spoke in
    first: datetime | None = None
    last: datetime | None = None
    flags: Counter[str] = field(default_factory=Counter)
    tones: Counter[str] = field(default_factory=Counter)
    families: dict[str, FamilyFold] = field(
        default_factory=lambda: {family: FamilyFold() for family in FAMILIES}
    )
    # week -> [scored client turns, flagged turns of each family in FAMILIES order]
    weeks: dict[date, list[int]] = field(default_factory=dict)
    contact_times: list[float] = field(default_factory=list)  # epoch seconds
    asks: list[float] = field(default_factory=list)  # staff turns that need an answer
    no_shows: int = 0
    no_show_notes: list[str] = field(default_factory=list)
    timed_contacts: int = 0
    after_hours: int = 0
    pressing: int = 0  # after hours and demanding an immediate reply
    pressing_days: set[date] = field(default_factory=set)

    def add(
        self,
        conversation: Conversation,
        results: Mapping[str, TurnResult],
        config: AggregateConfig,
    ) -> None:
        """Fold one conversation in; ``results`` maps turn id to that turn's TurnResult."""
        self.conversations += 1
        self.channels[conversation.channel.value] += 1
        for participant in conversation.participants:
            if participant.role == Role.client:
                if participant.name:
                    self.names.setdefault(participant.name)
                for address in participant.addresses:
                    self.addresses.setdefault(address.lower())
        spoke = missed = False
        offers: dict[str, list[EvidenceCandidate]] = {}
        for turn, when in zip(conversation.turns, _timestamps(conversation.turns), strict=True):
            missed = missed or self._markers(turn)
            if turn.role == Role.agent and when is not None and asks_client(turn.text):
                self.asks.append(when.timestamp())
            if turn.role != Role.client or not spoken_text(turn.text):
                continue  # staff turns never count; a marker-only turn is not a contact
            spoke = True
            self.names.setdefault(turn.speaker)
            self._client_turn(conversation, turn, when, results.get(turn.id), config, offers)
        if conversation.channel == Channel.call and spoke:
            self.contacts += 1
        if missed:
            self.no_shows += 1
        for family, candidates in offers.items():
            self.families[family].offer(candidates, config.max_evidence)

    def _markers(self, turn: Turn) -> bool:
        markers = [str(m) for m in turn.meta.get("markers") or ()] + annotations(turn.text)
        found = no_show(markers)
        for note in found:
            if len(self.no_show_notes) < 5 and note not in self.no_show_notes:
                self.no_show_notes.append(note)
        return bool(found)

    def _client_turn(
        self,
        conversation: Conversation,
        turn: Turn,
        when: datetime | None,
        result: TurnResult | None,
        config: AggregateConfig,
        offers: dict[str, list[EvidenceCandidate]],
    ) -> None:
        self.client_turns += 1
        self.languages[(result.lang if result and result.lang != "und" else turn.lang)] += 1
        if conversation.channel != Channel.call:
            self.contacts += 1
        if when is not None:
            self.contact_times.append(when.timestamp())
            self.first = when if self.first is None else min(self.first, when)
            self.last = when if self.last is None else max(self.last, when)
        if result is None:
            self.unscored_turns += 1
            return
        self.tones[result.tone.label.value] += 1
        row = None
        if when is not None:
            row = self.weeks.setdefault(week_of(when), [0] * (1 + len(FAMILIES)))
            row[0] += 1
        flagged: set[str] = set()
        for flag in result.flags:
            self.flags[flag.label.value] += 1
            family = FAMILY_OF[flag.label.value]
            flagged.add(family)
            offers.setdefault(family, []).append(_candidate(conversation, turn, when, flag))
        for family in flagged:
            self.families[family].add(conversation.id, when)
            if row is not None:
                row[1 + _FAMILY_INDEX[family]] += 1
        if when is not None:
            self._timing(turn, when, result, config)

    def _timing(
        self, turn: Turn, when: datetime, result: TurnResult, config: AggregateConfig
    ) -> None:
        # ``when`` carries the client's own UTC offset, so hour and weekday are theirs.
        self.timed_contacts += 1
        start, end = config.business_hours
        if when.weekday() in config.business_days and start <= when.hour < end:
            return
        self.after_hours += 1
        demanding = any(f.label.value == "unreasonable_demand" for f in result.flags)
        if demanding or demands_now(turn.text):
            self.pressing += 1
            self.pressing_days.add(when.date())


def _candidate(
    conversation: Conversation, turn: Turn, when: datetime | None, flag: Flag
) -> EvidenceCandidate:
    source = turn.source.model_copy(update={"message_id": None})
    return EvidenceCandidate(
        score=flag.score,
        label=flag.label.value,
        family=FAMILY_OF[flag.label.value],
        conversation=conversation.id,
        turn=turn.id,
        source=str(source),
        message_id=turn.source.message_id,
        timestamp=when,
        speaker=turn.speaker,
        channel=conversation.channel.value,
        text=turn.text,
        spans=tuple((e.start, e.end) for e in flag.evidence),
    )
