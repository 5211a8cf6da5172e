"""The reader contract: one small component per input format.

A reader says whether it can read a file from the file's first bytes (content sniffing,
the extension is only a hint) and streams what it finds: a ``Conversation`` for what it read,
a ``QuarantineRecord`` for a part it could not read (the run goes on).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable

from tonewatch.config import IngestConfig
from tonewatch.schema import Conversation, QuarantineRecord

SNIFF_BYTES = 8192

ReadItem = Conversation | QuarantineRecord


@runtime_checkable
class Reader(Protocol):
    name: str

    def sniff(self, path: Path, head: bytes) -> float:
        """Confidence 0..1 that this reader understands the file (``head``: first bytes)."""
        ...

    def read(self, path: Path, config: IngestConfig) -> Iterator[ReadItem]:
        """Stream conversations (roles and languages not yet assigned) and quarantine records."""
        ...
