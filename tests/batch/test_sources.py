"""Ingest of one chunk reads what ingest of the whole archive reads, at the same places."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tonewatch.batch.plan import plan_inputs
from tonewatch.batch.sources import ChunkIngest
from tonewatch.config import default_config
from tonewatch.ingest.pipeline import ingest_paths

from .conftest import write_mbox

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def turns_by_id(conversations) -> dict[str, tuple]:
    """What a turn is, and the thread it belongs to, by turn id."""
    return {
        turn.id: (
            turn.text,
            turn.speaker,
            turn.role,
            turn.lang,
            turn.timestamp,
            turn.source,
            conversation.id,
        )  # fmt: skip
        for conversation in conversations
        for turn in conversation.turns
    }


def chunked(paths, chunk_turns: int, config=None):
    config = config or default_config().ingest
    limits = default_config().batch.model_copy(update={"chunk_turns": chunk_turns})
    conversations, quarantined = [], []
    for chunk in plan_inputs(paths, limits).chunks:
        run = ChunkIngest(chunk, config, on_quarantine=quarantined.append)
        conversations += run.conversations()
    return conversations, quarantined


@pytest.mark.parametrize("chunk_turns", [1, 4, 7])
def test_sources_mbox_chunks_read_the_same_turns_as_the_whole_file(tmp_path, chunk_turns) -> None:
    archive = write_mbox(tmp_path / "a.mbox", 0, 18)
    whole = turns_by_id(ingest_paths([archive], default_config().ingest))
    parts, quarantined = chunked([archive], chunk_turns)
    assert turns_by_id(parts) == whole and not quarantined
    assert sorted(t[5].item for t in whole.values()) == list(range(1, 19))


def test_sources_thread_cut_across_chunks_keeps_one_conversation_id(tmp_path) -> None:
    archive = write_mbox(tmp_path / "a.mbox", 0, 6)  # m2 replies to m1, m5 to m4
    parts, _ = chunked([archive], 2)  # [m0 m1] [m2 m3] [m4 m5]: m1 and m2 in two chunks
    thread_of = {t.source.message_id: c.id for c in parts for t in c.turns}
    assert thread_of["m1@batch.test"] == thread_of["m2@batch.test"]
    assert thread_of["m4@batch.test"] == thread_of["m5@batch.test"]
    assert thread_of["m0@batch.test"] != thread_of["m1@batch.test"]


def test_sources_bad_messages_quarantined_at_their_place_in_the_archive(tmp_path) -> None:
    archive = write_mbox(tmp_path / "bad.mbox", 0, 3)
    with archive.open("a", encoding="utf-8") as out:  # message 4 has no header at all
        out.write("From nobody Mon Mar  4 08:00:00 2024\n\nno headers, just words\n\n")
    write_mbox(archive, 3, 3, mode="a")
    whole_records: list = []
    whole = turns_by_id(
        ingest_paths([archive], default_config().ingest, on_quarantine=whole_records.append)
    )
    parts, records = chunked([archive], 2)
    assert turns_by_id(parts) == whole and len(whole) == 6
    assert [(r.location, r.code) for r in records] == [(r.location, r.code) for r in whole_records]
    assert [(r.location.item, r.code) for r in records] == [(4, "I003")]


def test_sources_truncated_last_message_is_checked_only_at_the_end(tmp_path) -> None:
    archive = write_mbox(tmp_path / "a.mbox", 0, 5)
    archive.write_bytes(archive.read_bytes().rstrip(b"\n"))  # cut off mid-line
    whole_records: list = []
    list(ingest_paths([archive], default_config().ingest, on_quarantine=whole_records.append))
    _, records = chunked([archive], 2)
    assert [(r.location.item, r.code) for r in records] == [(5, "I004")]
    assert [(r.location.item, r.code) for r in whole_records] == [(5, "I004")]


def test_sources_maildir_and_loose_files_match_whole_ingest(tmp_path) -> None:
    mixed = shutil.copytree(FIXTURES / "ingest" / "mixed", tmp_path / "mixed")
    whole_records: list = []
    whole = turns_by_id(
        ingest_paths([mixed], default_config().ingest, on_quarantine=whole_records.append)
    )
    parts, records = chunked([mixed], 1)
    assert turns_by_id(parts) == whole
    assert sorted(str(r) for r in records) == sorted(str(r) for r in whole_records)
