"""Reports from stored turn results: reading classify JSONL / batch Parquet, joining by turn id."""

from __future__ import annotations

import json
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tonewatch.errors import DataError
from tonewatch.io import open_writer
from tonewatch.report.stored import (
    ResultJoin,
    is_conversations_file,
    join_results,
    read_results,
    result_from_row,
)
from tonewatch.schema import LABELS


def _results(pairs):
    return [r for _, results in pairs for r in results]


def test_stored_reads_classify_jsonl(tmp_path, archive_pairs) -> None:
    path = tmp_path / "results.jsonl"
    results = _results(archive_pairs)
    path.write_text("".join(json.dumps(r.to_contract()) + "\n\n" for r in results))
    assert list(read_results(path)) == results


def test_stored_reads_parquet_in_contract_and_flat_layouts(tmp_path, archive_pairs) -> None:
    results = _results(archive_pairs)
    contract = tmp_path / "contract.parquet"
    pq.write_table(pa.Table.from_pylist([r.to_contract() for r in results]), contract)
    assert list(read_results(contract)) == results
    flat_rows = []
    for r in results:
        row = {
            "conversation": r.id.rsplit(":", 1)[0],
            "turn_id": r.id,
            "language": r.lang,
            "tone": r.tone.label.value,
            "tone_level": r.tone.level,
            "tone_scores": json.dumps(r.tone.scores),
            "flags": json.dumps([f.model_dump(mode="json") for f in r.flags]),
            "model_id": r.model,
        }
        row.update({f"score_{label}": r.scores[label] for label in LABELS})
        flat_rows.append(row)
    flat = tmp_path / "flat.parquet"
    pq.write_table(pa.Table.from_pylist(flat_rows), flat)
    assert list(read_results(flat)) == results


def test_stored_bad_line_names_file_and_line(tmp_path, archive_pairs) -> None:
    path = tmp_path / "results.jsonl"
    good = json.dumps(_results(archive_pairs)[0].to_contract())
    path.write_text(good + "\n" + json.dumps({"id": "t", "text": "hello"}) + "\n")
    with pytest.raises(DataError, match=r"results\.jsonl:2: not a turn result"):
        list(read_results(path))
    with pytest.raises(DataError, match="missing.jsonl: cannot read"):
        list(read_results(tmp_path / "missing.jsonl"))
    with pytest.raises(ValueError):
        result_from_row({"turn_id": "x", "tone": "angry"})


def test_stored_join_streams_in_order_and_indexes_otherwise(archive_pairs) -> None:
    conversations = [c for c, _ in archive_pairs]
    results = _results(archive_pairs)
    expected = [(c, r) for c, r in archive_pairs]
    # classify also writes the staff turns' results: they are skipped, not held.
    ordered = ResultJoin(iter(results))
    got = [(c, r) for c, r in join_results(conversations, ordered)]
    client_only = [
        (c, [r for r in rs if r.id in {t.id for t in c.turns if t.role.value == "client"}])
        for c, rs in expected
    ]
    assert got == client_only
    # One client turn has no result: the marker-only "[did not join]" of the missed call.
    assert ordered.missing == 1 and ordered.unmatched() == 0 and not ordered._pending
    shuffled = random.Random(5).sample(results, len(results))
    # Out of order, results met while looking are set aside and found later...
    streaming = ResultJoin(iter(shuffled))
    assert sorted(r.id for _, rs in join_results(conversations, streaming) for r in rs) == sorted(
        r.id for _, rs in client_only for r in rs
    )
    assert streaming.missing == 1 and streaming.dropped == 0
    # ...within a window: beyond it they are dropped, and the pipeline redoes it with an index.
    narrow = ResultJoin(iter(shuffled), window=3)
    list(join_results(conversations, narrow))
    assert narrow.missing > 1 and narrow.dropped > 0 and narrow.unmatched() > 0
    indexed = ResultJoin(iter(shuffled), ordered=False)
    got = [(c, sorted(r, key=lambda x: x.id)) for c, r in join_results(conversations, indexed)]
    assert got == [(c, sorted(r, key=lambda x: x.id)) for c, r in client_only]
    assert indexed.missing == 1 and indexed.unmatched() == 0


def test_stored_tells_conversations_files_from_chat_exports(tmp_path, archive_pairs) -> None:
    conversations = tmp_path / "conversations.jsonl"
    with open_writer(conversations) as writer:
        for conversation, _ in archive_pairs:
            writer.write(conversation)
    parquet = tmp_path / "conversations.parquet"
    with open_writer(parquet) as writer:
        for conversation, _ in archive_pairs:
            writer.write(conversation)
    chat = tmp_path / "chat.jsonl"
    record = {"conversation_id": "c1", "author": "Ann", "timestamp": "2025-01-01", "text": "hi"}
    chat.write_text(json.dumps(record) + "\n")
    assert is_conversations_file(conversations) and is_conversations_file(parquet)
    assert not is_conversations_file(chat) and not is_conversations_file(tmp_path)
