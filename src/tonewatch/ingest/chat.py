"""Chat exports: JSON arrays, JSON Lines and CSV -> one Conversation per conversation id.

Two layouts are understood:

* flat rows, one message per JSON object / CSV row, with a conversation id field;
  rows are grouped by that id (no id field: the whole file is one conversation);
* nested records, one conversation per object with its messages in a list
  (``{"conversation_id": ..., "messages": [...]}``, or the IBM Twitter dialogues).

Field names come from ``chat_presets`` (``[ingest] chat_preset`` / ``chat_fields``).

Memory: JSON Lines and CSV are streamed twice, first to learn where each conversation
ends, then to emit each conversation as soon as its last row is read, so a file sorted by
conversation holds one conversation in memory at a time and an unsorted one holds only
the conversations still open. A JSON array (or object) is one document and is read whole;
use JSON Lines for very large exports.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from tonewatch.config import IngestConfig
from tonewatch.ingest import _textio as tio
from tonewatch.ingest.base import ReadItem
from tonewatch.ingest.chat_csv import csv_records, sniff_csv
from tonewatch.ingest.chat_json import Record, document_records, is_jsonl, jsonl_records, sniff_json
from tonewatch.ingest.chat_presets import (
    ALIASES,
    ChatFields,
    RawMessage,
    is_twitter_dialogue,
    lookup,
    resolve_fields,
    to_role,
    twitter_dialogue,
)
from tonewatch.registry import readers
from tonewatch.schema import (
    Attachment,
    Channel,
    Conversation,
    Location,
    QuarantineRecord,
    Role,
    Turn,
)

Records = Callable[[], Iterator[Record | QuarantineRecord]]


@dataclass(frozen=True)
class Message:
    conversation: str
    speaker: str
    role: Role
    text: str
    timestamp: datetime | None
    address: str | None
    location: Location
    meta: dict[str, Any] = field(default_factory=dict)
    attachments: tuple[Attachment, ...] = ()


# --- records -> messages -> conversations ------------------------------------------------------


def _message(
    conversation: str | None,
    raw: RawMessage,
    where: Location,
    fields: ChatFields | None,
    tz: tzinfo,
) -> Message | QuarantineRecord:
    """Validate one message; a quarantine record says what is wrong and where."""

    def bad(code: str, message: str) -> QuarantineRecord:
        return QuarantineRecord(location=where, code=code, message=message)

    text_key = fields.text if fields else "message"
    if raw.text is None:
        keys = ", ".join(raw.meta.get("keys", [])) or "none"
        return bad(
            tio.MISSING_FIELD,
            f"message has no text: expected a value under "
            f"{text_key!r}, found keys: {keys}; set [ingest] chat_fields.text if the "
            "text is under another key",
        )
    if isinstance(raw.text, dict | list):
        return bad(
            tio.BAD_RECORD,
            f"expected text under {text_key!r}, found a "
            f"{type(raw.text).__name__}: {tio.snippet(json.dumps(raw.text))}",
        )
    if not conversation:
        id_key = fields.conversation_id if fields else "sessionID"
        return bad(tio.MISSING_FIELD, f"message has no conversation id under {id_key!r}")
    try:
        timestamp = tio.parse_timestamp(raw.timestamp, tz)
    except ValueError as exc:
        return bad(
            tio.BAD_TIMESTAMP,
            f"bad timestamp under {fields.timestamp if fields else 'datetime'!r}: {exc}",
        )
    meta = {k: v for k, v in raw.meta.items() if k != "keys" and v is not None}
    return Message(
        conversation=str(conversation),
        speaker=raw.author,
        role=raw.role,
        text=str(raw.text),
        timestamp=timestamp,
        address=raw.address,
        location=where,
        meta=meta,
    )


def _raw(row: Mapping[str, Any], fields: ChatFields) -> RawMessage:
    address = lookup(row, fields.address)
    author = lookup(row, fields.author) if fields.author else address  # an id names no one else
    return RawMessage(
        author="" if author is None else str(author),
        role=to_role(lookup(row, fields.role), fields.role_true),
        text=lookup(row, fields.text),
        timestamp=lookup(row, fields.timestamp),
        address=None if address in (None, "") else str(address),
        meta={"keys": list(row)},
    )


def build_conversation(
    path: Path, conv_id: str, messages: list[Message], meta: dict
) -> Conversation:
    turns = tuple(
        Turn(
            id=f"{conv_id}:{index}",
            speaker=m.speaker,
            role=m.role,
            text=m.text,
            timestamp=m.timestamp,
            source=m.location,
            attachments=m.attachments,
            meta=m.meta,
        )
        for index, m in enumerate(messages)
    )
    return Conversation(
        id=conv_id,
        channel=Channel.chat,
        client_key="",
        participants=tio.participants((m.speaker, m.role, m.address) for m in messages),
        turns=turns,
        source=Location(path=str(path)),
        meta=meta,
    )


def _read_records(path: Path, records: Records, config: IngestConfig) -> Iterator[ReadItem]:
    """Pick the layout and fields from the first record, then read every record."""
    tz = tio.timezone_of(config.default_timezone)
    first = next(
        (r for r in records() if not isinstance(r, QuarantineRecord) and isinstance(r[2], Mapping)),
        None,
    )
    if first is None:  # nothing usable: report what went wrong (or that it is empty)
        problems = [r for r in records() if isinstance(r, QuarantineRecord)]
        yield from problems or [
            tio.quarantine(
                path,
                tio.EMPTY_FILE,
                "no chat messages found: expected JSON objects, one per message",
            )
        ]
        return
    sample = first[2]
    preset = config.chat_preset
    if preset == "twitter_customer_care" or (preset == "auto" and is_twitter_dialogue(sample)):
        yield from _nested(path, records, None, tz)
        return
    fields = resolve_fields(sample.keys(), preset, config.chat_fields)
    nested = lookup(sample, fields.messages)
    if isinstance(nested, list):
        inner = next((m for m in nested if isinstance(m, Mapping)), {})
        message_fields = resolve_fields(inner.keys(), preset, config.chat_fields)
        yield from _nested(path, records, (fields, message_fields), tz)
        return
    if fields.text is None:
        yield _no_text_field(path, list(sample.keys()), fields)
        return
    yield from _flat(path, records, fields, tz)


def _flat(path: Path, records: Records, fields: ChatFields, tz: tzinfo) -> Iterator[ReadItem]:
    """Rows grouped by conversation id in two streaming passes (see module docstring)."""
    whole_file = tio.file_id(path)

    def conversation_of(row: Mapping[str, Any]) -> str | None:
        conv = lookup(row, fields.conversation_id) if fields.conversation_id else whole_file
        return None if conv in (None, "") else str(conv)

    last: dict[str, int] = {}  # pass 1: the record each conversation ends on (ids only)
    for item in records():
        if not isinstance(item, QuarantineRecord) and isinstance(item[2], Mapping):
            conv = conversation_of(item[2])
            if conv is not None:
                last[conv] = item[0]
    open_: dict[str, list[Message]] = {}
    for item in records():
        if isinstance(item, QuarantineRecord):
            yield item
            continue
        number, line, value = item
        where = Location(path=str(path), item=number, line=line)
        if not isinstance(value, Mapping):
            yield QuarantineRecord(
                location=where,
                code=tio.BAD_RECORD,
                message=f"expected a JSON object (one message), found {type(value).__name__}",
            )
            continue
        conv = conversation_of(value)
        row = _message(conv, _raw(value, fields), where, fields, tz)
        if isinstance(row, QuarantineRecord):
            yield row
        else:
            open_.setdefault(row.conversation, []).append(row)
        if conv is not None and last.get(conv) == number and conv in open_:
            yield build_conversation(path, conv, open_.pop(conv), {})
    for conv_id, left in open_.items():  # only if the file changed between the passes
        yield build_conversation(path, conv_id, left, {})


def _nested(
    path: Path, records: Records, fields: tuple[ChatFields, ChatFields] | None, tz: tzinfo
) -> Iterator[ReadItem]:
    """One conversation per record (``fields`` None: the IBM Twitter layout)."""
    for item in records():
        if isinstance(item, QuarantineRecord):
            yield item
            continue
        number, line, value = item
        where = Location(path=str(path), item=number, line=line)
        if not isinstance(value, Mapping):
            yield QuarantineRecord(
                location=where,
                code=tio.BAD_RECORD,
                message=(
                    f"expected a JSON object (one conversation), found {type(value).__name__}"
                ),
            )
            continue
        if fields is None:
            conv_id, raws, meta = twitter_dialogue(value)
        else:
            outer, inner = fields
            conv_id = lookup(value, outer.conversation_id) if outer.conversation_id else None
            listed = lookup(value, outer.messages)
            if not isinstance(listed, list) or not all(isinstance(m, Mapping) for m in listed):
                yield QuarantineRecord(
                    location=where,
                    code=tio.BAD_RECORD,
                    message=f"expected a list of message objects under {outer.messages!r}, "
                    f"found {tio.snippet(json.dumps(listed, default=str))}",
                )
                continue
            raws, meta = [_raw(m, inner) for m in listed], {}
        conv = str(conv_id) if conv_id not in (None, "") else f"{tio.file_id(path)}-{number}"
        # A message's place: its index in the conversation, the line the record starts on.
        checked = [
            _message(conv, raw, _within(where, index, raw), fields and fields[1], tz)
            for index, raw in enumerate(raws, start=1)
        ]
        yield from (c for c in checked if isinstance(c, QuarantineRecord))
        messages = [c for c in checked if isinstance(c, Message)]
        if messages:
            yield build_conversation(path, conv, messages, meta)
        elif not raws:
            yield QuarantineRecord(
                location=where, code=tio.MISSING_FIELD, message="conversation has no messages"
            )


def _within(record: Location, index: int, raw: RawMessage) -> Location:
    message_id = raw.meta.get("message_id")
    return record.model_copy(
        update={"item": index, "message_id": str(message_id) if message_id else None}
    )


def _no_text_field(path: Path, keys: list[str], fields: ChatFields) -> QuarantineRecord:
    return tio.quarantine(
        path,
        tio.NO_FIELDS,
        f"no message text field: expected one of {', '.join(ALIASES['text'])}, found "
        f"{', '.join(keys) or 'no fields'} (mapped: {fields.describe()}); set [ingest] "
        "chat_fields.text to the key that holds the message text",
    )


@readers.register("tonewatch.chat_json.v1")
class ChatJsonReader:
    """Chat messages or conversations as a JSON array, a JSON object or JSON Lines."""

    name = "tonewatch.chat_json.v1"

    def sniff(self, path: Path, head: bytes) -> float:
        return sniff_json(path, tio.head_text(head))

    def read(self, path: Path, config: IngestConfig) -> Iterator[ReadItem]:
        if is_jsonl(path):
            yield from _read_records(path, lambda: jsonl_records(path), config)
            return
        document = list(document_records(path))  # one document: parsed once, kept in memory
        yield from _read_records(path, lambda: iter(document), config)


@readers.register("tonewatch.chat_csv.v1")
class ChatCsvReader:
    """Chat messages as CSV/TSV rows with a header (delimiter , ; tab or |)."""

    name = "tonewatch.chat_csv.v1"

    def sniff(self, path: Path, head: bytes) -> float:
        return sniff_csv(path, tio.head_text(head))

    def read(self, path: Path, config: IngestConfig) -> Iterator[ReadItem]:
        yield from _read_records(path, lambda: csv_records(path), config)
