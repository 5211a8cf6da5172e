"""Shared plumbing of the chat and transcript readers: decoding, timestamps, quarantine codes.

Text files are UTF-8 most of the time, but exports from older Windows tools arrive in a
legacy code page (an Arabic call log in cp1256, a Polish chat in cp1250). UTF-8 is tried
first; anything else is handed to charset-normalizer. Large files are decoded line by
line so that one bad line is quarantined instead of the whole file.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import charset_normalizer

from tonewatch.errors import ConfigError
from tonewatch.schema import Location, Participant, QuarantineRecord, Role

# Quarantine codes of the chat and transcript readers (I1xx).
EMPTY_FILE = "I101"  # nothing to read
UNDECODABLE = "I102"  # bytes that are not text in any encoding we could find
BAD_JSON = "I103"  # JSON syntax error or truncated JSON
MISSING_FIELD = "I104"  # a row without text (or without a conversation id)
BAD_TIMESTAMP = "I105"  # a timestamp that cannot be read
BAD_TIMING = "I106"  # a transcript cue or segment that ends before it starts
BAD_CUE = "I107"  # a cue block or segment that cannot be parsed
BAD_RECORD = "I108"  # a record of the wrong shape (a list where an object was expected, ...)
UNRECOGNISED = "I109"  # text that is not in the format the reader expects
NO_FIELDS = "I110"  # a chat file whose columns/keys cannot be mapped to the message fields

_HEAD_BYTES = 65536
_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
_WIDE_ENCODING = re.compile(r"utf[_-]?(16|32)", re.IGNORECASE)


def quarantine(path: Path, code: str, message: str, **where: Any) -> QuarantineRecord:
    return QuarantineRecord(location=Location(path=str(path), **where), code=code, message=message)


def file_id(path: Path) -> str:
    """A conversation id for a file that names none (a call, a WhatsApp chat): the file name
    plus a digest of its absolute path, so that ``call.vtt`` in two folders never merges."""
    digest = hashlib.blake2b(str(path.resolve()).encode("utf-8", "surrogatepass"), digest_size=4)
    return f"{path.stem}-{digest.hexdigest()}"


def snippet(text: str, limit: int = 60) -> str:
    """A short, single-line excerpt of ``text`` for error messages."""
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= limit else flat[: limit - 1] + "…")


def head_text(head: bytes) -> str:
    """The first bytes as text for sniffing, in the encoding the file seems to use (never
    fails: undecodable bytes are replaced)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", errors="replace").lstrip("\ufeff")
    return head.decode(_stream_encoding(head), errors="replace").lstrip("\ufeff")


JSON_START = re.compile(r'\s*(?:\[\s*(?:[\[{"\]]|$)|\{\s*(?:"|\}|$))')


def decode_bytes(data: bytes) -> tuple[str, str] | None:
    """``(text, encoding)``: UTF-8 when valid, else charset-normalizer's best guess, else None."""
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(data).best()
    if best is None:
        return None
    return str(best), best.encoding


def read_text(path: Path) -> tuple[str, str] | QuarantineRecord:
    """The whole file decoded, or a quarantine record saying why it cannot be."""
    data = path.read_bytes()
    if not data.strip():
        return quarantine(path, EMPTY_FILE, "file is empty: expected a transcript or chat export")
    decoded = decode_bytes(data)
    if decoded is None:
        return quarantine(
            path,
            UNDECODABLE,
            "bytes are not UTF-8 and no other text encoding fits; re-export the file as UTF-8",
        )
    return decoded


def _stream_encoding(head: bytes) -> str:
    """Pick one encoding for a streamed file from its first bytes.

    Mostly-UTF-8 heads stay UTF-8 (a few bad bytes are quarantined per line rather than
    turning the whole file into mojibake via a single-byte guess).
    """
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    # Legacy code pages almost never form valid multi-byte UTF-8 sequences by accident.
    valid = len(_UTF8_SEQUENCE.findall(head))
    invalid = head.decode("utf-8", errors="replace").count("\ufffd")
    if invalid <= valid or invalid <= 1:
        return "utf-8"
    best = charset_normalizer.from_bytes(head).best()
    return best.encoding if best is not None else "utf-8"


def iter_lines(path: Path) -> Iterator[tuple[int, str, bool]]:
    """Stream ``(line_number, text, decoded_ok)``; a line that is not valid text in the file's
    encoding comes back with replacement characters and ``decoded_ok=False``."""
    with path.open("rb") as handle:
        encoding = _stream_encoding(handle.read(_HEAD_BYTES))
        handle.seek(0)
        if _WIDE_ENCODING.search(encoding):  # UTF-16/32 cannot be split on b"\n"
            text = handle.read().decode(encoding, errors="replace")
            for number, line in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
                yield number, line, "\ufffd" not in line
            return
        for number, raw in enumerate(handle, start=1):
            try:
                line, ok = raw.decode(encoding), True
            except UnicodeDecodeError:
                line, ok = raw.decode(encoding, errors="replace"), False
            if number == 1:
                line = line.lstrip("\ufeff")
            yield number, line.rstrip("\r\n"), ok


def timezone_of(config_value: str) -> tzinfo:
    try:
        return ZoneInfo(config_value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"[ingest -> default_timezone] unknown time zone {config_value!r}; "
            "use an IANA name such as 'UTC' or 'Europe/Warsaw'"
        ) from None


_TWITTER_FORMAT = "%a %b %d %H:%M:%S %z %Y"  # "Tue Oct 31 22:10:47 +0000 2017"


def parse_timestamp(value: Any, tz: tzinfo) -> datetime | None:
    """A timezone-aware datetime from ISO 8601, epoch seconds/milliseconds, RFC 2822 or the
    Twitter API format; naive values get ``tz``. None for an empty value.

    Raises ValueError (with the value) when nothing fits.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError(f"expected a date and time, found {value!r}")
    if isinstance(value, datetime):
        parsed: datetime | None = value
    elif isinstance(value, int | float):
        parsed = _from_epoch(float(value))
    elif isinstance(value, str):
        parsed = _parse_text_timestamp(value.strip())
    else:
        parsed = None
    if parsed is None:
        raise ValueError(f"expected an ISO 8601 date and time, found {value!r}")
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=tz)


def _from_epoch(seconds: float) -> datetime | None:
    if seconds > 1e11:  # epoch milliseconds
        seconds /= 1000
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):  # nan, inf, beyond year 9999
        return None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _parse_text_timestamp(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    if _is_number(text):
        return _from_epoch(float(text))
    try:
        return datetime.strptime(text, _TWITTER_FORMAT)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None


_CLOCK = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:[.,]\d+)?)$")


def parse_clock(text: str) -> timedelta | None:
    """``"01:26:55.0"`` or ``"02:03"`` (mm:ss) as a timedelta; None if it is not a clock."""
    match = _CLOCK.match(text.strip())
    if not match:
        return None
    hours, minutes, seconds = match.groups()
    return timedelta(
        hours=int(hours or 0), minutes=int(minutes), seconds=float(seconds.replace(",", "."))
    )


def participants(people: Iterable[tuple[str, Role, str | None]]) -> tuple[Participant, ...]:
    """One Participant per named speaker, in order of first appearance, from
    ``(speaker, role, address)`` triples; a role is kept only when the export is consistent."""
    addresses: dict[str, list[str]] = {}
    roles: dict[str, set[Role]] = {}
    for name, role, address in people:
        if not name:
            continue
        known = addresses.setdefault(name, [])
        if address and address not in known:
            known.append(address)
        roles.setdefault(name, set()).add(role)
    return tuple(
        Participant(
            name=name,
            addresses=tuple(found),
            role=next(iter(roles[name])) if len(roles[name]) == 1 else Role.unknown,
        )
        for name, found in addresses.items()
    )


class _Lines:
    """Line number of a position, for positions that only move forward."""

    def __init__(self, text: str) -> None:
        self.text, self.pos, self.line = text, 0, 1

    def at(self, pos: int) -> int:
        self.line += self.text.count("\n", self.pos, pos)
        self.pos = pos
        return self.line


def iter_json_array(
    path: Path, text: str, start: int
) -> Iterator[tuple[int, int, Any] | QuarantineRecord]:
    """``(element number, line, value)`` for each element of the JSON array opening at
    ``start``, one by one, so that a truncated or broken array still gives every element
    before the damage (and a quarantine record for the rest)."""
    decoder, lines = json.JSONDecoder(), _Lines(text)
    pos, number = start + 1, 0
    while True:
        pos = skip_space(text, pos)
        if pos >= len(text):
            yield quarantine(
                path,
                BAD_JSON,
                f"the JSON array is not closed: the file "
                f"ends after element {number} (truncated file?)",
                line=lines.at(pos),
            )
            return
        if text[pos] == "]":
            return
        try:
            value, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            ends = not text[exc.pos :].strip() or "\n" not in text[exc.pos :].strip()
            why = "the file ends inside it (truncated?)" if ends else json_error(exc)
            yield quarantine(
                path,
                BAD_JSON,
                f"invalid JSON in element {number + 1}: {why}; this element and the rest "
                "of the file are not read",
                line=lines.at(pos),
                item=number + 1,
            )
            return
        number += 1
        yield number, lines.at(pos), value
        pos = skip_space(text, end)
        if text.startswith(",", pos):
            pos += 1
        elif pos < len(text) and text[pos] != "]":
            yield quarantine(
                path,
                BAD_JSON,
                f"expected ',' or ']' after element "
                f"{number}, found {snippet(text[pos : pos + 20])}",
                line=lines.at(pos),
            )
            return


def json_error(exc: json.JSONDecodeError) -> str:
    """``"Expecting ',' delimiter (line 3, column 7)"``."""
    return f"{exc.msg.removesuffix(' at')} (line {exc.lineno}, column {exc.colno})"


def skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos
