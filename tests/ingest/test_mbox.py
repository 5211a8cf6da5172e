"""mbox_spans / read_span delimit and read messages exactly as ``mailbox.mbox`` does."""

from __future__ import annotations

import mailbox
import random
import resource
from pathlib import Path

import pytest

from tonewatch.ingest.mbox import mbox_spans, read_span

# Lines that make delimiting hard: envelope lines with and without a blank line before them,
# "From" inside lines, escaped ">From ", CRLF blank lines, no final newline.
_PIECES = [
    b"From a@b Mon Jan  1 08:00:00 2001\n",
    b"From x\n",
    b"\n",
    b"\r\n",
    b">From quoted\n",
    b"Subject: text line\n",
    b"From",
    b" From mid-line\n",
    b"From ",
    b"\n\n",
    b"x",
]


def _mailbox_view(path: Path) -> tuple[list[tuple[int, int]], list[bytes]]:
    box = mailbox.mbox(path, create=False)
    try:
        keys = sorted(box.iterkeys())
        spans = [box._lookup(key) for key in keys]
        return spans, [box.get_file(key).read() for key in keys]
    finally:
        box.close()


def test_mbox_spans_delimit_messages_as_mailbox_does(tmp_path: Path) -> None:
    rng = random.Random(7)
    path = tmp_path / "random.mbox"
    for _ in range(300):
        data = b"".join(rng.choice(_PIECES) for _ in range(rng.randrange(14)))
        path.write_bytes((b"From first\n" if rng.random() < 0.8 else b"") + data)
        expected_spans, expected_bodies = _mailbox_view(path)
        for block in (1, 2, 5, 7, 64, 1 << 20):  # a "\nFrom " split across reads, too
            spans = list(mbox_spans(path, block))
            assert [(s.start, s.stop) for s in spans] == expected_spans, (data, block)
            assert [s.last for s in spans] == [i == len(spans) - 1 for i in range(len(spans))]
        with path.open("rb") as handle:
            assert [read_span(handle, s, 1 << 20) for s in spans] == expected_bodies


def test_mbox_read_span_refuses_a_message_over_the_limit_without_reading_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "two.mbox"
    path.write_bytes(b"From a\nSubject: big\n\n" + b"x" * 5000 + b"\n\nFrom b\nSubject: s\n\nok\n")
    big, small = mbox_spans(path)
    with path.open("rb") as handle:
        assert read_span(handle, big, 1000) is None
        assert handle.tell() < 100
        assert read_span(handle, small, 1000) == b"Subject: s\n\nok\n"


@pytest.mark.slow
def test_mbox_spans_memory_stays_flat_on_a_large_archive(tmp_path: Path) -> None:
    path = tmp_path / "large.mbox"
    message = b"From a@b Mon Jan  1 08:00:00 2001\nSubject: s\n\n" + b"body line\n" * 200 + b"\n"
    with path.open("wb") as out:
        for _ in range(60_000):  # ~130 MB
            out.write(message)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    count = sum(1 for _ in mbox_spans(path))
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert count == 60_000
    assert grown_mb < 20  # a whole-file mmap scan would add ~130 MB here
