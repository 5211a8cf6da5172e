"""Fragments sharing a conversation id -> one Conversation, with flat memory.

Readers stream fragments: an email reader yields one per message with the thread id as its id,
and the messages of one thread may lie anywhere in an archive or in other files. The
``FragmentSpool`` keeps fragments in memory while they are few and moves them to a temporary
SQLite file past ``memory_fragments``; ``groups()`` then gives each conversation's fragments in
the order they were read, conversations in order of first appearance. Memory stays flat in
the archive's size: at most ``memory_fragments`` fragments (or one conversation) at a time.

A fragment is spooled as a ``Conversation`` or, from the parallel email path, as a
``ParsedMessage`` in bytes with its thread (``ParsedMessage.to_bytes``, written once in the
worker process that parsed it); ``entries()`` hands the stored form on as it is, for worker
processes to rebuild.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path

from tonewatch.ingest._copy import replace
from tonewatch.ingest.email_message import ParsedMessage
from tonewatch.schema import Conversation, Participant, Turn

INSERT_BATCH = 1000

# How a fragment is stored: a Conversation as JSON (how: None); a ParsedMessage pickled, with
# how its thread was found (``ThreadIndex.assign``), which its fragment records.
Entry = tuple[str | None, str | bytes]


def rebuild(conversation_id: str, entry: Entry) -> Conversation:
    """The fragment an ``entries()`` entry holds."""
    how, data = entry
    if how is None:
        return Conversation.model_validate_json(data)
    return ParsedMessage.from_bytes(data).fragment(conversation_id, how)  # type: ignore[arg-type]


class FragmentSpool:
    """Collects conversation fragments by id; ``groups()`` yields them merged-ready.

    directory: where the temporary SQLite file goes (default: the system temp dir).
    memory_fragments: fragments held in memory before everything moves to disk.
    """

    def __init__(self, directory: str | Path | None = None, memory_fragments: int = 5000) -> None:
        self.directory = directory
        self.memory_fragments = memory_fragments
        # In memory: a Conversation, or the Entry of a threaded message.
        self._memory: dict[str, list[Conversation | Entry]] = {}
        self._count = 0
        self._db: sqlite3.Connection | None = None
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        self._pending: list[tuple[str, int, str | None, str | bytes]] = []

    def __len__(self) -> int:
        return self._count

    @property
    def on_disk(self) -> bool:
        return self._db is not None

    def add(self, fragment: Conversation) -> None:
        self._add(fragment.id, fragment)

    def add_message(self, conversation_id: str, how: str, message: bytes) -> None:
        """A pickled ``ParsedMessage`` threaded into ``conversation_id`` (``how``: see
        ``ThreadIndex.assign``)."""
        self._add(conversation_id, (how, message))

    def _add(self, conversation_id: str, item: Conversation | Entry) -> None:
        self._count += 1
        if self._db is None:
            self._memory.setdefault(conversation_id, []).append(item)
            if self._count > self.memory_fragments:
                self._spill()
            return
        self._pending.append((conversation_id, self._count, *_stored(item)))
        if len(self._pending) >= INSERT_BATCH:
            self._flush()

    def _spill(self) -> None:
        self._tempdir = tempfile.TemporaryDirectory(prefix="tonewatch-spool-", dir=self.directory)
        db = sqlite3.connect(Path(self._tempdir.name) / "fragments.sqlite")
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
        db.execute("PRAGMA temp_store = FILE")
        db.execute("PRAGMA cache_size = -16000")  # 16 MB page cache: bounded, not the archive
        db.execute("CREATE TABLE fragment (conversation TEXT, seq INTEGER, how TEXT, data BLOB)")
        self._db = db
        seq = 0
        for conversation_id, items in self._memory.items():
            for item in items:
                seq += 1
                self._pending.append((conversation_id, seq, *_stored(item)))
        self._memory.clear()
        self._flush()

    def _flush(self) -> None:
        assert self._db is not None
        with self._db:
            self._db.executemany("INSERT INTO fragment VALUES (?, ?, ?, ?)", self._pending)
        self._pending.clear()

    def groups(self) -> Iterator[list[Conversation]]:
        """Each conversation's fragments in reading order; conversations by first appearance."""
        if self._db is None:
            for conversation_id, items in self._memory.items():
                yield [
                    item if isinstance(item, Conversation) else rebuild(conversation_id, item)
                    for item in items
                ]
            return
        for conversation_id, entries in self.entries():
            yield [rebuild(conversation_id, entry) for entry in entries]

    def entries(self) -> Iterator[tuple[str, list[Entry]]]:
        """``groups()`` as stored: each conversation id with its fragments' entries, for
        ``rebuild`` (in another process)."""
        if self._db is None:
            for conversation_id, items in self._memory.items():
                yield conversation_id, [_stored(item) for item in items]
            return
        self._flush()
        db = self._db
        db.execute("CREATE INDEX fragment_by_conversation ON fragment (conversation, seq)")
        db.execute(
            "CREATE TABLE first AS SELECT conversation, MIN(seq) AS seq "
            "FROM fragment GROUP BY conversation"
        )
        rows = db.execute(
            "SELECT f.conversation, f.how, f.data FROM first JOIN fragment AS f "
            "ON f.conversation = first.conversation ORDER BY first.seq, f.seq"
        )
        current: str | None = None
        group: list[Entry] = []
        for conversation, how, data in rows:
            if conversation != current and group:
                yield current, group  # type: ignore[misc]
                group = []
            current = conversation
            group.append((how, data))
        if group:
            yield current, group  # type: ignore[misc]

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None
        self._memory.clear()


def _stored(item: Conversation | Entry) -> Entry:
    if isinstance(item, Conversation):
        # JSON, not pickle: pydantic's own JSON is ~5x faster both ways on these models.
        return None, item.model_dump_json()
    return item


def merge_fragments(fragments: Sequence[Conversation]) -> Conversation:
    """One Conversation from fragments sharing an id.

    Turns are sorted by timestamp, then by reading order (a turn without a timestamp takes
    the last one before it in its fragment, else the first after it). A turn read twice
    (the same message in two mailboxes: same id, same text) is kept once; distinct turns that
    share an id get ``~2``, ``~3`` suffixes so ids stay unique. ``source`` is the first
    fragment's; when fragments come from several files ``meta["sources"]`` lists them.
    """
    first = fragments[0]
    if len(fragments) == 1 and len(first.turns) <= 1:
        return first  # what the loop below finds too: most e-mail threads are one message
    keyed: list[tuple[tuple[int, datetime | int, int], Turn]] = []
    seen: dict[str, set[str]] = {}
    order = 0
    for fragment in fragments:
        for stamp, turn in zip(_effective_timestamps(fragment.turns), fragment.turns, strict=True):
            texts = seen.setdefault(turn.id, set())
            if turn.text in texts:
                continue
            if texts:
                turn = replace(turn, id=f"{turn.id}~{len(texts) + 1}")
            texts.add(turn.text)
            order += 1
            # Untimed turns of untimed fragments sort after timed ones, in reading order.
            keyed.append(((0, stamp, order) if stamp else (1, order, order), turn))
    keyed.sort(key=lambda item: item[0])
    turns = tuple(turn for _, turn in keyed)
    if len(fragments) == 1 and turns == first.turns:
        return first
    participants = tuple(dict.fromkeys(p for f in fragments for p in f.participants))
    meta = {}
    for fragment in reversed(fragments):  # the first fragment wins a key both have
        meta.update(fragment.meta)
    sources = list(dict.fromkeys(f.source.path for f in fragments))
    if len(sources) > 1:
        meta["sources"] = sources
    subject = next((f.subject for f in _by_time(fragments) if f.subject), None)
    return replace(
        first, participants=merge_people(participants), turns=turns, meta=meta, subject=subject
    )


def _effective_timestamps(turns: Sequence[Turn]) -> list[datetime | None]:
    stamps: list[datetime | None] = []
    last = None
    for turn in turns:
        last = turn.timestamp or last
        stamps.append(last)
    following = next((s for s in stamps if s is not None), None)
    return [s if s is not None else following for s in stamps]


def _by_time(fragments: Sequence[Conversation]) -> list[Conversation]:
    def start(fragment: Conversation) -> tuple[int, datetime | int]:
        stamps = [t.timestamp for t in fragment.turns if t.timestamp]
        return (0, min(stamps)) if stamps else (1, 0)

    return sorted(fragments, key=start)


def merge_people(participants: Sequence[Participant]) -> tuple[Participant, ...]:
    """One participant per address: a thread names its sender in every message."""
    merged: dict[str, Participant] = {}
    for person in participants:
        key = person.addresses[0] if person.addresses else f"name:{person.name or ''}"
        known = merged.get(key)
        if known is None:
            merged[key] = person
        elif not known.name and person.name:
            merged[key] = replace(known, name=person.name)
    return tuple(merged.values())
