"""The scored-turn table: one Parquet row per turn, and the way back to the data model.

Each row holds the turn's result (tone, the twelve flag scores, flags with evidence spans,
the model) next to what the report stage needs of its turn and conversation, so reports are
built from the rows alone: ``scored_conversations(table)`` gives back ``(Conversation,
[TurnResult])`` pairs equal to what was scored. Nested values that analysts rarely filter on
(participants, attachments, meta, the conversation's source) are JSON strings; a timestamp
column has one time zone, so each turn keeps its UTC instant plus ``utc_offset`` (seconds).

Columns (``ROW_SCHEMA``): conversation_id, client_key, channel, subject, turn_id, turn_index
(0-based position in the conversation), speaker, role, text, timestamp, utc_offset, language,
lang_confidence, tone, tone_level, tone_scores (struct), score_<label> x 12, flagged, flags
(list of {label, score, evidence: list of {start, end, text}}), model_id, source_path,
source_item, source_line, source_message_id, source_cue, participants, attachments,
turn_meta, conversation_meta, conversation_source (JSON), chunk (the input chunk's key).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, timedelta, timezone
from typing import Any

import pyarrow as pa

from tonewatch.schema import LABELS, TONES, Conversation, TurnResult

SCHEMA_ID = "tonewatch.turns/1"
SCORE_COLUMNS = tuple(f"score_{label}" for label in LABELS)


def _schema() -> pa.Schema:
    evidence = pa.struct([("start", pa.int32()), ("end", pa.int32()), ("text", pa.string())])
    flag = pa.struct(
        [("label", pa.string()), ("score", pa.float64()), ("evidence", pa.list_(evidence))]
    )
    text = pa.string()
    fields = [
        ("conversation_id", text),
        ("client_key", text),
        ("channel", text),
        ("subject", text),
        ("turn_id", text),
        ("turn_index", pa.int32()),
        ("speaker", text),
        ("role", text),
        ("text", text),
        ("timestamp", pa.timestamp("us", tz="UTC")),
        ("utc_offset", pa.int32()),
        ("language", text),
        ("lang_confidence", pa.float64()),
        ("tone", text),
        ("tone_level", pa.int8()),
        ("tone_scores", pa.struct([(tone, pa.float64()) for tone in TONES])),
        *((column, pa.float64()) for column in SCORE_COLUMNS),
        ("flagged", pa.bool_()),
        ("flags", pa.list_(flag)),
        ("model_id", text),
        ("source_path", text),
        ("source_item", pa.int64()),
        ("source_line", pa.int64()),
        ("source_message_id", text),
        ("source_cue", text),
        ("participants", text),
        ("attachments", text),
        ("turn_meta", text),
        ("conversation_meta", text),
        ("conversation_source", text),
        ("chunk", text),
    ]
    return pa.schema(fields, metadata={"tonewatch": SCHEMA_ID})


ROW_SCHEMA = _schema()


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def turn_rows(
    conversations: Sequence[Conversation], results: Sequence[TurnResult], chunk: str
) -> list[dict[str, Any]]:
    """Rows of ``conversations``' turns, in order; ``results`` holds one per turn, same order."""
    rows: list[dict[str, Any]] = []
    results_iter = iter(results)
    for conversation in conversations:
        dumped = conversation.model_dump(mode="json")  # JSON-safe meta, enums as strings
        common = {
            "conversation_id": conversation.id,
            "client_key": conversation.client_key,
            "channel": dumped["channel"],
            "subject": conversation.subject,
            "participants": _json(dumped["participants"]),
            "conversation_meta": _json(dumped["meta"]),
            "conversation_source": _json(dumped["source"]),
            "chunk": chunk,
        }
        for index, (turn, dumped_turn) in enumerate(
            zip(conversation.turns, dumped["turns"], strict=True)
        ):
            result = next(results_iter)
            if result.id != turn.id:
                raise ValueError(f"result {result.id!r} does not belong to turn {turn.id!r}")
            rows.append({**common, **_turn_columns(turn, dumped_turn, index), **_result(result)})
    return rows


def _turn_columns(turn: Any, dumped: dict[str, Any], index: int) -> dict[str, Any]:
    stamp = turn.timestamp
    offset = stamp.utcoffset() if stamp is not None else None
    source = turn.source
    return {
        "turn_id": turn.id,
        "turn_index": index,
        "speaker": turn.speaker,
        "role": dumped["role"],
        "text": turn.text,
        "timestamp": stamp,
        "utc_offset": int(offset.total_seconds()) if offset is not None else None,
        "lang_confidence": turn.lang_confidence,
        "source_path": source.path,
        "source_item": source.item,
        "source_line": source.line,
        "source_message_id": source.message_id,
        "source_cue": source.cue,
        "attachments": _json(dumped["attachments"]),
        "turn_meta": _json(dumped["meta"]),
    }


def _result(result: TurnResult) -> dict[str, Any]:
    flags = [flag.model_dump(mode="json") for flag in result.flags]
    return {
        "language": result.lang,
        "tone": result.tone.label.value,
        "tone_level": result.tone.level,
        "tone_scores": {tone: result.tone.scores.get(tone) for tone in TONES},
        **{f"score_{label}": result.scores[label] for label in LABELS},
        "flagged": bool(flags),
        "flags": flags,
        "model_id": result.model,
    }


def rows_table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=ROW_SCHEMA)


# -- back to the data model ------------------------------------------------------------------


def result_from_row(row: dict[str, Any]) -> TurnResult:
    """The TurnResult a row was written from."""
    return TurnResult(
        id=row["turn_id"],
        lang=row["language"],
        tone={"label": row["tone"], "level": row["tone_level"], "scores": row["tone_scores"]},
        scores={label: row[f"score_{label}"] for label in LABELS},
        flags=row["flags"] or (),
        model=row["model_id"],
    )


def _turn(row: dict[str, Any]) -> dict[str, Any]:
    stamp = row["timestamp"]
    if stamp is not None:
        offset = row["utc_offset"]
        stamp = stamp.astimezone(UTC if not offset else timezone(timedelta(seconds=offset)))
    return {
        "id": row["turn_id"],
        "speaker": row["speaker"],
        "role": row["role"],
        "text": row["text"],
        "timestamp": stamp,
        "lang": row["language"],
        "lang_confidence": row["lang_confidence"],
        "source": {
            "path": row["source_path"],
            "item": row["source_item"],
            "line": row["source_line"],
            "message_id": row["source_message_id"],
            "cue": row["source_cue"],
        },
        "attachments": json.loads(row["attachments"]),
        "meta": json.loads(row["turn_meta"]),
    }


def _pair(rows: list[dict[str, Any]]) -> tuple[Conversation, list[TurnResult]]:
    rows = sorted(rows, key=lambda r: r["turn_index"])
    first = rows[0]
    conversation = Conversation.model_validate(
        {
            "id": first["conversation_id"],
            "channel": first["channel"],
            "client_key": first["client_key"],
            "participants": json.loads(first["participants"]),
            "turns": [_turn(row) for row in rows],
            "source": json.loads(first["conversation_source"]),
            "subject": first["subject"],
            "meta": json.loads(first["conversation_meta"]),
        }
    )
    return conversation, [result_from_row(row) for row in rows]


def scored_conversations(
    batches: Iterable[pa.Table | pa.RecordBatch],
) -> Iterator[tuple[Conversation, list[TurnResult]]]:
    """(conversation, one TurnResult per turn) pairs from the rows of one chunk (or several,
    read in order): consecutive rows of one conversation id are one conversation."""
    group: list[dict[str, Any]] = []
    for batch in batches:
        for row in batch.to_pylist():
            if group and (
                row["conversation_id"] != group[0]["conversation_id"]
                or row["chunk"] != group[0]["chunk"]
            ):
                yield _pair(group)
                group = []
            group.append(row)
    if group:
        yield _pair(group)
