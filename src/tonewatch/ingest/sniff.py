"""Which inputs to read, and which reader reads each one.

``discover`` walks the given paths recursively, a folder's files before its subfolders, each in
name order, so runs are reproducible. Files are inputs; a Maildir folder (``cur/`` and
``new/``) is one input, and so is each Maildir++ subfolder (``.Sent``); hidden files
(``.DS_Store``) and the Maildir's own ``cur/new/tmp`` are not walked.

``choose_reader`` asks every reader for its confidence on the first ``SNIFF_BYTES`` bytes;
the highest wins. The extension only breaks a tie (a reader's optional ``extensions``
attribute), then the registry name does, so the choice is deterministic.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from tonewatch.ingest.base import Reader
from tonewatch.schema import Location, QuarantineRecord

NOT_FOUND = "I203"  # a path given on the command line that does not exist
MAILDIR_PARTS = frozenset(("cur", "new", "tmp"))


def is_maildir(path: Path) -> bool:
    return (path / "cur").is_dir() and (path / "new").is_dir()


def discover(paths: Iterable[str | Path]) -> Iterator[Path | QuarantineRecord]:
    """Inputs under ``paths`` (files and Maildir folders), or a record for a missing path."""
    for given in paths:
        path = Path(given)
        if path.is_dir():
            yield from _walk(path)
        elif path.exists():
            yield path
        else:
            yield QuarantineRecord(
                location=Location(path=str(path)),
                code=NOT_FOUND,
                message="no such file or directory",
            )


def _walk(root: Path) -> Iterator[Path]:
    for folder, subfolders, files in os.walk(root, onerror=None):
        here = Path(folder)
        if is_maildir(here):
            yield here
            # Maildir++ keeps its folders (.Sent, .Archive) inside the root: maildirs too.
            subfolders[:] = sorted(name for name in subfolders if name not in MAILDIR_PARTS)
            continue
        subfolders[:] = sorted(
            name for name in subfolders if not name.startswith(".") or is_maildir(here / name)
        )
        for name in sorted(files):
            if not name.startswith("."):
                yield here / name


def read_head(path: Path, size: int) -> bytes:
    """The first ``size`` bytes of a file; nothing for a folder."""
    if path.is_dir():
        return b""
    with path.open("rb") as handle:
        return handle.read(size)


def choose_reader(
    path: Path, head: bytes, readers: Sequence[Reader]
) -> tuple[Reader | None, float]:
    """The reader most confident it can read ``path``, and its score (None, 0.0: none)."""
    suffix = path.suffix.lower()
    best: tuple[float, bool, int] | None = None
    chosen: Reader | None = None
    for rank, reader in enumerate(readers):
        try:
            score = float(reader.sniff(path, head))
        except Exception:  # a reader that cannot even look at the file does not claim it
            continue
        if score <= 0.0:
            continue
        extensions = getattr(reader, "extensions", ())
        key = (score, suffix in extensions, -rank)
        if best is None or key > best:
            best, chosen = key, reader
    return chosen, best[0] if best else 0.0


def describe_head(head: bytes) -> str:
    """What the first bytes look like, for an "unknown format" message."""
    if b"\x00" in head:
        return f"binary data, starting {head[:16]!r}"
    text = head.decode("utf-8", "replace").strip()
    first = text.splitlines()[0] if text else ""
    return f"text starting {first[:60]!r}"
