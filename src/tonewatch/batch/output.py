"""Reading a ``tonewatch score`` output folder back: turn results, or whole conversations.

    for conversation, results in read_scored("scored/"):   # no rescoring, no re-ingest
        aggregator.add(conversation, results)

Chunks are read in input order (each archive from its first message on), whatever order the
workers finished them in, so results come in the order ingest reads the archives. Any Parquet
tool reads the folder too: ``pyarrow.dataset.dataset("scored/chunks")``, DuckDB
``read_parquet('scored/chunks/*.parquet')``, ``pandas.read_parquet("scored/chunks")``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

from tonewatch.batch.rows import result_from_row, scored_conversations
from tonewatch.batch.sink import CHUNKS, MANIFEST, SETTINGS, Manifest, chunk_path
from tonewatch.config import IngestConfig
from tonewatch.errors import DataError
from tonewatch.ingest.merge import merge_fragments
from tonewatch.ingest.roles import RoleAssigner
from tonewatch.schema import Conversation, Participant, TurnResult

BATCH_ROWS = 4096


def is_output_folder(path: str | Path) -> bool:
    """Whether ``path`` is a ``tonewatch score`` output folder."""
    path = Path(path)
    return (path / CHUNKS).is_dir() and (path / MANIFEST).is_file()


def chunk_files(outdir: str | Path) -> list[Path]:
    """The committed chunk files of a folder, in input order (archive, then position)."""
    outdir = Path(outdir)
    if not is_output_folder(outdir):
        raise DataError(
            f"{outdir}: not a `tonewatch score` output folder (expected {CHUNKS}/ and {MANIFEST})"
        )
    entries = Manifest(outdir).entries().values()
    ordered = sorted(entries, key=lambda e: (e["source"], e["kind"], e["start"]))
    return [chunk_path(outdir, entry["key"]) for entry in ordered]


def _batches(outdir: str | Path) -> Iterator[object]:
    import pyarrow.parquet as pq

    for path in chunk_files(outdir):
        try:
            parquet = pq.ParquetFile(path)
        except Exception as exc:  # pyarrow raises several types for a damaged file
            raise DataError(f"{path}: unreadable chunk ({exc}); delete it and rerun") from exc
        yield from parquet.iter_batches(batch_size=BATCH_ROWS)


def read_turn_results(outdir: str | Path) -> Iterator[TurnResult]:
    """Every turn's TurnResult, in input order."""
    for batch in _batches(outdir):
        for row in batch.to_pylist():  # type: ignore[attr-defined]
            yield result_from_row(row)


def linked_roles(outdir: str | Path) -> RoleAssigner:
    """A ``RoleAssigner`` that has seen every participant of the folder, as ingest's has seen
    every participant of its run: a client named in a call transcript gets the e-mail address
    seen with that name in another chunk as client key."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    settings = json.loads((Path(outdir) / SETTINGS).read_text(encoding="utf-8"))
    assigner = RoleAssigner.from_config(IngestConfig.model_validate(settings["ingest"]))
    for path in chunk_files(outdir):
        column = pq.read_table(path, columns=["participants"]).column("participants")
        for value in pc.unique(column).to_pylist():
            people = tuple(Participant.model_validate(p) for p in json.loads(value))
            assigner.observe(Conversation.model_construct(participants=people))
    return assigner


def read_scored(
    outdir: str | Path, *, link_clients: bool = True, merge_threads: bool = False
) -> Iterator[tuple[Conversation, list[TurnResult]]]:
    """(conversation, one TurnResult per turn) pairs, in input order.

    link_clients: give client keys as one ingest run over every input would (a chunk only
        knows the names and addresses it read; see ``linked_roles``).
    merge_threads: a conversation cut across chunks (a long e-mail thread) comes as one pair
        per chunk, all with its id; with ``merge_threads`` its parts are merged as ingest merges
        a thread's fragments, and the pair comes when its last part is read (memory: the parts
        of threads still open, and one counter per conversation id).
    """
    pairs = scored_conversations(_batches(outdir))  # type: ignore[arg-type]
    if merge_threads:
        pairs = _merged(pairs, _parts(outdir))
    if not link_clients:
        yield from pairs
        return
    assigner = linked_roles(outdir)
    for conversation, results in pairs:
        yield assigner(conversation), results


def _parts(outdir: str | Path) -> Counter[str]:
    """How many chunks each conversation id has rows in."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    parts: Counter[str] = Counter()
    for path in chunk_files(outdir):
        column = pq.read_table(path, columns=["conversation_id"]).column("conversation_id")
        parts.update(pc.unique(column).to_pylist())
    return parts


def _merged(
    pairs: Iterable[tuple[Conversation, list[TurnResult]]], parts: Counter[str]
) -> Iterator[tuple[Conversation, list[TurnResult]]]:
    waiting: dict[str, list[tuple[Conversation, list[TurnResult]]]] = {}
    for conversation, results in pairs:
        if parts[conversation.id] <= 1:
            yield conversation, results
            continue
        found = waiting.setdefault(conversation.id, [])
        found.append((conversation, results))
        if len(found) == parts[conversation.id]:
            del waiting[conversation.id]
            merged = merge_fragments([part for part, _ in found])
            by_id = {result.id: result for _, part_results in found for result in part_results}
            yield merged, [by_id[turn.id] for turn in merged.turns if turn.id in by_id]
