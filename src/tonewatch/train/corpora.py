"""Every corpus in ``shared/datasets/``, loaded with Hugging Face ``datasets`` from the local
files (never the hub) and mapped onto the taxonomy as documented in ``CORPUS_INFO``.

- ``load_raw(name, root)``: the corpus as published, a ``datasets.Dataset`` with ``text`` and
  ``source_split`` beside the corpus's own columns (exploration, notebooks).
- ``load_corpus(name, root)``: ``GoldTurn`` records. ``known`` names only the labels the corpus
  really annotates; ``meta`` keeps its own labels, so ``public_eval`` can score each benchmark
  with its own metric. ``purpose="train"`` (the trainer's call) refuses a corpus whose
  ``CORPUS_INFO`` entry says ``trainable: False`` and leaves out rows the mapping cannot use;
  ``purpose="eval"`` returns those too, marked ``meta["eval_only"]``.

Splits never move: a shipped model's public test figures rely on the same rows staying in test.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from tonewatch.errors import DataError
from tonewatch.train import corpora_added as add
from tonewatch.train import corpora_labelled as lab
from tonewatch.train import corpora_unlabelled as unl
from tonewatch.train.corpora_info import CORPUS_INFO
from tonewatch.train.gold import GoldTurn

if TYPE_CHECKING:
    from datasets import Dataset

__all__ = ["CORPUS_INFO", "LOADERS", "corpus_summary", "load_corpus", "load_raw"]

Purpose = Literal["train", "eval"]
Raw = Callable[[Path], "Dataset"]
Gold = Callable[["Dataset", Path], list[GoldTurn]]


def _mlma(lang: str) -> Raw:
    return lambda root: lab.raw_mlma(root, lang)


_CORPORA: dict[str, tuple[Raw, Gold]] = {
    "davidson": (lab.raw_davidson, lab.gold_davidson),
    "germeval2018": (lab.raw_germeval2018, lab.gold_germeval2018),
    "germeval2025": (add.raw_germeval2025, add.gold_germeval2025),
    "kocohub": (lab.raw_kocohub, lab.gold_kocohub),
    "korean_curse": (lab.raw_korean_curse, lab.gold_korean_curse),
    "arabic_offensive": (lab.raw_arabic_offensive, lab.gold_arabic_offensive),
    "mlma_en": (_mlma("en"), add.gold_mlma_en),
    "mlma_fr": (_mlma("fr"), lab.gold_mlma_fr),
    "mlma_ar": (_mlma("ar"), add.gold_mlma_ar),
    "ban_pl": (lab.raw_ban_pl, lab.gold_ban_pl),
    "convabuse": (lab.raw_convabuse, lab.gold_convabuse),
    "spanish_toxicity": (lab.raw_spanish_toxicity, lab.gold_spanish_toxicity),
    "told_br": (add.raw_told_br, add.gold_told_br),
    "politeness": (lab.raw_politeness, lab.gold_politeness),
    "twitter_care": (unl.raw_twitter_care, unl.gold_twitter_care),
    "casino": (unl.raw_casino, unl.gold_casino),
    "aeslc_enron": (unl.raw_aeslc_enron, unl.gold_aeslc_enron),
}


def _folder(name: str, datasets_root: str | Path) -> Path:
    if name not in _CORPORA:
        raise DataError(f"unknown corpus {name!r}; known: {sorted(_CORPORA)}")
    folder = Path(datasets_root) / CORPUS_INFO[name]["folder"]
    if not folder.is_dir():
        raise DataError(f"{folder}: corpus folder for {name!r} not found")
    return folder


def load_raw(name: str, datasets_root: str | Path) -> Dataset:
    """The corpus as published: ``text``, ``source_split`` and the corpus's own columns."""
    return _CORPORA[name][0](_folder(name, datasets_root))


def load_corpus(
    name: str, datasets_root: str | Path, *, purpose: Purpose = "train"
) -> list[GoldTurn]:
    """Gold turns of every split. For training, a corpus marked not trainable is refused."""
    folder = _folder(name, datasets_root)
    info = CORPUS_INFO[name]
    if purpose == "train" and not info["trainable"]:
        raise DataError(
            f"corpus {name!r} is for evaluation only ({info['licence']}; {info['mapping']}); "
            "remove it from [public] corpora of the training config"
        )
    turns = _load_cached(name, folder, _signature(folder))
    return list(turns if purpose == "eval" else (t for t in turns if "eval_only" not in t.meta))


def _signature(folder: Path) -> tuple[tuple[str, int, int], ...]:
    return tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.iterdir()))


@functools.lru_cache(maxsize=32)
def _load_cached(
    name: str, folder: Path, signature: tuple[tuple[str, int, int], ...]
) -> tuple[GoldTurn, ...]:
    """Parsed once per process while the folder's files are unchanged (GoldTurns are frozen):
    a transfer study trains a dozen models on the same corpora."""
    raw, gold = _CORPORA[name]
    return tuple(t for t in gold(raw(folder), folder) if t.text)


def _train_loader(name: str) -> Callable[[Path], list[GoldTurn]]:
    raw, gold = _CORPORA[name]
    return lambda folder: gold(raw(folder), folder)


# name -> loader(corpus folder) -> every gold turn the mapping yields (the older interface).
LOADERS: dict[str, Callable[[Path], list[GoldTurn]]] = {
    name: _train_loader(name) for name in _CORPORA
}


def corpus_summary(turns: list[GoldTurn]) -> str:
    return json.dumps({"turns": len(turns), "positives": sum(bool(t.labels) for t in turns)})
