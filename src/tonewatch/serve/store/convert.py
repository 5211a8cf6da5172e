"""Between the data model (``tonewatch.schema``) and table rows, both ways.

Loading turns a Conversation and its TurnResults into rows; aggregation and export rebuild
a Conversation and *effective* TurnResults from rows: the model's output with the reviewers'
decisions applied (rejected flags dropped, relabels and added flags in, reviewed tone).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from tonewatch.schema import (
    FAMILY_OF,
    Conversation,
    Evidence,
    Flag,
    Tone,
    ToneResult,
    Turn,
    TurnResult,
)
from tonewatch.serve.store import models as m
from tonewatch.serve.store.db import to_utc

CERTAIN = 1.0  # the score of a flag a reviewer confirmed or added


def digest(conversation: Conversation, results: Sequence[TurnResult]) -> str:
    """Identity of one input: reloading the same conversation with the same results is a no-op."""
    hasher = hashlib.sha256(conversation.model_dump_json().encode())
    for result in sorted(results, key=lambda r: r.id):
        hasher.update(result.model_dump_json().encode())
    return hasher.hexdigest()


def utc_offset(value: datetime | None) -> int | None:
    if value is None:
        return None
    offset = value.utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def local_time(at: datetime | None, offset: int | None) -> datetime | None:
    """A stored naive-UTC instant back in the zone it was written in."""
    if at is None:
        return None
    zone = UTC if not offset else timezone(timedelta(seconds=offset))
    return at.replace(tzinfo=UTC).astimezone(zone)


def conversation_row(
    conversation: Conversation, results: Sequence[TurnResult], client_id: int, key: str
) -> dict[str, Any]:
    stamps = [t.timestamp for t in conversation.turns if t.timestamp is not None]
    dumped = conversation.model_dump(mode="json", include={"participants", "source", "meta"})
    return {
        "key": conversation.id,
        "client_id": client_id,
        "channel": conversation.channel.value,
        "subject": conversation.subject,
        "source": str(conversation.source),
        "started_at": to_utc(min(stamps)) if stamps else None,
        "ended_at": to_utc(max(stamps)) if stamps else None,
        "turn_count": len(conversation.turns),
        "flag_count": sum(len(r.flags) for r in results),
        "model": ", ".join(sorted({r.model for r in results})) or "",
        "digest": key,
        "data": dumped,
    }


def turn_row(
    conversation: Conversation,
    position: int,
    turn: Turn,
    result: TurnResult | None,
    conversation_id: int,
    client_id: int,
) -> dict[str, Any]:
    extra = turn.model_dump(
        mode="json", include={"source", "lang_confidence", "attachments", "meta"}
    )
    row: dict[str, Any] = {
        "key": turn.id,
        "conversation_id": conversation_id,
        "client_id": client_id,
        "position": position,
        "speaker": turn.speaker,
        "role": turn.role.value,
        "text": turn.text,
        "at": to_utc(turn.timestamp),
        "utc_offset": utc_offset(turn.timestamp),
        "lang": turn.lang,
        "channel": conversation.channel.value,
        "extra": extra,
        "model": None,
        "tone": None,
        "tone_scores": None,
        "scores": None,
        "result_lang": None,
    }
    if result is not None:
        row.update(
            model=result.model,
            tone=result.tone.label.value,
            tone_scores=dict(result.tone.scores),
            scores=dict(result.scores),
            result_lang=result.lang,
        )
    return row


def flag_rows(turn_row_: dict[str, Any], turn_id: int, result: TurnResult) -> list[dict[str, Any]]:
    return [
        {
            "turn_id": turn_id,
            "conversation_id": turn_row_["conversation_id"],
            "client_id": turn_row_["client_id"],
            "label": flag.label.value,
            "family": FAMILY_OF[flag.label.value],
            "model_label": flag.label.value,
            "score": flag.score,
            "evidence": [[e.start, e.end] for e in flag.evidence],
            "status": "open",
            "lang": turn_row_["lang"],
            "channel": turn_row_["channel"],
            "at": turn_row_["at"],
        }
        for flag in result.flags
    ]


def rebuild_conversation(
    conversation: m.Conversation, client_key: str, turns: Sequence[m.Turn]
) -> Conversation:
    data = conversation.data
    return Conversation(
        id=conversation.key,
        channel=conversation.channel,
        client_key=client_key,
        participants=data.get("participants", ()),
        turns=tuple(rebuild_turn(t) for t in turns),
        source=data["source"],
        subject=conversation.subject,
        meta=data.get("meta", {}),
    )


def rebuild_turn(turn: m.Turn) -> Turn:
    return Turn(
        id=turn.key,
        speaker=turn.speaker,
        role=turn.role,
        text=turn.text,
        timestamp=local_time(turn.at, turn.utc_offset),
        lang=turn.lang,
        **turn.extra,
    )


def valid_spans(text: str, spans: Sequence[Sequence[int]]) -> list[tuple[int, int]]:
    return [(s, e) for s, e in spans if 0 <= s < e <= len(text)]


def effective_flags(turn: m.Turn, flags: Sequence[m.Flag]) -> tuple[Flag, ...]:
    """The flags a turn has once its reviews are applied (rejected ones dropped)."""
    kept = []
    for flag in flags:
        if flag.status == "rejected":
            continue
        score = CERTAIN if flag.status == "confirmed" else (flag.score or 0.0)
        kept.append(
            Flag(
                label=flag.label,
                score=score,
                evidence=tuple(
                    Evidence.from_span(turn.text, s, e)
                    for s, e in valid_spans(turn.text, flag.evidence)
                ),
            )
        )
    return tuple(sorted(kept, key=lambda f: f.label))


def effective_result(turn: m.Turn, flags: Sequence[m.Flag]) -> TurnResult | None:
    """The turn's TurnResult with reviews applied; None if the model never scored it."""
    if turn.model is None or turn.tone is None or turn.scores is None:
        return None
    tone = Tone(turn.reviewed_tone or turn.tone)
    return TurnResult(
        id=turn.key,
        lang=turn.result_lang or turn.lang,
        tone=ToneResult(label=tone, level=tone.level, scores=turn.tone_scores or {}),
        scores=turn.scores,
        flags=effective_flags(turn, flags),
        model=turn.model,
    )
