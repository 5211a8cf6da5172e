"""CSV/TSV chat exports as a stream of records ``(row number, line, {column: cell})``.

The chat reader (``chat.py``) maps the columns to message fields and groups the rows.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tonewatch.ingest import _textio as tio
from tonewatch.ingest.chat_presets import ALIASES, normalise_key
from tonewatch.schema import QuarantineRecord

DELIMITERS = (",", ";", "\t", "|")


def _cells(line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:  # e.g. a stray carriage return: not a usable header
        return []


def delimiter_of(header: str) -> str:
    """The candidate that splits the header line into the most columns."""
    return max(DELIMITERS, key=lambda d: len(_cells(header, d)))


def sniff_csv(path: Path, text: str) -> float:
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return 0.0
    delimiter = delimiter_of(lines[0])
    header = [normalise_key(cell) for cell in _cells(lines[0], delimiter)]
    if len(header) < 2:
        return 0.0
    by_extension = 0.03 if path.suffix.lower() in {".csv", ".tsv"} else 0.0
    if set(header) & set(ALIASES["text"]):
        known = sum(bool(set(header) & set(ALIASES[f])) for f in ("author", "timestamp"))
        return 0.85 + 0.05 * known + by_extension
    # Columns without a known text column: a CSV only if the rows agree on the column count.
    widths = {len(_cells(line, delimiter)) for line in lines[1:6]}
    return (0.3 if widths <= {len(header)} else 0.05) + by_extension


def csv_records(path: Path) -> Iterator[tuple[int, int, dict[str, Any]] | QuarantineRecord]:
    if path.stat().st_size == 0:
        yield tio.quarantine(
            path,
            tio.EMPTY_FILE,
            "file is empty: expected a CSV header row and one row per chat message",
        )
        return
    bad_lines: set[int] = set()
    current = [0]  # physical number of the last line handed to the csv module

    def source() -> Iterator[str]:
        for number, text, ok in tio.iter_lines(path):
            current[0] = number
            if not ok:
                bad_lines.add(number)
            yield text + "\n"

    lines = source()
    header_line = next((line for line in lines if line.strip()), None)
    if header_line is None:
        yield tio.quarantine(
            path,
            tio.EMPTY_FILE,
            "file has no header row: expected column "
            "names such as conversation_id, author, timestamp, text",
        )
        return
    delimiter = delimiter_of(header_line)
    header = _cells(header_line, delimiter)
    if not header:
        yield tio.quarantine(
            path,
            tio.NO_FIELDS,
            f"expected a CSV header row naming the columns, found {tio.snippet(header_line)}",
            line=current[0],
        )
        return
    reader = csv.reader(lines, delimiter=delimiter)
    offset = current[0]  # reader.line_num counts the lines after the header
    number, end = 0, 0
    while True:
        start = end + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            end = reader.line_num
            yield tio.quarantine(
                path, tio.BAD_RECORD, f"unreadable CSV row: {exc}", line=offset + start
            )
            continue
        end = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        number += 1
        where = {"line": offset + start, "item": number}
        if bad_lines & set(range(offset + start, offset + end + 1)):
            yield tio.quarantine(
                path,
                tio.UNDECODABLE,
                "row holds bytes that are not valid text in the file's encoding",
                **where,
            )
            continue
        if len(row) > len(header) and any(cell.strip() for cell in row[len(header) :]):
            yield tio.quarantine(
                path,
                tio.BAD_RECORD,
                f"row has {len(row)} cells but the "
                f"header names {len(header)} columns (unquoted delimiter?)",
                **where,
            )
            continue
        yield number, offset + start, dict(zip(header, row, strict=False))
