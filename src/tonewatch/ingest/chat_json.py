"""JSON and JSON Lines chat exports as a stream of records ``(number, line, value)``.

A JSON array is decoded element by element, so a truncated export still gives every
element before the damage; JSON Lines is decoded line by line, so one bad line costs
only itself. The chat reader (``chat.py``) maps the records to messages.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tonewatch.ingest import _textio as tio
from tonewatch.ingest.asr_json import looks_like_asr
from tonewatch.ingest.chat_presets import ALIASES
from tonewatch.schema import QuarantineRecord

# A record of the file: (1-based record number, line it starts on, decoded value).
Record = tuple[int, int | None, Any]

_KEY = re.compile(r'"([^"\\]{1,40})"\s*:')


def jsonl_records(path: Path) -> Iterator[Record | QuarantineRecord]:
    number = 0
    for line_no, text, ok in tio.iter_lines(path):
        if not text.strip():
            continue
        number += 1
        if not ok:
            yield tio.quarantine(
                path,
                tio.UNDECODABLE,
                "line holds bytes that are not valid text in the file's encoding",
                line=line_no,
                item=number,
            )
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            cut = exc.msg.startswith("Unterminated") or exc.pos >= len(text.rstrip()) - 1
            why = "the line ends inside a JSON value (truncated?)" if cut else tio.json_error(exc)
            yield tio.quarantine(
                path,
                tio.BAD_JSON,
                f"invalid JSON: {why}; expected one JSON object per line, found "
                f"{tio.snippet(text)}",
                line=line_no,
                item=number,
            )
            continue
        yield number, line_no, value


def document_records(path: Path) -> Iterator[Record | QuarantineRecord]:
    """A JSON array or object read as one document."""
    decoded = tio.read_text(path)
    if isinstance(decoded, QuarantineRecord):
        yield decoded
        return
    text = decoded[0]
    start = tio.skip_space(text, 0)
    if text.startswith("[", start):
        yield from tio.iter_json_array(path, text, start)
        return
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        yield tio.quarantine(
            path,
            tio.BAD_JSON,
            f"invalid JSON: {tio.json_error(exc)}; expected a JSON array or object of chat "
            "messages",
            line=exc.lineno,
        )
        return
    listed = document.get("conversations") if isinstance(document, dict) else None
    if isinstance(listed, list):
        yield from ((n, None, value) for n, value in enumerate(listed, start=1))
    else:
        yield 1, 1, document


def is_jsonl(path: Path) -> bool:
    """JSON Lines when the first non-blank line is a whole JSON object on its own."""
    for _, text, _ok in tio.iter_lines(path):
        if text.strip():
            try:
                first = json.loads(text)
            except json.JSONDecodeError:
                return False
            # {"conversations": [...]} on one line is a whole document, not a record
            return isinstance(first, dict) and not isinstance(first.get("conversations"), list)
    return False


def sniff_json(path: Path, text: str) -> float:
    text = text.lstrip()
    suffix = 0.02 if path.suffix.lower() in {".json", ".jsonl", ".ndjson"} else 0.0
    if not text:
        return 5 * suffix  # an empty file: only the extension says what it was meant to be
    if not tio.JSON_START.match(text):
        return 0.0
    if looks_like_asr(text):
        return 0.2
    if '"dialogContent"' in text:
        return 0.95
    keys = {key.lower() for key in _KEY.findall(text)}
    score = 0.5
    if keys & set(ALIASES["text"]):
        score = 0.85 + (0.05 if keys & set(ALIASES["author"]) else 0.0)
    return score + suffix
