"""The score cache: repeated texts are scored once, and the rows are those of scoring each turn."""

from __future__ import annotations

from pathlib import Path

import pytest

from tonewatch.batch.cache import CACHE, ScoreCache
from tonewatch.batch.run import SYNCHRONOUS, run_batch
from tonewatch.classify.model import RedFlagModel
from tonewatch.classify.pipeline import Classifier
from tonewatch.config import Config
from tonewatch.schema import Location, Role, Turn

from .conftest import batch_config, mbox_message, read_rows, real_texts

ROOT = Path(__file__).resolve().parents[2]


def repeating_mbox(path: Path, count: int, distinct: int, *, first: int = 0) -> Path:
    """``count`` messages whose bodies cycle through ``distinct`` real texts (every language);
    every third is a staff reply, so a text comes back under both roles."""
    texts = real_texts()
    step = len(texts) // distinct  # spread over the annotation files, hence the languages
    with path.open("a", encoding="utf-8", newline="\n") as out:
        for number in range(first, first + count):
            text = texts[(number % distinct) * step][1]
            reply_to = number - 1 if number % 3 == 2 else None
            out.write(mbox_message(number, text, reply_to=reply_to))
    return path


def with_cache(config: Config, entries: int, share: bool = True) -> Config:
    batch = config.batch.model_copy(update={"cache_entries": entries, "cache_share": share})
    return config.model_copy(update={"batch": batch})


@pytest.mark.slow
@pytest.mark.parametrize("entries", [100_000, 4])  # 3: results evicted and scored again
def test_cache_rows_equal_scoring_every_turn_with_the_default_model(
    tmp_path, staff_toml, entries
) -> None:
    mbox = repeating_mbox(tmp_path / "support.mbox", 60, 10)
    config = batch_config(staff_toml, chunk_turns=16)
    plain = run_batch([mbox], tmp_path / "plain", with_cache(config, 0), scheduler=SYNCHRONOUS)
    cached = run_batch([mbox], tmp_path / "cached", with_cache(config, entries),
                       scheduler=SYNCHRONOUS)  # fmt: skip
    assert plain.model.startswith("tonewatch-base@") and plain.cached == 0
    assert cached.turns == plain.turns == 60 and cached.cached > 0
    rows = read_rows(tmp_path / "plain").to_pylist()
    if entries > 10:  # each (text, language) scored once, staff and client turns alike
        assert cached.cached == 60 - len({(row["text"], row["language"]) for row in rows})
    # A text flagged in a client's turn is also a staff turn, unflagged: scored once for both.
    flagged = {row["text"] for row in rows if row["flagged"]}
    assert any(row["text"] in flagged and row["role"] == "agent" for row in rows)
    assert read_rows(tmp_path / "cached").equals(read_rows(tmp_path / "plain"))


def test_cache_grown_archive_reuses_what_earlier_runs_scored(
    tmp_path, tiny_model, staff_toml
) -> None:
    mbox = repeating_mbox(tmp_path / "support.mbox", 30, 6)
    out, config = tmp_path / "out", batch_config(staff_toml)
    first = run_batch([mbox], out, config, model=str(tiny_model), scheduler=SYNCHRONOUS)
    (folder,) = (out / CACHE).iterdir()
    assert first.cached == 30 - sum(1 for log in folder.iterdir() for _ in log.open())
    # A kill while a log was being written leaves a torn last line: it is skipped.
    with next(folder.iterdir()).open("a") as log:
        log.write('{"k":"00ff","lang":"en","r":{"id"')
    repeating_mbox(mbox, 12, 6, first=30)  # the same texts come back in new messages
    grown = run_batch([mbox], out, config, model=str(tiny_model), scheduler=SYNCHRONOUS)
    assert (grown.messages, grown.turns, grown.cached) == (12, 12, 12)  # nothing scored again
    fresh = tmp_path / "fresh"
    run_batch([mbox], fresh, with_cache(config, 0), model=str(tiny_model), scheduler=SYNCHRONOUS)
    columns = ["turn_id", "text", "tone", "tone_scores", "score_threat", "flags", "model_id"]
    assert read_rows(out).select(columns).equals(read_rows(fresh).select(columns))


def test_cache_processes_sharing_a_folder_score_a_text_once(tmp_path, tiny_model) -> None:
    classifier = Classifier(RedFlagModel.load(tiny_model))
    texts = [text for _, text in real_texts()[:5]]

    def turns(prefix: str) -> list[Turn]:
        return [
            Turn(
                id=f"{prefix}{k}",
                speaker="a@b.example",
                role=Role.client,
                text=text,
                lang="en",
                source=Location(path="x.mbox", item=k),
            )  # fmt: skip
            for k, text in enumerate(texts + texts)
        ]

    one, two = ScoreCache(100, tmp_path), ScoreCache(100, tmp_path)
    first = one.predict(classifier, turns("a"))
    assert (one.misses, one.hits) == (5, 5)
    second = two.predict(classifier, turns("b"))  # reads what `one` logged
    assert (two.misses, two.hits) == (0, 10)
    assert [r.id for r in second] == [f"b{k}" for k in range(10)]
    assert [r.model_copy(update={"id": ""}) for r in second] == [
        r.model_copy(update={"id": ""}) for r in first
    ]
    assert second == classifier.predict(turns("b"))
    assert len(list(tmp_path.glob("*.jsonl"))) == 1  # `two` scored nothing, so wrote nothing
