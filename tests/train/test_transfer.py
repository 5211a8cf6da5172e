"""The transfer study on the tiny config: what each run trains on, and the report's shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tonewatch.errors import DataError
from tonewatch.train.gold import read_annotations
from tonewatch.train.transfer import _kept_conversations, _records, run_transfer

ROOT = Path(__file__).resolve().parents[2]
ANNOTATIONS = sorted((ROOT / "data" / "annotations").glob("*.jsonl"))


def test_transfer_learning_curve_adds_whole_train_conversations_deterministically() -> None:
    records = _records(ANNOTATIONS)
    kept = _kept_conversations(records, "ka", 25, seed=13)
    assert kept == _kept_conversations(records, "ka", 25, seed=13)
    ka = [t for rows in records.values() for _, t in rows if t.lang == "ka"]
    chosen = [t for t in ka if t.conversation in kept]
    assert all(t.split == "train" for t in chosen)
    assert (
        25 <= len(chosen) < 25 + max(sum(t.conversation == c for t in ka) for c in kept)
    )  # stops at the first conversation that reaches k
    assert kept < _kept_conversations(records, "ka", 10_000, seed=13)


@pytest.mark.slow
def test_transfer_study_on_the_tiny_config(tmp_path: Path) -> None:
    study = run_transfer(
        ROOT / "configs" / "tiny.toml",
        tmp_path,
        langs=["ka"],
        base=ROOT,
        curve=(10,),
        lexicon_ablation=False,
        log=lambda _: None,
    )
    runs = tmp_path / "runs"
    held = [t for p in (runs / "without-ka" / "annotations").glob("*.jsonl")
            for t in read_annotations(p)]  # fmt: skip
    assert held and not any(t.lang == "ka" for t in held)
    plus = [t for p in (runs / "without-ka-plus-10" / "annotations").glob("*.jsonl")
            for t in read_annotations(p)]  # fmt: skip
    assert sum(t.lang == "ka" for t in plus) >= 10 and all(
        t.split == "train" for t in plus if t.lang == "ka"
    )
    assert not (runs / "without-ka" / "model").exists()  # models are dropped after scoring
    (row,) = study["table"]
    assert row["lang"] == "ka" and row["test_turns"] > 0
    for key in ("full_macro_f1", "heldout_macro_f1", "heldout_macro_f1_all_turns"):
        assert 0.0 <= row[key] <= 1.0
    saved = json.loads((tmp_path / "transfer.json").read_text())
    assert set(saved["runs"]) == {"all", "without-ka", "without-ka-plus-10"}
    assert saved["runs"]["without-ka"]["all_turns"]["turns"] > row["test_turns"]
    assert "| ka |" in (tmp_path / "transfer.md").read_text()


@pytest.mark.slow
def test_transfer_study_resumes_from_saved_runs(tmp_path: Path) -> None:
    def study(only: list[str] | None, log: list[str]) -> dict:
        return run_transfer(
            ROOT / "configs" / "tiny.toml",
            tmp_path,
            langs=["ka"],
            base=ROOT,
            curve=(),
            lexicon_ablation=False,
            only=only,
            log=log.append,
        )

    first: list[str] = []
    partial = study(["all"], first)
    assert partial["pending"] == ["without-ka"] and set(partial["runs"]) == {"all"}
    assert not (tmp_path / "transfer.json").exists()  # no table from half a study
    second: list[str] = []
    full = study(None, second)
    assert second[0] == "[all] reused (same config and data)"
    assert any(line.startswith("[without-ka] training") for line in second)
    assert full["runs"]["all"] == partial["runs"]["all"] and not full["pending"]
    third: list[str] = []
    again = study(None, third)
    assert all("reused" in line for line in third) and again["table"] == full["table"]
    with pytest.raises(DataError, match="no setting"):
        study(["without-xx"], [])
