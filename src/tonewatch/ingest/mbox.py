"""Where the messages of an mbox lie, found in one streaming pass.

``mailbox.mbox`` delimits messages the same way but builds its table line by line in Python
(a tenth of the email reader's time) and keeps it whole; a whole-file ``mmap`` scan is fast but
makes the process's resident memory grow by the archive's size. Here the file is read in
blocks and each message's span is yielded as soon as the next "From " line is seen, so memory
stays flat and the spans can be handed out (to worker processes) while the scan goes on.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, NamedTuple

BLOCK = 1 << 20
_NEXT_FROM = re.compile(rb"\nFrom ")
_LOOKBACK = len(b"\nFrom ")  # bytes kept between blocks: a match may straddle them


class Span(NamedTuple):
    """One message: ``start`` is its "From " line, ``stop`` where it ends; ``last``: the
    archive's final message (the only one that can be cut off by a truncated file)."""

    start: int
    stop: int
    last: bool


def mbox_spans(path: str | Path, block: int = BLOCK) -> Iterator[Span]:
    """The messages of an mbox in file order, delimited as ``mailbox.mbox`` delimits them: a
    message starts at a line beginning "From " and ends before the next one, less the blank
    line that separates them. Bytes before the first "From " line belong to no message."""
    with open(path, "rb") as handle:
        # A virtual line end before the file, so a "From " at offset 0 matches too.
        carry, base = b"\n", -1  # base: the file offset of carry[0]
        start = None
        while True:
            data = handle.read(block)
            buffer = carry + data
            for match in _NEXT_FROM.finditer(buffer, max(0, len(carry) - _LOOKBACK + 1)):
                at = match.start()
                if start is not None:
                    blank = buffer[at - 1] == 0x0A  # the line before is empty: not the message's
                    yield Span(start, base + at + (0 if blank else 1), False)
                start = base + at + 1
            if not data:
                break
            carry = buffer[-_LOOKBACK:]
            base += len(buffer) - len(carry)
        if start is not None:
            end = base + len(buffer)
            yield Span(start, end - 1 if buffer.endswith(b"\n\n") else end, True)


def read_span(handle: BinaryIO, span: Span, limit: int) -> bytes | None:
    """The message of ``span`` without its "From " line (as ``mailbox.mbox.get_file`` reads
    it), or None when it is over ``limit`` bytes (nothing more is read then)."""
    handle.seek(span.start)
    body = span.start + len(handle.readline())
    if body >= span.stop:
        return b""
    if span.stop - body > limit:
        return None
    return handle.read(span.stop - body)
