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
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

from tonewatch.batch.plan import Chunk, from_lines, locate_message, maildir_key
from tonewatch.config import IngestConfig
from tonewatch.ingest.base import ReadItem
from tonewatch.ingest.email import MaildirReader, MboxReader
from tonewatch.ingest.email_message import EMPTY, UNREADABLE, parse_message
from tonewatch.ingest.pipeline import IngestRun
from tonewatch.ingest.threads import ThreadIndex
from tonewatch.schema import Conversation, Location, QuarantineRecord


class _Part:
    """A read-only window ``[start, stop)`` of an open file (one message of an mbox)."""

    def __init__(self, handle: Any, start: int, stop: int) -> None:
        self._handle, self._pos, self._stop = handle, start, stop

    def read(self, size: int = -1) -> bytes:
        left = self._stop - self._pos
        size = left if size < 0 else min(size, left)
        self._handle.seek(self._pos)
        data = self._handle.read(max(size, 0))
        self._pos += len(data)
        return data

    def __enter__(self) -> _Part:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        return None


class _MboxRange:
    """What ``MboxReader`` reads a message through (``get_file(key)``), over one byte range.

    Message bounds follow ``mailbox.mbox``: a message starts at a "From " line and ends before
    the next one, less the blank line that separates them; the "From " line itself is not
    part of the message.
    """

    def __init__(self, handle: Any, start: int, end: int) -> None:
        self._handle = handle
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            starts = list(from_lines(data, start, end))
            bounds = [*starts[1:], end]
            self.spans = []
            for begin, stop in zip(starts, bounds, strict=True):
                body = data.find(b"\n", begin, stop)
                body = stop if body < 0 else body + 1
                blank = stop - 1 >= body and data[stop - 2 : stop] == b"\n\n"
                self.spans.append((body, stop - 1 if blank else stop))

    def __len__(self) -> int:
        return len(self.spans)

    def get_file(self, key: int) -> _Part:
        body, stop = self.spans[key]
        return _Part(self._handle, body, stop)


class MboxRangeReader(MboxReader):
    """The mbox reader over the byte range of one chunk; messages numbered as in the file."""

    def __init__(self, chunk: Chunk, threads: ThreadIndex) -> None:
        super().__init__()
        self.chunk = chunk
        self.threads = threads

    def read(self, path: Path, config: IngestConfig) -> Iterator[ReadItem]:
        chunk = self.chunk
        try:
            handle = path.open("rb")
        except OSError as exc:
            yield _record(path, None, UNREADABLE, f"cannot read the file: {exc.strerror or exc}")
            return
        with handle:
            box = _MboxRange(handle, chunk.start, chunk.end)
            last = len(box) - 1
            for key in range(len(box)):
                index = chunk.first_item + key
                # The truncation check belongs to the file's last message only.
                is_last = chunk.tail and key == last
                yield self._read_one(box, key, path, index, is_last, config)  # type: ignore[arg-type]


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


def _record(path: Path, item: int | None, code: str, message: str) -> QuarantineRecord:
    return QuarantineRecord(
        location=Location(path=str(path), item=item), code=code, message=message
    )


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
