"""Loaders for the public corpora in ``shared/datasets/``, each mapped onto the taxonomy.

Every loader documents its mapping; ``known`` names only the labels the corpus really
annotates. Where a corpus has an official test split it is kept as ``test``; otherwise a
deterministic hash split is used. Licences travel into the model card via ``CORPUS_INFO``.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

from tonewatch.train.gold import GoldTurn, conversation_split

ABUSE = frozenset({"personal_attack", "profanity"})

CORPUS_INFO: dict[str, dict[str, str]] = {
    "davidson": {
        "folder": "davidson-hate-offensive",
        "lang": "en",
        "licence": "MIT",
        "mapping": "hate -> personal_attack; offensive -> profanity; neither -> clean",
    },
    "germeval2018": {
        "folder": "germeval2018",
        "lang": "de",
        "licence": "CC BY 4.0",
        "mapping": "INSULT, ABUSE -> personal_attack; PROFANITY -> profanity; OTHER -> clean",
    },
    "kocohub": {
        "folder": "korean-hate-speech-kocohub",
        "lang": "ko",
        "licence": "CC BY-SA 4.0",
        "mapping": "hate, offensive -> personal_attack; none -> clean (profanity unknown)",
    },
    "korean_curse": {
        "folder": "korean-curse-detection",
        "lang": "ko",
        "licence": "MIT",
        "mapping": "1 -> profanity; 0 -> clean (personal_attack unknown)",
    },
    "arabic_offensive": {
        "folder": "arabic-offensive-vanetik",
        "lang": "ar",
        "licence": "GPL-3.0 (sources keep their own terms)",
        "mapping": "offensive & target individual -> personal_attack; vulgar -> profanity; "
        "offensive 0 -> clean",
    },
    "mlma_fr": {
        "folder": "mlma",
        "lang": "fr",
        "licence": "MIT",
        "mapping": "offensive/abusive/hateful/disrespectful with target individual -> "
        "personal_attack; normal -> clean",
    },
    "ban_pl": {
        "folder": "ban-pl",
        "lang": "pl",
        "licence": "CC BY 4.0",
        "mapping": "harmful (1) -> personal_attack (weak: includes profanity); 0 -> clean",
    },
    "convabuse": {
        "folder": "convabuse",
        "lang": "en",
        "licence": "CC BY 4.0",
        "mapping": "majority abusive -> personal_attack; otherwise clean",
    },
    "spanish_toxicity": {
        "folder": "spanish-toxicity-goldstd",
        "lang": "es",
        "licence": "CC BY 4.0",
        "mapping": "both coders toxic -> personal_attack (weak); both not -> clean",
    },
    "politeness": {
        "folder": "stanford-politeness",
        "lang": "en",
        "licence": "Apache-2.0",
        "mapping": "tone only: top quartile -> polite, middle half -> neutral",
    },
}


def _turn(
    corpus: str,
    idx: int,
    text: str,
    labels: set[str],
    known: frozenset[str],
    split: str | None = None,
    tone: str | None = None,
) -> GoldTurn:
    info = CORPUS_INFO[corpus]
    conv = f"{corpus}-{idx}"
    return GoldTurn(
        id=conv,
        text=text.strip(),
        lang=info["lang"],
        labels=frozenset(labels),
        known=known,
        corpus=corpus,
        conversation=conv,
        split=split or conversation_split(conv),
        tone=tone,
    )


def _csv(path: Path, **kwargs: object) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, **kwargs))  # type: ignore[arg-type]


def load_davidson(root: Path) -> list[GoldTurn]:
    rows = _csv(root / "labeled_data.csv")
    mapping = {"0": {"personal_attack"}, "1": {"profanity"}, "2": set()}
    return [
        _turn("davidson", i, r["tweet"], mapping[r["class"]], ABUSE) for i, r in enumerate(rows)
    ]


def load_germeval2018(root: Path) -> list[GoldTurn]:
    out = []
    for name, split in (("germeval2018.training.txt", None), ("germeval2018.test.txt", "test")):
        for i, line in enumerate((root / name).read_text(encoding="utf-8").splitlines()):
            parts = line.split("\t")
            if len(parts) < 3:
                continue
            coarse = parts[2].strip()
            labels = {
                "INSULT": {"personal_attack"},
                "ABUSE": {"personal_attack"},
                "PROFANITY": {"profanity"},
            }.get(coarse, set())
            out.append(
                _turn(
                    "germeval2018",
                    len(out),
                    parts[0],
                    labels,
                    ABUSE,
                    split or conversation_split(f"ge-{i}", test=0.0),
                )
            )
    return out


def load_kocohub(root: Path) -> list[GoldTurn]:
    out = []
    for name, split in (("train.tsv", None), ("dev.tsv", "test")):
        for r in _csv(root / name, delimiter="\t"):
            labels = {"personal_attack"} if r["hate"] in {"hate", "offensive"} else set()
            out.append(
                _turn(
                    "kocohub",
                    len(out),
                    r["comments"],
                    labels,
                    frozenset({"personal_attack"}),
                    split,
                )
            )
    return out


def load_korean_curse(root: Path) -> list[GoldTurn]:
    out = []
    for line in (root / "dataset.txt").read_text(encoding="utf-8").splitlines():
        text, _, label = line.rpartition("|")
        if text and label.strip() in {"0", "1"}:
            out.append(
                _turn(
                    "korean_curse",
                    len(out),
                    text,
                    {"profanity"} if label.strip() == "1" else set(),
                    frozenset({"profanity"}),
                )
            )
    return out


def load_arabic_offensive(root: Path) -> list[GoldTurn]:
    out = []
    for r in _csv(root / "arabic_offensive_unified.csv"):
        if r["offensive"] not in {"0", "1"}:
            continue
        labels = set()
        if r["offensive"] == "1" and r["target"] == "individual":
            labels.add("personal_attack")
        if r["vulgar"] in {"1", "1.0"}:
            labels.add("profanity")
        # Profanity is only known where the source annotated vulgarity.
        known = ABUSE if r["vulgar"] != "" else frozenset({"personal_attack"})
        if r["offensive"] == "1" and r["target"] != "individual" and not labels:
            continue  # offensive toward a group: neither a clean turn nor a personal attack
        out.append(_turn("arabic_offensive", len(out), r["text"], labels, known))
    return out


def load_mlma_fr(root: Path) -> list[GoldTurn]:
    out = []
    for r in _csv(root / "fr_dataset.csv"):
        kinds = set(r["sentiment"].split("_"))
        if kinds == {"normal"}:
            labels: set[str] = set()
        elif (
            r["target"]
            and r["group"] == "individual"
            and kinds & {"offensive", "abusive", "hateful", "disrespectful"}
        ):
            labels = {"personal_attack"}
        else:
            continue
        out.append(_turn("mlma_fr", len(out), r["tweet"], labels, frozenset({"personal_attack"})))
    return out


def load_ban_pl(root: Path) -> list[GoldTurn]:
    with zipfile.ZipFile(root / "BAN-PL_1.zip") as archive:
        name = next(n for n in archive.namelist() if n.endswith(".csv"))
        raw = archive.read(name, pwd=b"BAN-PL_1").decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(raw)))
    return [
        _turn(
            "ban_pl",
            i,
            r["Text"],
            {"personal_attack"} if r["Class"] == "1" else set(),
            frozenset({"personal_attack"}),
        )
        for i, r in enumerate(rows)
    ]


def load_convabuse(root: Path) -> list[GoldTurn]:
    out = []
    for name, split in (("train", "train"), ("valid", "dev"), ("test", "test")):
        for r in _csv(root / f"ConvAbuseEMNLP{name}.csv"):
            votes = [
                k for k in r if k.startswith("Annotator") and "_is_abuse." in k and r[k] == "1"
            ]
            abusive = sum(1 for k in votes if k.endswith((".-1", ".-2", ".-3")))
            out.append(
                _turn(
                    "convabuse",
                    len(out),
                    r["user"],
                    {"personal_attack"} if abusive * 2 > len(votes) else set(),
                    frozenset({"personal_attack"}),
                    split,
                )
            )
    return out


def load_spanish_toxicity(root: Path) -> list[GoldTurn]:
    out = []
    for name in ("goldstd_protests.csv", "goldstd_Convention.csv"):
        for r in _csv(root / name):
            coders = {r.get("coder_1"), r.get("coder_2")}
            if coders in ({"1"}, {"0"}):
                out.append(
                    _turn(
                        "spanish_toxicity",
                        len(out),
                        r["text"],
                        {"personal_attack"} if coders == {"1"} else set(),
                        frozenset({"personal_attack"}),
                    )
                )
    return out


def load_politeness(root: Path) -> list[GoldTurn]:
    rows = _csv(root / "stack-exchange.annotated.csv") + _csv(root / "wikipedia.annotated.csv")
    scores = sorted(float(r["Normalized Score"]) for r in rows)
    q1, q3 = scores[len(scores) // 4], scores[3 * len(scores) // 4]
    out = []
    for r in rows:
        score = float(r["Normalized Score"])
        if score < q1:
            continue  # impolite requests are not reliably "frustrated" or "hostile"
        tone = "polite" if score >= q3 else "neutral"
        out.append(_turn("politeness", len(out), r["Request"], set(), frozenset(), tone=tone))
    return out


LOADERS: dict[str, Callable[[Path], list[GoldTurn]]] = {
    "davidson": load_davidson,
    "germeval2018": load_germeval2018,
    "kocohub": load_kocohub,
    "korean_curse": load_korean_curse,
    "arabic_offensive": load_arabic_offensive,
    "mlma_fr": load_mlma_fr,
    "ban_pl": load_ban_pl,
    "convabuse": load_convabuse,
    "spanish_toxicity": load_spanish_toxicity,
    "politeness": load_politeness,
}


def load_corpus(name: str, datasets_root: str | Path) -> list[GoldTurn]:
    root = Path(datasets_root) / CORPUS_INFO[name]["folder"]
    return [t for t in LOADERS[name](root) if t.text]


def corpus_summary(turns: list[GoldTurn]) -> str:
    return json.dumps({"turns": len(turns), "positives": sum(bool(t.labels) for t in turns)})
