"""Language-ID accuracy per language on the labelled corpora in ../shared/datasets/.

Each corpus is monolingual by construction, so its language is the gold label. Georgian has
no corpus: benchmarks/data/georgian_langid.txt holds support-chat turns the team wrote.
Only turns with at least --min-chars characters left after ``clean_text`` (no URLs, handles,
digits, quoted lines) are scored, as the target (>= 97% per language) is stated for them.
``und`` counts as an error.

    .venv/bin/python benchmarks/langid.py [--per-language 2000] [--min-chars 40]

Exit status 1 when a language misses the target, so CI can run it.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import sys
import time
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from tonewatch.config import default_config
from tonewatch.ingest.langid import LanguageIdentifier, clean_text, script_shares

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
GEORGIAN = ROOT / "benchmarks" / "data" / "georgian_langid.txt"
TARGET = 0.97

csv.field_size_limit(10_000_000)


def _csv_column(path: Path, column: str, **filters: str) -> Iterator[str]:
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if all(row.get(key) == value for key, value in filters.items()):
                yield row[column]


def _tsv_first_column(path: Path, *, header: bool) -> Iterator[str]:
    with path.open(encoding="utf-8") as handle:
        if header:
            next(handle)
        for line in handle:
            yield line.split("\t", 1)[0]


def english() -> Iterator[str]:
    yield from _csv_column(DATASETS / "davidson-hate-offensive" / "labeled_data.csv", "tweet")
    for split in ("train", "valid", "test"):
        yield from _csv_column(DATASETS / "convabuse" / f"ConvAbuseEMNLP{split}.csv", "user")


def german() -> Iterator[str]:
    for split in ("training", "test"):
        texts = _tsv_first_column(
            DATASETS / "germeval2018" / f"germeval2018.{split}.txt", header=False
        )
        yield from (text.replace("|LBR|", " ") for text in texts)


def arabic() -> Iterator[str]:
    # Moroccan (OMCD) and Tunisian comments are partly Arabizi or plain French: the corpus
    # label is not a language label for them. Keep texts written mostly in Arabic script.
    path = DATASETS / "arabic-offensive-vanetik" / "arabic_offensive_unified.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if script_shares(row["text"])[0].get("arabic", 0.0) >= 0.5:
                yield row["text"]


def korean() -> Iterator[str]:
    for split in ("train", "dev"):
        yield from _tsv_first_column(
            DATASETS / "korean-hate-speech-kocohub" / f"{split}.tsv", header=True
        )
    with (DATASETS / "korean-curse-detection" / "dataset.txt").open(encoding="utf-8") as handle:
        for line in handle:
            yield line.rsplit("|", 1)[0]


def french() -> Iterator[str]:
    yield from _csv_column(DATASETS / "mlma" / "fr_dataset.csv", "tweet")


def spanish() -> Iterator[str]:
    folder = DATASETS / "spanish-toxicity-goldstd"
    yield from _csv_column(folder / "goldstd_protests.csv", "text", lang="es")
    yield from _csv_column(folder / "goldstd_Convention.csv", "text")


def polish() -> Iterator[str]:
    # Password-protected by the authors (password in SOURCE.txt); read in memory, never
    # extracted to disk.
    with (
        zipfile.ZipFile(DATASETS / "ban-pl" / "BAN-PL_1.zip") as archive,
        archive.open("BAN-PL.csv", pwd=b"BAN-PL_1") as raw,
    ):
        yield from (row["Text"] for row in csv.DictReader(io.TextIOWrapper(raw, "utf-8")))


def georgian() -> Iterator[str]:
    for line in GEORGIAN.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            yield line


CORPORA = {
    "en": ("davidson-hate-offensive, convabuse", english),
    "pl": ("ban-pl (BAN-PL_1)", polish),
    "ar": ("arabic-offensive-vanetik (Arabic script)", arabic),
    "ko": ("korean-hate-speech-kocohub, korean-curse-detection", korean),
    "ka": ("benchmarks/data/georgian_langid.txt", georgian),
    "de": ("germeval2018", german),
    "fr": ("mlma fr", french),
    "es": ("spanish-toxicity-goldstd", spanish),
}


def sample(texts: Iterator[str], n: int, min_chars: int, seed: int) -> list[str]:
    unique = sorted({text for text in texts if len(clean_text(text)) >= min_chars})
    random.Random(seed).shuffle(unique)
    return unique[:n]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-language", type=int, default=2000)
    parser.add_argument("--min-chars", type=int, default=40)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--errors", type=int, default=0, help="print this many errors per language")
    args = parser.parse_args(argv)

    identify = LanguageIdentifier.from_config(default_config().ingest)
    header = f"{'lang':<5}{'n':>6}{'accuracy':>10}{'und':>7}  {'confused with':<28}corpus"
    print(header)
    print("-" * len(header))
    failed, total_n, total_seconds = [], 0, 0.0
    for lang, (corpus, load) in CORPORA.items():
        texts = sample(load(), args.per_language, args.min_chars, args.seed)
        start = time.perf_counter()
        guesses = identify.identify_many(texts)
        total_seconds += time.perf_counter() - start
        total_n += len(texts)
        wrong = [(text, g.lang) for text, g in zip(texts, guesses, strict=True) if g.lang != lang]
        accuracy = 1 - len(wrong) / len(texts) if texts else 0.0
        und = sum(1 for _, guessed in wrong if guessed == "und") / max(len(texts), 1)
        confused = Counter(guessed for _, guessed in wrong if guessed != "und").most_common(3)
        confused_text = ", ".join(f"{label} {count}" for label, count in confused) or "-"
        mark = "" if accuracy >= TARGET else "  < target"
        print(
            f"{lang:<5}{len(texts):>6}{accuracy:>10.2%}{und:>7.2%}  {confused_text:<28}"
            f"{corpus}{mark}"
        )
        for text, guessed in wrong[: args.errors]:
            print(f"      {guessed}: {clean_text(text)[:100]!r}")
        if accuracy < TARGET:
            failed.append(lang)
    rate = total_n / total_seconds if total_seconds else 0.0
    print(f"\n{total_n} turns of >= {args.min_chars} characters, {rate:,.0f} turns/s")
    print(f"target >= {TARGET:.0%} per language: " + (f"MISSED {failed}" if failed else "met"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
