"""Email readers: single messages (.eml), mbox archives and Maildir folders.

    readers.get("tonewatch.mbox.v1")().read(Path("acme.mbox"), config)

Each message becomes one ``Conversation`` fragment (channel email, one ``Turn``) whose id is its
thread id (``threads.ThreadIndex``); a later stage merges fragments sharing an id and assigns
roles, client keys and languages. Archives are streamed message by message (``mbox.mbox_spans``
finds an mbox's messages in one pass; ``mailbox`` keeps only a Maildir's keys), so memory stays
flat on any archive size. A message that cannot be read becomes a ``QuarantineRecord`` (codes
I001-I007 in ``email_message``) and the archive goes on. The thread index lives on the reader
instance: one instance reading many .eml files threads across them.
"""

from __future__ import annotations

import mailbox
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from tonewatch.config import IngestConfig
from tonewatch.ingest.base import SNIFF_BYTES, ReadItem
from tonewatch.ingest.email_message import (
    EMPTY,
    NOT_EMAIL,
    TOO_LARGE,
    TRUNCATED,
    UNREADABLE,
    ParsedMessage,
    parse_message,
    read_message,
)
from tonewatch.ingest.mbox import Span, mbox_spans, read_span
from tonewatch.ingest.threads import ThreadIndex
from tonewatch.registry import readers
from tonewatch.schema import Conversation, Location, QuarantineRecord

# Header fields seen at the top of real messages; two of them make a file an email.
_KNOWN_FIELDS = frozenset(
    b"from to cc subject date message-id received return-path mime-version content-type "
    b"delivered-to reply-to in-reply-to references sender x-mailer user-agent dkim-signature "
    b"arc-seal authentication-results thread-topic thread-index x-original-to envelope-to "
    b"content-transfer-encoding importance x-priority list-id".split()
)
_FIELD_LINE = re.compile(rb"^([!-9;-~]+)[ \t]*:")
_MBOX_FROM = re.compile(rb"^From \S+")
_FROM_ESCAPE = re.compile(rb"^>(>*From )", re.MULTILINE)


def rfc822_confidence(head: bytes) -> float:
    """How much the first bytes of a file look like the header block of one email message."""
    if not head.strip() or b"\x00" in head:
        return 0.0
    lines = head.lstrip(b"\r\n").splitlines()
    envelope = bool(lines) and lines[0].startswith(b"From ")
    if envelope:  # an mbox envelope line: the mbox reader is the better fit, even for one message
        lines = lines[1:]
    known = 0
    for line in lines[:100]:
        if not line.strip():
            break
        if line[:1] in (b" ", b"\t"):
            continue  # folded continuation of the previous field
        match = _FIELD_LINE.match(line)
        if match is None:
            return 0.0 if known == 0 else 0.3
        known += match.group(1).lower() in _KNOWN_FIELDS
    score = 0.9 if known >= 2 else 0.4 if known == 1 else 0.0
    return min(score, 0.6) if envelope else score


def _binary_reason(head: bytes) -> str | None:
    if b"\x00" in head:
        return "binary data (NUL bytes)"
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    if controls > len(head) // 100 + 2:
        return f"binary data ({controls} control bytes in the first {len(head)})"
    return None


def _quarantine(path: Path | str, code: str, message: str, **where: object) -> QuarantineRecord:
    return QuarantineRecord(location=Location(path=str(path), **where), code=code, message=message)


def _read_limited(handle: BinaryIO, limit: int) -> bytes | None:
    """At most ``limit`` bytes, or None when there are more (read no further than that)."""
    data = handle.read(limit + 1)
    return None if len(data) > limit else data


def _too_large(where: Location, config: IngestConfig) -> QuarantineRecord:
    return QuarantineRecord(
        location=where,
        code=TOO_LARGE,
        message=f"message is larger than ingest.max_message_bytes "
        f"({config.max_message_bytes} bytes); raise the limit to read it",
    )


class _EmailReader:
    name = ""

    def __init__(self) -> None:
        self.threads = ThreadIndex()

    def _too_large(self, where: Location, config: IngestConfig) -> QuarantineRecord:
        return _too_large(where, config)

    def _threaded(self, message: ParsedMessage) -> Conversation:
        return message.threaded(self.threads)


@readers.register("tonewatch.eml.v1")
class EmlReader(_EmailReader):
    """One RFC 822 message per file, whatever its extension (.eml, .msg.txt, none)."""

    name = "tonewatch.eml.v1"

    def sniff(self, path: Path, head: bytes) -> float:
        score = rfc822_confidence(head)
        return min(1.0, score + 0.05) if score and path.suffix.lower() == ".eml" else score

    def read(self, path: Path, config: IngestConfig) -> Iterator[ReadItem]:
        where = Location(path=str(path))
        try:
            with path.open("rb") as handle:
                data = _read_limited(handle, config.max_message_bytes)
        except OSError as exc:
            yield _quarantine(path, UNREADABLE, f"cannot read the file: {exc.strerror or exc}")
            return
        if data is None:
            yield self._too_large(where, config)
            return
        if not data.strip():
            yield _quarantine(path, EMPTY, "file is empty: expected an RFC 822 email message")
            return
        head = data[:SNIFF_BYTES]
        reason = _binary_reason(head)
        if reason is None and rfc822_confidence(head) == 0.0:
            reason = f"no header block (From:, Date:, Subject: …) at the start: {head[:40]!r}"
        if reason:
            yield _quarantine(path, NOT_EMAIL, f"not an email message: {reason}")
            return
        yield parse_message(data, str(path), None, config, self.threads, str(path))


def check_mbox(path: Path) -> QuarantineRecord | None:
    """Why ``path`` cannot be read as an mbox archive, or None."""
    try:
        with path.open("rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except OSError as exc:
        return _quarantine(path, UNREADABLE, f"cannot read the file: {exc.strerror or exc}")
    if not head.strip():
        return _quarantine(path, EMPTY, "file is empty: expected an mbox archive")
    if not _MBOX_FROM.match(head):
        return _quarantine(
            path,
            NOT_EMAIL,
            f"not an mbox archive: expected a 'From ' line at the start, found {head[:40]!r}",
        )
    return None


def mbox_messages(
    path: Path, spans: Iterable[Span], first: int, config: IngestConfig
) -> Iterator[ParsedMessage | QuarantineRecord]:
    """The messages of ``spans`` (numbered from ``first``) read, not yet threaded."""
    name = str(path)
    try:
        handle = path.open("rb")
    except OSError as exc:
        yield _quarantine(path, UNREADABLE, f"cannot read the file: {exc.strerror or exc}")
        return
    with handle:
        for index, span in enumerate(spans, start=first):
            try:
                data = read_span(handle, span, config.max_message_bytes)
            except OSError as exc:
                yield _quarantine(path, UNREADABLE, str(exc), item=index)
                continue
            yield mbox_message(data, name, index, span.last, config)


def mbox_message(
    data: bytes | None, path: str, index: int, last: bool, config: IngestConfig
) -> ParsedMessage | QuarantineRecord:
    """Message ``index`` of mbox ``path``, given as its bytes without the "From " line (None:
    over ``max_message_bytes``); ``last``: the archive's final message."""
    if data is None:
        return _too_large(Location(path=path, item=index), config)
    if not data or data.isspace():  # not data.strip(), without copying the message
        where = Location(path=path, item=index)
        return QuarantineRecord(location=where, code=EMPTY, message="empty message")
    if last and not data.endswith(b"\n"):
        return QuarantineRecord(
            location=Location(path=path, item=index),
            code=TRUNCATED,
            message="message is cut off mid-line at the end of the file "
            "(truncated archive?); expected a complete message ending with a newline",
        )
    if data.startswith(b">From ") or b"\n>From " in data or b"\n>>From " in data:
        data = _FROM_ESCAPE.sub(rb"\1", data)  # mboxrd: ">From " in a body was "From "
    return read_message(data, path, index, config, f"{path}#{index}")


@readers.register("tonewatch.mbox.v1")
class MboxReader(_EmailReader):
    """An mbox archive (Thunderbird, Gmail Takeout, mutt): messages behind "From " lines."""

    name = "tonewatch.mbox.v1"

    def sniff(self, path: Path, head: bytes) -> float:
        if not _MBOX_FROM.match(head) or b"\x00" in head:
            return 0.0
        after_envelope = head.split(b"\n", 1)[1] if b"\n" in head else b""
        return 0.95 if rfc822_confidence(after_envelope) >= 0.4 else 0.5

    def read(self, path: Path, config: IngestConfig) -> Iterator[ReadItem]:
        problem = check_mbox(path)
        if problem is not None:
            yield problem
            return
        for item in mbox_messages(path, mbox_spans(path), 1, config):
            yield item if isinstance(item, QuarantineRecord) else self._threaded(item)

    def _read_one(
        self,
        box: Any,
        key: Any,
        path: Path,
        index: int,
        last: bool,
        config: IngestConfig,
    ) -> ReadItem:
        """Message ``key`` of ``box`` (anything with ``mailbox.mbox``'s ``get_file``)."""
        try:
            with box.get_file(key) as handle:
                data = _read_limited(handle, config.max_message_bytes)
        except OSError as exc:
            where = Location(path=str(path), item=index)
            return QuarantineRecord(location=where, code=UNREADABLE, message=str(exc))
        item = mbox_message(data, str(path), index, last, config)
        return item if isinstance(item, QuarantineRecord) else self._threaded(item)


@readers.register("tonewatch.maildir.v1")
class MaildirReader(_EmailReader):
    """A Maildir folder (cur/, new/, tmp/), messages in file-name (delivery time) order."""

    name = "tonewatch.maildir.v1"

    def sniff(self, path: Path, head: bytes) -> float:
        return 1.0 if (path / "cur").is_dir() and (path / "new").is_dir() else 0.0

    def read(self, path: Path, config: IngestConfig) -> Iterator[ReadItem]:
        if not ((path / "cur").is_dir() and (path / "new").is_dir()):
            yield _quarantine(
                path, NOT_EMAIL, "not a Maildir: expected a folder with cur/ and new/ folders"
            )
            return
        box = mailbox.Maildir(path, factory=None, create=False)
        for index, key in enumerate(sorted(box.iterkeys()), start=1):
            where = Location(path=str(path), item=index)
            try:
                with box.get_file(key) as handle:
                    data = _read_limited(handle, config.max_message_bytes)
            except (OSError, KeyError) as exc:  # vanished or unreadable since listed
                yield QuarantineRecord(location=where, code=UNREADABLE, message=repr(exc))
                continue
            if data is None:
                yield self._too_large(where, config)
            elif not data.strip():
                yield QuarantineRecord(location=where, code=EMPTY, message=f"empty file {key}")
            else:
                name = str(path)
                item = parse_message(data, name, index, config, self.threads, f"{name}#{key}")
                if isinstance(item, QuarantineRecord):  # the index alone is hard to find by hand
                    item = item.model_copy(update={"message": f"{item.message} (file {key})"})
                yield item
