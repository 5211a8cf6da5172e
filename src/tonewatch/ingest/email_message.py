"""One raw message -> one ``Conversation`` fragment with one ``Turn`` (or a quarantine record).

``read_message`` parses and cleans a message (``email_parse``: the stdlib ``email`` package
with ``email.policy.default``) into a ``ParsedMessage``: plain data, cheap to pickle, before
threading; ``parse_message`` also threads it (``ThreadIndex``) and builds the fragment. The
split lets worker processes parse while the run's one thread index, fed in reading order,
decides every thread (``parallel``). Kept off the per-message path, measured on Enron mail:

* the policy's address parser takes ~230 µs per To header: address, date and id headers are
  read raw and decoded with ``email.utils`` and ``email.header`` (RFC 2047), which read them
  the same; the common forms ("Name <a@b>", "Tue, 01 May 2001 09:00:00 -0500") take a checked
  fast path.
"""

from __future__ import annotations

import functools
import hashlib
import marshal
import pickle
import re
from datetime import datetime, timedelta, timezone
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tonewatch.config import IngestConfig
from tonewatch.ingest._copy import construct
from tonewatch.ingest.email_body import decode_words, read_body
from tonewatch.ingest.email_parse import parse_bytes
from tonewatch.ingest.replies import extract_reply
from tonewatch.ingest.threads import ThreadIndex
from tonewatch.schema import (
    Attachment,
    Channel,
    Conversation,
    Location,
    Participant,
    QuarantineRecord,
    Role,
    Turn,
)

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
_UNFOLD = re.compile(r"\r?\n(?=[ \t])")
_MSGID = re.compile(r"<([^<>\s]+)>")
_FORWARD_SUBJECT = re.compile(
    r"\s*(?:fwd?|wg|tr|rv|reenv|pd|i|enc|doorst|전달|إعادة توجيه)\s*:", re.I
)


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


def participants_of(
    senders: tuple[str, ...], recipients: tuple[str, ...], copied: tuple[str, ...]
) -> tuple[list[Participant], Participant | None]:
    """From, To and Cc (raw header values), one participant per address; and the sender (the
    first From)."""
    people: dict[str, Participant] = {}
    sender = None
    for values in (senders, recipients, copied):
        for value in values:
            for person in _people(value):
                people.setdefault(person.addresses[0], person)
                if sender is None and values is senders:
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
    value = (_UNFOLD.sub("", value) if "\n" in value else value).strip()
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


MARSHALLED, PICKLED = b"m", b"p"


@functools.lru_cache(maxsize=256)
def fixed_zone(seconds: float, name: str | None) -> timezone:
    """The ``timezone`` a fixed-offset timestamp had (its name kept: "UTC" for ``UTC``)."""
    offset = timedelta(seconds=seconds)
    plain = timezone(offset)  # timezone.utc itself for a zero offset
    return plain if plain.tzname(None) == name else timezone(offset, name)


class Envelope(NamedTuple):
    """What threading and roles need of a message: its ids, subject and raw address headers
    (participants are built from them, cached: the same people write again and again)."""

    path: str
    item: int | None
    message_id: str | None
    fallback_key: str  # names a message without a Message-ID (file and index)
    references: tuple[str, ...]
    in_reply_to: str | None
    subject: str | None
    senders: tuple[str, ...]  # raw From, To and Cc values
    recipients: tuple[str, ...]
    copied: tuple[str, ...]

    def participants(self) -> list[Participant]:
        return participants_of(self.senders, self.recipients, self.copied)[0]

    def thread(
        self, threads: ThreadIndex, people: list[Participant] | None = None
    ) -> tuple[str, str]:
        """The thread id and how it was found (``ThreadIndex.assign``); ``people``: the
        message's ``participants()``, when already known."""
        return threads.assign(
            self.message_id,
            self.references,
            self.in_reply_to,
            self.subject,
            [a for p in people or self.participants() for a in p.addresses],
            fallback=self.fallback_key,
        )


class ParsedMessage(NamedTuple):
    """One message read and cleaned, not yet threaded: plain data, so that a worker process
    can parse it and pickle it cheaply, and the run's thread index decide its thread from the
    envelope alone."""

    envelope: Envelope
    speaker: str
    text: str
    timestamp: datetime | None
    attachments: tuple[Attachment, ...]
    meta: dict[str, Any]
    lang: str = "und"  # set when a worker process identifies it along with the parsing
    lang_confidence: float = 0.0

    def threaded(self, threads: ThreadIndex) -> Conversation:
        return self.fragment(*self.envelope.thread(threads))

    def to_bytes(self) -> bytes:
        """The message as bytes for another process of this run (``from_bytes``): marshal of
        plain values, a third of pickle's cost both ways; pickle when something is not plain
        (an attachment, a zone other than a fixed offset, a value marshal does not know)."""
        stamp = self.timestamp
        if stamp is not None and type(stamp.tzinfo) is not timezone:
            return PICKLED + pickle.dumps(self, pickle.HIGHEST_PROTOCOL)
        when = None
        if stamp is not None:
            offset = stamp.utcoffset()
            seconds = offset.total_seconds() if offset is not None else 0.0
            when = (*stamp.timetuple()[:6], stamp.microsecond, seconds, stamp.tzname())
        try:
            if self.attachments:
                raise ValueError("attachments are models")
            return MARSHALLED + marshal.dumps(
                (
                    tuple(self.envelope),
                    self.speaker,
                    self.text,
                    when,
                    self.meta,
                    self.lang,
                    self.lang_confidence,
                )
            )
        except ValueError:
            return PICKLED + pickle.dumps(self, pickle.HIGHEST_PROTOCOL)

    @staticmethod
    def from_bytes(data: bytes) -> ParsedMessage:
        """The message ``to_bytes`` wrote (in this run: the data is trusted)."""
        if data[:1] == PICKLED:
            return pickle.loads(data[1:])  # type: ignore[no-any-return]  # noqa: S301
        envelope, speaker, text, when, meta, lang, confidence = marshal.loads(data[1:])
        stamp = None
        if when is not None:
            stamp = datetime(*when[:7], tzinfo=fixed_zone(when[7], when[8]))
        return ParsedMessage(Envelope(*envelope), speaker, text, stamp, (), meta, lang, confidence)

    def fragment(self, thread: str, how: str) -> Conversation:
        """The one-turn Conversation fragment of the message, in thread ``thread``.

        Built without pydantic's validation (``construct``): every value comes from the
        parser above, already of its field's type (a timestamp always has a zone), and the
        fragments of a large archive are built once per message, twice with workers."""
        envelope = self.envelope
        where = construct(
            Location,
            {
                "path": envelope.path,
                "item": envelope.item,
                "line": None,
                "message_id": envelope.message_id,
                "cue": None,
            },
            _LOCATION_SET,
        )
        turn = construct(
            Turn,
            {
                "id": "m-" + stable_id(envelope.message_id or envelope.fallback_key),
                "speaker": self.speaker,
                "role": Role.unknown,
                "text": self.text,
                "timestamp": self.timestamp,
                "lang": self.lang,
                "lang_confidence": self.lang_confidence,
                "source": where,
                "attachments": self.attachments,
                "meta": dict(self.meta),  # as validation does: the turn's own dict
            },
            _TURN_SET,
        )
        return construct(
            Conversation,
            {
                "id": thread,
                "channel": Channel.email,
                "client_key": "",
                "participants": tuple(envelope.participants()),
                "turns": (turn,),
                "source": where,
                "subject": envelope.subject,
                "meta": {"thread_by": how},
            },
            _CONVERSATION_SET,
        )


# The fields ``fragment`` gives (what ``model_fields_set`` says after a validated call).
_LOCATION_SET = frozenset(("path", "item", "message_id"))
_TURN_SET = frozenset(Turn.model_fields) - {"role"}
_CONVERSATION_SET = frozenset(Conversation.model_fields)


def parse_message(
    data: bytes,
    path: str,
    item: int | None,
    config: IngestConfig,
    threads: ThreadIndex,
    fallback_key: str,
) -> Conversation | QuarantineRecord:
    """Parse one message found at ``path`` (message ``item`` of an archive) and thread it;
    ``fallback_key`` names it when it has no Message-ID (file and index)."""
    parsed = read_message(data, path, item, config, fallback_key)
    return parsed if isinstance(parsed, QuarantineRecord) else parsed.threaded(threads)


def read_message(
    data: bytes, path: str, item: int | None, config: IngestConfig, fallback_key: str
) -> ParsedMessage | QuarantineRecord:
    """``parse_message`` without the threading."""
    try:
        return _parse(data, path, item, config, fallback_key)
    except Exception as exc:  # the stdlib parser still raises on some malformed input
        return QuarantineRecord(
            location=Location(path=path, item=item),
            code=CORRUPT,
            message=f"cannot parse the message ({type(exc).__name__}: {exc}); "
            "expected an RFC 822 message",
        )


def _parse(
    data: bytes, path: str, item: int | None, config: IngestConfig, fallback_key: str
) -> ParsedMessage | QuarantineRecord:
    msg = parse_bytes(data)
    raw: dict[str, list[str]] = {}
    for name, value in msg.raw_items():
        key = name.lower()
        if key in _WANTED:
            raw.setdefault(key, []).append(value)
    first = {key: values[0] for key, values in raw.items()}
    ids = _MSGID.findall(first.get("message-id", ""))
    message_id = ids[0] if ids else (first.get("message-id", "").strip() or None)
    if not any(key in raw for key in _CORE_HEADERS):
        start = data.lstrip()[:40]
        return QuarantineRecord(
            location=Location(path=path, item=item, message_id=message_id),
            code=CORRUPT,
            message=f"no email header (From, Date, Subject, Message-ID, To) found; "
            f"expected an RFC 822 message, found content starting {start!r}",
        )
    body = read_body(msg, config.max_attachment_bytes, len(data))
    if body.undecodable:
        return QuarantineRecord(
            location=Location(path=path, item=item, message_id=message_id),
            code=UNDECODABLE,
            message=body.undecodable,
        )
    notes = body.notes
    notes.extend(f"MIME defect: {type(d).__name__}" for d in msg.defects)
    subject = header_text(first["subject"]) if "subject" in first else None
    references = tuple(_MSGID.findall(" ".join(raw.get("references", ()))))
    reply_ids = _MSGID.findall(first.get("in-reply-to", ""))
    in_reply_to = reply_ids[0] if reply_ids else None
    senders, recipients, copied = (tuple(raw.get(key, ())) for key in ("from", "to", "cc"))
    # The sender as participants_of finds it (the first From person), without building the rest.
    sender = next((person for value in senders for person in _people(value)), None)
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
    envelope = Envelope(
        path=path,
        item=item,
        message_id=message_id,
        fallback_key=fallback_key,
        references=references,
        in_reply_to=in_reply_to,
        subject=subject,
        senders=senders,
        recipients=recipients,
        copied=copied,
    )
    return ParsedMessage(
        envelope=envelope,
        speaker=(sender.name or sender.addresses[0]) if sender else "unknown",
        text=reply.text,
        timestamp=timestamp,
        attachments=tuple(body.attachments),
        meta=meta,
    )
