"""Speech-recognition output as JSON -> one call Conversation.

* Whisper / WhisperX: ``{"text", "segments": [{"id", "start", "end", "text", "speaker"?}],
  "language"}``; speakers only when diarised (WhisperX ``"speaker": "SPEAKER_00"``).
* AWS Transcribe: ``{"results": {"transcripts", "items", "speaker_labels": {"segments"},
  "audio_segments"?}}``. ``audio_segments`` (newer jobs) are used as they are; otherwise
  the word ``items`` are grouped by the ``speaker_labels`` segment they fall into
  (punctuation joins the word before it). Without diarisation the call is one segment.

The call's start time, when the JSON carries one (``call_start``, ``recorded_at``,
``recording_start``, ``started_at`` at the top or under ``metadata``), makes turn
timestamps absolute. A truncated Whisper file still gives the segments before the cut.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Iterator, Mapping
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from tonewatch.config import IngestConfig
from tonewatch.ingest import _textio as tio
from tonewatch.ingest.base import ReadItem
from tonewatch.ingest.transcript import Segment, clean, finish_call
from tonewatch.registry import readers
from tonewatch.schema import QuarantineRecord

_WHISPER = re.compile(r'"segments"\s*:\s*\[')
_WHISPER_TIMES = re.compile(r'"(?:start|end)"\s*:\s*-?\d')
_AWS = re.compile(r'"results"\s*:\s*\{')
_AWS_KEYS = re.compile(r'"(?:transcripts|speaker_labels|audio_segments|items)"\s*:')
_START_KEYS = ("call_start", "recorded_at", "recording_start", "started_at")
_PEEK_BYTES = 1 << 20


def looks_like_asr(text: str) -> bool:
    """Whisper or AWS Transcribe JSON, judged from the beginning of the file."""
    whisper = bool(_WHISPER.search(text) and _WHISPER_TIMES.search(text))
    return whisper or bool(_AWS.search(text) and _AWS_KEYS.search(text))


def _segment_problem(path: Path, cue: str, code: str, message: str) -> QuarantineRecord:
    return tio.quarantine(path, code, message, cue=cue)


def _seconds(value: Any) -> float | None:
    """A time offset in seconds (AWS writes them as strings); None if it is not one."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if seconds >= 0 else None


def _checked(
    path: Path, cue: str, speaker: Any, text: Any, start: Any, end: Any
) -> Segment | QuarantineRecord:
    if not isinstance(text, str):
        return _segment_problem(
            path, cue, tio.MISSING_FIELD, f"segment has no text: expected a string, found {text!r}"
        )
    begin, finish = _seconds(start), _seconds(end)
    if begin is None or finish is None:
        return _segment_problem(
            path,
            cue,
            tio.BAD_CUE,
            f"expected start and end offsets in seconds, found start={start!r}, end={end!r}",
        )
    if finish < begin:
        return _segment_problem(
            path,
            cue,
            tio.BAD_TIMING,
            f"segment ends ({finish:.3f} s) before it starts ({begin:.3f} s)",
        )
    return Segment(
        speaker=str(speaker or ""),
        text=clean(text),
        line=None,
        cue=cue,
        start_s=begin,
        end_s=finish,
    )


def _whisper(path: Path, segments: list[Any]) -> Iterator[Segment | QuarantineRecord]:
    for number, item in enumerate(segments):
        if not isinstance(item, Mapping):
            yield _segment_problem(
                path,
                str(number),
                tio.BAD_RECORD,
                f"expected a segment object, found {type(item).__name__}",
            )
            continue
        cue = str(item.get("id", number))
        yield _checked(
            path, cue, item.get("speaker"), item.get("text"), item.get("start"), item.get("end")
        )


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _word(item: Mapping[str, Any]) -> str:
    """The best alternative's text of an AWS item ("" if it has none)."""
    content = _mapping((_list(item.get("alternatives")) or [{}])[0]).get("content")
    return content if isinstance(content, str) else ""


def _aws(path: Path, results: Mapping[str, Any]) -> Iterator[Segment | QuarantineRecord]:
    audio = _list(results.get("audio_segments"))
    if audio:
        for number, raw in enumerate(audio):
            item = _mapping(raw)
            yield _checked(
                path,
                str(item.get("id", number)),
                item.get("speaker_label"),
                item.get("transcript"),
                item.get("start_time"),
                item.get("end_time"),
            )
        return
    labels = [_mapping(s) for s in _list(_mapping(results.get("speaker_labels")).get("segments"))]
    starts = [_seconds(s.get("start_time")) or 0.0 for s in labels]
    words: dict[int, list[tuple[float, float, str]]] = {}
    last = -1
    for number, raw in enumerate(_list(results.get("items"))):
        item = _mapping(raw)
        content = _word(item)
        if item.get("type") == "punctuation":
            if words.get(last):
                begin, end, word = words[last][-1]
                words[last][-1] = (begin, end, word + content)
            continue
        begin, end = _seconds(item.get("start_time")), _seconds(item.get("end_time"))
        if begin is None or end is None:
            yield _segment_problem(
                path,
                f"item {item.get('id', number)}",
                tio.BAD_CUE,
                f"expected a word with start_time and end_time, found {tio.snippet(str(raw))}",
            )
            continue
        last = max(bisect.bisect_right(starts, begin) - 1, 0) if labels else 0
        words.setdefault(last, []).append((begin, end, content))
    for index in sorted(words):
        spoken = words[index]
        speaker = labels[index].get("speaker_label") if labels else ""
        yield _checked(
            path,
            str(index),
            speaker,
            " ".join(w for _, _, w in spoken),
            spoken[0][0],
            spoken[-1][1],
        )


def _call_start(document: Mapping[str, Any], tz: tzinfo) -> datetime | None:
    """Raises ValueError when a start key holds something that is not a date and time."""
    for node in (document, document.get("metadata") or {}):
        for key in _START_KEYS:
            if isinstance(node, Mapping) and node.get(key):
                return tio.parse_timestamp(node[key], tz)
    return None


def _salvage_whisper(path: Path, text: str) -> list[Any] | None:
    """The complete segments of a truncated Whisper file, or None if there are none."""
    match = _WHISPER.search(text)
    if not match:
        return None
    items = list(tio.iter_json_array(path, text, match.end() - 1))
    return [value for *_, value in (i for i in items if not isinstance(i, QuarantineRecord))]


@readers.register("tonewatch.asr_json.v1")
class AsrJsonReader:
    """Whisper / WhisperX and AWS Transcribe JSON output."""

    name = "tonewatch.asr_json.v1"

    def sniff(self, path: Path, head: bytes) -> float:
        text = tio.head_text(head).lstrip()
        if not text.startswith("{") or not tio.JSON_START.match(text):
            return 0.0
        if not looks_like_asr(text) and re.match(r'\{\s*"text"\s*:', text):
            # Whisper writes the whole transcript first: look further for the segments.
            with path.open("rb") as handle:
                text = tio.head_text(handle.read(_PEEK_BYTES))
        return 0.95 if looks_like_asr(text) else 0.0

    def read(self, path: Path, config: IngestConfig) -> Iterator[ReadItem]:
        decoded = tio.read_text(path)
        if isinstance(decoded, QuarantineRecord):
            yield decoded
            return
        text = decoded[0]
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            yield tio.quarantine(
                path,
                tio.BAD_JSON,
                f"invalid JSON: {tio.json_error(exc)}; expected a Whisper or AWS Transcribe "
                "JSON document; segments after this point are not read",
                line=exc.lineno,
            )
            salvaged = _salvage_whisper(path, text)
            if salvaged:
                yield from self._call(path, {"segments": salvaged}, config)
            return
        if not isinstance(document, Mapping):
            yield tio.quarantine(
                path,
                tio.BAD_RECORD,
                "expected a JSON object with "
                f"'segments' or 'results', found {type(document).__name__}",
            )
            return
        yield from self._call(path, document, config)

    @staticmethod
    def _call(path: Path, document: Mapping[str, Any], config: IngestConfig) -> Iterator[ReadItem]:
        tz = tio.timezone_of(config.default_timezone)
        if isinstance(document.get("segments"), list):
            found, meta = list(_whisper(path, document["segments"])), {"format": "whisper"}
        elif isinstance(document.get("results"), Mapping):
            found, meta = list(_aws(path, document["results"])), {"format": "aws_transcribe"}
        else:
            yield tio.quarantine(
                path,
                tio.UNRECOGNISED,
                "expected Whisper 'segments' or AWS "
                f"Transcribe 'results', found keys: {', '.join(document)}",
            )
            return
        if isinstance(document.get("language"), str):
            meta["asr_language"] = document["language"]
        try:
            call_start = _call_start(document, tz)
        except ValueError as exc:
            yield tio.quarantine(path, tio.BAD_TIMESTAMP, f"call start: {exc}")
            call_start = None
        yield from finish_call(path, found, call_start, meta)
