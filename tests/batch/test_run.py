"""Whole runs with a real (tiny) model: Dask = one process, incremental, quarantine, reruns."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.compute as pc
import pytest

from tonewatch.batch.plan import plan_inputs
from tonewatch.batch.run import SYNCHRONOUS, run_batch
from tonewatch.batch.work import Job, model_identity, score_chunk
from tonewatch.errors import ConfigError, ModelError

from .conftest import batch_config, read_rows, write_mbox

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
# What a turn's row says of the turn itself; a thread cut across chunks differs between two
# plans only in conversation-level columns (subject, participants, client key) and `chunk`.
TURN_COLUMNS = [
    "turn_id", "speaker", "role", "text", "timestamp", "language", "tone", "tone_scores",
    "score_threat", "score_profanity", "score_payment_evasion", "flags", "model_id",
    "source_path", "source_item", "source_message_id", "conversation_id",
]  # fmt: skip


def manifest_lines(outdir: Path) -> list[dict]:
    return [json.loads(line) for line in (outdir / "manifest.jsonl").read_text().splitlines()]


@pytest.fixture
def archive(tmp_path) -> Path:
    """An mbox of 40 messages and the mixed fixture folder (Maildir, chat, call, junk)."""
    folder = tmp_path / "archive"
    shutil.copytree(FIXTURES / "ingest" / "mixed", folder / "mixed")
    write_mbox(folder / "support.mbox", 0, 40)
    return folder


@pytest.mark.slow
def test_run_local_dask_cluster_gives_the_rows_of_one_process(
    archive, tmp_path, tiny_model, staff_toml
) -> None:
    config = batch_config(staff_toml)
    alone = run_batch([archive], tmp_path / "one", config, model=str(tiny_model),
                      scheduler=SYNCHRONOUS)  # fmt: skip
    dask = run_batch([archive], tmp_path / "two", config, model=str(tiny_model),
                     scheduler="", workers=2)  # fmt: skip
    assert dask.workers == 2 and not dask.failed and not alone.failed
    assert len(dask.worker_rss_mb) == 2  # both workers scored chunks
    one, two = read_rows(tmp_path / "one"), read_rows(tmp_path / "two")
    assert one.num_rows == alone.turns == dask.turns > 40
    assert one.equals(two)
    keys = {line["key"] for line in manifest_lines(tmp_path / "one")}
    assert keys == {line["key"] for line in manifest_lines(tmp_path / "two")}


def test_run_rerun_of_an_unchanged_archive_scores_nothing(archive, tmp_path, tiny_model) -> None:
    out = tmp_path / "out"
    first = run_batch([archive], out, batch_config(), model=str(tiny_model), scheduler=SYNCHRONOUS)
    rows = read_rows(out)
    again = run_batch([archive], out, batch_config(), model=str(tiny_model), scheduler=SYNCHRONOUS)
    assert first.scored == first.chunks > 5 and first.reused == 0
    assert again.scored == 0 and again.reused == first.chunks and again.messages == 0
    assert (again.total_turns, again.total_quarantined) == (first.turns, first.quarantined)
    assert read_rows(out).equals(rows)
    assert len(manifest_lines(out)) == first.chunks  # no line written by the rerun


def test_run_grown_mbox_scores_only_the_new_messages(tmp_path, tiny_model, staff_toml) -> None:
    mbox = write_mbox(tmp_path / "support.mbox", 0, 20)
    out, config = tmp_path / "out", batch_config(staff_toml)
    first = run_batch([mbox], out, config, model=str(tiny_model), scheduler=SYNCHRONOUS)
    assert (first.chunks, first.messages) == (3, 20)  # 8 + 8 + 4
    write_mbox(mbox, 20, 11, mode="a")
    grown = run_batch([mbox], out, config, model=str(tiny_model), scheduler=SYNCHRONOUS)
    assert (grown.reused, grown.scored, grown.messages, grown.retired) == (3, 2, 11, 0)
    new_lines = manifest_lines(out)[3:]
    assert [line["first_item"] for line in new_lines] == [21, 29]
    assert grown.total_messages == 31 and grown.total_turns == read_rows(out).num_rows == 31
    # The same turns, scored the same, as a fresh run on the grown archive.
    fresh = tmp_path / "fresh"
    run_batch([mbox], fresh, config, model=str(tiny_model), scheduler=SYNCHRONOUS)
    assert read_rows(out).select(TURN_COLUMNS).equals(read_rows(fresh).select(TURN_COLUMNS))


def test_run_edited_archive_replaces_its_chunk_without_duplicates(tmp_path, tiny_model) -> None:
    mbox = write_mbox(tmp_path / "support.mbox", 0, 24)
    out = tmp_path / "out"
    run_batch([mbox], out, batch_config(), model=str(tiny_model), scheduler=SYNCHRONOUS)
    data = mbox.read_bytes()
    at = data.index(b"Order 12")
    mbox.write_bytes(data[:at] + b"Order 99" + data[at + 8 :])  # one subject edited
    edited = run_batch([mbox], out, batch_config(), model=str(tiny_model), scheduler=SYNCHRONOUS)
    assert (edited.retired, edited.scored, edited.reused) == (1, 1, 2)
    rows = read_rows(out)
    assert rows.num_rows == 24 == len(set(rows.column("turn_id").to_pylist()))
    assert "Order 99" in rows.column("subject").to_pylist()
    assert "Order 12" not in rows.column("subject").to_pylist()


def test_run_bad_input_is_quarantined_counted_and_the_run_goes_on(
    archive, tmp_path, tiny_model
) -> None:
    with (archive / "support.mbox").open("a", encoding="utf-8") as out:
        out.write("From nobody Mon Mar  4 08:00:00 2024\n\nno headers, just words\n\n")
    write_mbox(archive / "support.mbox", 40, 2, mode="a")
    out = tmp_path / "out"
    summary = run_batch([archive], out, batch_config(), model=str(tiny_model),
                        scheduler=SYNCHRONOUS)  # fmt: skip
    records = [json.loads(line) for line in (out / "quarantine.jsonl").read_text().splitlines()]
    assert summary.quarantined == summary.total_quarantined == len(records) >= 3
    where = {(Path(r["location"]["path"]).name, r["location"]["item"], r["code"]) for r in records}
    assert ("support.mbox", 41, "I003") in where  # the bad message, at its place
    assert {"blob.bin", "empty.txt"} <= {name for name, _, _ in where}
    assert not summary.failed
    rows = read_rows(out)
    message_ids = set(rows.column("source_message_id").to_pylist())
    assert {"m39@batch.test", "m40@batch.test", "m41@batch.test"} <= message_ids
    assert set(rows.column("channel").to_pylist()) == {"email", "chat", "call"}


def test_run_missing_path_is_quarantined(tmp_path, tiny_model) -> None:
    mbox = write_mbox(tmp_path / "a.mbox", 0, 3)
    summary = run_batch([mbox, tmp_path / "nope.mbox"], tmp_path / "out", batch_config(),
                        model=str(tiny_model), scheduler=SYNCHRONOUS)  # fmt: skip
    assert summary.quarantined == 1 and summary.turns == 3
    assert "nope.mbox" in (tmp_path / "out" / "quarantine.jsonl").read_text()


def test_run_refuses_a_folder_scored_with_other_settings(tmp_path, tiny_model, staff_toml) -> None:
    mbox = write_mbox(tmp_path / "a.mbox", 0, 3)
    out = tmp_path / "out"
    run_batch([mbox], out, batch_config(), model=str(tiny_model), scheduler=SYNCHRONOUS)
    with pytest.raises(ConfigError, match="staff_domains"):
        run_batch([mbox], out, batch_config(staff_toml), model=str(tiny_model),
                  scheduler=SYNCHRONOUS)  # fmt: skip


def test_run_summary_counts_match_the_rows(archive, tmp_path, tiny_model) -> None:
    out = tmp_path / "out"
    summary = run_batch([archive], out, batch_config(), model=str(tiny_model),
                        scheduler=SYNCHRONOUS)  # fmt: skip
    rows = read_rows(out)
    assert summary.turns == rows.num_rows
    assert summary.flagged == pc.sum(rows.column("flagged")).as_py()
    assert summary.conversations == len(
        set(
            zip(
                rows.column("chunk").to_pylist(),
                rows.column("conversation_id").to_pylist(),
                strict=True,
            )
        )
    )
    saved = json.loads((out / "summary.json").read_text())
    assert saved["turns"] == summary.turns and saved["model"] == "tonewatch-tiny@0.0.1"


def test_run_refuses_a_model_that_changed_on_disk_since_the_start(tmp_path, tiny_model) -> None:
    model = shutil.copytree(tiny_model, tmp_path / "model")
    (chunk,) = plan_inputs([write_mbox(tmp_path / "a.mbox", 0, 3)], batch_config().batch).chunks
    config = batch_config()
    model_id, digest = model_identity(model)
    job = Job(str(tmp_path / "out"), str(model), digest, config.ingest.model_dump(mode="json"),
              config.classify.model_dump(mode="json"))  # fmt: skip
    meta = json.loads((model / "meta.json").read_text())
    (model / "meta.json").write_text(json.dumps({**meta, "thresholds": {}}))  # retrained
    with pytest.raises(ModelError, match="changed on disk"):
        score_chunk(chunk, job)
    assert model_id == "tonewatch-tiny@0.0.1" and not (tmp_path / "out").exists()
