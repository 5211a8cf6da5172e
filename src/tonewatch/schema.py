"""The one data model every stage shares.

    ingest     file            -> Conversation(turns: Turn, participants: Participant)
    classify   Turn            -> TurnResult(tone: ToneResult, flags: Flag(evidence: Evidence))
    aggregate  TurnResults     -> ClientReport

Objects are frozen: a stage never edits its input, it returns new objects. Everything
round-trips through JSON (``model_dump(mode="json")`` / ``model_validate``); the Parquet
layout lives in ``tonewatch.io``. Label names follow ``TAXONOMY.md`` (v1).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

TAXONOMY_VERSION = "1"


class Label(StrEnum):
    """The twelve verbal red flags of TAXONOMY.md, in the contract's order."""

    threat = "threat"
    personal_attack = "personal_attack"
    profanity = "profanity"
    aggressive_accusation = "aggressive_accusation"
    reputation_threat = "reputation_threat"
    legal_threat = "legal_threat"
    unreasonable_demand = "unreasonable_demand"
    shifting_demands = "shifting_demands"
    promise_claim = "promise_claim"
    payment_evasion = "payment_evasion"
    devaluation = "devaluation"
    dismissing_advice = "dismissing_advice"


LABELS: tuple[str, ...] = tuple(label.value for label in Label)


class Family(StrEnum):
    abuse = "abuse"
    leverage = "leverage"
    demands = "demands"
    honesty = "honesty"
    payment = "payment"
    cooperation = "cooperation"


FAMILY_OF: dict[str, str] = {
    "threat": "abuse",
    "personal_attack": "abuse",
    "profanity": "abuse",
    "aggressive_accusation": "abuse",
    "reputation_threat": "leverage",
    "legal_threat": "leverage",
    "unreasonable_demand": "demands",
    "shifting_demands": "demands",
    "promise_claim": "honesty",
    "payment_evasion": "payment",
    "devaluation": "payment",
    "dismissing_advice": "cooperation",
}


class Tone(StrEnum):
    """Ordinal tone; ``Tone.level`` gives 0 (polite) … 3 (hostile)."""

    polite = "polite"
    neutral = "neutral"
    frustrated = "frustrated"
    hostile = "hostile"

    @property
    def level(self) -> int:
        return TONES.index(self.value)


TONES: tuple[str, ...] = tuple(tone.value for tone in Tone)


class Signal(StrEnum):
    attention_demand = "attention_demand"
    unresponsiveness = "unresponsiveness"
    after_hours_pressure = "after_hours_pressure"


class Role(StrEnum):
    client = "client"
    agent = "agent"
    unknown = "unknown"


class Channel(StrEnum):
    email = "email"
    chat = "chat"
    call = "call"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Location(_Frozen):
    """Where something came from: a file and, as far as known, the place inside it.

    ``str(location)`` is the form used in every error message, e.g.
    ``archive.mbox: message 14 <abc@x>`` or ``call.vtt: line 88 (cue 00:12:04.100)``.
    """

    path: str
    item: int | None = None  # message index in an mbox/Maildir, row in a chat export
    line: int | None = None  # 1-based line in the file
    message_id: str | None = None
    cue: str | None = None  # transcript cue id or start time

    def __str__(self) -> str:
        parts = [self.path]
        if self.item is not None:
            parts.append(f"message {self.item}")
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.cue is not None:
            parts.append(f"cue {self.cue}")
        if self.message_id:
            parts.append(f"<{self.message_id.strip('<>')}>")
        return parts[0] if len(parts) == 1 else parts[0] + ": " + ", ".join(parts[1:])


class Participant(_Frozen):
    name: str | None = None
    addresses: tuple[str, ...] = ()
    role: Role = Role.unknown


class Attachment(_Frozen):
    """Attachments are never read as turn text, only recorded."""

    filename: str | None = None
    content_type: str = "application/octet-stream"
    size: int = 0


class Turn(_Frozen):
    id: str
    speaker: str
    role: Role = Role.unknown
    text: str
    timestamp: datetime | None = None
    lang: str = "und"
    lang_confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    source: Location
    attachments: tuple[Attachment, ...] = ()
    meta: dict[str, Any] = Field(default_factory=dict)

    @field_validator("timestamp")
    @classmethod
    def _timezone_aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("timestamp must be timezone-aware (naive datetimes are ambiguous)")
        return value


class Conversation(_Frozen):
    id: str
    channel: Channel
    client_key: str
    participants: tuple[Participant, ...] = ()
    turns: tuple[Turn, ...] = ()
    source: Location
    subject: str | None = None
    meta: dict[str, Any] = Field(default_factory=dict)


class Evidence(_Frozen):
    """A character span of ``Turn.text`` (``text == turn.text[start:end]``)."""

    start: int = Field(ge=0)
    end: int
    text: str

    @model_validator(mode="after")
    def _span_is_consistent(self) -> Evidence:
        if self.end <= self.start:
            raise ValueError(f"evidence span [{self.start}, {self.end}) is empty or reversed")
        if len(self.text) != self.end - self.start:
            raise ValueError("evidence text length does not match its offsets")
        return self

    @classmethod
    def from_span(cls, text: str, start: int, end: int) -> Evidence:
        return cls(start=start, end=end, text=text[start:end])


class Flag(_Frozen):
    label: Label
    score: float = Field(ge=0.0, le=1.0)
    evidence: tuple[Evidence, ...] = ()


class ToneResult(_Frozen):
    label: Tone
    level: int = Field(ge=0, le=3)
    scores: dict[str, float]


class TurnResult(_Frozen):
    """What classify says of one turn: the contract of ``tonewatch classify``."""

    id: str
    lang: str = "und"
    tone: ToneResult
    scores: dict[str, float]
    flags: tuple[Flag, ...] = ()
    model: str

    @model_validator(mode="after")
    def _all_labels_scored(self) -> TurnResult:
        missing = set(LABELS) - set(self.scores)
        if missing:
            raise ValueError(f"scores miss labels: {sorted(missing)}")
        return self

    def to_contract(self) -> dict[str, Any]:
        """The JSON object written by ``tonewatch classify`` (one per input line)."""
        return self.model_dump(mode="json")


class QuarantineRecord(_Frozen):
    """An input that could not be read; the run goes on without it."""

    location: Location
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.code} {self.message}"


class EvidenceRef(_Frozen):
    conversation: str
    turn: str
    source: str
    message_id: str | None = None
    timestamp: datetime | None = None
    label: Label
    score: float
    text: str


class FamilyStats(_Frozen):
    count: int = 0
    conversations: int = 0
    days: int = 0
    first: datetime | None = None
    last: datetime | None = None
    pattern: bool = False
    trend: str = "none"  # rising | stable | falling | none


class SignalValue(_Frozen):
    value: float
    flagged: bool
    detail: str = ""  # plain-language reading of the value, e.g. "2 silences of 9+ days"


class ClientReport(_Frozen):
    """One client's aggregate, the element of ``clients.json``'s ``clients`` list."""

    client: str
    names: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()
    verdict: str = "none"  # pattern | incident | none
    risk: float = 0.0
    explanation: str = ""
    families: dict[str, FamilyStats] = Field(default_factory=dict)
    flags: dict[str, int] = Field(default_factory=dict)
    tones: dict[str, int] = Field(default_factory=dict)
    signals: dict[str, SignalValue] = Field(default_factory=dict)
    evidence: tuple[EvidenceRef, ...] = ()
