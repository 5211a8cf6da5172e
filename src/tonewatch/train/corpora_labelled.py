"""The labelled public corpora: for each, ``raw_<name>(folder)`` reads the files as published
into a ``datasets.Dataset`` and ``gold_<name>(dataset, folder)`` maps it onto the taxonomy as
documented in ``corpora_info.CORPUS_INFO``.

Their ids are kept exactly as the first loaders made them: their hash splits are what shipped
models were tested on. Corpora added later live in ``corpora_added``.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from tonewatch.train.corpus_io import (
    ABUSE,
    ATTACK,
    concat,
    from_generator,
    gold_turn,
    need,
    read_csv,
    read_lines,
    with_split,
)
from tonewatch.train.gold import GoldTurn, conversation_split

if TYPE_CHECKING:
    from datasets import Dataset

HOSTILE = frozenset({"offensive", "abusive", "hateful", "disrespectful"})


def raw_davidson(root: Path) -> Dataset:
    return with_split(read_csv(root / "labeled_data.csv").rename_column("tweet", "text"), None)


def gold_davidson(ds: Dataset, root: Path) -> list[GoldTurn]:
    mapping = {"0": {"personal_attack"}, "1": {"profanity"}, "2": set()}
    return [
        gold_turn("davidson", i, r["text"], mapping[r["class"]], ABUSE, **{"class": r["class"]})
        for i, r in enumerate(ds.to_list())
    ]


def raw_germeval2018(root: Path) -> Dataset:
    names = ["text", "coarse", "fine"]
    return concat(
        [
            with_split(
                read_csv(
                    root / f"germeval2018.{name}.txt", sep="\t", names=names, quoting=csv.QUOTE_NONE
                ),
                split,
            )
            for name, split in (("training", "train"), ("test", "test"))
        ]
    )


def gold_germeval2018(ds: Dataset, root: Path) -> list[GoldTurn]:
    fine = {"INSULT": {"personal_attack"}, "ABUSE": {"personal_attack"}, "PROFANITY": {"profanity"}}
    out: list[GoldTurn] = []
    for r in ds.to_list():
        # The training file is split by its line number (it comes first, so that is len(out)).
        split = (
            "test"
            if r["source_split"] == "test"
            else conversation_split(f"ge-{len(out)}", test=0.0)
        )
        label = r["fine"].strip()
        out.append(
            gold_turn(
                "germeval2018",
                len(out),
                r["text"],
                fine.get(label, set()),
                ABUSE,
                split,
                coarse=r["coarse"].strip(),
                fine=label,
            )
        )
    return out


def raw_kocohub(root: Path) -> Dataset:
    return concat(
        [with_split(read_csv(root / f"{name}.tsv", sep="\t"), name) for name in ("train", "dev")]
    ).rename_column("comments", "text")


def gold_kocohub(ds: Dataset, root: Path) -> list[GoldTurn]:
    # dev.tsv is the labelled benchmark split: it is all test; train.tsv is hashed.
    return [
        gold_turn(
            "kocohub",
            i,
            r["text"],
            {"personal_attack"} if r["hate"] in {"hate", "offensive"} else set(),
            ATTACK,
            "test" if r["source_split"] == "dev" else None,
            hate=r["hate"],
            source_split=r["source_split"],
        )
        for i, r in enumerate(ds.to_list())
    ]


def raw_korean_curse(root: Path) -> Dataset:
    # "comment|label"; comments may hold "|" themselves, so split on the last one.
    def parse(row: dict[str, str]) -> dict[str, str]:
        text, _, label = row["text"].rpartition("|")
        return {"text": text, "label": label.strip()}

    return with_split(read_lines(root / "dataset.txt").map(parse), None)


def gold_korean_curse(ds: Dataset, root: Path) -> list[GoldTurn]:
    rows = [r for r in ds.to_list() if r["text"] and r["label"] in {"0", "1"}]
    return [
        gold_turn(
            "korean_curse",
            i,
            r["text"],
            {"profanity"} if r["label"] == "1" else set(),
            frozenset({"profanity"}),
            label=r["label"],
        )
        for i, r in enumerate(rows)
    ]


def raw_arabic_offensive(root: Path) -> Dataset:
    return with_split(read_csv(root / "arabic_offensive_unified.csv"), None)


def gold_arabic_offensive(ds: Dataset, root: Path) -> list[GoldTurn]:
    out, extra = [], []
    for i, r in enumerate(ds.to_list()):
        if r["offensive"] not in {"0", "1"}:
            continue
        labels = set()
        if r["offensive"] == "1" and r["target"] == "individual":
            labels.add("personal_attack")
        if r["vulgar"] in {"1", "1.0"}:
            labels.add("profanity")
        meta = {"offensive": r["offensive"], "source_id": r["source_id"]}
        if r["offensive"] == "1" and r["target"] != "individual" and not labels:
            # Offensive toward a group: neither a clean turn nor a personal attack.
            extra.append(
                gold_turn(
                    "arabic_offensive",
                    f"x{i}",
                    r["text"],
                    set(),
                    frozenset(),
                    eval_only="1",
                    **meta,
                )
            )
            continue
        # Profanity is only known where the source annotated vulgarity.
        known = ABUSE if r["vulgar"] != "" else ATTACK
        out.append(gold_turn("arabic_offensive", len(out), r["text"], labels, known, **meta))
    return out + extra


def raw_mlma(root: Path, lang: str) -> Dataset:
    name = "en_dataset_with_stop_words.csv" if lang == "en" else f"{lang}_dataset.csv"
    return with_split(read_csv(root / name).rename_column("tweet", "text"), None)


def mlma_label(r: dict[str, str]) -> set[str] | None:
    """personal_attack, clean (empty set) or None where the mapping cannot say."""
    kinds = set(r["sentiment"].split("_"))
    if kinds == {"normal"}:
        return set()
    if r["target"] and r["group"] == "individual" and kinds & HOSTILE:
        return {"personal_attack"}
    return None


def gold_mlma_fr(ds: Dataset, root: Path) -> list[GoldTurn]:
    out, extra = [], []
    for i, r in enumerate(ds.to_list()):
        labels = mlma_label(r)
        hostile = "0" if r["sentiment"] == "normal" else "1"
        if labels is None:
            extra.append(
                gold_turn(
                    "mlma_fr",
                    f"x{i}",
                    r["text"],
                    set(),
                    frozenset(),
                    eval_only="1",
                    hostile=hostile,
                )
            )
        else:
            out.append(gold_turn("mlma_fr", len(out), r["text"], labels, ATTACK, hostile=hostile))
    return out + extra


def _ban_pl_rows(path: str) -> Iterator[dict[str, str]]:
    # The authors password-protect the zip "to prevent automatic scraping"; read it in memory.
    with zipfile.ZipFile(path) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".csv"))
        raw = archive.read(name, pwd=b"BAN-PL_1").decode("utf-8")
    for r in csv.DictReader(io.StringIO(raw)):
        yield {"id": r["id"], "text": r["Text"], "label": r["Class"], "source_split": ""}


def raw_ban_pl(root: Path) -> Dataset:
    path = str(need(root / "BAN-PL_1.zip"))
    return from_generator(_ban_pl_rows, ("id", "text", "label", "source_split"), path=path)


def gold_ban_pl(ds: Dataset, root: Path) -> list[GoldTurn]:
    return [
        gold_turn(
            "ban_pl",
            i,
            r["text"],
            {"personal_attack"} if r["label"] == "1" else set(),
            ATTACK,
            label=r["label"],
        )
        for i, r in enumerate(ds.to_list())
    ]


def raw_convabuse(root: Path) -> Dataset:
    return concat(
        [
            with_split(read_csv(root / f"ConvAbuseEMNLP{name}.csv"), split)
            for name, split in (("train", "train"), ("valid", "dev"), ("test", "test"))
        ]
    ).rename_column("user", "text")


def gold_convabuse(ds: Dataset, root: Path) -> list[GoldTurn]:
    out = []
    columns = [c for c in ds.column_names if c.startswith("Annotator") and "_is_abuse." in c]
    for r in ds.to_list():
        votes = [c for c in columns if r[c] == "1"]
        abusive = sum(1 for c in votes if c.endswith((".-1", ".-2", ".-3")))
        out.append(
            gold_turn(
                "convabuse",
                len(out),
                r["text"],
                {"personal_attack"} if abusive * 2 > len(votes) else set(),
                ATTACK,
                r["source_split"],
                abusive_votes=str(abusive),
                votes=str(len(votes)),
            )
        )
    return out


def raw_spanish_toxicity(root: Path) -> Dataset:
    keep = ["text", "coder_1", "coder_2", "TOXICITY"]
    parts = []
    for name in ("goldstd_protests.csv", "goldstd_Convention.csv"):
        ds = read_csv(root / name)
        parts.append(with_split(ds.select_columns(keep), None).add_column("file", [name] * len(ds)))
    return concat(parts)


def gold_spanish_toxicity(ds: Dataset, root: Path) -> list[GoldTurn]:
    out = []
    for r in ds.to_list():
        coders = {r["coder_1"], r["coder_2"]}
        if coders in ({"1"}, {"0"}):  # the two human coders agree
            out.append(
                gold_turn(
                    "spanish_toxicity",
                    len(out),
                    r["text"],
                    {"personal_attack"} if coders == {"1"} else set(),
                    ATTACK,
                    toxic=r["coder_1"],
                    perspective_toxicity=r["TOXICITY"],
                )
            )
    return out


def raw_politeness(root: Path) -> Dataset:
    return concat(
        [
            with_split(read_csv(root / f"{name}.annotated.csv"), None).rename_column(
                "Request", "text"
            )
            for name in ("stack-exchange", "wikipedia")
        ]
    )


# Polite and neutral requests (top three quartiles) are negatives for the flags no editor's
# request carries: ordinary asks and future plans must not read as leverage or demands.
POLITE_NEGATIVES = frozenset(
    {
        "threat",
        "reputation_threat",
        "legal_threat",
        "payment_evasion",
        "promise_claim",
        "unreasonable_demand",
    }
)


def gold_politeness(ds: Dataset, root: Path) -> list[GoldTurn]:
    scores = [float(s) for s in ds["Normalized Score"]]
    ordered = sorted(scores)
    q1, q3 = ordered[len(ordered) // 4], ordered[3 * len(ordered) // 4]
    out, extra = [], []
    for i, (r, score) in enumerate(zip(ds.to_list(), scores, strict=True)):
        if score < q1:
            # Impolite requests are not reliably "frustrated" or "hostile": evaluation only
            # (the corpus's own task: top vs bottom quartile).
            extra.append(
                gold_turn(
                    "politeness",
                    f"x{i}",
                    r["text"],
                    set(),
                    frozenset(),
                    score=str(score),
                    quartile="bottom",
                    eval_only="1",
                )
            )
            continue
        tone = "polite" if score >= q3 else "neutral"
        out.append(
            gold_turn(
                "politeness",
                len(out),
                r["text"],
                set(),
                POLITE_NEGATIVES,
                tone=tone,
                score=str(score),
                quartile="top" if tone == "polite" else "middle",
            )
        )
    return out + extra
