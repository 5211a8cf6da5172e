"""The transfer study on the tiny config: what each run trains on, and the report's shape."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tonewatch.errors import DataError
from tonewatch.train.gold import file_sha256, read_annotations
from tonewatch.train.model_card import render_model_card
from tonewatch.train.transfer import _kept_conversations, _records, run_transfer

ROOT = Path(__file__).resolve().parents[2]
ANNOTATIONS = sorted((ROOT / "data" / "annotations").glob("*.jsonl"))


def tiny_ka_study(output: Path, *, keep_models: bool = False) -> dict:
    """Georgian held out, one learning-curve point (10 turns), no lexicon ablation."""
    return run_transfer(
        ROOT / "configs" / "tiny.toml",
        output,
        langs=["ka"],
        base=ROOT,
        curve=(10,),
        lexicon_ablation=False,
        keep_models=keep_models,
        log=lambda _: None,
    )


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
    study = tiny_ka_study(tmp_path)
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
    table = (tmp_path / "transfer.md").read_text()
    assert "| ka |" in table and "| without-ka-plus-10 |" in table
    assert "What closes the gap for ka (test macro-F1): held out " in table
    assert "10 annotated turns back" in table


@pytest.mark.slow
def test_transfer_study_resumes_from_saved_runs_on_its_data_snapshot(tmp_path: Path) -> None:
    base, out = tmp_path / "tree", tmp_path / "study"
    for folder in ("annotations", "lexicons"):  # a working tree the test may edit
        shutil.copytree(ROOT / "data" / folder, base / "data" / folder)

    def study(only: list[str] | None, log: list[str], fresh: bool = False) -> dict:
        return run_transfer(
            ROOT / "configs" / "tiny.toml",
            out,
            langs=["ka"],
            base=base,
            cache_dir=tmp_path / "cache",
            curve=(),
            lexicon_ablation=False,
            only=only,
            fresh_data=fresh,
            log=log.append,
        )

    first: list[str] = []
    partial = study(["all"], first)
    assert partial["pending"] == ["without-ka"] and set(partial["runs"]) == {"all"}
    assert not (out / "transfer.json").exists()  # no table from half a study
    # The tree changes between calls: the study keeps reading its snapshot, and says so.
    with (base / "data" / "annotations" / "ka.jsonl").open("a") as handle:
        handle.write(json.dumps({"id": "new-1", "text": "ახალი", "lang": "ka"}) + "\n")
    second: list[str] = []
    full = study(None, second)
    assert second[0].startswith("note: the study reads its snapshot") and "ka.jsonl" in second[0]
    assert second[1] == "[all] reused (same config and data)"
    assert any(line.startswith("[without-ka] training") for line in second)
    assert full["runs"]["all"] == partial["runs"]["all"] and not full["pending"]
    assert full["data"]["data/annotations/ka.jsonl"] == file_sha256(
        ROOT / "data" / "annotations" / "ka.jsonl"
    )
    third: list[str] = []
    again = study(None, third)
    assert all("reused" in line for line in third[1:]) and again["table"] == full["table"]
    fresh: list[str] = []
    study(["all"], fresh, fresh=True)  # a new snapshot: nothing is reused
    assert not any("reused" in line for line in fresh)
    with pytest.raises(DataError, match="no setting"):
        study(["without-xx"], [])


@pytest.mark.slow
def test_transfer_study_in_the_model_card_says_when_its_data_differs(tmp_path: Path) -> None:
    tiny_ka_study(tmp_path, keep_models=True)
    model = tmp_path / "runs" / "all" / "model"  # trained on the study's own data snapshot
    for name in ("transfer.json", "transfer.md"):
        shutil.copy(tmp_path / name, model / name)
    shutil.copy(ROOT / "configs" / "tiny.toml", model / "config.toml")  # as `tonewatch train`
    card = render_model_card(model)
    section = card.split("## Cross-lingual transfer")[1].split("## ")[0]
    assert "| ka |" in section and "What closes the gap for ka" in section
    assert "rerun it to refresh" not in section
    meta = json.loads((model / "meta.json").read_text())
    meta["data"]["files"]["data/annotations/ka.jsonl"] = "0" * 64  # retrained on newer data
    (model / "meta.json").write_text(json.dumps(meta))
    with (model / "lexicons" / "ka.toml").open("a") as handle:
        handle.write("\n# edited after the study\n")
    section = render_model_card(model).split("## Cross-lingual transfer")[1].split("## ")[0]
    assert "other versions of data/annotations/ka.jsonl, lexicons/ka.toml" in section
    with (model / "config.toml").open("a") as handle:
        handle.write("\n# retrained with another config\n")
    section = render_model_card(model).split("## Cross-lingual transfer")[1].split("## ")[0]
    assert "other versions of the training config, data/annotations/ka.jsonl" in section
