"""Reading an output folder back: input order, whole conversations, results as scored."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tonewatch.aggregate import Aggregator
from tonewatch.batch.output import chunk_files, read_scored, read_turn_results
from tonewatch.batch.run import run_batch
from tonewatch.classify.api import load_model
from tonewatch.config import default_config
from tonewatch.errors import DataError
from tonewatch.ingest.pipeline import ingest_paths

from .conftest import batch_config, read_rows, write_mbox

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="module")
def scored(tiny_model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("out")
    archive = folder / "archive"
    shutil.copytree(FIXTURES / "ingest" / "mixed", archive / "mixed")
    write_mbox(archive / "support.mbox", 0, 30)
    staff = folder / "staff.toml"
    staff.write_text('[ingest]\nstaff_domains = ["support.example"]\n')
    config = batch_config(staff)
    run_batch([archive], folder / "out", config, model=str(tiny_model), workers=2)
    return archive, folder / "out", config


@pytest.mark.slow
def test_output_reads_chunks_in_input_order_whatever_the_finish_order(scored) -> None:
    archive, out, _ = scored
    mbox = str(archive / "support.mbox")
    items = [t.source.item for c, _ in read_scored(out) for t in c.turns if t.source.path == mbox]
    chunk_starts = [min(items[k : k + 8]) for k in range(0, len(items), 8)]
    assert chunk_starts == [1, 9, 17, 25] and sorted(items) == list(range(1, 31))
    assert len(chunk_files(out)) == len(list((out / "chunks").glob("*.parquet")))


@pytest.mark.slow
def test_output_pairs_are_the_scored_rows(scored) -> None:
    _, out, _ = scored
    pairs = list(read_scored(out))
    results = [r for _, found in pairs for r in found]
    assert results == list(read_turn_results(out))
    assert sorted(r.id for r in results) == sorted(read_rows(out).column("turn_id").to_pylist())
    for conversation, found in pairs:
        assert [t.id for t in conversation.turns] == [r.id for r in found]


@pytest.mark.slow
def test_output_aggregates_like_scoring_the_archive_afresh(scored, tiny_model) -> None:
    archive, out, config = scored
    from_rows = Aggregator(config.aggregate)
    for conversation, results in read_scored(out):
        from_rows.add(conversation, results)
    afresh = Aggregator(config.aggregate)
    classifier = load_model(str(tiny_model))
    for conversation in ingest_paths([archive], config.ingest):
        afresh.add(conversation, classifier.predict(conversation.turns))
    got = {d.report.client: d.report for d in from_rows.details()}
    want = {d.report.client: d.report for d in afresh.details()}
    assert got.keys() == want.keys()
    for client, report in want.items():
        assert (got[client].flags, got[client].tones) == (report.flags, report.tones), client
        assert got[client].verdict == report.verdict, client


def test_output_refuses_a_folder_that_is_not_one(tmp_path) -> None:
    with pytest.raises(DataError, match="not a `tonewatch score` output folder"):
        chunk_files(tmp_path)
    assert default_config().batch.chunk_turns > 0


@pytest.mark.slow
def test_output_merged_threads_are_the_conversations_of_one_ingest_run(scored) -> None:
    archive, out, config = scored
    merged = {c.id: [t.id for t in c.turns] for c, _ in read_scored(out, merge_threads=True)}
    whole = {c.id: [t.id for t in c.turns] for c in ingest_paths([archive], config.ingest)}
    assert merged == whole
    parts = [c.id for c, _ in read_scored(out)]
    assert len(parts) > len(set(parts))  # some threads were cut across chunks
