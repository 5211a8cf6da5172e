"""Cutting archives into chunks: coverage, limits, stable keys, reuse after growth."""

from __future__ import annotations

import mailbox
import shutil
from dataclasses import replace
from pathlib import Path

from tonewatch.batch.plan import chunk_digest, plan_inputs
from tonewatch.config import default_config

from .conftest import mbox_message, write_mbox

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def limits(chunk_turns: int = 8, chunk_bytes: int = 16_000_000):
    return default_config().batch.model_copy(
        update={"chunk_turns": chunk_turns, "chunk_bytes": chunk_bytes}
    )


def committed(plan) -> dict[str, dict]:
    """Manifest entries as a run would have written them for every chunk of ``plan``."""
    return {chunk.key: {"event": "commit", **chunk.spec()} for chunk in plan.chunks}


def test_plan_mbox_ranges_cover_every_message_once_at_from_lines(tmp_path) -> None:
    archive = write_mbox(tmp_path / "a.mbox", 0, 30)
    plan = plan_inputs([archive], limits(8))
    data = archive.read_bytes()
    assert [c.units for c in plan.chunks] == [8, 8, 8, 6]
    assert plan.chunks[0].start == 0 and plan.chunks[-1].end == len(data)
    for before, after in zip(plan.chunks, plan.chunks[1:], strict=False):
        assert before.end == after.start and data[after.start :].startswith(b"From ")
        assert after.first_item == before.first_item + before.units
    assert [c.tail for c in plan.chunks] == [False, False, False, True]
    assert sum(c.units for c in plan.chunks) == len(mailbox.mbox(archive))


def test_plan_mbox_chunk_bytes_caps_a_chunk_but_keeps_one_message(tmp_path) -> None:
    archive = write_mbox(tmp_path / "a.mbox", 0, 12)
    plan = plan_inputs([archive], limits(100, chunk_bytes=1))
    assert [c.units for c in plan.chunks] == [1] * 12
    assert all(c.nbytes == c.end - c.start for c in plan.chunks)


def test_plan_keys_depend_on_content_only(tmp_path) -> None:
    archive = write_mbox(tmp_path / "a.mbox", 0, 20)
    first = plan_inputs([archive], limits(8))
    again = plan_inputs([archive], limits(8))
    assert [c.key for c in first.chunks] == [c.key for c in again.chunks]
    assert len({c.key for c in first.chunks}) == len(first.chunks)
    assert all(chunk_digest(c) == c.digest for c in first.chunks)


def test_plan_grown_mbox_keeps_every_old_chunk_and_cuts_only_new_messages(tmp_path) -> None:
    archive = write_mbox(tmp_path / "a.mbox", 0, 20)  # chunks of 8, 8, 4
    before = plan_inputs([archive], limits(8))
    old_size = archive.stat().st_size
    write_mbox(archive, 20, 11, mode="a")
    after = plan_inputs([archive], limits(8), committed(before))
    assert [c.key for c in after.chunks[:3]] == [c.key for c in before.chunks]
    new = after.chunks[3:]
    assert new[0].start == old_size and new[0].first_item == 21
    assert sum(c.units for c in new) == 11 and not after.stale
    # Without the manifest the old 4-message tail would be cut anew (8 + 8 + 8 + 7).
    fresh = plan_inputs([archive], limits(8))
    assert [c.units for c in fresh.chunks] == [8, 8, 8, 7]


def test_plan_edited_message_replaces_only_its_chunk(tmp_path) -> None:
    archive = write_mbox(tmp_path / "a.mbox", 0, 24)
    before = plan_inputs([archive], limits(8))
    data = bytearray(archive.read_bytes())
    middle = before.chunks[1]
    at = data.index(b"Content-Type", middle.start)
    data[at : at + 7] = b"CONTENT"  # same length: offsets unchanged, content not
    archive.write_bytes(bytes(data))
    after = plan_inputs([archive], limits(8), committed(before))
    keys_before = [c.key for c in before.chunks]
    keys_after = [c.key for c in after.chunks]
    assert keys_after[0] == keys_before[0] and keys_after[2] == keys_before[2]
    assert keys_after[1] != keys_before[1]
    assert after.stale == [keys_before[1]]


def test_plan_stale_only_for_inputs_of_this_run(tmp_path) -> None:
    one = write_mbox(tmp_path / "one.mbox", 0, 10)
    two = write_mbox(tmp_path / "two.mbox", 100, 10)
    both = plan_inputs([one, two], limits(8))
    only_two = plan_inputs([two], limits(8), committed(both))
    assert only_two.stale == []  # one.mbox's chunks are kept: not an input of this run
    one.unlink()
    folder = plan_inputs([tmp_path], limits(8), committed(both))
    assert set(folder.stale) == {c.key for c in both.chunks if c.source == str(one)}


def test_plan_mixed_folder_splits_mail_and_groups_loose_files(tmp_path) -> None:
    mixed = shutil.copytree(FIXTURES / "ingest" / "mixed", tmp_path / "mixed")
    plan = plan_inputs([mixed], limits(2))
    kinds = {c.kind for c in plan.chunks}
    assert kinds == {"mbox", "maildir", "files"}
    loose = [f for c in plan.chunks if c.kind == "files" for f in c.files]
    assert all(len(c.files) <= 2 for c in plan.chunks if c.kind == "files")
    assert not any(f.endswith(".mbox") for f in loose)  # the mbox is cut, not grouped
    assert any(f.endswith("blob.bin") for f in loose)  # unreadable files still go to ingest
    maildir = next(c for c in plan.chunks if c.kind == "maildir")
    assert maildir.files and maildir.files[0].startswith(("cur/", "new/"))


def test_plan_missing_path_is_recorded(tmp_path) -> None:
    plan = plan_inputs([tmp_path / "nope.mbox"], limits())
    assert plan.chunks == [] and len(plan.missing) == 1
    assert "nope.mbox" in str(plan.missing[0])


def test_chunk_digest_sees_a_changed_group(tmp_path) -> None:
    (tmp_path / "a.jsonl").write_text('{"x": 1}\n')
    plan = plan_inputs([tmp_path], limits())
    (chunk,) = plan.chunks
    (tmp_path / "a.jsonl").write_text('{"x": 2}\n')
    assert chunk_digest(chunk) != chunk.digest
    assert chunk_digest(replace(chunk, files=(str(tmp_path / "gone.jsonl"),))) != chunk.digest


def test_plan_grown_maildir_keeps_old_runs_and_cuts_only_new_messages(tmp_path) -> None:
    inbox = tmp_path / "inbox"
    for sub in ("cur", "new", "tmp"):
        (inbox / sub).mkdir(parents=True)

    def deliver(number: int) -> None:  # Maildir names start with the delivery time
        message = mbox_message(number, f"Message number {number}.").split("\n", 1)[1]
        (inbox / "new" / f"{1709700000 + number}.M{number}P1.host").write_text(message)

    for number in range(5):
        deliver(number)
    before = plan_inputs([inbox], limits(2))
    assert [c.units for c in before.chunks] == [2, 2, 1]
    for number in range(5, 8):
        deliver(number)
    after = plan_inputs([inbox], limits(2), committed(before))
    assert [c.key for c in after.chunks[:3]] == [c.key for c in before.chunks]
    assert [(c.first_item, c.units) for c in after.chunks[3:]] == [(6, 2), (8, 1)]
    assert not after.stale


def test_plan_an_input_named_twice_is_planned_once(tmp_path) -> None:
    archive = write_mbox(tmp_path / "a.mbox", 0, 10)
    (tmp_path / "note.jsonl").write_text('{"conversation_id": "c", "author": "x", "text": "hi"}\n')
    once = plan_inputs([tmp_path], limits(4))
    twice = plan_inputs([tmp_path, archive, tmp_path / "note.jsonl", tmp_path], limits(4))
    assert [c.key for c in twice.chunks] == [c.key for c in once.chunks]


def test_plan_file_groups_are_named_by_their_files_alone(tmp_path) -> None:
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        for number in range(3):
            (tmp_path / folder / f"chat{number}.jsonl").write_text(f'{{"n": {number}}}\n')
    alone = plan_inputs([tmp_path / "b"], limits(2))
    after_a = plan_inputs([tmp_path / "a", tmp_path / "b"], limits(2), committed(alone))
    assert {c.key for c in alone.chunks} <= {c.key for c in after_a.chunks}
