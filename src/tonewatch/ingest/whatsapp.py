"""WhatsApp "Export chat" text files -> one chat Conversation per file.

Android: ``12/03/2024, 14:02 - Ana: text`` (``12.03.24, 14:02 - ...`` in Polish/German, with
``2:02 PM`` or ``2:02 p. m.`` in 12-hour locales). iOS: ``[12/03/2024, 14:02:11] Ana: text``.
Lines without a header continue the message above (multi-line messages). System lines
(no author on Android, a U+200E mark before the text on iOS: "Messages and calls are
end-to-end encrypted", "Ana added Jan") are kept in ``Conversation.meta["system"]``, not
as turns. Media placeholders ("<Media omitted>", "<Multimedia omitido>", "image omitted",
"<attached: photo.jpg>") become a turn with empty text and an Attachment.

The date order depends on the phone's locale and is not written in the file: a day above
12 in either position decides it for the whole file, otherwise day-first is assumed (the
order of most locales; US exports with only early-month dates are the ambiguous case).
Timestamps get ``[ingest] default_timezone`` (the export has no zone).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, tzinfo
from pathlib import Path

from tonewatch.config import IngestConfig
from tonewatch.ingest import _textio as tio
from tonewatch.ingest.base import ReadItem
from tonewatch.ingest.chat import Message, build_conversation
from tonewatch.registry import readers
from tonewatch.schema import Attachment, Location, QuarantineRecord, Role

_DATE = r"(?P<date>\d{1,4}[./-]\d{1,2}[./-]\d{1,4})"
_TIME = r"(?P<time>\d{1,2}[:.]\d{2}(?:[:.]\d{2})?)(?:\s?(?P<half>[AaPp])\.?\s?[Mm]\.?)?"
ANDROID = re.compile(rf"^\u200e?{_DATE},?\s{_TIME}\s[-–]\s(?P<rest>.*)$")
IOS = re.compile(rf"^\u200e?\[{_DATE},?\s{_TIME}\]\s(?P<rest>.*)$")
_AUTHOR = re.compile(r"^(?P<author>[^:\"\n]{1,60}?):\s(?P<text>.*)$", re.S)
# "<Media omitted>", "<Multimedia omitido>"; iOS "<attached: 0001-PHOTO.jpg>" in any language
_MEDIA_TAG = re.compile(r"^\u200e?<(?:[^<>:]{2,20}:\s*(?P<file>[^<>]+)|[^<>:]{3,40})>$")
_MEDIA_WORDS = re.compile(r"(?i)\b(?:omitted|omitido|omitida|pominięto|ausgeschlossen|omis)\b")
_PHONE = re.compile(r"^\+?[\d\s().-]{7,20}$")


def _header(line: str) -> re.Match[str] | None:
    return IOS.match(line) or ANDROID.match(line)


def _date_order(dates: list[str]) -> str:
    """ "ymd", "dmy" or "mdy" for the whole file (see module docstring)."""
    for date in dates:
        first, second, _ = re.split(r"[./-]", date)
        if len(first) == 4:
            return "ymd"
        if int(first) > 12:
            return "dmy"
        if int(second) > 12:
            return "mdy"
    return "dmy"


def _timestamp(match: re.Match[str], order: str, tz: tzinfo) -> datetime:
    parts = [int(p) for p in re.split(r"[./-]", match["date"])]
    if order == "ymd":
        year, month, day = parts
    elif order == "dmy":
        day, month, year = parts
    else:
        month, day, year = parts
    year += 2000 if year < 100 else 0
    clock = [int(p) for p in re.split(r"[:.]", match["time"])] + [0]
    hour, minute, second = clock[:3]
    if match["half"]:
        hour = hour % 12 + (12 if match["half"].lower() == "p" else 0)
    return datetime(year, month, day, hour, minute, second, tzinfo=tz)


def _media(text: str) -> Attachment | None:
    stripped = text.strip()
    tag = _MEDIA_TAG.match(stripped)
    if tag:
        return Attachment(filename=(tag["file"] or "").strip() or None)
    if stripped.startswith("\u200e") and _MEDIA_WORDS.search(stripped) and len(stripped) < 60:
        return Attachment()
    return None


@readers.register("tonewatch.whatsapp.v1")
class WhatsAppReader:
    """WhatsApp chat exports (Android and iOS, any locale's date order)."""

    name = "tonewatch.whatsapp.v1"

    def sniff(self, path: Path, head: bytes) -> float:
        lines = [line for line in tio.head_text(head).splitlines() if line.strip()][:20]
        if lines and _header(lines[0]):
            return 0.97
        return 0.85 if any(_header(line) for line in lines) else 0.0

    def read(self, path: Path, config: IngestConfig) -> Iterator[ReadItem]:
        decoded = tio.read_text(path)
        if isinstance(decoded, QuarantineRecord):
            yield decoded
            return
        tz = tio.timezone_of(config.default_timezone)
        conv_id = tio.file_id(path)  # an export is one chat and names no id
        lines = decoded[0].splitlines()
        order = _date_order([m["date"] for m in map(_header, lines) if m])
        messages: list[Message] = []
        system: list[str] = []
        problems: list[QuarantineRecord] = []
        leading: list[int] = []  # lines before the first header: not WhatsApp text
        current: dict | None = None  # the message being read (continuation lines join it)
        last = ""  # what the latest header opened: "message", "system" or "skipped"
        for number, line in enumerate(lines, start=1):
            match = _header(line)
            if match is None:
                if current is not None:
                    current["text"] += "\n" + line
                elif last == "system":
                    system[-1] += "\n" + line  # a multi-line group description, say
                elif not last and line.strip():
                    leading.append(number)
                continue  # (lines of a skipped message go with it)
            if current is not None:
                messages.append(_message(path, conv_id, current, len(messages) + 1))
                current = None
            last = "skipped"
            try:
                stamp = _timestamp(match, order, tz)
            except ValueError as exc:
                problems.append(
                    tio.quarantine(
                        path,
                        tio.BAD_TIMESTAMP,
                        f"bad date or time {match['date']} "
                        f"{match['time']!r} ({exc}); the message is not read",
                        line=number,
                    )
                )
                continue
            author = _AUTHOR.match(match["rest"])
            if author is None or author["text"].startswith("\u200e") and not _media(author["text"]):
                system.append(match["rest"].lstrip("\u200e"))
                last = "system"
                continue
            last = "message"
            current = {
                "speaker": author["author"].strip(),
                "text": author["text"],
                "timestamp": stamp,
                "line": number,
            }
        if leading:
            problems.insert(
                0,
                tio.quarantine(
                    path,
                    tio.UNRECOGNISED,
                    f"{len(leading)} line(s) before the first message are not read: expected "
                    "'12/03/2024, 14:02 - Name: text' or '[12/03/2024, 14:02:11] Name: text', "
                    f"found {tio.snippet(lines[leading[0] - 1])}",
                    line=leading[0],
                ),
            )
        if current is not None:
            messages.append(_message(path, conv_id, current, len(messages) + 1))
        yield from problems
        if messages:
            meta = {"format": "whatsapp", "system": system} if system else {"format": "whatsapp"}
            yield build_conversation(path, conv_id, messages, meta)
        elif not problems:
            yield tio.quarantine(
                path,
                tio.UNRECOGNISED,
                "no messages found: expected lines like '12/03/2024, 14:02 - Name: text'",
            )


def _message(path: Path, conversation: str, current: dict, item: int) -> Message:
    media = _media(current["text"])
    speaker = current["speaker"]
    return Message(
        conversation=conversation,
        speaker=speaker,
        role=Role.unknown,
        text="" if media else current["text"].strip(),
        timestamp=current["timestamp"],
        address=re.sub(r"[^\d+]", "", speaker) if _PHONE.match(speaker) else None,
        location=Location(path=str(path), line=current["line"], item=item),
        meta={"media": True} if media else {},
        attachments=(media,) if media else (),
    )
