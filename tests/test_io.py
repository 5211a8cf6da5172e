from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow.parquet as pq
import pytest

from tonewatch.errors import IngestError
from tonewatch.io import (
    _parquet_schema,
    open_writer,
    read_conversations,
    write_conversations,
)
from tonewatch.schema import (
    Attachment,
    Channel,
    Conversation,
    Location,
    Participant,
    Role,
    Turn,
)


def _conversation(index: int = 0) -> Conversation:
    """A conversation with every field set, in several time zones."""
    source = Location(path="archive.mbox", item=14, line=2031, message_id="abc@x", cue="00:01")
    return Conversation(
        id=f"email-{index}",
        channel=Channel.email,
        client_key="janedoe@gmail.com",
        participants=(
            Participant(
                name="Jane Doe", addresses=("jane@x.com", "+48601234567"), role=Role.client
            ),
            Participant(name="Ánna Wéber", addresses=("anna@acme.example",), role=Role.agent),
            Participant(),
        ),
        turns=(
            Turn(
                id=f"m-{index}-1",
                speaker="Jane Doe",
                role=Role.client,
                text="Zażółć gęślą jaźń — مرحبا 안녕하세요 გამარჯობა\n> quoted",
                timestamp=datetime(2024, 3, 4, 9, 12, 5, 123456, tzinfo=ZoneInfo("Asia/Kolkata")),
                lang="pl",
                lang_confidence=0.8731234,
                source=source,
                attachments=(
                    Attachment(filename="photo.jpg", content_type="image/jpeg", size=52_000_000),
                    Attachment(),
                ),
                meta={
                    "subject": "Re: Order",
                    "references": ["a@x", "b@y"],
                    "n": 3,
                    "ok": True,
                    "nested": {"x": [1.5, None]},
                },
            ),
            Turn(
                id=f"m-{index}-2",
                speaker="Ánna Wéber",
                role=Role.agent,
                text="Sorry!",
                timestamp=datetime(
                    2024, 3, 4, 8, 0, tzinfo=timezone(timedelta(hours=-3, minutes=-30))
                ),
                source=Location(path="call.vtt", line=88, cue="00:12:04.100"),
            ),
            Turn(id=f"m-{index}-3", speaker="", text="", timestamp=None, source=Location(path="f")),
            Turn(
                id=f"m-{index}-4",
                speaker="x",
                text="utc",
                timestamp=datetime(2024, 1, 1, tzinfo=UTC),
                source=Location(path="f"),
            ),
        ),
        source=source,
        subject="Order 1042 — ważne",
        meta={"thread_by": "references", "sources": ["a.mbox", "b/"], "empty": {}},
    )


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_io_round_trip_keeps_every_field(tmp_path: Path, suffix: str) -> None:
    original = [_conversation(0), _conversation(1)]
    path = tmp_path / f"conversations{suffix}"
    assert write_conversations(original, path) == 2
    restored = list(read_conversations(path))
    assert restored == original
    # Equality of datetimes ignores the zone; the JSON form keeps the UTC offsets too.
    assert [c.model_dump(mode="json") for c in restored] == [
        c.model_dump(mode="json") for c in original
    ]
    offsets = [t.timestamp.utcoffset() for t in restored[0].turns if t.timestamp]
    assert offsets == [
        timedelta(hours=5, minutes=30),
        timedelta(hours=-3, minutes=-30),
        timedelta(0),
    ]


def test_io_parquet_schema_covers_every_model_field() -> None:
    schema = _parquet_schema()
    assert set(schema.names) == set(Conversation.model_fields)
    turn = schema.field("turns").type.value_type
    assert {turn.field(i).name for i in range(turn.num_fields)} == set(Turn.model_fields) | {
        "utc_offset"
    }
    for struct, model in [
        (schema.field("source").type, Location),
        (schema.field("participants").type.value_type, Participant),
        (turn.field("attachments").type.value_type, Attachment),
    ]:
        assert {struct.field(i).name for i in range(struct.num_fields)} == set(model.model_fields)


def test_io_parquet_streams_in_row_groups(tmp_path: Path) -> None:
    path = tmp_path / "many.parquet"
    with open_writer(path) as writer:
        for index in range(2100):
            writer.write(_conversation(index))
    assert pq.ParquetFile(path).metadata.num_row_groups == 2
    ids = [c.id for c in read_conversations(path)]
    assert ids == [f"email-{i}" for i in range(2100)]


def test_io_read_tells_formats_apart_by_content(tmp_path: Path) -> None:
    path = tmp_path / "actually-parquet.jsonl"
    write_conversations([_conversation()], path, format="parquet")
    assert list(read_conversations(path)) == [_conversation()]


def test_io_bad_jsonl_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.jsonl"
    good = _conversation().model_dump_json()
    path.write_text(f'{good}\n\n{{"id": "x"}}\n', encoding="utf-8")
    stream = read_conversations(path)
    assert next(stream).id == "email-0"
    with pytest.raises(IngestError, match=r"broken\.jsonl: line 3: \[I210\] not a conversation"):
        next(stream)


def test_io_failed_write_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    with pytest.raises(RuntimeError), open_writer(path) as writer:
        writer.write(_conversation())
        raise RuntimeError("disk full")
    assert list(tmp_path.iterdir()) == []
