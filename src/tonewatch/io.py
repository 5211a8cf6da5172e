"""Conversations on disk: JSON Lines and Parquet, both streaming and both lossless.

JSON Lines holds one ``Conversation.model_dump(mode="json")`` per line. Parquet has one row per
conversation with an explicit nested schema (participants and turns are lists of structs), so
analysts can query it with pyarrow, DuckDB or pandas. Two things Parquet cannot hold as they
are get a companion column: a timestamp column has one time zone, so each turn keeps its UTC
instant plus ``utc_offset`` (seconds), and free-form ``meta`` dicts are JSON strings.

    with open_writer("out.parquet") as writer:    # format from the suffix, or format=
        for conversation in conversations:
            writer.write(conversation)
    for conversation in read_conversations("out.parquet"):   # either format, by content
        ...

A writer writes to ``<path>.partial`` and renames it on a clean close, so a failed run never
leaves a truncated file under the real name.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

from pydantic import ValidationError

from tonewatch.errors import IngestError
from tonewatch.schema import Conversation, Location

Format = Literal["jsonl", "parquet"]
PARQUET_MAGIC = b"PAR1"
PARQUET_SUFFIXES = (".parquet", ".pq")
ROW_GROUP_CONVERSATIONS = 2000
ROW_GROUP_TURNS = 50_000


def _parquet_schema() -> Any:
    import pyarrow as pa

    location = pa.struct(
        [
            ("path", pa.string()),
            ("item", pa.int64()),
            ("line", pa.int64()),
            ("message_id", pa.string()),
            ("cue", pa.string()),
        ]
    )
    participant = pa.struct(
        [("name", pa.string()), ("addresses", pa.list_(pa.string())), ("role", pa.string())]
    )
    attachment = pa.struct(
        [("filename", pa.string()), ("content_type", pa.string()), ("size", pa.int64())]
    )
    turn = pa.struct(
        [
            ("id", pa.string()),
            ("speaker", pa.string()),
            ("role", pa.string()),
            ("text", pa.string()),
            ("timestamp", pa.timestamp("us", tz="UTC")),
            ("utc_offset", pa.int32()),  # seconds east of UTC of the original timestamp
            ("lang", pa.string()),
            ("lang_confidence", pa.float64()),
            ("source", location),
            ("attachments", pa.list_(attachment)),
            ("meta", pa.string()),  # JSON object
        ]
    )
    return pa.schema(
        [
            ("id", pa.string()),
            ("channel", pa.string()),
            ("client_key", pa.string()),
            ("participants", pa.list_(participant)),
            ("turns", pa.list_(turn)),
            ("source", location),
            ("subject", pa.string()),
            ("meta", pa.string()),  # JSON object
        ],
        metadata={"tonewatch": "conversations/1"},
    )


def to_json(conversation: Conversation) -> str:
    """One line of JSON Lines (without the line end)."""
    return conversation.model_dump_json()


def to_row(conversation: Conversation) -> dict[str, Any]:
    """One Parquet row (``_parquet_schema``)."""
    row = conversation.model_dump(mode="json")  # JSON-safe meta, enums as strings
    row["meta"] = json.dumps(row["meta"], ensure_ascii=False)
    for turn in row["turns"]:
        turn["meta"] = json.dumps(turn["meta"], ensure_ascii=False)
        stamp = turn["timestamp"]
        if stamp is None:
            turn["utc_offset"] = None
            continue
        moment = datetime.fromisoformat(stamp)
        offset = moment.utcoffset()
        turn["timestamp"] = moment
        turn["utc_offset"] = int(offset.total_seconds()) if offset is not None else 0
    return row


def _from_row(row: dict[str, Any]) -> dict[str, Any]:
    row["meta"] = json.loads(row["meta"]) if row["meta"] else {}
    for turn in row["turns"]:
        turn["meta"] = json.loads(turn["meta"]) if turn["meta"] else {}
        offset = turn.pop("utc_offset")
        if turn["timestamp"] is not None:
            zone = UTC if not offset else timezone(timedelta(seconds=offset))
            turn["timestamp"] = turn["timestamp"].astimezone(zone)
    return row


class _Writer:
    """Common part: the ``.partial`` file, renamed to ``path`` on a clean close.

    ``write(c)`` is ``write_encoded(encode(c))``; ``encode`` is a plain function, so that a
    pipeline can run it in worker processes and hand over only the result.
    """

    encode: Callable[[Conversation], Any]

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.partial = self.path.with_name(self.path.name + ".partial")
        self.count = 0

    def write(self, conversation: Conversation) -> None:
        self.write_encoded(type(self).encode(conversation))

    def write_encoded(self, encoded: Any) -> None:
        raise NotImplementedError

    def _close_file(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self._close_file()
        os.replace(self.partial, self.path)

    def abort(self) -> None:
        try:
            self._close_file()
        finally:
            self.partial.unlink(missing_ok=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()


class JsonlWriter(_Writer):
    encode = staticmethod(to_json)

    def __init__(self, path: str | Path) -> None:
        super().__init__(path)
        self._handle = self.partial.open("w", encoding="utf-8")

    def write_encoded(self, encoded: str) -> None:
        self._handle.write(encoded)
        self._handle.write("\n")
        self.count += 1

    def _close_file(self) -> None:
        self._handle.close()


class ParquetWriter(_Writer):
    """Streams conversations into row groups of at most ROW_GROUP_CONVERSATIONS / _TURNS."""

    encode = staticmethod(to_row)

    def __init__(self, path: str | Path) -> None:
        import pyarrow.parquet as pq

        super().__init__(path)
        self._schema = _parquet_schema()
        self._writer = pq.ParquetWriter(self.partial, self._schema, compression="zstd")
        self._rows: list[dict[str, Any]] = []
        self._turns = 0

    def write_encoded(self, encoded: dict[str, Any]) -> None:
        self._rows.append(encoded)
        self._turns += len(encoded["turns"])
        self.count += 1
        if len(self._rows) >= ROW_GROUP_CONVERSATIONS or self._turns >= ROW_GROUP_TURNS:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        if self._rows:
            self._writer.write_table(pa.Table.from_pylist(self._rows, schema=self._schema))
        self._rows, self._turns = [], 0

    def _close_file(self) -> None:
        try:
            self._flush()
        finally:
            self._writer.close()


def infer_format(path: str | Path) -> Format:
    return "parquet" if Path(path).suffix.lower() in PARQUET_SUFFIXES else "jsonl"


def open_writer(path: str | Path, format: Format | None = None) -> JsonlWriter | ParquetWriter:
    """A writer for ``path``; the format is ``format`` or, if None, inferred from the suffix."""
    chosen = format or infer_format(path)
    if chosen == "parquet":
        return ParquetWriter(path)
    if chosen == "jsonl":
        return JsonlWriter(path)
    raise ValueError(f"unknown format {format!r}; expected 'jsonl' or 'parquet'")


def write_conversations(
    conversations: Iterable[Conversation], path: str | Path, format: Format | None = None
) -> int:
    """Write all ``conversations`` to ``path``; RETURNS how many were written."""
    with open_writer(path, format) as writer:
        for conversation in conversations:
            writer.write(conversation)
        return writer.count


def iter_jsonl(path: str | Path) -> Iterator[Conversation]:
    with Path(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield Conversation.model_validate_json(line)
            except ValidationError as exc:
                problem = exc.errors()[0]
                where = " -> ".join(str(part) for part in problem["loc"])
                raise IngestError(
                    Location(path=str(path), line=number),
                    f"not a conversation: [{where}] {problem['msg']}",
                    code="I210",
                ) from exc


def iter_parquet(path: str | Path, batch_size: int = 512) -> Iterator[Conversation]:
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
    row = 0
    for batch in parquet.iter_batches(batch_size=batch_size):
        for record in batch.to_pylist():
            row += 1
            try:
                yield Conversation.model_validate(_from_row(record))
            except (ValidationError, KeyError, json.JSONDecodeError) as exc:
                raise IngestError(
                    Location(path=str(path), item=row),
                    f"not a conversation: {exc}",
                    code="I210",
                ) from exc


def read_conversations(path: str | Path) -> Iterator[Conversation]:
    """Stream the conversations of a JSON Lines or Parquet file (told apart by content)."""
    try:
        with Path(path).open("rb") as handle:
            magic = handle.read(len(PARQUET_MAGIC))
    except OSError as exc:
        raise IngestError(
            Location(path=str(path)), f"cannot read ({exc.strerror})", code="I211"
        ) from exc
    return iter_parquet(path) if magic == PARQUET_MAGIC else iter_jsonl(path)
