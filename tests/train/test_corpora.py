"""Every corpus loader on the real files of shared/datasets: row counts and label counts as the
folders' SOURCE.txt documents them, the mapping, the splits and the licences."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import datasets
import pytest

from tonewatch.errors import DataError
from tonewatch.schema import LABELS, TONES
from tonewatch.train.corpora import CORPUS_INFO, LOADERS, load_corpus, load_raw
from tonewatch.train.gold import GoldTurn
from tonewatch.train.trainer import TrainConfig, gather

_CACHE: dict[str, list[GoldTurn]] = {}


def _turns(name: str, root: Path) -> list[GoldTurn]:
    if name not in _CACHE:
        _CACHE[name] = load_corpus(name, root, purpose="eval")
    return _CACHE[name]


def _count(turns: list[GoldTurn], label: str, split: str | None = None) -> int:
    return sum(label in t.labels for t in turns if split is None or t.split == split)


def test_corpora_every_folder_has_a_loader_and_a_licence(shared_datasets: Path) -> None:
    folders = {p.name for p in shared_datasets.iterdir() if p.is_dir()}
    assert folders == {info["folder"] for info in CORPUS_INFO.values()}
    assert set(LOADERS) == set(CORPUS_INFO)
    for info in CORPUS_INFO.values():
        assert info["licence"] and info["mapping"] and info["citation"]
        assert isinstance(info["trainable"], bool)
        assert (shared_datasets / info["folder"] / "SOURCE.txt").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CORPUS_INFO))
def test_corpora_loader_contract(name: str, shared_datasets: Path) -> None:
    turns = _turns(name, shared_datasets)
    assert turns
    assert len({t.id for t in turns}) == len(turns)
    for t in turns:
        assert t.text and t.text == t.text.strip()
        assert t.lang == CORPUS_INFO[name]["lang"] and t.corpus == name
        assert t.labels <= t.known <= set(LABELS)
        assert t.split in {"train", "dev", "test"}
        assert t.tone is None or t.tone in TONES
        assert t.role in {"client", "agent"}
    if not CORPUS_INFO[name]["trainable"]:
        assert not any(t.known for t in turns)
    raw = load_raw(name, shared_datasets)
    assert {"text", "source_split"} <= set(raw.column_names)
    assert os.environ["HF_DATASETS_OFFLINE"] == "1"
    assert datasets.config.HF_HUB_OFFLINE is True


@pytest.mark.slow
def test_corpora_counts_match_source_txt(shared_datasets: Path) -> None:
    def turns(name: str) -> list[GoldTurn]:
        return _turns(name, shared_datasets)

    davidson = turns("davidson")
    assert len(davidson) == 24783
    assert (_count(davidson, "personal_attack"), _count(davidson, "profanity")) == (1430, 19190)
    germeval = turns("germeval2018")
    assert sum(t.split == "test" for t in germeval) == 3532
    assert _count(germeval, "personal_attack", "test") == 773 + 381  # ABUSE + INSULT
    assert _count(germeval, "profanity", "test") == 48
    kocohub = turns("kocohub")
    assert len(kocohub) == 7896 + 471
    assert all(t.split == "test" for t in kocohub if t.meta["source_split"] == "dev")
    assert len(turns("korean_curse")) == 5825
    raw = load_raw("arabic_offensive", shared_datasets).to_list()
    assert sum(r["offensive"] == "0" for r in raw) == 68778
    clean = sum(r["offensive"] == "0" and bool(r["text"].strip()) for r in raw)
    assert sum(t.meta["offensive"] == "0" for t in turns("arabic_offensive")) == clean
    assert {n: len(turns(f"mlma_{n}")) for n in ("en", "fr", "ar")} == {
        "en": 5647,
        "fr": 4014,
        "ar": 3353,
    }
    ban = turns("ban_pl")
    assert (len(ban), _count(ban, "personal_attack")) == (24000, 12000)
    convabuse = turns("convabuse")
    assert Counter(t.split for t in convabuse) == {"train": 2501, "dev": 831, "test": 853}
    assert [_count(convabuse, "personal_attack", s) for s in ("train", "dev", "test")] == [
        339,
        110,
        128,
    ]
    spanish = turns("spanish_toxicity")
    assert (len(spanish), _count(spanish, "personal_attack")) == (972 + 835, 514 + 531)
    told = turns("told_br")
    assert len(told) == 21000 and _count(told, "profanity") == 2403  # obscene by >= 2 of 3
    assert sum(t.meta["toxic"] == "1" for t in told) == 9255  # any label, >= 1 annotator
    harmful = turns("germeval2025")
    assert _count(harmful, "threat") == 197 + 74  # call2violence + propensity
    assert _count(harmful, "personal_attack") == 415  # defamation TRUE
    assert len(turns("politeness")) == 4353 + 6603
    care = turns("twitter_care")
    assert len(care) == 1325 + 1025  # dialogue messages + closing agent replies
    assert sum(t.role == "client" for t in care) == 1177 + 34  # "client" + "client1" keys
    casino = turns("casino")
    assert sum(bool(t.meta["strategies"]) for t in casino) == 4615
    assert len({t.conversation for t in casino}) == 1030
    enron = turns("aeslc_enron")
    assert Counter(t.split for t in enron) == {"train": 14436, "dev": 1960, "test": 1906}


@pytest.mark.slow
def test_corpora_mapping_follows_the_documentation(shared_datasets: Path) -> None:
    germeval = {t.meta["fine"]: t for t in _turns("germeval2018", shared_datasets)}
    assert germeval["INSULT"].labels == {"personal_attack"}
    assert germeval["PROFANITY"].labels == {"profanity"}
    assert germeval["OTHER"].labels == set() and germeval["OTHER"].known == {
        "personal_attack",
        "profanity",
    }
    for t in _turns("told_br", shared_datasets):
        # A lone vote leaves the label unknown; training never sees eval-only rows.
        assert ("eval_only" in t.meta) == (not t.known)
    harmful = _turns("germeval2025", shared_datasets)
    assert all("threat" not in t.known for t in harmful if t.meta["vio"] == "support")
    assert all("threat" in t.labels for t in harmful if t.meta["vio"] == "prospensity")
    politeness = _turns("politeness", shared_datasets)
    tones = Counter((t.meta["quartile"], t.tone) for t in politeness)
    assert set(tones) == {("top", "polite"), ("middle", "neutral"), ("bottom", None)}
    assert all("eval_only" in t.meta for t in politeness if t.meta["quartile"] == "bottom")
    kocohub = _turns("kocohub", shared_datasets)
    assert all(t.known == {"personal_attack"} for t in kocohub)


@pytest.mark.slow
def test_corpora_splits_are_stable_and_leak_free(shared_datasets: Path) -> None:
    davidson = Counter(t.split for t in _turns("davidson", shared_datasets))
    assert 0.12 < davidson["test"] / sum(davidson.values()) < 0.18
    # The same tweet in MLMA-ar and arabic_offensive (source ID2) sits in the same split.
    arabic: dict[str, set[str]] = {}
    for t in _turns("arabic_offensive", shared_datasets):
        if t.meta["source_id"] == "2":
            arabic.setdefault(t.text, set()).add(t.split)
    shared = [t for t in _turns("mlma_ar", shared_datasets) if t.text in arabic]
    assert len(shared) > 3000
    assert all(t.split in arabic[t.text] for t in shared)
    # Dialogue turns never straddle splits.
    for name in ("twitter_care", "casino"):
        per_conversation: dict[str, set[str]] = {}
        for t in _turns(name, shared_datasets):
            per_conversation.setdefault(t.conversation, set()).add(t.split)
        assert all(len(splits) == 1 for splits in per_conversation.values())
    # A second load gives the same ids in the same splits.
    again = load_corpus("germeval2025", shared_datasets)
    first = {t.id: t.split for t in _turns("germeval2025", shared_datasets)}
    assert all(first[t.id] == t.split for t in again)


@pytest.mark.slow
def test_corpora_training_view_drops_eval_only_rows(shared_datasets: Path) -> None:
    trained = load_corpus("mlma_en", shared_datasets)
    everything = _turns("mlma_en", shared_datasets)
    assert 0 < len(trained) < len(everything)
    assert all(t.known for t in trained)


@pytest.mark.parametrize("name", ["aeslc_enron", "twitter_care", "casino"])
def test_corpora_evaluation_only_corpora_are_refused_for_training(
    name: str, shared_datasets: Path
) -> None:
    assert CORPUS_INFO[name]["trainable"] is False
    with pytest.raises(DataError, match="evaluation only"):
        load_corpus(name, shared_datasets)


def test_corpora_trainer_refuses_enron(shared_datasets: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    config = TrainConfig.model_validate(
        {
            "name": "enron-attempt",
            "annotations": ["data/annotations/ka.jsonl"],
            "public": {"datasets": str(shared_datasets), "corpora": ["aeslc_enron"]},
        }
    )
    with pytest.raises(DataError, match="aeslc_enron.*non-commercial"):
        gather(config, root, log=lambda _: None)


def test_corpora_errors_name_the_corpus_and_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="unknown corpus 'enron'"):
        load_corpus("enron", tmp_path)
    with pytest.raises(DataError, match="germeval2018"):
        load_corpus("germeval2018", tmp_path)
    (tmp_path / "germeval2018").mkdir()
    with pytest.raises(DataError, match=r"germeval2018\.training\.txt: missing"):
        load_corpus("germeval2018", tmp_path)
