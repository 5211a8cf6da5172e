"""What ``tonewatch load`` reads: scored conversations, from whichever form they are in.

    archives (mbox, .eml, Maildir, chat exports, transcripts)  ingest + classify on the fly
    ``tonewatch ingest`` output (JSONL / Parquet)               classify on the fly
    ingest output + ``--results`` (classify JSONL / Parquet)    joined by turn id
    a ``tonewatch score`` output folder                         read back, no rescoring

Only client turns are classified, as in ``tonewatch report``: staff turns are stored and
shown but never flagged. Inputs that cannot be read are quarantined, never fatal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from tonewatch.config import Config
from tonewatch.schema import Conversation, QuarantineRecord, Role, TurnResult
from tonewatch.serve.store import LoadStats, load_pairs, recompute_clients, record_load

Pair = tuple[Conversation, list[TurnResult]]
Progress = Callable[[Iterable[Pair]], Iterable[Pair]]


@dataclass
class LoadRun:
    stats: LoadStats
    clients: int
    missing_results: int  # client turns stored without a result
    model: str


def classified(
    conversations: Iterable[Conversation],
    classifier,
    batch_turns: int,  # noqa: ANN001
) -> Iterator[Pair]:
    """Classify the client turns of ``conversations`` in batches spanning conversations."""
    chunk: list[Conversation] = []
    pending = 0
    for conversation in conversations:
        chunk.append(conversation)
        pending += sum(t.role == Role.client for t in conversation.turns)
        if pending >= batch_turns:
            yield from _classify(chunk, classifier)
            chunk, pending = [], 0
    if chunk:
        yield from _classify(chunk, classifier)


def _classify(chunk: list[Conversation], classifier) -> Iterator[Pair]:  # noqa: ANN001
    turns = [t for c in chunk for t in c.turns if t.role == Role.client]
    results = iter(classifier.predict(turns) if turns else [])
    for conversation in chunk:
        n = sum(t.role == Role.client for t in conversation.turns)
        yield conversation, [next(results) for _ in range(n)]


def batch_pairs(folder: Path) -> Iterator[Pair]:
    """The conversations of a ``tonewatch score`` folder with their results, a thread cut
    across chunks merged into one conversation as ingest merges a thread's fragments."""
    from tonewatch.batch.output import read_scored

    return read_scored(folder, merge_threads=True)


def load_paths(
    session: Session,
    paths: Sequence[str | Path],
    config: Config,
    *,
    results: str | Path | None = None,
    model: str | None = None,
    staff: str | Path | None = None,
    progress: Progress = lambda pairs: pairs,
) -> LoadRun:
    """Load ``paths`` into the store, then re-rank every client.

    paths: archives, ``tonewatch ingest`` output files or ``tonewatch score`` folders.
    results: stored turn results for them (``tonewatch classify`` JSONL or batch Parquet);
        without it the client turns are classified now with ``model``.
    staff: a staff TOML (``[ingest]`` staff lists) for archives; default: ``staff.toml`` at
        the top of a folder in ``paths``, if there is one.
    RETURNS: counts of what was added, updated, left unchanged and quarantined.
    """
    from tonewatch.batch.output import is_output_folder
    from tonewatch.report.pipeline import conversations_from, find_staff_file

    sources = [Path(p) for p in paths]
    scored = [p for p in sources if is_output_folder(p)]
    stats = LoadStats()
    if scored:
        pairs = (pair for folder in scored for pair in batch_pairs(folder))
        stats = load_pairs(session, progress(pairs))
        sources = [p for p in sources if p not in scored]
    if not sources:
        clients = _rank(session, config, stats)
        record_load(session, [str(p) for p in scored], stats)
        return LoadRun(stats, clients, 0, ", ".join(sorted(stats.models)) or "unknown")
    staff = Path(staff) if staff is not None else find_staff_file(sources)
    if staff is not None:
        from tonewatch.ingest.roles import with_staff

        config = config.model_copy(update={"ingest": with_staff(config.ingest, staff)})
    quarantine: list[QuarantineRecord] = []
    missing = 0
    if results is not None:
        found, missing = _load_with_results(session, sources, Path(results), config, quarantine,
                                            progress, staff)  # fmt: skip
        stats = _add(stats, found)
        model_id = ", ".join(sorted(stats.models)) or "unknown"
    else:
        from tonewatch.classify.api import load_model

        classifier = load_model(model, config=config.classify)
        conversations = conversations_from(sources, config, quarantine, skip=staff)
        pairs = classified(conversations, classifier, 4 * config.classify.batch_size)
        stats = _add(stats, load_pairs(session, progress(pairs)))
        model_id = ", ".join(sorted({classifier.model_id, *stats.models}))
    stats.quarantine = quarantine + stats.quarantine
    clients = _rank(session, config, stats)
    record_load(session, [str(p) for p in scored + sources], stats)
    return LoadRun(stats, clients, missing, model_id)


def _rank(session: Session, config: Config, stats: LoadStats) -> int:
    """Re-rank every client, unless the load changed nothing (then the ranking stands)."""
    from sqlalchemy import func, select

    from tonewatch.serve.store.models import Client

    if not stats.added and not stats.updated:
        unranked = select(func.count(Client.id)).where(Client.computed_at.is_(None))
        if not session.scalar(unranked):
            return session.scalar(select(func.count(Client.id))) or 0
    return recompute_clients(session, config.aggregate)


def _add(total: LoadStats, more: LoadStats) -> LoadStats:
    total.added += more.added
    total.updated += more.updated
    total.unchanged += more.unchanged
    total.turns += more.turns
    total.flags += more.flags
    total.models |= more.models
    total.quarantine += more.quarantine
    return total


def _load_with_results(
    session: Session,
    sources: list[Path],
    results: Path,
    config: Config,
    quarantine: list[QuarantineRecord],
    progress: Progress,
    staff: Path | None,
) -> tuple[LoadStats, int]:
    """Join in one streaming pass; if the files turn out not to be in the same order, once
    more with every result indexed. Loading is idempotent, so the second pass only fills in
    the conversations the first stored without their results."""
    from tonewatch.report.pipeline import conversations_from
    from tonewatch.report.stored import ResultJoin, join_results, read_results

    join = ResultJoin(read_results(results), ordered=True)
    pairs = join_results(conversations_from(sources, config, quarantine, skip=staff), join)
    stats = load_pairs(session, progress(pairs))
    if join.missing and join.unmatched():
        quarantine.clear()
        join = ResultJoin(read_results(results), ordered=False)
        pairs = join_results(conversations_from(sources, config, quarantine, skip=staff), join)
        load_pairs(session, progress(pairs))
    return stats, join.missing
