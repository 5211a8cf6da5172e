"""One raw message -> one ``Conversation`` fragment with one ``Turn`` (or a quarantine record).

Parsing uses the stdlib ``email`` package with ``email.policy.default``. What was kept off the
per-message path, measured on Enron mail (a bare ``mailbox`` loop parses one in ~85 µs):

* the policy re-parses Content-Type four times per message while parsing (440 µs a message):
  MIME headers go through a memoising header factory, the same policy otherwise;
* its address parser takes ~230 µs per To header: address, date and id headers are read raw
  and decoded with ``email.utils`` and ``email.header`` (RFC 2047), which read them the same;
  the common forms ("Name <a@b>", "Tue, 01 May 2001 09:00:00 -0500") take a checked fast path;
* a body that is not multipart goes to the parser as one payload instead of line by line.
"""

from __future__ import annotations

import functools
import hashlib
import re
from datetime import datetime, timedelta, timezone
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tonewatch.config import IngestConfig
from tonewatch.ingest.email_body import decode_words, read_body
from tonewatch.ingest.replies import extract_reply
from tonewatch.ingest.threads import ThreadIndex
from tonewatch.schema import Channel, Conversation, Location, Participant, QuarantineRecord, Turn

# Quarantine codes of the email readers (I0xx).
EMPTY = "I001"  # empty file, or a message without a byte of content
NOT_EMAIL = "I002"  # binary data or text that is not an RFC 822 message / mbox / Maildir
CORRUPT = "I003"  # a message without any email header
TRUNCATED = "I004"  # a message cut off by the end of the file
TOO_LARGE = "I005"  # over ingest.max_message_bytes
UNDECODABLE = "I006"  # a text body that is not text in any encoding tried
UNREADABLE = "I007"  # the file or message could not be read (permissions, vanished file)

_CORE_HEADERS = ("from", "date", "subject", "message-id", "to")
_WANTED = frozenset((*_CORE_HEADERS, "cc", "references", "in-reply-to"))
_MIME_HEADERS = frozenset(
    ("content-type", "content-transfer-encoding", "content-disposition", "mime-version")
)
_UNFOLD = re.compile(r"\r?\n(?=[ \t])")
_MSGID = re.compile(r"<([^<>\s]+)>")
_FORWARD_SUBJECT = re.compile(
    r"\s*(?:fwd?|wg|tr|rv|reenv|pd|i|enc|doorst|전달|إعادة توجيه)\s*:", re.I
)
_COMPOSITE = re.compile(rb"^content-type:\s*(?:multipart|message)/", re.IGNORECASE | re.MULTILINE)


class _MemoHeaders:
    """``policy.default``'s header factory, remembering the parsed MIME headers (few distinct
    values, parsed over and over while the MIME tree is built)."""

    def __init__(self) -> None:
        self._registry = HeaderRegistry()
        self._memo = functools.lru_cache(maxsize=4096)(self._registry.__call__)

    def __call__(self, name: str, value: str) -> Any:
        if name.lower() in _MIME_HEADERS:
            return self._memo(name, value)
        return self._registry(name, value)

    def __getattr__(self, attr: str) -> Any:  # map_to_type and the rest of the registry
        return getattr(self._registry, attr)


POLICY = default_policy.clone(header_factory=_MemoHeaders())
_PARSER = BytesParser(policy=POLICY)


def stable_id(*parts: str) -> str:
    digest = hashlib.blake2b("\0".join(parts).encode("utf-8", "surrogatepass"), digest_size=8)
    return digest.hexdigest()


def header_text(value: str) -> str:
    """A raw header value unfolded, with RFC 2047 words and raw 8-bit bytes decoded."""
    return decode_words(_UNFOLD.sub("", value).strip())


# "Name <a@b.c>, d@e.f" without quotes, comments or groups: most address headers. The stdlib
# parser (email.utils.getaddresses) gives the same result at ~10x the cost; it reads the rest.
_ADDRESS = re.compile(r"\s*(?:([^<>]*?)\s*<([^<>\s]+@[^<>\s]+)>|([^<>\s]+@[^<>\s]+))\s*")


def parse_addresses(value: str) -> tuple[tuple[str, str], ...]:
    """``(display name, address)`` pairs of an unfolded address header (names still encoded)."""
    if not any(c in value for c in '"()\\;:'):
        pairs = []
        for piece in value.split(","):
            if not piece.strip():
                continue
            match = _ADDRESS.fullmatch(piece)
            if match is None:
                break
            name, address = match.group(1) or "", match.group(2) or match.group(3)
            pairs.append((" ".join(name.split()), address))
        else:
            return tuple(pairs)
    return tuple(getaddresses([value]))


@functools.lru_cache(maxsize=8192)
def _people(value: str) -> tuple[Participant, ...]:
    """The participants of one raw address header; the same senders and recipients come back
    message after message, and participants are immutable, so they are built once."""
    people = []
    for name, address in parse_addresses(_UNFOLD.sub("", value)):
        address = (address if address.isascii() else header_text(address)).lower()
        if address:
            name = header_text(name) if "=?" in name or not name.isascii() else name
            people.append(Participant(name=name or None, addresses=(address,)))
    return tuple(people)


def _participants(raw: dict[str, list[str]]) -> tuple[list[Participant], Participant | None]:
    """From, To and Cc, one participant per address; and the sender (the first From)."""
    people: dict[str, Participant] = {}
    sender = None
    for field in ("from", "to", "cc"):
        for value in raw.get(field, ()):
            for person in _people(value):
                people.setdefault(person.addresses[0], person)
                if sender is None and field == "from":
                    sender = person
    return list(people.values()), sender


# "Tue, 01 May 2001 09:00:00 -0500", the form nearly every client writes, read without the
# general parser (email.utils.parsedate_to_datetime, which reads everything else).
_DATE = re.compile(
    r"(?:[A-Za-z]{3},\s*)?(\d{1,2}) ([A-Za-z]{3}) (\d{4}) (\d\d):(\d\d)(?::(\d\d))? ([+-]\d{4})"
    r"(?: \([^()]*\))?"
)
_MONTHS = {
    month: number
    for number, month in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}


@functools.lru_cache(maxsize=256)
def _zone(offset: str) -> timezone:
    minutes = int(offset[1:3]) * 60 + int(offset[3:5])
    return timezone(timedelta(minutes=-minutes if offset[0] == "-" else minutes))


def parse_date(value: str) -> datetime | None:
    """The Date header as a datetime (naive only for the "-0000" unknown zone), or None."""
    match = _DATE.fullmatch(value)
    month = _MONTHS.get(match.group(2).lower()) if match else None
    if match and month and match.group(7) != "-0000":
        day, _, year, hour, minute, second, offset = match.groups()
        try:
            return datetime(
                int(year),
                month,
                int(day),
                int(hour),
                int(minute),
                int(second or 0),
                tzinfo=_zone(offset),
            )
        except ValueError:
            return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _timestamp(value: str | None, config: IngestConfig, notes: list[str]) -> datetime | None:
    if value is None:
        notes.append("no Date header")
        return None
    value = _UNFOLD.sub("", value).strip()
    stamp = parse_date(value)
    if stamp is None:
        notes.append(f"unparseable Date header {value[:80]!r}")
        return None
    if stamp.tzinfo is None:  # "-0000": no zone given
        try:
            zone = ZoneInfo(config.default_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo("UTC")
        notes.append(f"Date header has no time zone; assumed {zone.key}")
        stamp = stamp.replace(tzinfo=zone)
    return stamp


def parse_message(
    data: bytes,
    path: str,
    item: int | None,
    config: IngestConfig,
    threads: ThreadIndex,
    fallback_key: str,
) -> Conversation | QuarantineRecord:
    """Parse one message found at ``path`` (message ``item`` of an archive); ``fallback_key``
    names it when it has no Message-ID (file and index)."""
    try:
        return _parse(data, path, item, config, threads, fallback_key)
    except Exception as exc:  # the stdlib parser still raises on some malformed input
        return QuarantineRecord(
            location=Location(path=path, item=item),
            code=CORRUPT,
            message=f"cannot parse the message ({type(exc).__name__}: {exc}); "
            "expected an RFC 822 message",
        )


def _parse_bytes(data: bytes) -> EmailMessage:
    """``BytesParser(policy=...).parsebytes(data)``, made cheaper for a message that is not
    multipart: the parser then takes the body as one opaque payload anyway, but only after
    splitting it into lines in Python; here it is set as one string, and a well-formed header
    block is read by ``_headers`` instead of the feed parser."""
    crlf, lf = data.find(b"\n\r\n"), data.find(b"\n\n")
    end, gap = (crlf, 3) if crlf >= 0 and (lf < 0 or crlf < lf) else (lf, 2)
    if end <= 0 or data[:1] in b"\r\n" or _COMPOSITE.search(data, 0, end) is not None:
        return cast(EmailMessage, _PARSER.parsebytes(data))
    msg = _headers(data[: end + 1])
    if msg is None:
        msg = cast(EmailMessage, _PARSER.parsebytes(data[: end + 1], headersonly=True))
    msg.set_payload(data[end + gap :].decode("ascii", "surrogateescape"))  # as the parser would
    return msg


# A header line as the feed parser reads one: a name of printable ASCII but ":", then a colon;
# or a folded continuation.
_HEADER_LINE = re.compile(rb"[!-9;-~]+:|[ \t]")


def _headers(block: bytes) -> EmailMessage | None:
    """The message the feed parser makes of a header block, when every line is a field or a
    continuation (no defect to record): each field goes through the policy's own
    ``header_source_parse`` as the parser passes it. None when the parser must judge.
    A fifth of the feed parser's cost, which goes to its line-by-line state machine."""
    if b"\r" in block and block.count(b"\r") != block.count(b"\r\n"):
        return None  # a bare CR ends a line for the parser; rare enough to leave to it
    msg = EmailMessage(policy=POLICY)
    field: list[str] = []
    for raw in block.splitlines(keepends=True):
        if _HEADER_LINE.match(raw) is None:
            return None
        line = raw.decode("ascii", "surrogateescape")
        if line[0] in " \t":
            if not field:
                return None  # a continuation first: a defect for the parser to record
            field.append(line)
            continue
        if field:
            msg.set_raw(*POLICY.header_source_parse(field))
        field = [line]
    if field:
        msg.set_raw(*POLICY.header_source_parse(field))
    return msg


def _parse(
    data: bytes,
    path: str,
    item: int | None,
    config: IngestConfig,
    threads: ThreadIndex,
    fallback_key: str,
) -> Conversation | QuarantineRecord:
    msg = _parse_bytes(data)
    raw: dict[str, list[str]] = {}
    for name, value in msg.raw_items():
        key = name.lower()
        if key in _WANTED:
            raw.setdefault(key, []).append(value)
    first = {key: values[0] for key, values in raw.items()}
    ids = _MSGID.findall(first.get("message-id", ""))
    message_id = ids[0] if ids else (first.get("message-id", "").strip() or None)
    where = Location(path=path, item=item, message_id=message_id)
    if not any(key in raw for key in _CORE_HEADERS):
        start = data.lstrip()[:40]
        return QuarantineRecord(
            location=where,
            code=CORRUPT,
            message=f"no email header (From, Date, Subject, Message-ID, To) found; "
            f"expected an RFC 822 message, found content starting {start!r}",
        )
    body = read_body(msg, config.max_attachment_bytes, len(data))
    if body.undecodable:
        return QuarantineRecord(location=where, code=UNDECODABLE, message=body.undecodable)
    notes = body.notes
    notes.extend(f"MIME defect: {type(d).__name__}" for d in msg.defects)
    subject = header_text(first["subject"]) if "subject" in first else None
    references = tuple(_MSGID.findall(" ".join(raw.get("references", ()))))
    reply_ids = _MSGID.findall(first.get("in-reply-to", ""))
    in_reply_to = reply_ids[0] if reply_ids else None
    people, sender = _participants(raw)
    turn_id = "m-" + stable_id(message_id or fallback_key)
    thread, how = threads.assign(
        message_id,
        references,
        in_reply_to,
        subject,
        [a for p in people for a in p.addresses],
        fallback=fallback_key,
    )
    reply = extract_reply(body.text)
    if sender is None:
        notes.append("no From address")
    timestamp = _timestamp(first.get("date"), config, notes)
    meta = {
        "subject": subject,
        "in_reply_to": in_reply_to,
        "references": list(references),
        "quoted_removed": reply.quoted_removed,
        # Outlook forwards quote the original under a plain header block: the subject tells.
        "forwarded": reply.forwarded
        or (reply.quoted_removed and bool(subject and _FORWARD_SUBJECT.match(subject))),
        "signature_removed": reply.signature_removed,
        "content_type": body.content_type or None,
        "charset": body.charset,
    }
    if notes:
        meta["notes"] = notes
    turn = Turn(
        id=turn_id,
        speaker=(sender.name or sender.addresses[0]) if sender else "unknown",
        text=reply.text,
        timestamp=timestamp,
        source=where,
        attachments=tuple(body.attachments),
        meta=meta,
    )
    return Conversation(
        id=thread,
        channel=Channel.email,
        client_key="",
        participants=tuple(people),
        turns=(turn,),
        source=where,
        subject=subject,
        meta={"thread_by": how},
    )
