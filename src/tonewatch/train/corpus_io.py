"""Readers shared by the corpus loaders: Hugging Face ``datasets`` over local files (never the
hub), every CSV column read as the exact string in the file, and the GoldTurn constructor."""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tonewatch.errors import DataError
from tonewatch.train.corpora_info import CORPUS_INFO
from tonewatch.train.gold import GoldTurn, conversation_split

if TYPE_CHECKING:
    from datasets import Dataset

ABUSE = frozenset({"personal_attack", "profanity"})
ATTACK = frozenset({"personal_attack"})


def hf_datasets() -> Any:
    """``datasets``, imported late (it is slow to import) and kept off the network: every
    corpus is a local file, so nothing may reach the hub."""
    os.environ["HF_DATASETS_OFFLINE"] = "1"
    import datasets

    # The variable is read when ``datasets`` is first imported, which may have happened before.
    datasets.config.HF_HUB_OFFLINE = True

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    return datasets


def need(path: Path) -> Path:
    """The path, or a DataError naming it: a corpus folder misses a file it should hold."""
    if not path.is_file():
        raise DataError(f"{path}: missing; the corpus folder should hold it (see its SOURCE.txt)")
    return path


def read_csv(path: Path, *, sep: str = ",", names: list[str] | None = None, **kw: Any) -> Dataset:
    """A CSV with every column as the exact string in the file: no type guessing, no NaN."""
    hf = hf_datasets()
    header = 0
    if names is None:
        with need(path).open(encoding="utf-8", newline="") as handle:
            header_row = next(csv.reader(handle, delimiter=sep))
        names = _unique([c or f"column_{i}" for i, c in enumerate(header_row)])
    else:
        header = None
    features = hf.Features({n: hf.Value("string") for n in names})
    return hf.load_dataset(
        "csv",
        data_files=str(need(path)),
        split="train",
        sep=sep,
        column_names=names,
        header=header,
        features=features,
        na_filter=False,
        **kw,
    )


def _unique(names: list[str]) -> list[str]:
    """Header names made unique (ConvAbuse repeats one column): later copies get ``.1``, ..."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        out.append(f"{name}.{seen[name]}" if name in seen else name)
        seen[name] = seen.get(name, 0) + 1
    return out


def from_generator(
    generator: Callable[..., Iterator[dict[str, Any]]], columns: tuple[str, ...], **kwargs: Any
) -> Dataset:
    """A Dataset of string columns built in memory by a custom parser. The cache is a
    throw-away directory: ``datasets`` keys a generator's cache by its name, not its code, so a
    kept cache could serve rows of an older parser (and extracted BAN-PL text must not stay)."""
    hf = hf_datasets()
    features = hf.Features({c: hf.Value("string") for c in columns})
    with tempfile.TemporaryDirectory(prefix="tonewatch-corpus-") as cache:
        return hf.Dataset.from_generator(
            generator, gen_kwargs=kwargs, features=features, cache_dir=cache, keep_in_memory=True
        )


def read_lines(path: Path) -> Dataset:
    return hf_datasets().load_dataset("text", data_files=str(need(path)), split="train")


def with_split(ds: Dataset, split: str | None) -> Dataset:
    return ds.add_column("source_split", [split or ""] * len(ds))


def concat(parts: list[Dataset]) -> Dataset:
    return hf_datasets().concatenate_datasets(parts)


def gold_turn(
    corpus: str,
    idx: int | str,
    text: str,
    labels: set[str] | frozenset[str],
    known: frozenset[str],
    split: str | None = None,
    tone: str | None = None,
    *,
    conversation: str | None = None,
    role: str = "client",
    **meta: str,
) -> GoldTurn:
    """One public-corpus turn; its conversation is itself unless the corpus has dialogues."""
    turn_id = f"{corpus}-{idx}"
    conv = f"{corpus}-{conversation}" if conversation else turn_id
    return GoldTurn(
        id=turn_id,
        text=(text or "").strip(),
        lang=CORPUS_INFO[corpus]["lang"],
        labels=frozenset(labels),
        known=known,
        corpus=corpus,
        conversation=conv,
        split=split or conversation_split(conv),
        tone=tone,
        role=role,
        meta=meta,
    )


def votes(value: str) -> float:
    """An annotator count written as "2.0" (or left empty) as a number."""
    return float(value) if value.strip() else 0.0
