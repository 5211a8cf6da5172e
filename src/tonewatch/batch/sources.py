"""Ingest of one chunk: the ingest stage over a byte range of an mbox, a run of a Maildir's
messages or a group of files, with the same readers, roles, languages and quarantine rules.

Messages keep the places they have in the whole archive (``Location(path, item=N)`` with
``N`` counted from the archive's first message, and the same fallback ids), so a chunk's rows
do not depend on how the archive was cut. Email thread ids come from the root's Message-ID
(a root's own, a reply's first Reference), so a thread cut across chunks keeps one id; only a
reply without References or In-Reply-To, threaded by subject, joins its thread within its chunk.
"""

from __future__ import annotations

import mmap
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tonewatch.batch.plan import Chunk, locate_message, maildir_key
from tonewatch.config import IngestConfig
from tonewatch.ingest.base import ReadItem
from tonewatch.ingest.email import MaildirReader, MboxReader, mbox_messages
from tonewatch.ingest.email_message import EMPTY, UNREADABLE, parse_message
from tonewatch.ingest.mbox import Span
from tonewatch.ingest.pipeline import IngestRun
from tonewatch.ingest.threads import ThreadIndex
from tonewatch.schema import Conversation, Location, QuarantineRecord

_NEXT_FROM = re.compile(rb"\nFrom ")


def range_spans(path: str | Path, start: int, end: int, tail: bool) -> list[Span]:
    """The messages of the mbox byte range ``[start, end)`` (``start`` at a "From " line),
    delimited as ``mbox_spans`` delimits them in the whole file; ``tail``: the range ends the
    file, so its last message is the archive's last."""
    spans: list[Span] = []
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        begin = start
        for match in _NEXT_FROM.finditer(data, start, end):
            at = match.start()  # the newline ending the line before "From "
            blank = data[at - 1] == 0x0A  # that line is empty: the separator, not the message's
            spans.append(Span(begin, at + (0 if blank else 1), False))
            begin = at + 1
        blank = end - start >= 2 and data[end - 2 : end] == b"\n\n"
        spans.append(Span(begin, end - 1 if blank else end, tail))
    return spans


class MboxRangeReader(MboxReader):
    """The mbox reader over the byte range of one chunk; messages numbered as in the file."""

    def __init__(self, chunk: Chunk, threads: ThreadIndex) -> None:
        super().__init__()
        self.chunk = chunk
        self.threads = threads

    def read(self, path: Path, config: IngestConfig) -> Iterator[ReadItem]:
        chunk = self.chunk
        try:
            spans = range_spans(path, chunk.start, chunk.end, chunk.tail)
        except (OSError, ValueError) as exc:  # gone, or emptied since it was planned
            location = Location(path=str(path), item=chunk.first_item)
            yield QuarantineRecord(location=location, code=UNREADABLE, message=str(exc))
            return
        for item in mbox_messages(path, spans, chunk.first_item, config):
            yield item if isinstance(item, QuarantineRecord) else self._threaded(item)


class MaildirRangeReader(MaildirReader):
    """The Maildir reader over the messages of one chunk; messages numbered as in the
    Maildir, ids as ``MaildirReader`` gives them."""

    def __init__(self, chunk: Chunk, threads: ThreadIndex) -> None:
        super().__init__()
        self.chunk = chunk
        self.threads = threads

    def read(self, path: Path, config: IngestConfig) -> Iterator[ReadItem]:
        name = str(path)
        for index, message in enumerate(self.chunk.files, start=self.chunk.first_item):
            key = maildir_key(message)
            where = Location(path=name, item=index)
            try:
                with open(locate_message(path, message), "rb") as handle:
                    data = handle.read(config.max_message_bytes + 1)
            except OSError as exc:  # vanished or unreadable since listed
                yield QuarantineRecord(location=where, code=UNREADABLE, message=repr(exc))
                continue
            if len(data) > config.max_message_bytes:
                yield self._too_large(where, config)
            elif not data.strip():
                yield QuarantineRecord(location=where, code=EMPTY, message=f"empty file {key}")
            else:
                item = parse_message(data, name, index, config, self.threads, f"{name}#{key}")
                if isinstance(item, QuarantineRecord):
                    item = item.model_copy(update={"message": f"{item.message} (file {key})"})
                yield item


class ChunkIngest(IngestRun):
    """``IngestRun`` over one chunk: ``conversations()`` streams its merged, labelled
    conversations; ``stats`` and ``on_quarantine`` work as for a whole run."""

    def __init__(self, chunk: Chunk, config: IngestConfig, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.chunk = chunk
        # The run's readers share one index (IngestRun sees to it); the range readers join it.
        self.threads = next(
            (
                r.threads
                for r in self.readers
                if isinstance(getattr(r, "threads", None), ThreadIndex)
            ),
            ThreadIndex(),
        )

    def conversations(self) -> Iterator[Conversation]:
        chunk = self.chunk
        return self(chunk.files if chunk.kind == "files" else [chunk.source])

    def read_input(self, path: Path) -> Iterator[Conversation]:
        chunk = self.chunk
        if chunk.kind == "files":
            yield from super().read_input(path)
            return
        if str(path) != chunk.source:
            return  # a Maildir++ folder inside this Maildir: an input of its own
        reader: MboxReader | MaildirReader
        if chunk.kind == "mbox":
            reader = MboxRangeReader(chunk, self.threads)
        else:
            reader = MaildirRangeReader(chunk, self.threads)
        self.stats.read += 1
        self.stats.readers[reader.name] += 1
        yield from self._guarded(reader, path)
