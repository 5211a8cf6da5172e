"""The ingest stage: paths -> Conversations with roles, client keys and languages.

    for conversation in ingest_paths(["exports/"], config.ingest, on_quarantine=print):
        ...

1. ``sniff.discover`` lists the inputs (files, Maildir folders) under the paths;
2. ``sniff.choose_reader`` picks the reader whose sniff score on the first 8 KiB is highest;
3. the reader streams fragments; each is spooled (``merge.FragmentSpool``: memory, then disk)
   and its participants teach the ``ClientIndex`` which names go with which addresses;
4. once every input is read, the fragments of each conversation id are merged
   (``merge.merge_fragments``), then ``RoleAssigner`` and ``LanguageIdentifier`` label them.

Conversations come out only after step 3 ends, because a thread's messages may be anywhere in
the inputs. With ``workers`` > 1, large mboxes are parsed and the conversations finished in
worker processes (``parallel``), with the same results. Nothing that goes wrong in one input
stops the run: the reader's own quarantine records, files no reader claims, empty files and a
reader that crashes all become ``QuarantineRecord``s passed to ``on_quarantine`` (codes I2xx
here; readers use I0xx/I1xx).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tonewatch.config import IngestConfig
from tonewatch.errors import IngestError
from tonewatch.ingest import load_readers
from tonewatch.ingest.base import SNIFF_BYTES, Reader
from tonewatch.ingest.langid import LanguageIdentifier
from tonewatch.ingest.merge import FragmentSpool, merge_fragments
from tonewatch.ingest.roles import RoleAssigner
from tonewatch.ingest.sniff import choose_reader, describe_head, discover, read_head
from tonewatch.ingest.threads import ThreadIndex
from tonewatch.io import Format, open_writer, to_json
from tonewatch.schema import Conversation, Location, QuarantineRecord

if TYPE_CHECKING:
    from tonewatch.ingest.parallel import WorkerPool

UNKNOWN_FORMAT = "I201"  # no reader recognises the file
EMPTY_FILE = "I202"  # a file without a byte
UNREADABLE = "I203"  # missing, or cannot be opened (permissions); shared with sniff.NOT_FOUND
READER_FAILED = "I204"  # a reader raised instead of quarantining
BAD_ITEM = "I205"  # a reader yielded something that is not a Conversation/QuarantineRecord
MERGE_FAILED = "I206"  # a conversation's fragments could not be merged or labelled

QuarantineCallback = Callable[[QuarantineRecord], None]
ProgressCallback = Callable[["IngestStats", Path | None], None]
Encode = Callable[[Conversation], Any]
Summary = tuple[int, list[str], list[str]]  # turns, their languages, their roles
PROGRESS_EVERY = 500  # fragments between progress calls
FINISH_BATCH = 200  # conversations finished together (see finish_many)
MBOX_READER = "tonewatch.mbox.v1"


@dataclass
class IngestStats:
    """What a run has read so far (``IngestRun.stats``)."""

    inputs: int = 0  # files and Maildir folders looked at
    read: int = 0  # inputs a reader read
    fragments: int = 0
    conversations: int = 0
    turns: int = 0
    quarantined: int = 0
    readers: Counter[str] = field(default_factory=Counter)
    languages: Counter[str] = field(default_factory=Counter)
    roles: Counter[str] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)

    def add_conversation(self, turns: int, languages: list[str], roles: list[str]) -> None:
        self.conversations += 1
        self.turns += turns
        self.languages.update(languages)
        self.roles.update(roles)


class IngestRun:
    """One ingest run; call it with paths to stream the conversations.

    config: the ``[ingest]`` section (staff, languages, limits).
    on_quarantine: receives each QuarantineRecord (default: they are only counted).
    on_progress: called with the stats while inputs are read (every file, and every
        PROGRESS_EVERY fragments), with the path being read.
    spool_dir / memory_fragments: see ``FragmentSpool``.
    workers: processes to use; above 1, large mboxes are parsed and conversations finished in
        that many worker processes (``parallel``), with the same results.
    """

    def __init__(
        self,
        config: IngestConfig,
        *,
        on_quarantine: QuarantineCallback | None = None,
        on_progress: ProgressCallback | None = None,
        spool_dir: str | Path | None = None,
        memory_fragments: int = 5000,
        workers: int = 1,
    ) -> None:
        self.config = config
        self.on_quarantine = on_quarantine
        self.on_progress = on_progress
        self.spool_dir = spool_dir
        self.memory_fragments = memory_fragments
        self.workers = workers
        self.readers: list[Reader] = _share_thread_index(load_readers())
        self.roles = RoleAssigner.from_config(config)
        self.langid = LanguageIdentifier.from_config(config)
        self.stats = IngestStats()
        self._pool: WorkerPool | None = None

    def __call__(self, paths: Iterable[str | Path]) -> Iterator[Conversation]:
        return self.run(paths, None)

    def run(self, paths: Iterable[str | Path], encode: Encode | None) -> Iterator[Any]:
        """The conversations of ``paths``, each passed through ``encode`` (a picklable
        function: with workers it runs in them), or as they are when ``encode`` is None."""
        spool = FragmentSpool(self.spool_dir, self.memory_fragments)
        try:
            for found in discover(paths):
                if isinstance(found, QuarantineRecord):
                    self._quarantine(found)
                    continue
                self.stats.inputs += 1
                if self.workers > 1:
                    self._read_with_workers(found, spool)
                else:
                    self._spool(self.read_input(found), spool, found)
                if self.on_progress:
                    self.on_progress(self.stats, found)
            if self.workers > 1 and spool.on_disk:
                yield from self._finish_with_workers(spool, encode)
                return
            for batch in _batched(spool.groups(), FINISH_BATCH):
                for result in finish_many(batch, self.roles, self.langid):
                    if isinstance(result, QuarantineRecord):
                        self._quarantine(result)
                        continue
                    self.stats.add_conversation(*summary(result))
                    yield result if encode is None else encode(result)
        finally:
            if self._pool is not None:
                self._pool.close()
                self._pool = None
            spool.close()

    def _spool(self, fragments: Iterable[Conversation], spool: FragmentSpool, path: Path) -> None:
        for fragment in fragments:
            self.roles.observe(fragment)
            spool.add(fragment)
            self._counted(path)

    def _counted(self, path: Path) -> None:
        self.stats.fragments += 1
        if self.on_progress and self.stats.fragments % PROGRESS_EVERY == 0:
            self.on_progress(self.stats, path)

    def read_input(self, path: Path) -> Iterator[Conversation]:
        """The fragments one reader yields for ``path``; everything else is quarantined."""
        reader = self._choose(path)
        if reader is not None:
            yield from self._guarded(reader, path)

    def _choose(self, path: Path) -> Reader | None:
        try:
            head = read_head(path, SNIFF_BYTES)
        except OSError as exc:
            self._quarantine(_record(path, UNREADABLE, f"cannot open: {exc.strerror or exc}"))
            return None
        if not head and path.is_file():
            self._quarantine(_record(path, EMPTY_FILE, "empty file: nothing to read"))
            return None
        reader, _score = choose_reader(path, head, self.readers)
        if reader is None:
            self._quarantine(
                _record(
                    path,
                    UNKNOWN_FORMAT,
                    f"unknown format: no reader recognises {describe_head(head)}; expected "
                    "email (mbox, .eml, Maildir), chat (JSON, JSONL, CSV, WhatsApp .txt) or a "
                    "transcript (WebVTT, SRT, speaker text, ASR JSON)",
                )
            )
            return None
        self.stats.read += 1
        self.stats.readers[reader.name] += 1
        return reader

    def _read_with_workers(self, path: Path, spool: FragmentSpool) -> None:
        """Read one input; a large mbox is parsed by the workers and threaded here, in file
        order, with the index the email readers share (so thread ids do not change)."""
        from tonewatch.ingest.email import check_mbox
        from tonewatch.ingest.mbox import mbox_spans
        from tonewatch.ingest.parallel import MIN_MBOX_BYTES

        reader = self._choose(path)
        if reader is None:
            return
        if reader.name != MBOX_READER or path.stat().st_size < MIN_MBOX_BYTES:
            self._spool(self._guarded(reader, path), spool, path)
            return
        problem = check_mbox(path)
        if problem is not None:
            self._quarantine(problem)
            return
        threads: ThreadIndex = reader.threads  # type: ignore[attr-defined]
        items = 0
        try:
            for item in self._workers().read_mbox(path, mbox_spans(path)):
                items += 1
                if isinstance(item, QuarantineRecord):
                    self._quarantine(item)
                    continue
                envelope, message = item
                people = envelope.participants()
                thread, how = envelope.thread(threads, people)
                self.roles.observe_people(people)
                spool.add_message(thread, how, message)
                self._counted(path)
        except Exception as exc:  # as _guarded: a failure ends this input, not the run
            self._quarantine(_reader_failed(path, reader, items, exc))

    def _finish_with_workers(self, spool: FragmentSpool, encode: Encode | None) -> Iterator[Any]:
        results = self._workers().finish(
            spool.entries(), self.roles.index, encode or to_json, self.spool_dir
        )
        for result in results:
            if isinstance(result, QuarantineRecord):
                self._quarantine(result)
                continue
            payload, counts = result
            self.stats.add_conversation(*counts)
            yield payload if encode else Conversation.model_validate_json(payload)

    def _workers(self) -> WorkerPool:
        if self._pool is None:
            from tonewatch.ingest.parallel import WorkerPool

            self._pool = WorkerPool(self.workers, self.config)
        return self._pool

    def _guarded(self, reader: Reader, path: Path) -> Iterator[Conversation]:
        items = 0
        try:
            for item in reader.read(path, self.config):
                items += 1
                if isinstance(item, Conversation):
                    yield item
                elif isinstance(item, QuarantineRecord):
                    self._quarantine(item)
                else:
                    self._quarantine(
                        _record(
                            path,
                            BAD_ITEM,
                            f"reader {reader.name} yielded a {type(item).__name__} "
                            "(expected Conversation or QuarantineRecord); item skipped",
                        )
                    )
        except IngestError as exc:
            self._quarantine(
                QuarantineRecord(location=exc.location, code=exc.code, message=exc.detail)
            )
        except Exception as exc:  # a reader bug must not end the run; say where it happened
            self._quarantine(_reader_failed(path, reader, items, exc))

    def _quarantine(self, record: QuarantineRecord) -> None:
        self.stats.quarantined += 1
        self.stats.codes[record.code] += 1
        if self.on_quarantine is not None:
            self.on_quarantine(record)


def _share_thread_index(readers: list[Reader]) -> list[Reader]:
    """Give the email readers one ``ThreadIndex`` for the run, so a reply in a Maildir finds
    the thread of its root read from an mbox (each reader instance has its own otherwise)."""
    shared = ThreadIndex()
    for reader in readers:
        if isinstance(getattr(reader, "threads", None), ThreadIndex):
            reader.threads = shared  # type: ignore[attr-defined]
    return readers


def finish_many(
    groups: Iterable[list[Conversation]],
    roles: RoleAssigner,
    langid: LanguageIdentifier,
    identified: Sequence[bool] | None = None,
) -> list[Conversation | QuarantineRecord]:
    """Each conversation's fragments merged, with roles, client key and languages (or the
    record of why not). Languages come last, for all the conversations in a row: the model's
    tables then stay in the CPU caches from one call to the next. ``identified``: per group,
    whether every turn's language was identified already (by a worker, as it parsed the
    message): a turn it found ``und`` would get ``und`` again."""
    labelled: list[tuple[list[Conversation], Conversation | Exception]] = []
    for fragments in groups:
        try:
            labelled.append((fragments, roles(merge_fragments(fragments))))
        except Exception as exc:  # noqa: BLE001 - quarantined below, the run goes on
            labelled.append((fragments, exc))
    results: list[Conversation | QuarantineRecord] = []
    for number, (fragments, conversation) in enumerate(labelled):
        try:
            if isinstance(conversation, Exception):
                raise conversation
            done = identified is not None and identified[number]
            results.append(conversation if done else langid.annotate(conversation))
        except Exception as exc:  # noqa: BLE001
            results.append(merge_failed(fragments, exc))
    return results


def _batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def summary(conversation: Conversation) -> Summary:
    """What ``IngestStats.add_conversation`` counts of a conversation."""
    turns = conversation.turns
    return len(turns), [t.lang for t in turns], [t.role.value for t in turns]


def merge_failed(fragments: list[Conversation], exc: Exception) -> QuarantineRecord:
    first = fragments[0]
    return QuarantineRecord(
        location=first.source,
        code=MERGE_FAILED,
        message=f"conversation {first.id!r} ({len(fragments)} fragment(s)) could "
        f"not be merged ({type(exc).__name__}: {exc})",
    )


def _reader_failed(path: Path, reader: Reader, items: int, exc: Exception) -> QuarantineRecord:
    return _record(
        path,
        READER_FAILED,
        f"reader {reader.name} failed after {items} item(s) "
        f"({type(exc).__name__}: {exc}); the rest of this file is not read",
    )


def _record(path: Path, code: str, message: str) -> QuarantineRecord:
    return QuarantineRecord(location=Location(path=str(path)), code=code, message=message)


def ingest_paths(
    paths: Iterable[str | Path],
    config: IngestConfig,
    *,
    on_quarantine: QuarantineCallback | None = None,
) -> Iterator[Conversation]:
    """Stream the conversations found under ``paths`` (files, folders, Maildirs).

    paths: files or folders, walked recursively.
    config: the ``[ingest]`` config section.
    on_quarantine: receives a QuarantineRecord for each part that could not be read.
    RETURNS: merged Conversations with roles, client keys and per-turn languages.
    """
    return IngestRun(config, on_quarantine=on_quarantine)(paths)


def ingest_file(
    path: str | Path,
    config: IngestConfig,
    *,
    on_quarantine: QuarantineCallback | None = None,
) -> Iterator[Conversation]:
    """``ingest_paths`` for a single file (or Maildir folder)."""
    return ingest_paths([path], config, on_quarantine=on_quarantine)


@dataclass
class IngestResult:
    """What ``ingest_to_file`` did: the stats, where it wrote, the first quarantine records."""

    stats: IngestStats
    output: Path
    quarantine: Path
    first_quarantined: list[QuarantineRecord]


def ingest_to_file(
    paths: Iterable[str | Path],
    output: str | Path,
    config: IngestConfig,
    *,
    format: Format | None = None,
    quarantine: str | Path | None = None,
    keep_quarantined: int = 20,
    on_progress: ProgressCallback | None = None,
    on_conversation: Callable[[IngestStats], None] | None = None,
    workers: int = 1,
) -> IngestResult:
    """Ingest ``paths`` into ``output`` (JSON Lines or Parquet) and the quarantine records
    into ``quarantine`` (JSON Lines; default ``<output stem>.quarantine.jsonl``).

    on_conversation: called with the stats after each conversation is written.
    workers: processes to use (``IngestRun``); the output is the same for any number.
    The output is written to ``<output>.partial`` and renamed at the end, so an interrupted
    run leaves no half file. Raises OSError when the output cannot be written.
    """
    output = Path(output)
    quarantine = Path(quarantine) if quarantine else output.with_suffix(".quarantine.jsonl")
    first: list[QuarantineRecord] = []
    with open_writer(output, format) as writer, quarantine.open("w", encoding="utf-8") as bad:

        def on_quarantine(record: QuarantineRecord) -> None:
            bad.write(record.model_dump_json() + "\n")
            if len(first) < keep_quarantined:
                first.append(record)

        run = IngestRun(
            config, on_quarantine=on_quarantine, on_progress=on_progress, workers=workers
        )
        for encoded in run.run(paths, writer.encode):
            writer.write_encoded(encoded)
            if on_conversation is not None:
                on_conversation(run.stats)
    return IngestResult(run.stats, output, quarantine, first)
