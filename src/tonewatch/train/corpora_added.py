"""Labelled corpora added after the first ten: ToLD-BR (pt), GermEval 2025/26 harmful content
(de), MLMA English and Arabic. Rows are numbered by their position in the file, so a row keeps
its split whatever the mapping does with it; rows the mapping cannot use are kept for
evaluation only (``meta["eval_only"]``). Mappings are documented in ``CORPUS_INFO``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tonewatch.train.corpora_info import CORPUS_INFO
from tonewatch.train.corpora_labelled import (
    ATTACK,
    gold_arabic_offensive,
    mlma_label,
    raw_arabic_offensive,
)
from tonewatch.train.corpus_io import gold_turn, hf_datasets, read_csv, votes, with_split
from tonewatch.train.gold import GoldTurn

if TYPE_CHECKING:
    from datasets import Dataset


def _gold_mlma(corpus: str, ds: Dataset, splits: dict[str, str] | None = None) -> list[GoldTurn]:
    out = []
    for i, r in enumerate(ds.to_list()):
        labels = mlma_label(r)
        split = (splits or {}).get(r["text"].strip())
        meta = {"hostile": "0" if r["sentiment"] == "normal" else "1"}
        if labels is None:
            meta["eval_only"] = "1"
        out.append(
            gold_turn(
                corpus,
                i,
                r["text"],
                labels or set(),
                ATTACK if labels is not None else frozenset(),
                split,
                **meta,
            )
        )
    return out


def gold_mlma_en(ds: Dataset, root: Path) -> list[GoldTurn]:
    return _gold_mlma("mlma_en", ds)


def gold_mlma_ar(ds: Dataset, root: Path) -> list[GoldTurn]:
    # The same tweets are source ID2 of arabic_offensive: give each the split its copy has
    # there, so a model trained on either corpus is never tested on a tweet it saw.
    folder = root.parent / CORPUS_INFO["arabic_offensive"]["folder"]
    splits = {}
    if folder.is_dir():
        for t in gold_arabic_offensive(raw_arabic_offensive(folder), folder):
            if t.meta.get("source_id") == "2":
                splits.setdefault(t.text, t.split)
    return _gold_mlma("mlma_ar", ds, splits)


TOLD_HATE = ("homophobia", "racism", "misogyny", "xenophobia")


def raw_told_br(root: Path) -> Dataset:
    return with_split(read_csv(root / "ToLD-BR.csv"), None)


def gold_told_br(ds: Dataset, root: Path) -> list[GoldTurn]:
    """Each column counts the 3 annotators who flagged it: >= 2 is a label, 0 is its absence,
    a lone vote leaves the label unknown (the head for it never sees the row)."""
    out = []
    for i, r in enumerate(ds.to_list()):
        attack = max(votes(r[c]) for c in ("insult", *TOLD_HATE))
        obscene = votes(r["obscene"])
        labels, known = set(), set()
        for label, count in (("personal_attack", attack), ("profanity", obscene)):
            if count != 1:
                known.add(label)
                if count >= 2:
                    labels.add(label)
        toxic = "1" if max(attack, obscene) >= 1 else "0"  # the paper's binary task
        meta = {"toxic": toxic} | ({} if known else {"eval_only": "1"})
        out.append(gold_turn("told_br", i, r["text"], labels, frozenset(known), **meta))
    return out


GERMEVAL25_TASKS = {
    "vio": "vio_vio_train_26.csv",
    "def": "def_def_train.csv",
    "c2a": "c2a_c2a_train_26.csv",
}


def raw_germeval2025(root: Path) -> Dataset:
    """One row per tweet id, with the label of each subtask that annotated it ('' if none)."""
    rows: dict[str, dict[str, str]] = {}
    for task, name in GERMEVAL25_TASKS.items():
        for r in read_csv(root / name, sep=";"):
            row = rows.setdefault(
                r["id"],
                {
                    "id": r["id"],
                    "text": r["description"],
                    "vio": "",
                    "def": "",
                    "c2a": "",
                    "source_split": "",
                },
            )
            row[task] = r[{"def": "DEF"}.get(task, task)]
    return hf_datasets().Dataset.from_list(list(rows.values()))


def gold_germeval2025(ds: Dataset, root: Path) -> list[GoldTurn]:
    out = []
    for r in ds.to_list():
        labels, known = set(), set()
        if r["vio"] in {"propensity", "prospensity", "call2violence", "call2Violence", "nothing"}:
            known.add("threat")
            if r["vio"] != "nothing":
                labels.add("threat")
        if r["def"] in {"TRUE", "FALSE"}:
            known.add("personal_attack")
            if r["def"] == "TRUE":
                labels.add("personal_attack")
        meta = {"vio": r["vio"], "def": r["def"], "c2a": r["c2a"]}
        if not known:
            meta["eval_only"] = "1"
        out.append(gold_turn("germeval2025", r["id"], r["text"], labels, frozenset(known), **meta))
    return out
