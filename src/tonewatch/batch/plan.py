"""Archives -> independent, resumable work units ("chunks"), each named by its content.

    plan = plan_inputs(["archive/"], config.batch, committed=manifest.committed())
    plan.chunks        # what the run must have scored when it ends, in input order
    plan.stale         # committed chunks of these inputs that no longer exist: retire them

Inputs are found as ingest finds them (``sniff.discover``) and cut three ways:

* an mbox is cut into byte ranges at "From " lines (the rule ``mailbox.mbox`` itself uses),
  every ``chunk_turns`` messages or ``chunk_bytes`` bytes;
* a Maildir is cut into runs of ``chunk_turns`` messages, in the Maildir reader's key order;
* every other file joins a group of consecutive files (at most ``chunk_turns`` files or
  ``chunk_bytes`` bytes); one file is never split.

A chunk's ``digest`` hashes what it reads (mbox: the bytes of its range; Maildir: message keys
and sizes, Maildir messages being immutable; files: names, sizes and contents) and its ``key``
hashes the digest with where the range lies, so unchanged input gives the same keys run after
run. Before cutting a fresh chunk the planner tries the committed chunk that started at the
same place: if its range still holds the same content it is kept as it is. So an mbox that has
grown keeps every old chunk, its old last chunk included, and only the new messages form new
chunks.
"""

from __future__ import annotations

import hashlib
import os
from array import array
from bisect import bisect_right
from collections.abc import Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from tonewatch.config import BatchConfig
from tonewatch.ingest import load_readers
from tonewatch.ingest.base import SNIFF_BYTES
from tonewatch.ingest.mbox import mbox_spans
from tonewatch.ingest.sniff import choose_reader, discover, is_maildir, read_head
from tonewatch.schema import QuarantineRecord

Kind = Literal["mbox", "maildir", "files"]
MBOX_READER = "tonewatch.mbox.v1"
_READ_BLOCK = 1 << 20


@dataclass(frozen=True)
class Chunk:
    """One unit of work: a range of an mbox or a Maildir, or a group of files.

    kind: "mbox" (``start``/``end`` are byte offsets), "maildir" (``start``/``end`` index the
        Maildir's sorted keys; ``files`` are the messages' paths inside it) or "files"
        (``files`` are the files; ``start`` is 0, ``end`` their number).
    source: the mbox or Maildir path; for "files", the group's first file.
    first_item: 1-based message number of the range's first message in its mbox/Maildir.
    tail: the range ends where the input ends (the last message may be checked for truncation).
    units: messages (mbox, Maildir) or files; nbytes: bytes read.
    """

    key: str
    kind: Kind
    source: str
    start: int
    end: int
    first_item: int
    units: int
    nbytes: int
    digest: str
    tail: bool = True
    files: tuple[str, ...] = field(default=(), repr=False)

    def spec(self) -> dict[str, Any]:
        """What the manifest keeps of the chunk (everything but the file list)."""
        spec = asdict(self)
        del spec["files"]
        return spec


@dataclass
class Plan:
    chunks: list[Chunk]
    stale: list[str]  # keys of committed chunks of these inputs that are not in the plan
    missing: list[QuarantineRecord]  # paths given that do not exist
    roots: list[str]


def chunk_key(kind: str, source: str, start: int, end: int, first_item: int, digest: str) -> str:
    text = f"{kind}\0{source}\0{start}\0{end}\0{first_item}\0{digest}"
    return hashlib.blake2b(text.encode("utf-8", "surrogateescape"), digest_size=12).hexdigest()


def _make(
    kind: Kind,
    source: str,
    start: int,
    end: int,
    first_item: int,
    units: int,
    nbytes: int,
    digest: str,
    *,
    tail: bool,
    files: tuple[str, ...] = (),
) -> Chunk:
    key = chunk_key(kind, source, start, end, first_item, digest)
    return Chunk(key, kind, source, start, end, first_item, units, nbytes, digest, tail, files)


# -- digests (the planner and the worker, which checks the input did not change since) ------


def _hasher() -> Any:
    return hashlib.blake2b(digest_size=16)


def mbox_digest(path: str | Path, start: int, end: int) -> str:
    digest = _hasher()
    with open(path, "rb") as handle:
        handle.seek(start)
        left = end - start
        while left > 0:
            block = handle.read(min(_READ_BLOCK, left))
            if not block:
                break
            digest.update(block)
            left -= len(block)
    return digest.hexdigest()


def maildir_digest(maildir: str | Path, files: Sequence[str]) -> str:
    """Keys and sizes: a Maildir message never changes, only its flags (the name's tail)."""
    digest = _hasher()
    for name in files:
        size = os.stat(locate_message(maildir, name)).st_size
        digest.update(f"{maildir_key(name)}\0{size}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def files_digest(files: Sequence[str]) -> str:
    """Names and contents; a file that cannot be read counts by its error (its chunk's ingest
    quarantines it)."""
    digest = _hasher()
    for name in files:
        digest.update(f"{name}\0".encode("utf-8", "surrogateescape"))
        try:
            with open(name, "rb") as handle:
                while block := handle.read(_READ_BLOCK):
                    digest.update(block)
        except OSError as exc:
            digest.update(f"\0unreadable {exc.errno}".encode())
        digest.update(b"\0\n")
    return digest.hexdigest()


def chunk_digest(chunk: Chunk) -> str:
    """The digest of what ``chunk`` covers now (OSError if it can no longer be read)."""
    if chunk.kind == "mbox":
        return mbox_digest(chunk.source, chunk.start, chunk.end)
    if chunk.kind == "maildir":
        return maildir_digest(chunk.source, chunk.files)
    return files_digest(chunk.files)


# -- mbox ------------------------------------------------------------------------------------


def mbox_starts(path: str | Path) -> tuple[array[int], int]:
    """Byte offsets of the messages ("From " lines) of an mbox, as the mbox reader delimits
    them, and the file's size. One streaming pass; memory: 8 bytes per message."""
    starts: array[int] = array("q", (span.start for span in mbox_spans(path)))
    return starts, os.stat(path).st_size


def _mbox_chunks(
    path: str, limits: BatchConfig, previous: Mapping[int, Mapping[str, Any]]
) -> Iterator[Chunk]:
    starts, size = mbox_starts(path)
    count = len(starts)

    def end_of(j: int) -> int:
        return starts[j] if j < count else size

    i = 0
    while i < count:
        start, digest = starts[i], None
        old = previous.get(start)
        if old is not None and old["first_item"] == i + 1:
            j = bisect_right(starts, old["end"] - 1, i + 1)  # the first start at or after end
            if end_of(j) == old["end"] and j - i == old["units"]:
                digest = mbox_digest(path, start, old["end"])
                if digest != old["digest"]:
                    digest = None
        if digest is None:
            j = min(i + limits.chunk_turns, count)
            by_bytes = bisect_right(starts, start + limits.chunk_bytes, i + 1) - 1
            if by_bytes < j and end_of(j) - start > limits.chunk_bytes:
                j = max(i + 1, by_bytes)
            kept = next((k for k in range(i + 1, j) if starts[k] in previous), None)
            j = kept if kept is not None else j  # stop where a committed chunk starts
            digest = mbox_digest(path, start, end_of(j))
        end = end_of(j)
        yield _make("mbox", path, start, end, i + 1, j - i, end - start, digest, tail=j == count)
        i = j


# -- Maildir ---------------------------------------------------------------------------------


def maildir_key(name: str) -> str:
    """A Maildir message's key: its file name up to the flags (``mailbox.Maildir``'s rule)."""
    return os.path.basename(name).split(":")[0]


def locate_message(maildir: str | Path, name: str) -> str:
    """Where message ``name`` (``cur/KEY:2,S``) of a Maildir is now: a mail client may have
    moved it from new/ to cur/ or changed its flags since it was listed."""
    path = os.path.join(maildir, name)
    if os.path.exists(path):
        return path
    key = maildir_key(name)
    for sub in ("cur", "new"):
        with os.scandir(os.path.join(maildir, sub)) as entries:
            for entry in entries:
                if maildir_key(entry.name) == key:
                    return entry.path
    return path  # gone: the caller's open() says so


def maildir_messages(path: str) -> list[tuple[str, int]]:
    """The messages of a Maildir (``new/``, ``cur/``) in key order, as ``MaildirReader``
    reads them: (path relative to the Maildir, size)."""
    by_key: dict[str, tuple[str, int]] = {}
    for sub in ("new", "cur"):
        with os.scandir(os.path.join(path, sub)) as entries:
            for entry in entries:
                if not entry.is_dir():
                    size = entry.stat().st_size
                    by_key[maildir_key(entry.name)] = (f"{sub}/{entry.name}", size)
    return [by_key[key] for key in sorted(by_key)]


def _maildir_chunks(
    path: str, limits: BatchConfig, previous: Mapping[int, Mapping[str, Any]]
) -> Iterator[Chunk]:
    messages = maildir_messages(path)
    count, i = len(messages), 0
    while i < count:
        old = previous.get(i)
        if old is not None and i + old["units"] <= count:
            j = i + old["units"]
            if _listed_digest(messages[i:j]) == old["digest"]:
                yield _maildir_chunk(path, messages, i, j)
                i = j
                continue
        j = _group_end(messages, i, limits, previous)
        yield _maildir_chunk(path, messages, i, j)
        i = j


def _group_end(
    items: Sequence[tuple[str, int]], i: int, limits: BatchConfig, starts: Container[int]
) -> int:
    """Where a fresh group of (name, size) items starting at ``i`` ends: at most
    ``chunk_turns`` items and ``chunk_bytes`` bytes, at least one item, and before an item
    that starts a committed chunk (which may then be kept as it is)."""
    j, nbytes = i + 1, items[i][1]
    while j < len(items) and j - i < limits.chunk_turns and j not in starts:
        nbytes += items[j][1]
        if nbytes > limits.chunk_bytes:
            break
        j += 1
    return j


def _listed_digest(messages: Sequence[tuple[str, int]]) -> str:
    """``maildir_digest`` from the sizes listed (no second stat per message)."""
    digest = _hasher()
    for name, size in messages:
        digest.update(f"{maildir_key(name)}\0{size}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def _maildir_chunk(path: str, messages: list[tuple[str, int]], i: int, j: int) -> Chunk:
    part = messages[i:j]
    files = tuple(name for name, _ in part)
    nbytes = sum(size for _, size in part)
    digest = _listed_digest(part)
    tail = j == len(messages)
    return _make("maildir", path, i, j, i + 1, j - i, nbytes, digest, tail=tail, files=files)


# -- loose files -----------------------------------------------------------------------------


def _file_groups(
    files: list[tuple[str, int]], limits: BatchConfig, previous: Mapping[str, Mapping[str, Any]]
) -> Iterator[Chunk]:
    count, i = len(files), 0
    starts = {k for k, (name, _) in enumerate(files) if name in previous}
    while i < count:
        old = previous.get(files[i][0])
        if old is not None and i + old["units"] <= count:
            j = i + old["units"]
            names = tuple(name for name, _ in files[i:j])
            digest = files_digest(names)
            if digest == old["digest"]:
                yield _group(files, i, j, digest)
                i = j
                continue
        j = _group_end(files, i, limits, starts)
        yield _group(files, i, j, files_digest([name for name, _ in files[i:j]]))
        i = j


def _group(files: list[tuple[str, int]], i: int, j: int, digest: str) -> Chunk:
    names = tuple(name for name, _ in files[i:j])
    nbytes = sum(size for _, size in files[i:j])
    # Named by its files alone (not by their place among this run's files), so adding an
    # archive to the command line does not rename the groups of another.
    return _make("files", names[0], 0, j - i, 1, j - i, nbytes, digest, tail=True, files=names)


# -- the plan --------------------------------------------------------------------------------


def _covered(source: str, roots: Sequence[str]) -> bool:
    return any(source == root or source.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def plan_inputs(
    paths: Iterable[str | Path],
    limits: BatchConfig,
    committed: Mapping[str, Mapping[str, Any]] | None = None,
) -> Plan:
    """The chunks of ``paths`` (files, folders, Maildirs; walked as ingest walks them).

    limits: the ``[batch]`` section (chunk_turns, chunk_bytes).
    committed: manifest entries of chunks already scored, by key; their ranges are reused
        where the content is unchanged, and those of these inputs left out are ``stale``.
    """
    committed = committed or {}
    roots = [os.path.abspath(p) for p in paths]
    mbox_prev: dict[str, dict[int, Mapping[str, Any]]] = {}
    maildir_prev: dict[str, dict[int, Mapping[str, Any]]] = {}
    files_prev: dict[str, Mapping[str, Any]] = {}
    for entry in committed.values():
        if entry["kind"] == "mbox":
            mbox_prev.setdefault(entry["source"], {})[entry["start"]] = entry
        elif entry["kind"] == "maildir":
            maildir_prev.setdefault(entry["source"], {})[entry["start"]] = entry
        else:
            files_prev[entry["source"]] = entry

    readers = load_readers()
    chunks: list[Chunk] = []
    missing: list[QuarantineRecord] = []
    loose: list[tuple[str, int]] = []
    seen: set[str] = set()
    for found in discover(roots):
        if isinstance(found, QuarantineRecord):
            missing.append(found)
            continue
        path = str(found)
        if path in seen:
            continue  # named twice (a folder and a file in it): read once
        seen.add(path)
        if is_maildir(found):
            chunks += _maildir_chunks(path, limits, maildir_prev.get(path, {}))
            continue
        try:
            head = read_head(found, SNIFF_BYTES)
            size = found.stat().st_size
        except OSError:
            loose.append((path, 0))  # the chunk's ingest quarantines it, with the reason
            continue
        reader, _ = choose_reader(found, head, readers)
        if reader is not None and reader.name == MBOX_READER:
            chunks += _mbox_chunks(path, limits, mbox_prev.get(path, {}))
        else:
            loose.append((path, size))
    chunks += _file_groups(loose, limits, files_prev)
    planned = {chunk.key for chunk in chunks}
    stale = [
        key
        for key, entry in committed.items()
        if key not in planned and _covered(entry["source"], roots)
    ]
    return Plan(chunks, stale, missing, roots)
