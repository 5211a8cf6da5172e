"""``tonewatch report``: ingest -> classify -> aggregate -> write, or stored results -> write.

The plain function behind the command (the CLI module only parses options).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from tonewatch.aggregate import Aggregator
from tonewatch.config import Config
from tonewatch.report.stored import ResultJoin, is_conversations_file, join_results, read_results
from tonewatch.report.writers import ReportFiles, write_report
from tonewatch.schema import Conversation, QuarantineRecord, Role, TurnResult

Pair = tuple[Conversation, list[TurnResult]]
STAFF_FILE = "staff.toml"  # read on its own when it sits at the top of a folder given


@dataclass(frozen=True, slots=True)
class ReportRun:
    files: ReportFiles
    clients: int
    conversations: int
    client_turns: int
    unscored_turns: int
    quarantined: int
    unmatched_results: int
    model: str
    seconds: float


def find_staff_file(paths: Sequence[Path]) -> Path | None:
    """``staff.toml`` at the top of the first folder given that has one."""
    return next((p / STAFF_FILE for p in paths if (p / STAFF_FILE).is_file()), None)


def conversations_from(
    paths: Sequence[Path],
    config: Config,
    quarantine: list[QuarantineRecord],
    skip: Path | None = None,
) -> Iterator[Conversation]:
    """Conversations of ``paths``: ``tonewatch ingest`` output is read as it is, anything
    else goes through ingest (readers chosen by content, roles and client keys assigned).
    ``skip`` (the staff file) is not an input and is not reported as unreadable."""
    from tonewatch.io import read_conversations

    stored = [p for p in paths if is_conversations_file(p)]
    raw = [p for p in paths if p not in stored]
    for path in stored:
        yield from read_conversations(path)
    if raw:
        from tonewatch.ingest.pipeline import ingest_paths

        def on_quarantine(record: QuarantineRecord) -> None:
            if skip is None or Path(record.location.path).resolve() != skip.resolve():
                quarantine.append(record)

        yield from ingest_paths(raw, config.ingest, on_quarantine=on_quarantine)


def _scored(
    conversations: Iterable[Conversation], classifier: Any, batch_turns: int
) -> Iterator[Pair]:
    """Classify client turns in batches spanning conversations (the encoder is faster on
    full batches than on one short conversation at a time)."""
    chunk: list[Conversation] = []
    pending = 0
    for conversation in conversations:
        chunk.append(conversation)
        pending += sum(t.role == Role.client for t in conversation.turns)
        if pending >= batch_turns:
            yield from _classify_chunk(chunk, classifier)
            chunk, pending = [], 0
    if chunk:
        yield from _classify_chunk(chunk, classifier)


def _classify_chunk(chunk: list[Conversation], classifier: Any) -> Iterator[Pair]:
    turns = [t for c in chunk for t in c.turns if t.role == Role.client]
    results = iter(classifier.predict(turns) if turns else [])
    for conversation in chunk:
        n = sum(t.role == Role.client for t in conversation.turns)
        yield conversation, [next(results) for _ in range(n)]


def run_report(
    paths: Sequence[str | Path],
    out_dir: str | Path,
    config: Config,
    *,
    model: str | None = None,
    staff: str | Path | None = None,
    from_results: str | Path | None = None,
    as_of: datetime | None = None,
    progress: Callable[[Iterable[Pair]], Iterable[Pair]] = lambda pairs: pairs,
) -> ReportRun:
    """Build the report of ``paths`` into ``out_dir``.

    paths: archives (files or folders) or ``tonewatch ingest`` output files.
    config: the loaded configuration (``[ingest]``, ``[classify]``, ``[aggregate]``).
    model: model directory or name (default ``[classify] model``); unused with from_results.
    staff: a staff TOML file whose ``[ingest]`` staff lists are added to the config's;
        default: ``staff.toml`` at the top of a folder in ``paths``, if there is one.
    from_results: stored turn results (classify JSONL or batch Parquet): no rescoring.
    as_of: the moment open silences are measured to (default: latest timestamp seen).
    progress: wraps the stream of (conversation, results) pairs, e.g. with a progress bar.
    RETURNS: what was written and counted.
    """
    started = time.perf_counter()
    sources = [Path(p) for p in paths]
    staff = Path(staff) if staff is not None else find_staff_file(sources)
    if staff is not None:
        from tonewatch.ingest.roles import with_staff

        config = config.model_copy(update={"ingest": with_staff(config.ingest, staff)})
    quarantine: list[QuarantineRecord] = []
    if from_results is not None:
        aggregator, unmatched = _from_results(
            sources, Path(from_results), config, quarantine, as_of, progress, staff
        )
        model_id = ", ".join(aggregator.models) or "unknown"
    else:
        from tonewatch.classify.api import load_model

        classifier = load_model(model, config=config.classify)
        aggregator = Aggregator(config.aggregate, as_of=as_of)
        conversations = conversations_from(sources, config, quarantine, skip=staff)
        for conversation, results in progress(
            _scored(conversations, classifier, 4 * config.classify.batch_size)
        ):
            aggregator.add(conversation, results)
        unmatched, model_id = 0, classifier.model_id
    details = aggregator.details()
    files = write_report(
        details,
        out_dir,
        model=model_id,
        conversations=aggregator.conversations,
        quarantined=quarantine,
    )
    return ReportRun(
        files=files,
        clients=len(details),
        conversations=aggregator.conversations,
        client_turns=sum(d.client_turns for d in details),
        unscored_turns=sum(d.unscored_turns for d in details),
        quarantined=len(quarantine),
        unmatched_results=unmatched,
        model=model_id,
        seconds=time.perf_counter() - started,
    )


def _from_results(
    sources: list[Path],
    results: Path,
    config: Config,
    quarantine: list[QuarantineRecord],
    as_of: datetime | None,
    progress: Callable[[Iterable[Pair]], Iterable[Pair]],
    staff: Path | None,
) -> tuple[Aggregator, int]:
    """Aggregate stored results, streaming; if the two files turn out not to be in the same
    order, once more with an index of all results (any order; memory grows with them)."""

    def one_pass(ordered: bool) -> tuple[Aggregator, ResultJoin, int]:
        aggregator = Aggregator(config.aggregate, as_of=as_of)
        join = ResultJoin(read_results(results), ordered=ordered)
        quarantine.clear()
        conversations = conversations_from(sources, config, quarantine, skip=staff)
        pairs = join_results(conversations, join)
        for conversation, found in progress(pairs):
            aggregator.add(conversation, found)
        return aggregator, join, join.unmatched()

    aggregator, join, unmatched = one_pass(ordered=True)
    if join.missing and unmatched:
        aggregator, join, unmatched = one_pass(ordered=False)
    return aggregator, unmatched
