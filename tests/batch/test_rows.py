"""The scored-turn table round-trips to the data model, and the report stage can read it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tonewatch.batch.rows import (
    ROW_SCHEMA,
    SCORE_COLUMNS,
    result_from_row,
    rows_table,
    scored_conversations,
    turn_rows,
)
from tonewatch.classify.api import load_model
from tonewatch.config import default_config
from tonewatch.ingest.pipeline import ingest_paths
from tonewatch.ingest.roles import with_staff
from tonewatch.schema import LABELS, Flag, Tone, ToneResult, TurnResult

from .conftest import write_mbox

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="module")
def scored(tiny_model, tmp_path_factory):
    """Conversations of an mbox and a mixed folder (chat, call, Maildir), scored."""
    folder = tmp_path_factory.mktemp("rows")
    shutil.copytree(FIXTURES / "ingest" / "mixed", folder / "mixed")
    write_mbox(folder / "a.mbox", 0, 12)
    conversations = list(ingest_paths([folder], default_config().ingest))
    turns = [t for c in conversations for t in c.turns]
    return conversations, load_model(str(tiny_model)).predict(turns)


def test_rows_round_trip_to_conversations_and_results(scored) -> None:
    conversations, results = scored
    table = rows_table(turn_rows(conversations, results, "k1"))
    assert table.schema.equals(ROW_SCHEMA, check_metadata=True)
    assert table.num_rows == len(results)
    back = list(scored_conversations([table]))
    assert [c for c, _ in back] == conversations
    assert [r for _, found in back for r in found] == results
    channels = {c.channel.value for c, _ in back}
    assert channels == {"email", "chat", "call"}


def test_rows_one_float_column_per_flag_and_a_flagged_column(scored) -> None:
    conversations, results = scored
    rows = turn_rows(conversations, results, "k1")
    for row, result in zip(rows, results, strict=True):
        assert [row[c] for c in SCORE_COLUMNS] == [result.scores[c[6:]] for c in SCORE_COLUMNS]
        assert row["flagged"] == bool(result.flags)
        assert row["tone"] == result.tone.label.value


def test_rows_flags_and_evidence_survive_parquet(tmp_path) -> None:
    archive = write_mbox(tmp_path / "a.mbox", 0, 1)
    conversations = list(ingest_paths([archive], default_config().ingest))
    turn = conversations[0].turns[0]
    evidence = {"start": 0, "end": 5, "text": turn.text[:5]}
    scores = dict.fromkeys(LABELS, 0.0) | {"threat": 0.9123}
    tone = ToneResult(label=Tone.hostile, level=3, scores={t.value: 0.25 for t in Tone})
    result = TurnResult(
        id=turn.id,
        lang=turn.lang,
        tone=tone,
        scores=scores,
        flags=(Flag(label="threat", score=0.9123, evidence=(evidence,)),),
        model="m@1",
    )
    path = tmp_path / "t.parquet"
    pq.write_table(rows_table(turn_rows(conversations, [result], "k")), path)
    (row,) = pq.read_table(path).to_pylist()
    assert row["flags"] == [{"label": "threat", "score": 0.9123, "evidence": [evidence]}]
    assert result_from_row(row) == result


def test_rows_are_readable_by_the_report_stage_without_rescoring(scored, tmp_path) -> None:
    from tonewatch.report.stored import read_results

    conversations, results = scored
    path = tmp_path / "chunk.parquet"
    pq.write_table(rows_table(turn_rows(conversations, results, "k1")), path)
    assert list(read_results(path)) == results


def test_rows_refuse_results_out_of_step_with_turns(scored) -> None:
    conversations, results = scored
    with pytest.raises(ValueError, match="does not belong"):
        turn_rows(conversations, list(reversed(results)), "k1")


def test_rows_staff_turns_keep_their_role(tmp_path, tiny_model, staff_toml) -> None:
    archive = write_mbox(tmp_path / "a.mbox", 0, 3)  # m2 is a staff reply
    config = with_staff(default_config().ingest, staff_toml)
    conversations = list(ingest_paths([archive], config))
    turns = [t for c in conversations for t in c.turns]
    rows = turn_rows(conversations, load_model(str(tiny_model)).predict(turns), "k")
    roles = {row["source_message_id"]: row["role"] for row in rows}
    assert roles == {"m0@batch.test": "client", "m1@batch.test": "client", "m2@batch.test": "agent"}
    assert pa.Table.from_pylist(rows, schema=ROW_SCHEMA).num_rows == 3
