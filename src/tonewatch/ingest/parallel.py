"""The ingest stage on several processes: parsing, language ID, merging and output encoding
run in worker processes; the parent keeps everything that depends on reading order.

Two phases, as in the one-process run (``pipeline.IngestRun``):

1. Reading. A large mbox is cut into runs of messages at its "From " lines
   (``mbox.mbox_spans``, streamed); workers parse each run, identify each message's language
   and encode the ``ParsedMessage`` (``ParsedMessage.to_bytes``), sending it with its
   envelope. The parent takes the runs back in file order and threads every message with the
   run's one ``ThreadIndex``, so thread ids are those of the one-process run whatever the
   number of workers; it spools the encoded message as it came. Other inputs are read in the
   parent, as before.
2. Finishing. Once everything is read, the spool's conversations go to the workers in
   batches; each merges its fragments, assigns roles (with the client index learnt in phase 1,
   shared through a file) and encodes the result for the writer (JSON text, a Parquet row).
   The parent writes the batches back in order.

At most ``AHEAD`` tasks per worker are in flight, so memory stays flat. Workers are spawned
(not forked: the parent may run threads, e.g. a progress bar) once per run.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice
from pathlib import Path
from typing import Any

from tonewatch.config import IngestConfig
from tonewatch.ingest.email import mbox_messages
from tonewatch.ingest.email_finish import finish_json
from tonewatch.ingest.email_message import Envelope, ParsedMessage
from tonewatch.ingest.langid import LangGuess, LanguageIdentifier
from tonewatch.ingest.mbox import Span
from tonewatch.ingest.merge import Entry, rebuild
from tonewatch.ingest.pipeline import Encode, Summary, finish_many, summary
from tonewatch.ingest.roles import ClientIndex, RoleAssigner
from tonewatch.io import to_json
from tonewatch.schema import QuarantineRecord

CHUNK_MESSAGES = 400  # messages per reading task: ~50 ms of work, small next to its IPC cost
BATCH_FRAGMENTS = 800  # fragments per finishing task
AHEAD = 3  # tasks in flight per worker: enough to keep them busy, bounded for memory
MIN_MBOX_BYTES = 8 << 20  # smaller mboxes are read in the parent: not worth the round trips
FULL_COLLECT_TASKS = 64  # tasks between full collections in a worker

Task = tuple[Callable[..., Any], tuple[Any, ...]]


def default_workers() -> int:
    """The CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class WorkerPool:
    """Worker processes for one run; ``close()`` ends them."""

    def __init__(self, workers: int, config: IngestConfig) -> None:
        self.workers = workers
        self._executor = ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(config,),
        )

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def _ordered(self, tasks: Iterable[Task]) -> Iterator[Any]:
        """The results of ``tasks`` in submission order, at most AHEAD per worker in flight."""
        pending: deque[Future[Any]] = deque()
        try:
            for function, args in tasks:
                pending.append(self._executor.submit(function, *args))
                if len(pending) >= AHEAD * self.workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:  # the consumer stopped early or a task failed: drop what is queued
            for future in pending:
                future.cancel()

    def read_mbox(
        self, path: Path, spans: Iterable[Span]
    ) -> Iterator[tuple[Envelope, bytes] | QuarantineRecord]:
        """The messages of an mbox in file order: each one's envelope and the
        ``ParsedMessage``, with its language, as bytes (``ParsedMessage.to_bytes``)."""
        tasks = (
            (_read_chunk, (str(path), first, chunk))
            for first, chunk in _chunks(spans, CHUNK_MESSAGES)
        )
        for items in self._ordered(tasks):
            for item in items:
                if isinstance(item, QuarantineRecord):
                    yield item
                else:
                    envelope, message = item
                    yield Envelope(*envelope), message

    def finish(
        self,
        groups: Iterable[tuple[str, list[Entry]]],
        index: ClientIndex,
        encode: Encode,
        scratch: str | Path | None,
    ) -> Iterator[tuple[Any, Summary] | QuarantineRecord]:
        """Each conversation of ``groups`` finished and encoded (or quarantined), in order."""
        fd, index_path = _dump_index(index, scratch)
        try:
            tasks = ((_finish_batch, (index_path, batch, encode)) for batch in _batches(groups))
            for results in self._ordered(tasks):
                yield from results
        finally:
            os.close(fd)
            os.unlink(index_path)


def _chunks(spans: Iterable[Span], size: int) -> Iterator[tuple[int, list[Span]]]:
    """Runs of ``size`` spans with the 1-based number of each run's first message."""
    iterator = iter(spans)
    first = 1
    while chunk := list(islice(iterator, size)):
        yield first, chunk
        first += len(chunk)


def _batches(groups: Iterable[tuple[str, list[Entry]]]) -> Iterator[list[tuple[str, list[Entry]]]]:
    batch: list[tuple[str, list[Entry]]] = []
    fragments = 0
    for group in groups:
        batch.append(group)
        fragments += len(group[1])
        if fragments >= BATCH_FRAGMENTS:
            yield batch
            batch, fragments = [], 0
    if batch:
        yield batch


def _dump_index(index: ClientIndex, scratch: str | Path | None) -> tuple[int, str]:
    """The client index in a temporary file, which each worker loads once."""
    fd, name = tempfile.mkstemp(prefix="tonewatch-clients-", suffix=".pickle", dir=scratch)
    with open(fd, "wb", closefd=False) as handle:
        pickle.dump(index, handle, pickle.HIGHEST_PROTOCOL)
    return fd, name


# -- in the worker processes -------------------------------------------------------------------

_config: IngestConfig | None = None
_langid: LanguageIdentifier | None = None
_roles: tuple[str, RoleAssigner] | None = None  # (index file, assigner with that index)
_tasks = 0  # tasks run by this worker


def _start_worker(config: IngestConfig) -> None:
    global _config, _langid
    _config = config
    _langid = LanguageIdentifier.from_config(config)
    _langid("warm up")  # loads the fastText model now, not inside the first task
    # What is loaded now lives as long as the worker: the collector need not scan it again
    # and again (the modules, the schemas). A task's objects seldom form cycles (the stdlib
    # parser's, for a multipart message) and die with it; the automatic collections, run
    # every few thousand allocations, kept scanning a finishing batch's live models (a sixth
    # of that task's time). So the worker collects after each task instead (``_collect``).
    gc.freeze()
    gc.disable()


def _collect() -> None:
    """After a task: its cyclic garbage (all of it young: nothing collected since it
    started), and now and then everything, for cycles that outlived a task."""
    global _tasks
    _tasks += 1
    gc.collect(2 if _tasks % FULL_COLLECT_TASKS == 0 else 0)


def _read_chunk(
    path: str, first: int, spans: list[Span]
) -> list[tuple[tuple[Any, ...], bytes] | QuarantineRecord]:
    try:
        return _read(path, first, spans)
    finally:
        _collect()


def _read(
    path: str, first: int, spans: list[Span]
) -> list[tuple[tuple[Any, ...], bytes] | QuarantineRecord]:
    assert _config is not None and _langid is not None
    items = list(mbox_messages(Path(path), spans, first, _config))
    # Languages once all is parsed, not message by message: the model's tables then stay in
    # the CPU caches from one call to the next (calls between parses take 1.5x the time).
    guesses = [_langid(m.text) if isinstance(m, ParsedMessage) else None for m in items]
    return [
        item if guess is None or isinstance(item, QuarantineRecord) else _pickled(item, guess)
        for item, guess in zip(items, guesses, strict=True)
    ]


def _pickled(message: ParsedMessage, guess: LangGuess) -> tuple[tuple[Any, ...], bytes]:
    """The envelope as a plain tuple (a named tuple pickles by class name, field by field)
    and the message as bytes (``ParsedMessage.to_bytes``)."""
    message = ParsedMessage(*message[:6], guess.lang, guess.confidence)  # _replace, cheaper
    return tuple(message.envelope), message.to_bytes()


def _finish_batch(
    index_path: str, batch: list[tuple[str, list[Entry]]], encode: Encode
) -> list[tuple[Any, Summary] | QuarantineRecord]:
    try:
        return _finish(index_path, batch, encode)
    finally:
        _collect()


def _finish(
    index_path: str, batch: list[tuple[str, list[Entry]]], encode: Encode
) -> list[tuple[Any, Summary] | QuarantineRecord]:
    global _roles
    assert _config is not None and _langid is not None
    if _roles is None or _roles[0] != index_path:
        with open(index_path, "rb") as handle:
            index = pickle.load(handle)  # noqa: S301 - written by the parent of this worker
        _roles = (index_path, RoleAssigner.from_config(_config, index))
    assigner = _roles[1]
    results: list[tuple[Any, Summary] | QuarantineRecord | None] = [None] * len(batch)
    if encode is to_json:  # e-mail threads straight to JSON, without models (email_finish)
        for number, (conversation_id, entries) in enumerate(batch):
            try:
                results[number] = finish_json(conversation_id, entries, assigner)
            except Exception:  # noqa: BLE001 - the general way below quarantines it, if it must
                results[number] = None
    rest = [number for number, result in enumerate(results) if result is None]
    groups = [[rebuild(batch[n][0], entry) for entry in batch[n][1]] for n in rest]
    # Messages parsed here had their language identified in _read (how is not None): the
    # second call would only repeat it for those found "und".
    identified = [all(how is not None for how, _ in batch[n][1]) for n in rest]
    for number, result in zip(
        rest, finish_many(groups, assigner, _langid, identified), strict=True
    ):
        results[number] = (
            result if isinstance(result, QuarantineRecord) else (encode(result), summary(result))
        )
    return results  # type: ignore[return-value]  # every slot is filled
