"""Call transcripts: WebVTT, SRT and plain "Speaker: text" files -> one call Conversation.

Every format is first read into ``Segment``s (one per cue, or per speaker within a cue),
then ``call_conversation`` merges consecutive segments of one known speaker into one turn.
Cue times are offsets into the call: when the file names the call's start (a WebVTT
header or NOTE line, or a leading line of a text transcript, such as
``Call-Start: 2024-03-12T09:30:00+01:00``) turns get absolute timestamps; otherwise
``timestamp`` is None and the offsets stay in ``Turn.meta["start_s"/"end_s"]``. (A text
transcript with a start but no offsets dates each turn by the last offset seen, else the
start itself.)

Bracketed annotations (``[no answer]``, ``[silence]``, a cue that is only
``(client did not join)``) stay in the text and are listed in ``Turn.meta["markers"]``; the
report stage reads them for the unresponsiveness signal.

Each cue is parsed on its own (WebVTT by webvtt-py, SRT by ``srt``), so one malformed cue
is quarantined with its line and the rest of the call still comes through.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from pathlib import Path

import srt
import webvtt
from webvtt.errors import MalformedCaptionError
from webvtt.models import Caption

from tonewatch.config import IngestConfig
from tonewatch.ingest import _textio as tio
from tonewatch.ingest.base import ReadItem
from tonewatch.registry import readers
from tonewatch.schema import Channel, Conversation, Location, QuarantineRecord, Role, Turn

# "Anna Weber: text", "Speaker 2: text", "SPEAKER_00: text", "Dr. Kowalski: text", "العميل: text"
_NAME = r"[^\W\d_][\w.'’\-]*(?:[ \t][\w.'’\-]+){0,3}"
SPEAKER_LINE = re.compile(rf"^\s*(?P<name>{_NAME})\s*[:：]\s+(?P<text>\S.*)$")
_MARKER = re.compile(r"\[([^\[\]\n]{1,80})\]")
_WHOLE_MARKER = re.compile(r"^\s*(?:\(([^()\n]{1,80})\)|\*([^*\n]{1,80})\*)\s*$")
_ONLY_MARKERS = re.compile(
    r"^\s*(?:(?:\[[^\[\]\n]{1,80}\]|\([^()\n]{1,80}\)|\*[^*\n]{1,80}\*)\s*)+$"
)
_CALL_START = re.compile(
    r"(?i)^\s*(?:NOTE\s+)?(?:x-)?(?:call[ _-]?start(?:ed)?(?:[ _-]at)?|start[ _-]?time|"
    r"recorded(?:[ _-]at)?|recording[ _-]start(?:ed)?)\s*[:=]\s*(?P<value>\S.*?)\s*$"
)
_TAG = re.compile(r"<[^>\n]*>|\{\\[^}\n]*\}")  # VTT/SRT markup and SSA {\an8} overrides


@dataclass(frozen=True)
class Segment:
    speaker: str  # "" when the transcript does not say
    text: str
    line: int | None
    cue: str | None = None
    start_s: float | None = None
    end_s: float | None = None


def markers_of(text: str) -> list[str]:
    """Non-speech annotations: ``[...]`` anywhere, ``(...)``/``*...*`` as the whole text."""
    found = [m.strip() for m in _MARKER.findall(text)]
    whole = _WHOLE_MARKER.match(text)
    if whole:
        found.append((whole.group(1) or whole.group(2)).strip())
    return found


def clean(text: str) -> str:
    """Cue text without markup, entities decoded, whitespace collapsed."""
    return " ".join(html.unescape(_TAG.sub("", text)).split())


def split_speakers(
    lines: Iterable[str], *, line: int, cue: str, start_s: float, end_s: float
) -> list[Segment]:
    """Segments of one cue: a ``<v Name>`` tag or ``Name:`` prefix opens a segment, other
    lines continue the open one (caption lines are wrapped text, joined with a space)."""
    parts: list[tuple[str, list[str]]] = []
    for raw in lines:
        voice = Caption.VOICE_SPAN_PATTERN.match(raw)
        text = clean(raw)
        named = None if voice else SPEAKER_LINE.match(text)
        if voice:
            parts.append((voice.group(1).strip(), [text]))
        elif named:
            parts.append((named["name"].strip(), [named["text"]]))
        elif parts:
            parts[-1][1].append(text)
        else:
            parts.append(("", [text]))
    return [
        Segment(name, " ".join(t for t in texts if t), line, cue, start_s, end_s)
        for name, texts in parts
        if any(texts)
    ]


def _merge(segments: Iterable[Segment | None]) -> list[list[Segment]]:
    """Runs of one known speaker; None (a quarantined cue) ends a run, empty text is skipped."""
    groups: list[list[Segment]] = []
    joinable = False
    for segment in segments:
        if segment is None:
            joinable = False
        elif segment.text:
            if joinable and segment.speaker and groups[-1][0].speaker == segment.speaker:
                groups[-1].append(segment)
            else:
                groups.append([segment])
                joinable = True
    return groups


def call_conversation(
    path: Path,
    segments: list[Segment | None],
    call_start: datetime | None,
    meta: dict | None = None,
) -> Conversation:
    """One call; consecutive segments of one known speaker become one turn (``None`` in
    ``segments`` stands for a quarantined cue, which no turn is merged across)."""
    conv_id = tio.file_id(path)
    turns = []
    groups = _merge(segments)
    offset = 0.0  # a turn without its own offset is dated by the last one known
    for index, group in enumerate(groups):
        first, last = group[0], group[-1]
        text = " ".join(s.text for s in group)
        turn_meta: dict[str, object] = {}
        lines = [s.line for s in group if s.line is not None]
        if lines:
            turn_meta["lines"] = lines
        if first.start_s is not None:
            turn_meta["start_s"] = first.start_s
        if last.end_s is not None:
            turn_meta["end_s"] = last.end_s
        cues = [s.cue for s in group if s.cue is not None]
        if cues:
            turn_meta["cues"] = cues
        markers = [m for s in group for m in markers_of(s.text)]
        if markers:
            turn_meta["markers"] = markers
        if first.start_s is not None:
            offset = first.start_s
        stamp = None if call_start is None else call_start + timedelta(seconds=offset)
        turns.append(
            Turn(
                id=f"{conv_id}:{index}",
                speaker=first.speaker,
                text=text,
                timestamp=stamp,
                source=Location(path=str(path), line=first.line, cue=first.cue),
                meta=turn_meta,
            )
        )
    info = dict(meta or {})
    if call_start is not None:
        info["call_start"] = call_start.isoformat()
    return Conversation(
        id=conv_id,
        channel=Channel.call,
        client_key="",
        participants=tio.participants((s.speaker, Role.unknown, None) for g in groups for s in g),
        turns=tuple(turns),
        source=Location(path=str(path)),
        meta=info,
    )


def call_start_of(line: str, tz: tzinfo) -> datetime | None:
    """The call's start from a metadata line; None if the line is not one.

    Raises ValueError when the line names a start that cannot be read.
    """
    match = _CALL_START.match(line)
    return tio.parse_timestamp(match["value"], tz) if match else None


def _blocks(lines: list[str]) -> Iterator[tuple[int, list[str]]]:
    """Blank-line separated blocks with the 1-based line number of their first line; a
    timing line that cannot belong to the open block starts a new one (as WebVTT says)."""
    block: list[str] = []
    start = 0
    for number, line in enumerate(lines, start=1):
        starts_new = "-->" in line and block and (len(block) > 1 or "-->" in block[0])
        if not line.strip() or starts_new:
            if block:
                yield start, block
            block = []
        if line.strip():
            if not block:
                start = number
            block.append(line)
    if block:
        yield start, block


def finish_call(
    path: Path, found: list[Segment | QuarantineRecord], call_start: datetime | None, meta: dict
) -> Iterator[ReadItem]:
    """Quarantine records first, then the call (a quarantined cue breaks merging)."""
    problems = [f for f in found if isinstance(f, QuarantineRecord)]
    yield from problems
    segments = [None if isinstance(f, QuarantineRecord) else f for f in found]
    if any(s is not None and s.text for s in segments):
        yield call_conversation(path, segments, call_start, meta)
    elif not problems:
        yield tio.quarantine(path, tio.UNRECOGNISED, "no speech found: the file has no cues")


def _cue_problem(
    path: Path, line: int, cue: str | None, code: str, message: str
) -> QuarantineRecord:
    return tio.quarantine(path, code, message, line=line, cue=cue)


def _timing_line(start: int, block: list[str]) -> int:
    return start + next((i for i, line in enumerate(block) if "-->" in line), 0)


@readers.register("tonewatch.webvtt.v1")
class WebVttReader:
    """WebVTT (``.vtt``): speakers from ``<v Name>`` voice tags or ``Name:`` cue text."""

    name = "tonewatch.webvtt.v1"

    def sniff(self, path: Path, head: bytes) -> float:
        text = tio.head_text(head)
        if re.match(r"WEBVTT(?:[ \t]|\r?\n|$)", text):
            return 0.99
        return 0.3 if path.suffix.lower() == ".vtt" else 0.0

    def read(self, path: Path, config: IngestConfig) -> Iterator[ReadItem]:
        decoded = tio.read_text(path)
        if isinstance(decoded, QuarantineRecord):
            yield decoded
            return
        lines = decoded[0].splitlines()
        if not lines or not lines[0].startswith("WEBVTT"):
            yield tio.quarantine(
                path,
                tio.UNRECOGNISED,
                f"expected a 'WEBVTT' first line, found {tio.snippet(lines[0] if lines else '')}",
                line=1,
            )
            return
        tz = tio.timezone_of(config.default_timezone)
        found: list[Segment | QuarantineRecord] = []
        call_start: datetime | None = None
        for start, block in _blocks(lines):
            if start == 1 or block[0].startswith("NOTE"):
                for offset, line in enumerate(block):
                    try:
                        call_start = call_start_of(line, tz) or call_start
                    except ValueError as exc:
                        found.append(
                            _cue_problem(
                                path, start + offset, None, tio.BAD_TIMESTAMP, f"call start: {exc}"
                            )
                        )
                continue
            if block[0].startswith(("STYLE", "REGION")):
                continue
            parsed = self._cue(path, start, block)
            found.extend([parsed] if isinstance(parsed, QuarantineRecord) else parsed)
        yield from finish_call(path, found, call_start, {"format": "webvtt"})

    @staticmethod
    def _cue(path: Path, start: int, block: list[str]) -> list[Segment] | QuarantineRecord:
        line = _timing_line(start, block)
        try:
            captions = webvtt.from_string("WEBVTT\n\n" + "\n".join(block), strict=True).captions
        except MalformedCaptionError as exc:  # keep its reason unless it only repeats the block
            captions, error = [], "" if str(exc).startswith("Invalid cue block") else str(exc)
        else:
            error = ""
        if len(captions) != 1:
            return _cue_problem(
                path,
                line,
                None if "-->" in block[0] else block[0].strip(),
                tio.BAD_CUE,
                "expected a cue timing line "
                f"'hh:mm:ss.ttt --> hh:mm:ss.ttt' and text, found "
                f"{tio.snippet(' / '.join(block))}" + (f" ({error})" if error else ""),
            )
        caption = captions[0]
        cue = caption.identifier or caption.start
        begin, end = caption.start_time.in_milliseconds(), caption.end_time.in_milliseconds()
        if end < begin:
            return _cue_problem(
                path,
                line,
                cue,
                tio.BAD_TIMING,
                f"cue ends ({caption.end}) before it starts ({caption.start})",
            )
        return split_speakers(
            caption.lines, line=line, cue=cue, start_s=begin / 1000, end_s=end / 1000
        )


_SRT_TIMING = re.compile(r"^\s*\d+\s*\r?\n\s*\d{1,2}:\d{2}:\d{2}[,.]\d{1,3}\s*-->", re.M)


@readers.register("tonewatch.srt.v1")
class SrtReader:
    """SubRip (``.srt``): numbered cues; speakers from ``Name:`` cue text."""

    name = "tonewatch.srt.v1"

    def sniff(self, path: Path, head: bytes) -> float:
        text = tio.head_text(head).lstrip()
        if _SRT_TIMING.match(text):
            return 0.95
        if _SRT_TIMING.search(text):
            return 0.7
        return 0.2 if path.suffix.lower() == ".srt" else 0.0

    def read(self, path: Path, config: IngestConfig) -> Iterator[ReadItem]:
        decoded = tio.read_text(path)
        if isinstance(decoded, QuarantineRecord):
            yield decoded
            return
        found: list[Segment | QuarantineRecord] = []
        for start, block in _blocks(decoded[0].splitlines()):
            line = _timing_line(start, block)
            try:
                (subtitle,) = srt.parse("\n".join(block) + "\n")
            except (srt.SRTParseError, ValueError):
                found.append(
                    _cue_problem(
                        path,
                        line,
                        block[0].strip(),
                        tio.BAD_CUE,
                        "expected a numbered cue with a timing line "
                        "'hh:mm:ss,ttt --> hh:mm:ss,ttt', found "
                        f"{tio.snippet(' / '.join(block))}",
                    )
                )
                continue
            cue = str(subtitle.index)
            if subtitle.end < subtitle.start:
                found.append(
                    _cue_problem(
                        path,
                        line,
                        cue,
                        tio.BAD_TIMING,
                        f"cue ends ({srt.timedelta_to_srt_timestamp(subtitle.end)}) before it "
                        f"starts ({srt.timedelta_to_srt_timestamp(subtitle.start)})",
                    )
                )
                continue
            found.extend(
                split_speakers(
                    subtitle.content.splitlines(),
                    line=line,
                    cue=cue,
                    start_s=subtitle.start.total_seconds(),
                    end_s=subtitle.end.total_seconds(),
                )
            )
        yield from finish_call(path, found, None, {"format": "srt"})


# Plain text: optional "[00:01:23]" / "00:01:23" offset before "Name: text".
_OFFSET = re.compile(
    r"^\s*[\[(]?(?P<clock>(?:\d{1,2}:)?\d{1,2}:\d{2}(?:[.,]\d{1,3})?)[\])]?"
    r"\s*(?:[-–]\s*)?(?P<rest>.*)$"
)
_EMAIL_HEADER = re.compile(
    r"(?im)^(?:from |return-path:|received:|delivered-to:|message-id:|mime-version:|"
    r"content-type:|x-[\w-]+:)"
)


def _offset(line: str) -> tuple[float | None, str]:
    match = _OFFSET.match(line)
    if not match or not match["rest"]:
        return None, line
    clock = tio.parse_clock(match["clock"])
    return (clock.total_seconds() if clock else None), match["rest"]


@readers.register("tonewatch.speaker_text.v1")
class SpeakerTextReader:
    """Plain text, one ``Name: text`` line per utterance; unprefixed lines continue it."""

    name = "tonewatch.speaker_text.v1"

    def sniff(self, path: Path, head: bytes) -> float:
        text = tio.head_text(head)
        if (
            _EMAIL_HEADER.search(text[:2000])
            or tio.JSON_START.match(text)
            or text.startswith("WEBVTT")
        ):
            return 0.05
        lines = [line for line in text.splitlines()[:40] if line.strip()]
        lines = lines[:-1] if len(lines) > 1 else lines  # the last may be cut mid-line
        if not lines:
            return 0.0
        named = sum(bool(SPEAKER_LINE.match(_offset(line)[1])) for line in lines)
        share = named / len(lines)
        return 0.45 + 0.35 * share if share >= 0.4 else 0.1 * share

    def read(self, path: Path, config: IngestConfig) -> Iterator[ReadItem]:
        decoded = tio.read_text(path)
        if isinstance(decoded, QuarantineRecord):
            yield decoded
            return
        tz = tio.timezone_of(config.default_timezone)
        found: list[Segment | QuarantineRecord] = []
        call_start: datetime | None = None
        open_: dict | None = None  # the segment being read: lines join with "\n"
        for number, line in enumerate(decoded[0].splitlines(), start=1):
            if not line.strip():
                continue
            if open_ is None:  # metadata lines before the first utterance
                try:
                    start = call_start_of(line, tz)
                except ValueError as exc:
                    found.append(
                        tio.quarantine(path, tio.BAD_TIMESTAMP, f"call start: {exc}", line=number)
                    )
                    continue
                if start is not None:
                    call_start = start
                    continue
            start_s, rest = _offset(line)
            named = SPEAKER_LINE.match(rest)
            if named or start_s is not None or _ONLY_MARKERS.match(rest) or open_ is None:
                if open_ is not None:
                    found.append(Segment(**open_))
                open_ = {
                    "speaker": named["name"].strip() if named else "",
                    "text": named["text"].strip() if named else rest.strip(),
                    "line": number,
                    "start_s": start_s,
                }
            else:
                open_["text"] += "\n" + line.strip()
        if open_ is not None:
            found.append(Segment(**open_))
        yield from finish_call(path, found, call_start, {"format": "speaker_text"})
