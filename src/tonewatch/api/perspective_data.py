"""Human-labelled rows for fitting and checking the Perspective attribute maps.

Only rows no shipped model was trained on are used. tonewatch trains on the ``train`` split of
each public corpus and on the ``train``/``dev`` splits of the project's annotations
(``tonewatch.train.trainer``), so here:

- corpora tonewatch trains on: their ``dev`` split fits the map, their ``test`` split checks it
  (ConvAbuse: its official ``valid`` and ``test`` files);
- corpora it never sees (GermEval 2025/26, MLMA English): 70 % fits, 30 % checks (hash split);
- the project's annotations: their ``test`` split only, halved by conversation into fit and
  check: few rows, but the support domain the maps are for.

Each row keeps the corpus it came from, so the fit can weight corpora equally and the report
can show the fit quality per corpus. Sources and label mappings per attribute are in
``SOURCES`` (documented in docs/api.md).
"""

from __future__ import annotations

import csv
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tonewatch.train.corpora import load_corpus
from tonewatch.train.gold import conversation_split, read_annotations


@dataclass(frozen=True)
class Row:
    corpus: str
    id: str
    text: str
    lang: str
    y: int
    part: str  # fit | eval
    perspective: dict[str, float] | None = None  # Perspective's own scores, where published


def _csv(path: Path, **kwargs: object) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, **kwargs))  # type: ignore[arg-type]


def _part_of_trained(corpus: str, idx: int, split: str | None = None) -> str | None:
    split = split or conversation_split(f"{corpus}-{idx}")
    return {"dev": "fit", "test": "eval"}.get(split)  # train rows: the model saw them


def _part_of_unseen(key: str) -> str:
    return "eval" if conversation_split(key, dev=0.0, test=0.3) == "test" else "fit"


def _part_of_unseen_half(key: str) -> str:
    return "eval" if conversation_split(key, dev=0.0, test=0.5) == "test" else "fit"


# -- raw readers, each yielding (idx, part, text, fine label, extras) ---------------------


def davidson(root: Path) -> Iterator[tuple[str, str, str, str, dict[str, float]]]:
    rows = _csv(root / "davidson-hate-offensive" / "labeled_data.csv")
    for i, r in enumerate(rows):
        part = _part_of_trained("davidson", i)
        if part:
            label = {"0": "hate", "1": "offensive", "2": "neither"}[r["class"]]
            yield f"davidson-{i}", part, r["tweet"], label, {}


def germeval2018(root: Path) -> Iterator[tuple[str, str, str, str, dict[str, float]]]:
    # Same numbering as tonewatch.train.corpora.load_germeval2018.
    n = 0
    for name, official_test in (
        ("germeval2018.training.txt", False),
        ("germeval2018.test.txt", True),
    ):
        lines = (root / "germeval2018" / name).read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            parts = line.split("\t")
            if len(parts) < 3:
                continue
            split = "test" if official_test else conversation_split(f"ge-{i}", test=0.0)
            part = _part_of_trained("germeval2018", n, split)
            n += 1
            if part:
                yield f"germeval2018-{n - 1}", part, parts[0], parts[2].strip(), {}


def spanish(root: Path) -> Iterator[tuple[str, str, str, str, dict[str, float]]]:
    n = 0
    columns = ("TOXICITY", "SEVERE_TOXICITY", "INSULT_EXPERIMENTAL", "THREAT_EXPERIMENTAL")
    for name in ("goldstd_protests.csv", "goldstd_Convention.csv"):
        for r in _csv(root / "spanish-toxicity-goldstd" / name):
            coders = {r.get("coder_1"), r.get("coder_2")}
            if coders not in ({"1"}, {"0"}):
                continue  # the coders disagree: no clean label (and not numbered by training)
            part = _part_of_trained("spanish_toxicity", n)
            n += 1
            extras = {c: float(r[c]) for c in columns if r.get(c) not in (None, "", "NA")}
            if part:
                label = "toxic" if coders == {"1"} else "clean"
                yield f"spanish_toxicity-{n - 1}", part, r["text"], label, extras


def convabuse(root: Path) -> Iterator[tuple[str, str, str, str, dict[str, float]]]:
    """Fine label: comma-joined majority tags ``abusive``, ``severe`` (severity -2/-3),
    ``identity`` (ableist, homophobic, racist, sexist or transphobic)."""
    identity = ("ableist", "homophobic", "racist", "sexist", "transphobic")
    for name, part in (("valid", "fit"), ("test", "eval")):  # "train" trained the model
        for i, r in enumerate(_csv(root / "convabuse" / f"ConvAbuseEMNLP{name}.csv")):
            votes = [
                k for k in r if k.startswith("Annotator") and "_is_abuse." in k and r[k] == "1"
            ]
            levels = [int(k.rsplit(".", 1)[1]) for k in votes]
            annotators = {k.split("_")[0] for k in votes}

            def majority(count: int, total: int) -> bool:
                return total > 0 and 2 * count > total

            tags = []
            if majority(sum(level < 0 for level in levels), len(levels)):
                tags.append("abusive")
            if majority(sum(level <= -2 for level in levels), len(levels)):
                tags.append("severe")
            if any(
                majority(sum(r.get(f"{a}_{kind}") == "1" for a in annotators), len(annotators))
                for kind in identity
            ):
                tags.append("identity")
            yield f"convabuse-{name}-{i}", part, r["user"], ",".join(tags), {}


def korean_curse(root: Path) -> Iterator[tuple[str, str, str, str, dict[str, float]]]:
    n = 0
    for line in (root / "korean-curse-detection" / "dataset.txt").read_text("utf-8").splitlines():
        text, _, label = line.rpartition("|")
        if not (text and label.strip() in {"0", "1"}):
            continue
        part = _part_of_trained("korean_curse", n)
        n += 1
        if part:
            yield f"korean_curse-{n - 1}", part, text, label.strip(), {}


def germeval2025_violence(root: Path) -> Iterator[tuple[str, str, str, str, dict[str, float]]]:
    path = root / "germeval2025-26-harmful" / "vio_vio_train_26.csv"
    for i, r in enumerate(_csv(path, delimiter=";")):
        yield f"gev-{i}", _part_of_unseen(f"gev-{i}"), r["description"], r["vio"], {}


def germeval2025_defamation(root: Path) -> Iterator[tuple[str, str, str, str, dict[str, float]]]:
    path = root / "germeval2025-26-harmful" / "def_def_train.csv"
    for i, r in enumerate(_csv(path, delimiter=";")):
        yield f"ged-{i}", _part_of_unseen(f"ged-{i}"), r["description"], r["DEF"], {}


def mlma_en(root: Path) -> Iterator[tuple[str, str, str, str, dict[str, float]]]:
    for i, r in enumerate(_csv(root / "mlma" / "en_dataset_with_stop_words.csv")):
        kinds = set(r["sentiment"].split("_"))
        if kinds == {"normal"}:
            label = "normal"
        elif "hateful" in kinds and r["group"] != "individual" and r["target"] != "other":
            label = "identity_hate"
        else:
            continue
        yield f"mlma_en-{i}", _part_of_unseen(f"mlma_en-{i}"), r["tweet"], label, {}


def project(annotations: Path) -> Iterator[tuple[str, str, str, str, dict[str, float]]]:
    for path in sorted(annotations.glob("*.jsonl")):
        for t in read_annotations(path):
            if t.split == "test":
                part = _part_of_unseen_half(f"project-{t.conversation}")
                yield t.id, part, t.text, ",".join(sorted(t.labels)), {"lang": t.lang}


Reader = Callable[[Path], Iterator[tuple[str, str, str, str, dict[str, float]]]]
READERS: dict[str, tuple[Reader, str]] = {
    "davidson": (davidson, "en"),
    "germeval2018": (germeval2018, "de"),
    "spanish_toxicity": (spanish, "es"),
    "korean_curse": (korean_curse, "ko"),
    "convabuse": (convabuse, "en"),
    "germeval2025_violence": (germeval2025_violence, "de"),
    "germeval2025_defamation": (germeval2025_defamation, "de"),
    "mlma_en": (mlma_en, "en"),
    "project": (project, ""),
}


def _has(label: str) -> Callable[[str], int | None]:
    return lambda fine: int(label in fine.split(","))


_VIOLENCE = {"prospensity": 1, "call2violence": 1, "nothing": 0}  # other kinds left out

# attribute -> corpus -> fine label -> 1 / 0 / None (row left out)
SOURCES: dict[str, dict[str, Callable[[str], int | None]]] = {
    "TOXICITY": {
        "spanish_toxicity": lambda f: int(f == "toxic"),
        "davidson": lambda f: int(f != "neither"),
        "germeval2018": lambda f: int(f != "OTHER"),
        "convabuse": _has("abusive"),
    },
    "SEVERE_TOXICITY": {
        "davidson": lambda f: int(f == "hate"),
        "germeval2018": lambda f: int(f == "ABUSE"),
        "germeval2025_violence": _VIOLENCE.get,
        "convabuse": _has("severe"),
    },
    "INSULT": {
        "germeval2018": lambda f: int(f in {"INSULT", "ABUSE"}),
        "germeval2025_defamation": lambda f: int(f == "TRUE"),
        "convabuse": _has("abusive"),
        "project": _has("personal_attack"),
    },
    "PROFANITY": {
        "germeval2018": lambda f: {"PROFANITY": 1, "OTHER": 0}.get(f),
        "davidson": lambda f: {"offensive": 1, "neither": 0}.get(f),
        "korean_curse": lambda f: int(f == "1"),
        "project": _has("profanity"),
    },
    "THREAT": {
        "germeval2025_violence": _VIOLENCE.get,
        "project": _has("threat"),
    },
    "IDENTITY_ATTACK": {
        "davidson": lambda f: int(f == "hate"),
        "germeval2018": lambda f: int(f == "ABUSE"),
        "mlma_en": lambda f: int(f == "identity_hate"),
        "convabuse": _has("identity"),
    },
}


def labelled_rows(
    datasets: Path, annotations: Path, *, cap: int = 1500, seed: int = 13
) -> dict[str, list[Row]]:
    """attribute -> rows. Per corpus and part at most ``cap`` rows: a random sample that keeps
    every positive when positives are rare (under a fifth of the cap)."""
    rng = random.Random(seed)
    raw: dict[str, list[tuple[str, str, str, str, dict[str, float]]]] = {}
    for corpus, (reader, _) in READERS.items():
        root = annotations if corpus == "project" else datasets
        raw[corpus] = list(reader(root))
    _check_alignment(datasets, raw)
    out: dict[str, list[Row]] = {}
    for attribute, sources in SOURCES.items():
        rows: list[Row] = []
        for corpus, to_y in sources.items():
            lang = READERS[corpus][1]
            for part in ("fit", "eval"):
                picked = []
                for rid, p, text, fine, extras in raw[corpus]:
                    y = to_y(fine) if p == part and text.strip() else None
                    if y is not None:
                        row_lang = str(extras.get("lang", lang)) if corpus == "project" else lang
                        scores = {k: v for k, v in extras.items() if k != "lang"} or None
                        picked.append(Row(corpus, rid, text.strip(), row_lang, y, part, scores))
                rows += _sample(picked, cap, rng)
        out[attribute] = rows
    return out


def _sample(rows: list[Row], cap: int, rng: random.Random) -> list[Row]:
    if len(rows) <= cap:
        return rows
    positives = [r for r in rows if r.y]
    if len(positives) < cap // 5:
        negatives = [r for r in rows if not r.y]
        return positives + rng.sample(negatives, cap - len(positives))
    return rng.sample(rows, cap)


def _check_alignment(datasets: Path, raw: dict[str, list]) -> None:  # type: ignore[type-arg]
    """Our numbering must be the trainer's, or held-out rows could be training rows."""
    names = {
        "davidson": "davidson",
        "germeval2018": "germeval2018",
        "spanish_toxicity": "spanish_toxicity",
        "korean_curse": "korean_curse",
    }
    for corpus, name in names.items():
        gold = {t.id: t for t in load_corpus(name, datasets)}
        for rid, _, text, _, _ in raw[corpus][:2000]:
            if not text.strip():
                continue
            turn = gold.get(rid)
            if turn is None or turn.text != text.strip() or turn.split == "train":
                raise AssertionError(f"{corpus}: row {rid} does not match the training loader")
